// ranks: 2
/* Defects MPICH's own test suite found (each names its MPICH test):
   - topo/distgraph1: a rank with no edges passing NULL weights made the graph unweighted there;
   - datatype/pack_external: external32 MPI_LONG / MPI_UNSIGNED_LONG are 4 bytes (table 13.2);
   - datatype/tmatchsize: MPI_Type_match_size(MPI_TYPECLASS_REAL, 16) failed;
   - rma/rmanull: MPI_Rput & co. to MPI_PROC_NULL inside MPI_Win_lock(MPI_PROC_NULL) failed;
   - rma/window_attach: a dynamic window took at most 256 attached regions;
   - rma/win_dynamic_rma_flush_get: an access spanning two adjacent attached regions failed.
   Prints 'mpich_found: OK'. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int ok = 1;
#define CHECK(cond, ...) do { if (!(cond)) { printf(__VA_ARGS__); ok = 0; } } while (0)

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int me, n;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &n);

    /* distgraph: rank 0 declares 0 -> 1 with weight 5, the others nothing and NULL weights */
    int src = 0, deg = 1, dst = 1, w = 5;
    MPI_Comm g;
    MPI_Dist_graph_create(MPI_COMM_WORLD, me == 0 ? 1 : 0, &src, &deg, &dst, me == 0 ? &w : NULL, MPI_INFO_NULL, 0, &g);
    int indeg, outdeg, weighted;
    MPI_Dist_graph_neighbors_count(g, &indeg, &outdeg, &weighted);
    CHECK(weighted == 1, "rank %d: distgraph weighted flag %d\n", me, weighted);
    if (me == 1) {
        int s, sw = -1, d, dw;
        MPI_Dist_graph_neighbors(g, 1, &s, &sw, 0, &d, &dw);
        CHECK(indeg == 1 && s == 0 && sw == 5, "rank 1: in-edge from %d weight %d\n", s, sw);
    }
    MPI_Comm_free(&g);

    /* external32 long */
    MPI_Aint size;
    MPI_Pack_external_size("external32", 1, MPI_LONG, &size);
    CHECK(size == 4, "external32 MPI_LONG is %ld bytes\n", (long)size);
    MPI_Pack_external_size("external32", 1, MPI_UNSIGNED_LONG, &size);
    CHECK(size == 4, "external32 MPI_UNSIGNED_LONG is %ld bytes\n", (long)size);
    long v = -5, back = 0;
    unsigned char packed[8];
    MPI_Aint pos = 0;
    MPI_Pack_external("external32", &v, 1, MPI_LONG, packed, sizeof packed, &pos);
    CHECK(pos == 4 && packed[0] == 0xff && packed[3] == 0xfb, "external32 -5L packed to %ld bytes\n", (long)pos);
    pos = 0;
    MPI_Unpack_external("external32", packed, 4, &pos, &back, 1, MPI_LONG);
    CHECK(back == -5, "external32 -5L came back as %ld\n", back);

    /* match size */
    MPI_Datatype t;
    int ts;
    CHECK(MPI_Type_match_size(MPI_TYPECLASS_REAL, 16, &t) == MPI_SUCCESS && t == MPI_LONG_DOUBLE, "real 16\n");
    MPI_Type_size(t, &ts);
    CHECK(ts == 16, "real 16 has size %d\n", ts);
    CHECK(MPI_Type_match_size(MPI_TYPECLASS_COMPLEX, 32, &t) == MPI_SUCCESS && t == MPI_C_LONG_DOUBLE_COMPLEX, "complex 32\n");
    CHECK(MPI_Type_match_size(MPI_TYPECLASS_REAL, 8, &t) == MPI_SUCCESS, "real 8\n");

    /* request-based RMA to MPI_PROC_NULL */
    int buf[4] = {0}, other[4] = {0};
    MPI_Win win;
    MPI_Win_create(buf, sizeof buf, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win);
    MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN);
    MPI_Request r;
    CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, MPI_PROC_NULL, 0, win) == MPI_SUCCESS, "lock PROC_NULL\n");
    CHECK(MPI_Rput(other, 4, MPI_INT, MPI_PROC_NULL, 0, 4, MPI_INT, win, &r) == MPI_SUCCESS, "Rput PROC_NULL\n");
    CHECK(MPI_Win_unlock(MPI_PROC_NULL, win) == MPI_SUCCESS, "unlock PROC_NULL\n");
    CHECK(MPI_Wait(&r, MPI_STATUS_IGNORE) == MPI_SUCCESS, "wait\n");
    MPI_Win_lock(MPI_LOCK_SHARED, MPI_PROC_NULL, 0, win);
    CHECK(MPI_Rget_accumulate(other, 4, MPI_INT, buf, 4, MPI_INT, MPI_PROC_NULL, 0, 4, MPI_INT, MPI_SUM, win, &r) == MPI_SUCCESS, "Rget_accumulate PROC_NULL\n");
    MPI_Win_unlock(MPI_PROC_NULL, win);
    MPI_Wait(&r, MPI_STATUS_IGNORE);
    MPI_Win_free(&win);

    /* dynamic window: rank 1 attaches 1000 separate regions and two adjacent halves of a buffer */
    enum { NR = 1000, NE = 16 };
    MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &win);
    MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN);
    int **regions = malloc(NR * sizeof(int *));
    int *halves = malloc(2 * NE * sizeof(int));
    MPI_Aint addr[NR + 1];
    if (me == 1) {
        for (int i = 0; i < NR; i++) {
            regions[i] = malloc((NE + 1) * sizeof(int));   /* padded: never adjacent to the next one */
            for (int k = 0; k < NE; k++) regions[i][k] = i * 100 + k;
            CHECK(MPI_Win_attach(win, regions[i], NE * sizeof(int)) == MPI_SUCCESS, "attach %d failed\n", i);
            MPI_Get_address(regions[i], &addr[i]);
        }
        for (int k = 0; k < 2 * NE; k++) halves[k] = -k;
        MPI_Win_attach(win, halves, NE * sizeof(int));
        MPI_Win_attach(win, halves + NE, NE * sizeof(int));
        MPI_Get_address(halves, &addr[NR]);
        CHECK(MPI_Win_attach(win, halves + 3, 4) != MPI_SUCCESS, "an overlapping attach was accepted\n");
        MPI_Send(addr, NR + 1, MPI_AINT, 0, 0, MPI_COMM_WORLD);
    } else if (me == 0) {
        MPI_Recv(addr, NR + 1, MPI_AINT, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (me == 0) {
        int got[2 * NE];
        MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, win);
        for (int i = 0; i < NR; i += 111) {
            CHECK(MPI_Get(got, NE, MPI_INT, 1, addr[i], NE, MPI_INT, win) == MPI_SUCCESS, "get from region %d\n", i);
            MPI_Win_flush(1, win);
            CHECK(got[0] == i * 100 && got[NE - 1] == i * 100 + NE - 1, "region %d read %d..%d\n", i, got[0], got[NE - 1]);
        }
        CHECK(MPI_Get(got, 2 * NE, MPI_INT, 1, addr[NR], 2 * NE, MPI_INT, win) == MPI_SUCCESS, "get across adjacent regions\n");
        MPI_Win_flush(1, win);
        CHECK(got[0] == 0 && got[2 * NE - 1] == -(2 * NE - 1), "adjacent regions read %d..%d\n", got[0], got[2 * NE - 1]);
        CHECK(MPI_Get(got, NE + 1, MPI_INT, 1, addr[0], NE + 1, MPI_INT, win) != MPI_SUCCESS, "a get past a region's end was accepted\n");
        MPI_Win_unlock(1, win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (me == 1) {
        for (int i = 0; i < NR; i++) { MPI_Win_detach(win, regions[i]); free(regions[i]); }
        MPI_Win_detach(win, halves);
        MPI_Win_detach(win, halves + NE);
    }
    MPI_Win_free(&win);
    free(regions); free(halves);

    int all;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (me == 0) printf("mpich_found: %s\n", all ? "OK" : "FAIL");
    MPI_Finalize();
    return all ? 0 : 1;
}
