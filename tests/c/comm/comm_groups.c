/* ranks: 1 2 3 4
 * Communicators and groups (MPI-3.1 §6.3–6.6): compare, dup (with info), split, split_type,
 * create, create_group, free, names, info hints, intercommunicators (create, remote size and
 * group, merge), and every MPI_Group_* call with MPI_GROUP_EMPTY and error classes for
 * invalid arguments. Traffic on each new communicator checks that it really works. Any size. */
#include "common.h"

/* A ring exchange on `comm`: each rank sends its rank to the next and checks the previous. */
static void check_ring(MPI_Comm comm, const char *what) {
    int r, n;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &n);
    int got = -1;
    int rc = MPI_Sendrecv(&r, 1, MPI_INT, (r + 1) % n, 5, &got, 1, MPI_INT, (r + n - 1) % n, 5, comm, MPI_STATUS_IGNORE);
    CHECK_RC(rc, what);
    CHECK(got == (r + n - 1) % n, "%s: ring got %d, expected %d", what, got, (r + n - 1) % n);
}

static void test_compare_dup(void) {
    int res;
    MPI_Comm_compare(MPI_COMM_WORLD, MPI_COMM_WORLD, &res);
    CHECK(res == MPI_IDENT, "compare(world, world) = %d", res);
    MPI_Comm d = MPI_COMM_NULL;
    CHECK_RC(MPI_Comm_dup(MPI_COMM_WORLD, &d), "MPI_Comm_dup");
    CHECK(d != MPI_COMM_NULL && d != MPI_COMM_WORLD, "dup handle %x", (unsigned)d);
    MPI_Comm_compare(MPI_COMM_WORLD, d, &res);
    CHECK(res == MPI_CONGRUENT, "compare(world, dup) = %d", res);
    int r, n;
    MPI_Comm_rank(d, &r);
    MPI_Comm_size(d, &n);
    CHECK(r == rank_ && n == size_, "dup rank %d size %d", r, n);
    check_ring(d, "ring on dup");
    char name[MPI_MAX_OBJECT_NAME];
    int len = -1;
    MPI_Comm_get_name(d, name, &len);
    CHECK(len == 0 && name[0] == 0, "dup name '%s' (%d)", name, len);
    MPI_Comm_get_name(MPI_COMM_WORLD, name, &len);
    CHECK(strcmp(name, "MPI_COMM_WORLD") == 0 && len == 14, "world name '%s'", name);
    MPI_Comm_get_name(MPI_COMM_SELF, name, &len);
    CHECK(strcmp(name, "MPI_COMM_SELF") == 0, "self name '%s'", name);
    MPI_Comm_set_name(d, "my duplicate");
    MPI_Comm_get_name(d, name, &len);
    CHECK(strcmp(name, "my duplicate") == 0 && len == 12, "set name '%s' (%d)", name, len);
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    MPI_Comm_set_name(d, longname);
    MPI_Comm_get_name(d, name, &len);
    CHECK(len == MPI_MAX_OBJECT_NAME - 1 && strlen(name) == MPI_MAX_OBJECT_NAME - 1, "long name length %d", len);

    /* Info hints: an implementation may drop hints it does not use (MPICH does), so a hint
     * read back must have the value set, and dup_with_info must not carry the old ones. */
    MPI_Info info, got;
    MPI_Info_create(&info);
    MPI_Info_set(info, "test_hint_a", "true");
    CHECK_RC(MPI_Comm_set_info(d, info), "MPI_Comm_set_info");
    CHECK_RC(MPI_Comm_get_info(d, &got), "MPI_Comm_get_info");
    char v[64];
    int flag = 0;
    MPI_Info_get(got, "test_hint_a", 63, v, &flag);
    CHECK(!flag || strcmp(v, "true") == 0, "comm info hint '%s'", v);
    MPI_Info_free(&got);
    MPI_Comm d2;
    MPI_Comm_dup(d, &d2);
    MPI_Comm_get_info(d2, &got);
    flag = 0;
    MPI_Info_get(got, "test_hint_a", 63, v, &flag);
    CHECK(!flag || strcmp(v, "true") == 0, "dup info hint '%s'", v);
    MPI_Info_free(&got);
    MPI_Comm_free(&d2);
    MPI_Info_set(info, "test_hint_b", "true");
    MPI_Info_delete(info, "test_hint_a");
    CHECK_RC(MPI_Comm_dup_with_info(d, info, &d2), "MPI_Comm_dup_with_info");
    MPI_Comm_get_info(d2, &got);
    flag = 1;
    MPI_Info_get(got, "test_hint_a", 63, v, &flag);
    CHECK(!flag, "dup_with_info kept the old hint");
    MPI_Info_get(got, "test_hint_b", 63, v, &flag);
    CHECK(!flag || strcmp(v, "true") == 0, "dup_with_info hint '%s'", v);
    MPI_Info_free(&got);
    MPI_Comm_compare(d, d2, &res);
    CHECK(res == MPI_CONGRUENT, "compare(dup, dup_with_info) = %d", res);
    check_ring(d2, "ring on dup_with_info");
    MPI_Info_free(&info);
    MPI_Comm_free(&d2);
    CHECK_RC(MPI_Comm_free(&d), "MPI_Comm_free");
    CHECK(d == MPI_COMM_NULL, "free left %x", (unsigned)d);

    int inter = -1;
    MPI_Comm_test_inter(MPI_COMM_WORLD, &inter);
    CHECK(inter == 0, "world test_inter %d", inter);
}

static void test_split(void) {
    /* Reverse order: similar to world (same members, other order) unless there is one rank. */
    MPI_Comm rev;
    CHECK_RC(MPI_Comm_split(MPI_COMM_WORLD, 7, size_ - rank_, &rev), "split reverse");
    int r, n, res;
    MPI_Comm_rank(rev, &r);
    MPI_Comm_size(rev, &n);
    CHECK(r == size_ - 1 - rank_ && n == size_, "reverse split rank %d size %d", r, n);
    MPI_Comm_compare(MPI_COMM_WORLD, rev, &res);
    CHECK(res == (size_ == 1 ? MPI_CONGRUENT : MPI_SIMILAR), "compare(world, reverse) = %d", res);
    check_ring(rev, "ring on reverse split");
    MPI_Comm_free(&rev);

    /* Parity; rank 0 opts out with MPI_UNDEFINED. */
    MPI_Comm par;
    int color = rank_ == 0 ? MPI_UNDEFINED : rank_ % 2;
    CHECK_RC(MPI_Comm_split(MPI_COMM_WORLD, color, rank_, &par), "split parity");
    if (rank_ == 0) {
        CHECK(par == MPI_COMM_NULL, "MPI_UNDEFINED color got %x", (unsigned)par);
    } else {
        int expect = 0;
        for (int i = 1; i < size_; i++) if (i % 2 == rank_ % 2) expect++;
        MPI_Comm_size(par, &n);
        MPI_Comm_rank(par, &r);
        CHECK(n == expect, "parity size %d expected %d", n, expect);
        CHECK(r == (rank_ - 1) / 2, "parity rank %d", r);
        if (size_ > 2) {
            MPI_Comm_compare(MPI_COMM_WORLD, par, &res);
            CHECK(res == MPI_UNEQUAL, "compare(world, parity) = %d", res);
        }
        check_ring(par, "ring on parity split");
        MPI_Comm_free(&par);
    }

    MPI_Comm shared;
    CHECK_RC(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, -rank_, MPI_INFO_NULL, &shared), "split_type shared");
    MPI_Comm_size(shared, &n);
    MPI_Comm_rank(shared, &r);
    int evens_here = 0;
    {
        /* The members on this node (all of them on one node), by key: descending world rank. */
        int *world = malloc((size_t)n * sizeof(int));
        MPI_Allgather(&rank_, 1, MPI_INT, world, 1, MPI_INT, shared);
        int descending = 1, above = 0;
        for (int i = 1; i < n; i++) if (world[i] >= world[i - 1]) descending = 0;
        for (int i = 0; i < n; i++) {
            if (world[i] > rank_) above++;
            if (world[i] % 2 == 0) evens_here++;
        }
        CHECK(n >= 1 && n <= size_ && descending && world[r] == rank_ && r == above,
              "shared split size %d rank %d", n, r);
        int total = 0;
        MPI_Allreduce(&n, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        CHECK(total >= size_, "shared split sizes add up to %d", total);
        free(world);
    }
    check_ring(shared, "ring on shared split");
    MPI_Comm_free(&shared);
    /* Odd ranks pass MPI_UNDEFINED and get MPI_COMM_NULL; the others a communicator of evens. */
    int type = rank_ % 2 ? MPI_UNDEFINED : MPI_COMM_TYPE_SHARED;
    CHECK_RC(MPI_Comm_split_type(MPI_COMM_WORLD, type, rank_, MPI_INFO_NULL, &shared), "split_type undefined");
    if (rank_ % 2) {
        CHECK(shared == MPI_COMM_NULL, "split_type MPI_UNDEFINED got %x", (unsigned)shared);
    } else {
        MPI_Comm_size(shared, &n);
        CHECK(n == evens_here, "even shared size %d, expected %d", n, evens_here);
        MPI_Comm_free(&shared);
    }
}

static void test_create(void) {
    MPI_Group world, evens;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    int ranges[1][3] = {{0, size_ - 1, 2}};
    MPI_Group_range_incl(world, 1, ranges, &evens);
    MPI_Comm c;
    CHECK_RC(MPI_Comm_create(MPI_COMM_WORLD, evens, &c), "MPI_Comm_create");
    if (rank_ % 2) {
        CHECK(c == MPI_COMM_NULL, "non-member got %x", (unsigned)c);
    } else {
        int r, n;
        MPI_Comm_rank(c, &r);
        MPI_Comm_size(c, &n);
        CHECK(r == rank_ / 2 && n == (size_ + 1) / 2, "create rank %d size %d", r, n);
        check_ring(c, "ring on create");
        MPI_Group g;
        int res;
        MPI_Comm_group(c, &g);
        MPI_Group_compare(g, evens, &res);
        CHECK(res == MPI_IDENT, "group of created comm compares %d", res);
        MPI_Group_free(&g);
        MPI_Comm_free(&c);
        /* Only the members call create_group. */
        CHECK_RC(MPI_Comm_create_group(MPI_COMM_WORLD, evens, 17, &c), "MPI_Comm_create_group");
        MPI_Comm_rank(c, &r);
        CHECK(r == rank_ / 2, "create_group rank %d", r);
        check_ring(c, "ring on create_group");
        MPI_Comm_free(&c);
    }
    MPI_Group_free(&evens);
    MPI_Group_free(&world);
}

static void test_intercomm(void) {
    if (size_ < 2) return;
    MPI_Comm half, inter, merged;
    int color = rank_ % 2;
    MPI_Comm_split(MPI_COMM_WORLD, color, rank_, &half);
    /* Leaders: world ranks 0 (evens) and 1 (odds). */
    CHECK_RC(MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, color ? 0 : 1, 33, &inter), "MPI_Intercomm_create");
    int flag = 0, rsize = -1, lsize = -1;
    MPI_Comm_test_inter(inter, &flag);
    CHECK(flag == 1, "test_inter %d", flag);
    int evens = (size_ + 1) / 2, odds = size_ / 2;
    MPI_Comm_size(inter, &lsize);
    MPI_Comm_remote_size(inter, &rsize);
    CHECK(lsize == (color ? odds : evens) && rsize == (color ? evens : odds), "local %d remote %d", lsize, rsize);
    MPI_Group rg;
    CHECK_RC(MPI_Comm_remote_group(inter, &rg), "MPI_Comm_remote_group");
    int gs;
    MPI_Group_size(rg, &gs);
    CHECK(gs == rsize, "remote group size %d", gs);
    MPI_Group_free(&rg);
    /* Point-to-point across: local rank i talks to remote rank i where both exist. */
    int lr;
    MPI_Comm_rank(inter, &lr);
    if (lr < odds) {
        int out = rank_, in = -1;
        MPI_Sendrecv(&out, 1, MPI_INT, lr, 3, &in, 1, MPI_INT, lr, 3, inter, MPI_STATUS_IGNORE);
        CHECK(in == (color ? 2 * lr : 2 * lr + 1), "intercomm partner sent %d", in);
    }
    /* Odds pass high: evens first, then odds. */
    CHECK_RC(MPI_Intercomm_merge(inter, color, &merged), "MPI_Intercomm_merge");
    int mr, ms;
    MPI_Comm_rank(merged, &mr);
    MPI_Comm_size(merged, &ms);
    CHECK(ms == size_, "merged size %d", ms);
    CHECK(mr == (color ? evens + rank_ / 2 : rank_ / 2), "merged rank %d", mr);
    MPI_Comm_test_inter(merged, &flag);
    CHECK(flag == 0, "merged test_inter %d", flag);
    check_ring(merged, "ring on merged");
    MPI_Comm dupinter;
    CHECK_RC(MPI_Comm_dup(inter, &dupinter), "dup of intercomm");
    MPI_Comm_remote_size(dupinter, &rsize);
    CHECK(rsize == (color ? evens : odds), "dup intercomm remote size %d", rsize);
    MPI_Comm_free(&dupinter);
    MPI_Comm_free(&merged);
    MPI_Comm_free(&inter);
    MPI_Comm_free(&half);
}

static void test_groups(void) {
    MPI_Group world, g, h, u;
    int n, r, res;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    MPI_Group_size(world, &n);
    MPI_Group_rank(world, &r);
    CHECK(n == size_ && r == rank_, "world group size %d rank %d", n, r);

    /* incl in reverse order; translate back. */
    int ranks[64], out[64];
    for (int i = 0; i < size_; i++) ranks[i] = size_ - 1 - i;
    MPI_Group_incl(world, size_, ranks, &g);
    MPI_Group_rank(g, &r);
    CHECK(r == size_ - 1 - rank_, "reverse incl rank %d", r);
    MPI_Group_compare(world, g, &res);
    CHECK(res == (size_ == 1 ? MPI_IDENT : MPI_SIMILAR), "compare(world, reverse) %d", res);
    for (int i = 0; i < size_; i++) ranks[i] = i;
    ranks[size_] = MPI_PROC_NULL;
    MPI_Group_translate_ranks(world, size_ + 1, ranks, g, out);
    for (int i = 0; i < size_; i++) CHECK(out[i] == size_ - 1 - i, "translate %d -> %d", i, out[i]);
    CHECK(out[size_] == MPI_PROC_NULL, "translate MPI_PROC_NULL -> %d", out[size_]);
    MPI_Group_free(&g);
    CHECK(g == MPI_GROUP_NULL, "free left %x", (unsigned)g);

    /* excl rank 0; translate 0 gives MPI_UNDEFINED. */
    int zero = 0;
    MPI_Group_excl(world, 1, &zero, &g);
    MPI_Group_size(g, &n);
    MPI_Group_rank(g, &r);
    CHECK(n == size_ - 1, "excl size %d", n);
    CHECK(r == (rank_ == 0 ? MPI_UNDEFINED : rank_ - 1), "excl rank %d", r);
    MPI_Group_translate_ranks(world, 1, &zero, g, out);
    CHECK(out[0] == MPI_UNDEFINED, "translate excluded -> %d", out[0]);
    if (size_ == 1) CHECK(g == MPI_GROUP_EMPTY, "empty excl result is not MPI_GROUP_EMPTY");

    /* Set operations: union(excl0, {0}) is world reordered; intersection and difference. */
    MPI_Group_incl(world, 1, &zero, &h);
    MPI_Group_union(g, h, &u);
    MPI_Group_size(u, &n);
    CHECK(n == size_, "union size %d", n);
    MPI_Group_compare(u, world, &res);
    CHECK(res == (size_ <= 1 ? MPI_IDENT : MPI_SIMILAR), "compare(union, world) %d", res);
    MPI_Group_rank(u, &r);
    CHECK(r == (rank_ == 0 ? size_ - 1 : rank_ - 1), "union rank %d", r);
    MPI_Group_free(&u);
    MPI_Group_intersection(g, h, &u);
    CHECK(u == MPI_GROUP_EMPTY, "disjoint intersection is %x", (unsigned)u);
    MPI_Group_free(&u);
    MPI_Group_difference(world, g, &u);
    MPI_Group_compare(u, h, &res);
    CHECK(res == MPI_IDENT, "difference compare %d", res);
    MPI_Group_free(&u);
    MPI_Group_difference(world, world, &u);
    CHECK(u == MPI_GROUP_EMPTY, "world - world is %x", (unsigned)u);
    MPI_Group_size(u, &n);
    CHECK(n == 0, "empty size %d", n);
    MPI_Group_rank(MPI_GROUP_EMPTY, &r);
    CHECK(r == MPI_UNDEFINED, "rank in empty %d", r);
    MPI_Group_free(&u);
    MPI_Group_compare(h, world, &res);
    CHECK(res == (size_ == 1 ? MPI_IDENT : MPI_UNEQUAL), "compare({0}, world) %d", res);
    MPI_Group_free(&g);
    MPI_Group_free(&h);

    /* Ranges: every third rank from the top down, and its complement. */
    int tri[1][3] = {{size_ - 1, 0, -3}};
    MPI_Group_range_incl(world, 1, tri, &g);
    MPI_Group_range_excl(world, 1, tri, &h);
    int gn, hn;
    MPI_Group_size(g, &gn);
    MPI_Group_size(h, &hn);
    CHECK(gn == (size_ + 2) / 3 && gn + hn == size_, "range sizes %d %d", gn, hn);
    MPI_Group_rank(g, &r);
    if ((size_ - 1 - rank_) % 3 == 0) CHECK(r == (size_ - 1 - rank_) / 3, "range_incl rank %d", r);
    else CHECK(r == MPI_UNDEFINED, "range_incl non-member rank %d", r);
    MPI_Group_union(g, h, &u);
    MPI_Group_size(u, &n);
    CHECK(n == size_, "range union size %d", n);
    MPI_Group_free(&u);
    MPI_Group_free(&g);
    MPI_Group_free(&h);
    MPI_Group_incl(world, 0, NULL, &g);
    CHECK(g == MPI_GROUP_EMPTY, "incl of nothing is %x", (unsigned)g);
    MPI_Group_free(&g);

    /* Errors, reported under MPI_ERRORS_RETURN. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int bad = size_;
    CHECK_CLASS(MPI_Group_incl(world, 1, &bad, &g), MPI_ERR_RANK, "incl out of range");
    CHECK_CLASS(MPI_Group_size(MPI_GROUP_NULL, &n), MPI_ERR_GROUP, "size of MPI_GROUP_NULL");
    CHECK_CLASS(MPI_Group_translate_ranks(world, 1, &bad, world, out), MPI_ERR_RANK, "translate out of range");
    g = MPI_GROUP_NULL;
    CHECK_CLASS(MPI_Group_free(&g), MPI_ERR_GROUP, "free MPI_GROUP_NULL");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Group_free(&world);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    test_compare_dup();
    test_split();
    test_create();
    test_intercomm();
    test_groups();
    return finish_test("comm_groups");
}
