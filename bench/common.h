/* Shared helpers of Ferry's benchmark programs (the C files of bench/).
 *
 * Written for issue 4 ("Beat Open MPI and MPICH on one node"); the same source is compiled with
 * Ferry's, Open MPI's and MPICH's mpicc, so only standard MPI calls are used here.
 *
 * Measurement scheme shared by every program (see docs/PERFORMANCE.md, "Statistics"):
 *   - a warm-up batch (untimed in the report) establishes connections, touches buffers and gives
 *     a first per-iteration cost, agreed on by all ranks (max over ranks);
 *   - the iteration count of the timed batches is chosen so that one batch lasts about
 *     `batch_seconds` (option -t), the same count on every rank;
 *   - `batches` timed batches (option -b) are run, fewer when a size exceeds its time budget;
 *   - each batch gives one value (e.g. mean one-way latency over the batch); the program reports
 *     the MEDIAN over batches as `value=` and the best batch as `best=`.
 * Output lines are machine-readable: `bench=<name> op=<op> size=<bytes> value=<x> ...`.
 */
#ifndef FERRY_BENCH_COMMON_H
#define FERRY_BENCH_COMMON_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB (1024L * 1024L)

static inline double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Options common to all programs. */
typedef struct {
    double batch_seconds;   /* -t: target duration of one timed batch */
    int batches;            /* -b: number of timed batches per size */
    double size_budget;     /* -B: seconds after which no further batch starts for a size */
    long min_size;          /* -m */
    long max_size;          /* -M */
    const char *ops;        /* -o: comma-separated subset (collectives, bandwidth modes) */
    long count;             /* -n: fixed iteration count (allocation test) */
} bench_options;

static void bench_usage(const char *prog) {
    fprintf(stderr,
            "usage: %s [-t batch_seconds] [-b batches] [-B size_budget_seconds] [-m min_size] "
            "[-M max_size] [-o ops] [-n count]\n",
            prog);
}

/* MPI_Init, this rank and the rank count; aborts with a message when fewer than `min_ranks`. */
static void bench_start(int *argc, char ***argv, const char *name, int min_ranks, int *rank, int *nranks) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, nranks);
    if (*nranks < min_ranks) {
        if (*rank == 0) fprintf(stderr, "%s: needs at least %d ranks\n", name, min_ranks);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
}

static inline void bench_parse(int argc, char **argv, bench_options *o, long min_size,
                               long max_size, const char *ops) {
    o->batch_seconds = 0.02;
    o->batches = 7;
    o->size_budget = 1.5;
    o->min_size = min_size;
    o->max_size = max_size;
    o->ops = ops;
    o->count = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (v == NULL || a[0] != '-' || strlen(a) != 2) {
            bench_usage(argv[0]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        switch (a[1]) {
        case 't': o->batch_seconds = atof(v); break;
        case 'b': o->batches = atoi(v); break;
        case 'B': o->size_budget = atof(v); break;
        case 'm': o->min_size = atol(v); break;
        case 'M': o->max_size = atol(v); break;
        case 'o': o->ops = v; break;
        case 'n': o->count = atol(v); break;
        default: bench_usage(argv[0]); MPI_Abort(MPI_COMM_WORLD, 2);
        }
        i++;
    }
    if (o->batches < 1) o->batches = 1;
}

/* Is `op` in the comma-separated list `ops` ("all" selects everything)? */
static inline int op_selected(const char *ops, const char *op) {
    if (ops == NULL || strcmp(ops, "all") == 0) return 1;
    size_t n = strlen(op);
    const char *p = ops;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, op, n) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* Page-aligned, touched buffer; never NULL (aborts). */
static inline unsigned char *bench_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 1;
    if (posix_memalign(&p, 4096, bytes) != 0 || p == NULL) {
        fprintf(stderr, "bench: cannot allocate %zu bytes\n", bytes);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    memset(p, 0, bytes);
    return (unsigned char *)p;
}

/* Deterministic byte pattern: depends on the position, the size and a seed (rank, slot, ...),
 * so that a stale, shifted or foreign buffer does not pass the check. */
static inline unsigned char pattern_byte(size_t i, long size, long seed) {
    uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15ull + (uint64_t)size * 0xBF58476D1CE4E5B9ull +
                 (uint64_t)seed * 0x94D049BB133111EBull;
    x ^= x >> 29;
    return (unsigned char)(x ^ (x >> 8));
}

static inline void fill_pattern(unsigned char *buf, long size, long seed) {
    for (long i = 0; i < size; i++) buf[i] = pattern_byte((size_t)i, size, seed);
}

/* Fails loudly (MPI_Abort) when buf does not hold the pattern. */
static inline void check_pattern(const unsigned char *buf, long size, long seed, const char *what,
                                 int rank) {
    for (long i = 0; i < size; i++) {
        unsigned char want = pattern_byte((size_t)i, size, seed);
        if (buf[i] != want) {
            fprintf(stderr,
                    "bench: DATA CHECK FAILED on rank %d: %s size=%ld seed=%ld byte %ld is 0x%02x, "
                    "expected 0x%02x\n",
                    rank, what, size, seed, i, buf[i], want);
            fflush(stderr);
            MPI_Abort(MPI_COMM_WORLD, 4);
        }
    }
}

static inline void fail_check(const char *what, int rank, long size, const char *detail) {
    fprintf(stderr, "bench: DATA CHECK FAILED on rank %d: %s size=%ld: %s\n", rank, what, size,
            detail);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 4);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double median_of(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), compare_doubles);
    return (n % 2) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static inline double max_over_ranks(double x) {
    double m = x;
    MPI_Allreduce(&x, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return m;
}

/* Iterations for a batch of about `target` seconds, given `per_iter` seconds per iteration. */
static inline long iterations_for(double target, double per_iter, long lo, long hi) {
    double n = per_iter > 0 ? target / per_iter : (double)hi;
    if (n < (double)lo) n = (double)lo;
    if (n > (double)hi) n = (double)hi;
    return (long)n;
}

/* Agree on a long across ranks (rank 0's value wins). */
static inline long agree(long x) {
    MPI_Bcast(&x, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    return x;
}

/* One batch of a benchmark: runs `n` iterations and returns the timed seconds on this rank.
 * Poisoning receive buffers and checking data happen outside the timed span. */
typedef double (*batch_fn)(long n, void *ctx);

/* Warm-up, then growing batches until one lasts a quarter of the target; returns the agreed
 * iteration count of a batch of about o->batch_seconds, from the least per-iteration cost seen
 * (robust to a step that was preempted on a busy machine). Every rank calls it. */
static inline long calibrate(batch_fn fn, void *ctx, const bench_options *o, long warm,
                             long max_iters) {
    MPI_Barrier(MPI_COMM_WORLD);
    fn(warm, ctx);
    long n = 1;
    double best_per_iter = 1e30; /* the least cost seen: a preempted step does not shrink n */
    for (;;) {
        MPI_Barrier(MPI_COMM_WORLD);
        double el = max_over_ranks(fn(n, ctx));
        if (el / (double)n < best_per_iter) best_per_iter = el / (double)n;
        if (el >= 0.25 * o->batch_seconds || n >= max_iters)
            return agree(iterations_for(o->batch_seconds, best_per_iter, 1, max_iters));
        n *= (el < o->batch_seconds / 64) ? 8 : 2;
        if (n > max_iters) n = max_iters;
    }
}

/* Timed batches of n iterations each: o->batches of them, or fewer once o->size_budget seconds
 * are spent (at least one). values[k] = max over ranks of the timed seconds of batch k.
 * Returns the number of batches run. Every rank calls it. */
static inline int timed_batches(batch_fn fn, void *ctx, long n, const bench_options *o,
                                double *values) {
    int k = 0, stop = 0;
    double start = now_seconds();
    while (!stop) {
        MPI_Barrier(MPI_COMM_WORLD);
        values[k++] = max_over_ranks(fn(n, ctx));
        stop = (k >= o->batches) || (now_seconds() - start > o->size_budget);
        MPI_Bcast(&stop, 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    return k;
}

/* Median and minimum of the first k values, each multiplied by `scale` (or inverted when
 * `invert`, e.g. seconds -> bandwidth: scale / value). */
static inline void summarize(double *values, int k, double scale, int invert, double *median,
                             double *best) {
    for (int i = 0; i < k; i++) values[i] = invert ? scale / values[i] : values[i] * scale;
    *median = median_of(values, k);
    *best = values[0];
    for (int i = 1; i < k; i++)
        if (invert ? values[i] > *best : values[i] < *best) *best = values[i];
}

#endif
