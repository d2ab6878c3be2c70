/* ranks: 1 2 3 4
 * Info objects (MPI-3.1 §9): set, get (with truncation), get_valuelen, nkeys and nthkey in
 * insertion order, replacement, delete, dup (a deep copy), free, MPI_Info_get_string (MPI-4),
 * MPI_INFO_ENV, the key and value limits with MPI_ERR_INFO_KEY / _VALUE / _NOKEY, and
 * MPI_Alloc_mem / MPI_Free_mem. Any size. */
#include "common.h"

/* MPI-4; declared here because Ferry's mpi.h is MPI-3.1 (MPICH's declares the same). */
int PMPI_Info_get_string(MPI_Info info, const char *key, int *buflen, char *value, int *flag);

static void test_basic(void) {
    MPI_Info info, dup;
    CHECK_RC(MPI_Info_create(&info), "Info_create");
    int n = -1;
    MPI_Info_get_nkeys(info, &n);
    CHECK(n == 0, "new info has %d keys", n);
    MPI_Info_set(info, "alpha", "1");
    MPI_Info_set(info, "beta", "two");
    MPI_Info_set(info, "gamma", "a longer value");
    MPI_Info_set(info, "beta", "TWO");
    MPI_Info_get_nkeys(info, &n);
    CHECK(n == 3, "nkeys %d", n);
    const char *order[] = {"alpha", "beta", "gamma"};
    char key[MPI_MAX_INFO_KEY + 1], value[MPI_MAX_INFO_VAL + 1];
    for (int i = 0; i < 3; i++) {
        MPI_Info_get_nthkey(info, i, key);
        CHECK(strcmp(key, order[i]) == 0, "key %d is '%s'", i, key);
    }
    int flag = 0, len = -1;
    MPI_Info_get(info, "beta", MPI_MAX_INFO_VAL, value, &flag);
    CHECK(flag && strcmp(value, "TWO") == 0, "beta = '%s'", value);
    MPI_Info_get_valuelen(info, "gamma", &len, &flag);
    CHECK(flag && len == 14, "valuelen %d", len);
    if (is_ferry()) {
        /* The standard truncates a longer value; MPICH reports MPI_ERR_INFO_VALUE instead. */
        memset(value, '#', 16);
        MPI_Info_get(info, "gamma", 4, value, &flag);
        CHECK(flag && strcmp(value, "a lo") == 0, "truncated get '%s'", value);
    }
    MPI_Info_get(info, "delta", MPI_MAX_INFO_VAL, value, &flag);
    CHECK(!flag, "missing key found");
    MPI_Info_get_valuelen(info, "delta", &len, &flag);
    CHECK(!flag, "missing key has a length");

    /* MPI-4 get_string: buflen in, length + 1 out. Called by its PMPI_ name, which both
     * libraries export (Ferry's mpi.h is MPI-3.1 and has no MPI_Info_get_string entry point). */
    int buflen = 3;
    PMPI_Info_get_string(info, "gamma", &buflen, value, &flag);
    CHECK(flag && buflen == 15 && strcmp(value, "a ") == 0, "get_string buflen %d '%s'", buflen, value);

    CHECK_RC(MPI_Info_dup(info, &dup), "Info_dup");
    MPI_Info_set(dup, "alpha", "changed");
    CHECK_RC(MPI_Info_delete(info, "beta"), "Info_delete");
    MPI_Info_get_nkeys(info, &n);
    CHECK(n == 2, "nkeys after delete %d", n);
    MPI_Info_get_nthkey(info, 1, key);
    CHECK(strcmp(key, "gamma") == 0, "key 1 after delete '%s'", key);
    MPI_Info_get(info, "alpha", MPI_MAX_INFO_VAL, value, &flag);
    CHECK(flag && strcmp(value, "1") == 0, "original changed by dup: '%s'", value);
    MPI_Info_get(dup, "beta", MPI_MAX_INFO_VAL, value, &flag);
    CHECK(flag && strcmp(value, "TWO") == 0, "dup lost beta");
    MPI_Info_get_nkeys(dup, &n);
    CHECK(n == 3, "dup nkeys %d", n);
    CHECK_RC(MPI_Info_free(&dup), "Info_free");
    CHECK(dup == MPI_INFO_NULL, "free left %x", (unsigned)dup);

    /* Limits: a key of MPI_MAX_INFO_KEY characters is fine, one more is not. */
    char longkey[MPI_MAX_INFO_KEY + 2];
    memset(longkey, 'k', MPI_MAX_INFO_KEY);
    longkey[MPI_MAX_INFO_KEY] = 0;
    CHECK_RC(MPI_Info_set(info, longkey, "ok"), "set with the longest key");
    static char longval[MPI_MAX_INFO_VAL + 2];
    memset(longval, 'v', MPI_MAX_INFO_VAL);
    longval[MPI_MAX_INFO_VAL] = 0;
    CHECK_RC(MPI_Info_set(info, "long", longval), "set with the longest value");
    MPI_Info_get_valuelen(info, "long", &len, &flag);
    CHECK(len == MPI_MAX_INFO_VAL, "longest value length %d", len);

    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    longkey[MPI_MAX_INFO_KEY] = 'k';
    longkey[MPI_MAX_INFO_KEY + 1] = 0;
    CHECK_CLASS(MPI_Info_set(info, longkey, "x"), MPI_ERR_INFO_KEY, "key too long");
    CHECK_CLASS(MPI_Info_set(info, "", "x"), MPI_ERR_INFO_KEY, "empty key");
    if (is_ferry()) {
        longval[MPI_MAX_INFO_VAL] = 'v';
        longval[MPI_MAX_INFO_VAL + 1] = 0;
        CHECK_CLASS(MPI_Info_set(info, "toolong", longval), MPI_ERR_INFO_VALUE, "value too long");
        CHECK_CLASS(MPI_Info_get_nkeys(MPI_INFO_NULL, &n), MPI_ERR_INFO, "nkeys of MPI_INFO_NULL");
    }
    CHECK_CLASS(MPI_Info_delete(info, "nokey"), MPI_ERR_INFO_NOKEY, "delete a missing key");
    CHECK_CLASS(MPI_Info_get_nthkey(info, 99, key), MPI_ERR_ARG, "nthkey out of range");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Info_free(&info);
}

static void test_env_and_memory(void) {
    int n = -1, flag = 0;
    CHECK_RC(MPI_Info_get_nkeys(MPI_INFO_ENV, &n), "nkeys of MPI_INFO_ENV");
    char key[MPI_MAX_INFO_KEY + 1], value[MPI_MAX_INFO_VAL + 1];
    for (int i = 0; i < n; i++) {
        MPI_Info_get_nthkey(MPI_INFO_ENV, i, key);
        MPI_Info_get(MPI_INFO_ENV, key, MPI_MAX_INFO_VAL, value, &flag);
        CHECK(flag, "MPI_INFO_ENV key '%s' has no value", key);
    }
    if (is_ferry()) {
        MPI_Info_get(MPI_INFO_ENV, "maxprocs", MPI_MAX_INFO_VAL, value, &flag);
        CHECK(flag && atoi(value) == size_, "maxprocs '%s'", flag ? value : "");
        MPI_Info_get(MPI_INFO_ENV, "command", MPI_MAX_INFO_VAL, value, &flag);
        CHECK(flag && strstr(value, "info") != NULL, "command '%s'", flag ? value : "");
        MPI_Info_get(MPI_INFO_ENV, "thread_level", MPI_MAX_INFO_VAL, value, &flag);
        CHECK(flag && strcmp(value, "MPI_THREAD_SINGLE") == 0, "thread_level '%s'", flag ? value : "");
    }
    MPI_Info d;
    CHECK_RC(MPI_Info_dup(MPI_INFO_ENV, &d), "dup of MPI_INFO_ENV");
    int m;
    MPI_Info_get_nkeys(d, &m);
    CHECK(m == n, "dup of MPI_INFO_ENV has %d keys, not %d", m, n);
    MPI_Info_free(&d);

    double *p = NULL;
    CHECK_RC(MPI_Alloc_mem(1000 * sizeof(double), MPI_INFO_NULL, &p), "Alloc_mem");
    CHECK(p != NULL && ((uintptr_t)p % 8) == 0, "Alloc_mem pointer %p", (void *)p);
    for (int i = 0; i < 1000; i++) p[i] = i;
    double s = 0;
    for (int i = 0; i < 1000; i++) s += p[i];
    CHECK(s == 499500.0, "memory sum %f", s);
    CHECK_RC(MPI_Free_mem(p), "Free_mem");
    void *z = NULL;
    CHECK_RC(MPI_Alloc_mem(0, MPI_INFO_NULL, &z), "Alloc_mem of 0 bytes");
    MPI_Free_mem(z);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (is_ferry()) {
        void *huge = NULL;
        int rc = MPI_Alloc_mem((MPI_Aint)1 << 60, MPI_INFO_NULL, &huge);
        CHECK_CLASS(rc, MPI_ERR_NO_MEM, "Alloc_mem of 2^60 bytes");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    test_basic();
    test_env_and_memory();
    return finish_test("info");
}
