/* Window management and error reporting: error classes returned under MPI_ERRORS_RETURN
 * (synchronization misuse, bad ranks, displacements, sizes, ops and types, flavors), a user
 * window error handler called with the window and the code (also by MPI_Win_call_errhandler),
 * names, info, groups, user attributes with delete callbacks, predefined attributes.
 * Checks that Debian's MPICH 4.0 does not make (target range, detaching what was never
 * attached, MPI_ERR_LOCKTYPE rather than MPI_ERR_ARG) are strict only on Ferry. */
#include "common.h"

static int handler_calls = 0, handler_code = 0;
static MPI_Win handler_win = MPI_WIN_NULL;
static void on_error(MPI_Win *win, int *code, ...) {
    handler_calls++;
    handler_code = *code;
    handler_win = *win;
}

static int deleted = 0;
static int on_delete(MPI_Win win, int keyval, void *value, void *extra) {
    (void)win; (void)keyval;
    deleted += *(int *)value + *(int *)extra;
    return MPI_SUCCESS;
}

static void user_op(void *in, void *inout, int *len, MPI_Datatype *type) { (void)in; (void)inout; (void)len; (void)type; }

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 60);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len;
    MPI_Get_library_version(version, &len);
    int ferry = strstr(version, "Ferry") != NULL;
    int n = size_, v = 1, r = 0;
    double d = 1.0;

    int *mem;
    MPI_Win win, w2;
    CHECK_RC(MPI_Win_allocate(64, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    MPI_Errhandler eh;
    CHECK_RC(MPI_Win_get_errhandler(win, &eh));
    CHECK(eh == MPI_ERRORS_ARE_FATAL);
    CHECK_RC(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    CHECK_RC(MPI_Win_get_errhandler(win, &eh));
    CHECK(eh == MPI_ERRORS_RETURN);

    /* Synchronization misuse. */
    CHECK_CLASS(MPI_Put(&v, 1, MPI_INT, 0, 0, 1, MPI_INT, win), MPI_ERR_RMA_SYNC);
    CHECK_CLASS(MPI_Win_unlock(0, win), MPI_ERR_RMA_SYNC);
    CHECK_CLASS(MPI_Win_unlock_all(win), MPI_ERR_RMA_SYNC);
    CHECK_CLASS(MPI_Win_flush(0, win), MPI_ERR_RMA_SYNC);
    MPI_Request q;
    CHECK_CLASS(MPI_Rput(&v, 1, MPI_INT, 0, 0, 1, MPI_INT, win, &q), MPI_ERR_RMA_SYNC);
    int c = error_class(MPI_Win_lock(999, 0, 0, win));
    CHECK(c == MPI_ERR_LOCKTYPE || (!ferry && c == MPI_ERR_ARG));
    CHECK_RC(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
    CHECK_CLASS(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win), MPI_ERR_RMA_SYNC);
    CHECK_CLASS(MPI_Win_fence(0, win), MPI_ERR_RMA_SYNC);
    CHECK_CLASS(MPI_Win_lock_all(0, win), MPI_ERR_RMA_SYNC);
    MPI_Win keep = win;
    CHECK_CLASS(MPI_Win_free(&win), MPI_ERR_RMA_SYNC);
    CHECK(win == keep);

    /* Arguments of the communication calls. */
    CHECK_CLASS(MPI_Put(&v, 1, MPI_INT, n, 0, 1, MPI_INT, win), MPI_ERR_RANK);
    CHECK_CLASS(MPI_Put(&v, 1, MPI_INT, 0, -1, 1, MPI_INT, win), MPI_ERR_DISP);
    CHECK_CLASS(MPI_Put(&v, -1, MPI_INT, 0, 0, -1, MPI_INT, win), MPI_ERR_COUNT);
    if (ferry) {
        CHECK_CLASS(MPI_Put(&v, 1, MPI_INT, 0, 16, 1, MPI_INT, win), MPI_ERR_RMA_RANGE);
        int two_ints[2];
        CHECK_CLASS(MPI_Get(two_ints, 2, MPI_INT, 0, 15, 2, MPI_INT, win), MPI_ERR_RMA_RANGE);
    }
    CHECK_RC(MPI_Put(&v, 1, MPI_INT, MPI_PROC_NULL, 0, 1, MPI_INT, win));
    MPI_Op op;
    MPI_Op_create(user_op, 1, &op);
    CHECK_CLASS(MPI_Accumulate(&v, 1, MPI_INT, 0, 0, 1, MPI_INT, op, win), MPI_ERR_OP);
    CHECK_CLASS(MPI_Accumulate(&v, 1, MPI_INT, 0, 0, 1, MPI_INT, MPI_OP_NULL, win), MPI_ERR_OP);
    CHECK_CLASS(MPI_Accumulate(&v, 1, MPI_INT, 0, 0, 1, MPI_INT, MPI_NO_OP, win), MPI_ERR_OP);
    CHECK_CLASS(MPI_Compare_and_swap(&d, &d, &d, MPI_DOUBLE, 0, 0, win), MPI_ERR_TYPE);
    MPI_Datatype two;
    MPI_Type_contiguous(2, MPI_INT, &two);
    MPI_Type_commit(&two);
    CHECK_CLASS(MPI_Fetch_and_op(&v, &r, two, 0, 0, MPI_SUM, win), MPI_ERR_TYPE);
    CHECK_RC(MPI_Win_unlock(0, win));
    MPI_Op_free(&op);
    MPI_Type_free(&two);

    /* Flavors and creation arguments. */
    MPI_Aint qs;
    int qd;
    void *qp;
    CHECK_CLASS(MPI_Win_shared_query(win, 0, &qs, &qd, &qp), MPI_ERR_RMA_FLAVOR);
    CHECK_CLASS(MPI_Win_attach(win, &v, 4), MPI_ERR_RMA_FLAVOR);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    CHECK_CLASS(MPI_Win_create(&v, -4, 4, MPI_INFO_NULL, MPI_COMM_WORLD, &w2), MPI_ERR_SIZE);
    CHECK_CLASS(MPI_Win_create(&v, 4, 0, MPI_INFO_NULL, MPI_COMM_WORLD, &w2), MPI_ERR_DISP);
    CHECK_CLASS(MPI_Win_allocate(-4, 4, MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &w2), MPI_ERR_SIZE);
    CHECK_CLASS(MPI_Win_fence(0, MPI_WIN_NULL), MPI_ERR_WIN);
    c = error_class(MPI_Win_fence(12345, win));
    CHECK(c == MPI_ERR_ASSERT || (!ferry && c == MPI_ERR_ARG));

    /* Dynamic windows: attach, detach, range. */
    CHECK_RC(MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &w2));
    CHECK_RC(MPI_Win_set_errhandler(w2, MPI_ERRORS_RETURN));
    int arr[4] = { 0, 0, 0, 0 };
    if (ferry) CHECK_CLASS(MPI_Win_detach(w2, arr), MPI_ERR_RMA_ATTACH);
    CHECK_RC(MPI_Win_attach(w2, arr, sizeof arr));
    MPI_Aint a;
    MPI_Get_address(arr, &a);
    CHECK_RC(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank_, 0, w2));
    if (ferry) CHECK_CLASS(MPI_Put(&v, 1, MPI_INT, rank_, a + 16, 1, MPI_INT, w2), MPI_ERR_RMA_RANGE);
    int one = 1;
    CHECK_RC(MPI_Put(&one, 1, MPI_INT, rank_, a + 12, 1, MPI_INT, w2));
    CHECK_RC(MPI_Win_unlock(rank_, w2));
    CHECK_EQ(arr[3], 1);
    CHECK_RC(MPI_Win_detach(w2, arr));
    int *flavor, flag;
    CHECK_RC(MPI_Win_get_attr(w2, MPI_WIN_CREATE_FLAVOR, &flavor, &flag));
    CHECK(flag && *flavor == MPI_WIN_FLAVOR_DYNAMIC);
    CHECK_RC(MPI_Win_free(&w2));

    /* A user error handler gets the window and the code. */
    MPI_Errhandler mine;
    CHECK_RC(MPI_Win_create_errhandler(on_error, &mine));
    CHECK_RC(MPI_Win_set_errhandler(win, mine));
    int rc = MPI_Win_unlock(0, win);
    CHECK_CLASS(rc, MPI_ERR_RMA_SYNC);
    CHECK_EQ(handler_calls, 1);
    CHECK_EQ(handler_code, rc);
    CHECK(handler_win == win);
    CHECK_RC(MPI_Win_call_errhandler(win, MPI_ERR_OTHER));
    CHECK_EQ(handler_calls, 2);
    CHECK_EQ(handler_code, MPI_ERR_OTHER);
    MPI_Errhandler got;
    CHECK_RC(MPI_Win_get_errhandler(win, &got));
    MPI_Errhandler_free(&got);
    CHECK_RC(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    MPI_Errhandler_free(&mine);

    /* Names. */
    char name[MPI_MAX_OBJECT_NAME];
    CHECK_RC(MPI_Win_get_name(win, name, &len));
    CHECK_EQ(len, (int)strlen(name));
    CHECK_RC(MPI_Win_set_name(win, "ferry window"));
    CHECK_RC(MPI_Win_get_name(win, name, &len));
    CHECK(strcmp(name, "ferry window") == 0);
    CHECK_EQ(len, 12);

    /* Group. */
    MPI_Group g, wg;
    int cmp;
    CHECK_RC(MPI_Win_get_group(win, &g));
    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    MPI_Group_compare(g, wg, &cmp);
    CHECK_EQ(cmp, MPI_IDENT);
    MPI_Group_free(&g);
    MPI_Group_free(&wg);

    /* Info. */
    MPI_Info info, used;
    MPI_Info_create(&info);
    MPI_Info_set(info, "no_locks", "true");
    CHECK_RC(MPI_Win_set_info(win, info));
    CHECK_RC(MPI_Win_get_info(win, &used));
    CHECK(used != MPI_INFO_NULL);
    int nkeys = -1;
    MPI_Info_get_nkeys(used, &nkeys);
    CHECK(nkeys >= 0);
    MPI_Info_free(&used);
    MPI_Info_free(&info);

    /* Attributes: user keyval with a delete callback, predefined ones. */
    int key, extra = 100, val1 = 1, val2 = 2;
    CHECK_RC(MPI_Win_create_keyval(MPI_WIN_NULL_COPY_FN, on_delete, &key, &extra));
    CHECK_RC(MPI_Win_set_attr(win, key, &val1));
    void *out = NULL;
    CHECK_RC(MPI_Win_get_attr(win, key, &out, &flag));
    CHECK(flag && out == &val1);
    CHECK_RC(MPI_Win_set_attr(win, key, &val2));   /* deletes val1: +101 */
    CHECK_EQ(deleted, 101);
    CHECK_RC(MPI_Win_delete_attr(win, key));       /* deletes val2: +102 */
    CHECK_EQ(deleted, 203);
    CHECK_RC(MPI_Win_get_attr(win, key, &out, &flag));
    CHECK(!flag);
    CHECK_RC(MPI_Win_set_attr(win, key, &val1));   /* deleted again by MPI_Win_free: +101 */
    CHECK_CLASS(MPI_Win_set_attr(win, MPI_WIN_BASE, NULL), MPI_ERR_KEYVAL);
    void *base = NULL;
    MPI_Aint *size = NULL;
    int *unit = NULL;
    CHECK_RC(MPI_Win_get_attr(win, MPI_WIN_BASE, &base, &flag));
    CHECK(flag && base == mem);
    CHECK_RC(MPI_Win_get_attr(win, MPI_WIN_SIZE, &size, &flag));
    CHECK(flag && *size == 64);
    CHECK_RC(MPI_Win_get_attr(win, MPI_WIN_DISP_UNIT, &unit, &flag));
    CHECK(flag && *unit == (int)sizeof(int));
    CHECK_RC(MPI_Win_get_attr(win, MPI_WIN_CREATE_FLAVOR, &flavor, &flag));
    CHECK(flag && *flavor == MPI_WIN_FLAVOR_ALLOCATE);

    CHECK_RC(MPI_Win_free(&win));
    CHECK(win == MPI_WIN_NULL);
    CHECK_EQ(deleted, 304);
    CHECK_RC(MPI_Win_free_keyval(&key));
    CHECK(key == MPI_KEYVAL_INVALID);
    return test_end("rma-errors");
}
