/* What Swift cannot say directly: atomics on memory we map ourselves (shared segments),
 * futex wait/wake, cpu_relax, process_vm_readv, prctl. Everything is static inline so the
 * Swift optimizer inlines it into the hot paths. */
#ifndef FERRY_SHIMS_H
#define FERRY_SHIMS_H
#include <stdint.h>
#include <stddef.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/prctl.h>
#include <linux/futex.h>
#include <sched.h>

static inline uint32_t ferry_load_acquire_u32(const volatile uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint64_t ferry_load_acquire_u64(const volatile uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint32_t ferry_load_relaxed_u32(const volatile uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline uint64_t ferry_load_relaxed_u64(const volatile uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void ferry_store_release_u32(volatile uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void ferry_store_release_u64(volatile uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void ferry_store_relaxed_u32(volatile uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline void ferry_store_seqcst_u32(volatile uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline uint32_t ferry_load_seqcst_u32(const volatile uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline uint32_t ferry_fetch_add_u32(volatile uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline uint64_t ferry_fetch_add_u64(volatile uint64_t *p, uint64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline int ferry_cas_u32(volatile uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline void ferry_fence_seqcst(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

static inline void ferry_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Shared (not private) futex: the word lives in a segment mapped by several processes. */
static inline int ferry_futex_wait(volatile uint32_t *addr, uint32_t expected, long timeout_ns) {
    struct timespec ts = { timeout_ns / 1000000000L, timeout_ns % 1000000000L };
    long r = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT, expected, timeout_ns >= 0 ? &ts : NULL, NULL, 0);
    return r < 0 ? -errno : 0;
}
static inline int ferry_futex_wake(volatile uint32_t *addr, int count) {
    long r = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, count, NULL, NULL, 0);
    return r < 0 ? -errno : (int)r;
}

/* Single copy from another process's memory. Returns bytes read or -errno. */
static inline long ferry_vm_read(int pid, void *local, size_t len, uint64_t remote) {
    struct iovec l = { local, len };
    struct iovec r = { (void *)(uintptr_t)remote, len };
    long n = syscall(SYS_process_vm_readv, pid, &l, 1UL, &r, 1UL, 0UL);
    return n < 0 ? -errno : (long)n;
}

static inline int ferry_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0); }
static inline int ferry_allow_ptrace_any(void) {
#ifdef PR_SET_PTRACER
    return prctl(PR_SET_PTRACER, (unsigned long)-1, 0, 0, 0);
#else
    return 0;
#endif
}
static inline int ferry_errno(void) { return errno; }

static inline uint64_t ferry_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One-sided communication (FerryRuntime/Window*.swift): single copy into or out of another
 * process through iovec lists (process_vm_writev / process_vm_readv). Returns bytes moved or
 * -errno. */
static inline long ferry_vm_transfer(int pid, int write, const struct iovec *local, unsigned long local_count,
                                     const struct iovec *remote, unsigned long remote_count) {
    long n = syscall(write ? SYS_process_vm_writev : SYS_process_vm_readv, pid, local, local_count,
                     remote, remote_count, 0UL);
    return n < 0 ? -errno : n;
}
static inline uint32_t ferry_fetch_sub_u32(volatile uint32_t *p, uint32_t v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELEASE); }
static inline uint64_t ferry_load_seqcst_u64(const volatile uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
/* Dynamic processes (shims.c): the path of the image holding this code (libmpi.so or the
 * executable), and posix_spawn with stdin from /dev/null and descriptors >= 3 closed. */
const char *ferry_image_path(void);
int ferry_spawn_detached(int *pid, const char *path, char *const argv[]);
/* The uid and pid of the process at the other end of a Unix socket (SO_PEERCRED): 0 or -1. */
int ferry_peer_credentials(int fd, uint32_t *uid, int32_t *pid);
/* CPU placement (shims.c): allowed CPUs, binding the calling thread, the CPU it runs on. */
int ferry_allowed_cpus(int *out, int max);
int ferry_bind_cpu(int cpu);
int ferry_current_cpu(void);
int ferry_set_cpus(const int *cpus, int n);
#endif
