/* Most shims are static inline in ferry_shims.h; the few that need _GNU_SOURCE or are not worth
 * inlining (process start, library path) live here. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sched.h>
#include <sys/socket.h>
#include "ferry_shims.h"

extern char **environ;

const char *ferry_image_path(void) {
    Dl_info info;
    if (dladdr((void *)&ferry_image_path, &info) == 0 || info.dli_fname == NULL) return NULL;
    return info.dli_fname;
}

int ferry_spawn_detached(int *pid, const char *path, char *const argv[]) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    pid_t child = 0;
    int rc = posix_spawn(&child, path, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc == 0) *pid = child;
    return rc;
}

int ferry_peer_credentials(int fd, uint32_t *uid, int32_t *pid) {
    struct ucred cred;
    socklen_t length = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return -1;
    *uid = cred.uid;
    *pid = cred.pid;
    return 0;
}

/* The CPUs this process may run on, in order, into `out` (at most `max`); returns how many. */
int ferry_allowed_cpus(int *out, int max) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < max; c++) if (CPU_ISSET(c, &set)) out[n++] = c;
    return n;
}

/* Binds the calling thread (and the threads it creates later) to one CPU. 0 or errno. */
int ferry_bind_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}

int ferry_current_cpu(void) { return sched_getcpu(); }

/* Sets the calling thread's affinity to `n` CPUs. 0 or errno. */
int ferry_set_cpus(const int *cpus, int n) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < n; i++) if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE) CPU_SET(cpus[i], &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}
