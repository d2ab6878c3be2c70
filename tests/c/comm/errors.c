/* ranks: 1 2 3 4
 * Error handling (MPI-3.1 §8.3–8.5): user error handlers on communicators (called with a
 * pointer to the communicator's handle and the code, inherited by dup and split, kept alive
 * after MPI_Errhandler_free while in use, invoked by MPI_Comm_call_errhandler), the deprecated
 * MPI_Errhandler_create/set/get, MPI_ERRORS_RETURN with the standard's classes for invalid
 * communicators, ranks, roots, tags, counts and datatypes, error strings and classes, and
 * user-added classes, codes and strings. Any size. */
#include "common.h"

static int calls;
static MPI_Comm seen_comm;
static int seen_code;

static void handler(MPI_Comm *comm, int *code, ...) {
    calls++;
    seen_comm = *comm;
    seen_code = *code;
}

static void test_user_handler(void) {
    MPI_Errhandler eh, got;
    CHECK_RC(MPI_Comm_create_errhandler(handler, &eh), "create_errhandler");
    MPI_Comm d;
    MPI_Comm_dup(MPI_COMM_WORLD, &d);
    CHECK_RC(MPI_Comm_set_errhandler(d, eh), "set_errhandler");
    CHECK_RC(MPI_Comm_get_errhandler(d, &got), "get_errhandler");
    CHECK(got == eh, "get_errhandler %x, set %x", (unsigned)got, (unsigned)eh);
    MPI_Errhandler_free(&got);
    CHECK(got == MPI_ERRHANDLER_NULL, "Errhandler_free left %x", (unsigned)got);

    int x = 0;
    calls = 0;
    int rc = MPI_Send(&x, 1, MPI_INT, size_ + 3, 0, d);
    CHECK(rc != MPI_SUCCESS && class_of(rc) == MPI_ERR_RANK, "send to bad rank: rc %d class %d", rc, class_of(rc));
    CHECK(calls == 1 && seen_comm == d && seen_code == rc, "handler: calls %d comm %x code %d", calls, (unsigned)seen_comm, seen_code);

    /* Free the application's handle: the communicator keeps its handler. */
    MPI_Errhandler_free(&eh);
    calls = 0;
    CHECK_RC(MPI_Comm_call_errhandler(d, MPI_ERR_OTHER), "call_errhandler");
    CHECK(calls == 1 && seen_comm == d && seen_code == MPI_ERR_OTHER, "call_errhandler: calls %d code %d", calls, seen_code);

    /* dup and split inherit it; the handler sees the new communicator. */
    MPI_Comm d2, s;
    MPI_Comm_dup(d, &d2);
    MPI_Comm_split(d, 0, rank_, &s);
    MPI_Comm_get_errhandler(d2, &got);
    MPI_Errhandler got2;
    MPI_Comm_get_errhandler(s, &got2);
    CHECK(got == got2 && got != MPI_ERRORS_ARE_FATAL && got != MPI_ERRORS_RETURN, "inherited handlers %x %x", (unsigned)got, (unsigned)got2);
    calls = 0;
    rc = MPI_Bcast(&x, 1, MPI_INT, size_ + 1, s);
    CHECK(class_of(rc) == MPI_ERR_ROOT && calls == 1 && seen_comm == s, "bcast bad root on split: class %d calls %d", class_of(rc), calls);
    calls = 0;
    rc = MPI_Send(&x, 1, MPI_INT, 0, -5, d2);
    CHECK(class_of(rc) == MPI_ERR_TAG && calls == 1 && seen_comm == d2, "bad tag on dup: class %d calls %d", class_of(rc), calls);
    /* The handle from get_errhandler works on another communicator too. */
    MPI_Comm_set_errhandler(s, MPI_ERRORS_RETURN);
    MPI_Comm_get_errhandler(s, &got2);
    CHECK(got2 == MPI_ERRORS_RETURN, "set MPI_ERRORS_RETURN reads back %x", (unsigned)got2);
    MPI_Comm_set_errhandler(s, got);
    calls = 0;
    MPI_Comm_call_errhandler(s, MPI_ERR_ARG);
    CHECK(calls == 1 && seen_comm == s, "reused handle: calls %d", calls);
    MPI_Errhandler_free(&got);
    MPI_Comm_free(&s);
    MPI_Comm_free(&d2);
    MPI_Comm_free(&d);

    /* Deprecated names. */
    MPI_Handler_function *f = handler;
    CHECK_RC(MPI_Errhandler_create(f, &eh), "Errhandler_create");
    MPI_Comm_dup(MPI_COMM_WORLD, &d);
    CHECK_RC(MPI_Errhandler_set(d, eh), "Errhandler_set");
    CHECK_RC(MPI_Errhandler_get(d, &got), "Errhandler_get");
    CHECK(got == eh, "Errhandler_get %x", (unsigned)got);
    calls = 0;
    MPI_Comm_call_errhandler(d, MPI_ERR_COUNT);
    CHECK(calls == 1 && seen_code == MPI_ERR_COUNT, "deprecated handler calls %d", calls);
    MPI_Errhandler_free(&got);
    MPI_Errhandler_free(&eh);
    MPI_Comm_free(&d);

    /* Predefined handlers may be freed (the handle only). */
    got = MPI_ERRORS_RETURN;
    CHECK_RC(MPI_Errhandler_free(&got), "free MPI_ERRORS_RETURN");
    MPI_Comm_get_errhandler(MPI_COMM_WORLD, &got);
    CHECK(got == MPI_ERRORS_ARE_FATAL, "world's default handler %x", (unsigned)got);
}

static void test_return_codes(void) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int x = 0, n;
    CHECK_CLASS(MPI_Send(&x, 1, MPI_INT, 0, 0, MPI_COMM_NULL), MPI_ERR_COMM, "send on MPI_COMM_NULL");
    CHECK_CLASS(MPI_Send(&x, 1, MPI_INT, -7, 0, MPI_COMM_WORLD), MPI_ERR_RANK, "send to rank -7");
    CHECK_CLASS(MPI_Recv(&x, 1, MPI_INT, size_, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), MPI_ERR_RANK, "recv from rank size");
    CHECK_CLASS(MPI_Send(&x, -1, MPI_INT, 0, 0, MPI_COMM_WORLD), MPI_ERR_COUNT, "negative count");
    CHECK_CLASS(MPI_Send(&x, 1, MPI_DATATYPE_NULL, 0, 0, MPI_COMM_WORLD), MPI_ERR_TYPE, "MPI_DATATYPE_NULL");
    CHECK_CLASS(MPI_Bcast(&x, 1, MPI_INT, -1, MPI_COMM_WORLD), MPI_ERR_ROOT, "bcast root -1");
    CHECK_CLASS(MPI_Reduce(&x, &n, 1, MPI_INT, MPI_SUM, size_, MPI_COMM_WORLD), MPI_ERR_ROOT, "reduce root size");
    MPI_Comm w = MPI_COMM_WORLD;
    CHECK_CLASS(MPI_Comm_free(&w), MPI_ERR_COMM, "free MPI_COMM_WORLD");
    MPI_Comm self = MPI_COMM_SELF;
    CHECK_CLASS(MPI_Comm_free(&self), MPI_ERR_COMM, "free MPI_COMM_SELF");
    if (is_ferry())
        CHECK_CLASS(MPI_Comm_set_errhandler(MPI_COMM_WORLD, (MPI_Errhandler)0x94001234), MPI_ERR_ARG, "set bogus handler");

    /* An error on an invalid communicator goes to MPI_COMM_WORLD's handler. */
    MPI_Errhandler eh;
    MPI_Comm_create_errhandler(handler, &eh);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, eh);
    calls = 0;
    int rc = MPI_Send(&x, 1, MPI_INT, 0, 0, MPI_COMM_NULL);
    CHECK(class_of(rc) == MPI_ERR_COMM && calls == 1, "world handler for MPI_COMM_NULL: class %d calls %d", class_of(rc), calls);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Errhandler_free(&eh);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

static void test_strings(void) {
    char s[MPI_MAX_ERROR_STRING];
    int len, cls;
    int classes[] = {MPI_SUCCESS, MPI_ERR_BUFFER, MPI_ERR_COUNT, MPI_ERR_TYPE, MPI_ERR_TAG, MPI_ERR_COMM, MPI_ERR_RANK,
                     MPI_ERR_ROOT, MPI_ERR_GROUP, MPI_ERR_OP, MPI_ERR_TOPOLOGY, MPI_ERR_DIMS, MPI_ERR_ARG,
                     MPI_ERR_UNKNOWN, MPI_ERR_TRUNCATE, MPI_ERR_OTHER, MPI_ERR_INTERN, MPI_ERR_IN_STATUS,
                     MPI_ERR_PENDING, MPI_ERR_REQUEST, MPI_ERR_INFO, MPI_ERR_INFO_KEY, MPI_ERR_INFO_VALUE,
                     MPI_ERR_INFO_NOKEY, MPI_ERR_KEYVAL, MPI_ERR_NO_MEM, MPI_ERR_WIN, MPI_ERR_SIZE, MPI_ERR_SPAWN,
                     MPI_ERR_UNSUPPORTED_OPERATION, MPI_ERR_RMA_SYNC, MPI_T_ERR_INVALID};
    for (unsigned i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        s[0] = 0;
        len = -1;
        CHECK_RC(MPI_Error_string(classes[i], s, &len), "Error_string");
        CHECK(len > 0 && (int)strlen(s) == len && len < MPI_MAX_ERROR_STRING, "string of class %d: '%s' (%d)", classes[i], s, len);
        MPI_Error_class(classes[i], &cls);
        CHECK(cls == classes[i], "class of class %d is %d", classes[i], cls);
    }
    int c1, c2, code;
    CHECK_RC(MPI_Add_error_class(&c1), "Add_error_class");
    MPI_Add_error_class(&c2);
    CHECK(c1 > MPI_ERR_LASTCODE || (c1 > MPI_ERR_RMA_FLAVOR && c2 > c1), "new classes %d %d", c1, c2);
    CHECK(c1 != c2, "two classes equal %d", c1);
    CHECK_RC(MPI_Add_error_code(c2, &code), "Add_error_code");
    MPI_Error_class(code, &cls);
    CHECK(cls == c2, "class of new code %d, expected %d", cls, c2);
    MPI_Error_string(code, s, &len);
    CHECK(len == 0, "string of a new code without one: '%s'", s);
    CHECK_RC(MPI_Add_error_string(code, "ferry test code"), "Add_error_string");
    MPI_Add_error_string(c2, "ferry test class");
    MPI_Error_string(code, s, &len);
    CHECK(strcmp(s, "ferry test code") == 0 && len == 15, "added code string '%s'", s);
    MPI_Error_string(c2, s, &len);
    CHECK(strcmp(s, "ferry test class") == 0, "added class string '%s'", s);
    MPI_Add_error_string(code, "replaced");
    MPI_Error_string(code, s, &len);
    CHECK(strcmp(s, "replaced") == 0, "replaced string '%s'", s);
    /* A user code travels through a user handler like any other. */
    MPI_Errhandler eh;
    MPI_Comm_create_errhandler(handler, &eh);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, eh);
    calls = 0;
    MPI_Comm_call_errhandler(MPI_COMM_SELF, code);
    CHECK(calls == 1 && seen_code == code && seen_comm == MPI_COMM_SELF, "user code through handler: %d", seen_code);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
    MPI_Errhandler_free(&eh);

    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (is_ferry()) {
        CHECK_CLASS(MPI_Add_error_string(MPI_ERR_ARG, "no"), MPI_ERR_ARG, "string on a predefined class");
        CHECK_CLASS(MPI_Add_error_code(MPI_ERR_LASTCODE - 5, &code), MPI_ERR_ARG, "code of an unknown class");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

int main(int argc, char **argv) {
    start_test(&argc, &argv);
    test_user_handler();
    test_return_codes();
    test_strings();
    return finish_test("errors");
}
