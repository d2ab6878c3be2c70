/* MPI_Win_allocate_shared on a MPI_COMM_TYPE_SHARED communicator: sizes differ per rank (rank
 * 1 allocates nothing), MPI_Win_shared_query gives every rank's size, disp unit and a pointer
 * usable here, parts are contiguous (the default), MPI_PROC_NULL queries the first non-empty
 * part and an empty part's pointer is NULL; ranks then store directly into their neighbour's part and load every part, with
 * MPI_Win_sync + barrier ordering the accesses, and an MPI_Put lands where loads see it. */
#include "common.h"

static MPI_Aint part_bytes(int r) { return r == 1 ? 0 : 64 * (r + 1); }

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 60);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    int n, me;
    MPI_Comm_size(node, &n);
    MPI_Comm_rank(node, &me);
    char *base;
    MPI_Win win;
    CHECK_RC(MPI_Win_allocate_shared(part_bytes(me), 1, MPI_INFO_NULL, node, &base, &win));

    char **parts = malloc(n * sizeof(char *));
    for (int r = 0; r < n; r++) {
        MPI_Aint sz = -1;
        int du = -1;
        char *p = NULL;
        CHECK_RC(MPI_Win_shared_query(win, r, &sz, &du, &parts[r]));
        CHECK_RC(MPI_Win_shared_query(win, r, &sz, &du, &p));
        CHECK_EQ(sz, part_bytes(r));
        CHECK_EQ(du, 1);
        if (r == me && sz > 0) CHECK(p == base);
        if (sz == 0) CHECK(p == NULL);   /* a part without memory has no address (MPICH's win_shared_noncontig_put) */
        if (r > 0 && part_bytes(r) > 0 && part_bytes(r - 1) >= 0 && parts[r - 1] != NULL)
            CHECK(parts[r] == parts[r - 1] + part_bytes(r - 1));
    }
    {
        MPI_Aint sz = -1;
        int du = -1;
        char *p = NULL;
        CHECK_RC(MPI_Win_shared_query(win, MPI_PROC_NULL, &sz, &du, &p));
        CHECK_EQ(sz, part_bytes(0));
        CHECK(p == parts[0]);
    }

    /* Each rank fills its own part, then everyone reads every part directly. */
    CHECK_RC(MPI_Win_lock_all(MPI_MODE_NOCHECK, win));
    for (MPI_Aint i = 0; i < part_bytes(me); i++) base[i] = (char)(me * 7 + i);
    CHECK_RC(MPI_Win_sync(win));
    MPI_Barrier(node);
    CHECK_RC(MPI_Win_sync(win));
    for (int r = 0; r < n; r++)
        for (MPI_Aint i = 0; i < part_bytes(r); i++) CHECK_EQ(parts[r][i], (char)(r * 7 + i));
    MPI_Barrier(node);

    /* Store into the right neighbour's part (first byte), read our own back. */
    int right = (me + 1) % n;
    if (part_bytes(right) > 0) parts[right][0] = (char)(100 + me);
    CHECK_RC(MPI_Win_sync(win));
    MPI_Barrier(node);
    CHECK_RC(MPI_Win_sync(win));
    if (part_bytes(me) > 0) CHECK_EQ(base[0], (char)(100 + (me + n - 1) % n));

    /* A put to rank 0's last byte shows up in everyone's loads. */
    MPI_Barrier(node);
    if (me == n - 1) {
        char v = 42;
        CHECK_RC(MPI_Put(&v, 1, MPI_CHAR, 0, part_bytes(0) - 1, 1, MPI_CHAR, win));
        CHECK_RC(MPI_Win_flush(0, win));
    }
    CHECK_RC(MPI_Win_sync(win));
    MPI_Barrier(node);
    CHECK_RC(MPI_Win_sync(win));
    CHECK_EQ(parts[0][part_bytes(0) - 1], 42);
    CHECK_RC(MPI_Win_unlock_all(win));

    /* Predefined attributes. */
    int flag = 0, *flavor = NULL, *model = NULL;
    MPI_Aint *size = NULL;
    void *attr_base = NULL;
    CHECK_RC(MPI_Win_get_attr(win, MPI_WIN_CREATE_FLAVOR, &flavor, &flag));
    CHECK(flag && *flavor == MPI_WIN_FLAVOR_SHARED);
    CHECK_RC(MPI_Win_get_attr(win, MPI_WIN_MODEL, &model, &flag));
    CHECK(flag && *model == MPI_WIN_UNIFIED);
    CHECK_RC(MPI_Win_get_attr(win, MPI_WIN_SIZE, &size, &flag));
    CHECK(flag && *size == part_bytes(me));
    CHECK_RC(MPI_Win_get_attr(win, MPI_WIN_BASE, &attr_base, &flag));
    CHECK(flag);
    if (part_bytes(me) > 0) CHECK(attr_base == base);

    CHECK_RC(MPI_Win_free(&win));
    free(parts);
    MPI_Comm_free(&node);
    return test_end("rma-shared");
}
