// ranks: 2 3 4
/* Requests: waitany / waitsome / testsome / testall / testany over real traffic and null or
   inactive handles (MPI_UNDEFINED), persistent requests in every mode with start / startall,
   cancel of a receive, request_free of an active send, request_get_status, generalized
   requests (query, free and cancel callbacks), MPI_ERR_IN_STATUS with per-status MPI_ERROR in
   the multiple-completion calls, bad handles, requests that outlive their (freed) communicator
   and datatype, a waitall whose requests complete in reverse order, and small sends that
   complete at their start (which share one complete request, as in MPICH) through every
   completion call. Runs at any size >= 2. */
#include "check.h"

static int rank, size;

static void ring_barrier(void) {
    int token = 0, left = (rank + size - 1) % size, right = (rank + 1) % size;
    for (int pass = 0; pass < 2; pass++) {
        if (rank == 0) {
            MPI_Send(&token, 1, MPI_INT, right, 77777, MPI_COMM_WORLD);
            MPI_Recv(&token, 1, MPI_INT, left, 77777, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(&token, 1, MPI_INT, left, 77777, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(&token, 1, MPI_INT, right, 77777, MPI_COMM_WORLD);
        }
    }
}

/* Rank 0 gathers one message from every other rank, completing them with `how`:
   0 waitany, 1 waitsome, 2 testsome, 3 testall, 4 testany. Slot 0 stays MPI_REQUEST_NULL. */
static void gather_with(int how) {
    int tag = 1000 + how;
    if (rank != 0) {
        int v[2] = {rank, how};
        MPI_Send(v, 2, MPI_INT, 0, tag, MPI_COMM_WORLD);
        return;
    }
    int n = size;
    MPI_Request *r = malloc(n * sizeof(MPI_Request));
    MPI_Status *st = malloc(n * sizeof(MPI_Status));
    int *v = malloc(2 * n * sizeof(int)), *idx = malloc(n * sizeof(int)), *seen = calloc(n, sizeof(int));
    r[0] = MPI_REQUEST_NULL;
    for (int k = 1; k < n; k++) MPI_Irecv(v + 2 * k, 2, MPI_INT, k, tag, MPI_COMM_WORLD, &r[k]);
    int completed = 0;
    if (how == 3) {
        int flag = 0;
        while (!flag) CHECK_EQ(MPI_Testall(n, r, &flag, st), MPI_SUCCESS);
        for (int k = 1; k < n; k++) { seen[k]++; CHECK_EQ(st[k].MPI_SOURCE, k); }
        /* The null slot gets an empty status. */
        CHECK_EQ(st[0].MPI_SOURCE, MPI_ANY_SOURCE);
        CHECK_EQ(st[0].MPI_TAG, MPI_ANY_TAG);
        completed = n - 1;
    } else {
        for (;;) {
            if (how == 0 || how == 4) {
                int i = -5, flag = 1;
                MPI_Status s;
                if (how == 0) CHECK_EQ(MPI_Waitany(n, r, &i, &s), MPI_SUCCESS);
                else CHECK_EQ(MPI_Testany(n, r, &i, &flag, &s), MPI_SUCCESS);
                if (!flag) { CHECK_EQ(i, MPI_UNDEFINED); continue; }
                if (i == MPI_UNDEFINED) break;
                CHECK(i >= 1 && i < n);
                CHECK(r[i] == MPI_REQUEST_NULL);
                CHECK_EQ(s.MPI_SOURCE, i);
                CHECK_EQ(s.MPI_TAG, tag);
                seen[i]++;
                completed++;
            } else {
                int out = -5;
                if (how == 1) CHECK_EQ(MPI_Waitsome(n, r, &out, idx, st), MPI_SUCCESS);
                else CHECK_EQ(MPI_Testsome(n, r, &out, idx, st), MPI_SUCCESS);
                if (out == MPI_UNDEFINED) break;
                CHECK(how == 2 || out > 0);
                for (int j = 0; j < out; j++) {
                    CHECK(idx[j] >= 1 && idx[j] < n);
                    CHECK(r[idx[j]] == MPI_REQUEST_NULL);
                    CHECK_EQ(st[j].MPI_SOURCE, idx[j]);
                    seen[idx[j]]++;
                }
                completed += out;
            }
        }
    }
    CHECK_EQ(completed, n - 1);
    for (int k = 1; k < n; k++) {
        CHECK_EQ(seen[k], 1);
        CHECK_EQ(v[2 * k], k);
        CHECK_EQ(v[2 * k + 1], how);
    }
    free(r); free(st); free(v); free(idx); free(seen);
}

/* Null and inactive handles only. */
static void nothing_active(void) {
    MPI_Request r[3] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    int i = 0, flag = 0, out = 0, idx[3];
    MPI_Status st, sts[3];
    CHECK_EQ(MPI_Waitany(3, r, &i, &st), MPI_SUCCESS);
    CHECK_EQ(i, MPI_UNDEFINED);
    CHECK_EQ(MPI_Testany(3, r, &i, &flag, &st), MPI_SUCCESS);
    CHECK_EQ(i, MPI_UNDEFINED);
    CHECK_EQ(flag, 1);
    CHECK_EQ(MPI_Waitsome(3, r, &out, idx, sts), MPI_SUCCESS);
    CHECK_EQ(out, MPI_UNDEFINED);
    CHECK_EQ(MPI_Testsome(3, r, &out, idx, sts), MPI_SUCCESS);
    CHECK_EQ(out, MPI_UNDEFINED);
    flag = 0;
    CHECK_EQ(MPI_Testall(3, r, &flag, sts), MPI_SUCCESS);
    CHECK_EQ(flag, 1);
    CHECK_EQ(MPI_Waitall(0, NULL, MPI_STATUSES_IGNORE), MPI_SUCCESS);
    st.MPI_SOURCE = 5; st.MPI_TAG = 5;
    CHECK_EQ(MPI_Wait(&r[0], &st), MPI_SUCCESS);
    CHECK_EQ(st.MPI_SOURCE, MPI_ANY_SOURCE);
    CHECK_EQ(st.MPI_TAG, MPI_ANY_TAG);
    int count = -1;
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK_EQ(count, 0);
    /* An inactive persistent request counts as not active. */
    int x;
    MPI_Recv_init(&x, 1, MPI_INT, 0, 0, MPI_COMM_WORLD, &r[1]);
    CHECK_EQ(MPI_Waitany(3, r, &i, &st), MPI_SUCCESS);
    CHECK_EQ(i, MPI_UNDEFINED);
    CHECK_EQ(MPI_Wait(&r[1], &st), MPI_SUCCESS);
    CHECK(r[1] != MPI_REQUEST_NULL);
    CHECK_EQ(st.MPI_SOURCE, MPI_ANY_SOURCE);
    CHECK_EQ(MPI_Request_free(&r[1]), MPI_SUCCESS);
    CHECK(r[1] == MPI_REQUEST_NULL);
}

/* Persistent requests around the ring in every send mode, restarted several times. */
static void persistent(void) {
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    int out[4], in[4];
    int bsize = 4 * (int)sizeof(int) + MPI_BSEND_OVERHEAD;
    char *bbuf = malloc(bsize);
    MPI_Buffer_attach(bbuf, bsize);
    for (int mode = 0; mode < 4; mode++) {
        MPI_Request r[2];
        int tag = 1100 + mode;
        CHECK_EQ(MPI_Recv_init(in, 4, MPI_INT, left, tag, MPI_COMM_WORLD, &r[0]), MPI_SUCCESS);
        int rc = 0;
        if (mode == 0) rc = MPI_Send_init(out, 4, MPI_INT, right, tag, MPI_COMM_WORLD, &r[1]);
        if (mode == 1) rc = MPI_Ssend_init(out, 4, MPI_INT, right, tag, MPI_COMM_WORLD, &r[1]);
        if (mode == 2) rc = MPI_Rsend_init(out, 4, MPI_INT, right, tag, MPI_COMM_WORLD, &r[1]);
        if (mode == 3) rc = MPI_Bsend_init(out, 4, MPI_INT, right, tag, MPI_COMM_WORLD, &r[1]);
        CHECK_EQ(rc, MPI_SUCCESS);
        for (int iter = 0; iter < 5; iter++) {
            for (int i = 0; i < 4; i++) out[i] = rank * 100 + iter * 10 + i;
            memset(in, 0, sizeof in);
            if (mode == 2) {
                /* Ready mode: receive started, then tell the left neighbour, wait for the right. */
                CHECK_EQ(MPI_Start(&r[0]), MPI_SUCCESS);
                int t = 0;
                MPI_Sendrecv(&t, 0, MPI_INT, left, 1199, &t, 0, MPI_INT, right, 1199, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                CHECK_EQ(MPI_Start(&r[1]), MPI_SUCCESS);
            } else {
                CHECK_EQ(MPI_Startall(2, r), MPI_SUCCESS);
            }
            MPI_Status st[2];
            CHECK_EQ(MPI_Waitall(2, r, st), MPI_SUCCESS);
            CHECK(r[0] != MPI_REQUEST_NULL && r[1] != MPI_REQUEST_NULL);
            CHECK_EQ(st[0].MPI_SOURCE, left);
            CHECK_EQ(st[0].MPI_TAG, tag);
            for (int i = 0; i < 4; i++) CHECK_EQ(in[i], left * 100 + iter * 10 + i);
        }
        /* Starting an active request is an error; then complete it normally. */
        CHECK_EQ(MPI_Request_free(&r[0]), MPI_SUCCESS);
        CHECK_EQ(MPI_Request_free(&r[1]), MPI_SUCCESS);
        CHECK(r[0] == MPI_REQUEST_NULL && r[1] == MPI_REQUEST_NULL);
    }
    void *a; int s;
    MPI_Buffer_detach(&a, &s);
    free(bbuf);
}

static void cancel_and_free(void) {
    /* A receive nobody matches is cancelled. */
    int x = 0, flag = -1;
    MPI_Request r;
    MPI_Status st;
    MPI_Irecv(&x, 1, MPI_INT, MPI_ANY_SOURCE, 1299, MPI_COMM_WORLD, &r);
    CHECK_EQ(MPI_Cancel(&r), MPI_SUCCESS);
    CHECK_EQ(MPI_Wait(&r, &st), MPI_SUCCESS);
    CHECK(r == MPI_REQUEST_NULL);
    CHECK_EQ(MPI_Test_cancelled(&st, &flag), MPI_SUCCESS);
    CHECK_EQ(flag, 1);
    /* A completed receive is not cancelled. */
    MPI_Irecv(&x, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &r);
    MPI_Cancel(&r);
    MPI_Wait(&r, &st);
    MPI_Test_cancelled(&st, &flag);
    CHECK_EQ(flag, 0);
    /* Request_free of an active send: the message still arrives. */
    if (rank == 1) {
        static int v = 4242;
        MPI_Isend(&v, 1, MPI_INT, 0, 1300, MPI_COMM_WORLD, &r);
        CHECK_EQ(MPI_Request_free(&r), MPI_SUCCESS);
        CHECK(r == MPI_REQUEST_NULL);
        int ack;
        MPI_Recv(&ack, 1, MPI_INT, 0, 1301, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (rank == 0) {
        MPI_Recv(&x, 1, MPI_INT, 1, 1300, MPI_COMM_WORLD, &st);
        CHECK_EQ(x, 4242);
        MPI_Send(&x, 1, MPI_INT, 1, 1301, MPI_COMM_WORLD);
    }
    /* Request_get_status leaves the request for the wait. */
    if (rank == 0) {
        int v = 77;
        MPI_Send(&v, 1, MPI_INT, 1, 1302, MPI_COMM_WORLD);
    } else if (rank == 1) {
        MPI_Irecv(&x, 1, MPI_INT, 0, 1302, MPI_COMM_WORLD, &r);
        flag = 0;
        while (!flag) CHECK_EQ(MPI_Request_get_status(r, &flag, &st), MPI_SUCCESS);
        CHECK(r != MPI_REQUEST_NULL);
        CHECK_EQ(st.MPI_SOURCE, 0);
        CHECK_EQ(st.MPI_TAG, 1302);
        CHECK_EQ(MPI_Wait(&r, &st), MPI_SUCCESS);
        CHECK(r == MPI_REQUEST_NULL);
        CHECK_EQ(x, 77);
        CHECK_EQ(st.MPI_TAG, 1302);
    }
    flag = 0;
    CHECK_EQ(MPI_Request_get_status(MPI_REQUEST_NULL, &flag, &st), MPI_SUCCESS);
    CHECK_EQ(flag, 1);
}

/* Generalized requests: the callbacks record what they saw. */
struct greq_state { int queries, frees, cancels, last_complete; MPI_Request self; int cancel_completes; };

static int greq_query(void *extra, MPI_Status *st) {
    struct greq_state *g = extra;
    g->queries++;
    st->MPI_SOURCE = 3;
    st->MPI_TAG = 33;
    MPI_Status_set_elements(st, MPI_DOUBLE, 2);
    MPI_Status_set_cancelled(st, g->cancels > 0);
    return MPI_SUCCESS;
}
static int greq_free(void *extra) { ((struct greq_state *)extra)->frees++; return MPI_SUCCESS; }
static int greq_cancel(void *extra, int complete) {
    struct greq_state *g = extra;
    g->cancels++;
    g->last_complete = complete;
    if (!complete && g->cancel_completes) MPI_Grequest_complete(g->self);
    return MPI_SUCCESS;
}

static void generalized(void) {
    struct greq_state g = {0};
    MPI_Request r;
    MPI_Status st;
    int flag = -1, count = -1;
    CHECK_EQ(MPI_Grequest_start(greq_query, greq_free, greq_cancel, &g, &r), MPI_SUCCESS);
    CHECK(r != MPI_REQUEST_NULL);
    CHECK_EQ(MPI_Test(&r, &flag, &st), MPI_SUCCESS);
    CHECK_EQ(flag, 0);
    CHECK_EQ(MPI_Grequest_complete(r), MPI_SUCCESS);
    CHECK_EQ(MPI_Wait(&r, &st), MPI_SUCCESS);
    CHECK(r == MPI_REQUEST_NULL);
    CHECK_EQ(st.MPI_SOURCE, 3);
    CHECK_EQ(st.MPI_TAG, 33);
    MPI_Get_count(&st, MPI_DOUBLE, &count);
    CHECK_EQ(count, 2);
    CHECK(g.queries >= 1);
    CHECK_EQ(g.frees, 1);
    CHECK_EQ(g.cancels, 0);

    /* Cancel before completion: cancel_fn(complete = 0) completes it itself. */
    struct greq_state h = {0};
    h.cancel_completes = 1;
    MPI_Grequest_start(greq_query, greq_free, greq_cancel, &h, &r);
    h.self = r;
    CHECK_EQ(MPI_Cancel(&r), MPI_SUCCESS);
    CHECK_EQ(h.cancels, 1);
    CHECK_EQ(h.last_complete, 0);
    CHECK_EQ(MPI_Wait(&r, &st), MPI_SUCCESS);
    MPI_Test_cancelled(&st, &flag);
    CHECK_EQ(flag, 1);
    CHECK_EQ(h.frees, 1);

    /* Cancel after completion: complete = 1. */
    struct greq_state k = {0};
    MPI_Grequest_start(greq_query, greq_free, greq_cancel, &k, &r);
    MPI_Grequest_complete(r);
    MPI_Cancel(&r);
    CHECK_EQ(k.last_complete, 1);
    MPI_Wait(&r, MPI_STATUS_IGNORE);
    CHECK_EQ(k.frees, 1);

    /* Freed before completion: free_fn runs once it completes. */
    struct greq_state f = {0};
    MPI_Grequest_start(greq_query, greq_free, greq_cancel, &f, &r);
    MPI_Request keep = r;
    CHECK_EQ(MPI_Request_free(&r), MPI_SUCCESS);
    CHECK(r == MPI_REQUEST_NULL);
    /* MPI-3.1 12.2: free_fn runs in whichever of MPI_Request_free / MPI_Grequest_complete
       comes last (Ferry: the complete; MPICH runs it in the free already). */
    CHECK(f.frees <= 1);
    CHECK_EQ(MPI_Grequest_complete(keep), MPI_SUCCESS);
    CHECK_EQ(f.frees, 1);

    /* Waitall over a mix of a generalized request and a receive. */
    struct greq_state m = {0};
    MPI_Request two[2];
    MPI_Status sts[2];
    int x = 0;
    MPI_Grequest_start(greq_query, greq_free, greq_cancel, &m, &two[0]);
    MPI_Irecv(&x, 1, MPI_INT, rank, 1350, MPI_COMM_WORLD, &two[1]);
    MPI_Send(&rank, 1, MPI_INT, rank, 1350, MPI_COMM_WORLD);
    MPI_Grequest_complete(two[0]);
    CHECK_EQ(MPI_Waitall(2, two, sts), MPI_SUCCESS);
    CHECK_EQ(sts[0].MPI_TAG, 33);
    CHECK_EQ(sts[1].MPI_SOURCE, rank);
    CHECK_EQ(x, rank);
    CHECK_EQ(m.frees, 1);
}

/* MPI_ERR_IN_STATUS: one truncated receive among good ones. */
static void errors_in_status(void) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int big[10] = {0};
    if (rank == 1) {
        for (int round = 0; round < 3; round++) {
            MPI_Send(big, 10, MPI_INT, 0, 1400 + round, MPI_COMM_WORLD);
            MPI_Send(big, 1, MPI_INT, 0, 1410 + round, MPI_COMM_WORLD);
        }
    } else if (rank == 0) {
        for (int round = 0; round < 3; round++) {
            int small[5], one;
            MPI_Request r[2];
            MPI_Status st[2];
            st[0].MPI_ERROR = st[1].MPI_ERROR = -1;
            MPI_Irecv(small, 5, MPI_INT, 1, 1400 + round, MPI_COMM_WORLD, &r[0]);
            MPI_Irecv(&one, 1, MPI_INT, 1, 1410 + round, MPI_COMM_WORLD, &r[1]);
            if (round == 0) {
                CHECK_CLASS(MPI_Waitall(2, r, st), MPI_ERR_IN_STATUS);
                CHECK_CLASS(st[0].MPI_ERROR, MPI_ERR_TRUNCATE);
                /* The other one completed (MPI_SUCCESS, Ferry) or was left pending (MPICH stops
                   at the first error): both are what MPI-3.1 3.7.5 allows. */
                CHECK(st[1].MPI_ERROR == MPI_SUCCESS || error_class(st[1].MPI_ERROR) == MPI_ERR_PENDING);
                if (st[1].MPI_ERROR == MPI_SUCCESS) CHECK(r[1] == MPI_REQUEST_NULL);
                else CHECK_EQ(MPI_Wait(&r[1], MPI_STATUS_IGNORE), MPI_SUCCESS);
            } else if (round == 1) {
                int done = 0, out, idx[2];
                while (done < 2) {
                    int rc = MPI_Waitsome(2, r, &out, idx, st);
                    for (int j = 0; j < out; j++) {
                        if (idx[j] == 0) {
                            CHECK_CLASS(rc, MPI_ERR_IN_STATUS);
                            CHECK_CLASS(st[j].MPI_ERROR, MPI_ERR_TRUNCATE);
                        }
                    }
                    done += out;
                }
            } else {
                int i, got = 0;
                for (int j = 0; j < 2; j++) {
                    MPI_Status s;
                    int rc = MPI_Waitany(2, r, &i, &s);
                    if (i == 0) { CHECK_CLASS(rc, MPI_ERR_TRUNCATE); got++; }
                    else CHECK_EQ(rc, MPI_SUCCESS);
                }
                CHECK_EQ(got, 1);
            }
        }
    }
    /* Bad handles and arguments. */
    MPI_Request bogus = (MPI_Request)0x12345, null = MPI_REQUEST_NULL;
    MPI_Status st;
    int flag;
    CHECK_CLASS(MPI_Wait(&bogus, &st), MPI_ERR_REQUEST);
    CHECK_CLASS(MPI_Test(&bogus, &flag, &st), MPI_ERR_REQUEST);
    CHECK_CLASS(MPI_Start(&null), MPI_ERR_REQUEST);
    CHECK_CLASS(MPI_Request_free(&null), MPI_ERR_REQUEST);
    CHECK_CLASS(MPI_Cancel(&null), MPI_ERR_REQUEST);
    CHECK_CLASS(MPI_Waitall(-1, &null, MPI_STATUSES_IGNORE), MPI_ERR_COUNT);
    CHECK_CLASS(MPI_Waitall(1, &bogus, MPI_STATUSES_IGNORE), MPI_ERR_REQUEST);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

/* MPI_Comm_free and MPI_Type_free while requests use them: the requests complete normally
   (MPI-3.1 §6.4.3, §4.1.9), with the data where the freed type put it. */
static void outliving_objects(void) {
    MPI_Comm dup;
    MPI_Datatype pair;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Type_vector(2, 1, 2, MPI_INT, &pair);
    MPI_Type_commit(&pair);
    int out[4] = {10 + rank, -1, 20 + rank, -1}, in[4] = {-7, -7, -7, -7};
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    MPI_Request r[2];
    MPI_Irecv(in, 1, pair, left, 5, dup, &r[0]);
    MPI_Isend(out, 1, pair, right, 5, dup, &r[1]);
    MPI_Type_free(&pair);
    MPI_Comm_free(&dup);
    CHECK(pair == MPI_DATATYPE_NULL);
    CHECK(dup == MPI_COMM_NULL);
    MPI_Status st[2];
    CHECK_EQ(MPI_Waitall(2, r, st), MPI_SUCCESS);
    CHECK_EQ(in[0], 10 + left);
    CHECK_EQ(in[1], -7);
    CHECK_EQ(in[2], 20 + left);
    CHECK_EQ(in[3], -7);
    CHECK_EQ(st[0].MPI_SOURCE, left);
    CHECK_EQ(st[0].MPI_TAG, 5);
}

/* Many receives posted before their messages, which arrive in the opposite order of posting
   (distinct tags): waitall must wait for all of them, and each gets its own message. */
static void waitall_reverse(void) {
    enum { N = 100 };
    int in[N], out[N];
    MPI_Request r[N];
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    for (int k = 0; k < N; k++) {
        in[k] = -1;
        MPI_Irecv(&in[k], 1, MPI_INT, left, 100 + k, MPI_COMM_WORLD, &r[k]);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    for (int k = N - 1; k >= 0; k--) {
        out[k] = 1000 * rank + k;
        MPI_Send(&out[k], 1, MPI_INT, right, 100 + k, MPI_COMM_WORLD);
    }
    CHECK_EQ(MPI_Waitall(N, r, MPI_STATUSES_IGNORE), MPI_SUCCESS);
    for (int k = 0; k < N; k++) {
        CHECK_EQ(in[k], 1000 * left + k);
        CHECK(r[k] == MPI_REQUEST_NULL);
    }
}

/* Small standard sends into empty rings leave at once and may all return the same complete
   request handle: each must still behave as its own complete send in every call. */
static void immediate_sends(void) {
    enum { N = 6 };
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    int out[N], in[N];
    MPI_Request s[N], r[N];
    for (int k = 0; k < N; k++) {
        in[k] = -1;
        MPI_Irecv(&in[k], 1, MPI_INT, left, 300 + k, MPI_COMM_WORLD, &r[k]);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    for (int k = 0; k < N; k++) {
        out[k] = 100 * rank + k;
        MPI_Isend(&out[k], 1, MPI_INT, right, 300 + k, MPI_COMM_WORLD, &s[k]);
    }
    CHECK_EQ(MPI_Waitall(N, r, MPI_STATUSES_IGNORE), MPI_SUCCESS);
    for (int k = 0; k < N; k++) CHECK_EQ(in[k], 100 * left + k);
    MPI_Status st;
    int flag = 0;
    CHECK_EQ(MPI_Wait(&s[0], &st), MPI_SUCCESS);
    CHECK(s[0] == MPI_REQUEST_NULL);
    /* Delivered already: a cancel must not succeed. */
    CHECK_EQ(MPI_Cancel(&s[1]), MPI_SUCCESS);
    CHECK_EQ(MPI_Wait(&s[1], &st), MPI_SUCCESS);
    MPI_Test_cancelled(&st, &flag);
    CHECK_EQ(flag, 0);
    CHECK(s[1] == MPI_REQUEST_NULL);
    CHECK_EQ(MPI_Request_free(&s[2]), MPI_SUCCESS);
    CHECK(s[2] == MPI_REQUEST_NULL);
    int seen3 = 0, seen4 = 0;
    for (int round = 0; round < 2; round++) {
        int index = -1;
        CHECK_EQ(MPI_Waitany(2, &s[3], &index, &st), MPI_SUCCESS);
        if (index == 0) seen3++;
        else if (index == 1) seen4++;
        else CHECK(0);
    }
    CHECK_EQ(seen3, 1);
    CHECK_EQ(seen4, 1);
    CHECK(s[3] == MPI_REQUEST_NULL && s[4] == MPI_REQUEST_NULL);
    int index = 0;
    CHECK_EQ(MPI_Waitany(2, &s[3], &index, &st), MPI_SUCCESS);   /* all null now */
    CHECK_EQ(index, MPI_UNDEFINED);
    do {
        CHECK_EQ(MPI_Request_get_status(s[5], &flag, &st), MPI_SUCCESS);
    } while (!flag);
    CHECK(s[5] != MPI_REQUEST_NULL);   /* get_status leaves the request */
    int outcount = 0, indices[1];
    do {
        CHECK_EQ(MPI_Testsome(1, &s[5], &outcount, indices, MPI_STATUSES_IGNORE), MPI_SUCCESS);
    } while (outcount == 0);
    CHECK_EQ(outcount, 1);
    CHECK(s[5] == MPI_REQUEST_NULL);
}

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 120);
    rank = my_rank;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int how = 0; how < 5; how++) {
        STAGE("gather_with");
        gather_with(how);
        ring_barrier();
    }
    STAGE("nothing_active"); nothing_active();
    STAGE("persistent"); persistent();
    ring_barrier();
    STAGE("cancel_and_free"); cancel_and_free();
    ring_barrier();
    STAGE("generalized"); generalized();
    ring_barrier();
    STAGE("errors_in_status"); errors_in_status();
    ring_barrier();
    STAGE("outliving_objects"); outliving_objects();
    ring_barrier();
    STAGE("waitall_reverse"); waitall_reverse();
    ring_barrier();
    STAGE("immediate_sends"); immediate_sends();
    ring_barrier();
    return test_end("p2p_requests");
}
