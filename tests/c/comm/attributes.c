/* ranks: 1 2 3 4
 * Attribute caching (MPI-3.1 §6.7): keyvals with C copy and delete callbacks (called with the
 * right communicator handle, keyval, extra state and value), MPI_COMM_NULL_COPY_FN and
 * MPI_COMM_DUP_FN, set/get/delete, replacement, copies on dup, deletes on free, keyval free
 * while in use, the deprecated MPI-1 names, a failing copy callback, and the predefined
 * attributes (MPI_TAG_UB, MPI_WTIME_IS_GLOBAL, MPI_APPNUM, MPI_LASTUSEDCODE ...). Any size. */
#include "common.h"

static int copies, deletes;
static MPI_Comm last_comm = MPI_COMM_NULL;
static void *last_value;
static int extra_magic = 4242;

static int copy_plus_one(MPI_Comm oldcomm, int keyval, void *extra, void *in, void *out, int *flag) {
    (void)keyval;
    copies++;
    CHECK(extra == &extra_magic, "copy callback extra state %p", extra);
    CHECK(oldcomm != MPI_COMM_NULL, "copy callback got MPI_COMM_NULL");
    *(void **)out = (char *)in + 1;
    *flag = 1;
    return MPI_SUCCESS;
}

static int delete_record(MPI_Comm comm, int keyval, void *value, void *extra) {
    (void)keyval;
    deletes++;
    CHECK(extra == &extra_magic, "delete callback extra state %p", extra);
    last_comm = comm;
    last_value = value;
    return MPI_SUCCESS;
}

static int copy_refuse(MPI_Comm oldcomm, int keyval, void *extra, void *in, void *out, int *flag) {
    (void)oldcomm; (void)keyval; (void)extra; (void)in; (void)out;
    *flag = 0;
    return MPI_SUCCESS;
}

static int copy_fail(MPI_Comm oldcomm, int keyval, void *extra, void *in, void *out, int *flag) {
    (void)oldcomm; (void)keyval; (void)extra; (void)in; (void)out;
    *flag = 0;
    return MPI_ERR_OTHER;
}

static void test_callbacks(void) {
    int kv, kv_null, kv_dup, kv_refuse;
    CHECK_RC(MPI_Comm_create_keyval(copy_plus_one, delete_record, &kv, &extra_magic), "create_keyval");
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &kv_null, NULL);
    MPI_Comm_create_keyval(MPI_COMM_DUP_FN, MPI_COMM_NULL_DELETE_FN, &kv_dup, NULL);
    MPI_Comm_create_keyval(copy_refuse, MPI_COMM_NULL_DELETE_FN, &kv_refuse, NULL);

    MPI_Comm a;
    MPI_Comm_dup(MPI_COMM_WORLD, &a);
    char base[16];
    CHECK_RC(MPI_Comm_set_attr(a, kv, base), "set_attr");
    MPI_Comm_set_attr(a, kv_null, base + 5);
    MPI_Comm_set_attr(a, kv_dup, base + 7);
    MPI_Comm_set_attr(a, kv_refuse, base + 9);
    void *v = NULL;
    int flag = 0;
    CHECK_RC(MPI_Comm_get_attr(a, kv, &v, &flag), "get_attr");
    CHECK(flag == 1 && v == base, "get_attr flag %d value %p (want %p)", flag, v, (void *)base);

    /* Replacing runs the delete callback on the old value, with this communicator. */
    deletes = 0;
    MPI_Comm_set_attr(a, kv, base + 2);
    CHECK(deletes == 1 && last_value == base && last_comm == a, "replace: deletes %d value %p", deletes, last_value);
    MPI_Comm_get_attr(a, kv, &v, &flag);
    CHECK(flag && v == base + 2, "after replace %p", v);

    /* Dup: copy_plus_one makes value+1, NULL_COPY drops, DUP_FN copies, refuse drops. */
    MPI_Comm b;
    copies = 0;
    CHECK_RC(MPI_Comm_dup(a, &b), "dup with attributes");
    CHECK(copies == 1, "copy callback ran %d times", copies);
    MPI_Comm_get_attr(b, kv, &v, &flag);
    CHECK(flag && v == base + 3, "copied value %p (want %p)", v, (void *)(base + 3));
    MPI_Comm_get_attr(b, kv_null, &v, &flag);
    CHECK(!flag, "MPI_COMM_NULL_COPY_FN copied");
    MPI_Comm_get_attr(b, kv_dup, &v, &flag);
    CHECK(flag && v == base + 7, "MPI_COMM_DUP_FN value %p", v);
    MPI_Comm_get_attr(b, kv_refuse, &v, &flag);
    CHECK(!flag, "refusing copy callback copied");

    /* Delete, then get: not found; deleting again: MPI_ERR_KEYVAL (under ERRORS_RETURN). */
    deletes = 0;
    CHECK_RC(MPI_Comm_delete_attr(b, kv), "delete_attr");
    CHECK(deletes == 1 && last_comm == b && last_value == base + 3, "delete callback: %d %p", deletes, last_value);
    MPI_Comm_get_attr(b, kv, &v, &flag);
    CHECK(!flag, "deleted attribute still found");

    /* Free the keyval while a communicator still has it: the attribute lives on. */
    int kv_saved = kv;
    CHECK_RC(MPI_Comm_free_keyval(&kv), "free_keyval");
    CHECK(kv == MPI_KEYVAL_INVALID, "free_keyval left %x", (unsigned)kv);
    MPI_Comm_get_attr(a, kv_saved, &v, &flag);
    CHECK(flag && v == base + 2, "attribute gone after keyval free: flag %d", flag);

    /* Free runs the delete callbacks with the communicator's handle. */
    deletes = 0;
    MPI_Comm a_handle = a;
    CHECK_RC(MPI_Comm_free(&a), "free with attributes");
    CHECK(deletes == 1 && last_comm == a_handle && last_value == base + 2, "free: deletes %d comm %x", deletes, (unsigned)last_comm);
    MPI_Comm_free(&b);
    MPI_Comm_free_keyval(&kv_null);
    MPI_Comm_free_keyval(&kv_dup);
    MPI_Comm_free_keyval(&kv_refuse);
}

static void test_deprecated_and_errors(void) {
    int kv;
    CHECK_RC(MPI_Keyval_create(MPI_NULL_COPY_FN, MPI_NULL_DELETE_FN, &kv, NULL), "Keyval_create");
    int x = 5;
    CHECK_RC(MPI_Attr_put(MPI_COMM_SELF, kv, &x), "Attr_put");
    int *p = NULL, flag = 0;
    CHECK_RC(MPI_Attr_get(MPI_COMM_SELF, kv, &p, &flag), "Attr_get");
    CHECK(flag && p == &x && *p == 5, "Attr_get %p", (void *)p);
    CHECK_RC(MPI_Attr_delete(MPI_COMM_SELF, kv), "Attr_delete");
    CHECK_RC(MPI_Keyval_free(&kv), "Keyval_free");
    CHECK(kv == MPI_KEYVAL_INVALID, "Keyval_free left %x", (unsigned)kv);

    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int fkv;
    MPI_Comm_create_keyval(copy_fail, MPI_COMM_NULL_DELETE_FN, &fkv, NULL);
    MPI_Comm_set_attr(MPI_COMM_WORLD, fkv, &x);
    MPI_Comm bad = MPI_COMM_NULL;
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &bad);
    CHECK(rc != MPI_SUCCESS, "dup with failing copy callback succeeded");
    MPI_Comm_delete_attr(MPI_COMM_WORLD, fkv);
    MPI_Comm_free_keyval(&fkv);
    CHECK_CLASS(MPI_Comm_delete_attr(MPI_COMM_WORLD, fkv), MPI_ERR_KEYVAL, "delete with freed keyval");
    CHECK_CLASS(MPI_Comm_set_attr(MPI_COMM_WORLD, MPI_TAG_UB, &x), MPI_ERR_KEYVAL, "set MPI_TAG_UB");
    CHECK_CLASS(MPI_Comm_free_keyval(&(int){MPI_TAG_UB}), MPI_ERR_KEYVAL, "free MPI_TAG_UB");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

static void test_predefined(void) {
    int *v = NULL, flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &v, &flag);
    CHECK(flag && v && *v >= 32767, "MPI_TAG_UB %d", flag && v ? *v : -1);
    int tag_ub = flag ? *v : 0;
    /* Every communicator reports it (MPICH does too). */
    MPI_Comm d;
    MPI_Comm_dup(MPI_COMM_WORLD, &d);
    MPI_Comm_get_attr(d, MPI_TAG_UB, &v, &flag);
    CHECK(flag && *v == tag_ub, "MPI_TAG_UB on a dup");
    MPI_Comm_free(&d);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_WTIME_IS_GLOBAL, &v, &flag);
    CHECK(!flag || *v == 0 || *v == 1, "MPI_WTIME_IS_GLOBAL %d", *v);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_IO, &v, &flag);
    CHECK(flag, "MPI_IO missing");
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_HOST, &v, &flag);
    CHECK(flag, "MPI_HOST missing");
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &v, &flag);
    CHECK(!flag || *v >= size_, "MPI_UNIVERSE_SIZE %d", *v);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &v, &flag);
    CHECK(!flag || *v == 0, "MPI_APPNUM %d", *v);
    int cls;
    MPI_Add_error_class(&cls);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &v, &flag);
    CHECK(flag && *v == cls, "MPI_LASTUSEDCODE %d, last class %d", flag ? *v : -1, cls);
    int code;
    MPI_Add_error_code(cls, &code);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &v, &flag);
    /* The standard says the largest code or class; MPICH counts classes only. */
    CHECK(flag && (*v == code || *v == cls), "MPI_LASTUSEDCODE %d, last code %d", flag ? *v : -1, code);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    test_callbacks();
    test_deprecated_and_errors();
    test_predefined();
    return finish_test("attributes");
}
