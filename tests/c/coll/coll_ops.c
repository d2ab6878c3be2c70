/* Reduction operations and the error paths of the collectives, with MPI_ERRORS_RETURN:
 * predefined op handles, MPI_Op_free (predefined ops and MPI_OP_NULL refused with
 * MPI_ERR_OP, user ops set to MPI_OP_NULL), MPI_Op_commutative, a user op freed while a
 * nonblocking reduction still uses it, MPI_Reduce_local, ops undefined on a type, bad roots
 * and counts reported at the call of a nonblocking collective, and (on Ferry) barriers on an
 * intercommunicator next to MPI_Comm_idup.
 * ranks: 1 2 3 4 8 */
#include "common.h"

static int is_mpich(void) {
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    return strncmp(v, "MPICH", 5) == 0;
}

static int error_class(int rc) {
    int c = -1;
    MPI_Error_class(rc, &c);
    return c;
}

static void max_abs(void *in, void *inout, int *len, MPI_Datatype *dt) {
    (void)dt;
    int *a = in, *b = inout;
    for (int i = 0; i < *len; i++) {
        int x = a[i] < 0 ? -a[i] : a[i], y = b[i] < 0 ? -b[i] : b[i];
        b[i] = x > y ? x : y;
    }
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int n = size_, r = rank_;

    /* Handle values of the MPICH ABI. */
    CHECK(MPI_MAX == 0x58000001 && MPI_NO_OP == 0x5800000e && MPI_OP_NULL == 0x18000000, "op handle values");

    /* Predefined ops cannot be freed; neither can MPI_OP_NULL. */
    MPI_Op op = MPI_SUM;
    CHECK(error_class(MPI_Op_free(&op)) == MPI_ERR_OP, "MPI_Op_free(MPI_SUM) must fail with MPI_ERR_OP");
    CHECK(op == MPI_SUM, "a refused MPI_Op_free changed the handle");
    op = MPI_OP_NULL;
    CHECK(error_class(MPI_Op_free(&op)) == MPI_ERR_OP, "MPI_Op_free(MPI_OP_NULL) must fail with MPI_ERR_OP");
    int commute = -1;
    CHECK(error_class(MPI_Op_commutative(MPI_OP_NULL, &commute)) == MPI_ERR_OP, "MPI_Op_commutative(MPI_OP_NULL)");
    /* Every predefined op commutes except MPI_REPLACE and MPI_NO_OP (as in MPICH). */
    for (MPI_Op p = MPI_MAX; p <= MPI_NO_OP; p++) {
        commute = -1;
        CHECK_RC(MPI_Op_commutative(p, &commute), "MPI_Op_commutative");
        CHECK(commute == (p != MPI_REPLACE && p != MPI_NO_OP), "predefined op %x: commutative %d", p, commute);
    }

    /* A user op: created, freed (handle becomes MPI_OP_NULL), then refused. */
    MPI_Op mine;
    CHECK_RC(MPI_Op_create(max_abs, 1, &mine), "MPI_Op_create");
    MPI_Op copy = mine;
    CHECK_RC(MPI_Op_free(&mine), "MPI_Op_free");
    CHECK(mine == MPI_OP_NULL, "MPI_Op_free did not set MPI_OP_NULL");
    int x = r, y = 0;
    /* Debian's MPICH is built without full argument checking: checks of erroneous arguments
     * (a stale handle, a negative count, ...) run on Ferry only. */
    int checking = !is_mpich();
    if (checking)
        CHECK(error_class(MPI_Allreduce(&x, &y, 1, MPI_INT, copy, MPI_COMM_WORLD)) == MPI_ERR_OP, "freed op accepted");
    CHECK(error_class(MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_OP_NULL, MPI_COMM_WORLD)) == MPI_ERR_OP, "MPI_OP_NULL accepted");

    /* Freed while a nonblocking reduction uses it: the reduction still completes. */
    CHECK_RC(MPI_Op_create(max_abs, 1, &mine), "MPI_Op_create");
    enum { C = 1000 };
    int *in = malloc(sizeof(int) * C), *out = malloc(sizeof(int) * C);
    for (int i = 0; i < C; i++) in[i] = (r % 2 ? -1 : 1) * (r + i);
    MPI_Request q;
    CHECK_RC(MPI_Iallreduce(in, out, C, MPI_INT, mine, MPI_COMM_WORLD, &q), "MPI_Iallreduce");
    CHECK_RC(MPI_Op_free(&mine), "MPI_Op_free");
    CHECK_RC(MPI_Wait(&q, MPI_STATUS_IGNORE), "MPI_Wait");
    for (int i = 0; i < C; i++) CHECK(out[i] == n - 1 + i, "iallreduce with a freed op [%d] = %d", i, out[i]);
    free(in); free(out);

    /* Many user ops: handles are reused after free. */
    for (int k = 0; k < 2000; k++) {
        MPI_Op t;
        if (MPI_Op_create(max_abs, k % 2, &t) != MPI_SUCCESS) { CHECK(0, "MPI_Op_create #%d failed", k); break; }
        MPI_Op_commutative(t, &commute);
        CHECK(commute == k % 2, "op #%d commutative %d", k, commute);
        MPI_Op_free(&t);
    }

    /* Reduce_local: every predefined arithmetic op on doubles; MINLOC on pairs. */
    double a[3] = {1.5, -2, 4}, b[3] = {2, -3, 0.5};
    CHECK_RC(MPI_Reduce_local(a, b, 3, MPI_DOUBLE, MPI_PROD), "MPI_Reduce_local");
    CHECK(b[0] == 3 && b[1] == 6 && b[2] == 2, "reduce_local PROD");
    struct { int v, i; } p[2] = {{1, 5}, {7, 1}}, q2[2] = {{1, 3}, {2, 9}};
    CHECK_RC(MPI_Reduce_local(p, q2, 2, MPI_2INT, MPI_MINLOC), "MPI_Reduce_local");
    CHECK(q2[0].v == 1 && q2[0].i == 3 && q2[1].v == 2 && q2[1].i == 9, "reduce_local MINLOC");
    CHECK(error_class(MPI_Reduce_local(a, b, 3, MPI_DOUBLE, MPI_BAND)) == MPI_ERR_OP, "BAND on double accepted");

    /* Ops undefined on a type, blocking and nonblocking. */
    CHECK(error_class(MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_MINLOC, MPI_COMM_WORLD)) == MPI_ERR_OP, "MINLOC on MPI_INT accepted");
    int rc = MPI_Iallreduce(&x, &y, 1, MPI_INT, MPI_MAXLOC, MPI_COMM_WORLD, &q);
    if (rc == MPI_SUCCESS) rc = MPI_Wait(&q, MPI_STATUS_IGNORE); /* reported at the call or at completion */
    CHECK(error_class(rc) == MPI_ERR_OP, "MAXLOC on MPI_INT accepted by MPI_Iallreduce (class %d)", error_class(rc));

    /* Bad arguments of nonblocking collectives, reported at the call. */
    q = MPI_REQUEST_NULL;
    if (checking) {
    CHECK(error_class(MPI_Ibcast(&x, 1, MPI_INT, n, MPI_COMM_WORLD, &q)) == MPI_ERR_ROOT, "Ibcast root n accepted");
    CHECK(error_class(MPI_Ireduce(&x, &y, -1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD, &q)) == MPI_ERR_COUNT, "negative count accepted");
    CHECK(error_class(MPI_Iallreduce(&x, &y, 1, MPI_DATATYPE_NULL, MPI_SUM, MPI_COMM_WORLD, &q)) == MPI_ERR_TYPE, "MPI_DATATYPE_NULL accepted");
    CHECK(error_class(MPI_Ibarrier(MPI_COMM_NULL, &q)) == MPI_ERR_COMM, "MPI_COMM_NULL accepted");
    CHECK(error_class(MPI_Barrier(MPI_COMM_NULL)) == MPI_ERR_COMM, "MPI_COMM_NULL accepted by MPI_Barrier");
    CHECK(error_class(MPI_Bcast(&x, 1, MPI_INT, -1, MPI_COMM_WORLD)) == MPI_ERR_ROOT, "Bcast root -1 accepted");
    CHECK(q == MPI_REQUEST_NULL, "a refused call returned a request");
    }

    /* Intercommunicators: blocking and nonblocking collectives work on them (values are checked
       in tests/c/inter); here just that they succeed next to MPI_Comm_idup. */
    if (n >= 2 && checking) {
        MPI_Comm half, inter;
        MPI_Comm_split(MPI_COMM_WORLD, r % 2, r, &half);
        MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, r % 2 ? 0 : 1, 7, &inter);
        MPI_Comm_set_errhandler(inter, MPI_ERRORS_RETURN);
        CHECK_RC(MPI_Barrier(inter), "MPI_Barrier on an intercommunicator");
        CHECK_RC(MPI_Ibarrier(inter, &q), "MPI_Ibarrier on an intercommunicator");
        CHECK_RC(MPI_Wait(&q, MPI_STATUS_IGNORE), "MPI_Wait on an intercommunicator Ibarrier");
        /* MPI_Comm_idup works on intercommunicators. */
        MPI_Comm dup;
        CHECK_RC(MPI_Comm_idup(inter, &dup, &q), "MPI_Comm_idup of an intercommunicator");
        CHECK_RC(MPI_Wait(&q, MPI_STATUS_IGNORE), "MPI_Wait");
        int flag = 0, rsize = 0, rr = -1;
        MPI_Comm_test_inter(dup, &flag);
        MPI_Comm_remote_size(dup, &rsize);
        CHECK(flag && rsize == (r % 2 ? (n + 1) / 2 : n / 2), "idup of an intercommunicator: inter %d remote size %d", flag, rsize);
        /* Leaders swap ranks over the duplicate. */
        int lr;
        MPI_Comm_rank(dup, &lr);
        if (lr == 0) MPI_Sendrecv(&r, 1, MPI_INT, 0, 3, &rr, 1, MPI_INT, 0, 3, dup, MPI_STATUS_IGNORE);
        if (lr == 0) CHECK(rr == (r % 2 ? 0 : 1), "message over the idup intercommunicator: %d", rr);
        MPI_Comm_free(&dup);
        MPI_Comm_free(&inter);
        MPI_Comm_free(&half);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    return finish_test("coll_ops");
}
