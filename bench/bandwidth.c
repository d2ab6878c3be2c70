/* bandwidth: unidirectional and bidirectional streaming between ranks 0 and 1 with a window of
 * 64 nonblocking messages (see window.h), sizes 1 B .. 16 MiB, MB/s = 10^6 bytes/s.
 * -o uni,bi selects the modes. value= is the median over timed batches, best= the best batch. */
#include "window.h"

int main(int argc, char **argv) {
    int rank, nranks;
    bench_start(&argc, &argv, "bandwidth", 2, &rank, &nranks);
    bench_options o;
    bench_parse(argc, argv, &o, 1, 16 * MIB, "uni,bi");
    double *values = calloc((size_t)o.batches, sizeof(double));
    const char *modes[2] = {"uni", "bi"};
    for (int m = 0; m < 2; m++) {
        if (!op_selected(o.ops, modes[m])) continue;
        window_t w;
        window_init(&w, rank, o.max_size, m == 1);
        for (long size = o.min_size; size <= o.max_size; size *= 2) {
            long n;
            int k = window_measure(&w, &o, size, values, &n);
            double bytes = (double)size * WINDOW * (double)n * (m == 1 ? 2.0 : 1.0);
            double med, best;
            summarize(values, k, bytes / 1e6, 1, &med, &best);
            if (rank == 0) {
                printf("bench=bandwidth op=%s size=%ld value=%.2f best=%.2f iters=%ld batches=%d\n",
                       modes[m], size, med, best, n, k);
                fflush(stdout);
            }
        }
        free(w.spool);
        free(w.rpool);
    }
    MPI_Finalize();
    return 0;
}
