/* What a spawned process gets: its arguments verbatim, each command's own info keys of an
 * MPI_Comm_spawn_multiple, the "path" key, and a spawn from a spawned process (grandchildren).
 * ranks: 1 2
 *
 *   1. MPI_Comm_spawn with arguments a launcher could mistake for its own syntax (":", "-n",
 *      "--", "", "two words", "-env"): the child must see exactly these (argv of MPI-3.1
 *      §10.3.2 is passed to the program, never interpreted).
 *   2. MPI_Comm_spawn_multiple where only command 0 has an info (a wdir and an "env" with
 *      two variables): command 1 (MPI_INFO_NULL) must start in the parent's working directory
 *      (the standard's default for a command without "wdir"), without command 0's variables.
 *   3. "path": the command given as a bare file name, found through the info's directories.
 *   4. a child spawns a grandchild (MPI_COMM_SELF), which answers through both generations.
 * Every child reports its findings and failure count to the parent, which checks them; only
 * rank 0 of the top-level job prints "spawn_info: OK". */
#include "../comm/common.h"
#include <unistd.h>
#include <limits.h>

static char self_path[PATH_MAX], start_dir[PATH_MAX];

static void find_self(const char *argv0) {
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n > 0) { self_path[n] = 0; return; }
    if (!realpath(argv0, self_path)) snprintf(self_path, sizeof self_path, "%s", argv0);
}

static const char *tricky[] = { "args", ":", "-n", "--", "", "two words", "-env", ":", NULL };
#define NTRICKY 8

/* ---------------------------------------------------------------- children */

/* Phase 1: compare argv with `tricky`. */
static void child_args(MPI_Comm parent, int argc, char **argv) {
    CHECK(argc == NTRICKY + 1, "phase 1: argc %d, expected %d", argc, NTRICKY + 1);
    for (int i = 0; i < NTRICKY && i + 1 < argc; i++)
        CHECK(strcmp(argv[i + 1], tricky[i]) == 0, "phase 1: argv[%d] = '%s', expected '%s'", i + 1, argv[i + 1], tricky[i]);
    MPI_Send(&errs, 1, MPI_INT, 0, 10, parent);
}

/* Phase 2: report MPI_APPNUM, the variables (0 unset, 1 expected value, 2 other), the
 * working directory (1: /tmp, 2: the parent's, 0: something else). */
static void child_info(MPI_Comm parent) {
    int r[5];
    int *app = NULL, flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &app, &flag);
    r[0] = flag && app ? *app : -1;
    const char *x = getenv("FERRY_DYN_INFO_X"), *y = getenv("FERRY_DYN_INFO_Y");
    r[1] = !x ? 0 : strcmp(x, "x0") == 0 ? 1 : 2;
    r[2] = !y ? 0 : strcmp(y, "y 0") == 0 ? 1 : 2;
    char cwd[PATH_MAX] = "";
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    char dirs[2][PATH_MAX]; /* command 0's wdir, the parent's working directory */
    MPI_Recv(dirs, 2 * PATH_MAX, MPI_CHAR, 0, 19, parent, MPI_STATUS_IGNORE);
    r[3] = strcmp(cwd, dirs[0]) == 0 ? 1 : strcmp(cwd, dirs[1]) == 0 ? 2 : 0;
    if (!r[3]) fprintf(stderr, "phase 2 child %d: cwd '%s'\n", rank_, cwd);
    r[4] = errs;
    MPI_Send(r, 5, MPI_INT, 0, 20, parent);
}

/* Phase 3: started through "path". */
static void child_path(MPI_Comm parent, int argc, char **argv) {
    CHECK(argc == 3 && strcmp(argv[2], "p") == 0, "phase 3: argc %d", argc);
    MPI_Send(&errs, 1, MPI_INT, 0, 10, parent);
}

/* Phase 4: spawn a grandchild, relay a value through it. */
static void child_spawner(MPI_Comm parent) {
    int v = -1;
    MPI_Recv(&v, 1, MPI_INT, 0, 40, parent, MPI_STATUS_IGNORE);
    MPI_Comm gc = MPI_COMM_NULL;
    char *args[] = { "grandchild", NULL };
    int code = -7;
    int rc = MPI_Comm_spawn(self_path, args, 1, MPI_INFO_NULL, 0, MPI_COMM_SELF, &gc, &code);
    CHECK_RC(rc, "MPI_Comm_spawn from a spawned process");
    int w[2] = { -1, -1 };
    if (rc == MPI_SUCCESS && gc != MPI_COMM_NULL) {
        CHECK(code == MPI_SUCCESS, "grandchild errcode %d", code);
        MPI_Send(&v, 1, MPI_INT, 0, 41, gc);
        MPI_Recv(w, 2, MPI_INT, 0, 42, gc, MPI_STATUS_IGNORE);
        MPI_Comm_disconnect(&gc);
    }
    int reply[3] = { w[0], w[1], errs };
    MPI_Send(reply, 3, MPI_INT, 0, 43, parent);
}

static void grandchild(MPI_Comm parent) {
    int v = -1, psize = -1;
    MPI_Comm_remote_size(parent, &psize);
    CHECK(psize == 1 && size_ == 1, "grandchild: remote size %d, world size %d", psize, size_);
    MPI_Recv(&v, 1, MPI_INT, 0, 41, parent, MPI_STATUS_IGNORE);
    int w[2] = { v + 1000, errs };
    MPI_Send(w, 2, MPI_INT, 0, 42, parent);
}

/* ---------------------------------------------------------------- parent */

static MPI_Comm spawn1(const char *cmd, char **args, MPI_Info info, MPI_Comm comm, const char *what) {
    MPI_Comm ic = MPI_COMM_NULL;
    int code = -7;
    int rc = MPI_Comm_spawn(cmd, args, 1, info, 0, comm, &ic, &code);
    CHECK_RC(rc, what);
    if (rc != MPI_SUCCESS) return MPI_COMM_NULL;
    CHECK(code == MPI_SUCCESS, "%s: errcode %d", what, code);
    return ic;
}

static void parent_args(void) {
    MPI_Comm ic = spawn1(self_path, (char **)tricky, MPI_INFO_NULL, MPI_COMM_WORLD, "MPI_Comm_spawn with tricky arguments");
    if (ic == MPI_COMM_NULL) return;
    if (rank_ == 0) {
        int e = -1;
        CHECK_RC(MPI_Recv(&e, 1, MPI_INT, 0, 10, ic, MPI_STATUS_IGNORE), "phase 1 MPI_Recv");
        CHECK(e == 0, "phase 1 child had %d failed checks", e);
    }
    MPI_Comm_disconnect(&ic);
}

static void parent_info(void) {
    char *cmds[2] = { self_path, self_path };
    char *argv0[] = { "info", NULL };
    char **argvs[2] = { argv0, argv0 };
    int maxprocs[2] = { 1, 1 };
    MPI_Info infos[2];
    MPI_Info_create(&infos[0]);
    /* Command 0's wdir: a directory that is not the parent's. */
    char dirs[2][PATH_MAX];
    snprintf(dirs[0], PATH_MAX, "%s", strcmp(start_dir, "/tmp") == 0 ? "/" : "/tmp");
    snprintf(dirs[1], PATH_MAX, "%s", start_dir);
    MPI_Info_set(infos[0], "wdir", dirs[0]);
    MPI_Info_set(infos[0], "env", "FERRY_DYN_INFO_X=x0\nFERRY_DYN_INFO_Y=y 0");
    infos[1] = MPI_INFO_NULL;
    int codes[2] = { -7, -7 };
    MPI_Comm ic = MPI_COMM_NULL;
    int rc = MPI_Comm_spawn_multiple(2, cmds, argvs, maxprocs, infos, 0, MPI_COMM_WORLD, &ic, codes);
    MPI_Info_free(&infos[0]);
    CHECK_RC(rc, "MPI_Comm_spawn_multiple with one info");
    if (rc != MPI_SUCCESS || ic == MPI_COMM_NULL) return;
    CHECK(codes[0] == MPI_SUCCESS && codes[1] == MPI_SUCCESS, "errcodes %d %d", codes[0], codes[1]);
    if (rank_ == 0) {
        for (int c = 0; c < 2; c++) MPI_Send(dirs, 2 * PATH_MAX, MPI_CHAR, c, 19, ic);
        int env_honoured = is_ferry();
        for (int c = 0; c < 2; c++) {
            int r[5];
            CHECK_RC(MPI_Recv(r, 5, MPI_INT, c, 20, ic, MPI_STATUS_IGNORE), "phase 2 MPI_Recv");
            CHECK(r[0] == c, "phase 2 child %d: MPI_APPNUM %d", c, r[0]);
            if (env_honoured) {
                CHECK(r[1] == (c == 0) && r[2] == (c == 0),
                      "phase 2 child %d: FERRY_DYN_INFO_X state %d, _Y state %d (0 unset, 1 right, 2 wrong; expected %d)",
                      c, r[1], r[2], c == 0);
            }
            CHECK(r[3] == (c == 0 ? 1 : 2), "phase 2 child %d: working directory %s, expected %s", c,
                  r[3] == 1 ? "command 0's wdir" : r[3] == 2 ? "the parent's" : "neither command 0's wdir nor the parent's",
                  c == 0 ? "its info's wdir" : "the parent's (it has no wdir)");
            CHECK(r[4] == 0, "phase 2 child %d had %d failed checks", c, r[4]);
        }
    }
    MPI_Comm_disconnect(&ic);
}

static void parent_path(void) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", self_path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return;
    *slash = 0;
    char paths[PATH_MAX + 32];
    snprintf(paths, sizeof paths, "/nonexistent/bin:%s", dir);
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "path", paths);
    char *args[] = { "path", "p", NULL };
    MPI_Comm ic = spawn1(slash + 1, args, info, MPI_COMM_WORLD, "MPI_Comm_spawn with a \"path\" info");
    MPI_Info_free(&info);
    if (ic == MPI_COMM_NULL) return;
    if (rank_ == 0) {
        int e = -1;
        CHECK_RC(MPI_Recv(&e, 1, MPI_INT, 0, 10, ic, MPI_STATUS_IGNORE), "phase 3 MPI_Recv");
        CHECK(e == 0, "phase 3 child had %d failed checks", e);
    }
    MPI_Comm_disconnect(&ic);
}

static void parent_nested(void) {
    char *args[] = { "spawner", NULL };
    MPI_Comm ic = spawn1(self_path, args, MPI_INFO_NULL, MPI_COMM_WORLD, "MPI_Comm_spawn of a spawner");
    if (ic == MPI_COMM_NULL) return;
    if (rank_ == 0) {
        int v = 77, reply[3] = { -1, -1, -1 };
        MPI_Send(&v, 1, MPI_INT, 0, 40, ic);
        CHECK_RC(MPI_Recv(reply, 3, MPI_INT, 0, 43, ic, MPI_STATUS_IGNORE), "phase 4 MPI_Recv");
        CHECK(reply[0] == 1077, "phase 4: the grandchild's answer %d, expected 1077", reply[0]);
        CHECK(reply[1] == 0 && reply[2] == 0, "phase 4: failed checks: grandchild %d, child %d", reply[1], reply[2]);
    }
    MPI_Comm_disconnect(&ic);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    find_self(argv[0]);
    MPI_Comm parent = MPI_COMM_NULL;
    MPI_Comm_get_parent(&parent);
    if (parent != MPI_COMM_NULL) {
        const char *phase = argc >= 2 ? argv[1] : "";
        if (strcmp(phase, "args") == 0) child_args(parent, argc, argv);
        else if (strcmp(phase, "info") == 0) child_info(parent);
        else if (strcmp(phase, "path") == 0) child_path(parent, argc, argv);
        else if (strcmp(phase, "spawner") == 0) child_spawner(parent);
        else if (strcmp(phase, "grandchild") == 0) grandchild(parent);
        else { fprintf(stderr, "spawn_info: child with phase '%s'\n", phase); MPI_Abort(MPI_COMM_WORLD, 2); }
        if (errs) fprintf(stderr, "spawn_info child (%s) rank %d: %d failed checks\n", phase, rank_, errs);
        MPI_Comm_disconnect(&parent);
        MPI_Finalize();
        return errs != 0;
    }
    if (!getcwd(start_dir, sizeof start_dir)) start_dir[0] = 0;
    /* A spawn that fails is a failed check (the next phases still run), not an abort. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    parent_args();
    parent_info();
    /* "path" is a reserved key that an implementation may ignore (Open MPI 4.1 does). */
    if (is_ferry()) parent_path();
    parent_nested();
    return finish_test("spawn_info");
}
