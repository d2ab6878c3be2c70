/* Shared by the one-sided (RMA) C tests: value checks that count failures, and the end of a
 * test, where every rank sends its failure count to rank 0 with plain point-to-point (so a
 * broken window call cannot hide its own failure). Rank 0 prints "<name>: OK" only if every
 * check on every rank passed; any failure makes the process exit non-zero. An alarm bounds
 * the run time, so a hang (a lock never granted, a post never seen) fails instead of blocking. */
#ifndef RMA_COMMON_H
#define RMA_COMMON_H
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;
static int rank_ = -1, size_ = 0;

#define CHECK(cond) do { if (!(cond)) { if (failures++ < 20) \
    fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", rank_, __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a != _b) { if (failures++ < 20) \
    fprintf(stderr, "rank %d: %s:%d: %s == %lld, expected %s == %lld\n", rank_, __FILE__, __LINE__, #a, _a, #b, _b); } } while (0)
#define CHECK_RC(rc) CHECK_EQ((rc), MPI_SUCCESS)
/* The error class of a return code (0 stays 0). */
static inline int error_class(int rc) { int c = rc; if (rc != MPI_SUCCESS) MPI_Error_class(rc, &c); return c; }
#define CHECK_CLASS(rc, cls) CHECK_EQ(error_class(rc), (cls))

static void test_begin(int *argc, char ***argv, int seconds) {
    alarm(seconds);
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

/* Collects the failure counts on rank 0, prints the verdict, finalizes; returns the exit code. */
static int test_end(const char *name) {
    int total = failures;
    if (rank_ == 0) {
        for (int r = 1; r < size_; r++) {
            int f = 0;
            MPI_Recv(&f, 1, MPI_INT, r, 99999, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            total += f;
        }
        if (total == 0) printf("%s: OK\n", name);
        else printf("%s: FAILED (%d failed checks)\n", name, total);
        fflush(stdout);
    } else {
        MPI_Send(&failures, 1, MPI_INT, 0, 99999, MPI_COMM_WORLD);
    }
    MPI_Finalize();
    return failures != 0 || (rank_ == 0 && total != 0);
}
#endif
