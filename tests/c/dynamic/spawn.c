/* MPI_Comm_spawn / MPI_Comm_spawn_multiple: the program spawns itself (the children know they
 * are children by MPI_Comm_get_parent and by their first argument, which names the phase).
 * ranks: 1 2 3
 *
 *   phase 1: MPI_Comm_spawn of 3 children from MPI_COMM_WORLD (root 0): point-to-point both
 *            ways over the intercommunicator, intercommunicator MPI_Bcast (MPI_ROOT) in both
 *            directions, MPI_Intercomm_merge (children high) + MPI_Allreduce, 4 MiB messages
 *            both ways (rendezvous path), the children's MPI_APPNUM, and MPI_Comm_get_parent
 *            returning MPI_COMM_NULL after the children disconnect it (reported back over a
 *            duplicate of the intercommunicator, disconnected last).
 *   phase 2: every parent rank spawns 1 child from MPI_COMM_SELF at the same time; the child
 *            checks its argument (the parent's rank) against a value the parent sends.
 *   phase 3: MPI_Comm_spawn_multiple of 2 commands (1 and 2 processes), each with its own
 *            arguments and an info with "env" (a different variable each) and "wdir" = /tmp;
 *            every child reports its MPI_APPNUM, argument, variables and working directory,
 *            and the parent checks them all.
 * A child never prints the verdict: it sends its failure count to the parent, which counts
 * it; only rank 0 of the top-level job prints "spawn: OK". */
#include "../comm/common.h"
#include <unistd.h>
#include <limits.h>

#define BIG_INTS (1 << 20) /* 4 MiB of ints */
#define NCHILD1 3
#define TAG_ERRS 900

static char self_path[PATH_MAX];

/* The absolute path of this executable (the children run in /tmp in phase 3). */
static void find_self(const char *argv0) {
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n > 0) { self_path[n] = 0; return; }
    if (!realpath(argv0, self_path)) snprintf(self_path, sizeof self_path, "%s", argv0);
}

static int big_value(int which, int i) { return which * 1000003 + i * 7 + (i >> 12); }

/* MPI_APPNUM of this process, or -1 if the attribute is not set. */
static int appnum(void) {
    int *v = NULL, flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &v, &flag);
    return flag && v ? *v : -1;
}

/* ---------------------------------------------------------------- children */

static void child_phase1(MPI_Comm parent) {
    int psize = -1, lsize = -1, crank = -1, inter = 0;
    MPI_Comm_test_inter(parent, &inter);
    MPI_Comm_remote_size(parent, &psize);
    MPI_Comm_size(parent, &lsize);
    MPI_Comm_rank(parent, &crank);
    CHECK(inter, "the parent communicator is not an intercommunicator");
    CHECK(lsize == NCHILD1 && size_ == NCHILD1, "children: local size %d, world size %d (expected %d)", lsize, size_, NCHILD1);
    CHECK(crank == rank_, "rank in the parent communicator %d, world rank %d", crank, rank_);
    CHECK(psize >= 1 && psize <= 16, "parent group size %d", psize);
    if (psize < 1 || psize > 16) psize = 1;
    CHECK(appnum() == 0, "MPI_APPNUM %d, expected 0", appnum());

    /* Point-to-point: a value from every parent, then one back to every parent. */
    for (int p = 0; p < psize; p++) {
        int v = -1;
        MPI_Status st;
        int rc = MPI_Recv(&v, 1, MPI_INT, p, 11, parent, &st);
        CHECK_RC(rc, "MPI_Recv from a parent");
        CHECK(v == 1000 * p + rank_, "from parent %d got %d, expected %d", p, v, 1000 * p + rank_);
        CHECK(st.MPI_SOURCE == p && st.MPI_TAG == 11, "status source %d tag %d", st.MPI_SOURCE, st.MPI_TAG);
    }
    for (int p = 0; p < psize; p++) {
        int v = 5000 + 100 * rank_ + p;
        CHECK_RC(MPI_Send(&v, 1, MPI_INT, p, 12, parent), "MPI_Send to a parent");
    }

    /* Intercommunicator broadcasts: parent 0 → children, then child 1 → parents. */
    int b[8];
    for (int i = 0; i < 8; i++) b[i] = -1;
    CHECK_RC(MPI_Bcast(b, 8, MPI_INT, 0, parent), "MPI_Bcast (children receive)");
    for (int i = 0; i < 8; i++) CHECK(b[i] == 31 * i + 5, "bcast b[%d] = %d", i, b[i]);
    for (int i = 0; i < 8; i++) b[i] = rank_ == 1 ? 17 * i - 3 : -99;
    CHECK_RC(MPI_Bcast(b, 8, MPI_INT, rank_ == 1 ? MPI_ROOT : MPI_PROC_NULL, parent), "MPI_Bcast (child 1 is root)");

    /* Merge with the children high: the parents first, then the children. */
    MPI_Comm merged;
    CHECK_RC(MPI_Intercomm_merge(parent, 1, &merged), "MPI_Intercomm_merge");
    int mrank = -1, msize = -1;
    MPI_Comm_rank(merged, &mrank);
    MPI_Comm_size(merged, &msize);
    CHECK(msize == psize + NCHILD1, "merged size %d", msize);
    CHECK(mrank == psize + rank_, "merged rank %d, expected %d", mrank, psize + rank_);
    int sum = -1;
    CHECK_RC(MPI_Allreduce(&mrank, &sum, 1, MPI_INT, MPI_SUM, merged), "MPI_Allreduce on the merged comm");
    CHECK(sum == msize * (msize - 1) / 2, "sum of merged ranks %d, expected %d", sum, msize * (msize - 1) / 2);
    MPI_Comm_free(&merged);

    /* 4 MiB: child 0 → the last parent, parent 0 → the last child. */
    int *big = malloc(sizeof(int) * BIG_INTS);
    if (rank_ == 0) {
        for (int i = 0; i < BIG_INTS; i++) big[i] = big_value(1, i);
        CHECK_RC(MPI_Send(big, BIG_INTS, MPI_INT, psize - 1, 13, parent), "MPI_Send of 4 MiB to the parent");
    }
    if (rank_ == NCHILD1 - 1) {
        memset(big, 0, sizeof(int) * BIG_INTS);
        MPI_Status st;
        CHECK_RC(MPI_Recv(big, BIG_INTS, MPI_INT, 0, 14, parent, &st), "MPI_Recv of 4 MiB from the parent");
        int count = -1, bad = 0;
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == BIG_INTS, "4 MiB message: count %d", count);
        for (int i = 0; i < BIG_INTS; i++) if (big[i] != big_value(2, i)) { if (!bad) CHECK(0, "4 MiB from the parent: [%d] = %d", i, big[i]); bad++; }
    }
    free(big);

    /* Disconnect the parent communicator (keeping a duplicate to report on). */
    MPI_Comm report, check = MPI_COMM_NULL;
    CHECK_RC(MPI_Comm_dup(parent, &report), "MPI_Comm_dup of the parent communicator");
    CHECK_RC(MPI_Comm_disconnect(&parent), "MPI_Comm_disconnect");
    CHECK(parent == MPI_COMM_NULL, "the handle is not MPI_COMM_NULL after MPI_Comm_disconnect");
    MPI_Comm_get_parent(&check);
    CHECK(check == MPI_COMM_NULL, "MPI_Comm_get_parent is not MPI_COMM_NULL after MPI_Comm_disconnect");
    CHECK_RC(MPI_Send(&errs, 1, MPI_INT, 0, TAG_ERRS, report), "sending the failure count");
    MPI_Comm_disconnect(&report);
}

static void child_phase2(MPI_Comm parent, int argc, char **argv) {
    int psize = -1, inter = 0;
    MPI_Comm_test_inter(parent, &inter);
    MPI_Comm_remote_size(parent, &psize);
    CHECK(inter && psize == 1 && size_ == 1, "phase 2: inter %d, remote size %d, world size %d", inter, psize, size_);
    CHECK(argc == 3, "phase 2: argc %d", argc);
    int expect = argc >= 3 ? atoi(argv[2]) : -1;
    int v = -1;
    CHECK_RC(MPI_Recv(&v, 1, MPI_INT, 0, 21, parent, MPI_STATUS_IGNORE), "phase 2 MPI_Recv");
    CHECK(v == 7 * expect + 1, "phase 2: argument %d, received %d", expect, v);
    int reply[2] = { v + 1, errs };
    MPI_Send(reply, 2, MPI_INT, 0, 22, parent);
    MPI_Comm_disconnect(&parent);
}

static void child_phase3(MPI_Comm parent, int argc, char **argv) {
    int psize = -1;
    MPI_Comm_remote_size(parent, &psize);
    CHECK(psize >= 1 && size_ == 3, "phase 3: remote size %d, world size %d", psize, size_);
    /* The report: world rank, appnum, argument letter, A, B (0 unset, 1 right value, 2 other),
     * cwd is /tmp, failure count. */
    int r[7];
    r[0] = rank_;
    r[1] = appnum();
    r[2] = argc >= 3 ? argv[2][0] : '?';
    const char *a = getenv("FERRY_DYN_TEST_A"), *b = getenv("FERRY_DYN_TEST_B");
    r[3] = !a ? 0 : strcmp(a, "alpha one") == 0 ? 1 : 2;
    r[4] = !b ? 0 : strcmp(b, "beta=two") == 0 ? 1 : 2;
    char cwd[PATH_MAX] = "";
    r[5] = getcwd(cwd, sizeof cwd) && strcmp(cwd, "/tmp") == 0;
    if (!r[5]) fprintf(stderr, "phase 3 child %d: cwd '%s'\n", rank_, cwd);
    r[6] = errs;
    MPI_Send(r, 7, MPI_INT, 0, 31, parent);
    MPI_Comm_disconnect(&parent);
}

/* ---------------------------------------------------------------- parents */

static void parent_phase1(void) {
    MPI_Comm inter = MPI_COMM_NULL;
    int codes[NCHILD1];
    for (int i = 0; i < NCHILD1; i++) codes[i] = -7;
    char *args[] = { "child1", NULL };
    int rc = MPI_Comm_spawn(self_path, args, NCHILD1, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &inter, codes);
    CHECK_RC(rc, "MPI_Comm_spawn");
    if (rc != MPI_SUCCESS || inter == MPI_COMM_NULL) return;
    for (int i = 0; i < NCHILD1; i++) CHECK(codes[i] == MPI_SUCCESS, "errcodes[%d] = %d", i, codes[i]);
    int rsize = -1, lsize = -1, lrank = -1, isinter = 0;
    MPI_Comm_test_inter(inter, &isinter);
    MPI_Comm_remote_size(inter, &rsize);
    MPI_Comm_size(inter, &lsize);
    MPI_Comm_rank(inter, &lrank);
    CHECK(isinter, "the spawn result is not an intercommunicator");
    CHECK(rsize == NCHILD1, "remote size %d, expected %d", rsize, NCHILD1);
    CHECK(lsize == size_ && lrank == rank_, "local size %d rank %d", lsize, lrank);
    if (rsize != NCHILD1) { MPI_Abort(MPI_COMM_WORLD, 3); }

    for (int c = 0; c < NCHILD1; c++) {
        int v = 1000 * rank_ + c;
        CHECK_RC(MPI_Send(&v, 1, MPI_INT, c, 11, inter), "MPI_Send to a child");
    }
    for (int c = 0; c < NCHILD1; c++) {
        int v = -1;
        MPI_Status st;
        CHECK_RC(MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, 12, inter, &st), "MPI_Recv from a child");
        int s = st.MPI_SOURCE;
        CHECK(s >= 0 && s < NCHILD1 && v == 5000 + 100 * s + rank_, "from child %d got %d", s, v);
    }

    int b[8];
    for (int i = 0; i < 8; i++) b[i] = rank_ == 0 ? 31 * i + 5 : -99;
    CHECK_RC(MPI_Bcast(b, 8, MPI_INT, rank_ == 0 ? MPI_ROOT : MPI_PROC_NULL, inter), "MPI_Bcast (parent 0 is root)");
    for (int i = 0; i < 8; i++) b[i] = -1;
    CHECK_RC(MPI_Bcast(b, 8, MPI_INT, 1, inter), "MPI_Bcast (parents receive from child 1)");
    for (int i = 0; i < 8; i++) CHECK(b[i] == 17 * i - 3, "bcast from child 1: b[%d] = %d", i, b[i]);

    MPI_Comm merged;
    CHECK_RC(MPI_Intercomm_merge(inter, 0, &merged), "MPI_Intercomm_merge");
    int mrank = -1, msize = -1, sum = -1;
    MPI_Comm_rank(merged, &mrank);
    MPI_Comm_size(merged, &msize);
    CHECK(msize == size_ + NCHILD1 && mrank == rank_, "merged size %d rank %d", msize, mrank);
    CHECK_RC(MPI_Allreduce(&mrank, &sum, 1, MPI_INT, MPI_SUM, merged), "MPI_Allreduce on the merged comm");
    CHECK(sum == msize * (msize - 1) / 2, "sum of merged ranks %d, expected %d", sum, msize * (msize - 1) / 2);
    MPI_Comm_free(&merged);

    int *big = malloc(sizeof(int) * BIG_INTS);
    MPI_Request req = MPI_REQUEST_NULL;
    if (rank_ == 0) {
        for (int i = 0; i < BIG_INTS; i++) big[i] = big_value(2, i);
        CHECK_RC(MPI_Isend(big, BIG_INTS, MPI_INT, NCHILD1 - 1, 14, inter, &req), "MPI_Isend of 4 MiB to a child");
    }
    if (rank_ == size_ - 1) {
        int *in = malloc(sizeof(int) * BIG_INTS);
        memset(in, 0, sizeof(int) * BIG_INTS);
        MPI_Status st;
        CHECK_RC(MPI_Recv(in, BIG_INTS, MPI_INT, 0, 13, inter, &st), "MPI_Recv of 4 MiB from child 0");
        int count = -1, bad = 0;
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == BIG_INTS && st.MPI_SOURCE == 0, "4 MiB message: count %d source %d", count, st.MPI_SOURCE);
        for (int i = 0; i < BIG_INTS; i++) if (in[i] != big_value(1, i)) { if (!bad) CHECK(0, "4 MiB from child 0: [%d] = %d", i, in[i]); bad++; }
        free(in);
    }
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    free(big);

    MPI_Comm report;
    CHECK_RC(MPI_Comm_dup(inter, &report), "MPI_Comm_dup of the intercommunicator");
    CHECK_RC(MPI_Comm_disconnect(&inter), "MPI_Comm_disconnect");
    CHECK(inter == MPI_COMM_NULL, "the handle is not MPI_COMM_NULL after MPI_Comm_disconnect");
    if (rank_ == 0) {
        for (int c = 0; c < NCHILD1; c++) {
            int e = -1;
            MPI_Status st;
            CHECK_RC(MPI_Recv(&e, 1, MPI_INT, MPI_ANY_SOURCE, TAG_ERRS, report, &st), "receiving a child's failure count");
            CHECK(e == 0, "phase 1 child %d had %d failed checks", st.MPI_SOURCE, e);
        }
    }
    MPI_Comm_disconnect(&report);
}

static void parent_phase2(void) {
    MPI_Comm inter = MPI_COMM_NULL;
    char arg[16];
    snprintf(arg, sizeof arg, "%d", rank_);
    char *args[] = { "child2", arg, NULL };
    int code = -7;
    int rc = MPI_Comm_spawn(self_path, args, 1, MPI_INFO_NULL, 0, MPI_COMM_SELF, &inter, &code);
    CHECK_RC(rc, "MPI_Comm_spawn from MPI_COMM_SELF");
    if (rc != MPI_SUCCESS || inter == MPI_COMM_NULL) return;
    CHECK(code == MPI_SUCCESS, "errcode %d", code);
    int rsize = -1, lsize = -1;
    MPI_Comm_remote_size(inter, &rsize);
    MPI_Comm_size(inter, &lsize);
    CHECK(rsize == 1 && lsize == 1, "phase 2: sizes %d/%d", lsize, rsize);
    int v = 7 * rank_ + 1, reply[2] = { -1, -1 };
    CHECK_RC(MPI_Send(&v, 1, MPI_INT, 0, 21, inter), "phase 2 MPI_Send");
    CHECK_RC(MPI_Recv(reply, 2, MPI_INT, 0, 22, inter, MPI_STATUS_IGNORE), "phase 2 MPI_Recv");
    CHECK(reply[0] == v + 1, "phase 2: reply %d, expected %d", reply[0], v + 1);
    CHECK(reply[1] == 0, "phase 2 child had %d failed checks", reply[1]);
    MPI_Comm_disconnect(&inter);
}

static void parent_phase3(void) {
    char *cmds[2] = { self_path, self_path };
    char *argv0[] = { "child3", "a", NULL }, *argv1[] = { "child3", "b", NULL };
    char **argvs[2] = { argv0, argv1 };
    int maxprocs[2] = { 1, 2 };
    MPI_Info infos[2];
    MPI_Info_create(&infos[0]);
    MPI_Info_create(&infos[1]);
    MPI_Info_set(infos[0], "env", "FERRY_DYN_TEST_A=alpha one");
    MPI_Info_set(infos[1], "env", "FERRY_DYN_TEST_B=beta=two");
    MPI_Info_set(infos[0], "wdir", "/tmp");
    MPI_Info_set(infos[1], "wdir", "/tmp");
    int codes[3] = { -7, -7, -7 };
    MPI_Comm inter = MPI_COMM_NULL;
    int rc = MPI_Comm_spawn_multiple(2, cmds, argvs, maxprocs, infos, 0, MPI_COMM_WORLD, &inter, codes);
    MPI_Info_free(&infos[0]);
    MPI_Info_free(&infos[1]);
    CHECK_RC(rc, "MPI_Comm_spawn_multiple");
    if (rc != MPI_SUCCESS || inter == MPI_COMM_NULL) return;
    for (int i = 0; i < 3; i++) CHECK(codes[i] == MPI_SUCCESS, "spawn_multiple errcodes[%d] = %d", i, codes[i]);
    int rsize = -1;
    MPI_Comm_remote_size(inter, &rsize);
    CHECK(rsize == 3, "spawn_multiple: remote size %d, expected 3", rsize);
    /* "env" is not one of the standard's reserved keys: MPICH's hydra ignores it. */
    int env_honoured = is_ferry();
    if (rank_ == 0) {
        int seen = 0;
        for (int k = 0; k < rsize && k < 3; k++) {
            int r[7];
            MPI_Status st;
            CHECK_RC(MPI_Recv(r, 7, MPI_INT, MPI_ANY_SOURCE, 31, inter, &st), "phase 3 MPI_Recv");
            int c = st.MPI_SOURCE, app = c == 0 ? 0 : 1;
            CHECK(c >= 0 && c < 3 && !(seen & (1 << c)), "phase 3: report from %d", c);
            seen |= 1 << c;
            CHECK(r[0] == c, "phase 3 child %d: world rank %d", c, r[0]);
            CHECK(r[1] == app, "phase 3 child %d: MPI_APPNUM %d, expected %d", c, r[1], app);
            CHECK(r[2] == (app ? 'b' : 'a'), "phase 3 child %d: argument '%c'", c, r[2]);
            if (env_honoured) {
                CHECK(r[3] == (app ? 0 : 1), "phase 3 child %d: FERRY_DYN_TEST_A state %d (0 unset, 1 right, 2 wrong)", c, r[3]);
                CHECK(r[4] == (app ? 1 : 0), "phase 3 child %d: FERRY_DYN_TEST_B state %d (0 unset, 1 right, 2 wrong)", c, r[4]);
            }
            CHECK(r[5] == 1, "phase 3 child %d: working directory is not /tmp", c);
            CHECK(r[6] == 0, "phase 3 child %d had %d failed checks", c, r[6]);
        }
    }
    MPI_Comm_disconnect(&inter);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    MPI_Comm parent = MPI_COMM_NULL;
    MPI_Comm_get_parent(&parent);
    if (parent != MPI_COMM_NULL) {
        /* A child: argv[1] names the phase; the verdict is the parent's. */
        const char *phase = argc >= 2 ? argv[1] : "";
        if (strcmp(phase, "child1") == 0) child_phase1(parent);
        else if (strcmp(phase, "child2") == 0) child_phase2(parent, argc, argv);
        else if (strcmp(phase, "child3") == 0) child_phase3(parent, argc, argv);
        else { fprintf(stderr, "spawned child without a phase argument\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
        if (errs) fprintf(stderr, "spawn child (%s) rank %d: %d failed checks\n", phase, rank_, errs);
        MPI_Finalize();
        return errs != 0;
    }
    CHECK(argc < 2 || strncmp(argv[1], "child", 5) != 0, "started with '%s' but MPI_Comm_get_parent is MPI_COMM_NULL", argv[1]);
    find_self(argv[0]);
    parent_phase1();
    parent_phase2();
    parent_phase3();
    return finish_test("spawn");
}
