/* Windowed streaming between ranks 0 and 1 (other ranks idle), shared by bandwidth.c and
 * msgrate.c.
 *   uni: rank 0 posts WINDOW MPI_Isend, rank 1 WINDOW MPI_Irecv, both MPI_Waitall, then rank 1
 *        sends a zero-byte ack (tag 3) that rank 0 receives; one iteration = one window.
 *   bi:  both ranks post WINDOW MPI_Irecv then WINDOW MPI_Isend and MPI_Waitall the 2*WINDOW.
 * Each window slot has its own send and receive buffer as long as WINDOW*size <= POOL_BYTES;
 * above that (sizes > 1 MiB) slot j uses buffer j % nbuf, with identical content in the slots
 * that share a buffer. The verification pass poisons the receive buffers, runs one window and
 * checks every buffer against the sender's per-slot pattern and the status of the last request. */
#ifndef FERRY_BENCH_WINDOW_H
#define FERRY_BENCH_WINDOW_H
#include "common.h"

#define WINDOW 64
#define POOL_BYTES (64 * MIB)

typedef struct {
    int rank, peer, active, verify, bidirectional;
    long size, nbuf;
    unsigned char *spool, *rpool;
    MPI_Request req[2 * WINDOW];
    MPI_Status st[2 * WINDOW];
} window_t;

static void window_init(window_t *w, int rank, long max_size, int bidirectional) {
    memset(w, 0, sizeof(*w));
    w->rank = rank;
    w->peer = 1 - rank;
    w->active = rank < 2;
    w->bidirectional = bidirectional;
    long pool = max_size * WINDOW;
    if (pool > POOL_BYTES) pool = POOL_BYTES;
    if (pool < max_size) pool = max_size;
    w->spool = bench_alloc((size_t)pool);
    w->rpool = bench_alloc((size_t)pool);
}

static void window_set_size(window_t *w, long size) {
    w->size = size;
    w->nbuf = size > 0 ? POOL_BYTES / size : WINDOW;
    if (w->nbuf > WINDOW) w->nbuf = WINDOW;
    if (w->nbuf < 1) w->nbuf = 1;
    for (long b = 0; b < w->nbuf; b++)
        fill_pattern(w->spool + b * size, size, 1000 * w->rank + b);
}

static double window_batch(long n, void *p) {
    window_t *w = p;
    if (!w->active) return 0.0;
    const long size = w->size, nbuf = w->nbuf;
    int sends = w->bidirectional || w->rank == 0;
    int recvs = w->bidirectional || w->rank == 1;
    if (w->verify && recvs) memset(w->rpool, 0xA5, (size_t)(nbuf * size));
    double start = now_seconds();
    for (long it = 0; it < n; it++) {
        int r = 0;
        if (recvs)
            for (int j = 0; j < WINDOW; j++)
                MPI_Irecv(w->rpool + (j % nbuf) * size, (int)size, MPI_BYTE, w->peer, 2,
                          MPI_COMM_WORLD, &w->req[r++]);
        if (sends)
            for (int j = 0; j < WINDOW; j++)
                MPI_Isend(w->spool + (j % nbuf) * size, (int)size, MPI_BYTE, w->peer, 2,
                          MPI_COMM_WORLD, &w->req[r++]);
        MPI_Waitall(r, w->req, w->verify ? w->st : MPI_STATUSES_IGNORE);
        if (!w->bidirectional) {
            if (w->rank == 0)
                MPI_Recv(NULL, 0, MPI_BYTE, w->peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            else
                MPI_Send(NULL, 0, MPI_BYTE, w->peer, 3, MPI_COMM_WORLD);
        }
    }
    double elapsed = now_seconds() - start;
    if (w->verify && recvs && n > 0) {
        for (int j = 0; j < WINDOW; j++) {
            int got = -1;
            MPI_Get_count(&w->st[j], MPI_BYTE, &got);
            if (got != size || w->st[j].MPI_SOURCE != w->peer || w->st[j].MPI_TAG != 2)
                fail_check("window", w->rank, size, "wrong status (count, source or tag)");
        }
        for (long b = 0; b < nbuf && b < WINDOW; b++)
            check_pattern(w->rpool + b * size, size, 1000 * w->peer + b,
                          w->bidirectional ? "bandwidth bi" : "bandwidth uni", w->rank);
    }
    return elapsed;
}

/* Calibrate, time and verify one size; returns the median (value) and best seconds per
 * iteration via the out parameters. */
static int window_measure(window_t *w, const bench_options *o, long size, double *values,
                          long *iters) {
    window_set_size(w, size);
    w->verify = 0;
    long warm = size <= 65536 ? 20 : 2;
    long max_iters = size <= 65536 ? 1000000 : 100000;
    long n = calibrate(window_batch, w, o, warm, max_iters);
    int k = timed_batches(window_batch, w, n, o, values);
    w->verify = 1;
    MPI_Barrier(MPI_COMM_WORLD);
    window_batch(1, w);
    w->verify = 0;
    *iters = n;
    return k;
}
#endif
