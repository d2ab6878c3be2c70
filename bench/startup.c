/* startup: MPI_Init, MPI_Barrier, MPI_Finalize. The runner times the whole launcher command
 * (`mpiexec -n 8 ./startup 8`). The only data checked is the size of MPI_COMM_WORLD (argv[1])
 * and that the barrier returns MPI_SUCCESS. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "startup: MPI_Barrier failed on rank %d\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 4);
    }
    if (argc > 1 && nranks != atoi(argv[1])) {
        fprintf(stderr, "startup: CHECK FAILED: %d ranks, expected %s\n", nranks, argv[1]);
        MPI_Abort(MPI_COMM_WORLD, 4);
    }
    if (rank == 0) printf("bench=startup ranks=%d ok=1\n", nranks);
    MPI_Finalize();
    return 0;
}
