/* msgrate: messages per second from rank 0 to rank 1 for small messages (default 8 B; -m/-M
 * give a range of powers of two), window of 64 nonblocking sends and receives per iteration
 * followed by an ack (window.h, uni mode). value= median over timed batches, msgs/s. */
#include "window.h"

int main(int argc, char **argv) {
    int rank, nranks;
    bench_start(&argc, &argv, "msgrate", 2, &rank, &nranks);
    bench_options o;
    bench_parse(argc, argv, &o, 8, 8, "uni");
    double *values = calloc((size_t)o.batches, sizeof(double));
    window_t w;
    window_init(&w, rank, o.max_size, 0);
    for (long size = o.min_size; size <= o.max_size; size = size ? size * 2 : 1) {
        long n;
        int k = window_measure(&w, &o, size, values, &n);
        double med, best;
        summarize(values, k, (double)WINDOW * (double)n, 1, &med, &best);
        if (rank == 0) {
            printf("bench=msgrate size=%ld value=%.0f best=%.0f iters=%ld batches=%d\n", size, med,
                   best, n, k);
            fflush(stdout);
        }
    }
    MPI_Finalize();
    return 0;
}
