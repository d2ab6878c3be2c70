/* General active target synchronization: a ring where every rank exposes its window to its
 * left neighbour and accesses its right one, for many epochs in a row (MPI_Win_wait and an
 * MPI_Win_test polling loop on alternate epochs), then a star where rank 0 exposes to all
 * others, which accumulate into it. Values are checked after each epoch. */
#include "common.h"

#define ITERS 200

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 60);
    int n = size_, right = (rank_ + 1) % n, left = (rank_ + n - 1) % n;
    MPI_Group world, leftg, rightg;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    MPI_Group_incl(world, 1, &left, &leftg);
    MPI_Group_incl(world, 1, &right, &rightg);

    int *mem;
    MPI_Win win;
    CHECK_RC(MPI_Win_allocate(4 * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    mem[0] = mem[1] = mem[2] = mem[3] = -1;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int it = 0; it < ITERS; it++) {
        CHECK_RC(MPI_Win_post(leftg, 0, win));
        CHECK_RC(MPI_Win_start(rightg, 0, win));
        int v[2] = { it, rank_ };
        CHECK_RC(MPI_Put(v, 2, MPI_INT, right, 0, 2, MPI_INT, win));
        CHECK_RC(MPI_Win_complete(win));
        if (it % 2 == 0) {
            CHECK_RC(MPI_Win_wait(win));
        } else {
            int flag = 0, polls = 0;
            while (!flag) { CHECK_RC(MPI_Win_test(win, &flag)); polls++; }
            CHECK(polls >= 1);
        }
        CHECK_EQ(mem[0], it);
        CHECK_EQ(mem[1], left);
    }

    /* Star: rank 0 exposes to everyone else; they add rank+1 into mem[2]. */
    MPI_Group others, zero;
    int zr = 0;
    MPI_Group_excl(world, 1, &zr, &others);
    MPI_Group_incl(world, 1, &zr, &zero);
    if (rank_ == 0) mem[2] = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int it = 0; it < 20; it++) {
        if (rank_ == 0) {
            CHECK_RC(MPI_Win_post(others, MPI_MODE_NOPUT, win));
            CHECK_RC(MPI_Win_wait(win));
        } else {
            CHECK_RC(MPI_Win_start(zero, 0, win));
            int one = rank_ + 1;
            CHECK_RC(MPI_Accumulate(&one, 1, MPI_INT, 0, 2, 1, MPI_INT, MPI_SUM, win));
            CHECK_RC(MPI_Win_complete(win));
        }
    }
    if (rank_ == 0) CHECK_EQ(mem[2], 20 * ((n * (n + 1)) / 2 - 1));

    /* Error: complete without start, wait without post (MPI_ERR_RMA_SYNC). */
    MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN);
    CHECK_CLASS(MPI_Win_complete(win), MPI_ERR_RMA_SYNC);
    CHECK_CLASS(MPI_Win_wait(win), MPI_ERR_RMA_SYNC);

    CHECK_RC(MPI_Win_free(&win));
    MPI_Group_free(&others);
    MPI_Group_free(&zero);
    MPI_Group_free(&leftg);
    MPI_Group_free(&rightg);
    MPI_Group_free(&world);
    return test_end("rma-pscw");
}
