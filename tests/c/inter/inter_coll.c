// ranks: 2 3 4 5
/* Every collective of MPI-3.1 chapter 5 on an intercommunicator (even world ranks = group A,
 * odd = group B), with value checks in both directions: rooted collectives with the root in
 * either group and at every rank (MPI_ROOT at the root, MPI_PROC_NULL at the rest of its group,
 * the root's rank in the other group), different counts and datatypes on the two sides
 * (allgather), zero counts and gaps in the v/w variants, reductions with a predefined op and a
 * non-commutative user op (the result in group A is the reduction over group B and vice
 * versa), reduce_scatter(_block) with groups of different sizes, and the errors: Scan/Exscan
 * (and Iscan: MPI_ERR_COMM), MPI_IN_PLACE (MPI_ERR_BUFFER, as MPICH), a root out of range (MPI_ERR_ROOT).
 * Built twice: as it is, and through inter_coll_nb.c with NONBLOCKING (each collective is
 * then its nonblocking form followed by MPI_Wait). */
#include "common.h"

#ifdef NONBLOCKING
#define TEST_NAME "inter_coll_nb"
#else
#define TEST_NAME "inter_coll"
#endif

/* The value process `w` (world rank) contributes at index i. */
static int V(int w, int i) { return w * 1000 + i + 1; }

/* This process's root argument when rank r of group g (1 = A, 0 = B) is the root. */
static int root_arg(int g, int r) { return in_a == g ? (lrank == r ? MPI_ROOT : MPI_PROC_NULL) : r; }

/* Digit strings: (value, 10^digits) pairs; concat is associative, not commutative. */
static void concat_fn(void *in, void *inout, int *len, MPI_Datatype *dt) {
    (void)dt;
    int *a = in, *b = inout;
    for (int k = 0; k < *len; k++) {
        b[2 * k] = a[2 * k] * b[2 * k + 1] + b[2 * k];
        b[2 * k + 1] = a[2 * k + 1] * b[2 * k + 1];
    }
}
static int digit(int w) { return w % 9 + 1; }

static void test_barrier(void) {
    TRACE("barrier");
    for (int k = 0; k < 3; k++) COLL(Barrier, barrier, inter_);
}

static void test_bcast(void) {
    TRACE("bcast");
    for (int g = 1; g >= 0; g--) {
        for (int r = 0; r < group_size(g); r++) {
            int root = root_arg(g, r), rw = world_of(g, r);
            int buf[7];
            for (int i = 0; i < 7; i++) buf[i] = root == MPI_ROOT ? V(rw, i) : -1;
            COLL(Bcast, bcast, buf, 7, MPI_INT, root, inter_);
            for (int i = 0; i < 7; i++) {
                int want = in_a != g || root == MPI_ROOT ? V(rw, i) : -1;
                CHECK(buf[i] == want, "bcast g=%d r=%d: buf[%d] = %d, want %d", g, r, i, buf[i], want);
            }
        }
    }
    /* A non-contiguous type: every other int of 8. */
    MPI_Datatype vec;
    MPI_Type_vector(4, 1, 2, MPI_INT, &vec);
    MPI_Type_commit(&vec);
    int root = root_arg(0, group_size(0) - 1), rw = world_of(0, group_size(0) - 1);
    int buf[8];
    for (int i = 0; i < 8; i++) buf[i] = root == MPI_ROOT ? V(rw, i) : -1;
    COLL(Bcast, bcast, buf, 1, vec, root, inter_);
    for (int i = 0; i < 8; i++) {
        int want = in_a && i % 2 == 0 ? V(rw, i) : (root == MPI_ROOT ? V(rw, i) : -1);
        CHECK(buf[i] == want, "bcast vector: buf[%d] = %d, want %d", i, buf[i], want);
    }
    MPI_Type_free(&vec);
}

static void test_gather_scatter(void) {
    TRACE("gather");
    MPI_Datatype three;
    MPI_Type_contiguous(3, MPI_INT, &three);
    MPI_Type_commit(&three);
    for (int g = 1; g >= 0; g--) {
        for (int r = 0; r < group_size(g); r++) {
            int root = root_arg(g, r), rw = world_of(g, r), n = group_size(!g);
            /* gather: 3 ints from each member of the other group; the root receives them as
             * one `three` each. */
            int send[3], recv[3 * 5];
            for (int i = 0; i < 3; i++) send[i] = V(rank_, i);
            for (int i = 0; i < 15; i++) recv[i] = -1;
            COLL(Gather, gather, send, 3, MPI_INT, recv, 1, three, root, inter_);
            for (int j = 0; j < 15; j++) {
                int want = root == MPI_ROOT && j < 3 * n ? V(world_of(!g, j / 3), j % 3) : -1;
                CHECK(recv[j] == want, "gather g=%d r=%d: recv[%d] = %d, want %d", g, r, j, recv[j], want);
            }
            /* gatherv: member j sends j+1 ints; the root puts block j at 10*j (gaps stay). */
            int counts[5], displs[5], vrecv[50];
            for (int j = 0; j < 5; j++) { counts[j] = j + 1; displs[j] = 10 * j; }
            for (int i = 0; i < 50; i++) vrecv[i] = -1;
            int vsend[5];
            for (int i = 0; i < 5; i++) vsend[i] = V(rank_, i);
            COLL(Gatherv, gatherv, vsend, lrank + 1, MPI_INT, vrecv, counts, displs, MPI_INT, root, inter_);
            for (int i = 0; i < 50; i++) {
                int j = i / 10, k = i % 10;
                int want = root == MPI_ROOT && j < n && k <= j ? V(world_of(!g, j), k) : -1;
                CHECK(vrecv[i] == want, "gatherv g=%d r=%d: recv[%d] = %d, want %d", g, r, i, vrecv[i], want);
            }
            /* scatter: the root sends 2 ints to each member of the other group. */
            int ssend[10], srecv[2] = {-1, -1};
            for (int i = 0; i < 10; i++) ssend[i] = root == MPI_ROOT ? V(rw, i) : -7;
            COLL(Scatter, scatter, ssend, 2, MPI_INT, srecv, 2, MPI_INT, root, inter_);
            for (int i = 0; i < 2; i++) {
                int want = in_a != g ? V(rw, 2 * lrank + i) : -1;
                CHECK(srecv[i] == want, "scatter g=%d r=%d: recv[%d] = %d, want %d", g, r, i, srecv[i], want);
            }
            /* scatterv: member j gets j ints (none for 0) from offset 7*j. */
            int sv[35], svrecv[5];
            for (int i = 0; i < 35; i++) sv[i] = root == MPI_ROOT ? V(rw, i) : -7;
            for (int j = 0; j < 5; j++) { counts[j] = j; displs[j] = 7 * j; }
            for (int i = 0; i < 5; i++) svrecv[i] = -1;
            COLL(Scatterv, scatterv, sv, counts, displs, MPI_INT, svrecv, lrank, MPI_INT, root, inter_);
            for (int i = 0; i < 5; i++) {
                int want = in_a != g && i < lrank ? V(rw, 7 * lrank + i) : -1;
                CHECK(svrecv[i] == want, "scatterv g=%d r=%d: recv[%d] = %d, want %d", g, r, i, svrecv[i], want);
            }
        }
    }
    MPI_Type_free(&three);
}

static void test_allgather(void) {
    TRACE("allgather");
    /* Group A sends 2 ints each, group B 3: A receives 3 from each member of B and B 2 from
     * each member of A. */
    int mine = in_a ? 2 : 3, theirs = in_a ? 3 : 2;
    int send[3], recv[15];
    for (int i = 0; i < 3; i++) send[i] = V(rank_, i);
    for (int i = 0; i < 15; i++) recv[i] = -1;
    COLL(Allgather, allgather, send, mine, MPI_INT, recv, theirs, MPI_INT, inter_);
    for (int i = 0; i < 15; i++) {
        int want = i < theirs * rsize ? V(remote_world(i / theirs), i % theirs) : -1;
        CHECK(recv[i] == want, "allgather: recv[%d] = %d, want %d", i, recv[i], want);
    }
    /* allgatherv: member j of each group sends j+1 ints; block j lands at 6*j. */
    int counts[5], displs[5], vrecv[30];
    for (int j = 0; j < 5; j++) { counts[j] = j + 1; displs[j] = 6 * j; }
    for (int i = 0; i < 30; i++) vrecv[i] = -1;
    COLL(Allgatherv, allgatherv, send, lrank + 1 > 3 ? 3 : lrank + 1, MPI_INT, vrecv, counts, displs, MPI_INT, inter_);
    for (int i = 0; i < 30; i++) {
        int j = i / 6, k = i % 6;
        int want = j < rsize && k <= j ? V(remote_world(j), k) : -1;
        CHECK(vrecv[i] == want, "allgatherv: recv[%d] = %d, want %d", i, vrecv[i], want);
    }
}

static void test_alltoall(void) {
    TRACE("alltoall");
    /* Block for remote rank j: 2 ints V(me, 10*j + i); block k received comes from remote k. */
    int send[10], recv[10];
    for (int j = 0; j < 5; j++)
        for (int i = 0; i < 2; i++) send[2 * j + i] = V(rank_, 10 * j + i);
    for (int i = 0; i < 10; i++) recv[i] = -1;
    COLL(Alltoall, alltoall, send, 2, MPI_INT, recv, 2, MPI_INT, inter_);
    for (int i = 0; i < 10; i++) {
        int k = i / 2;
        int want = k < rsize ? V(remote_world(k), 10 * lrank + i % 2) : -1;
        CHECK(recv[i] == want, "alltoall: recv[%d] = %d, want %d", i, recv[i], want);
    }
    /* alltoallv: local rank a sends (a + b) % 3 ints to remote rank b, block at 4*b. */
    int scounts[5], sdispls[5], rcounts[5], rdispls[5], vsend[20], vrecv[20];
    for (int j = 0; j < 5; j++) {
        scounts[j] = (lrank + j) % 3; sdispls[j] = 4 * j;
        rcounts[j] = (lrank + j) % 3; rdispls[j] = 4 * (4 - j);
    }
    for (int i = 0; i < 20; i++) { vsend[i] = V(rank_, 100 + i); vrecv[i] = -1; }
    COLL(Alltoallv, alltoallv, vsend, scounts, sdispls, MPI_INT, vrecv, rcounts, rdispls, MPI_INT, inter_);
    for (int i = 0; i < 20; i++) {
        int k = 4 - i / 4, off = i % 4;
        int want = k < rsize && off < rcounts[k] ? V(remote_world(k), 100 + 4 * lrank + off) : -1;
        CHECK(vrecv[i] == want, "alltoallv: recv[%d] = %d, want %d", i, vrecv[i], want);
    }
    /* alltoallw: the same exchange, receiving into doubles-free MPI_INT blocks given in bytes,
     * the send side described by a 1-int contiguous type. */
    MPI_Datatype one, stypes[5], rtypes[5];
    MPI_Type_contiguous(1, MPI_INT, &one);
    MPI_Type_commit(&one);
    for (int j = 0; j < 5; j++) {
        stypes[j] = one; rtypes[j] = MPI_INT;
        sdispls[j] *= (int)sizeof(int); rdispls[j] *= (int)sizeof(int);
    }
    for (int i = 0; i < 20; i++) vrecv[i] = -1;
    COLL(Alltoallw, alltoallw, vsend, scounts, sdispls, stypes, vrecv, rcounts, rdispls, rtypes, inter_);
    for (int i = 0; i < 20; i++) {
        int k = 4 - i / 4, off = i % 4;
        int want = k < rsize && off < rcounts[k] ? V(remote_world(k), 100 + 4 * lrank + off) : -1;
        CHECK(vrecv[i] == want, "alltoallw: recv[%d] = %d, want %d", i, vrecv[i], want);
    }
    MPI_Type_free(&one);
}

static void test_reductions(void) {
    TRACE("reduce");
    MPI_Op concat;
    MPI_Op_create(concat_fn, 0, &concat);
    for (int g = 1; g >= 0; g--) {
        for (int r = 0; r < group_size(g); r++) {
            int root = root_arg(g, r), n = group_size(!g);
            int send[4], recv[4];
            for (int i = 0; i < 4; i++) { send[i] = V(rank_, i); recv[i] = -1; }
            COLL(Reduce, reduce, send, recv, 4, MPI_INT, MPI_SUM, root, inter_);
            for (int i = 0; i < 4; i++) {
                int want = -1;
                if (root == MPI_ROOT) { want = 0; for (int j = 0; j < n; j++) want += V(world_of(!g, j), i); }
                CHECK(recv[i] == want, "reduce g=%d r=%d: recv[%d] = %d, want %d", g, r, i, recv[i], want);
            }
            int cs[2] = {digit(rank_), 10}, cr[2] = {-1, -1};
            COLL(Reduce, reduce, cs, cr, 1, MPI_2INT, concat, root, inter_);
            int want = -1;
            if (root == MPI_ROOT) { want = 0; for (int j = 0; j < n; j++) want = want * 10 + digit(world_of(!g, j)); }
            CHECK(cr[0] == want, "reduce concat g=%d r=%d: %d, want %d", g, r, cr[0], want);
        }
    }
    TRACE("allreduce");
    double ds[3], dr[3];
    for (int i = 0; i < 3; i++) { ds[i] = V(rank_, i) * 0.5; dr[i] = -1; }
    COLL(Allreduce, allreduce, ds, dr, 3, MPI_DOUBLE, MPI_MAX, inter_);
    for (int i = 0; i < 3; i++) {
        double want = V(remote_world(rsize - 1), i) * 0.5;
        CHECK(dr[i] == want, "allreduce max: [%d] = %g, want %g", i, dr[i], want);
    }
    int cs[2] = {digit(rank_), 10}, cr[2] = {-1, -1};
    COLL(Allreduce, allreduce, cs, cr, 1, MPI_2INT, concat, inter_);
    int want = 0;
    for (int j = 0; j < rsize; j++) want = want * 10 + digit(remote_world(j));
    CHECK(cr[0] == want, "allreduce concat: %d, want %d", cr[0], want);

    TRACE("reduce_scatter_block");
    /* Both groups reduce vectors of T = 2 * |A| * |B| ints; each member gets T / lsize. */
    int T = 2 * lsize * rsize, rc = T / lsize;
    int *vs = malloc(sizeof(int) * T), vr[50];
    for (int i = 0; i < T; i++) vs[i] = V(rank_, i);
    for (int i = 0; i < 50; i++) vr[i] = -1;
    COLL(Reduce_scatter_block, reduce_scatter_block, vs, vr, rc, MPI_INT, MPI_SUM, inter_);
    for (int i = 0; i < 50; i++) {
        int w = -1;
        if (i < rc) { w = 0; for (int j = 0; j < rsize; j++) w += V(remote_world(j), lrank * rc + i); }
        CHECK(vr[i] == w, "reduce_scatter_block: recv[%d] = %d, want %d", i, vr[i], w);
    }
    TRACE("reduce_scatter");
    /* Vectors of 20 on both sides: member r gets r + 1 ints, the last one the rest. */
    int counts[5], at = 0, mine_at = 0;
    for (int j = 0; j < lsize; j++) {
        counts[j] = j == lsize - 1 ? 20 - at : j + 1;
        if (j == lrank) mine_at = at;
        at += counts[j];
    }
    int v20[20];
    for (int i = 0; i < 20; i++) v20[i] = V(rank_, i);
    for (int i = 0; i < 50; i++) vr[i] = -1;
    COLL(Reduce_scatter, reduce_scatter, v20, vr, counts, MPI_INT, MPI_SUM, inter_);
    for (int i = 0; i < 50; i++) {
        int w = -1;
        if (i < counts[lrank]) { w = 0; for (int j = 0; j < rsize; j++) w += V(remote_world(j), mine_at + i); }
        CHECK(vr[i] == w, "reduce_scatter: recv[%d] = %d, want %d", i, vr[i], w);
    }
    free(vs);
    MPI_Op_free(&concat);
}

#ifndef NONBLOCKING
static void test_errors(void) {
    TRACE("errors");
    MPI_Comm_set_errhandler(inter_, MPI_ERRORS_RETURN);
    int a[2] = {1, 2}, b[2], cls = 0, rc;
    rc = MPI_Scan(a, b, 1, MPI_INT, MPI_SUM, inter_);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_COMM, "MPI_Scan on an intercommunicator: class %d", cls);
    rc = MPI_Exscan(a, b, 1, MPI_INT, MPI_SUM, inter_);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_COMM, "MPI_Exscan on an intercommunicator: class %d", cls);
    MPI_Request req = MPI_REQUEST_NULL;
    rc = MPI_Iscan(a, b, 1, MPI_INT, MPI_SUM, inter_, &req);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_COMM, "MPI_Iscan on an intercommunicator: class %d", cls);
    if (rc == MPI_SUCCESS) MPI_Wait(&req, MPI_STATUS_IGNORE);
    rc = MPI_Allreduce(MPI_IN_PLACE, b, 1, MPI_INT, MPI_SUM, inter_);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_BUFFER, "MPI_Allreduce with MPI_IN_PLACE: class %d", cls);
    rc = MPI_Bcast(a, 1, MPI_INT, 1000, inter_);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ROOT, "MPI_Bcast with root 1000: class %d", cls);
    MPI_Comm_set_errhandler(inter_, MPI_ERRORS_ARE_FATAL);
}
#endif

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    test_barrier();
    test_bcast();
    test_gather_scatter();
    test_allgather();
    test_alltoall();
    test_reductions();
#ifndef NONBLOCKING
    test_errors();
#endif
    test_barrier();
    return finish_test(TEST_NAME);
}
