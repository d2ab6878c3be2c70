/* Senders that run ahead of their receivers, so that messages pile up in the shared-memory
 * rings (a full ring makes the sender wait) and in the unexpected queue (a receiver's probe
 * moves what has arrived there), and must still be delivered in order, intact:
 *  1. 500 MPI_Bcast of 8 bytes from rank 0, each a different value; the other ranks start
 *     50 ms late and call MPI_Iprobe first;
 *  2. the same with 100 broadcasts of 8 KiB (one cell each), every byte checked;
 *  3. 300 MPI_Send of an int from every other rank to rank 0, tags cycling over 0, 1, 2;
 *     rank 0 starts late, probes, then receives per source all tag-2 messages, then all
 *     tag-0, then all tag-1 (not the arrival order): each tag's messages in sending order;
 *  4. world allreduce, allgather and alltoall right after those streams, values exact, and an
 *     alltoall whose blocks fit the node area's slot one by one but not all together.
 * Prints "coll_runahead: OK" from rank 0 when every check passed.
 * ranks: 2 3 4 */
#include "common.h"
#include <unistd.h>

static void late_and_probed(void) {
    if (rank_ != 0) {
        usleep(50000);
        int flag = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    }
}

static void small_broadcasts(void) {
    late_and_probed();
    for (int64_t k = 0; k < 500; k++) {
        int64_t v = rank_ == 0 ? 1000003 * k + 7 : -1;
        COLL(Bcast, bcast, &v, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
        CHECK(v == 1000003 * k + 7, "bcast %lld: got %lld", (long long)k, (long long)v);
    }
}

static void cell_broadcasts(void) {
    enum { N = 8192 };
    static unsigned char buf[N];
    late_and_probed();
    for (int k = 0; k < 100; k++) {
        for (int i = 0; i < N; i++) buf[i] = rank_ == 0 ? (unsigned char)(k * 31 + i * 7) : 0xA5;
        COLL(Bcast, bcast, buf, N, MPI_BYTE, 0, MPI_COMM_WORLD);
        int bad = 0;
        for (int i = 0; i < N; i++) bad += buf[i] != (unsigned char)(k * 31 + i * 7);
        CHECK(bad == 0, "8 KiB bcast %d: %d wrong bytes", k, bad);
    }
}

static void tagged_stream(void) {
    enum { M = 300 };
    if (rank_ != 0) {
        for (int k = 0; k < M; k++) {
            int v = rank_ * 100000 + k;
            CHECK_RC(MPI_Send(&v, 1, MPI_INT, 0, k % 3, MPI_COMM_WORLD), "MPI_Send");
        }
        return;
    }
    usleep(50000);
    int flag = 0;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    static const int order[3] = {2, 0, 1};
    for (int s = 1; s < size_; s++)
        for (int t = 0; t < 3; t++)
            for (int k = order[t]; k < M; k += 3) {
                int v = -1;
                MPI_Status st;
                CHECK_RC(MPI_Recv(&v, 1, MPI_INT, s, order[t], MPI_COMM_WORLD, &st), "MPI_Recv");
                CHECK(v == s * 100000 + k, "from %d tag %d: got %d, expected %d", s, order[t], v,
                      s * 100000 + k);
                CHECK(st.MPI_SOURCE == s && st.MPI_TAG == order[t], "status %d/%d", st.MPI_SOURCE,
                      st.MPI_TAG);
            }
}

static void world_collectives(void) {
    double x = rank_ + 1.5, sum = 0;
    COLL(Allreduce, allreduce, &x, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    CHECK(sum == size_ * (size_ + 1) / 2.0 + 0.5 * size_, "allreduce sum %g", sum);
    int mine = 10 * rank_, all[16];
    COLL(Allgather, allgather, &mine, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    for (int i = 0; i < size_; i++) CHECK(all[i] == 10 * i, "allgather[%d] = %d", i, all[i]);
    int out[16], in[16];
    for (int i = 0; i < size_; i++) out[i] = 100 * rank_ + i;
    COLL(Alltoall, alltoall, out, 1, MPI_INT, in, 1, MPI_INT, MPI_COMM_WORLD);
    for (int i = 0; i < size_; i++) CHECK(in[i] == 100 * i + rank_, "alltoall[%d] = %d", i, in[i]);
    /* Blocks that fit the node area's slot alone but not all together (the slot holds a
       rank's whole alltoall input): must not take the node area. 1000 ints per block. */
    enum { B = 1000 };
    static int bout[16 * B], bin[16 * B];
    for (int i = 0; i < size_ * B; i++) { bout[i] = rank_ * 1000000 + i; bin[i] = -1; }
    COLL(Alltoall, alltoall, bout, B, MPI_INT, bin, B, MPI_INT, MPI_COMM_WORLD);
    int bad = 0;
    for (int i = 0; i < size_; i++)
        for (int j = 0; j < B; j++) bad += bin[i * B + j] != i * 1000000 + rank_ * B + j;
    CHECK(bad == 0, "alltoall of %d-int blocks: %d wrong values", B, bad);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    TRACE("small broadcasts"); small_broadcasts();
    world_collectives();
    TRACE("cell broadcasts"); cell_broadcasts();
    world_collectives();
    TRACE("tagged stream"); tagged_stream();
    world_collectives();
    return finish_test("coll_runahead");
}
