/* Shared by the point-to-point C tests: value checks that count failures, and the end of a
   test, where every rank reports its failure count to rank 0 with plain point-to-point (so
   the tests depend on nothing but what they test). Rank 0 prints "<name>: OK" only if every
   check on every rank passed; any failure makes the process exit non-zero. An alarm bounds
   the run time, so a hang fails instead of blocking the suite. */
#ifndef P2P_CHECK_H
#define P2P_CHECK_H
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;
static int my_rank = -1;

#define CHECK(cond) do { if (!(cond)) { failures++; \
    fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", my_rank, __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a != _b) { failures++; \
    fprintf(stderr, "rank %d: %s:%d: %s == %lld, expected %s == %lld\n", my_rank, __FILE__, __LINE__, #a, _a, #b, _b); } } while (0)
/* With P2P_TRACE set, each stage is announced on stderr (to find where a run hangs). */
#define STAGE(name) do { if (getenv("P2P_TRACE")) fprintf(stderr, "rank %d: %s\n", my_rank, name); } while (0)
/* The error class of a return code (0 stays 0). */
static int error_class(int rc) { int c = rc; if (rc != MPI_SUCCESS) MPI_Error_class(rc, &c); return c; }
#define CHECK_CLASS(rc, cls) CHECK_EQ(error_class(rc), (cls))

static void test_begin(int *argc, char ***argv, int seconds) {
    alarm(seconds);
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
}

/* Collects the failure counts on rank 0, prints the verdict, finalizes; returns the exit code. */
static int test_end(const char *name) {
    int size, total = failures;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (my_rank == 0) {
        for (int r = 1; r < size; r++) {
            int f = 0;
            MPI_Recv(&f, 1, MPI_INT, r, 99999, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            total += f;
        }
        if (total == 0) printf("%s: OK\n", name);
        else printf("%s: FAILED (%d checks)\n", name, total);
        fflush(stdout);
    } else {
        MPI_Send(&failures, 1, MPI_INT, 0, 99999, MPI_COMM_WORLD);
    }
    MPI_Finalize();
    return (my_rank == 0 ? total : failures) != 0;
}
#endif
