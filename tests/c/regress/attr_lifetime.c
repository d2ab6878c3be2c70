// ranks: 1 2
/* Attribute and error-code rules that MPICH's suite found broken (attr/baseattr2, init/attrself)
   and the lifetime rules of MPI-3.1 §6.7 around them:
   - MPI_LASTUSEDCODE is at least MPI_ERR_LASTCODE, and follows MPI_Add_error_class/code;
   - at MPI_Finalize the attributes of MPI_COMM_SELF are deleted in the reverse of the order in
     which they were set (§8.7.1), not of keyval creation;
   - delete callbacks run on replace, on delete, on MPI_Comm_free; copy callbacks on dup and
     idup, whose copies are deleted when the new communicator is freed;
   - a freed keyval becomes MPI_KEYVAL_INVALID but stays usable by objects that still carry it,
     its delete callback running when they go.
   Prints 'attr_lifetime: OK' (after MPI_Finalize, which it checks). */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

static int ok = 1;
#define CHECK(cond, ...) do { if (!(cond)) { if (ok) printf(__VA_ARGS__); ok = 0; } } while (0)

static char deleted[64];
static int ndeleted;
static int record_delete(MPI_Comm c, int key, void *value, void *extra) {
    (void)c; (void)key; (void)extra;
    if (ndeleted < 63) deleted[ndeleted++] = (char)(MPI_Aint)value;
    return MPI_SUCCESS;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int me; MPI_Comm_rank(MPI_COMM_WORLD, &me);

    int *last, flag;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &last, &flag);
    CHECK(flag && *last >= MPI_ERR_LASTCODE, "MPI_LASTUSEDCODE %d < MPI_ERR_LASTCODE %d\n", flag ? *last : -1, MPI_ERR_LASTCODE);
    int cls, code;
    MPI_Add_error_class(&cls);
    MPI_Add_error_code(cls, &code);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &last, &flag);
    CHECK(flag && *last == code && code > cls && cls > MPI_ERR_LASTCODE, "after adding class %d and code %d: MPI_LASTUSEDCODE %d\n", cls, code, *last);

    /* Replace, delete and free call the delete callback; dup calls the copy callback. */
    int k;
    MPI_Comm_create_keyval(MPI_COMM_DUP_FN, record_delete, &k, NULL);
    MPI_Comm c;
    MPI_Comm_dup(MPI_COMM_WORLD, &c);
    MPI_Comm_set_attr(c, k, (void *)'a');
    MPI_Comm_set_attr(c, k, (void *)'b');             /* deletes 'a' */
    MPI_Comm d;
    MPI_Comm_dup(c, &d);                              /* d carries 'b' too */
    void *v;
    MPI_Comm_get_attr(d, k, &v, &flag);
    CHECK(flag && v == (void *)'b', "dup did not copy the attribute\n");
    MPI_Comm_delete_attr(c, k);                       /* deletes c's 'b' */
    int kept = k;
    MPI_Comm_free_keyval(&k);
    CHECK(k == MPI_KEYVAL_INVALID, "freed keyval not set to MPI_KEYVAL_INVALID\n");
    MPI_Comm_get_attr(d, kept, &v, &flag);
    CHECK(flag && v == (void *)'b', "attribute lost when its keyval was freed\n");
    MPI_Comm_free(&d);                                /* deletes d's 'b' through the freed keyval */
    MPI_Comm_free(&c);
    /* MPI_Comm_idup copies as MPI_Comm_dup does, and the copy is deleted when the new
       communicator is freed (its value must not be dropped without its callback). */
    int k4;
    MPI_Comm_create_keyval(MPI_COMM_DUP_FN, record_delete, &k4, NULL);
    MPI_Comm e, f;
    MPI_Request r;
    MPI_Comm_dup(MPI_COMM_WORLD, &e);
    MPI_Comm_set_attr(e, k4, (void *)'i');
    MPI_Comm_idup(e, &f, &r);
    MPI_Wait(&r, MPI_STATUS_IGNORE);
    MPI_Comm_get_attr(f, k4, &v, &flag);
    CHECK(flag && v == (void *)'i', "idup did not copy the attribute\n");
    MPI_Comm_free(&f);                                /* deletes f's 'i' */
    MPI_Comm_free(&e);                                /* deletes e's 'i' */
    MPI_Comm_free_keyval(&k4);
    CHECK(ndeleted == 5 && !memcmp(deleted, "abbii", 5), "delete callbacks ran for '%.*s', expected 'abbii'\n", ndeleted, deleted);

    /* MPI_COMM_SELF: keyvals created 1, 2, 3; values set in the order 3, 1, 2 (and 1 replaced,
       which keeps its place); MPI_Finalize must delete 2, 1, 3. */
    int k1, k2, k3;
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, record_delete, &k1, NULL);
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, record_delete, &k2, NULL);
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, record_delete, &k3, NULL);
    MPI_Comm_set_attr(MPI_COMM_SELF, k3, (void *)'3');
    MPI_Comm_set_attr(MPI_COMM_SELF, k1, (void *)'x');
    MPI_Comm_set_attr(MPI_COMM_SELF, k2, (void *)'2');
    MPI_Comm_set_attr(MPI_COMM_SELF, k1, (void *)'1');  /* deletes 'x' */
    int all;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    ndeleted = 0;
    MPI_Finalize();
    CHECK(ndeleted == 3 && !memcmp(deleted, "213", 3), "MPI_COMM_SELF's attributes deleted as '%.*s', expected '213'\n", ndeleted, deleted);
    if (me == 0) printf("attr_lifetime: %s\n", all && ok ? "OK" : "FAIL");
    return all && ok ? 0 : 1;
}
