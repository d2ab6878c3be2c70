/* The objects that mpi.h declares extern (sentinel addresses that programs pass as
   arguments), the library function behind the MPI_*_DUP_FN callbacks, and the few MPI
   functions that are plain arithmetic or do nothing, written here in C: MPI_Pcontrol (which
   is variadic, so Swift cannot export it) and MPI_Aint_add / MPI_Aint_diff. */
#include "mpi.h"

/* MPI_UNWEIGHTED and MPI_WEIGHTS_EMPTY only need to be addresses that no user array can
   have and that differ from NULL and from each other. The Swift side compares pointers
   against these two symbols. */
static int ferry_unweighted_sentinel;
static int ferry_weights_empty_sentinel;
int *const MPI_UNWEIGHTED = &ferry_unweighted_sentinel;
int *const MPI_WEIGHTS_EMPTY = &ferry_weights_empty_sentinel;

/* MPI_F_STATUS_IGNORE / MPI_F_STATUSES_IGNORE: Fortran status arguments to ignore, as seen
   from C (MPI_Status_f2c and MPI_Status_c2f refuse them). Distinct non-null addresses. */
static MPI_Fint ferry_f_status_ignore[MPI_F_STATUS_SIZE];
static MPI_Fint ferry_f_statuses_ignore[MPI_F_STATUS_SIZE];
MPI_Fint *MPI_F_STATUS_IGNORE = ferry_f_status_ignore;
MPI_Fint *MPI_F_STATUSES_IGNORE = ferry_f_statuses_ignore;

/* MPI_COMM_DUP_FN, MPI_TYPE_DUP_FN, MPI_WIN_DUP_FN and MPI_DUP_FN: the copy callback that
   gives the new object the same attribute value. MPICH names it MPIR_Dup_fn and binaries
   built against MPICH's header call it by that name. */
int MPIR_Dup_fn(MPI_Comm oldcomm, int keyval, void *extra_state, void *attribute_val_in,
                void *attribute_val_out, int *flag) {
    (void)oldcomm;
    (void)keyval;
    (void)extra_state;
    *(void **)attribute_val_out = attribute_val_in;
    *flag = 1;
    return MPI_SUCCESS;
}

/* Profiling control: Ferry has no built-in profiling to switch, so every level is accepted
   and ignored (MPI 3.1 section 14.2.4 allows this). A profiler that intercepts MPI_Pcontrol
   sees the level; the variadic arguments are not forwarded. */
int PMPI_Pcontrol(const int level, ...) {
    (void)level;
    return MPI_SUCCESS;
}

int MPI_Pcontrol(const int level, ...) {
    return PMPI_Pcontrol(level);
}

/* Address arithmetic (MPI 3.1 section 4.1.5): MPI_Aint values are byte addresses on this
   platform, so the sum and the difference are the integer ones. */
MPI_Aint PMPI_Aint_add(MPI_Aint base, MPI_Aint disp) {
    return (MPI_Aint)((unsigned long)base + (unsigned long)disp);
}

MPI_Aint PMPI_Aint_diff(MPI_Aint addr1, MPI_Aint addr2) {
    return (MPI_Aint)((unsigned long)addr1 - (unsigned long)addr2);
}
