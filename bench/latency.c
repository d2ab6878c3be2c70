/* latency: ping-pong between ranks 0 and 1 (other ranks idle), one-way latency = half a round
 * trip, sizes 0, 1, 2, 4, ... 4 MiB. Reports per size the median over timed batches of the
 * batch mean (value=, microseconds) and the best batch (best=). See common.h. */
#include "common.h"

typedef struct {
    int rank, peer, active, verify;
    long size;
    unsigned char *sbuf, *rbuf;
} ctx_t;

static double pingpong(long n, void *p) {
    ctx_t *c = p;
    if (!c->active) return 0.0;
    MPI_Status st;
    if (c->verify) {
        fill_pattern(c->sbuf, c->size, 100 + c->rank);
        memset(c->rbuf, 0xA5, (size_t)(c->size ? c->size : 1));
    }
    double start = now_seconds();
    for (long i = 0; i < n; i++) {
        if (c->rank == 0) {
            MPI_Send(c->sbuf, (int)c->size, MPI_BYTE, c->peer, 1, MPI_COMM_WORLD);
            MPI_Recv(c->rbuf, (int)c->size, MPI_BYTE, c->peer, 1, MPI_COMM_WORLD, &st);
        } else {
            MPI_Recv(c->rbuf, (int)c->size, MPI_BYTE, c->peer, 1, MPI_COMM_WORLD, &st);
            MPI_Send(c->sbuf, (int)c->size, MPI_BYTE, c->peer, 1, MPI_COMM_WORLD);
        }
    }
    double elapsed = now_seconds() - start;
    if (c->verify) {
        int got = -1;
        MPI_Get_count(&st, MPI_BYTE, &got);
        if (got != c->size || st.MPI_SOURCE != c->peer || st.MPI_TAG != 1)
            fail_check("latency", c->rank, c->size, "wrong status (count, source or tag)");
        check_pattern(c->rbuf, c->size, 100 + c->peer, "latency", c->rank);
    }
    return elapsed;
}

int main(int argc, char **argv) {
    int rank, nranks;
    bench_start(&argc, &argv, "latency", 2, &rank, &nranks);
    bench_options o;
    bench_parse(argc, argv, &o, 0, 4 * MIB, "all");
    ctx_t c = {.rank = rank, .peer = 1 - rank, .active = rank < 2};
    c.sbuf = bench_alloc((size_t)o.max_size);
    c.rbuf = bench_alloc((size_t)o.max_size);
    double *values = calloc((size_t)o.batches, sizeof(double));

    for (long size = o.min_size; size <= o.max_size; size = size ? size * 2 : 1) {
        c.size = size;
        c.verify = 1;  /* the warm-up and the last batch check the data */
        fill_pattern(c.sbuf, size, 100 + rank);
        long warm = size < 65536 ? 200 : 8;
        long n = calibrate(pingpong, &c, &o, warm, 50000000);
        c.verify = 0;
        int k = timed_batches(pingpong, &c, n, &o, values);
        c.verify = 1;
        MPI_Barrier(MPI_COMM_WORLD);
        pingpong(2, &c);
        double med, best;
        summarize(values, k, 1e6 / (2.0 * (double)n), 0, &med, &best);
        if (rank == 0) {
            printf("bench=latency size=%ld value=%.4f best=%.4f iters=%ld batches=%d\n", size, med,
                   best, n, k);
            fflush(stdout);
        }
    }
    MPI_Finalize();
    return 0;
}
