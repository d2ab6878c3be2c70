/* Umbrella for the C side of the ABI. mpi.h is installed for users; this target compiles the
   MPI_* entry points (each calls its PMPI_* twin, which FerryABI exports) and MPI_Pcontrol. */
#include "mpi.h"
