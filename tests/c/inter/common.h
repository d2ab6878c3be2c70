/* Shared helpers of the intercommunicator tests: failure-counting checks, the verdict
 * ("<name>: OK" from rank 0 only when no rank saw a failure, non-zero exit otherwise), COLL()
 * (a collective blocking, or with -DNONBLOCKING its nonblocking form followed by MPI_Wait),
 * and the test intercommunicator: MPI_COMM_WORLD split into even ranks (group A) and odd ranks
 * (group B), joined by MPI_Intercomm_create. */
#ifndef INTER_COMMON_H
#define INTER_COMMON_H
#include <mpi.h>
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
    } while (0)
#else
#define COLL(Name, name, ...)                                                      \
    do {                                                                           \
        int rc_ = MPI_##Name(__VA_ARGS__);                                         \
        CHECK_RC(rc_, "MPI_" #Name);                                               \
    } while (0)
#endif

/* INTER_TRACE=1 in the environment: each rank names the section it enters (for hangs). */
#define TRACE(what)                                                                \
    do {                                                                           \
        if (getenv("INTER_TRACE")) { fprintf(stderr, "rank %d: %s\n", rank_, what); fflush(stderr); } \
    } while (0)

/* The test intercommunicator and what each process knows about it. */
static MPI_Comm local_, inter_;
static int in_a;          /* 1 in group A (even world ranks), 0 in group B (odd) */
static int lrank, lsize;  /* rank and size of the local group */
static int rsize;         /* size of the remote group */

/* World rank of rank r of group A (a = 1) or B (a = 0). */
static inline int world_of(int a, int r) { return a ? 2 * r : 2 * r + 1; }
/* World rank of rank r of the remote group. */
static inline int remote_world(int r) { return world_of(!in_a, r); }
static inline int group_size(int a) { return a ? (size_ + 1) / 2 : size_ / 2; }

static void start_test(int *argc, char ***argv) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    if (size_ < 2) {
        if (rank_ == 0) fprintf(stderr, "needs at least 2 processes\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    in_a = rank_ % 2 == 0;
    MPI_Comm_split(MPI_COMM_WORLD, !in_a, rank_, &local_);
    int rc = MPI_Intercomm_create(local_, 0, MPI_COMM_WORLD, in_a ? 1 : 0, 77, &inter_);
    CHECK_RC(rc, "MPI_Intercomm_create");
    MPI_Comm_rank(inter_, &lrank);
    MPI_Comm_size(inter_, &lsize);
    MPI_Comm_remote_size(inter_, &rsize);
    CHECK(lsize == group_size(in_a) && rsize == group_size(!in_a), "sizes %d/%d", lsize, rsize);
}

/* Sums every rank's failure count at rank 0 (point-to-point on MPI_COMM_WORLD), prints the
 * verdict, finalizes, returns the exit code. */
static int finish_test(const char *name) {
    MPI_Comm_free(&inter_);
    MPI_Comm_free(&local_);
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
