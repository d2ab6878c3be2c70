// ranks: 2
/* Handle tables at large counts (MPICH's datatype/tfree found datatype 256 sharing datatype 0's
   handle): 10,000 live objects of every kind that can have that many (datatypes, groups, infos,
   ops, error handlers, keyvals, persistent requests), 2,000 communicators (the context-id space
   holds 4,096) and 200 windows; every handle distinct and naming its own object (checked through
   a property that differs per object). Prints 'handles: OK'. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 10000
static int ok = 1;
#define CHECK(cond, ...) do { if (!(cond)) { if (ok) printf(__VA_ARGS__); ok = 0; } } while (0)

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : x > y;
}

/* All n handles distinct (handles are ints in the MPICH ABI). */
static void distinct(const int *handles, int n, const char *what) {
    int *copy = malloc(n * sizeof(int));
    memcpy(copy, handles, n * sizeof(int));
    qsort(copy, n, sizeof(int), cmp_int);
    for (int i = 1; i < n; i++) CHECK(copy[i] != copy[i - 1], "%s: handle 0x%x given twice\n", what, copy[i]);
    free(copy);
}

static void user_op(void *in, void *inout, int *len, MPI_Datatype *t) { (void)in; (void)inout; (void)len; (void)t; }
static void user_errh(MPI_Comm *c, int *e, ...) { (void)c; (void)e; }

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int me, n;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &n);

    /* datatypes: type i is i+1 contiguous bytes */
    MPI_Datatype *types = malloc(N * sizeof(MPI_Datatype));
    for (int i = 0; i < N; i++) MPI_Type_contiguous(i + 1, MPI_BYTE, &types[i]);
    distinct((int *)types, N, "datatypes");
    for (int i = 0; i < N; i++) { int s; MPI_Type_size(types[i], &s); CHECK(s == i + 1, "datatype %d has size %d\n", i, s); }
    for (int i = 0; i < N; i++) MPI_Type_free(&types[i]);

    /* groups: group i holds rank 0 of world, i % n excluded alternately; check with the size */
    MPI_Group world, *groups = malloc(N * sizeof(MPI_Group));
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    for (int i = 0; i < N; i++) { int r = i % n; MPI_Group_incl(world, 1, &r, &groups[i]); }
    distinct((int *)groups, N, "groups");
    for (int i = 0; i < N; i++) { int r; MPI_Group_rank(groups[i], &r); CHECK(r == (i % n == me ? 0 : MPI_UNDEFINED), "group %d rank %d\n", i, r); }
    for (int i = 0; i < N; i++) MPI_Group_free(&groups[i]);
    MPI_Group_free(&world);

    /* infos: info i holds key "k" = i */
    MPI_Info *infos = malloc(N * sizeof(MPI_Info));
    for (int i = 0; i < N; i++) { char v[16]; snprintf(v, sizeof v, "%d", i); MPI_Info_create(&infos[i]); MPI_Info_set(infos[i], "k", v); }
    distinct((int *)infos, N, "infos");
    for (int i = 0; i < N; i++) { char v[16]; int flag; MPI_Info_get(infos[i], "k", 15, v, &flag); CHECK(flag && atoi(v) == i, "info %d holds %s\n", i, v); }
    for (int i = 0; i < N; i++) MPI_Info_free(&infos[i]);

    /* ops: alternately commutative or not */
    MPI_Op *ops = malloc(N * sizeof(MPI_Op));
    for (int i = 0; i < N; i++) MPI_Op_create(user_op, i % 2, &ops[i]);
    distinct((int *)ops, N, "ops");
    for (int i = 0; i < N; i++) { int c; MPI_Op_commutative(ops[i], &c); CHECK(c == i % 2, "op %d commutative %d\n", i, c); }
    for (int i = 0; i < N; i++) MPI_Op_free(&ops[i]);

    /* error handlers */
    MPI_Errhandler *ehs = malloc(N * sizeof(MPI_Errhandler));
    for (int i = 0; i < N; i++) MPI_Comm_create_errhandler(user_errh, &ehs[i]);
    distinct((int *)ehs, N, "error handlers");
    MPI_Comm_set_errhandler(MPI_COMM_SELF, ehs[N - 1]);
    MPI_Errhandler got; MPI_Comm_get_errhandler(MPI_COMM_SELF, &got);
    CHECK(got == ehs[N - 1], "errhandler read back 0x%x, set 0x%x\n", got, ehs[N - 1]);
    MPI_Errhandler_free(&got);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
    for (int i = 0; i < N; i++) MPI_Errhandler_free(&ehs[i]);

    /* keyvals (communicator and datatype): attribute i on MPI_COMM_SELF holds i */
    int *ckeys = malloc(N * sizeof(int)), *tkeys = malloc(N * sizeof(int));
    for (int i = 0; i < N; i++) {
        MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &ckeys[i], NULL);
        MPI_Type_create_keyval(MPI_TYPE_NULL_COPY_FN, MPI_TYPE_NULL_DELETE_FN, &tkeys[i], NULL);
        MPI_Comm_set_attr(MPI_COMM_SELF, ckeys[i], (void *)(MPI_Aint)i);
    }
    distinct(ckeys, N, "communicator keyvals");
    distinct(tkeys, N, "datatype keyvals");
    for (int i = 0; i < N; i++) {
        void *v; int flag;
        MPI_Comm_get_attr(MPI_COMM_SELF, ckeys[i], &v, &flag);
        CHECK(flag && (MPI_Aint)v == i, "attribute %d holds %ld\n", i, (long)(MPI_Aint)v);
        MPI_Comm_delete_attr(MPI_COMM_SELF, ckeys[i]);
        MPI_Comm_free_keyval(&ckeys[i]);
        MPI_Type_free_keyval(&tkeys[i]);
    }

    /* persistent requests: request i sends i to itself (tag i) when started */
    MPI_Request *reqs = malloc(N * sizeof(MPI_Request));
    int *vals = malloc(N * sizeof(int)), *out = malloc(N * sizeof(int));
    for (int i = 0; i < N; i++) { vals[i] = i; MPI_Send_init(&vals[i], 1, MPI_INT, me, i, MPI_COMM_WORLD, &reqs[i]); }
    distinct((int *)reqs, N, "requests");
    for (int k = 0; k < N; k += 1000) {
        for (int i = k; i < k + 1000; i++) MPI_Start(&reqs[i]);
        for (int i = k + 999; i >= k; i--) MPI_Recv(&out[i], 1, MPI_INT, me, i, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Waitall(1000, &reqs[k], MPI_STATUSES_IGNORE);
    }
    for (int i = 0; i < N; i++) CHECK(out[i] == i, "request %d carried %d\n", i, out[i]);
    for (int i = 0; i < N; i++) MPI_Request_free(&reqs[i]);

    /* communicators: 2,000 duplicates, comm i named "c<i>" */
    enum { NC = 2000 };
    MPI_Comm *comms = malloc(NC * sizeof(MPI_Comm));
    for (int i = 0; i < NC; i++) { char name[32]; snprintf(name, sizeof name, "c%d", i); MPI_Comm_dup(MPI_COMM_WORLD, &comms[i]); MPI_Comm_set_name(comms[i], name); }
    distinct((int *)comms, NC, "communicators");
    for (int i = 0; i < NC; i++) { char name[MPI_MAX_OBJECT_NAME]; int len; MPI_Comm_get_name(comms[i], name, &len); CHECK(atoi(name + 1) == i, "communicator %d is named %s\n", i, name); }
    for (int i = 0; i < NC; i++) MPI_Comm_free(&comms[i]);

    /* windows: window i exposes i+1 ints */
    enum { NW = 200 };
    MPI_Win *wins = malloc(NW * sizeof(MPI_Win));
    int *mem = malloc((NW + 1) * sizeof(int));
    for (int i = 0; i < NW; i++) MPI_Win_create(mem, (i + 1) * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &wins[i]);
    distinct((int *)wins, NW, "windows");
    for (int i = 0; i < NW; i++) { MPI_Aint *size; int flag; MPI_Win_get_attr(wins[i], MPI_WIN_SIZE, &size, &flag); CHECK(flag && *size == (MPI_Aint)((i + 1) * sizeof(int)), "window %d has size %ld\n", i, (long)*size); }
    for (int i = 0; i < NW; i++) MPI_Win_free(&wins[i]);

    int all;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (me == 0) printf("handles: %s\n", all ? "OK" : "FAIL");
    MPI_Finalize();
    return all ? 0 : 1;
}
