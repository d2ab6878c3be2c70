/* pingpong_allocs: steady-state ping-pong between ranks 0 and 1 under the allocation counter
 * (alloccount.so, preloaded). After a warm-up, MPI_Pcontrol(1) starts counting, N messages of
 * SIZE bytes are exchanged (N/2 round trips: each rank sends N/2 and receives N/2), then
 * MPI_Pcontrol(0) stops counting and makes the counter print its totals on stderr.
 * Options: -m SIZE (default 8), -n MESSAGES (default 1000000), -o blocking|nonblocking
 * (MPI_Send/MPI_Recv, or MPI_Irecv + MPI_Isend + MPI_Waitall). The last message received is
 * checked byte by byte, after counting stopped. */
#include "common.h"

int main(int argc, char **argv) {
    int rank, nranks;
    bench_start(&argc, &argv, "pingpong_allocs", 1, &rank, &nranks);
    bench_options o;
    bench_parse(argc, argv, &o, 8, 8, "blocking");
    long size = o.min_size, messages = o.count > 0 ? o.count : 1000000;
    int nonblocking = strcmp(o.ops, "nonblocking") == 0;
    if (nranks != 2) {
        if (rank == 0) fprintf(stderr, "pingpong_allocs: needs exactly 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const int peer = 1 - rank;
    unsigned char *sbuf = bench_alloc((size_t)size), *rbuf = bench_alloc((size_t)size);
    fill_pattern(sbuf, size, 300 + rank);
    MPI_Request req[2];
    MPI_Status st[2];
    long rounds = messages / 2, warm = 1000;
    for (int phase = 0; phase < 2; phase++) {
        long n = phase == 0 ? warm : rounds;
        MPI_Barrier(MPI_COMM_WORLD);
        if (phase == 1) {
            memset(rbuf, 0xA5, (size_t)size);
            MPI_Pcontrol(1);
        }
        double start = now_seconds();
        for (long i = 0; i < n; i++) {
            if (nonblocking) {
                /* both directions of a round trip through requests */
                if (rank == 0) {
                    MPI_Isend(sbuf, (int)size, MPI_BYTE, peer, 5, MPI_COMM_WORLD, &req[0]);
                    MPI_Wait(&req[0], MPI_STATUS_IGNORE);
                    MPI_Irecv(rbuf, (int)size, MPI_BYTE, peer, 5, MPI_COMM_WORLD, &req[1]);
                    MPI_Wait(&req[1], &st[1]);
                } else {
                    MPI_Irecv(rbuf, (int)size, MPI_BYTE, peer, 5, MPI_COMM_WORLD, &req[1]);
                    MPI_Wait(&req[1], &st[1]);
                    MPI_Isend(sbuf, (int)size, MPI_BYTE, peer, 5, MPI_COMM_WORLD, &req[0]);
                    MPI_Wait(&req[0], MPI_STATUS_IGNORE);
                }
            } else if (rank == 0) {
                MPI_Send(sbuf, (int)size, MPI_BYTE, peer, 5, MPI_COMM_WORLD);
                MPI_Recv(rbuf, (int)size, MPI_BYTE, peer, 5, MPI_COMM_WORLD, &st[1]);
            } else {
                MPI_Recv(rbuf, (int)size, MPI_BYTE, peer, 5, MPI_COMM_WORLD, &st[1]);
                MPI_Send(sbuf, (int)size, MPI_BYTE, peer, 5, MPI_COMM_WORLD);
            }
        }
        double elapsed = now_seconds() - start;
        if (phase == 1) {
            MPI_Pcontrol(0);
            int got = -1;
            MPI_Get_count(&st[1], MPI_BYTE, &got);
            if (got != size || st[1].MPI_SOURCE != peer || st[1].MPI_TAG != 5)
                fail_check("pingpong_allocs", rank, size, "wrong status (count, source or tag)");
            check_pattern(rbuf, size, 300 + peer, "pingpong_allocs", rank);
            MPI_Barrier(MPI_COMM_WORLD);
            if (rank == 0)
                printf("bench=allocs op=%s size=%ld messages=%ld seconds=%.3f\n",
                       nonblocking ? "nonblocking" : "blocking", size, 2 * rounds, elapsed);
        }
    }
    MPI_Finalize();
    return 0;
}
