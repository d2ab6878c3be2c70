/* Fence epochs on the three kinds of window memory (MPI_Win_allocate: shared segment,
 * MPI_Win_create: private user memory, MPI_Win_create_dynamic + attach: absolute addresses):
 * put, get and accumulate with contiguous and derived datatypes on either side, MAXLOC on
 * MPI_2INT, MINLOC on MPI_DOUBLE_INT (a pair type whose size differs from its extent), and
 * get_accumulate with MPI_NO_OP. Every value is checked after the closing fence. */
#include "common.h"

#define N 64

/* Target displacement of element `idx` of rank t's array, in the window's units. */
static MPI_Aint *addr_of = NULL;   /* dynamic windows: absolute addresses per rank */
static MPI_Aint D(int t, int idx) { return addr_of ? addr_of[t] + (MPI_Aint)idx * (MPI_Aint)sizeof(int) : idx; }

static void epoch_tests(MPI_Win win, int *mem, const char *kind) {
    int n = size_, right = (rank_ + 1) % size_, left = (rank_ + size_ - 1) % size_;
    for (int i = 0; i < N; i++) mem[i] = (i >= 48) ? rank_ * 100 + i : ((i >= 16 && i < 24) || (i >= 36 && i < 44)) ? 0 : -1;
    MPI_Datatype every2, every3;
    MPI_Type_vector(4, 1, 2, MPI_INT, &every2);
    MPI_Type_vector(4, 1, 3, MPI_INT, &every3);
    MPI_Type_commit(&every2);
    MPI_Type_commit(&every3);

    CHECK_RC(MPI_Win_fence(MPI_MODE_NOPRECEDE, win));
    /* [0,16): contiguous put to the right neighbour. */
    int out[16];
    for (int i = 0; i < 16; i++) out[i] = rank_ * 1000 + i;
    CHECK_RC(MPI_Put(out, 16, MPI_INT, right, D(right, 0), 16, MPI_INT, win));
    /* [16,24) on rank 0: everyone adds (r+1)*i. */
    int add[8];
    for (int i = 0; i < 8; i++) add[i] = (rank_ + 1) * i;
    CHECK_RC(MPI_Accumulate(add, 8, MPI_INT, 0, D(0, 16), 8, MPI_INT, MPI_SUM, win));
    /* [24,34) of the right neighbour, every third element, from a contiguous origin. */
    int four[4] = { rank_ + 7, rank_ + 8, rank_ + 9, rank_ + 10 };
    CHECK_RC(MPI_Put(four, 4, MPI_INT, right, D(right, 24), 1, every3, win));
    /* [36,44) of rank 0, every other element: everyone adds 1 with a strided target. */
    int ones[4] = { 1, 1, 1, 1 };
    CHECK_RC(MPI_Accumulate(ones, 4, MPI_INT, 0, D(0, 36), 1, every2, MPI_SUM, win));
    /* [48,52) of the left neighbour into every other element of a local buffer. */
    int got[8];
    for (int i = 0; i < 8; i++) got[i] = -5;
    CHECK_RC(MPI_Get(got, 1, every2, left, D(left, 48), 4, MPI_INT, win));
    /* [52,60) of the left neighbour, strided on both sides (stride 2 there, 3 here). */
    int got3[12];
    for (int i = 0; i < 12; i++) got3[i] = -5;
    CHECK_RC(MPI_Get(got3, 1, every3, left, D(left, 52), 1, every2, win));
    /* [44,46) of rank 0 as MPI_2INT: MAXLOC of (10 r, r). */
    int pair[2] = { 10 * rank_, rank_ };
    CHECK_RC(MPI_Accumulate(pair, 1, MPI_2INT, 0, D(0, 44), 1, MPI_2INT, MPI_MAXLOC, win));
    CHECK_RC(MPI_Win_fence(0, win));

    for (int i = 0; i < 16; i++) CHECK_EQ(mem[i], left * 1000 + i);
    if (rank_ == 0) {
        for (int i = 0; i < 8; i++) CHECK_EQ(mem[16 + i], i * n * (n + 1) / 2);
        for (int i = 0; i < 8; i++) CHECK_EQ(mem[36 + i], (i % 2 == 0) ? n : 0);
        CHECK_EQ(mem[44], 10 * (n - 1));
        CHECK_EQ(mem[45], n - 1);
    }
    for (int k = 0; k < 10; k++) CHECK_EQ(mem[24 + k], (k % 3 == 0) ? left + 7 + k / 3 : -1);
    for (int i = 0; i < 8; i++) CHECK_EQ(got[i], (i % 2 == 0) ? left * 100 + 48 + i / 2 : -5);
    for (int i = 0; i < 12; i++) CHECK_EQ(got3[i], (i % 3 == 0 && i / 3 < 4) ? left * 100 + 52 + 2 * (i / 3) : -5);

    /* A second epoch: get_accumulate with MPI_NO_OP reads atomically, MPI_REPLACE writes. */
    int old[4] = { 0, 0, 0, 0 }, repl[4] = { 5, 6, 7, 8 };
    CHECK_RC(MPI_Get_accumulate(NULL, 0, MPI_INT, old, 4, MPI_INT, right, D(right, 0), 4, MPI_INT, MPI_NO_OP, win));
    CHECK_RC(MPI_Win_fence(0, win));
    for (int i = 0; i < 4; i++) CHECK_EQ(old[i], rank_ * 1000 + i);
    CHECK_RC(MPI_Accumulate(repl, 4, MPI_INT, right, D(right, 4), 4, MPI_INT, MPI_REPLACE, win));
    CHECK_RC(MPI_Win_fence(MPI_MODE_NOSUCCEED, win));
    for (int i = 0; i < 4; i++) CHECK_EQ(mem[4 + i], 5 + i);
    MPI_Type_free(&every2);
    MPI_Type_free(&every3);
    (void)kind;
}

/* MINLOC on MPI_DOUBLE_INT (12 bytes of data in a 16-byte element) into rank 0's array. */
static void pair_test(void) {
    struct { double d; int i; } *mem, mine[3];
    MPI_Win win;
    CHECK_RC(MPI_Win_allocate(3 * sizeof(*mem), sizeof(*mem), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    for (int k = 0; k < 3; k++) { mem[k].d = 1e9; mem[k].i = -1; mine[k].d = 100.0 - rank_ + k; mine[k].i = rank_; }
    CHECK_RC(MPI_Win_fence(0, win));
    CHECK_RC(MPI_Accumulate(mine, 3, MPI_DOUBLE_INT, 0, 0, 3, MPI_DOUBLE_INT, MPI_MINLOC, win));
    CHECK_RC(MPI_Win_fence(0, win));
    if (rank_ == 0)
        for (int k = 0; k < 3; k++) { CHECK(mem[k].d == 100.0 - (size_ - 1) + k); CHECK_EQ(mem[k].i, size_ - 1); }
    CHECK_RC(MPI_Win_free(&win));
}

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 60);
    MPI_Win win;
    int *mem;

    /* MPI_Win_allocate */
    CHECK_RC(MPI_Win_allocate(N * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    epoch_tests(win, mem, "allocate");
    CHECK_RC(MPI_Win_free(&win));
    CHECK(win == MPI_WIN_NULL);

    /* MPI_Win_create on user memory */
    int *user = malloc(N * sizeof(int));
    CHECK_RC(MPI_Win_create(user, N * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    epoch_tests(win, user, "create");
    CHECK_RC(MPI_Win_free(&win));
    free(user);

    /* MPI_Win_create_dynamic + attach */
    int *dyn = malloc(N * sizeof(int));
    CHECK_RC(MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    CHECK_RC(MPI_Win_attach(win, dyn, N * sizeof(int)));
    MPI_Aint mine;
    MPI_Get_address(dyn, &mine);
    addr_of = malloc(size_ * sizeof(MPI_Aint));
    MPI_Allgather(&mine, 1, MPI_AINT, addr_of, 1, MPI_AINT, MPI_COMM_WORLD);
    epoch_tests(win, dyn, "dynamic");
    CHECK_RC(MPI_Win_detach(win, dyn));
    CHECK_RC(MPI_Win_free(&win));
    free(addr_of);
    addr_of = NULL;
    free(dyn);

    pair_test();
    return test_end("rma-fence");
}
