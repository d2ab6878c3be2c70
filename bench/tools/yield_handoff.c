/* Cost of handing one core from a process to another, the floor of any oversubscribed
 * collective (docs/PERFORMANCE.md, Analysis, oversubscription). Two processes pinned to CPU 0
 * pass a turn back and forth N times, in two ways:
 *   yield: the one waiting calls sched_yield until it is its turn (both stay runnable);
 *   futex: the one waiting sleeps in FUTEX_WAIT, the other wakes it with FUTEX_WAKE.
 * Prints microseconds per handoff (one switch from one process to the other).
 * Build: cc -O2 yield_handoff.c -o yield_handoff. Run: ./yield_handoff [N] */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void futex_wait(atomic_int *w, int seen) {
    syscall(SYS_futex, w, FUTEX_WAIT, seen, NULL, NULL, 0);
}

static void futex_wake(atomic_int *w) { syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0); }

/* Waits until *turn == want, by yielding or by sleeping on the futex. */
static void await_turn(atomic_int *turn, int want, int use_futex) {
    int seen;
    while ((seen = atomic_load(turn)) != want) {
        if (use_futex) futex_wait(turn, seen);
        else sched_yield();
    }
}

static void pass_turn(atomic_int *turn, int value, int use_futex) {
    atomic_store(turn, value);
    if (use_futex) futex_wake(turn);
}

static double handoff(long n, int use_futex) {
    atomic_int *turn = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (turn == MAP_FAILED) { perror("mmap"); exit(1); }
    atomic_store(turn, 0);
    pid_t child = fork();
    if (child < 0) { perror("fork"); exit(1); }
    if (child == 0) {
        for (long i = 0; i < n; i++) {
            await_turn(turn, (int)(2 * i + 1), use_futex);
            pass_turn(turn, (int)(2 * i + 2), use_futex);
        }
        _exit(0);
    }
    double t = now();
    for (long i = 0; i < n; i++) {
        pass_turn(turn, (int)(2 * i + 1), use_futex);
        await_turn(turn, (int)(2 * i + 2), use_futex);
    }
    t = now() - t;
    waitpid(child, NULL, 0);
    munmap((void *)turn, 4096);
    return t / (double)n / 2.0 * 1e6;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(0, &s);
    if (sched_setaffinity(0, sizeof s, &s) != 0) { perror("sched_setaffinity"); return 1; }
    printf("yield handoff: %.2f us per switch\n", handoff(n, 0));
    printf("futex handoff: %.2f us per switch\n", handoff(n, 1));
    return 0;
}
