/* ranks: 2 3 4
 * One-sided communication on windows whose ranks may sit on different nodes (the multi-node
 * tests run it over 2 and 3 network namespaces, where a window spans TCP and shared memory; it
 * is correct on one node too): large puts, gets and accumulates (several MiB: their data travels
 * apart from the request across nodes) with derived target datatypes, get_accumulate,
 * fetch_and_op and compare_and_swap across the ring, post/start/complete/wait (accumulates in
 * order), exclusive locks
 * that serialize non-atomic read-modify-writes, a dynamic window with its accesses checked at
 * the target (on Ferry, an access outside the attached memory is MPI_ERR_RMA_RANGE, at the call
 * or at the flush or unlock that completes it, and the lock is released all the same), and windows created and freed in a loop. Values are checked, not
 * only return codes. */
#include "common.h"

#define BIG (3 << 20)            /* bytes of the large transfers */
#define NDBL (BIG / 8)

static double value(int owner, long i) { return owner * 1000003.0 + (double)i; }

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 100);
    int n = size_, me = rank_, next = (me + 1) % n, prev = (me + n - 1) % n;

    /* 1. Fence: a strided put of BIG bytes to the next rank, then a get of it back. */
    double *mem;
    MPI_Win win;
    CHECK_RC(MPI_Win_allocate(2 * BIG, sizeof(double), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN);
    for (long i = 0; i < 2 * NDBL; i++) mem[i] = -1.0;
    double *src = malloc(BIG), *back = malloc(BIG);
    for (long i = 0; i < NDBL; i++) src[i] = value(me, i);
    MPI_Datatype every_other;                 /* NDBL doubles, one every 2 slots */
    MPI_Type_vector(NDBL, 1, 2, MPI_DOUBLE, &every_other);
    MPI_Type_commit(&every_other);
    CHECK_RC(MPI_Win_fence(0, win));
    CHECK_RC(MPI_Put(src, NDBL, MPI_DOUBLE, next, 0, 1, every_other, win));
    CHECK_RC(MPI_Win_fence(0, win));
    long bad = 0;
    for (long i = 0; i < NDBL; i++) {
        if (mem[2 * i] != value(prev, i)) bad++;
        if (mem[2 * i + 1] != -1.0) bad++;
    }
    CHECK_EQ(bad, 0);
    CHECK_RC(MPI_Get(back, NDBL, MPI_DOUBLE, next, 0, 1, every_other, win));
    CHECK_RC(MPI_Win_fence(0, win));
    bad = 0;
    for (long i = 0; i < NDBL; i++) if (back[i] != value(me, i)) bad++;
    CHECK_EQ(bad, 0);

    /* 2. Passive target: every rank accumulates BIG bytes of doubles into rank 0 (MPI_SUM),
     * then get_accumulate (MPI_NO_OP) reads them back; small fetch_and_op on every rank. */
    for (long i = 0; i < 2 * NDBL; i++) mem[i] = 0.0;
    for (long i = 0; i < NDBL; i++) src[i] = (double)(i % 1000) + me;
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_RC(MPI_Win_lock_all(0, win));
    CHECK_RC(MPI_Accumulate(src, NDBL, MPI_DOUBLE, 0, 0, NDBL, MPI_DOUBLE, MPI_SUM, win));
    CHECK_RC(MPI_Win_flush(0, win));
    long one = 1, old = -1;
    CHECK_RC(MPI_Fetch_and_op(&one, &old, MPI_LONG, next, NDBL, MPI_SUM, win));
    CHECK_RC(MPI_Win_flush(next, win));
    CHECK_EQ(old, 0);
    CHECK_RC(MPI_Win_unlock_all(win));
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
    CHECK_RC(MPI_Get_accumulate(NULL, 0, MPI_DOUBLE, back, NDBL, MPI_DOUBLE, 0, 0, NDBL, MPI_DOUBLE, MPI_NO_OP, win));
    CHECK_RC(MPI_Win_unlock(0, win));
    bad = 0;
    double ranks_sum = (double)n * (n - 1) / 2;
    for (long i = 0; i < NDBL; i++) if (back[i] != (double)(i % 1000) * n + ranks_sum) bad++;
    CHECK_EQ(bad, 0);
    CHECK_EQ(((long *)mem)[NDBL], 1);   /* one fetch_and_op came from the previous rank */

    /* 3. Exclusive locks serialize a get-increment-put of element 0 of rank n-1 (not atomic
     * by itself), 40 times per rank. */
    MPI_Barrier(MPI_COMM_WORLD);
    ((long *)mem)[0] = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int it = 0; it < 40; it++) {
        long v = -1;
        CHECK_RC(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, n - 1, 0, win));
        CHECK_RC(MPI_Get(&v, 1, MPI_LONG, n - 1, 0, 1, MPI_LONG, win));
        CHECK_RC(MPI_Win_flush(n - 1, win));
        v++;
        CHECK_RC(MPI_Put(&v, 1, MPI_LONG, n - 1, 0, 1, MPI_LONG, win));
        CHECK_RC(MPI_Win_unlock(n - 1, win));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (me == n - 1) {
        CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, me, 0, win));
        CHECK_EQ(((long *)mem)[0], 40L * n);
        CHECK_RC(MPI_Win_unlock(me, win));
    }

    /* 4. Compare_and_swap: every rank tries to claim element 1 of rank 0; exactly one wins. */
    MPI_Barrier(MPI_COMM_WORLD);
    if (me == 0) ((long *)mem)[1] = -1;
    MPI_Barrier(MPI_COMM_WORLD);
    long mine = me, expect = -1, was = -2;
    CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
    CHECK_RC(MPI_Compare_and_swap(&mine, &expect, &was, MPI_LONG, 0, 1, win));
    CHECK_RC(MPI_Win_unlock(0, win));
    int won = was == -1, winners = 0;
    MPI_Allreduce(&won, &winners, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK_EQ(winners, 1);

    /* 5. Post/start/complete/wait around the ring with an indexed target type. */
    MPI_Group world, g_next, g_prev;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    MPI_Group_incl(world, 1, &next, &g_next);
    MPI_Group_incl(world, 1, &prev, &g_prev);
    int blocks[3] = {2, 1, 3}, displs[3] = {0, 5, 9};
    MPI_Datatype idx;
    MPI_Type_indexed(3, blocks, displs, MPI_INT, &idx);
    MPI_Type_commit(&idx);
    int *imem = (int *)mem;
    for (int i = 0; i < 16; i++) imem[i] = -7;
    int six[6];
    for (int i = 0; i < 6; i++) six[i] = me * 10 + i;
    MPI_Barrier(MPI_COMM_WORLD);
    if (n > 1) {
        CHECK_RC(MPI_Win_post(g_prev, 0, win));
        CHECK_RC(MPI_Win_start(g_next, 0, win));
        CHECK_RC(MPI_Accumulate(six, 6, MPI_INT, next, 0, 1, idx, MPI_REPLACE, win));
        CHECK_RC(MPI_Accumulate(six, 6, MPI_INT, next, 0, 1, idx, MPI_SUM, win));
        CHECK_RC(MPI_Win_complete(win));
        CHECK_RC(MPI_Win_wait(win));
        int at[6] = {0, 1, 5, 9, 10, 11};
        for (int i = 0; i < 6; i++) CHECK_EQ(imem[at[i]], 2 * (prev * 10 + i));
        CHECK_EQ(imem[2], -7);
        CHECK_EQ(imem[8], -7);
    }
    CHECK_RC(MPI_Win_free(&win));

    /* 6. Dynamic window: each rank attaches 64 longs; the next rank puts into them by
     * address; an access past the region is MPI_ERR_RMA_RANGE (reported by the call or by
     * the flush completing it) and changes nothing. */
    MPI_Win dyn;
    CHECK_RC(MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &dyn));
    MPI_Win_set_errhandler(dyn, MPI_ERRORS_RETURN);
    long *region = calloc(64, sizeof(long));
    CHECK_RC(MPI_Win_attach(dyn, region, 64 * sizeof(long)));
    MPI_Aint mine_at, addr[64];
    MPI_Get_address(region, &mine_at);
    MPI_Allgather(&mine_at, 1, MPI_AINT, addr, 1, MPI_AINT, MPI_COMM_WORLD);
    long vals[64];
    for (int i = 0; i < 64; i++) vals[i] = me * 100 + i;
    CHECK_RC(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, next, 0, dyn));
    CHECK_RC(MPI_Put(vals, 64, MPI_LONG, next, addr[next], 64, MPI_LONG, dyn));
    CHECK_RC(MPI_Win_flush(next, dyn));
    /* The standard calls such an access erroneous without requiring its detection (MPICH
     * writes past the region): checked on Ferry only. */
    char library[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(library, &length);
    long got[64];
    int ferry = strstr(library, "Ferry") != NULL;
    if (ferry) {
        int rc = MPI_Put(vals, 8, MPI_LONG, next, addr[next] + 60 * sizeof(long), 8, MPI_LONG, dyn);
        if (rc == MPI_SUCCESS) rc = MPI_Win_flush(next, dyn);
        CHECK_CLASS(rc, MPI_ERR_RMA_RANGE);
        rc = MPI_Get(got, 8, MPI_LONG, next, addr[next] + 60 * sizeof(long), 8, MPI_LONG, dyn);
        if (rc == MPI_SUCCESS) rc = MPI_Win_flush(next, dyn);
        CHECK_CLASS(rc, MPI_ERR_RMA_RANGE);
    }
    CHECK_RC(MPI_Get(got, 64, MPI_LONG, next, addr[next], 64, MPI_LONG, dyn));
    CHECK_RC(MPI_Win_unlock(next, dyn));
    for (int i = 0; i < 64; i++) CHECK_EQ(got[i], me * 100 + i);
    if (ferry) {
        /* An error found at the target comes back at the unlock that completes the put, and
         * the lock is released all the same: locking the target again is granted (a leaked
         * lock would hang here until the alarm). */
        CHECK_RC(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, next, 0, dyn));
        int rc = MPI_Put(vals, 8, MPI_LONG, next, addr[next] + 60 * sizeof(long), 8, MPI_LONG, dyn);
        int urc = MPI_Win_unlock(next, dyn);
        CHECK_CLASS(rc == MPI_SUCCESS ? urc : rc, MPI_ERR_RMA_RANGE);
        CHECK_RC(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, next, 0, dyn));
        CHECK_RC(MPI_Win_unlock(next, dyn));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < 64; i++) CHECK_EQ(region[i], prev * 100 + i);
    CHECK_RC(MPI_Win_detach(dyn, region));
    CHECK_RC(MPI_Win_free(&dyn));

    /* 7. Windows created and freed in a loop, each used once (no message of one window may
     * reach the next one, which may reuse its context). */
    for (int k = 0; k < 20; k++) {
        long *m2;
        MPI_Win w2;
        CHECK_RC(MPI_Win_allocate(8 * sizeof(long), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &m2, &w2));
        m2[0] = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, next, 0, w2));
        CHECK_RC(MPI_Accumulate(&one, 1, MPI_LONG, next, 0, 1, MPI_LONG, MPI_SUM, w2));
        CHECK_RC(MPI_Win_unlock(next, w2));
        MPI_Barrier(MPI_COMM_WORLD);
        CHECK_EQ(m2[0], 1);
        CHECK_RC(MPI_Win_free(&w2));
    }

    MPI_Type_free(&every_other);
    MPI_Type_free(&idx);
    MPI_Group_free(&g_next);
    MPI_Group_free(&g_prev);
    MPI_Group_free(&world);
    free(src); free(back); free(region);
    return test_end("rma-spread");
}
