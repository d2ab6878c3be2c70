/* Atomic RMA: a shared counter incremented by MPI_Fetch_and_op from every rank (the fetched
 * values must be exactly 0 .. n*ITERS-1, each once), a mutex built on MPI_Compare_and_swap
 * protecting a non-atomic get/put increment (exact total), MPI_NO_OP reads, MPI_MAX / MPI_PROD
 * / MPI_BXOR on other types — on an MPI_Win_allocate and an MPI_Win_create window. */
#include "common.h"

#define ITERS 100

static void run(int flavor) {
    int n = size_;
    long *mem, *user = NULL;
    MPI_Win win;
    if (flavor == 0) {
        CHECK_RC(MPI_Win_allocate(8 * sizeof(long), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    } else {
        user = calloc(8, sizeof(long));
        mem = user;
        CHECK_RC(MPI_Win_create(user, 8 * sizeof(long), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    }
    for (int i = 0; i < 8; i++) mem[i] = 0;
    mem[4] = 1;   /* product */
    MPI_Barrier(MPI_COMM_WORLD);

    /* Fetch-and-add counter at rank 0, element 0. */
    long *seen = malloc(ITERS * sizeof(long));
    CHECK_RC(MPI_Win_lock_all(0, win));
    for (int it = 0; it < ITERS; it++) {
        long one = 1, old = -1;
        CHECK_RC(MPI_Fetch_and_op(&one, &old, MPI_LONG, 0, 0, MPI_SUM, win));
        CHECK_RC(MPI_Win_flush(0, win));
        seen[it] = old;
    }
    CHECK_RC(MPI_Win_unlock_all(win));
    long *all = rank_ == 0 ? malloc((size_t)n * ITERS * sizeof(long)) : NULL;
    MPI_Gather(seen, ITERS, MPI_LONG, all, ITERS, MPI_LONG, 0, MPI_COMM_WORLD);
    if (rank_ == 0) {
        char *hit = calloc((size_t)n * ITERS, 1);
        for (int k = 0; k < n * ITERS; k++) {
            CHECK(all[k] >= 0 && all[k] < n * ITERS);
            if (all[k] >= 0 && all[k] < n * ITERS) { CHECK(!hit[all[k]]); hit[all[k]] = 1; }
        }
        free(hit);
        free(all);
    }
    /* Each rank's own fetched values increase. */
    for (int it = 1; it < ITERS; it++) CHECK(seen[it] > seen[it - 1]);
    free(seen);

    /* CAS mutex (element 1 of rank 0 holds owner+1 or 0) around get/flush/put of element 2. */
    CHECK_RC(MPI_Win_lock_all(0, win));
    for (int it = 0; it < ITERS; it++) {
        long me = rank_ + 1, zero = 0, old = -1;
        do {
            CHECK_RC(MPI_Compare_and_swap(&me, &zero, &old, MPI_LONG, 0, 1, win));
            CHECK_RC(MPI_Win_flush(0, win));
        } while (old != 0);
        long v = -1;
        CHECK_RC(MPI_Get(&v, 1, MPI_LONG, 0, 2, 1, MPI_LONG, win));
        CHECK_RC(MPI_Win_flush(0, win));
        v++;
        CHECK_RC(MPI_Put(&v, 1, MPI_LONG, 0, 2, 1, MPI_LONG, win));
        CHECK_RC(MPI_Win_flush(0, win));
        /* Release: swap back and check we were the owner. */
        CHECK_RC(MPI_Compare_and_swap(&zero, &me, &old, MPI_LONG, 0, 1, win));
        CHECK_RC(MPI_Win_flush(0, win));
        CHECK_EQ(old, me);
    }
    /* Other ops: MAX of ranks into element 3, PROD of 2 into element 4 (n doublings),
     * BXOR of 1 << rank into element 5, NO_OP read of element 0. */
    long r = rank_, two = 2, bit = 1L << rank_, dummy = 0, got = -1;
    CHECK_RC(MPI_Fetch_and_op(&r, &got, MPI_LONG, 0, 3, MPI_MAX, win));
    CHECK_RC(MPI_Fetch_and_op(&two, &got, MPI_LONG, 0, 4, MPI_PROD, win));
    CHECK_RC(MPI_Fetch_and_op(&bit, &got, MPI_LONG, 0, 5, MPI_BXOR, win));
    CHECK_RC(MPI_Win_unlock_all(win));
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
    CHECK_RC(MPI_Fetch_and_op(&dummy, &got, MPI_LONG, 0, 0, MPI_NO_OP, win));
    CHECK_RC(MPI_Win_unlock(0, win));
    CHECK_EQ(got, (long)n * ITERS);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank_ == 0) {
        CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
        CHECK_EQ(mem[0], (long)n * ITERS);
        CHECK_EQ(mem[1], 0);
        CHECK_EQ(mem[2], (long)n * ITERS);
        CHECK_EQ(mem[3], n - 1);
        CHECK_EQ(mem[4], 1L << n);
        CHECK_EQ(mem[5], (1L << n) - 1);
        CHECK_RC(MPI_Win_unlock(0, win));
    }
    CHECK_RC(MPI_Win_free(&win));
    free(user);
}

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 120);
    run(0);
    run(1);
    return test_end("rma-atomics");
}
