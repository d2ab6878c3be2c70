/* Neighborhood collectives (MPI-3.1 §7.6-7.7) with value checks, on a periodic 1-D Cartesian
 * ring (left and right neighbours, the same process when the ring has 1 or 2 ranks) and on a
 * distributed graph where rank r sends to r+1 and r+2 and receives from r-1 and r-2 (slot i
 * of a source receives what that source sent in its slot i), with irregular counts, gaps
 * between blocks and per-neighbour datatypes.
 * Built as it is (coll_neighbor) and through coll_ineighbor.c, which defines NONBLOCKING
 * (MPI_Ineighbor_* + MPI_Wait).
 * ranks: 1 2 3 4 8 */
#include "common.h"

#ifdef NONBLOCKING
#define TEST_NAME "coll_ineighbor"
#else
#define TEST_NAME "coll_neighbor"
#endif

static void cartesian(void) {
    int dims[1] = {size_}, periods[1] = {1};
    MPI_Comm ring;
    CHECK_RC(MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring), "MPI_Cart_create");
    int r, n = size_;
    MPI_Comm_rank(ring, &r);
    int left = (r - 1 + n) % n, right = (r + 1) % n;
    enum { B = 3 };
    int send[2 * B], recv[2 * B];
    for (int j = 0; j < B; j++) send[j] = r * 10 + j;
    for (int j = 0; j < 2 * B; j++) recv[j] = -1;
    COLL(Neighbor_allgather, neighbor_allgather, send, B, MPI_INT, recv, B, MPI_INT, ring);
    for (int j = 0; j < B; j++) {
        CHECK(recv[j] == left * 10 + j, "cart allgather from left [%d] = %d", j, recv[j]);
        CHECK(recv[B + j] == right * 10 + j, "cart allgather from right [%d] = %d", j, recv[B + j]);
    }
    /* Alltoall: block 0 goes left, block 1 right; block 0 comes from the left neighbour
     * (its block 1), block 1 from the right one (its block 0). */
    for (int i = 0; i < 2; i++) for (int j = 0; j < B; j++) send[i * B + j] = r * 100 + i * 10 + j;
    for (int j = 0; j < 2 * B; j++) recv[j] = -1;
    COLL(Neighbor_alltoall, neighbor_alltoall, send, B, MPI_INT, recv, B, MPI_INT, ring);
    for (int j = 0; j < B; j++) {
        CHECK(recv[j] == left * 100 + 10 + j, "cart alltoall from left [%d] = %d", j, recv[j]);
        CHECK(recv[B + j] == right * 100 + j, "cart alltoall from right [%d] = %d", j, recv[B + j]);
    }
    /* Allgatherv with a gap: 2 ints from each side, the right block at offset 5. */
    int counts[2] = {2, 2}, displs[2] = {0, 5}, big[8];
    for (int j = 0; j < 8; j++) big[j] = -1;
    COLL(Neighbor_allgatherv, neighbor_allgatherv, send, 2, MPI_INT, big, counts, displs, MPI_INT, ring);
    for (int j = 0; j < 2; j++) {
        CHECK(big[j] == left * 100 + j, "cart allgatherv from left [%d] = %d", j, big[j]);
        CHECK(big[5 + j] == right * 100 + j, "cart allgatherv from right [%d] = %d", j, big[5 + j]);
    }
    CHECK(big[2] == -1 && big[4] == -1 && big[7] == -1, "cart allgatherv wrote into a gap");
    MPI_Comm_free(&ring);
}

static void distributed_graph(void) {
    int n = size_, r = rank_;
    int sources[2] = {(r - 1 + 2 * n) % n, (r - 2 + 2 * n) % n};
    int dests[2] = {(r + 1) % n, (r + 2) % n};
    MPI_Comm g;
    CHECK_RC(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 2, sources, MPI_UNWEIGHTED, 2, dests, MPI_UNWEIGHTED,
                                            MPI_INFO_NULL, 0, &g), "MPI_Dist_graph_create_adjacent");
    /* Allgatherv: rank s sends s % 3 + 1 ints; gaps of 2 between the receive blocks. */
    int mine[3], rc[2], rd[2], buf[16];
    for (int j = 0; j < 3; j++) mine[j] = r * 10 + j;
    for (int i = 0; i < 2; i++) rc[i] = sources[i] % 3 + 1;
    rd[0] = 0; rd[1] = rc[0] + 2;
    for (int j = 0; j < 16; j++) buf[j] = -1;
    COLL(Neighbor_allgatherv, neighbor_allgatherv, mine, r % 3 + 1, MPI_INT, buf, rc, rd, MPI_INT, g);
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < rc[i]; j++) CHECK(buf[rd[i] + j] == sources[i] * 10 + j, "graph allgatherv slot %d [%d] = %d", i, j, buf[rd[i] + j]);
        CHECK(buf[rd[i] + rc[i]] == -1, "graph allgatherv wrote into a gap");
    }
    /* Alltoallv: slot i of rank s carries (s + i) % 3 ints valued s*100 + i*10 + j, stored at
     * 4 * (1 - i) (reversed); received at 5 * i. */
    int sc[2], sd[2], rcount[2], rdisp[2], s[8], d[10];
    for (int i = 0; i < 2; i++) {
        sc[i] = (r + i) % 3; sd[i] = 4 * (1 - i);
        rcount[i] = (sources[i] + i) % 3; rdisp[i] = 5 * i;
        for (int j = 0; j < 4; j++) s[sd[i] + j] = r * 100 + i * 10 + j;
    }
    for (int j = 0; j < 10; j++) d[j] = -1;
    COLL(Neighbor_alltoallv, neighbor_alltoallv, s, sc, sd, MPI_INT, d, rcount, rdisp, MPI_INT, g);
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < rcount[i]; j++) CHECK(d[rdisp[i] + j] == sources[i] * 100 + i * 10 + j, "graph alltoallv slot %d [%d] = %d", i, j, d[rdisp[i] + j]);
        for (int j = rcount[i]; j < 5; j++) CHECK(d[rdisp[i] + j] == -1, "graph alltoallv wrote past slot %d", i);
    }
    /* Alltoallw: the same traffic, slot 1 received through vector(c, 1, 2) (a stride-2 view),
     * MPI_Aint byte displacements. */
    MPI_Datatype vt[3], stypes[2] = {MPI_INT, MPI_INT}, rtypes[2];
    for (int c = 0; c < 3; c++) { MPI_Type_vector(c, 1, 2, MPI_INT, &vt[c]); MPI_Type_commit(&vt[c]); }
    MPI_Aint sdb[2], rdb[2];
    int wrc[2], w[12];
    for (int i = 0; i < 2; i++) { sdb[i] = (MPI_Aint)sizeof(int) * sd[i]; rdb[i] = (MPI_Aint)sizeof(int) * 6 * i; }
    rtypes[0] = MPI_INT; wrc[0] = rcount[0];
    rtypes[1] = vt[rcount[1]]; wrc[1] = 1;
    for (int j = 0; j < 12; j++) w[j] = -1;
    COLL(Neighbor_alltoallw, neighbor_alltoallw, s, sc, sdb, stypes, w, wrc, rdb, rtypes, g);
    for (int j = 0; j < rcount[0]; j++) CHECK(w[j] == sources[0] * 100 + j, "graph alltoallw slot 0 [%d] = %d", j, w[j]);
    for (int j = 0; j < rcount[1]; j++) CHECK(w[6 + 2 * j] == sources[1] * 100 + 10 + j, "graph alltoallw slot 1 [%d] = %d", j, w[6 + 2 * j]);
    if (rcount[1] == 2) CHECK(w[7] == -1, "graph alltoallw wrote into a vector gap");
    for (int c = 0; c < 3; c++) MPI_Type_free(&vt[c]);
    MPI_Comm_free(&g);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    TRACE("cartesian"); cartesian();
    TRACE("distributed graph"); distributed_graph();
#ifdef NONBLOCKING
    /* Several outstanding on one topology communicator, completed in reverse order. */
    int dims[1] = {size_}, periods[1] = {1};
    MPI_Comm ring;
    MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring);
    int left = (rank_ - 1 + size_) % size_, right = (rank_ + 1) % size_;
    int a[2][2], b[2][2], v[2] = {rank_, -rank_};
    MPI_Request q[2];
    MPI_Ineighbor_allgather(&v[0], 1, MPI_INT, a[0], 1, MPI_INT, ring, &q[0]);
    MPI_Ineighbor_alltoall(v, 1, MPI_INT, b[0], 1, MPI_INT, ring, &q[1]);
    MPI_Wait(&q[1], MPI_STATUS_IGNORE);
    MPI_Wait(&q[0], MPI_STATUS_IGNORE);
    CHECK(a[0][0] == left && a[0][1] == right, "outstanding ineighbor_allgather: %d %d", a[0][0], a[0][1]);
    CHECK(b[0][0] == -left && b[0][1] == right, "outstanding ineighbor_alltoall: %d %d", b[0][0], b[0][1]);
    /* Without a topology: MPI_ERR_TOPOLOGY, returned. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Request bad;
    int rc = MPI_Ineighbor_allgather(&v[0], 1, MPI_INT, a[0], 1, MPI_INT, MPI_COMM_WORLD, &bad);
    int cls = -1;
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_TOPOLOGY, "ineighbor on a communicator without topology: class %d", cls);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    (void)b[1]; (void)a[1];
    MPI_Comm_free(&ring);
#endif
    return finish_test(TEST_NAME);
}
