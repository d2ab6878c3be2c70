/* Ports, the name service, MPI_Comm_accept / MPI_Comm_connect and MPI_Comm_join inside one job.
 * ranks: 2 3 4
 *
 *   1. rank 0 opens a port and publishes it (service name with its pid: parallel runs do not
 *      clash); the others (a communicator without rank 0, from MPI_Comm_create) look it up,
 *      check it is the port rank 0 opened, and connect; rank 0 accepts on MPI_COMM_SELF.
 *      Point-to-point both ways, MPI_Bcast with MPI_ROOT both ways, MPI_Allreduce on the
 *      intercommunicator, MPI_Intercomm_merge (+ MPI_Allreduce, MPI_Comm_compare).
 *   2. the reverse: the group's root opens and publishes a second port, the group accepts,
 *      rank 0 looks it up and connects; point-to-point, MPI_Allgather, MPI_Barrier.
 *   3. errors (MPI_ERRORS_RETURN on MPI_COMM_WORLD and MPI_COMM_SELF): publishing a name
 *      another live process holds (Ferry: MPI_ERR_SERVICE, the record unchanged), lookup of
 *      an unpublished name (MPI_ERR_NAME), unpublishing it again (MPI_ERR_SERVICE), connecting
 *      to a closed port and to "not-a-port" (MPI_ERR_PORT, MPI_COMM_NULL), closing a port that
 *      is not open (Ferry: MPI_ERR_PORT; the standard names no class).
 *   4. MPI_Comm_join between ranks 0 and 1 over a TCP connection on the loopback interface. */
#include "../comm/common.h"
#include <unistd.h>
#include <errno.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

static void check_sizes(MPI_Comm ic, int lsize, int rsize, const char *what) {
    int inter = 0, l = -1, r = -1;
    MPI_Comm_test_inter(ic, &inter);
    MPI_Comm_size(ic, &l);
    MPI_Comm_remote_size(ic, &r);
    CHECK(inter && l == lsize && r == rsize, "%s: inter %d, local size %d (expected %d), remote size %d (expected %d)",
          what, inter, l, lsize, r, rsize);
}

/* Phase 1: rank 0 accepts on MPI_COMM_SELF, the others connect. */
static void accept_at_rank0(MPI_Comm others, const char *service) {
    char port[MPI_MAX_PORT_NAME];
    memset(port, 0, sizeof port);
    if (rank_ == 0) {
        CHECK_RC(MPI_Open_port(MPI_INFO_NULL, port), "MPI_Open_port");
        CHECK(port[0] != 0, "MPI_Open_port gave an empty name");
        CHECK_RC(MPI_Publish_name(service, MPI_INFO_NULL, port), "MPI_Publish_name");
    }
    /* Published before rank 0 sends: the others look it up after receiving. */
    MPI_Bcast(port, MPI_MAX_PORT_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);

    MPI_Comm ic = MPI_COMM_NULL;
    int n = size_ - 1;
    if (rank_ == 0) {
        CHECK_RC(MPI_Comm_accept(port, MPI_INFO_NULL, 0, MPI_COMM_SELF, &ic), "MPI_Comm_accept");
    } else {
        char found[MPI_MAX_PORT_NAME];
        memset(found, 0, sizeof found);
        CHECK_RC(MPI_Lookup_name(service, MPI_INFO_NULL, found), "MPI_Lookup_name");
        CHECK(strcmp(found, port) == 0, "MPI_Lookup_name gave '%s', rank 0 opened '%s'", found, port);
        CHECK_RC(MPI_Comm_connect(found, MPI_INFO_NULL, 0, others, &ic), "MPI_Comm_connect");
    }
    if (ic == MPI_COMM_NULL) { fprintf(stderr, "rank %d: no intercommunicator\n", rank_); MPI_Abort(MPI_COMM_WORLD, 3); }
    int r = -1;
    MPI_Comm_rank(ic, &r);
    if (rank_ == 0) { check_sizes(ic, 1, n, "accept"); CHECK(r == 0, "accept: rank %d", r); }
    else { check_sizes(ic, n, 1, "connect"); CHECK(r == rank_ - 1, "connect: rank %d, expected %d", r, rank_ - 1); }

    /* Point-to-point both ways. */
    if (rank_ == 0) {
        for (int k = 0; k < n; k++) {
            int v = 100 + 3 * k;
            CHECK_RC(MPI_Send(&v, 1, MPI_INT, k, 1, ic), "MPI_Send (acceptor)");
        }
        for (int k = 0; k < n; k++) {
            int v = -1;
            MPI_Status st;
            CHECK_RC(MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, 2, ic, &st), "MPI_Recv (acceptor)");
            CHECK(st.MPI_SOURCE >= 0 && st.MPI_SOURCE < n && v == st.MPI_SOURCE * st.MPI_SOURCE + 7,
                  "acceptor got %d from %d", v, st.MPI_SOURCE);
        }
    } else {
        int v = -1;
        CHECK_RC(MPI_Recv(&v, 1, MPI_INT, 0, 1, ic, MPI_STATUS_IGNORE), "MPI_Recv (connector)");
        CHECK(v == 100 + 3 * r, "connector %d got %d", r, v);
        v = r * r + 7;
        CHECK_RC(MPI_Send(&v, 1, MPI_INT, 0, 2, ic), "MPI_Send (connector)");
    }

    /* MPI_Bcast: rank 0 → the group, then the group's rank 0 → rank 0. */
    int b[5];
    for (int i = 0; i < 5; i++) b[i] = rank_ == 0 ? i * i + 1 : -1;
    CHECK_RC(MPI_Bcast(b, 5, MPI_INT, rank_ == 0 ? MPI_ROOT : 0, ic), "MPI_Bcast from the acceptor");
    for (int i = 0; i < 5; i++) CHECK(b[i] == i * i + 1, "bcast from the acceptor: b[%d] = %d", i, b[i]);
    for (int i = 0; i < 5; i++) b[i] = rank_ == 1 ? 3 * i - 2 : -1;
    CHECK_RC(MPI_Bcast(b, 5, MPI_INT, rank_ == 0 ? 0 : r == 0 ? MPI_ROOT : MPI_PROC_NULL, ic), "MPI_Bcast from the group");
    if (rank_ == 0) for (int i = 0; i < 5; i++) CHECK(b[i] == 3 * i - 2, "bcast from the group: b[%d] = %d", i, b[i]);

    /* MPI_Allreduce on the intercommunicator: each side gets the other side's sum. */
    int mine = rank_ == 0 ? 1000 : rank_, sum = -1;
    CHECK_RC(MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, ic), "MPI_Allreduce (intercommunicator)");
    int expect = rank_ == 0 ? size_ * (size_ - 1) / 2 : 1000;
    CHECK(sum == expect, "intercommunicator allreduce: %d, expected %d", sum, expect);

    /* Merge with the group high: the merged order is the world order. */
    MPI_Comm merged;
    CHECK_RC(MPI_Intercomm_merge(ic, rank_ != 0, &merged), "MPI_Intercomm_merge");
    int mrank = -1, msize = -1, cmp = -1;
    MPI_Comm_rank(merged, &mrank);
    MPI_Comm_size(merged, &msize);
    CHECK(mrank == rank_ && msize == size_, "merged rank %d size %d", mrank, msize);
    sum = -1;
    CHECK_RC(MPI_Allreduce(&mrank, &sum, 1, MPI_INT, MPI_SUM, merged), "MPI_Allreduce (merged)");
    CHECK(sum == size_ * (size_ - 1) / 2, "merged allreduce: %d", sum);
    MPI_Comm_compare(merged, MPI_COMM_WORLD, &cmp);
    CHECK(cmp == MPI_CONGRUENT, "MPI_Comm_compare(merged, world) = %d, expected MPI_CONGRUENT", cmp);
    MPI_Comm_free(&merged);
    CHECK_RC(MPI_Comm_disconnect(&ic), "MPI_Comm_disconnect");
    CHECK(ic == MPI_COMM_NULL, "the handle is not MPI_COMM_NULL after MPI_Comm_disconnect");
}

/* Phase 2: the group (root: world rank 1) accepts, rank 0 connects. */
static void accept_in_group(MPI_Comm others, const char *service) {
    char port[MPI_MAX_PORT_NAME];
    memset(port, 0, sizeof port);
    if (rank_ == 1) {
        CHECK_RC(MPI_Open_port(MPI_INFO_NULL, port), "MPI_Open_port (group)");
        CHECK_RC(MPI_Publish_name(service, MPI_INFO_NULL, port), "MPI_Publish_name (group)");
    }
    MPI_Bcast(port, MPI_MAX_PORT_NAME, MPI_CHAR, 1, MPI_COMM_WORLD);
    MPI_Comm ic = MPI_COMM_NULL;
    int n = size_ - 1;
    if (rank_ == 0) {
        char found[MPI_MAX_PORT_NAME];
        memset(found, 0, sizeof found);
        CHECK_RC(MPI_Lookup_name(service, MPI_INFO_NULL, found), "MPI_Lookup_name (rank 0)");
        CHECK(strcmp(found, port) == 0, "MPI_Lookup_name gave '%s', rank 1 opened '%s'", found, port);
        CHECK_RC(MPI_Comm_connect(found, MPI_INFO_NULL, 0, MPI_COMM_SELF, &ic), "MPI_Comm_connect (rank 0)");
    } else {
        /* The port name is significant at the root only. */
        CHECK_RC(MPI_Comm_accept(rank_ == 1 ? port : "ignored", MPI_INFO_NULL, 0, others, &ic), "MPI_Comm_accept (group)");
    }
    if (ic == MPI_COMM_NULL) { fprintf(stderr, "rank %d: no intercommunicator\n", rank_); MPI_Abort(MPI_COMM_WORLD, 3); }
    if (rank_ == 0) check_sizes(ic, 1, n, "connect (rank 0)");
    else check_sizes(ic, n, 1, "accept (group)");

    if (rank_ == 0) {
        for (int k = 0; k < n; k++) {
            int v[2] = { -1, -1 };
            CHECK_RC(MPI_Recv(v, 2, MPI_INT, k, 3, ic, MPI_STATUS_IGNORE), "MPI_Recv (rank 0)");
            CHECK(v[0] == k && v[1] == 50 - k, "rank 0 got {%d, %d} from %d", v[0], v[1], k);
            int w = v[1] * 2;
            CHECK_RC(MPI_Send(&w, 1, MPI_INT, k, 4, ic), "MPI_Send (rank 0)");
        }
    } else {
        int v[2] = { rank_ - 1, 50 - (rank_ - 1) }, w = -1;
        CHECK_RC(MPI_Send(v, 2, MPI_INT, 0, 3, ic), "MPI_Send (group)");
        CHECK_RC(MPI_Recv(&w, 1, MPI_INT, 0, 4, ic, MPI_STATUS_IGNORE), "MPI_Recv (group)");
        CHECK(w == 2 * v[1], "group member got %d, expected %d", w, 2 * v[1]);
    }

    /* MPI_Allgather on the intercommunicator: each side gets the other side's values. */
    int mine = 10 * rank_ + 1, got[8];
    for (int i = 0; i < 8; i++) got[i] = -1;
    CHECK_RC(MPI_Allgather(&mine, 1, MPI_INT, got, 1, MPI_INT, ic), "MPI_Allgather (intercommunicator)");
    if (rank_ == 0) for (int k = 0; k < n; k++) CHECK(got[k] == 10 * (k + 1) + 1, "allgather at rank 0: [%d] = %d", k, got[k]);
    else CHECK(got[0] == 1, "allgather in the group: %d, expected 1", got[0]);
    CHECK_RC(MPI_Barrier(ic), "MPI_Barrier (intercommunicator)");
    CHECK_RC(MPI_Comm_disconnect(&ic), "MPI_Comm_disconnect (reverse)");
    if (rank_ == 1) {
        CHECK_RC(MPI_Unpublish_name(service, MPI_INFO_NULL, port), "MPI_Unpublish_name (group)");
        CHECK_RC(MPI_Close_port(port), "MPI_Close_port (group)");
    }
}

/* Phase 3: the error classes. rank 0 still has `service` published with its port. */
static void errors(const char *service) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    char port[MPI_MAX_PORT_NAME], found[MPI_MAX_PORT_NAME];
    memset(port, 0, sizeof port);
    if (rank_ == 0) {
        CHECK_RC(MPI_Lookup_name(service, MPI_INFO_NULL, port), "MPI_Lookup_name of rank 0's own service");
    }
    MPI_Bcast(port, MPI_MAX_PORT_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);
    /* Publishing a name that a live process holds: implementation-defined in the standard. */
    if (rank_ == 1 && is_ferry()) {
        int rc = MPI_Publish_name(service, MPI_INFO_NULL, "ferry-port:someone-else");
        CHECK_CLASS(rc, MPI_ERR_SERVICE, "MPI_Publish_name of a name rank 0 holds");
        memset(found, 0, sizeof found);
        CHECK_RC(MPI_Lookup_name(service, MPI_INFO_NULL, found), "MPI_Lookup_name after the refused publish");
        CHECK(strcmp(found, port) == 0, "the record changed to '%s'", found);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank_ == 0) CHECK_RC(MPI_Unpublish_name(service, MPI_INFO_NULL, port), "MPI_Unpublish_name");
    MPI_Barrier(MPI_COMM_WORLD);

    int rc = MPI_Lookup_name(service, MPI_INFO_NULL, found);
    CHECK_CLASS(rc, MPI_ERR_NAME, "MPI_Lookup_name of an unpublished name");
    if (rank_ == 0) {
        rc = MPI_Unpublish_name(service, MPI_INFO_NULL, port);
        CHECK_CLASS(rc, MPI_ERR_SERVICE, "MPI_Unpublish_name of an unpublished name");
        CHECK_RC(MPI_Close_port(port), "MPI_Close_port");
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Connecting to the closed port, and to something that is no port, on MPI_COMM_SELF. */
    MPI_Comm ic = MPI_COMM_WORLD;
    rc = MPI_Comm_connect(port, MPI_INFO_NULL, 0, MPI_COMM_SELF, &ic);
    CHECK_CLASS(rc, MPI_ERR_PORT, "MPI_Comm_connect to a closed port");
    CHECK(ic == MPI_COMM_NULL, "MPI_Comm_connect to a closed port left a communicator");
    ic = MPI_COMM_WORLD;
    rc = MPI_Comm_connect("not-a-port", MPI_INFO_NULL, 0, MPI_COMM_SELF, &ic);
    CHECK_CLASS(rc, MPI_ERR_PORT, "MPI_Comm_connect to 'not-a-port'");
    CHECK(ic == MPI_COMM_NULL, "MPI_Comm_connect to 'not-a-port' left a communicator");

    /* Closing a port this process has not opened (or closed already): the standard names no
     * error class for it (Open MPI returns MPI_SUCCESS); Ferry's is MPI_ERR_PORT. */
    if (is_ferry()) {
        if (rank_ == 0) {
            rc = MPI_Close_port(port);
            CHECK_CLASS(rc, MPI_ERR_PORT, "MPI_Close_port of a closed port");
        }
        char unknown[MPI_MAX_PORT_NAME + 16];
        snprintf(unknown, sizeof unknown, "%s-unknown", port[0] ? port : "ferry-port:1-1-1");
        rc = MPI_Close_port(unknown);
        CHECK_CLASS(rc, MPI_ERR_PORT, "MPI_Close_port of an unknown port");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
}

/* Phase 4: MPI_Comm_join between ranks 0 and 1 over a loopback TCP connection. */
static void join(void) {
    if (rank_ > 1) return;
    int fd = -1, port = -1;
    if (rank_ == 0) {
        int ls = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        socklen_t len = sizeof a;
        if (ls >= 0 && bind(ls, (struct sockaddr *)&a, sizeof a) == 0 && listen(ls, 1) == 0 &&
            getsockname(ls, (struct sockaddr *)&a, &len) == 0) {
            port = ntohs(a.sin_port);
        } else {
            CHECK(0, "listening on 127.0.0.1: %s", strerror(errno));
        }
        MPI_Send(&port, 1, MPI_INT, 1, 50, MPI_COMM_WORLD);
        if (port > 0) {
            fd = accept(ls, NULL, NULL);
            CHECK(fd >= 0, "accept: %s", strerror(errno));
        }
        if (ls >= 0) close(ls);
    } else {
        MPI_Recv(&port, 1, MPI_INT, 0, 50, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (port > 0) {
            fd = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a;
            memset(&a, 0, sizeof a);
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            a.sin_port = htons((unsigned short)port);
            if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
                CHECK(0, "connecting to 127.0.0.1:%d: %s", port, strerror(errno));
                if (fd >= 0) close(fd);
                fd = -1;
            }
        }
    }
    /* Both go on only if both have their end of the connection. */
    int ok = fd >= 0, other = 0;
    MPI_Sendrecv(&ok, 1, MPI_INT, 1 - rank_, 51, &other, 1, MPI_INT, 1 - rank_, 51, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (ok && other) {
        MPI_Comm jc = MPI_COMM_NULL;
        CHECK_RC(MPI_Comm_join(fd, &jc), "MPI_Comm_join");
        if (jc != MPI_COMM_NULL) {
            check_sizes(jc, 1, 1, "MPI_Comm_join");
            /* The remote process is the other rank of MPI_COMM_WORLD. */
            MPI_Group rg, wg;
            int zero = 0, w = -1;
            MPI_Comm_remote_group(jc, &rg);
            MPI_Comm_group(MPI_COMM_WORLD, &wg);
            MPI_Group_translate_ranks(rg, 1, &zero, wg, &w);
            CHECK(w == 1 - rank_, "the joined process is world rank %d, expected %d", w, 1 - rank_);
            MPI_Group_free(&rg);
            MPI_Group_free(&wg);
            int mine[3] = { 4200 + rank_, rank_, -rank_ }, theirs[3] = { -1, -1, -1 };
            CHECK_RC(MPI_Sendrecv(mine, 3, MPI_INT, 0, 52, theirs, 3, MPI_INT, 0, 52, jc, MPI_STATUS_IGNORE), "MPI_Sendrecv (joined)");
            CHECK(theirs[0] == 4200 + (1 - rank_) && theirs[1] == 1 - rank_ && theirs[2] == rank_ - 1,
                  "joined exchange: {%d, %d, %d}", theirs[0], theirs[1], theirs[2]);
            CHECK_RC(MPI_Comm_disconnect(&jc), "MPI_Comm_disconnect (joined)");
        }
    }
    if (fd >= 0) close(fd);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    if (size_ < 2) {
        if (rank_ == 0) fprintf(stderr, "ports needs at least 2 processes\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    /* The group of every rank but 0 (rank 0 gets MPI_COMM_NULL). */
    MPI_Group world_group, others_group;
    MPI_Comm others = MPI_COMM_NULL;
    int zero = 0;
    MPI_Comm_group(MPI_COMM_WORLD, &world_group);
    MPI_Group_excl(world_group, 1, &zero, &others_group);
    MPI_Comm_create(MPI_COMM_WORLD, others_group, &others);
    MPI_Group_free(&others_group);
    MPI_Group_free(&world_group);
    CHECK((others == MPI_COMM_NULL) == (rank_ == 0), "MPI_Comm_create: the communicator without rank 0");

    int pid0 = (int)getpid();
    MPI_Bcast(&pid0, 1, MPI_INT, 0, MPI_COMM_WORLD);
    char service[64], service2[64];
    snprintf(service, sizeof service, "ferry-test-ports-%d", pid0);
    snprintf(service2, sizeof service2, "ferry-test-ports-%d-reverse", pid0);

    accept_at_rank0(others, service);
    accept_in_group(others, service2);
    errors(service);
    join();
    if (others != MPI_COMM_NULL) MPI_Comm_free(&others);
    return finish_test("ports");
}
