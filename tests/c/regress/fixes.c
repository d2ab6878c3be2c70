// ranks: 1 2 3
/* Regressions found by mpi4py's test suite: count-0 reduce with NULL buffers, Alltoallw from
   MPI_BOTTOM, user error classes above MPI_ERR_LASTCODE, F90 datatypes with contents, and
   MPI_Comm_disconnect on MPI_COMM_NULL and on a duplicate. Prints 'fixes: OK'. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int me, n; MPI_Comm_rank(MPI_COMM_WORLD, &me); MPI_Comm_size(MPI_COMM_WORLD, &n);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int ok = 1;
    /* reduce with count 0 and NULL buffers */
    if (MPI_Reduce(NULL, NULL, 0, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD) != MPI_SUCCESS) ok = 0;
    /* alltoallw with MPI_BOTTOM */
    int *sb = malloc(n * sizeof(int)), *rb = malloc(n * sizeof(int));
    int *sc = malloc(n * sizeof(int)), *rc = malloc(n * sizeof(int)), *sd = malloc(n * sizeof(int)), *rd = malloc(n * sizeof(int));
    MPI_Datatype *st = malloc(n * sizeof(MPI_Datatype)), *rt = malloc(n * sizeof(MPI_Datatype));
    for (int i = 0; i < n; i++) { MPI_Aint a; sb[i] = me * 100 + i; rb[i] = -1; sc[i] = rc[i] = 1; MPI_Get_address(&sb[i], &a); sd[i] = (int)a; MPI_Get_address(&rb[i], &a); rd[i] = (int)a; st[i] = rt[i] = MPI_INT; }
    /* absolute addresses may not fit int: use hindexed-free approach only if they fit */
    MPI_Aint a0; MPI_Get_address(sb, &a0);
    if (a0 < 0x7fffffff) {
        if (MPI_Alltoallw(MPI_BOTTOM, sc, sd, st, MPI_BOTTOM, rc, rd, rt, MPI_COMM_WORLD) != MPI_SUCCESS) ok = 0;
        for (int i = 0; i < n; i++) if (rb[i] != i * 100 + me) ok = 0;
    }
    /* error classes above MPI_ERR_LASTCODE */
    int cls; MPI_Add_error_class(&cls); if (cls < MPI_ERR_LASTCODE) { printf("class %d\n", cls); ok = 0; }
    /* f90 types */
    MPI_Datatype f; MPI_Type_create_f90_real(6, 30, &f);
    int ni, na, nd, comb; MPI_Type_get_envelope(f, &ni, &na, &nd, &comb);
    int ints[2]; MPI_Aint ad[1]; MPI_Datatype dd[1];
    if (comb != MPI_COMBINER_F90_REAL || ni != 2 || MPI_Type_get_contents(f, 2, 0, 0, ints, ad, dd) != MPI_SUCCESS || ints[0] != 6 || ints[1] != 30) ok = 0;
    int sz; MPI_Type_size(f, &sz); if (sz != 4) ok = 0;
    /* disconnect COMM_NULL -> ERR_COMM; dup + disconnect works */
    MPI_Comm c = MPI_COMM_NULL; int e = MPI_Comm_disconnect(&c), ec; MPI_Error_class(e, &ec); if (ec != MPI_ERR_COMM) ok = 0;
    MPI_Comm_dup(MPI_COMM_WORLD, &c); if (MPI_Comm_disconnect(&c) != MPI_SUCCESS || c != MPI_COMM_NULL) ok = 0;
    int all; MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (me == 0) printf("fixes: %s\n", all ? "OK" : "FAIL");
    MPI_Finalize();
    return all ? 0 : 1;
}
