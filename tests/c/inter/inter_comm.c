// ranks: 2 3 4 5
/* Communicator creation on an intercommunicator (MPI-3.1 §6.4.2; even world ranks = group A,
 * odd = group B): MPI_Comm_split (colors on both sides, keys reversing the order, MPI_UNDEFINED,
 * a color found on one side only), MPI_Comm_create (a subgroup on one side, the full group on
 * the other; an empty group on one side gives MPI_COMM_NULL everywhere) and
 * MPI_Comm_split_type(MPI_COMM_TYPE_SHARED). Each result is checked for being an
 * intercommunicator with the expected local and remote groups (in order, through
 * MPI_Group_translate_ranks to MPI_COMM_WORLD), then used: an allreduce, a bcast from a root
 * in each group, an ibarrier and a dup. */
#include "common.h"

/* Checks that `c` is an intercommunicator whose local group is `want_local` and remote group
 * `want_remote` (world ranks, in order), then runs collectives on it. */
static void check_inter(MPI_Comm c, const int *want_local, int nl, const int *want_remote, int nr,
                        const char *what) {
    int flag = 0, n = 0, rn = 0, me = -1;
    MPI_Comm_test_inter(c, &flag);
    CHECK(flag, "%s: not an intercommunicator", what);
    if (!flag) return;
    MPI_Comm_size(c, &n);
    MPI_Comm_remote_size(c, &rn);
    MPI_Comm_rank(c, &me);
    CHECK(n == nl && rn == nr, "%s: sizes %d/%d, want %d/%d", what, n, rn, nl, nr);
    if (n != nl || rn != nr) return;
    CHECK(me >= 0 && me < n && want_local[me] == rank_, "%s: rank %d", what, me);
    MPI_Group world, g;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    int idx[5], out[5];
    for (int i = 0; i < 5; i++) idx[i] = i;
    MPI_Comm_group(c, &g);
    MPI_Group_translate_ranks(g, nl, idx, world, out);
    for (int i = 0; i < nl; i++) CHECK(out[i] == want_local[i], "%s: local %d is %d, want %d", what, i, out[i], want_local[i]);
    MPI_Group_free(&g);
    MPI_Comm_remote_group(c, &g);
    MPI_Group_translate_ranks(g, nr, idx, world, out);
    for (int i = 0; i < nr; i++) CHECK(out[i] == want_remote[i], "%s: remote %d is %d, want %d", what, i, out[i], want_remote[i]);
    MPI_Group_free(&g);
    MPI_Group_free(&world);

    /* Allreduce: the sum of the remote group's world ranks. */
    int sum = 0, want = 0;
    for (int i = 0; i < nr; i++) want += want_remote[i];
    int rc = MPI_Allreduce(&rank_, &sum, 1, MPI_INT, MPI_SUM, c);
    CHECK_RC(rc, "MPI_Allreduce");
    CHECK(sum == want, "%s: allreduce %d, want %d", what, sum, want);
    /* Bcast from the last rank of group A, then of group B. */
    for (int g2 = 1; g2 >= 0; g2--) {
        int nroot = in_a == g2 ? nl : nr;
        const int *roots = in_a == g2 ? want_local : want_remote;
        int root = in_a == g2 ? (me == nroot - 1 ? MPI_ROOT : MPI_PROC_NULL) : nroot - 1;
        int v = root == MPI_ROOT ? 4242 + rank_ : -1;
        rc = MPI_Bcast(&v, 1, MPI_INT, root, c);
        CHECK_RC(rc, "MPI_Bcast");
        int wantv = root == MPI_PROC_NULL ? -1 : 4242 + roots[nroot - 1];
        CHECK(v == wantv, "%s: bcast g=%d: %d, want %d", what, g2, v, wantv);
    }
    MPI_Request req;
    rc = MPI_Ibarrier(c, &req);
    CHECK_RC(rc, "MPI_Ibarrier");
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    MPI_Comm d;
    rc = MPI_Comm_dup(c, &d);
    CHECK_RC(rc, "MPI_Comm_dup");
    sum = 0;
    MPI_Allreduce(&rank_, &sum, 1, MPI_INT, MPI_SUM, d);
    CHECK(sum == want, "%s: allreduce on the dup %d, want %d", what, sum, want);
    MPI_Comm_free(&d);
}

/* World ranks of the members of group a (1 = A) with lrank % 2 == color, ordered by
 * decreasing local rank (key = -lrank). */
static int members(int a, int color, int *out) {
    int n = 0;
    for (int r = group_size(a) - 1; r >= 0; r--)
        if (r % 2 == color) out[n++] = world_of(a, r);
    return n;
}

static void test_split(void) {
    TRACE("split");
    /* color = local rank % 2 on both sides, key reversing the order. */
    int color = lrank % 2;
    MPI_Comm c;
    int rc = MPI_Comm_split(inter_, color, -lrank, &c);
    CHECK_RC(rc, "MPI_Comm_split");
    int loc[5], rem[5];
    int nl = members(in_a, color, loc), nr = members(!in_a, color, rem);
    if (nr == 0) {
        CHECK(c == MPI_COMM_NULL, "split: color %d has no remote members but got a communicator", color);
    } else {
        CHECK(c != MPI_COMM_NULL, "split: got MPI_COMM_NULL");
        if (c != MPI_COMM_NULL) check_inter(c, loc, nl, rem, nr, "split");
    }
    if (c != MPI_COMM_NULL) MPI_Comm_free(&c);

    /* MPI_UNDEFINED at the last local rank of group A (when it has two members or more; MPICH
     * 4.0 mishandles the intercommunicator when the old leader, local rank 0, is left out);
     * color 0 elsewhere. */
    int undef = in_a && lsize > 1 && lrank == lsize - 1;
    rc = MPI_Comm_split(inter_, undef ? MPI_UNDEFINED : 0, lrank, &c);
    CHECK_RC(rc, "MPI_Comm_split (undefined)");
    int na = 0, nb = 0, la[5], lb[5];
    for (int r = 0; r < group_size(1) - (group_size(1) > 1); r++) la[na++] = world_of(1, r);
    for (int r = 0; r < group_size(0); r++) lb[nb++] = world_of(0, r);
    if (undef) {
        CHECK(c == MPI_COMM_NULL, "split (undefined): got a communicator");
    } else {
        CHECK(c != MPI_COMM_NULL, "split (undefined): got MPI_COMM_NULL");
        if (c != MPI_COMM_NULL) {
            if (in_a) check_inter(c, la, na, lb, nb, "split (undefined)");
            else check_inter(c, lb, nb, la, na, "split (undefined)");
        }
    }
    if (c != MPI_COMM_NULL) MPI_Comm_free(&c);

    /* Disjoint colors on the two sides: MPI_COMM_NULL everywhere. */
    rc = MPI_Comm_split(inter_, in_a ? 5 : 6, 0, &c);
    CHECK_RC(rc, "MPI_Comm_split (disjoint colors)");
    CHECK(c == MPI_COMM_NULL, "split (disjoint colors): got a communicator");
    if (c != MPI_COMM_NULL) MPI_Comm_free(&c);
}

static void test_create(void) {
    TRACE("create");
    /* Group A without its last member (when it has two or more; see test_split for why not
     * its first), in reverse order; all of group B. */
    MPI_Group lg, sub;
    MPI_Comm_group(inter_, &lg);
    int order[5], n = 0;
    for (int r = lsize - 1 - (in_a && lsize > 1); r >= 0; r--) order[n++] = r;
    MPI_Group_incl(lg, n, order, &sub);
    MPI_Comm c;
    int rc = MPI_Comm_create(inter_, sub, &c);
    CHECK_RC(rc, "MPI_Comm_create");
    int la[5], lb[5], na = 0, nb = 0;
    for (int r = group_size(1) - 1 - (group_size(1) > 1); r >= 0; r--) la[na++] = world_of(1, r);
    for (int r = group_size(0) - 1; r >= 0; r--) lb[nb++] = world_of(0, r);
    int excluded = in_a && lsize > 1 && lrank == lsize - 1;
    if (excluded) {
        CHECK(c == MPI_COMM_NULL, "create: excluded process got a communicator");
    } else {
        CHECK(c != MPI_COMM_NULL, "create: got MPI_COMM_NULL");
        if (c != MPI_COMM_NULL) {
            if (in_a) check_inter(c, la, na, lb, nb, "create");
            else check_inter(c, lb, nb, la, na, "create");
        }
    }
    if (c != MPI_COMM_NULL) MPI_Comm_free(&c);
    MPI_Group_free(&sub);

    /* Group B passes MPI_GROUP_EMPTY: nobody gets a communicator. */
    rc = MPI_Comm_create(inter_, in_a ? lg : MPI_GROUP_EMPTY, &c);
    CHECK_RC(rc, "MPI_Comm_create (empty)");
    CHECK(c == MPI_COMM_NULL, "create (one side empty): got a communicator");
    if (c != MPI_COMM_NULL) MPI_Comm_free(&c);
    MPI_Group_free(&lg);
}

static void test_split_type(void) {
    TRACE("split_type");
    /* Every process shares this node: the same two groups, each in reverse order. */
    MPI_Comm c;
    int rc = MPI_Comm_split_type(inter_, MPI_COMM_TYPE_SHARED, -lrank, MPI_INFO_NULL, &c);
    CHECK_RC(rc, "MPI_Comm_split_type");
    CHECK(c != MPI_COMM_NULL, "split_type: got MPI_COMM_NULL");
    int loc[5], rem[5], nl = 0, nr = 0;
    for (int r = lsize - 1; r >= 0; r--) loc[nl++] = world_of(in_a, r);
    for (int r = rsize - 1; r >= 0; r--) rem[nr++] = world_of(!in_a, r);
    if (c != MPI_COMM_NULL) {
        check_inter(c, loc, nl, rem, nr, "split_type");
        MPI_Comm_free(&c);
    }
    rc = MPI_Comm_split_type(inter_, MPI_UNDEFINED, 0, MPI_INFO_NULL, &c);
    CHECK_RC(rc, "MPI_Comm_split_type (undefined)");
    CHECK(c == MPI_COMM_NULL, "split_type (undefined): got a communicator");
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    test_split();
    test_create();
    test_split_type();
    MPI_Barrier(inter_);
    return finish_test("inter_comm");
}
