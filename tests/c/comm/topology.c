/* ranks: 1 2 3 4
 * Virtual topologies (MPI-3.1 chapter 7) and the blocking neighborhood collectives:
 * MPI_Dims_create against known balanced factorizations; Cartesian grids (periodic and not,
 * with a 2x2 grid at 4 ranks) with Cart_get/rank/coords/shift/sub/map and Topo_test; graphs
 * (ring with a chord) with Graph_get/neighbors/map; distributed graphs built adjacently and
 * through MPI_Dist_graph_create (weighted and MPI_UNWEIGHTED); and Neighbor_allgather(v) /
 * Neighbor_alltoall(v,w) on each, checking every received slot (MPI_PROC_NULL slots stay
 * untouched). Errors: MPI_ERR_TOPOLOGY without a topology. Any size (1-4 tested). */
#include "common.h"

#define MAXN 64

/* ---- Dims_create ---------------------------------------------------------------------- */

static void test_dims(void) {
    struct { int n, nd, want[4]; } cases[] = {
        {6, 2, {3, 2}}, {12, 2, {4, 3}}, {16, 3, {4, 2, 2}}, {72, 3, {6, 4, 3}}, {30, 3, {5, 3, 2}},
        {7, 2, {7, 1}}, {1, 3, {1, 1, 1}}, {24, 4, {3, 2, 2, 2}}, {100, 3, {5, 5, 4}}, {64, 4, {4, 4, 2, 2}},
        {90, 3, {6, 5, 3}}, {36, 3, {4, 3, 3}}, {48, 3, {4, 4, 3}}, {120, 4, {5, 4, 3, 2}}, {1000, 3, {10, 10, 10}},
        {4, 2, {2, 2}}, {2, 1, {2}},
    };
    for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int d[4] = {0, 0, 0, 0};
        CHECK_RC(MPI_Dims_create(cases[c].n, cases[c].nd, d), "Dims_create");
        for (int i = 0; i < cases[c].nd; i++)
            CHECK(d[i] == cases[c].want[i], "Dims_create(%d, %d)[%d] = %d, want %d", cases[c].n, cases[c].nd, i, d[i], cases[c].want[i]);
    }
    int d[3] = {0, 3, 0};
    MPI_Dims_create(12, 3, d);
    CHECK(d[0] == 2 && d[1] == 3 && d[2] == 2, "Dims_create(12, [0,3,0]) = %d %d %d", d[0], d[1], d[2]);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int bad[2] = {5, 0};
    CHECK_CLASS(MPI_Dims_create(12, 2, bad), MPI_ERR_DIMS, "Dims_create(12, [5,0])");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

/* ---- neighborhood collectives, checked against each process's neighbour lists ----------- */

/* dests(r, out) gives rank r's destination list (its count is returned). For Cartesian
 * topologies, the slot a neighbour sent from is the mirror direction (j ^ 1); otherwise the
 * m-th edge from a source pairs with the m-th time this rank appears among its destinations. */
typedef int (*dests_fn)(MPI_Comm comm, int r, int *out);

static int sender_slot(MPI_Comm comm, dests_fn dests, int cart, const int *srcs, int j, int me) {
    /* MPI-4.0 erratum B.1.1 (for MPI-3.1 too; mpi-forum/mpi-issues#153): block s lands in
     * block s ^ 1 even when both neighbours are one process (a periodic dimension of size 1
     * or 2). */
    if (cart) return j ^ 1;
    int m = 0;
    for (int i = 0; i < j; i++) if (srcs[i] == srcs[j]) m++;
    int d[MAXN];
    int n = dests(comm, srcs[j], d);
    for (int k = 0; k < n; k++) if (d[k] == me && m-- == 0) return k;
    return -1;
}

/* MPICH 4.0 pairs the blocks of a neighbour that appears more than once (the degenerate
 * periodic dimensions above, and multi-edges) differently; when the test runs on it as a
 * reference, such slots are not checked. Ferry is held to the standard everywhere. */
static int unchecked(const int *srcs, int n, int j) {
    if (is_ferry() || srcs[j] == MPI_PROC_NULL) return 0;
    int times = 0;
    for (int i = 0; i < n; i++) times += srcs[i] == srcs[j];
    return times > 1;
}

static void check_neighbor_collectives(MPI_Comm comm, const char *what, dests_fn dests, int cart) {
    int me, indeg, outdeg, srcs[MAXN], dsts[MAXN];
    MPI_Comm_rank(comm, &me);
    outdeg = dests(comm, me, dsts);
    int topo;
    MPI_Topo_test(comm, &topo);
    if (topo == MPI_DIST_GRAPH) {
        int w;
        MPI_Dist_graph_neighbors_count(comm, &indeg, &outdeg, &w);
        MPI_Dist_graph_neighbors(comm, indeg, srcs, MPI_UNWEIGHTED, outdeg, dsts, MPI_UNWEIGHTED);
    } else if (topo == MPI_GRAPH) {
        MPI_Graph_neighbors_count(comm, me, &indeg);
        MPI_Graph_neighbors(comm, me, indeg, srcs);
    } else {
        int nd;
        MPI_Cartdim_get(comm, &nd);
        indeg = 2 * nd;
        for (int d = 0; d < nd; d++) MPI_Cart_shift(comm, d, 1, &srcs[2 * d], &srcs[2 * d + 1]);
    }

    /* allgather: two ints per process. */
    int sendv[2] = {me * 10, me * 10 + 1}, recv[2 * MAXN];
    for (int i = 0; i < 2 * MAXN; i++) recv[i] = -7;
    CHECK_RC(MPI_Neighbor_allgather(sendv, 2, MPI_INT, recv, 2, MPI_INT, comm), "Neighbor_allgather");
    for (int j = 0; j < indeg; j++) {
        int w0 = srcs[j] == MPI_PROC_NULL ? -7 : srcs[j] * 10;
        int w1 = srcs[j] == MPI_PROC_NULL ? -7 : srcs[j] * 10 + 1;
        CHECK(recv[2 * j] == w0 && recv[2 * j + 1] == w1, "%s allgather slot %d: %d %d, want %d %d", what, j, recv[2 * j], recv[2 * j + 1], w0, w1);
    }

    /* allgatherv: slot j holds 2 ints at displacement 3 * (indeg - 1 - j) (reversed, gaps). */
    int counts[MAXN], displs[MAXN];
    for (int j = 0; j < indeg; j++) { counts[j] = 2; displs[j] = 3 * (indeg - 1 - j); }
    int recvg[3 * MAXN];
    for (int i = 0; i < 3 * MAXN; i++) recvg[i] = -7;
    CHECK_RC(MPI_Neighbor_allgatherv(sendv, 2, MPI_INT, recvg, counts, displs, MPI_INT, comm), "Neighbor_allgatherv");
    for (int j = 0; j < indeg; j++) {
        int at = displs[j];
        int w0 = srcs[j] == MPI_PROC_NULL ? -7 : srcs[j] * 10;
        int w1 = srcs[j] == MPI_PROC_NULL ? -7 : srcs[j] * 10 + 1;
        CHECK(recvg[at] == w0 && recvg[at + 1] == w1 && recvg[at + 2] == -7, "%s allgatherv slot %d: %d %d", what, j, recvg[at], recvg[at + 1]);
    }

    /* alltoall: block k (2 ints) of the send buffer goes to destination k. */
    int sendb[2 * MAXN];
    for (int k = 0; k < outdeg; k++) { sendb[2 * k] = me * 1000 + k; sendb[2 * k + 1] = -(me * 1000 + k); }
    for (int i = 0; i < 2 * MAXN; i++) recv[i] = -7;
    CHECK_RC(MPI_Neighbor_alltoall(sendb, 2, MPI_INT, recv, 2, MPI_INT, comm), "Neighbor_alltoall");
    for (int j = 0; j < indeg; j++) {
        if (unchecked(srcs, indeg, j)) continue;
        int want = -7, want2 = -7;
        if (srcs[j] != MPI_PROC_NULL) {
            int k = sender_slot(comm, dests, cart, srcs, j, me);
            want = srcs[j] * 1000 + k;
            want2 = -want;
        }
        CHECK(recv[2 * j] == want && recv[2 * j + 1] == want2, "%s alltoall slot %d from %d: %d, want %d", what, j, srcs[j], recv[2 * j], want);
    }

    /* alltoallv: block k has (k % 3) ints at displacement 4k, everybody agreeing on sizes
     * through the sender's slot number. */
    int scounts[MAXN], sdispls[MAXN], rcounts[MAXN], rdispls[MAXN];
    int sendv2[4 * MAXN], recv2[4 * MAXN];
    for (int k = 0; k < outdeg; k++) {
        scounts[k] = k % 3 + 1;
        sdispls[k] = 4 * k;
        for (int i = 0; i < 4; i++) sendv2[4 * k + i] = me * 1000 + k * 10 + i;
    }
    for (int j = 0; j < indeg; j++) {
        int k = srcs[j] == MPI_PROC_NULL ? 0 : sender_slot(comm, dests, cart, srcs, j, me);
        rcounts[j] = unchecked(srcs, indeg, j) ? 3 : k % 3 + 1;
        rdispls[j] = 4 * (indeg - 1 - j);
    }
    for (int i = 0; i < 4 * MAXN; i++) recv2[i] = -7;
    CHECK_RC(MPI_Neighbor_alltoallv(sendv2, scounts, sdispls, MPI_INT, recv2, rcounts, rdispls, MPI_INT, comm), "Neighbor_alltoallv");
    for (int j = 0; j < indeg; j++) {
        if (unchecked(srcs, indeg, j)) continue;
        int k = srcs[j] == MPI_PROC_NULL ? -1 : sender_slot(comm, dests, cart, srcs, j, me);
        for (int i = 0; i < rcounts[j]; i++) {
            int want = k < 0 ? -7 : srcs[j] * 1000 + k * 10 + i;
            CHECK(recv2[rdispls[j] + i] == want, "%s alltoallv slot %d[%d]: %d want %d", what, j, i, recv2[rdispls[j] + i], want);
        }
    }

    /* alltoallw: send ints, receive them as bytes-of-ints through a contiguous type, at byte
     * displacements in reverse order. */
    MPI_Datatype two;
    MPI_Type_contiguous(2, MPI_INT, &two);
    MPI_Type_commit(&two);
    MPI_Aint swd[MAXN], rwd[MAXN];
    MPI_Datatype stypes[MAXN], rtypes[MAXN];
    int swc[MAXN], rwc[MAXN];
    for (int k = 0; k < outdeg; k++) { swc[k] = 2; swd[k] = (MPI_Aint)(2 * k * sizeof(int)); stypes[k] = MPI_INT; }
    for (int j = 0; j < indeg; j++) { rwc[j] = 1; rwd[j] = (MPI_Aint)(2 * (indeg - 1 - j) * sizeof(int)); rtypes[j] = two; }
    for (int i = 0; i < 2 * MAXN; i++) recv[i] = -7;
    CHECK_RC(MPI_Neighbor_alltoallw(sendb, swc, swd, stypes, recv, rwc, rwd, rtypes, comm), "Neighbor_alltoallw");
    for (int j = 0; j < indeg; j++) {
        if (unchecked(srcs, indeg, j)) continue;
        int want = -7;
        if (srcs[j] != MPI_PROC_NULL) want = srcs[j] * 1000 + sender_slot(comm, dests, cart, srcs, j, me);
        int at = 2 * (indeg - 1 - j);
        CHECK(recv[at] == want && recv[at + 1] == (want == -7 ? -7 : -want), "%s alltoallw slot %d: %d want %d", what, j, recv[at], want);
    }
    MPI_Type_free(&two);
}

/* ---- Cartesian ------------------------------------------------------------------------ */

static int cart_dests(MPI_Comm comm, int r, int *out) {
    int nd, dims[8], periods[8], coords[8];
    MPI_Cartdim_get(comm, &nd);
    MPI_Cart_get(comm, nd, dims, periods, coords);
    MPI_Cart_coords(comm, r, nd, coords);
    for (int d = 0; d < nd; d++) {
        for (int s = 0; s < 2; s++) {
            int c[8];
            memcpy(c, coords, sizeof c);
            c[d] += s ? 1 : -1;
            if (!periods[d] && (c[d] < 0 || c[d] >= dims[d])) { out[2 * d + s] = MPI_PROC_NULL; continue; }
            c[d] = (c[d] + dims[d]) % dims[d];
            MPI_Cart_rank(comm, c, &out[2 * d + s]);
        }
    }
    return 2 * nd;
}

static void test_cart(int periodic0, int periodic1) {
    int dims[2] = {0, 0}, periods[2] = {periodic0, periodic1};
    MPI_Dims_create(size_, 2, dims);
    if (size_ == 4) CHECK(dims[0] == 2 && dims[1] == 2, "4 ranks: %d x %d", dims[0], dims[1]);
    MPI_Comm cart;
    CHECK_RC(MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart), "Cart_create");
    int topo = -1, nd = -1, r;
    MPI_Topo_test(cart, &topo);
    CHECK(topo == MPI_CART, "Topo_test %d", topo);
    MPI_Cartdim_get(cart, &nd);
    CHECK(nd == 2, "Cartdim_get %d", nd);
    MPI_Comm_rank(cart, &r);
    CHECK(r == rank_, "cart rank %d (no reorder)", r);
    int gd[2], gp[2], gc[2];
    MPI_Cart_get(cart, 2, gd, gp, gc);
    CHECK(gd[0] == dims[0] && gd[1] == dims[1] && gp[0] == periodic0 && gp[1] == periodic1, "Cart_get dims/periods");
    CHECK(gc[0] == rank_ / dims[1] && gc[1] == rank_ % dims[1], "Cart_get coords %d %d", gc[0], gc[1]);
    for (int q = 0; q < size_; q++) {
        int c[2], back;
        MPI_Cart_coords(cart, q, 2, c);
        CHECK(c[0] == q / dims[1] && c[1] == q % dims[1], "Cart_coords(%d) = %d %d", q, c[0], c[1]);
        MPI_Cart_rank(cart, c, &back);
        CHECK(back == q, "Cart_rank(coords(%d)) = %d", q, back);
    }
    /* Shifts by -2..2 in each dimension. */
    for (int d = 0; d < 2; d++) {
        for (int disp = -2; disp <= 2; disp++) {
            int src, dst;
            MPI_Cart_shift(cart, d, disp, &src, &dst);
            int per = d ? periodic1 : periodic0, n = dims[d], mine = gc[d];
            int c[2] = {gc[0], gc[1]};
            int s = mine - disp, t = mine + disp, ws, wt;
            if (per) { s = ((s % n) + n) % n; t = ((t % n) + n) % n; }
            c[d] = s; if (s < 0 || s >= n) ws = MPI_PROC_NULL; else MPI_Cart_rank(cart, c, &ws);
            c[d] = t; if (t < 0 || t >= n) wt = MPI_PROC_NULL; else MPI_Cart_rank(cart, c, &wt);
            CHECK(src == ws && dst == wt, "Cart_shift(%d, %d) = %d %d, want %d %d", d, disp, src, dst, ws, wt);
        }
    }
    if (periodic0 && dims[0] > 1) {
        int c[2] = {-1, 0}, q;
        MPI_Cart_rank(cart, c, &q);
        CHECK(q == (dims[0] - 1) * dims[1], "periodic Cart_rank(-1, 0) = %d", q);
    }
    /* Dup keeps the topology; Cart_sub gives rows (dimension 1 kept). */
    MPI_Comm d2, row;
    MPI_Comm_dup(cart, &d2);
    MPI_Topo_test(d2, &topo);
    CHECK(topo == MPI_CART, "dup Topo_test %d", topo);
    int remain[2] = {0, 1};
    CHECK_RC(MPI_Cart_sub(cart, remain, &row), "Cart_sub");
    int rs, rr, rnd, rdims[1], rper[1], rco[1];
    MPI_Comm_size(row, &rs);
    MPI_Comm_rank(row, &rr);
    MPI_Cartdim_get(row, &rnd);
    MPI_Cart_get(row, 1, rdims, rper, rco);
    CHECK(rs == dims[1] && rr == gc[1] && rnd == 1 && rdims[0] == dims[1] && rper[0] == periodic1 && rco[0] == gc[1],
          "Cart_sub row: size %d rank %d ndims %d", rs, rr, rnd);
    int mr;
    MPI_Cart_map(MPI_COMM_WORLD, 2, dims, periods, &mr);
    CHECK(mr == rank_, "Cart_map %d", mr);
    int one = 1;
    MPI_Cart_map(MPI_COMM_WORLD, 1, &one, periods, &mr);
    CHECK(mr == (rank_ == 0 ? 0 : MPI_UNDEFINED), "Cart_map of one process: %d", mr);

    char what[64];
    snprintf(what, sizeof what, "cart %dx%d periods %d%d", dims[0], dims[1], periodic0, periodic1);
    check_neighbor_collectives(cart, what, cart_dests, 1);
    check_neighbor_collectives(d2, "dup of cart", cart_dests, 1);
    check_neighbor_collectives(row, "cart row", cart_dests, 1);
    MPI_Comm_free(&row);
    MPI_Comm_free(&d2);
    MPI_Comm_free(&cart);

    /* A 1-d grid smaller than the job: the last rank is left out. */
    if (size_ > 1) {
        int n1 = size_ - 1, p1 = 1;
        CHECK_RC(MPI_Cart_create(MPI_COMM_WORLD, 1, &n1, &p1, 1, &cart), "small Cart_create");
        if (rank_ == size_ - 1) CHECK(cart == MPI_COMM_NULL, "rank outside the grid got %x", (unsigned)cart);
        else {
            check_neighbor_collectives(cart, "1-d ring", cart_dests, 1);
            MPI_Comm_free(&cart);
        }
    }
}

/* ---- graph: a ring with a chord from 0 to size/2 (both ways) ------------------------- */

static int graph_dests(MPI_Comm comm, int r, int *out) {
    int n;
    MPI_Graph_neighbors_count(comm, r, &n);
    MPI_Graph_neighbors(comm, r, n, out);
    return n;
}

static void test_graph(void) {
    int n = size_, index[MAXN], edges[4 * MAXN], e = 0;
    for (int i = 0; i < n; i++) {
        if (n > 1) { edges[e++] = (i + 1) % n; edges[e++] = (i + n - 1) % n; }
        if (n > 3 && i == 0) edges[e++] = n / 2;
        if (n > 3 && i == n / 2) edges[e++] = 0;
        index[i] = e;
    }
    MPI_Comm g;
    CHECK_RC(MPI_Graph_create(MPI_COMM_WORLD, n, index, edges, 0, &g), "Graph_create");
    int topo, nn, ne;
    MPI_Topo_test(g, &topo);
    CHECK(topo == MPI_GRAPH, "graph Topo_test %d", topo);
    MPI_Graphdims_get(g, &nn, &ne);
    CHECK(nn == n && ne == e, "Graphdims_get %d %d", nn, ne);
    int gi[MAXN], ge[4 * MAXN];
    MPI_Graph_get(g, MAXN, 4 * MAXN, gi, ge);
    for (int i = 0; i < n; i++) CHECK(gi[i] == index[i], "Graph_get index[%d] %d", i, gi[i]);
    for (int i = 0; i < e; i++) CHECK(ge[i] == edges[i], "Graph_get edges[%d] %d", i, ge[i]);
    int cnt, nb[MAXN];
    MPI_Graph_neighbors_count(g, rank_, &cnt);
    MPI_Graph_neighbors(g, rank_, MAXN, nb);
    int lo = rank_ ? index[rank_ - 1] : 0;
    CHECK(cnt == index[rank_] - lo, "neighbors_count %d", cnt);
    for (int i = 0; i < cnt; i++) CHECK(nb[i] == edges[lo + i], "neighbor %d = %d", i, nb[i]);
    int mr;
    MPI_Graph_map(MPI_COMM_WORLD, n, index, edges, &mr);
    CHECK(mr == rank_, "Graph_map %d", mr);
    check_neighbor_collectives(g, "graph", graph_dests, 0);
    MPI_Comm_free(&g);
}

/* ---- distributed graph: r sends to r+1 and r+2 (mod n), weights 10r+k ----------------- */

static int dist_dests(MPI_Comm comm, int r, int *out) {
    (void)comm;
    if (size_ == 1) return 0;
    out[0] = (r + 1) % size_;
    out[1] = (r + 2) % size_;
    return 2;
}

static void check_dist(MPI_Comm dg, int weighted, const char *what) {
    int topo, indeg, outdeg, w;
    MPI_Topo_test(dg, &topo);
    CHECK(topo == MPI_DIST_GRAPH, "%s Topo_test %d", what, topo);
    MPI_Dist_graph_neighbors_count(dg, &indeg, &outdeg, &w);
    int deg = size_ == 1 ? 0 : 2;
    CHECK(indeg == deg && outdeg == deg && w == weighted, "%s counts %d %d %d", what, indeg, outdeg, w);
    int srcs[4] = {-9, -9, -9, -9}, sw[4] = {-9, -9, -9, -9}, dsts[4], dw[4] = {-9, -9, -9, -9};
    MPI_Dist_graph_neighbors(dg, 4, srcs, sw, 4, dsts, dw);
    int want_out[4];
    dist_dests(dg, rank_, want_out);
    for (int k = 0; k < outdeg; k++) {
        CHECK(dsts[k] == want_out[k], "%s destination %d = %d", what, k, dsts[k]);
        if (weighted) CHECK(dw[k] == 10 * rank_ + k, "%s destination weight %d = %d", what, k, dw[k]);
    }
    /* In-edges: from r-1 (its edge 0) and r-2 (its edge 1; at 2 ranks that is r itself), in
     * an order the implementation chooses. */
    for (int j = 0; j < indeg; j++) {
        int k = srcs[j] == (rank_ + size_ - 1) % size_ ? 0 : 1;
        CHECK(srcs[j] == (rank_ + size_ - 1 - k) % size_, "%s source %d = %d", what, j, srcs[j]);
        if (weighted) CHECK(sw[j] == 10 * srcs[j] + k, "%s source weight %d = %d", what, j, sw[j]);
    }
    check_neighbor_collectives(dg, what, dist_dests, 0);
}

static void test_dist_graph(void) {
    /* MPICH 4.0 crashes in MPI_Dist_graph_neighbors on a graph without edges. */
    if (!is_ferry() && size_ == 1) return;
    int out[2], outw[2], in[2], inw[2], deg = size_ == 1 ? 0 : 2;
    dist_dests(MPI_COMM_WORLD, rank_, out);
    for (int k = 0; k < deg; k++) {
        outw[k] = 10 * rank_ + k;
        in[k] = (rank_ + size_ - 1 - k) % size_;
        inw[k] = 10 * in[k] + k;
    }
    MPI_Comm dg;
    CHECK_RC(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, deg, in, inw, deg, out, outw, MPI_INFO_NULL, 0, &dg),
             "Dist_graph_create_adjacent");
    check_dist(dg, 1, "adjacent weighted");
    MPI_Comm_free(&dg);
    CHECK_RC(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, deg, in, MPI_UNWEIGHTED, deg, out, MPI_UNWEIGHTED, MPI_INFO_NULL, 0, &dg),
             "Dist_graph_create_adjacent unweighted");
    check_dist(dg, 0, "adjacent unweighted");
    MPI_Comm_free(&dg);

    /* Rank 0 declares every edge. */
    int srcs[MAXN], degs[MAXN], dsts[2 * MAXN], ws[2 * MAXN], n = 0;
    if (rank_ == 0 && size_ > 1) {
        for (int r = 0; r < size_; r++) {
            srcs[n] = r;
            degs[n] = 2;
            dist_dests(MPI_COMM_WORLD, r, &dsts[2 * n]);
            ws[2 * n] = 10 * r;
            ws[2 * n + 1] = 10 * r + 1;
            n++;
        }
    }
    CHECK_RC(MPI_Dist_graph_create(MPI_COMM_WORLD, n, srcs, degs, dsts, n ? ws : MPI_WEIGHTS_EMPTY, MPI_INFO_NULL, 0, &dg),
             "Dist_graph_create");
    check_dist(dg, 1, "dist_graph_create");
    MPI_Comm_free(&dg);
    /* Each rank declares its own out-edges, unweighted. */
    n = 0;
    if (size_ > 1) { srcs[0] = rank_; degs[0] = 2; dist_dests(MPI_COMM_WORLD, rank_, dsts); n = 1; }
    CHECK_RC(MPI_Dist_graph_create(MPI_COMM_WORLD, n, srcs, degs, dsts, MPI_UNWEIGHTED, MPI_INFO_NULL, 0, &dg),
             "Dist_graph_create unweighted");
    check_dist(dg, 0, "dist_graph_create unweighted");
    MPI_Comm_free(&dg);
}

static void test_errors(void) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int s, d, x[8];
    CHECK_CLASS(MPI_Cart_shift(MPI_COMM_WORLD, 0, 1, &s, &d), MPI_ERR_TOPOLOGY, "Cart_shift without topology");
    CHECK_CLASS(MPI_Graphdims_get(MPI_COMM_WORLD, &s, &d), MPI_ERR_TOPOLOGY, "Graphdims_get without topology");
    CHECK_CLASS(MPI_Neighbor_allgather(x, 1, MPI_INT, x + 1, 1, MPI_INT, MPI_COMM_WORLD), MPI_ERR_TOPOLOGY, "Neighbor_allgather without topology");
    int topo;
    MPI_Topo_test(MPI_COMM_WORLD, &topo);
    CHECK(topo == MPI_UNDEFINED, "world Topo_test %d", topo);
    int dims[1] = {size_ + 1}, per[1] = {0};
    MPI_Comm c = MPI_COMM_NULL;
    int rc = MPI_Cart_create(MPI_COMM_WORLD, 1, dims, per, 0, &c);
    CHECK(rc != MPI_SUCCESS, "Cart_create larger than the job succeeded");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    if (size_ > MAXN) { if (rank_ == 0) printf("topology: too many ranks\n"); MPI_Finalize(); return 1; }
    test_dims();
    test_cart(0, 0);
    test_cart(1, 0);
    test_cart(1, 1);
    test_graph();
    test_dist_graph();
    test_errors();
    return finish_test("topology");
}
