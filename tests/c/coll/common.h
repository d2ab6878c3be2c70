/* Shared helpers of the collective tests: value checks that count failures, the final
 * verdict ("<name>: OK" from rank 0 only when no rank saw a failure, non-zero exit otherwise),
 * and COLL(), which runs a collective either blocking (MPI_Bcast) or, when the file is built
 * with -DNONBLOCKING, as its nonblocking form started and completed at once (MPI_Ibcast +
 * MPI_Wait). The same checks then cover both families. */
#ifndef COLL_COMMON_H
#define COLL_COMMON_H
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
            if (errs < 20) {                                                       \
                fprintf(stderr, "rank %d: %s:%d: check failed: ", rank_, __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__);                                      \
                fprintf(stderr, "\n");                                             \
            }                                                                      \
            errs++;                                                                \
        }                                                                          \
    } while (0)

#define CHECK_RC(rc, what) CHECK((rc) == MPI_SUCCESS, "%s returned %d", what, rc)

#ifdef NONBLOCKING
#define COLL(Name, name, ...)                                                      \
    do {                                                                           \
        MPI_Request r_ = MPI_REQUEST_NULL;                                         \
        int rc_ = MPI_I##name(__VA_ARGS__, &r_);                                   \
        CHECK_RC(rc_, "MPI_I" #name);                                              \
        rc_ = MPI_Wait(&r_, MPI_STATUS_IGNORE);                                    \
        CHECK_RC(rc_, "MPI_Wait after MPI_I" #name);                               \
        CHECK(r_ == MPI_REQUEST_NULL, "request not freed by MPI_Wait");            \
    } while (0)
#else
#define COLL(Name, name, ...)                                                      \
    do {                                                                           \
        int rc_ = MPI_##Name(__VA_ARGS__);                                         \
        CHECK_RC(rc_, "MPI_" #Name);                                               \
    } while (0)
#endif

/* COLL_TRACE=1 in the environment: each rank names the section it enters (for hangs). */
#define TRACE(what)                                                                \
    do {                                                                           \
        if (getenv("COLL_TRACE")) { fprintf(stderr, "rank %d: %s\n", rank_, what); fflush(stderr); } \
    } while (0)

static void start_test(int *argc, char ***argv) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

/* Sums every rank's failure count at rank 0 (point-to-point, so that a broken collective
 * cannot hide its own failure), prints the verdict, finalizes, returns the exit code. */
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
