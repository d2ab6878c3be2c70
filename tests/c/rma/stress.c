/* Synchronization under load, meant to run with more ranks than cores (run.sh runs it at 6
 * ranks too), where a waiting rank must block and be woken instead of spinning:
 *  - fence rounds on MPI_Win_create (single copy) and MPI_Win_allocate windows: each round every
 *    rank puts a value tagged with the round into its own slot at one target, then reads a
 *    neighbour's slot back; every value must be the current round's (a fence that let a rank
 *    through early, or one round's wake-up mistaken for the next, shows here);
 *  - passive target: exclusive read-modify-write increments of two words mixed with shared-lock
 *    readers that must always see both words equal; the totals must be exact;
 *  - MPI_Accumulate and MPI_Fetch_and_op from every rank into rank 0 under MPI_Win_lock_all
 *    (the accumulate mutex, contended): exact sums, each fetched value unique;
 *  - a post/start/complete/wait ring for many epochs.
 * Usage: stress [rounds] (default 1000; run.sh gives MPICH fewer, it spins when oversubscribed). */
#include "common.h"

static int rounds = 1000;

static void fences(int flavor) {
    int n = size_;
    long *mem, *user = NULL;
    MPI_Win win;
    /* A multiple of 64 bytes: Debian's MPICH 4.0 misplaces rank 1's memory in MPI_Win_allocate
     * windows of other sizes (see lock.c). */
    size_t bytes = (size_t)(n + 7) / 8 * 8 * sizeof(long);
    if (flavor == 0) {
        CHECK_RC(MPI_Win_allocate(bytes, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    } else {
        user = calloc(1, bytes);
        mem = user;
        CHECK_RC(MPI_Win_create(user, bytes, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    }
    CHECK_RC(MPI_Win_fence(MPI_MODE_NOPRECEDE, win));
    for (int it = 0; it < rounds; it++) {
        int target = it % n, next = (rank_ + 1) % n;
        long v = (long)it * 1000 + rank_, got = -1;
        CHECK_RC(MPI_Put(&v, 1, MPI_LONG, target, rank_, 1, MPI_LONG, win));
        CHECK_RC(MPI_Win_fence(0, win));
        if (rank_ == target)
            for (int r = 0; r < n; r++) CHECK_EQ(mem[r], (long)it * 1000 + r);
        CHECK_RC(MPI_Get(&got, 1, MPI_LONG, target, next, 1, MPI_LONG, win));
        CHECK_RC(MPI_Win_fence(it == rounds - 1 ? MPI_MODE_NOSUCCEED : 0, win));
        CHECK_EQ(got, (long)it * 1000 + next);
    }
    CHECK_RC(MPI_Win_free(&win));
    free(user);
}

static void locks(void) {
    int n = size_;
    long long *mem, *user = calloc(4, sizeof(long long));
    MPI_Win win;
    mem = user;
    CHECK_RC(MPI_Win_create(user, 4 * sizeof(long long), sizeof(long long), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    MPI_Barrier(MPI_COMM_WORLD);
    long long *mine = calloc((size_t)n, sizeof(long long)), *total = calloc((size_t)n, sizeof(long long));
    for (int it = 0; it < rounds; it++) {
        int target = (rank_ + it) % n;
        long long w[2] = { -1, -2 };
        if (it % 2 == 0) {
            CHECK_RC(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, target, 0, win));
            CHECK_RC(MPI_Get(w, 2, MPI_LONG_LONG, target, 0, 2, MPI_LONG_LONG, win));
            CHECK_RC(MPI_Win_flush(target, win));
            CHECK_EQ(w[0], w[1]);
            w[0] += 1;
            CHECK_RC(MPI_Put(&w[0], 1, MPI_LONG_LONG, target, 0, 1, MPI_LONG_LONG, win));
            CHECK_RC(MPI_Win_flush(target, win));
            CHECK_RC(MPI_Put(&w[0], 1, MPI_LONG_LONG, target, 1, 1, MPI_LONG_LONG, win));
            CHECK_RC(MPI_Win_unlock(target, win));
            mine[target]++;
        } else {
            CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, target, 0, win));
            CHECK_RC(MPI_Get(&w[0], 1, MPI_LONG_LONG, target, 0, 1, MPI_LONG_LONG, win));
            CHECK_RC(MPI_Win_flush(target, win));
            CHECK_RC(MPI_Get(&w[1], 1, MPI_LONG_LONG, target, 1, 1, MPI_LONG_LONG, win));
            CHECK_RC(MPI_Win_unlock(target, win));
            CHECK_EQ(w[0], w[1]);
        }
    }
    MPI_Allreduce(mine, total, n, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, rank_, 0, win));
    CHECK_EQ(mem[0], total[rank_]);
    CHECK_EQ(mem[1], total[rank_]);
    CHECK_RC(MPI_Win_unlock(rank_, win));
    CHECK_RC(MPI_Win_free(&win));
    free(user); free(mine); free(total);
}

static void accumulates(void) {
    int n = size_;
    long *mem, *user = calloc(8, sizeof(long));
    MPI_Win win;
    mem = user;
    CHECK_RC(MPI_Win_create(user, 8 * sizeof(long), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    MPI_Barrier(MPI_COMM_WORLD);
    long ones[4] = { 1, 2, 3, 4 }, one = 1;
    long *fetched = malloc((size_t)rounds * sizeof(long));
    CHECK_RC(MPI_Win_lock_all(0, win));
    for (int it = 0; it < rounds; it++) {
        CHECK_RC(MPI_Accumulate(ones, 4, MPI_LONG, 0, 0, 4, MPI_LONG, MPI_SUM, win));
        CHECK_RC(MPI_Fetch_and_op(&one, &fetched[it], MPI_LONG, 0, 4, MPI_SUM, win));
        CHECK_RC(MPI_Win_flush(0, win));
    }
    CHECK_RC(MPI_Win_unlock_all(win));
    for (int it = 1; it < rounds; it++) CHECK(fetched[it] > fetched[it - 1]);
    long *all = rank_ == 0 ? malloc((size_t)n * rounds * sizeof(long)) : NULL;
    MPI_Gather(fetched, rounds, MPI_LONG, all, rounds, MPI_LONG, 0, MPI_COMM_WORLD);
    if (rank_ == 0) {
        char *hit = calloc((size_t)n * rounds, 1);
        for (long k = 0; k < (long)n * rounds; k++) {
            CHECK(all[k] >= 0 && all[k] < (long)n * rounds);
            if (all[k] >= 0 && all[k] < (long)n * rounds) { CHECK(!hit[all[k]]); hit[all[k]] = 1; }
        }
        free(hit);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank_ == 0) {
        CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
        for (int i = 0; i < 4; i++) CHECK_EQ(mem[i], (long)n * rounds * (i + 1));
        CHECK_EQ(mem[4], (long)n * rounds);
        CHECK_RC(MPI_Win_unlock(0, win));
    }
    CHECK_RC(MPI_Win_free(&win));
    free(user); free(fetched); free(all);
}

static void pscw(void) {
    int n = size_, right = (rank_ + 1) % n, left = (rank_ + n - 1) % n;
    MPI_Group world, leftg, rightg;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    MPI_Group_incl(world, 1, &left, &leftg);
    MPI_Group_incl(world, 1, &right, &rightg);
    int *mem;
    MPI_Win win;
    CHECK_RC(MPI_Win_allocate(16 * sizeof(int)   /* 64 bytes, as above */, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    MPI_Barrier(MPI_COMM_WORLD);
    for (int it = 0; it < rounds; it++) {
        CHECK_RC(MPI_Win_post(leftg, 0, win));
        CHECK_RC(MPI_Win_start(rightg, 0, win));
        int v[2] = { it, rank_ };
        CHECK_RC(MPI_Put(v, 2, MPI_INT, right, 0, 2, MPI_INT, win));
        CHECK_RC(MPI_Win_complete(win));
        CHECK_RC(MPI_Win_wait(win));
        CHECK_EQ(mem[0], it);
        CHECK_EQ(mem[1], left);
    }
    CHECK_RC(MPI_Win_free(&win));
    MPI_Group_free(&leftg); MPI_Group_free(&rightg); MPI_Group_free(&world);
}

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 100);
    if (argc > 1) rounds = atoi(argv[1]);
    if (rounds < 2) rounds = 2;
    fences(0);
    fences(1);
    locks();
    accumulates();
    pscw();
    return test_end("rma-stress");
}
