/* A library must not change its host program's signal dispositions. The Swift runtime, which
 * libmpi.so loads, installs its crash reporter (a backtracer) for SIGQUIT, SIGILL, SIGTRAP,
 * SIGABRT, SIGBUS, SIGFPE and SIGSEGV when it initializes; for a C or Fortran program that
 * means SIGQUIT no longer ends it ("Program crashed", then it carries on) and a crash is
 * reported by Swift instead of killing the process with the signal its launcher and its
 * user expect. This constructor runs after the Swift runtime's (libmpi.so depends on it, so it
 * is initialized first) and before the program's main: every handler that belongs to the
 * Swift runtime's own library is put back to SIG_DFL, which is what the program had (handlers
 * do not survive exec; an ignored signal would not have been replaced by a handler we then
 * remove: we only touch handlers whose code lies in libswiftCore). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <string.h>

static int in_swift_runtime(void *address) {
    Dl_info info;
    if (address == NULL || dladdr(address, &info) == 0 || info.dli_fname == NULL) return 0;
    return strstr(info.dli_fname, "libswiftCore") != NULL;
}

__attribute__((constructor))
static void ferry_restore_host_signals(void) {
    static const int reported[] = { SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV };
    for (unsigned i = 0; i < sizeof reported / sizeof reported[0]; i++) {
        struct sigaction current;
        if (sigaction(reported[i], NULL, &current) != 0) continue;
        void *handler = (current.sa_flags & SA_SIGINFO) ? (void *)current.sa_sigaction : (void *)current.sa_handler;
        if (handler == (void *)SIG_DFL || handler == (void *)SIG_IGN || !in_swift_runtime(handler)) continue;
        struct sigaction restored;
        memset(&restored, 0, sizeof restored);
        restored.sa_handler = SIG_DFL;
        sigemptyset(&restored.sa_mask);
        sigaction(reported[i], &restored, NULL);
    }
}
