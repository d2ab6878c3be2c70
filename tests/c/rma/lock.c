/* Passive target synchronization on MPI_Win_allocate and MPI_Win_create windows:
 *  - every rank adds 1 to every element of every rank's window under shared locks, many times
 *    and concurrently: the sums must be exact (accumulates are element-wise atomic);
 *  - every rank increments rank 0's counter by get + flush + put under an EXCLUSIVE lock: the
 *    total is exact only if exclusive locks exclude each other;
 *  - lock_all + put + flush_all + unlock_all: every rank writes its slot in every window;
 *  - MPI_Win_flush_local(_all) and MPI_Win_sync inside epochs. */
#include "common.h"

#define ITERS 100
#define K 8

static void run(int flavor) {
    int n = size_;
    long long *mem;
    MPI_Win win;
    long long *user = NULL;
    /* 80 elements: a multiple of 64 bytes. Debian's MPICH 4.0 misplaces rank 1's memory in
     * MPI_Win_allocate windows of other sizes (584 bytes: a put to element 1 lands in 0). */
    size_t bytes = 80 * sizeof(long long);
    if (flavor == 0) {
        CHECK_RC(MPI_Win_allocate(bytes, sizeof(long long), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    } else {
        user = malloc(bytes);
        mem = user;
        CHECK_RC(MPI_Win_create(user, bytes, sizeof(long long), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    }
    CHECK_RC(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank_, 0, win));
    for (int i = 0; i < 80; i++) mem[i] = 0;
    CHECK_RC(MPI_Win_unlock(rank_, win));
    MPI_Barrier(MPI_COMM_WORLD);

    /* Concurrent accumulates under shared locks. */
    long long ones[K];
    for (int i = 0; i < K; i++) ones[i] = i + 1;
    for (int it = 0; it < ITERS; it++) {
        for (int t = 0; t < n; t++) {
            int target = (rank_ + t) % n;
            CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, target, 0, win));
            CHECK_RC(MPI_Accumulate(ones, K, MPI_LONG_LONG, target, 0, K, MPI_LONG_LONG, MPI_SUM, win));
            CHECK_RC(MPI_Win_unlock(target, win));
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, rank_, 0, win));
    for (int i = 0; i < K; i++) CHECK_EQ(mem[i], (long long)n * ITERS * (i + 1));
    CHECK_RC(MPI_Win_unlock(rank_, win));

    /* Read-modify-write under exclusive locks (get, flush, put). */
    for (int it = 0; it < ITERS; it++) {
        long long v = -1;
        CHECK_RC(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win));
        CHECK_RC(MPI_Get(&v, 1, MPI_LONG_LONG, 0, K, 1, MPI_LONG_LONG, win));
        CHECK_RC(MPI_Win_flush(0, win));
        v += 1;
        CHECK_RC(MPI_Put(&v, 1, MPI_LONG_LONG, 0, K, 1, MPI_LONG_LONG, win));
        CHECK_RC(MPI_Win_flush_local(0, win));
        CHECK_RC(MPI_Win_unlock(0, win));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank_ == 0) {
        CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
        CHECK_EQ(mem[K], (long long)n * ITERS);
        CHECK_RC(MPI_Win_unlock(0, win));
    }

    /* lock_all: everyone writes its slot everywhere. */
    CHECK_RC(MPI_Win_lock_all(0, win));
    for (int t = 0; t < n; t++) {
        long long v = 1000 * rank_ + t;
        CHECK_RC(MPI_Put(&v, 1, MPI_LONG_LONG, t, K + 1 + rank_, 1, MPI_LONG_LONG, win));
    }
    CHECK_RC(MPI_Win_flush_all(win));
    CHECK_RC(MPI_Win_flush_local_all(win));
    CHECK_RC(MPI_Win_unlock_all(win));
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_RC(MPI_Win_lock_all(MPI_MODE_NOCHECK, win));
    CHECK_RC(MPI_Win_sync(win));
    for (int r = 0; r < n; r++) CHECK_EQ(mem[K + 1 + r], 1000 * r + rank_);
    CHECK_RC(MPI_Win_unlock_all(win));

    CHECK_RC(MPI_Win_free(&win));
    free(user);
}

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 120);
    run(0);
    run(1);
    return test_end("rma-lock");
}
