/* Failing MPI_Comm_spawn / MPI_Comm_spawn_multiple calls (MPI_ERRORS_RETURN on MPI_COMM_WORLD
 * and MPI_COMM_SELF), then a good spawn: the runtime is not wedged by the failures.
 * ranks: 1 2
 *
 *   - a command that does not exist: MPI_ERR_SPAWN at every rank, MPI_COMM_NULL;
 *   - maxprocs 0 at the root (the other ranks pass 1: only the root's arguments count):
 *     MPI_ERR_SPAWN at every rank (Ferry; the standard leaves it to the implementation);
 *   - MPI_Comm_spawn_multiple whose second command does not exist: MPI_ERR_SPAWN;
 *   - an info "wdir" that does not exist: MPI_ERR_SPAWN (Ferry);
 *   - a failing spawn from MPI_COMM_SELF at the last rank only (the others are not involved);
 *   - then MPI_Comm_spawn (root: the last rank) of 2 copies of this program, which exchange
 *     values with the parents and send back their failure count; child 0 publishes a name and
 *     ends without unpublishing it: once it is gone, the name counts as unpublished
 *     (MPI_ERR_NAME) and the parent may publish it (Ferry's name service). */
#include "../comm/common.h"
#include <unistd.h>
#include <limits.h>

static char self_path[PATH_MAX];

static void find_self(const char *argv0) {
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n > 0) { self_path[n] = 0; return; }
    if (!realpath(argv0, self_path)) snprintf(self_path, sizeof self_path, "%s", argv0);
}

/* A spawn expected to fail with MPI_ERR_SPAWN: the class, and no intercommunicator. */
static void expect_spawn_error(int rc, MPI_Comm ic, const char *what) {
    CHECK_CLASS(rc, MPI_ERR_SPAWN, what);
    CHECK(ic == MPI_COMM_NULL, "%s: the intercommunicator is not MPI_COMM_NULL", what);
}

static int argc_;
static char **argv_;

static void child(MPI_Comm parent) {
    int psize = -1, inter = 0;
    MPI_Comm_test_inter(parent, &inter);
    MPI_Comm_remote_size(parent, &psize);
    CHECK(inter && size_ == 2 && psize >= 1, "child: inter %d, world size %d, parents %d", inter, size_, psize);
    int v = -1;
    CHECK_RC(MPI_Recv(&v, 1, MPI_INT, 0, 5, parent, MPI_STATUS_IGNORE), "child MPI_Recv");
    CHECK(v == 300 + rank_, "child %d got %d", rank_, v);
    /* Child 0 leaves a published name behind (Ferry only: the record of a dead process). */
    if (rank_ == 0 && is_ferry()) {
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        CHECK(argc_ == 3, "child: argc %d", argc_);
        if (argc_ == 3) CHECK_RC(MPI_Publish_name(argv_[2], MPI_INFO_NULL, "ferry-port:left-behind"), "child MPI_Publish_name");
    }
    int reply[2] = { v * 2, errs };
    MPI_Send(reply, 2, MPI_INT, 0, 6, parent);
    MPI_Comm_disconnect(&parent);
}

/* After the children are gone, their name counts as unpublished and can be published again. */
static void check_dead_publisher(const char *service) {
    char port[MPI_MAX_PORT_NAME];
    int rc = MPI_SUCCESS;
    /* The children end after disconnecting: bounded wait (10 s) for the record to go stale. */
    for (int i = 0; i < 1000; i++) {
        rc = MPI_Lookup_name(service, MPI_INFO_NULL, port);
        if (rc != MPI_SUCCESS) break;
        CHECK(strcmp(port, "ferry-port:left-behind") == 0, "lookup of the child's name gave '%s'", port);
        usleep(10000);
    }
    CHECK_CLASS(rc, MPI_ERR_NAME, "MPI_Lookup_name of a name published by a process that ended");
    CHECK_RC(MPI_Publish_name(service, MPI_INFO_NULL, "ferry-port:parent"), "MPI_Publish_name over a dead process's record");
    memset(port, 0, sizeof port);
    CHECK_RC(MPI_Lookup_name(service, MPI_INFO_NULL, port), "MPI_Lookup_name of the republished name");
    CHECK(strcmp(port, "ferry-port:parent") == 0, "lookup of the republished name gave '%s'", port);
    CHECK_RC(MPI_Unpublish_name(service, MPI_INFO_NULL, "ferry-port:parent"), "MPI_Unpublish_name");
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    argc_ = argc;
    argv_ = argv;
    MPI_Comm parent = MPI_COMM_NULL;
    MPI_Comm_get_parent(&parent);
    if (parent != MPI_COMM_NULL) {
        child(parent);
        if (errs) fprintf(stderr, "spawn_errors child %d: %d failed checks\n", rank_, errs);
        MPI_Finalize();
        return errs != 0;
    }
    find_self(argv[0]);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    int codes[4];
    MPI_Comm ic;

    /* A program that does not exist. */
    ic = MPI_COMM_WORLD;
    int rc = MPI_Comm_spawn("/nonexistent/program", MPI_ARGV_NULL, 2, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic, codes);
    expect_spawn_error(rc, ic, "MPI_Comm_spawn of /nonexistent/program");

    /* maxprocs 0 at the root; the others' maxprocs is not significant. */
    if (is_ferry()) {
        ic = MPI_COMM_WORLD;
        rc = MPI_Comm_spawn(self_path, MPI_ARGV_NULL, rank_ == 0 ? 0 : 1, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic, codes);
        expect_spawn_error(rc, ic, "MPI_Comm_spawn with maxprocs 0 at the root");
    }

    /* The second command of a spawn_multiple does not exist: nothing is started. */
    {
        char *cmds[2] = { self_path, "/nonexistent/program" };
        int maxprocs[2] = { 1, 1 };
        MPI_Info infos[2] = { MPI_INFO_NULL, MPI_INFO_NULL };
        ic = MPI_COMM_WORLD;
        rc = MPI_Comm_spawn_multiple(2, cmds, MPI_ARGVS_NULL, maxprocs, infos, 0, MPI_COMM_WORLD, &ic, codes);
        expect_spawn_error(rc, ic, "MPI_Comm_spawn_multiple with a missing second command");
    }

    /* A working directory that does not exist. */
    if (is_ferry()) {
        MPI_Info info;
        MPI_Info_create(&info);
        MPI_Info_set(info, "wdir", "/nonexistent/directory");
        ic = MPI_COMM_WORLD;
        rc = MPI_Comm_spawn(self_path, MPI_ARGV_NULL, 1, info, 0, MPI_COMM_WORLD, &ic, codes);
        expect_spawn_error(rc, ic, "MPI_Comm_spawn with a missing wdir");
        MPI_Info_free(&info);
    }

    /* From MPI_COMM_SELF at the last rank only. */
    if (rank_ == size_ - 1) {
        ic = MPI_COMM_WORLD;
        rc = MPI_Comm_spawn("/nonexistent/program", MPI_ARGV_NULL, 1, MPI_INFO_NULL, 0, MPI_COMM_SELF, &ic, codes);
        expect_spawn_error(rc, ic, "MPI_Comm_spawn from MPI_COMM_SELF of /nonexistent/program");
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* A good spawn still works. */
    for (int i = 0; i < 4; i++) codes[i] = -7;
    ic = MPI_COMM_NULL;
    char service[64];
    int pid0 = (int)getpid();
    MPI_Bcast(&pid0, 1, MPI_INT, 0, MPI_COMM_WORLD);
    snprintf(service, sizeof service, "ferry-test-spawn-errors-%d", pid0);
    char *args[] = { "child", service, NULL };
    rc = MPI_Comm_spawn(self_path, args, 2, MPI_INFO_NULL, size_ - 1, MPI_COMM_WORLD, &ic, codes);
    CHECK_RC(rc, "MPI_Comm_spawn after the failures");
    if (rc == MPI_SUCCESS && ic != MPI_COMM_NULL) {
        for (int i = 0; i < 2; i++) CHECK(codes[i] == MPI_SUCCESS, "errcodes[%d] = %d", i, codes[i]);
        int rsize = -1;
        MPI_Comm_remote_size(ic, &rsize);
        CHECK(rsize == 2, "remote size %d, expected 2", rsize);
        if (rank_ == 0 && rsize == 2) {
            for (int c = 0; c < 2; c++) {
                int v = 300 + c;
                CHECK_RC(MPI_Send(&v, 1, MPI_INT, c, 5, ic), "MPI_Send to a child");
            }
            for (int c = 0; c < 2; c++) {
                int reply[2] = { -1, -1 };
                CHECK_RC(MPI_Recv(reply, 2, MPI_INT, c, 6, ic, MPI_STATUS_IGNORE), "MPI_Recv from a child");
                CHECK(reply[0] == 2 * (300 + c), "child %d replied %d", c, reply[0]);
                CHECK(reply[1] == 0, "child %d had %d failed checks", c, reply[1]);
            }
        }
        MPI_Comm_disconnect(&ic);
        if (rank_ == 0 && is_ferry()) check_dead_publisher(service);
    }
    return finish_test("spawn_errors");
}
