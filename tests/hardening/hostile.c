/* The programs of the hardening tests (Tests/FerryCTests/HardeningTests.swift): one binary,
 * one behaviour per first argument. Built with Debian's mpicc.mpich and run on Ferry (the
 * drop-in case). Every error is returned (MPI_ERRORS_RETURN) and printed, so the tests can
 * read what the library said. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void say_error(const char *what, int rc) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    printf("%s: error %d: %s\n", what, rc, text);
    fflush(stdout);
}

static void write_file(const char *path, const char *text) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    fputs(text, f);
    fclose(f);
    rename(tmp, path);
}

static void wait_file(const char *path) {
    while (access(path, F_OK) != 0) usleep(10000);
}

static void read_file(const char *path, char *out, int size) {
    wait_file(path);
    FILE *f = fopen(path, "r");
    if (!fgets(out, size, f)) out[0] = 0;
    fclose(f);
    out[strcspn(out, "\n")] = 0;
}

/* The pid into <dir>/<role>.pid, then wait for <dir>/go. */
static void announce_and_wait(const char *dir, const char *role) {
    char path[4096], text[64];
    snprintf(path, sizeof path, "%s/%s.pid", dir, role);
    snprintf(text, sizeof text, "%d\n", (int)getpid());
    write_file(path, text);
    snprintf(path, sizeof path, "%s/go", dir);
    wait_file(path);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "hello";
    if (!strcmp(mode, "ignore-init")) {
        MPI_Init(&argc, &argv);  /* return value ignored, as many programs do */
        printf("bogus OK result\n");
        return 0;
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    int rank, size, rc;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    char path[4096];

    if (!strcmp(mode, "hello")) {
        printf("hello from rank %d of %d\n", rank, size);
    } else if (!strcmp(mode, "accept") || !strcmp(mode, "connect")) {
        /* argv[2]: a directory; argv[3] (optional): "wait" to announce the pid and wait for go */
        const char *dir = argv[2];
        if (argc > 3 && !strcmp(argv[3], "wait")) announce_and_wait(dir, mode);
        char port[MPI_MAX_PORT_NAME];
        MPI_Comm inter;
        snprintf(path, sizeof path, "%s/port", dir);
        if (!strcmp(mode, "accept")) {
            rc = MPI_Open_port(MPI_INFO_NULL, port);
            if (rc) { say_error("MPI_Open_port", rc); return 1; }
            write_file(path, port);
            rc = MPI_Comm_accept(port, MPI_INFO_NULL, 0, MPI_COMM_SELF, &inter);
            if (rc) { say_error("MPI_Comm_accept", rc); return 1; }
            int value = 0;
            MPI_Recv(&value, 1, MPI_INT, 0, 7, inter, MPI_STATUS_IGNORE);
            printf("accepted value %d\n", value);
        } else {
            read_file(path, port, sizeof port);
            rc = MPI_Comm_connect(port, MPI_INFO_NULL, 0, MPI_COMM_SELF, &inter);
            if (rc) { say_error("MPI_Comm_connect", rc); return 1; }
            int value = 4242;
            MPI_Send(&value, 1, MPI_INT, 0, 7, inter);
            printf("connected and sent %d\n", value);
        }
        MPI_Comm_disconnect(&inter);
    } else if (!strcmp(mode, "publish")) {
        /* argv[2]: service, argv[3]: port text; argv[4] (optional): a directory to announce and wait in */
        if (argc > 4) announce_and_wait(argv[4], "publish");
        rc = MPI_Publish_name(argv[2], MPI_INFO_NULL, argv[3]);
        if (rc) say_error("MPI_Publish_name", rc); else printf("published\n");
        char found[MPI_MAX_PORT_NAME];
        rc = MPI_Lookup_name(argv[2], MPI_INFO_NULL, found);
        if (rc) say_error("MPI_Lookup_name", rc); else printf("looked up '%s'\n", found);
    } else if (!strcmp(mode, "block")) {
        /* argv[2]: pid file prefix; every rank blocks in MPI_Recv for a message never sent */
        char text[64];
        snprintf(path, sizeof path, "%s.%d", argv[2], rank);
        snprintf(text, sizeof text, "%d\n", (int)getpid());
        write_file(path, text);
        int x;
        MPI_Recv(&x, 1, MPI_INT, (rank + 1) % size, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (!strcmp(mode, "crash-one")) {
        /* argv[2]: pid file prefix; rank 0 blocks in MPI_Recv, the last rank aborts (SIGABRT) */
        char text[64];
        snprintf(path, sizeof path, "%s.%d", argv[2], rank);
        snprintf(text, sizeof text, "%d\n", (int)getpid());
        write_file(path, text);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == size - 1) { usleep(200000); abort(); }
        int x;
        MPI_Recv(&x, 1, MPI_INT, size - 1, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (!strcmp(mode, "sigquit")) {
        raise(SIGQUIT);
        printf("survived SIGQUIT\n");
    } else if (!strcmp(mode, "abort")) {
        MPI_Abort(MPI_COMM_WORLD, 3);
    } else if (!strcmp(mode, "flood")) {
        /* Writes megabytes of output fast (for readers that stop reading). */
        static char line[1024];
        memset(line, 'x', sizeof line - 2);
        line[sizeof line - 2] = '\n';
        for (int i = 0; i < 1000000; i++) fputs(line, stdout);
    }
    fflush(stdout);
    MPI_Finalize();
    return 0;
}
