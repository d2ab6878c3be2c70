/* collectives: latency of MPI_Barrier, MPI_Bcast, MPI_Allreduce (MPI_DOUBLE, MPI_SUM),
 * MPI_Alltoall and MPI_Allgather on MPI_COMM_WORLD, any rank count, sizes 8 B .. 1 MiB per rank
 * (bcast: message bytes; allreduce: vector bytes, size/8 doubles; alltoall: bytes to each peer;
 * allgather: bytes contributed by each rank). -o selects operations, -m/-M the sizes.
 * A batch is: MPI_Barrier, then n calls timed on every rank; the batch value is the max over
 * ranks of the mean time per call. value= is the median over batches (microseconds), best= the
 * best batch. A verification call per operation and size checks every received byte. */
#include "common.h"

enum { BARRIER, BCAST, ALLREDUCE, ALLTOALL, ALLGATHER, NOPS };
static const char *op_names[NOPS] = {"barrier", "bcast", "allreduce", "alltoall", "allgather"};

typedef struct {
    int op, rank, nranks, verify;
    long size;
    unsigned char *sbuf, *rbuf;
} ctx_t;

static void prepare(ctx_t *c) {
    long size = c->size;
    int p = c->nranks;
    switch (c->op) {
    case BCAST:
        if (c->rank == 0) fill_pattern(c->rbuf, size, 7);
        else memset(c->rbuf, 0xA5, (size_t)size);
        break;
    case ALLREDUCE: {
        double *s = (double *)c->sbuf;
        for (long i = 0; i < size / 8; i++) s[i] = (double)(c->rank + 1) + (double)(i % 7);
        memset(c->rbuf, 0xA5, (size_t)size);
        break;
    }
    case ALLTOALL:
        for (int j = 0; j < p; j++) fill_pattern(c->sbuf + (long)j * size, size, 1000L * c->rank + j);
        memset(c->rbuf, 0xA5, (size_t)(size * p));
        break;
    case ALLGATHER:
        fill_pattern(c->sbuf, size, c->rank);
        memset(c->rbuf, 0xA5, (size_t)(size * p));
        break;
    }
}

static void check(ctx_t *c) {
    long size = c->size;
    int p = c->nranks;
    switch (c->op) {
    case BCAST: check_pattern(c->rbuf, size, 7, "bcast", c->rank); break;
    case ALLREDUCE: {
        const double *r = (const double *)c->rbuf;
        for (long i = 0; i < size / 8; i++) {
            double want = (double)p * (double)(p + 1) / 2.0 + (double)p * (double)(i % 7);
            if (r[i] != want) fail_check("allreduce", c->rank, size, "wrong sum");
        }
        break;
    }
    case ALLTOALL:
        for (int i = 0; i < p; i++)
            check_pattern(c->rbuf + (long)i * size, size, 1000L * i + c->rank, "alltoall", c->rank);
        break;
    case ALLGATHER:
        for (int i = 0; i < p; i++) check_pattern(c->rbuf + (long)i * size, size, i, "allgather", c->rank);
        break;
    }
}

static double batch(long n, void *p) {
    ctx_t *c = p;
    const int size = (int)c->size;
    if (c->verify) {
        prepare(c);
        MPI_Barrier(MPI_COMM_WORLD);
    }
    double start = now_seconds();
    switch (c->op) {
    case BARRIER:
        for (long i = 0; i < n; i++) MPI_Barrier(MPI_COMM_WORLD);
        break;
    case BCAST:
        for (long i = 0; i < n; i++) MPI_Bcast(c->rbuf, size, MPI_BYTE, 0, MPI_COMM_WORLD);
        break;
    case ALLREDUCE:
        for (long i = 0; i < n; i++)
            MPI_Allreduce(c->sbuf, c->rbuf, size / 8, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        break;
    case ALLTOALL:
        for (long i = 0; i < n; i++)
            MPI_Alltoall(c->sbuf, size, MPI_BYTE, c->rbuf, size, MPI_BYTE, MPI_COMM_WORLD);
        break;
    case ALLGATHER:
        for (long i = 0; i < n; i++)
            MPI_Allgather(c->sbuf, size, MPI_BYTE, c->rbuf, size, MPI_BYTE, MPI_COMM_WORLD);
        break;
    }
    double elapsed = now_seconds() - start;
    if (c->verify) check(c);
    return elapsed;
}

int main(int argc, char **argv) {
    int rank, nranks;
    bench_start(&argc, &argv, "collectives", 1, &rank, &nranks);
    bench_options o;
    bench_parse(argc, argv, &o, 8, MIB, "all");
    if (o.min_size < 8) o.min_size = 8;
    ctx_t c = {.rank = rank, .nranks = nranks};
    c.sbuf = bench_alloc((size_t)(o.max_size * nranks));
    c.rbuf = bench_alloc((size_t)(o.max_size * nranks));
    double *values = calloc((size_t)o.batches, sizeof(double));
    for (int op = 0; op < NOPS; op++) {
        if (!op_selected(o.ops, op_names[op])) continue;
        c.op = op;
        for (long size = o.min_size; size <= o.max_size; size *= 2) {
            c.size = op == BARRIER ? 0 : size;
            c.verify = 1;
            long n = calibrate(batch, &c, &o, size <= 65536 ? 20 : 3, 10000000);
            c.verify = 0;
            int k = timed_batches(batch, &c, n, &o, values);
            c.verify = 1;
            MPI_Barrier(MPI_COMM_WORLD);
            batch(1, &c);
            double med, best;
            summarize(values, k, 1e6 / (double)n, 0, &med, &best);
            if (rank == 0) {
                printf("bench=collectives op=%s ranks=%d size=%ld value=%.4f best=%.4f iters=%ld "
                       "batches=%d\n",
                       op_names[op], nranks, c.size, med, best, n, k);
                fflush(stdout);
            }
            if (op == BARRIER) break;
        }
    }
    MPI_Finalize();
    return 0;
}
