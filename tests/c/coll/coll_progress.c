/* Nonblocking collectives progress and order correctly:
 *  1. rank 0 starts an 8 MiB MPI_Ibcast and computes for 0.5 s without MPI calls; the other
 *     ranks must get the data while it computes, and its MPI_Wait must then return at once;
 *  2. several collectives outstanding on one communicator, completed by MPI_Waitall in
 *     reverse order, then by MPI_Test polling in reverse order;
 *  3. nonblocking collectives interleaved with blocking ones on the same communicator;
 *  4. nonblocking collectives on two communicators, started in opposite orders on even and
 *     odd ranks;
 *  5. MPI_Comm_idup: alone, several outstanding, overlapping an Ibarrier, attributes copied.
 * Prints "coll_progress: OK" from rank 0 when every check passed.
 * ranks: 1 2 3 4 8 */
#include "common.h"
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static volatile double sink;

/* Computes for `seconds` without calling MPI. */
static void compute(double seconds) {
    double t0 = now(), x = 1.0;
    while (now() - t0 < seconds)
        for (int i = 0; i < 1000; i++) x = x * 1.0000001 + 1e-9;
    sink = x;
}

static int is_mpich(void) {
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    return strncmp(v, "MPICH", 5) == 0;
}

static void background_progress(void) {
    const int bytes = 8 << 20;
    unsigned char *buf = malloc(bytes);
    for (int i = 0; i < bytes; i++) buf[i] = rank_ == 0 ? (unsigned char)(i * 13 + 1) : 0;
    MPI_Request req;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now();
    CHECK_RC(MPI_Ibcast(buf, bytes, MPI_BYTE, 0, MPI_COMM_WORLD, &req), "MPI_Ibcast");
    double done_at, wait_took;
    if (rank_ == 0) {
        compute(0.5);
        double w = now();
        CHECK_RC(MPI_Wait(&req, MPI_STATUS_IGNORE), "MPI_Wait");
        wait_took = now() - w;
        done_at = now() - t0;
    } else {
        CHECK_RC(MPI_Wait(&req, MPI_STATUS_IGNORE), "MPI_Wait");
        done_at = now() - t0;
        wait_took = done_at;
    }
    int bad = 0;
    for (int i = 0; i < bytes; i++) bad += buf[i] != (unsigned char)(i * 13 + 1);
    CHECK(bad == 0, "8 MiB ibcast: %d bad bytes", bad);
    /* The slowest receiver's completion time, and the root's wait. */
    double latest = done_at, recv_latest = rank_ == 0 ? 0 : done_at;
    MPI_Allreduce(MPI_IN_PLACE, &recv_latest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    (void)latest;
    if (rank_ == 0) {
        printf("coll_progress: 8 MiB MPI_Ibcast: root computed 0.50 s, then MPI_Wait took %.2f ms; "
               "the last receiver had the data after %.2f ms\n", wait_took * 1e3, recv_latest * 1e3);
        fflush(stdout);
        /* MPICH progresses only inside MPI calls: these are properties of Ferry's workers. */
        if (!is_mpich()) {
            CHECK(wait_took < 0.1, "root's MPI_Wait took %.3f s after computing: no background progress", wait_took);
            CHECK(size_ == 1 || recv_latest < 0.45, "receivers got the data after %.3f s, not while the root computed", recv_latest);
        }
    }
    free(buf);
}

static void reverse_completion(MPI_Comm comm) {
    int r, n;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &n);
    for (int round = 0; round < 2; round++) {
        enum { K = 8, C = 64 };
        MPI_Request q[K];
        int a[C], b[C], bc[C], s[C], *g = malloc(sizeof(int) * C * n), *ta = malloc(sizeof(int) * n), *tb = malloc(sizeof(int) * n);
        int sc[C], rs[C], *rsin = malloc(sizeof(int) * C * n), x = r + 1, ex = -1;
        for (int i = 0; i < C; i++) { a[i] = r + i; bc[i] = r == n - 1 ? 7 * i : -1; sc[i] = r; }
        for (int k = 0; k < n; k++) ta[k] = r * 100 + k;
        for (int j = 0; j < C * n; j++) rsin[j] = j;
        CHECK_RC(MPI_Ibarrier(comm, &q[0]), "MPI_Ibarrier");
        CHECK_RC(MPI_Iallreduce(a, b, C, MPI_INT, MPI_SUM, comm, &q[1]), "MPI_Iallreduce");
        CHECK_RC(MPI_Ibcast(bc, C, MPI_INT, n - 1, comm, &q[2]), "MPI_Ibcast");
        CHECK_RC(MPI_Iallgather(a, C, MPI_INT, g, C, MPI_INT, comm, &q[3]), "MPI_Iallgather");
        CHECK_RC(MPI_Ialltoall(ta, 1, MPI_INT, tb, 1, MPI_INT, comm, &q[4]), "MPI_Ialltoall");
        CHECK_RC(MPI_Iscan(sc, s, C, MPI_INT, MPI_SUM, comm, &q[5]), "MPI_Iscan");
        CHECK_RC(MPI_Ireduce_scatter_block(rsin, rs, C, MPI_INT, MPI_SUM, comm, &q[6]), "MPI_Ireduce_scatter_block");
        CHECK_RC(MPI_Iexscan(&x, &ex, 1, MPI_INT, MPI_PROD, comm, &q[7]), "MPI_Iexscan");
        if (round == 0) {
            MPI_Request rev[K];
            MPI_Status st[K];
            for (int k = 0; k < K; k++) rev[k] = q[K - 1 - k];
            int rc = MPI_Waitall(K, rev, st);
            CHECK_RC(rc, "MPI_Waitall");
            for (int k = 0; k < K; k++) CHECK(rev[k] == MPI_REQUEST_NULL, "Waitall left request %d", k);
        } else {
            /* Test from the last started to the first until all are done. */
            int left = K, spins = 0;
            while (left > 0 && spins < 100000000) {
                for (int k = K - 1; k >= 0; k--) {
                    if (q[k] == MPI_REQUEST_NULL) continue;
                    int flag = 0;
                    CHECK_RC(MPI_Test(&q[k], &flag, MPI_STATUS_IGNORE), "MPI_Test");
                    if (flag) left--;
                }
                spins++;
            }
            CHECK(left == 0, "%d requests never completed under MPI_Test", left);
        }
        for (int i = 0; i < C; i++) {
            CHECK(b[i] == n * (n - 1) / 2 + n * i, "outstanding iallreduce [%d]", i);
            CHECK(bc[i] == 7 * i, "outstanding ibcast [%d]", i);
            CHECK(s[i] == r * (r + 1) / 2, "outstanding iscan [%d]", i);
            CHECK(rs[i] == n * (r * C + i), "outstanding ireduce_scatter_block [%d]", i);
        }
        for (int k = 0; k < n; k++) {
            CHECK(tb[k] == k * 100 + r, "outstanding ialltoall [%d]", k);
            for (int i = 0; i < C; i++) CHECK(g[k * C + i] == k + i, "outstanding iallgather [%d][%d]", k, i);
        }
        int fact = 1;
        for (int k = 1; k <= r; k++) fact *= k;
        if (r > 0) CHECK(ex == fact, "outstanding iexscan: %d, want %d", ex, fact);
        free(g); free(ta); free(tb); free(rsin);
    }
}

static void interleaved(MPI_Comm comm) {
    int r, n;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &n);
    enum { C = 1000 };
    int *a = malloc(sizeof(int) * C), *b = malloc(sizeof(int) * C), *c = malloc(sizeof(int) * C);
    int *big = malloc(sizeof(int) * C * 64);
    for (int i = 0; i < C; i++) { a[i] = r * i; c[i] = r == 0 ? i + 5 : 0; }
    for (int i = 0; i < C * 64; i++) big[i] = r == n - 1 ? i : -1;
    MPI_Request q[3];
    CHECK_RC(MPI_Iallreduce(a, b, C, MPI_INT, MPI_MAX, comm, &q[0]), "MPI_Iallreduce");
    int v = r + 1, sum = 0;
    CHECK_RC(MPI_Allreduce(&v, &sum, 1, MPI_INT, MPI_SUM, comm), "MPI_Allreduce");
    CHECK(sum == n * (n + 1) / 2, "blocking allreduce between nonblocking ones: %d", sum);
    CHECK_RC(MPI_Ibcast(big, C * 64, MPI_INT, n - 1, comm, &q[1]), "MPI_Ibcast");
    CHECK_RC(MPI_Bcast(c, C, MPI_INT, 0, comm), "MPI_Bcast");
    CHECK_RC(MPI_Barrier(comm), "MPI_Barrier");
    int mx = -1;
    CHECK_RC(MPI_Ireduce(&v, &mx, 1, MPI_INT, MPI_MAX, 0, comm, &q[2]), "MPI_Ireduce");
    int *gath = malloc(sizeof(int) * n);
    CHECK_RC(MPI_Allgather(&r, 1, MPI_INT, gath, 1, MPI_INT, comm), "MPI_Allgather");
    CHECK_RC(MPI_Waitall(3, q, MPI_STATUSES_IGNORE), "MPI_Waitall");
    for (int i = 0; i < C; i++) {
        CHECK(b[i] == (n - 1) * i, "interleaved iallreduce [%d]", i);
        CHECK(c[i] == i + 5, "interleaved bcast [%d]", i);
    }
    int bad = 0;
    for (int i = 0; i < C * 64; i++) bad += big[i] != i;
    CHECK(bad == 0, "interleaved ibcast: %d bad", bad);
    if (r == 0) CHECK(mx == n, "interleaved ireduce: %d", mx);
    for (int k = 0; k < n; k++) CHECK(gath[k] == k, "interleaved allgather [%d]", k);
    free(a); free(b); free(c); free(big); free(gath);
}

static void two_communicators(void) {
    MPI_Comm A, B;
    MPI_Comm_dup(MPI_COMM_WORLD, &A);
    MPI_Comm_split(MPI_COMM_WORLD, 0, size_ - rank_, &B); /* reversed ranks */
    int rb;
    MPI_Comm_rank(B, &rb);
    for (int round = 0; round < 5; round++) {
        int va = rank_ + round, vb = rb * 10 + round, sa = 0, sb = 0;
        int ba[100], bb[100];
        for (int i = 0; i < 100; i++) { ba[i] = rank_ == 0 ? i : -1; bb[i] = rb == size_ - 1 ? 2 * i : -1; }
        MPI_Request q[4];
        if ((rank_ + round) % 2 == 0) {
            MPI_Iallreduce(&va, &sa, 1, MPI_INT, MPI_SUM, A, &q[0]);
            MPI_Ibcast(ba, 100, MPI_INT, 0, A, &q[1]);
            MPI_Iallreduce(&vb, &sb, 1, MPI_INT, MPI_SUM, B, &q[2]);
            MPI_Ibcast(bb, 100, MPI_INT, size_ - 1, B, &q[3]);
        } else {
            MPI_Iallreduce(&vb, &sb, 1, MPI_INT, MPI_SUM, B, &q[2]);
            MPI_Ibcast(bb, 100, MPI_INT, size_ - 1, B, &q[3]);
            MPI_Iallreduce(&va, &sa, 1, MPI_INT, MPI_SUM, A, &q[0]);
            MPI_Ibcast(ba, 100, MPI_INT, 0, A, &q[1]);
        }
        CHECK_RC(MPI_Waitall(4, q, MPI_STATUSES_IGNORE), "MPI_Waitall");
        CHECK(sa == size_ * (size_ - 1) / 2 + size_ * round, "comm A iallreduce round %d: %d", round, sa);
        CHECK(sb == 10 * size_ * (size_ - 1) / 2 + size_ * round, "comm B iallreduce round %d: %d", round, sb);
        for (int i = 0; i < 100; i++) {
            CHECK(ba[i] == i, "comm A ibcast [%d]", i);
            CHECK(bb[i] == 2 * i, "comm B ibcast [%d]", i);
        }
    }
    MPI_Comm_free(&A);
    MPI_Comm_free(&B);
}

static int copies = 0;
static int copy_fn(MPI_Comm old, int keyval, void *extra, void *in, void *out, int *flag) {
    (void)old; (void)keyval; (void)extra;
    copies++;
    *(void **)out = (char *)in + 1;
    *flag = 1;
    return MPI_SUCCESS;
}

/* Communicators cs[0..k) have the same group: a ring on each with the same tag, receives
 * posted in reverse order, must deliver each message on its own communicator. */
static void ring_apart(MPI_Comm *cs, int k, const char *what) {
    if (size_ < 2) return;
    int to = (rank_ + 1) % size_, from = (rank_ + size_ - 1) % size_, got[8], vals[8];
    MPI_Request rq[16];
    for (int j = k - 1; j >= 0; j--) MPI_Irecv(&got[j], 1, MPI_INT, from, 0, cs[j], &rq[j]);
    for (int j = 0; j < k; j++) { vals[j] = rank_ + 100 * j; MPI_Isend(&vals[j], 1, MPI_INT, to, 0, cs[j], &rq[k + j]); }
    MPI_Waitall(2 * k, rq, MPI_STATUSES_IGNORE);
    for (int j = 0; j < k; j++) CHECK(got[j] == from + 100 * j, "%s: ring on communicator %d got %d", what, j, got[j]);
}

static void idup(void) {
    /* Alone, with an attribute that the copy callback increments. */
    int key;
    static char anchor[4];
    CHECK_RC(MPI_Comm_create_keyval(copy_fn, MPI_COMM_NULL_DELETE_FN, &key, NULL), "MPI_Comm_create_keyval");
    MPI_Comm_set_attr(MPI_COMM_WORLD, key, anchor);
    MPI_Comm c1 = MPI_COMM_NULL;
    MPI_Request q;
    CHECK_RC(MPI_Comm_idup(MPI_COMM_WORLD, &c1, &q), "MPI_Comm_idup");
    CHECK_RC(MPI_Wait(&q, MPI_STATUS_IGNORE), "MPI_Wait");
    CHECK(c1 != MPI_COMM_NULL, "MPI_Comm_idup gave MPI_COMM_NULL");
    int r1 = -1, n1 = -1, result = -1;
    MPI_Comm_rank(c1, &r1);
    MPI_Comm_size(c1, &n1);
    CHECK(r1 == rank_ && n1 == size_, "idup comm: rank %d size %d", r1, n1);
    MPI_Comm_compare(c1, MPI_COMM_WORLD, &result);
    CHECK(result == MPI_CONGRUENT, "idup comm compares %d, want MPI_CONGRUENT", result);
    void *val = NULL;
    int found = 0;
    MPI_Comm_get_attr(c1, key, &val, &found);
    CHECK(found && val == anchor + 1, "idup did not copy the attribute through its callback");
    CHECK(copies == 1, "copy callback ran %d times", copies);
    int s = 0;
    MPI_Allreduce(&rank_, &s, 1, MPI_INT, MPI_SUM, c1);
    CHECK(s == size_ * (size_ - 1) / 2, "allreduce on idup comm: %d", s);
    MPI_Comm_delete_attr(MPI_COMM_WORLD, key);
    MPI_Comm_free_keyval(&key);

    /* Several outstanding on one communicator, with an Ibarrier between them. */
    MPI_Comm c[3];
    MPI_Request qs[4];
    CHECK_RC(MPI_Comm_idup(c1, &c[0], &qs[0]), "MPI_Comm_idup");
    CHECK_RC(MPI_Ibarrier(c1, &qs[1]), "MPI_Ibarrier");
    CHECK_RC(MPI_Comm_idup(c1, &c[1], &qs[2]), "MPI_Comm_idup");
    CHECK_RC(MPI_Comm_idup(MPI_COMM_WORLD, &c[2], &qs[3]), "MPI_Comm_idup");
    CHECK_RC(MPI_Waitall(4, qs, MPI_STATUSES_IGNORE), "MPI_Waitall");
    for (int k = 0; k < 3; k++) {
        int v = 0;
        /* Traffic on each new communicator must stay on it. */
        MPI_Allreduce(&k, &v, 1, MPI_INT, MPI_SUM, c[k]);
        CHECK(v == k * size_, "allreduce on idup comm %d: %d", k, v);
        int res;
        MPI_Comm_compare(c[k], c1, &res);
        CHECK(res == MPI_CONGRUENT, "idup comm %d compares %d", k, res);
    }
    ring_apart(c, 3, "idup comms");
    for (int k = 0; k < 3; k++) MPI_Comm_free(&c[k]);
    MPI_Comm_free(&c1);

    /* An idup outstanding while the main thread runs a blocking MPI_Comm_dup of the same
     * communicator: the two new communicators (and world) must not share a context. */
    MPI_Comm d[3] = {MPI_COMM_WORLD, MPI_COMM_NULL, MPI_COMM_NULL};
    MPI_Request q2;
    CHECK_RC(MPI_Comm_idup(MPI_COMM_WORLD, &d[1], &q2), "MPI_Comm_idup");
    CHECK_RC(MPI_Comm_dup(MPI_COMM_WORLD, &d[2]), "MPI_Comm_dup");
    CHECK_RC(MPI_Wait(&q2, MPI_STATUS_IGNORE), "MPI_Wait");
    ring_apart(d, 3, "idup + dup");
    MPI_Comm_free(&d[1]);
    MPI_Comm_free(&d[2]);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    TRACE("background progress"); background_progress();
    TRACE("reverse completion"); reverse_completion(MPI_COMM_WORLD);
    TRACE("interleaved"); interleaved(MPI_COMM_WORLD);
    TRACE("two communicators"); two_communicators();
    TRACE("idup"); idup();
    return finish_test("coll_progress");
}
