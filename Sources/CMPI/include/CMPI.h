/* Umbrella of the C side of the ABI. mpi.h (with mpio.h) is the header programs compile
   against. The target compiles the MPI_* entry points generated from it (entry_points.c, each
   calls its PMPI_* twin, most of which FerryABI exports from Swift), and the parts written in
   C: the extern objects and MPIR_Dup_fn (predefined.c), MPI_Pcontrol and MPI_Aint_add/diff
   (predefined.c), handle and status conversions (conversions.c), and the tool information
   interface MPI_T_* (tools.c). */
#include "mpi.h"
