/* Shared helpers of the intercommunicator tests: the checks, verdict and COLL() of the
 * collective tests (tests/c/coll/common.h), plus the test intercommunicator: MPI_COMM_WORLD
 * split into even ranks (group A) and odd ranks (group B), joined by MPI_Intercomm_create. */
#ifndef INTER_COMMON_H
#define INTER_COMMON_H
#define start_test coll_start_test
#define finish_test coll_finish_test
#include "../coll/common.h"
#undef start_test
#undef finish_test

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
    coll_start_test(argc, argv);
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

static int finish_test(const char *name) {
    MPI_Comm_free(&inter_);
    MPI_Comm_free(&local_);
    return coll_finish_test(name);
}
#endif
