/* Shared helpers of the communicator tests: value checks that count failures and the final
 * verdict ("<name>: OK" from rank 0 only when no rank saw a failure, non-zero exit otherwise).
 * Every test sets MPI_ERRORS_RETURN on MPI_COMM_WORLD where it provokes errors, never before. */
#ifndef COMM_COMMON_H
#define COMM_COMMON_H
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int errs = 0;
static int rank_, size_;

#define CHECK(cond, ...)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            if (errs < 30) {                                                       \
                fprintf(stderr, "rank %d: %s:%d: check failed: ", rank_, __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__);                                      \
                fprintf(stderr, "\n");                                             \
            }                                                                      \
            errs++;                                                                \
        }                                                                          \
    } while (0)

#define CHECK_RC(rc, what) CHECK((rc) == MPI_SUCCESS, "%s returned %d", what, rc)

/* The error class of a return code (0 for success). */
static int class_of(int rc) {
    int c = -1;
    if (rc == MPI_SUCCESS) return 0;
    MPI_Error_class(rc, &c);
    return c;
}

#define CHECK_CLASS(rc, cls, what) CHECK(class_of(rc) == (cls), "%s: class %d, expected %d", what, class_of(rc), cls)

/* Whether the library is Ferry: checks of erroneous calls that the standard leaves to the
 * implementation (MPICH accepts some of them) run on Ferry only. */
static inline int is_ferry(void) {
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len;
    MPI_Get_library_version(v, &len);
    return strncmp(v, "Ferry", 5) == 0;
}

static void start_test(int *argc, char ***argv) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

/* Sums every rank's failure count at rank 0 (point-to-point), prints the verdict, finalizes. */
static int finish_test(const char *name) {
    int total = errs;
    if (rank_ == 0) {
        for (int i = 1; i < size_; i++) {
            int e = 0;
            MPI_Recv(&e, 1, MPI_INT, i, 999, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            total += e;
        }
        if (total == 0) printf("%s: OK\n", name);
        else printf("%s: FAILED (%d failed checks)\n", name, total);
        fflush(stdout);
    } else {
        MPI_Send(&errs, 1, MPI_INT, 0, 999, MPI_COMM_WORLD);
    }
    MPI_Finalize();
    return errs != 0 || (rank_ == 0 && total != 0);
}

#endif
