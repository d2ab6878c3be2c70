/* Most shims are static inline in ferry_shims.h; the few that need _GNU_SOURCE or are not worth
 * inlining (process start, library path) live here. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
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
