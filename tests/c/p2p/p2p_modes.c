// ranks: 2 3 4
/* Point-to-point: the four send modes, blocking and nonblocking, eager and rendezvous sizes,
   send-receive (and _replace with a derived type), wildcards and their statuses, message
   order, self and MPI_PROC_NULL traffic, probe / iprobe, matched probe (mprobe, improbe,
   mrecv, imrecv, MPI_MESSAGE_NO_PROC), the buffered-send buffer, and the error classes of bad
   arguments under MPI_ERRORS_RETURN. Runs at any size >= 2. */
#include "check.h"

static int rank, size;

/* A barrier made of point-to-point messages (two passes of a token around the ring). */
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

static void fill(int *b, int n, int seed) { for (int i = 0; i < n; i++) b[i] = seed * 1000003 + i; }
static int verify(const int *b, int n, int seed) {
    for (int i = 0; i < n; i++) if (b[i] != seed * 1000003 + i) return 0;
    return 1;
}

/* Every mode around the ring, blocking sends with a pre-posted receive, at `n` ints. */
static void ring_blocking(int n) {
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    int *out = malloc(n * sizeof(int)), *in = malloc(n * sizeof(int));
    int bsize = n * (int)sizeof(int) + MPI_BSEND_OVERHEAD;
    char *bbuf = malloc(bsize);
    fill(out, n, rank);
    for (int mode = 0; mode < 4; mode++) {
        MPI_Request r;
        MPI_Status st;
        int tag = 100 + mode;
        memset(in, 0, n * sizeof(int));
        MPI_Irecv(in, n, MPI_INT, left, tag, MPI_COMM_WORLD, &r);
        int rc = MPI_SUCCESS;
        if (mode == 0) rc = MPI_Send(out, n, MPI_INT, right, tag, MPI_COMM_WORLD);
        if (mode == 1) rc = MPI_Ssend(out, n, MPI_INT, right, tag, MPI_COMM_WORLD);
        if (mode == 2) {
            /* Ready mode: the right neighbour says its receive is posted. */
            int ready = 0;
            MPI_Sendrecv(&ready, 0, MPI_INT, left, 200, &ready, 0, MPI_INT, right, 200, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
            rc = MPI_Rsend(out, n, MPI_INT, right, tag, MPI_COMM_WORLD);
        }
        if (mode == 3) {
            CHECK_EQ(MPI_Buffer_attach(bbuf, bsize), MPI_SUCCESS);
            rc = MPI_Bsend(out, n, MPI_INT, right, tag, MPI_COMM_WORLD);
        }
        CHECK_EQ(rc, MPI_SUCCESS);
        CHECK_EQ(MPI_Wait(&r, &st), MPI_SUCCESS);
        CHECK(r == MPI_REQUEST_NULL);
        CHECK_EQ(st.MPI_SOURCE, left);
        CHECK_EQ(st.MPI_TAG, tag);
        int count = -1;
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK_EQ(count, n);
        CHECK(verify(in, n, left));
        if (mode == 3) {
            void *addr = NULL;
            int got = -1;
            CHECK_EQ(MPI_Buffer_detach(&addr, &got), MPI_SUCCESS);
            CHECK(addr == bbuf);
            CHECK_EQ(got, bsize);
        }
    }
    free(out); free(in); free(bbuf);
}

/* Every mode nonblocking around the ring, at `n` ints. */
static void ring_nonblocking(int n) {
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    int *out = malloc(n * sizeof(int)), *in = malloc(4 * n * sizeof(int));
    int bsize = n * (int)sizeof(int) + MPI_BSEND_OVERHEAD;
    char *bbuf = malloc(bsize);
    fill(out, n, rank + 7);
    MPI_Request rr[4], sr[4];
    for (int m = 0; m < 4; m++) MPI_Irecv(in + m * n, n, MPI_INT, left, 300 + m, MPI_COMM_WORLD, &rr[m]);
    /* The irsend below needs the right neighbour's receive posted. */
    int ready = 0;
    MPI_Sendrecv(&ready, 0, MPI_INT, left, 399, &ready, 0, MPI_INT, right, 399, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Buffer_attach(bbuf, bsize);
    CHECK_EQ(MPI_Isend(out, n, MPI_INT, right, 300, MPI_COMM_WORLD, &sr[0]), MPI_SUCCESS);
    CHECK_EQ(MPI_Issend(out, n, MPI_INT, right, 301, MPI_COMM_WORLD, &sr[1]), MPI_SUCCESS);
    CHECK_EQ(MPI_Irsend(out, n, MPI_INT, right, 302, MPI_COMM_WORLD, &sr[2]), MPI_SUCCESS);
    CHECK_EQ(MPI_Ibsend(out, n, MPI_INT, right, 303, MPI_COMM_WORLD, &sr[3]), MPI_SUCCESS);
    MPI_Status st[4];
    CHECK_EQ(MPI_Waitall(4, rr, st), MPI_SUCCESS);
    CHECK_EQ(MPI_Waitall(4, sr, MPI_STATUSES_IGNORE), MPI_SUCCESS);
    for (int m = 0; m < 4; m++) {
        CHECK(rr[m] == MPI_REQUEST_NULL);
        CHECK(sr[m] == MPI_REQUEST_NULL);
        CHECK_EQ(st[m].MPI_SOURCE, left);
        CHECK_EQ(st[m].MPI_TAG, 300 + m);
        CHECK(verify(in + m * n, n, left + 7));
    }
    void *addr; int got;
    MPI_Buffer_detach(&addr, &got);
    CHECK(addr == bbuf);
    free(out); free(in); free(bbuf);
}

static void sendrecv_tests(void) {
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    int out[5], in[5];
    fill(out, 5, rank);
    MPI_Status st;
    CHECK_EQ(MPI_Sendrecv(out, 5, MPI_INT, right, 400, in, 5, MPI_INT, left, 400, MPI_COMM_WORLD, &st), MPI_SUCCESS);
    CHECK(verify(in, 5, left));
    CHECK_EQ(st.MPI_SOURCE, left);
    CHECK_EQ(st.MPI_TAG, 400);

    /* _replace with a vector: every other int of 12 travels, the rest stays. */
    MPI_Datatype vec;
    MPI_Type_vector(6, 1, 2, MPI_INT, &vec);
    MPI_Type_commit(&vec);
    int buf[12];
    for (int i = 0; i < 12; i++) buf[i] = (i % 2 == 0) ? rank * 100 + i : -1;
    CHECK_EQ(MPI_Sendrecv_replace(buf, 1, vec, right, 401, left, MPI_ANY_TAG, MPI_COMM_WORLD, &st), MPI_SUCCESS);
    for (int i = 0; i < 12; i++) CHECK_EQ(buf[i], (i % 2 == 0) ? left * 100 + i : -1);
    CHECK_EQ(st.MPI_TAG, 401);
    int count;
    MPI_Get_count(&st, vec, &count);
    CHECK_EQ(count, 1);
    MPI_Get_elements(&st, vec, &count);
    CHECK_EQ(count, 6);
    MPI_Type_free(&vec);

    /* With MPI_PROC_NULL on both sides: nothing moves, the status says PROC_NULL. */
    in[0] = 42;
    CHECK_EQ(MPI_Sendrecv(out, 5, MPI_INT, MPI_PROC_NULL, 1, in, 5, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD, &st),
             MPI_SUCCESS);
    CHECK_EQ(in[0], 42);
    CHECK_EQ(st.MPI_SOURCE, MPI_PROC_NULL);
    CHECK_EQ(st.MPI_TAG, MPI_ANY_TAG);
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK_EQ(count, 0);
}

/* Rank 0 receives one message from every other rank with both wildcards. */
static void wildcard_tests(void) {
    if (rank == 0) {
        int seen = 0;
        for (int k = 1; k < size; k++) {
            int v[3];
            MPI_Status st;
            MPI_Recv(v, 3, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            CHECK(st.MPI_SOURCE >= 1 && st.MPI_SOURCE < size);
            CHECK_EQ(st.MPI_TAG, 500 + st.MPI_SOURCE);
            CHECK_EQ(v[0], st.MPI_SOURCE);
            int count;
            MPI_Get_count(&st, MPI_INT, &count);
            CHECK_EQ(count, st.MPI_SOURCE % 3 + 1);
            seen |= 1 << st.MPI_SOURCE;
        }
        CHECK_EQ(seen, ((1 << size) - 1) & ~1);
    } else {
        int v[3] = {rank, rank, rank};
        MPI_Send(v, rank % 3 + 1, MPI_INT, 0, 500 + rank, MPI_COMM_WORLD);
    }
    ring_barrier();
    /* Non-overtaking: 50 messages from rank 1 arrive in order, whatever the tag filter. */
    if (rank == 1) {
        for (int i = 0; i < 50; i++) MPI_Send(&i, 1, MPI_INT, 0, 600 + i % 3, MPI_COMM_WORLD);
    } else if (rank == 0) {
        for (int i = 0; i < 50; i++) {
            int v = -1;
            MPI_Status st;
            MPI_Recv(&v, 1, MPI_INT, 1, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            CHECK_EQ(v, i);
            CHECK_EQ(st.MPI_TAG, 600 + i % 3);
        }
    }
    /* Self: a nonblocking send to oneself, then the receive. */
    int v = rank * 3, w = -1;
    MPI_Request r;
    MPI_Isend(&v, 1, MPI_INT, rank, 650, MPI_COMM_WORLD, &r);
    MPI_Recv(&w, 1, MPI_INT, MPI_ANY_SOURCE, 650, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Wait(&r, MPI_STATUS_IGNORE);
    CHECK_EQ(w, rank * 3);
    /* MPI_PROC_NULL: send and receive complete at once. */
    MPI_Status st;
    CHECK_EQ(MPI_Send(&v, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD), MPI_SUCCESS);
    CHECK_EQ(MPI_Recv(&w, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &st), MPI_SUCCESS);
    CHECK_EQ(st.MPI_SOURCE, MPI_PROC_NULL);
    CHECK_EQ(st.MPI_TAG, MPI_ANY_TAG);
}

static void probe_tests(void) {
    if (rank == 1) {
        int v[7];
        fill(v, 7, 1);
        MPI_Send(v, 7, MPI_INT, 0, 700, MPI_COMM_WORLD);
        MPI_Send(v, 3, MPI_INT, 0, 701, MPI_COMM_WORLD);
        MPI_Send(v, 4, MPI_INT, 0, 702, MPI_COMM_WORLD);
        MPI_Send(v, 5, MPI_INT, 0, 703, MPI_COMM_WORLD);
        MPI_Send(v, 6, MPI_INT, 0, 704, MPI_COMM_WORLD);
    } else if (rank == 0) {
        MPI_Status st;
        int count, flag = 0, v[7];
        /* Probe sees the message and leaves it queued. */
        CHECK_EQ(MPI_Probe(MPI_ANY_SOURCE, 700, MPI_COMM_WORLD, &st), MPI_SUCCESS);
        CHECK_EQ(st.MPI_SOURCE, 1);
        CHECK_EQ(st.MPI_TAG, 700);
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK_EQ(count, 7);
        MPI_Recv(v, 7, MPI_INT, 1, 700, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(verify(v, 7, 1));
        /* Iprobe until the next one is there. */
        while (!flag) CHECK_EQ(MPI_Iprobe(1, 701, MPI_COMM_WORLD, &flag, &st), MPI_SUCCESS);
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK_EQ(count, 3);
        MPI_Recv(v, 3, MPI_INT, 1, 701, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        /* Nothing with this tag: flag 0. */
        CHECK_EQ(MPI_Iprobe(1, 799, MPI_COMM_WORLD, &flag, &st), MPI_SUCCESS);
        CHECK_EQ(flag, 0);
        /* Matched probe: take 703 first (out of order), then 702 with improbe. */
        MPI_Message m = MPI_MESSAGE_NULL;
        CHECK_EQ(MPI_Mprobe(1, 703, MPI_COMM_WORLD, &m, &st), MPI_SUCCESS);
        CHECK(m != MPI_MESSAGE_NULL && m != MPI_MESSAGE_NO_PROC);
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK_EQ(count, 5);
        /* A probed message is no longer visible to probes. */
        CHECK_EQ(MPI_Iprobe(1, 703, MPI_COMM_WORLD, &flag, &st), MPI_SUCCESS);
        CHECK_EQ(flag, 0);
        memset(v, 0, sizeof v);
        CHECK_EQ(MPI_Mrecv(v, 7, MPI_INT, &m, &st), MPI_SUCCESS);
        CHECK(m == MPI_MESSAGE_NULL);
        CHECK(verify(v, 5, 1));
        CHECK_EQ(st.MPI_TAG, 703);
        flag = 0;
        while (!flag) CHECK_EQ(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &m, &st), MPI_SUCCESS);
        CHECK_EQ(st.MPI_TAG, 702);
        MPI_Request r;
        CHECK_EQ(MPI_Imrecv(v, 7, MPI_INT, &m, &r), MPI_SUCCESS);
        CHECK(m == MPI_MESSAGE_NULL);
        CHECK_EQ(MPI_Wait(&r, &st), MPI_SUCCESS);
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK_EQ(count, 4);
        CHECK_EQ(st.MPI_SOURCE, 1);
        MPI_Recv(v, 7, MPI_INT, 1, 704, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    /* Matched probe of MPI_PROC_NULL: MPI_MESSAGE_NO_PROC, received as an empty message. */
    MPI_Message m = MPI_MESSAGE_NULL;
    MPI_Status st;
    int flag = 0, x = 5, count = -1;
    CHECK_EQ(MPI_Improbe(MPI_PROC_NULL, 0, MPI_COMM_WORLD, &flag, &m, &st), MPI_SUCCESS);
    CHECK_EQ(flag, 1);
    CHECK(m == MPI_MESSAGE_NO_PROC);
    CHECK_EQ(st.MPI_SOURCE, MPI_PROC_NULL);
    CHECK_EQ(MPI_Mrecv(&x, 1, MPI_INT, &m, &st), MPI_SUCCESS);
    CHECK(m == MPI_MESSAGE_NULL);
    CHECK_EQ(st.MPI_SOURCE, MPI_PROC_NULL);
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK_EQ(count, 0);
    CHECK_EQ(x, 5);
    CHECK_EQ(MPI_Mprobe(MPI_PROC_NULL, 0, MPI_COMM_WORLD, &m, &st), MPI_SUCCESS);
    CHECK(m == MPI_MESSAGE_NO_PROC);
    MPI_Request r;
    CHECK_EQ(MPI_Imrecv(&x, 1, MPI_INT, &m, &r), MPI_SUCCESS);
    CHECK_EQ(MPI_Wait(&r, &st), MPI_SUCCESS);
    CHECK_EQ(st.MPI_SOURCE, MPI_PROC_NULL);
    /* Probe of MPI_PROC_NULL returns at once. */
    CHECK_EQ(MPI_Probe(MPI_PROC_NULL, 0, MPI_COMM_WORLD, &st), MPI_SUCCESS);
    CHECK_EQ(st.MPI_SOURCE, MPI_PROC_NULL);
}

/* Bad arguments under MPI_ERRORS_RETURN: the standard's error classes, nothing sent. */
static void error_tests(void) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int x[10] = {0};
    MPI_Request r = MPI_REQUEST_NULL;
    MPI_Status st;
    CHECK_CLASS(MPI_Send(x, 1, MPI_INT, size, 0, MPI_COMM_WORLD), MPI_ERR_RANK);
    CHECK_CLASS(MPI_Send(x, 1, MPI_INT, -5, 0, MPI_COMM_WORLD), MPI_ERR_RANK);
    CHECK_CLASS(MPI_Send(x, 1, MPI_INT, MPI_ANY_SOURCE, 0, MPI_COMM_WORLD), MPI_ERR_RANK);
    CHECK_CLASS(MPI_Send(x, 1, MPI_INT, 0, -1, MPI_COMM_WORLD), MPI_ERR_TAG);
    CHECK_CLASS(MPI_Send(x, -1, MPI_INT, 0, 0, MPI_COMM_WORLD), MPI_ERR_COUNT);
    CHECK_CLASS(MPI_Send(x, 1, MPI_DATATYPE_NULL, 0, 0, MPI_COMM_WORLD), MPI_ERR_TYPE);
    CHECK_CLASS(MPI_Send(x, 1, MPI_INT, 0, 0, MPI_COMM_NULL), MPI_ERR_COMM);
    CHECK_CLASS(MPI_Send(NULL, 1, MPI_INT, 0, 0, MPI_COMM_WORLD), MPI_ERR_BUFFER);
    CHECK_CLASS(MPI_Isend(x, 1, MPI_INT, size + 3, 0, MPI_COMM_WORLD, &r), MPI_ERR_RANK);
    CHECK(r == MPI_REQUEST_NULL);
    CHECK_CLASS(MPI_Issend(x, 1, MPI_INT, 0, -7, MPI_COMM_WORLD, &r), MPI_ERR_TAG);
    CHECK_CLASS(MPI_Irecv(x, 1, MPI_INT, 0, 0, MPI_COMM_WORLD, NULL), MPI_ERR_ARG);
    CHECK_CLASS(MPI_Recv(x, 1, MPI_INT, size, 0, MPI_COMM_WORLD, &st), MPI_ERR_RANK);
    CHECK_CLASS(MPI_Recv(x, 1, MPI_INT, 0, -3, MPI_COMM_WORLD, &st), MPI_ERR_TAG);
    CHECK_CLASS(MPI_Probe(size, 0, MPI_COMM_WORLD, &st), MPI_ERR_RANK);
    int flag;
    CHECK_CLASS(MPI_Iprobe(0, -4, MPI_COMM_WORLD, &flag, &st), MPI_ERR_TAG);
    CHECK_CLASS(MPI_Iprobe(0, 0, MPI_COMM_NULL, &flag, &st), MPI_ERR_COMM);
    MPI_Datatype uncommitted;
    MPI_Type_contiguous(2, MPI_INT, &uncommitted);
    CHECK_CLASS(MPI_Send(x, 1, uncommitted, 0, 0, MPI_COMM_WORLD), MPI_ERR_TYPE);
    MPI_Type_free(&uncommitted);
    /* No buffer attached. */
    CHECK_CLASS(MPI_Bsend(x, 1, MPI_INT, 0, 0, MPI_COMM_WORLD), MPI_ERR_BUFFER);
    CHECK_CLASS(MPI_Buffer_attach(x, -1), MPI_ERR_ARG);
    MPI_Message m = MPI_MESSAGE_NULL;
    CHECK_CLASS(MPI_Mrecv(x, 1, MPI_INT, &m, &st), MPI_ERR_REQUEST);
    CHECK_CLASS(MPI_Sendrecv(x, 1, MPI_INT, 0, 0, x, 1, MPI_INT, size, 0, MPI_COMM_WORLD, &st), MPI_ERR_RANK);
    CHECK_CLASS(MPI_Sendrecv(x, 1, MPI_INT, size, 0, x, 1, MPI_INT, 0, 0, MPI_COMM_WORLD, &st), MPI_ERR_RANK);
    /* Truncation: 10 ints into room for 5; the status and the return say MPI_ERR_TRUNCATE. */
    if (rank == 1) {
        MPI_Send(x, 10, MPI_INT, 0, 800, MPI_COMM_WORLD);
        MPI_Send(x, 10, MPI_INT, 0, 801, MPI_COMM_WORLD);
    } else if (rank == 0) {
        CHECK_CLASS(MPI_Recv(x, 5, MPI_INT, 1, 800, MPI_COMM_WORLD, &st), MPI_ERR_TRUNCATE);
        CHECK_CLASS(MPI_Irecv(x, 5, MPI_INT, 1, 801, MPI_COMM_WORLD, &r), MPI_SUCCESS);
        CHECK_CLASS(MPI_Wait(&r, &st), MPI_ERR_TRUNCATE);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    /* A failed completion goes to the handler of the request's communicator: with
       MPI_COMM_WORLD fatal and a duplicate returning codes, a truncated receive on the
       duplicate comes back as MPI_ERR_TRUNCATE instead of aborting (as Open MPI does; MPICH
       4.0 applies MPI_COMM_WORLD's handler in MPI_Wait, so this is asked of Ferry only). */
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int liblen;
    MPI_Get_library_version(lib, &liblen);
    if (!strstr(lib, "Ferry")) return;
    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    if (rank == 1) {
        MPI_Send(x, 10, MPI_INT, 0, 802, dup);
        MPI_Send(x, 10, MPI_INT, 0, 803, dup);
    } else if (rank == 0) {
        int i = -1;
        CHECK_CLASS(MPI_Irecv(x, 5, MPI_INT, 1, 802, dup, &r), MPI_SUCCESS);
        CHECK_CLASS(MPI_Wait(&r, &st), MPI_ERR_TRUNCATE);
        CHECK_CLASS(MPI_Irecv(x, 5, MPI_INT, 1, 803, dup, &r), MPI_SUCCESS);
        CHECK_CLASS(MPI_Waitany(1, &r, &i, &st), MPI_ERR_TRUNCATE);
        CHECK_EQ(i, 0);
    }
    MPI_Comm_free(&dup);
}

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 120);
    rank = my_rank;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    STAGE("ring_blocking(10)"); ring_blocking(10);
    STAGE("ring_blocking(100000)"); ring_blocking(100000);      /* rendezvous sizes */
    STAGE("ring_barrier()"); ring_barrier();
    STAGE("ring_nonblocking(16)"); ring_nonblocking(16);
    STAGE("ring_nonblocking(70000)"); ring_nonblocking(70000);
    STAGE("ring_barrier()"); ring_barrier();
    STAGE("sendrecv_tests()"); sendrecv_tests();
    STAGE("ring_barrier()"); ring_barrier();
    STAGE("wildcard_tests()"); wildcard_tests();
    STAGE("ring_barrier()"); ring_barrier();
    STAGE("probe_tests()"); probe_tests();
    STAGE("ring_barrier()"); ring_barrier();
    STAGE("error_tests()"); error_tests();
    STAGE("ring_barrier()"); ring_barrier();
    return test_end("p2p_modes");
}
