/* alloccount: an LD_PRELOAD library that counts heap allocations while counting is on.
 *
 * Interposes malloc, calloc, realloc, reallocarray, free, posix_memalign, aligned_alloc,
 * memalign, valloc and pvalloc, and forwards them to glibc's own entry points (__libc_malloc,
 * __libc_calloc, __libc_realloc, __libc_free, __libc_memalign): no dlsym, so no bootstrap
 * recursion (dlsym itself may call calloc). Counting is switched through the MPI profiling
 * control call, which this library also defines (it wins over the MPI library's through the
 * preload):
 *   MPI_Pcontrol(1)  reset the counters and start counting (all threads of the process);
 *   MPI_Pcontrol(0)  stop counting and print to standard error
 *                    "alloccount pid=<pid> allocations=<n> bytes=<n> frees=<n>".
 * allocations counts every call that returns new memory (malloc, calloc, realloc of a non-null
 * or null pointer with a nonzero size, the aligned forms); bytes is the sum of the requested
 * sizes; frees counts free() of non-null pointers. The counter itself never allocates: atomic
 * counters, and the report is formatted by hand into a stack buffer and written with write(2).
 * Mappings made with mmap directly (shared-memory segments) are not heap allocations and are
 * not counted.
 *
 * Build: cc -O2 -shared -fPIC -o alloccount.so alloccount.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <execinfo.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static volatile int counting;
static unsigned long n_allocations, n_bytes, n_frees;

/* ALLOCCOUNT_TRACE=N: the call stacks of the first N counted allocations go to stderr
 * (backtrace_symbols_fd writes without allocating; backtrace is warmed up before counting). */
static int trace_left;
static __thread int in_trace;

static void trace(void) {
    if (trace_left <= 0 || in_trace) return;
    in_trace = 1;
    if (__atomic_fetch_sub(&trace_left, 1, __ATOMIC_RELAXED) > 0) {
        void *frames[32];
        int n = backtrace(frames, 32);
        write(2, "alloccount: allocation at\n", 27);
        backtrace_symbols_fd(frames, n, 2);
    }
    in_trace = 0;
}

static inline void count(size_t bytes) {
    if (__builtin_expect(counting, 0)) {
        __atomic_fetch_add(&n_allocations, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&n_bytes, (unsigned long)bytes, __ATOMIC_RELAXED);
        trace();
    }
}

void *malloc(size_t size) {
    count(size);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    count(n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    if (size != 0 || p == NULL) count(size);
    return __libc_realloc(p, size);
}

void *reallocarray(void *p, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

void free(void *p) {
    if (p != NULL && counting) __atomic_fetch_add(&n_frees, 1, __ATOMIC_RELAXED);
    __libc_free(p);
}

void *memalign(size_t alignment, size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    count(size);
    void *p = __libc_memalign(alignment, size);
    if (p == NULL && size != 0) return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t size) {
    count(size);
    return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size = (size + page - 1) & ~(page - 1);
    count(size);
    return __libc_memalign(page, size);
}

/* Appends the decimal form of v to buf at *len (no allocation, no stdio). */
static void put_number(char *buf, size_t *len, unsigned long v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) buf[(*len)++] = tmp[--n];
}

static void put_text(char *buf, size_t *len, const char *s) {
    while (*s) buf[(*len)++] = *s++;
}

int MPI_Pcontrol(const int level, ...) {
    if (level == 1) {
        const char *t = getenv("ALLOCCOUNT_TRACE");
        if (t) {
            void *warm[4];
            backtrace(warm, 4);
            trace_left = atoi(t);
        }
        __atomic_store_n(&n_allocations, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&n_bytes, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&n_frees, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
    } else if (level == 0) {
        __atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
        char buf[160];
        size_t len = 0;
        put_text(buf, &len, "alloccount pid=");
        put_number(buf, &len, (unsigned long)getpid());
        put_text(buf, &len, " allocations=");
        put_number(buf, &len, __atomic_load_n(&n_allocations, __ATOMIC_RELAXED));
        put_text(buf, &len, " bytes=");
        put_number(buf, &len, __atomic_load_n(&n_bytes, __ATOMIC_RELAXED));
        put_text(buf, &len, " frees=");
        put_number(buf, &len, __atomic_load_n(&n_frees, __ATOMIC_RELAXED));
        buf[len++] = '\n';
        ssize_t ignored = write(2, buf, len);
        (void)ignored;
    }
    return 0; /* MPI_SUCCESS */
}
