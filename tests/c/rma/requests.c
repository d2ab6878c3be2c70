/* Request-based RMA inside passive-target epochs: MPI_Rput, MPI_Rget, MPI_Raccumulate and
 * MPI_Rget_accumulate completed with MPI_Wait, MPI_Waitall and MPI_Test, with a derived
 * datatype on the origin side; every value checked after unlock (and after a barrier for
 * values other ranks wrote). Runs on an MPI_Win_allocate and an MPI_Win_create window. */
#include "common.h"

static void run(int flavor) {
    int n = size_, right = (rank_ + 1) % n, left = (rank_ + n - 1) % n;
    int *mem, *user = NULL;
    MPI_Win win;
    if (flavor == 0) {
        CHECK_RC(MPI_Win_allocate(32 * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    } else {
        user = malloc(32 * sizeof(int));
        mem = user;
        CHECK_RC(MPI_Win_create(user, 32 * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    }
    for (int i = 0; i < 32; i++) mem[i] = (i < 8) ? -1 : (i < 16) ? rank_ * 10 + i : 0;
    MPI_Barrier(MPI_COMM_WORLD);

    MPI_Datatype every2;
    MPI_Type_vector(4, 1, 2, MPI_INT, &every2);
    MPI_Type_commit(&every2);

    CHECK_RC(MPI_Win_lock_all(0, win));
    int src[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    for (int i = 0; i < 8; i++) src[i] = 1000 * rank_ + i;
    MPI_Request reqs[4];
    /* [0,4) of the right neighbour from every other element of src. */
    CHECK_RC(MPI_Rput(src, 1, every2, right, 0, 4, MPI_INT, win, &reqs[0]));
    /* [8,12) of the left neighbour. */
    int got[4] = { -7, -7, -7, -7 };
    CHECK_RC(MPI_Rget(got, 4, MPI_INT, left, 8, 4, MPI_INT, win, &reqs[1]));
    /* [16,20) of rank 0: everyone adds rank+1. */
    int add[4];
    for (int i = 0; i < 4; i++) add[i] = rank_ + 1;
    CHECK_RC(MPI_Raccumulate(add, 4, MPI_INT, 0, 16, 4, MPI_INT, MPI_SUM, win, &reqs[2]));
    /* [12,16) of the right neighbour: fetch and replace with -rank. */
    int repl[4] = { -rank_, -rank_, -rank_, -rank_ }, old[4] = { 0, 0, 0, 0 };
    CHECK_RC(MPI_Rget_accumulate(repl, 4, MPI_INT, old, 4, MPI_INT, right, 12, 4, MPI_INT, MPI_REPLACE, win, &reqs[3]));
    CHECK_RC(MPI_Wait(&reqs[0], MPI_STATUS_IGNORE));
    CHECK(reqs[0] == MPI_REQUEST_NULL);
    int flag = 0;
    while (!flag) CHECK_RC(MPI_Test(&reqs[1], &flag, MPI_STATUS_IGNORE));
    CHECK(reqs[1] == MPI_REQUEST_NULL);
    MPI_Status st[2];
    CHECK_RC(MPI_Waitall(2, &reqs[2], st));
    CHECK(reqs[2] == MPI_REQUEST_NULL && reqs[3] == MPI_REQUEST_NULL);
    for (int i = 0; i < 4; i++) CHECK_EQ(got[i], left * 10 + 8 + i);
    for (int i = 0; i < 4; i++) CHECK_EQ(old[i], right * 10 + 12 + i);
    CHECK_RC(MPI_Win_unlock_all(win));
    MPI_Barrier(MPI_COMM_WORLD);

    CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, rank_, 0, win));
    for (int i = 0; i < 4; i++) CHECK_EQ(mem[i], 1000 * left + 2 * i);
    for (int i = 0; i < 4; i++) CHECK_EQ(mem[12 + i], -left);
    if (rank_ == 0) for (int i = 0; i < 4; i++) CHECK_EQ(mem[16 + i], n * (n + 1) / 2);
    CHECK_RC(MPI_Win_unlock(rank_, win));

    MPI_Type_free(&every2);
    CHECK_RC(MPI_Win_free(&win));
    free(user);
}

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 60);
    run(0);
    run(1);
    return test_end("rma-requests");
}
