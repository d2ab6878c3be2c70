/* Every collective of MPI-3.1 chapter 5 on intracommunicators, with value checks: predefined
 * ops on several types, MPI_IN_PLACE wherever the standard allows it, user ops (commutative
 * and not, on contiguous and non-contiguous types, checking the datatype handle they get),
 * derived datatypes on either side, and the v/w variants with irregular counts (zeros
 * included) and gaps between blocks. Runs on MPI_COMM_WORLD and on a split communicator
 * whose ranks are in reverse order.
 *
 * Built twice: as it is (coll_blocking), and through coll_nonblocking.c, which defines
 * NONBLOCKING: each collective is then its nonblocking form followed by MPI_Wait (see COLL in
 * common.h).
 * ranks: 1 2 3 4 8 */
#include "common.h"

#ifdef NONBLOCKING
#define TEST_NAME "coll_nonblocking"
#else
#define TEST_NAME "coll_blocking"
#endif

/* ---- predefined reductions: contributions and the expected fold ------------------------ */

static long long val_ll(MPI_Op op, int r, int i) {
    if (op == MPI_SUM) return r * 3 + i - 20;
    if (op == MPI_PROD) return ((r + i) % 3) + 1;
    if (op == MPI_MAX || op == MPI_MIN) return (r * 7 + i * 13) % 17 - 8;
    if (op == MPI_LAND || op == MPI_LOR || op == MPI_LXOR) return (r + i) % 3;
    return (long long)((unsigned)r * 0x9e3779b1u + (unsigned)i * 0x85ebca6bu); /* bitwise */
}

static long long fold_ll(MPI_Op op, long long a, long long b) {
    if (op == MPI_SUM) return a + b;
    if (op == MPI_PROD) return a * b;
    if (op == MPI_MAX) return a > b ? a : b;
    if (op == MPI_MIN) return a < b ? a : b;
    if (op == MPI_LAND) return (a != 0) && (b != 0);
    if (op == MPI_LOR) return (a != 0) || (b != 0);
    if (op == MPI_LXOR) return (a != 0) != (b != 0);
    if (op == MPI_BAND) return a & b;
    if (op == MPI_BOR) return a | b;
    if (op == MPI_BXOR) return a ^ b;
    abort();
}

static double val_d(MPI_Op op, int r, int i) {
    if (op == MPI_PROD) return ((r + i) % 3) * 0.5 + 0.5;
    return r * 0.5 + i * 0.25 - (r % 3) * 1.5;
}

static double fold_d(MPI_Op op, double a, double b) {
    if (op == MPI_SUM) return a + b;
    if (op == MPI_PROD) return a * b;
    if (op == MPI_MAX) return a > b ? a : b;
    if (op == MPI_MIN) return a < b ? a : b;
    abort();
}

/* The contribution of rank r to element i, converted to the C type, and the fold, computed in
 * the C type (so unsigned MAX and wrapping sums behave as the library's kernels must). */
#define VAL_INT(T, op, r, i) ((T)val_ll(op, r, i))
#define FOLD_INT(T, op, a, b)                                                   \
    ((op) == MPI_MAX   ? ((T)(a) > (T)(b) ? (T)(a) : (T)(b))                        \
     : (op) == MPI_MIN ? ((T)(a) < (T)(b) ? (T)(a) : (T)(b))                        \
                       : (T)fold_ll(op, (long long)(a), (long long)(b)))
#define VAL_FP(T, op, r, i) ((T)val_d(op, r, i))
#define FOLD_FP(T, op, a, b) ((T)fold_d(op, (double)(a), (double)(b)))

/* One function per C type running every reduction collective with `op`. */
#define DEFINE_REDUCTIONS(suffix, T, VAL, FOLD)                                                 \
static void reductions_##suffix(MPI_Comm comm, MPI_Datatype dt, MPI_Op op, const char *what) { \
    int r, n;                                                                                  \
    MPI_Comm_rank(comm, &r);                                                                   \
    MPI_Comm_size(comm, &n);                                                                   \
    enum { C = 37, B = 5 };                                                                    \
    T in[C], out[C], all[C];                                                                   \
    /* all[i]: the fold over every rank; prefix(k, i): over ranks 0..k. */                     \
    for (int i = 0; i < C; i++) {                                                              \
        all[i] = VAL(T, op, 0, i);                                                             \
        for (int k = 1; k < n; k++) all[i] = FOLD(T, op, all[i], VAL(T, op, k, i));            \
    }                                                                                          \
    /* Allreduce, then in place. */                                                            \
    for (int i = 0; i < C; i++) { in[i] = VAL(T, op, r, i); out[i] = (T)99; }                   \
    COLL(Allreduce, allreduce, in, out, C, dt, op, comm);                                      \
    for (int i = 0; i < C; i++) CHECK(out[i] == all[i], "%s allreduce [%d]", what, i);        \
    for (int i = 0; i < C; i++) out[i] = VAL(T, op, r, i);                                     \
    COLL(Allreduce, allreduce, MPI_IN_PLACE, out, C, dt, op, comm);                            \
    for (int i = 0; i < C; i++) CHECK(out[i] == all[i], "%s allreduce in place [%d]", what, i); \
    /* Reduce to the first and last rank; in place at the middle one. */                       \
    int roots[3] = {0, n - 1, n / 2};                                                          \
    for (int k = 0; k < 3; k++) {                                                              \
        int root = roots[k];                                                                   \
        int inplace = k == 2 && r == root;                                                     \
        for (int i = 0; i < C; i++) { in[i] = VAL(T, op, r, i); out[i] = inplace ? in[i] : (T)99; } \
        COLL(Reduce, reduce, inplace ? MPI_IN_PLACE : (void *)in, out, C, dt, op, root, comm);  \
        if (r == root)                                                                         \
            for (int i = 0; i < C; i++) CHECK(out[i] == all[i], "%s reduce root %d [%d]", what, root, i); \
        else                                                                                   \
            for (int i = 0; i < C; i++) CHECK(out[i] == (T)99, "%s reduce: non-root buffer changed", what); \
    }                                                                                          \
    /* Scan and Exscan, each also in place. */                                                 \
    T pre[C], exc[C];                                                                          \
    for (int i = 0; i < C; i++) {                                                              \
        pre[i] = VAL(T, op, 0, i);                                                             \
        exc[i] = pre[i];                                                                       \
        for (int k = 1; k <= r; k++) {                                                         \
            if (k == r) exc[i] = pre[i];                                                       \
            pre[i] = FOLD(T, op, pre[i], VAL(T, op, k, i));                                    \
        }                                                                                      \
    }                                                                                          \
    for (int pass = 0; pass < 2; pass++) {                                                     \
        for (int i = 0; i < C; i++) { in[i] = VAL(T, op, r, i); out[i] = pass ? in[i] : (T)99; } \
        COLL(Scan, scan, pass ? MPI_IN_PLACE : (void *)in, out, C, dt, op, comm);              \
        for (int i = 0; i < C; i++) CHECK(out[i] == pre[i], "%s scan%s [%d]", what, pass ? " in place" : "", i); \
        for (int i = 0; i < C; i++) { in[i] = VAL(T, op, r, i); out[i] = pass ? in[i] : (T)99; } \
        COLL(Exscan, exscan, pass ? MPI_IN_PLACE : (void *)in, out, C, dt, op, comm);          \
        if (r > 0)                                                                             \
            for (int i = 0; i < C; i++) CHECK(out[i] == exc[i], "%s exscan%s [%d]", what, pass ? " in place" : "", i); \
    }                                                                                          \
    /* Reduce_scatter_block: B elements per rank; in place the input is the whole buffer. */   \
    T *big = malloc(sizeof(T) * n * B), *blk = malloc(sizeof(T) * B);                          \
    for (int pass = 0; pass < 2; pass++) {                                                     \
        for (int j = 0; j < n * B; j++) big[j] = VAL(T, op, r, j % C);                         \
        for (int j = 0; j < B; j++) blk[j] = (T)99;                                            \
        T *res = pass ? big : blk;                                                             \
        COLL(Reduce_scatter_block, reduce_scatter_block, pass ? MPI_IN_PLACE : (void *)big, res, B, dt, op, comm); \
        for (int j = 0; j < B; j++)                                                            \
            CHECK(res[j] == all[(r * B + j) % C], "%s reduce_scatter_block%s [%d]", what, pass ? " in place" : "", j); \
    }                                                                                          \
    free(big); free(blk);                                                                      \
    /* Reduce_scatter with irregular counts (zeros included). */                               \
    int *counts = malloc(sizeof(int) * n), total = 0, mine = 0;                                \
    for (int k = 0; k < n; k++) { counts[k] = (k * 2 + 1) % 5; if (k < r) mine += counts[k]; total += counts[k]; } \
    T *vec = malloc(sizeof(T) * (total + 1)), *part = malloc(sizeof(T) * (counts[r] + 1));      \
    for (int pass = 0; pass < 2; pass++) {                                                     \
        for (int j = 0; j < total; j++) vec[j] = VAL(T, op, r, j % C);                         \
        for (int j = 0; j <= counts[r]; j++) part[j] = (T)99;                                  \
        T *res = pass ? vec : part;                                                            \
        COLL(Reduce_scatter, reduce_scatter, pass ? MPI_IN_PLACE : (void *)vec, res, counts, dt, op, comm); \
        for (int j = 0; j < counts[r]; j++)                                                    \
            CHECK(res[j] == all[(mine + j) % C], "%s reduce_scatter%s [%d]", what, pass ? " in place" : "", j); \
        if (!pass) CHECK(part[counts[r]] == (T)99, "%s reduce_scatter wrote past its block", what); \
    }                                                                                          \
    free(vec); free(part); free(counts);                                                       \
}

DEFINE_REDUCTIONS(int, int, VAL_INT, FOLD_INT)
DEFINE_REDUCTIONS(uchar, unsigned char, VAL_INT, FOLD_INT)
DEFINE_REDUCTIONS(short, short, VAL_INT, FOLD_INT)
DEFINE_REDUCTIONS(ll, long long, VAL_INT, FOLD_INT)
DEFINE_REDUCTIONS(u64, uint64_t, VAL_INT, FOLD_INT)
DEFINE_REDUCTIONS(double, double, VAL_FP, FOLD_FP)
DEFINE_REDUCTIONS(float, float, VAL_FP, FOLD_FP)

static void predefined_reductions(MPI_Comm comm) {
    MPI_Op int_ops[] = {MPI_SUM, MPI_PROD, MPI_MAX, MPI_MIN, MPI_LAND, MPI_LOR, MPI_LXOR, MPI_BAND, MPI_BOR, MPI_BXOR};
    const char *names[] = {"SUM", "PROD", "MAX", "MIN", "LAND", "LOR", "LXOR", "BAND", "BOR", "BXOR"};
    char what[64];
    for (int k = 0; k < 10; k++) {
        snprintf(what, sizeof what, "MPI_INT %s", names[k]);
        reductions_int(comm, MPI_INT, int_ops[k], what);
    }
    /* MPICH 4.0 (Debian's build) compares MPI_UNSIGNED_CHAR and MPI_UINT64_T as signed in
     * MAX/MIN (255 < 5), so the unsigned comparisons are skipped when cross-checking on it. */
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int vlen = 0;
    MPI_Get_library_version(version, &vlen);
    int unsigned_compare = strncmp(version, "MPICH", 5) != 0;
    MPI_Op uchar_ops[] = {MPI_SUM, MPI_BXOR, MPI_BOR, MPI_MAX, MPI_MIN};
    for (int k = 0; k < (unsigned_compare ? 5 : 3); k++) {
        snprintf(what, sizeof what, "MPI_UNSIGNED_CHAR op %d", k);
        reductions_uchar(comm, MPI_UNSIGNED_CHAR, uchar_ops[k], what);
    }
    reductions_short(comm, MPI_SHORT, MPI_MIN, "MPI_SHORT MIN");
    reductions_ll(comm, MPI_LONG_LONG, MPI_SUM, "MPI_LONG_LONG SUM");
    reductions_u64(comm, MPI_UINT64_T, MPI_BXOR, "MPI_UINT64_T BXOR");
    if (unsigned_compare) reductions_u64(comm, MPI_UINT64_T, MPI_MAX, "MPI_UINT64_T MAX");
    MPI_Op fp_ops[] = {MPI_SUM, MPI_PROD, MPI_MAX, MPI_MIN};
    for (int k = 0; k < 4; k++) {
        snprintf(what, sizeof what, "MPI_DOUBLE %s", names[k]);
        reductions_double(comm, MPI_DOUBLE, fp_ops[k], what);
    }
    reductions_float(comm, MPI_FLOAT, MPI_SUM, "MPI_FLOAT SUM");
}

/* MINLOC / MAXLOC on MPI_2INT and MPI_DOUBLE_INT (ties: the smaller index wins). */
static void location_reductions(MPI_Comm comm) {
    int r, n;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &n);
    enum { C = 9 };
    struct { int v, i; } a[C], b[C];
    struct { double v; int i; } d[C], e[C];
    for (int j = 0; j < C; j++) {
        a[j].v = (r * 5 + j * 3) % 7; a[j].i = r;
        d[j].v = ((r * 5 + j * 3) % 7) * 0.5; d[j].i = r * 10;
    }
    COLL(Allreduce, allreduce, a, b, C, MPI_2INT, MPI_MINLOC, comm);
    COLL(Allreduce, allreduce, d, e, C, MPI_DOUBLE_INT, MPI_MAXLOC, comm);
    for (int j = 0; j < C; j++) {
        int minv = 1 << 30, mini = -1;
        double maxv = -1; int maxi = -1;
        for (int k = 0; k < n; k++) {
            int v = (k * 5 + j * 3) % 7;
            if (v < minv) { minv = v; mini = k; }
            if (v * 0.5 > maxv) { maxv = v * 0.5; maxi = k * 10; }
        }
        CHECK(b[j].v == minv && b[j].i == mini, "MINLOC [%d]: (%d,%d) want (%d,%d)", j, b[j].v, b[j].i, minv, mini);
        CHECK(e[j].v == maxv && e[j].i == maxi, "MAXLOC [%d]: (%g,%d) want (%g,%d)", j, e[j].v, e[j].i, maxv, maxi);
    }
    /* Reduce in place at the last rank. */
    for (int j = 0; j < C; j++) { a[j].v = (r * 5 + j * 3) % 7; a[j].i = r; }
    COLL(Reduce, reduce, r == n - 1 ? MPI_IN_PLACE : (void *)a, a, C, MPI_2INT, MPI_MAXLOC, n - 1, comm);
    if (r == n - 1)
        for (int j = 0; j < C; j++) {
            int maxv = -1, maxi = -1;
            for (int k = 0; k < n; k++) { int v = (k * 5 + j * 3) % 7; if (v > maxv) { maxv = v; maxi = k; } }
            CHECK(a[j].v == maxv && a[j].i == maxi, "MAXLOC reduce in place [%d]", j);
        }
}

/* ---- user-defined ops --------------------------------------------------------------------- */

static MPI_Datatype expected_type; /* the handle user functions must receive */
static int wrong_type_calls = 0;

/* Commutative: sum of ints, whatever the (contiguous) type's length in ints. */
static void user_sum(void *in, void *inout, int *len, MPI_Datatype *dt) {
    if (*dt != expected_type) wrong_type_calls++;
    int per = 1;
    if (*dt != MPI_INT) { int sz; MPI_Type_size(*dt, &sz); per = sz / (int)sizeof(int); }
    for (int i = 0; i < *len * per; i++) ((int *)inout)[i] += ((int *)in)[i];
}

/* Non-commutative: 2x2 matrix product modulo a prime, inout = in * inout. */
#define P 1000003LL
static void mat_mul(void *in, void *inout, int *len, MPI_Datatype *dt) {
    if (*dt != expected_type) wrong_type_calls++;
    long long *a = in, *b = inout;
    for (int k = 0; k < *len; k++, a += 4, b += 4) {
        long long c0 = (a[0] * b[0] + a[1] * b[2]) % P, c1 = (a[0] * b[1] + a[1] * b[3]) % P;
        long long c2 = (a[2] * b[0] + a[3] * b[2]) % P, c3 = (a[2] * b[1] + a[3] * b[3]) % P;
        b[0] = c0; b[1] = c1; b[2] = c2; b[3] = c3;
    }
}
static void mat_of(long long *m, int r, int i) { m[0] = r + 1 + i; m[1] = 1; m[2] = 1; m[3] = (r * i) % 3; }
static void mat_prod(long long *acc, const long long *m) { /* acc = acc * m */
    long long c0 = (acc[0] * m[0] + acc[1] * m[2]) % P, c1 = (acc[0] * m[1] + acc[1] * m[3]) % P;
    long long c2 = (acc[2] * m[0] + acc[3] * m[2]) % P, c3 = (acc[2] * m[1] + acc[3] * m[3]) % P;
    acc[0] = c0; acc[1] = c1; acc[2] = c2; acc[3] = c3;
}

/* Commutative sum on a non-contiguous type: vector(2, 1, 2) of int (ints at 0 and 2 of 3). */
static void vec_sum(void *in, void *inout, int *len, MPI_Datatype *dt) {
    if (*dt != expected_type) wrong_type_calls++;
    MPI_Aint lb, extent;
    MPI_Type_get_extent(*dt, &lb, &extent);
    for (int k = 0; k < *len; k++) {
        int *a = (int *)((char *)in + k * extent), *b = (int *)((char *)inout + k * extent);
        b[0] += a[0];
        b[2] += a[2];
    }
}

static void user_reductions(MPI_Comm comm) {
    int r, n;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &n);
    MPI_Op sum, mat, vsum;
    CHECK_RC(MPI_Op_create(user_sum, 1, &sum), "MPI_Op_create");
    CHECK_RC(MPI_Op_create(mat_mul, 0, &mat), "MPI_Op_create");
    CHECK_RC(MPI_Op_create(vec_sum, 1, &vsum), "MPI_Op_create");
    int commute = -1;
    MPI_Op_commutative(sum, &commute); CHECK(commute == 1, "user_sum commutative: %d", commute);
    MPI_Op_commutative(mat, &commute); CHECK(commute == 0, "mat_mul commutative: %d", commute);
    MPI_Op_commutative(MPI_SUM, &commute); CHECK(commute == 1, "MPI_SUM commutative: %d", commute);

    /* Commutative user op on MPI_INT and on a contiguous type of 3 ints. */
    enum { C = 25 };
    int in[3 * C], out[3 * C];
    expected_type = MPI_INT;
    for (int i = 0; i < C; i++) in[i] = r * 100 + i;
    COLL(Allreduce, allreduce, in, out, C, MPI_INT, sum, comm);
    for (int i = 0; i < C; i++) CHECK(out[i] == 100 * n * (n - 1) / 2 + n * i, "user sum allreduce [%d]", i);
    MPI_Datatype three;
    MPI_Type_contiguous(3, MPI_INT, &three);
    MPI_Type_commit(&three);
    expected_type = three;
    for (int i = 0; i < 3 * C; i++) out[i] = r + i;
    COLL(Reduce, reduce, r == 0 ? MPI_IN_PLACE : (void *)out, out, C, three, sum, 0, comm);
    if (r == 0) for (int i = 0; i < 3 * C; i++) CHECK(out[i] == n * (n - 1) / 2 + n * i, "user sum on contiguous type [%d]", i);

    /* Non-commutative: matrix products in rank order. */
    MPI_Datatype m4;
    MPI_Type_contiguous(4, MPI_LONG_LONG, &m4);
    MPI_Type_commit(&m4);
    expected_type = m4;
    enum { M = 6 };
    long long mi[4 * M], mo[4 * M], want[4 * M], pre[4 * M], exc[4 * M];
    for (int i = 0; i < M; i++) {
        mat_of(mi + 4 * i, r, i);
        mat_of(want + 4 * i, 0, i);
        for (int k = 1; k < n; k++) { long long m[4]; mat_of(m, k, i); mat_prod(want + 4 * i, m); }
        mat_of(pre + 4 * i, 0, i);
        memcpy(exc + 4 * i, pre + 4 * i, sizeof(long long) * 4);
        for (int k = 1; k <= r; k++) {
            if (k == r) memcpy(exc + 4 * i, pre + 4 * i, sizeof(long long) * 4);
            long long m[4]; mat_of(m, k, i); mat_prod(pre + 4 * i, m);
        }
    }
    for (int root = 0; root < n; root += (n > 2 ? n - 1 : 1)) {
        memset(mo, 0, sizeof mo);
        COLL(Reduce, reduce, mi, mo, M, m4, mat, root, comm);
        if (r == root) CHECK(memcmp(mo, want, sizeof mo) == 0, "non-commutative reduce to %d", root);
    }
    memcpy(mo, mi, sizeof mo);
    COLL(Allreduce, allreduce, MPI_IN_PLACE, mo, M, m4, mat, comm);
    CHECK(memcmp(mo, want, sizeof mo) == 0, "non-commutative allreduce in place");
    COLL(Scan, scan, mi, mo, M, m4, mat, comm);
    CHECK(memcmp(mo, pre, sizeof mo) == 0, "non-commutative scan");
    COLL(Exscan, exscan, mi, mo, M, m4, mat, comm);
    if (r > 0) CHECK(memcmp(mo, exc, sizeof mo) == 0, "non-commutative exscan");
    /* Reduce_scatter_block: block k of every rank's input is mi (so each result is `want`). */
    long long *bi = malloc(sizeof(long long) * 4 * M * n);
    for (int k = 0; k < n; k++) memcpy(bi + 4 * M * k, mi, sizeof mi);
    COLL(Reduce_scatter_block, reduce_scatter_block, bi, mo, M, m4, mat, comm);
    CHECK(memcmp(mo, want, sizeof mo) == 0, "non-commutative reduce_scatter_block");
    int *rc = malloc(sizeof(int) * n);
    for (int k = 0; k < n; k++) rc[k] = k % 2 ? M : 0;
    long long *bv = malloc(sizeof(long long) * 4 * M * n);
    int off = 0;
    for (int k = 0; k < n; k++) { if (rc[k]) memcpy(bv + 4 * off, mi, sizeof mi); off += rc[k]; }
    memset(mo, 0, sizeof mo);
    COLL(Reduce_scatter, reduce_scatter, bv, mo, rc, m4, mat, comm);
    if (r % 2) CHECK(memcmp(mo, want, sizeof mo) == 0, "non-commutative reduce_scatter");
    free(bi); free(bv); free(rc);

    /* Commutative op on a non-contiguous vector type; the gap ints must stay untouched. */
    MPI_Datatype v;
    MPI_Type_vector(2, 1, 2, MPI_INT, &v);
    MPI_Type_commit(&v);
    expected_type = v;
    int vin[3 * 4], vout[3 * 4];
    for (int i = 0; i < 12; i++) { vin[i] = r + i; vout[i] = -7; }
    COLL(Allreduce, allreduce, vin, vout, 4, v, vsum, comm);
    for (int i = 0; i < 12; i++) {
        if (i % 3 == 1) CHECK(vout[i] == -7, "vector op wrote a gap [%d]", i);
        else CHECK(vout[i] == n * (n - 1) / 2 + n * i, "vector op allreduce [%d] = %d", i, vout[i]);
    }
    CHECK(wrong_type_calls == 0, "user functions got a wrong datatype handle %d times", wrong_type_calls);

    /* Reduce_local, predefined and user. */
    int a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40};
    CHECK_RC(MPI_Reduce_local(a, b, 4, MPI_INT, MPI_MAX), "MPI_Reduce_local");
    CHECK(b[0] == 10 && b[3] == 40, "reduce_local MAX");
    long long x[4], y[4];
    mat_of(x, 1, 1); mat_of(y, 2, 2);
    long long z[4]; memcpy(z, x, sizeof z); mat_prod(z, y);
    expected_type = m4;
    CHECK_RC(MPI_Reduce_local(x, y, 1, m4, mat), "MPI_Reduce_local");
    CHECK(memcmp(y, z, sizeof z) == 0, "reduce_local user op computes in op inout");

    MPI_Op keep = sum;
    CHECK_RC(MPI_Op_free(&sum), "MPI_Op_free");
    CHECK(sum == MPI_OP_NULL, "MPI_Op_free did not set MPI_OP_NULL");
    (void)keep;
    MPI_Op_free(&mat);
    MPI_Op_free(&vsum);
    MPI_Type_free(&three);
    MPI_Type_free(&m4);
    MPI_Type_free(&v);
}

/* ---- broadcast and barrier ----------------------------------------------------------------- */

static void broadcasts(MPI_Comm comm) {
    int r, n;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &n);
    COLL(Barrier, barrier, comm);
    int buf[1000];
    for (int root = 0; root < n; root++) {
        for (int i = 0; i < 1000; i++) buf[i] = r == root ? root * 1000 + i : -1;
        COLL(Bcast, bcast, buf, 1000, MPI_INT, root, comm);
        for (int i = 0; i < 1000; i++) CHECK(buf[i] == root * 1000 + i, "bcast root %d [%d] = %d", root, i, buf[i]);
    }
    /* Non-contiguous: vector(10, 2, 3); the gaps keep each rank's own values. */
    MPI_Datatype v;
    MPI_Type_vector(10, 2, 3, MPI_INT, &v);
    MPI_Type_commit(&v);
    int vb[60];
    for (int i = 0; i < 60; i++) vb[i] = r == n - 1 ? i : -1 - r;
    COLL(Bcast, bcast, vb, 2, v, n - 1, comm);
    for (int i = 0; i < 58; i++) {
        int inside = (i % 29) % 3 != 2; /* element e starts at 29 e (the type's extent) */
        CHECK(vb[i] == (inside || r == n - 1 ? i : -1 - r), "vector bcast [%d] = %d", i, vb[i]);
    }
    MPI_Type_free(&v);
    /* 1 MiB (rendezvous sizes). */
    int big = 1 << 20;
    unsigned char *bb = malloc(big);
    for (int i = 0; i < big; i++) bb[i] = r == 0 ? (unsigned char)(i * 7 + 3) : 0;
    COLL(Bcast, bcast, bb, big, MPI_BYTE, 0, comm);
    int bad = 0;
    for (int i = 0; i < big; i++) bad += bb[i] != (unsigned char)(i * 7 + 3);
    CHECK(bad == 0, "1 MiB bcast: %d bad bytes", bad);
    free(bb);
    /* Count 0. */
    COLL(Bcast, bcast, NULL, 0, MPI_INT, 0, comm);
}

/* ---- gather, scatter, allgather, alltoall ---------------------------------------------------- */

static void gathers(MPI_Comm comm) {
    int r, n;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &n);
    enum { B = 3 };
    int send[B], *recv = malloc(sizeof(int) * (n * 2 * B + 8));
    for (int j = 0; j < B; j++) send[j] = r * 100 + j;
    int roots[2] = {0, n - 1};
    for (int k = 0; k < 2; k++) {
        int root = roots[k];
        /* Gather; at the second root in place. */
        int inplace = k == 1 && r == root;
        for (int j = 0; j < n * B; j++) recv[j] = -1;
        if (inplace) for (int j = 0; j < B; j++) recv[root * B + j] = send[j];
        COLL(Gather, gather, inplace ? MPI_IN_PLACE : (void *)send, B, MPI_INT, recv, B, MPI_INT, root, comm);
        if (r == root)
            for (int j = 0; j < n * B; j++) CHECK(recv[j] == (j / B) * 100 + j % B, "gather root %d [%d] = %d", root, j, recv[j]);
        /* Scatter; at the second root in place. */
        for (int j = 0; j < n * B; j++) recv[j] = (j / B) * 1000 + j % B;
        int got[B] = {-1, -1, -1};
        if (inplace) memcpy(got, recv + root * B, sizeof got);
        COLL(Scatter, scatter, recv, B, MPI_INT, inplace ? MPI_IN_PLACE : (void *)got, B, MPI_INT, root, comm);
        for (int j = 0; j < B; j++) CHECK(got[j] == r * 1000 + j, "scatter root %d [%d] = %d", root, j, got[j]);
    }
    /* Gather into a non-contiguous receive type: one vector(B, 1, 2) per rank. */
    MPI_Datatype v;
    MPI_Type_vector(B, 1, 2, MPI_INT, &v);
    MPI_Type_commit(&v);
    int ext = 2 * B - 1;
    for (int j = 0; j < n * ext + 1; j++) recv[j] = -1;
    COLL(Gather, gather, send, B, MPI_INT, recv, 1, v, 0, comm);
    if (r == 0)
        for (int k = 0; k < n; k++)
            for (int j = 0; j < ext; j++)
                CHECK(recv[k * ext + j] == (j % 2 ? -1 : k * 100 + j / 2), "gather into vector [%d][%d]", k, j);
    /* Scatter from it. */
    int got[B];
    COLL(Scatter, scatter, recv, 1, v, got, B, MPI_INT, 0, comm);
    for (int j = 0; j < B; j++) CHECK(got[j] == r * 100 + j, "scatter from vector [%d] = %d", j, got[j]);
    /* Allgather: plain, in place, and with a vector send type. */
    for (int pass = 0; pass < 3; pass++) {
        for (int j = 0; j < n * B; j++) recv[j] = -1;
        int sv[2 * B];
        for (int j = 0; j < 2 * B; j++) sv[j] = j % 2 ? -5 : r * 100 + j / 2;
        if (pass == 0) COLL(Allgather, allgather, send, B, MPI_INT, recv, B, MPI_INT, comm);
        if (pass == 1) {
            memcpy(recv + r * B, send, sizeof send);
            COLL(Allgather, allgather, MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, recv, B, MPI_INT, comm);
        }
        if (pass == 2) COLL(Allgather, allgather, sv, 1, v, recv, B, MPI_INT, comm);
        for (int j = 0; j < n * B; j++) CHECK(recv[j] == (j / B) * 100 + j % B, "allgather pass %d [%d] = %d", pass, j, recv[j]);
    }
    MPI_Type_free(&v);
    /* Alltoall: block k of rank r is r*1000 + k*10 + j; plain and in place. */
    int *s = malloc(sizeof(int) * n * B), *d = malloc(sizeof(int) * n * B);
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < n; k++) for (int j = 0; j < B; j++) { s[k * B + j] = r * 1000 + k * 10 + j; d[k * B + j] = -1; }
        if (pass == 0) COLL(Alltoall, alltoall, s, B, MPI_INT, d, B, MPI_INT, comm);
        else { memcpy(d, s, sizeof(int) * n * B); COLL(Alltoall, alltoall, MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, d, B, MPI_INT, comm); }
        for (int k = 0; k < n; k++) for (int j = 0; j < B; j++)
            CHECK(d[k * B + j] == k * 1000 + r * 10 + j, "alltoall pass %d from %d [%d] = %d", pass, k, j, d[k * B + j]);
    }
    free(s); free(d); free(recv);
}

/* ---- v and w variants -------------------------------------------------------------------------- */

static void vector_variants(MPI_Comm comm) {
    int r, n;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &n);
    /* counts[k]: irregular, zero for some ranks; displs leave a gap of 2 after each block. */
    int *counts = malloc(sizeof(int) * n), *displs = malloc(sizeof(int) * n), tot = 0;
    for (int k = 0; k < n; k++) { counts[k] = (k * 3 + 2) % 4; displs[k] = tot; tot += counts[k] + 2; }
    int *buf = malloc(sizeof(int) * (tot + 1)), mine[8];
    for (int j = 0; j < counts[r]; j++) mine[j] = r * 100 + j;
    for (int root = 0; root < n; root += (n > 1 ? n - 1 : 1)) {
        for (int pass = 0; pass < 2; pass++) {
            int inplace = pass == 1 && r == root;
            /* Gatherv */
            for (int j = 0; j < tot; j++) buf[j] = -1;
            if (inplace) memcpy(buf + displs[r], mine, sizeof(int) * counts[r]);
            COLL(Gatherv, gatherv, inplace ? MPI_IN_PLACE : (void *)mine, counts[r], MPI_INT, buf,
                 r == root ? counts : NULL, r == root ? displs : NULL, MPI_INT, root, comm);
            if (r == root)
                for (int k = 0; k < n; k++) {
                    for (int j = 0; j < counts[k]; j++) CHECK(buf[displs[k] + j] == k * 100 + j, "gatherv root %d from %d [%d]", root, k, j);
                    CHECK(buf[displs[k] + counts[k]] == -1, "gatherv wrote into a gap");
                }
            /* Scatterv */
            for (int k = 0; k < n; k++) for (int j = 0; j < counts[k]; j++) buf[displs[k] + j] = k * 1000 + j;
            int got[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
            if (inplace) memcpy(got, buf + displs[r], sizeof(int) * counts[r]);
            COLL(Scatterv, scatterv, buf, r == root ? counts : NULL, r == root ? displs : NULL, MPI_INT,
                 inplace ? MPI_IN_PLACE : (void *)got, counts[r], MPI_INT, root, comm);
            for (int j = 0; j < counts[r]; j++) CHECK(got[j] == r * 1000 + j, "scatterv root %d [%d] = %d", root, j, got[j]);
            CHECK(got[counts[r]] == -1, "scatterv wrote past the count");
        }
    }
    /* Allgatherv, plain and in place. */
    for (int pass = 0; pass < 2; pass++) {
        for (int j = 0; j < tot; j++) buf[j] = -1;
        if (pass) memcpy(buf + displs[r], mine, sizeof(int) * counts[r]);
        COLL(Allgatherv, allgatherv, pass ? MPI_IN_PLACE : (void *)mine, counts[r], MPI_INT, buf, counts, displs, MPI_INT, comm);
        for (int k = 0; k < n; k++) {
            for (int j = 0; j < counts[k]; j++) CHECK(buf[displs[k] + j] == k * 100 + j, "allgatherv pass %d from %d [%d]", pass, k, j);
            CHECK(buf[displs[k] + counts[k]] == -1, "allgatherv wrote into a gap");
        }
    }
    /* Alltoallv: rank r sends (r + k) % 3 ints to k, at stride 4 (gaps); receives (k + r) % 3 from k. */
    int *sc = malloc(sizeof(int) * n), *sd = malloc(sizeof(int) * n), *rcnt = malloc(sizeof(int) * n), *rd = malloc(sizeof(int) * n);
    int *s = malloc(sizeof(int) * 4 * n), *d = malloc(sizeof(int) * 4 * n);
    for (int k = 0; k < n; k++) { sc[k] = (r + k) % 3; rcnt[k] = (k + r) % 3; sd[k] = 4 * (n - 1 - k); rd[k] = 4 * k; }
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < n; k++) for (int j = 0; j < 4; j++) { s[sd[k] + j] = r * 1000 + k * 10 + j; d[4 * k + j] = -1; }
        if (pass == 0) {
            COLL(Alltoallv, alltoallv, s, sc, sd, MPI_INT, d, rcnt, rd, MPI_INT, comm);
        } else {
            /* In place: the receive buffer holds what goes to each peer, at the receive layout. */
            for (int k = 0; k < n; k++) for (int j = 0; j < rcnt[k]; j++) d[rd[k] + j] = r * 1000 + k * 10 + j;
            COLL(Alltoallv, alltoallv, MPI_IN_PLACE, NULL, NULL, MPI_DATATYPE_NULL, d, rcnt, rd, MPI_INT, comm);
        }
        for (int k = 0; k < n; k++) {
            for (int j = 0; j < rcnt[k]; j++) CHECK(d[4 * k + j] == k * 1000 + r * 10 + j, "alltoallv pass %d from %d [%d] = %d", pass, k, j, d[4 * k + j]);
            for (int j = rcnt[k]; j < 4; j++) CHECK(d[4 * k + j] == (pass ? d[4 * k + j] : -1), "alltoallv wrote into a gap");
        }
    }
    /* Alltoallw: ints to every peer; from odd peers received through vector(c, 1, 2) types
     * (byte displacements, 8 ints per peer). */
    MPI_Datatype vt[3], *stypes = malloc(sizeof(MPI_Datatype) * n), *rtypes = malloc(sizeof(MPI_Datatype) * n);
    for (int c = 0; c < 3; c++) { MPI_Type_vector(c, 1, 2, MPI_INT, &vt[c]); MPI_Type_commit(&vt[c]); }
    int *wd = malloc(sizeof(int) * 8 * n);
    for (int k = 0; k < n; k++) {
        stypes[k] = MPI_INT;
        sd[k] = (int)sizeof(int) * 4 * (n - 1 - k);
        rd[k] = (int)sizeof(int) * 8 * k;
        if (k % 2) { rtypes[k] = vt[rcnt[k]]; rcnt[k] = 1; } else rtypes[k] = MPI_INT;
    }
    for (int k = 0; k < n; k++) for (int j = 0; j < 4; j++) s[4 * (n - 1 - k) + j] = r * 1000 + k * 10 + j;
    for (int j = 0; j < 8 * n; j++) wd[j] = -1;
    COLL(Alltoallw, alltoallw, s, sc, sd, stypes, wd, rcnt, rd, rtypes, comm);
    for (int k = 0; k < n; k++) {
        int c = (k + r) % 3;
        for (int j = 0; j < c; j++) {
            int at = 8 * k + (k % 2 ? 2 * j : j);
            CHECK(wd[at] == k * 1000 + r * 10 + j, "alltoallw from %d [%d] = %d", k, j, wd[at]);
        }
        if (k % 2 && c == 2) CHECK(wd[8 * k + 1] == -1, "alltoallw wrote into a vector gap");
    }
    for (int c = 0; c < 3; c++) MPI_Type_free(&vt[c]);
    free(stypes); free(rtypes); free(wd);
    free(sc); free(sd); free(rcnt); free(rd); free(s); free(d);
    free(counts); free(displs); free(buf);
}

static void all_tests(MPI_Comm comm) {
    TRACE("broadcasts"); broadcasts(comm);
    TRACE("predefined reductions"); predefined_reductions(comm);
    TRACE("location reductions"); location_reductions(comm);
    TRACE("user reductions"); user_reductions(comm);
    TRACE("gathers"); gathers(comm);
    TRACE("vector variants"); vector_variants(comm);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    all_tests(MPI_COMM_WORLD);
    /* The same on a communicator whose ranks are those of world in reverse order. */
    MPI_Comm rev;
    MPI_Comm_split(MPI_COMM_WORLD, 0, size_ - rank_, &rev);
    all_tests(rev);
    MPI_Comm_free(&rev);
    return finish_test(TEST_NAME);
}
