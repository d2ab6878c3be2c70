/* MPI_Intercomm_create over a spawn intercommunicator that only one parent rank holds, as
 * MPICH's spawn/spaiccreate does: rank 0 of the parent job spawns 2 children from
 * MPI_COMM_SELF; then both jobs build an intercommunicator of all their processes, so parent
 * ranks that never met the children must get rings to them. Each child sends its rank to
 * parent rank 1 (the last parent rank) over the new intercommunicator, and a merged
 * communicator sums every world rank. Only rank 0 of the parent job prints
 * "spawn_intercomm: OK".
 * ranks: 2 3 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int me, n, errs = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    MPI_Comm parent, inter = MPI_COMM_NULL, all;
    MPI_Comm_get_parent(&parent);
    if (parent == MPI_COMM_NULL) {
        if (me == 0) MPI_Comm_spawn(argv[0], MPI_ARGV_NULL, 2, MPI_INFO_NULL, 0, MPI_COMM_SELF, &inter, MPI_ERRCODES_IGNORE);
    } else {
        inter = parent;
    }
    MPI_Intercomm_create(MPI_COMM_WORLD, 0, inter, 0, 123, &all);
    int rsize;
    MPI_Comm_remote_size(all, &rsize);
    if (parent != MPI_COMM_NULL) {
        MPI_Send(&me, 1, MPI_INT, rsize - 1, me, all);
        if (rsize != n && rsize < 2) errs++;
    } else {
        if (rsize != 2) errs++;
        if (me == n - 1) {
            for (int i = 0; i < rsize; i++) {
                int got = -1;
                MPI_Recv(&got, 1, MPI_INT, i, i, all, MPI_STATUS_IGNORE);
                if (got != i) errs++;
            }
        }
    }
    MPI_Comm merged;
    MPI_Intercomm_merge(all, parent != MPI_COMM_NULL, &merged);
    int msize, one = 1, count = 0;
    MPI_Comm_size(merged, &msize);
    MPI_Allreduce(&one, &count, 1, MPI_INT, MPI_SUM, merged);
    if (count != msize || msize != n + rsize) errs++;
    int total = 0;
    MPI_Allreduce(&errs, &total, 1, MPI_INT, MPI_SUM, merged);
    MPI_Comm_free(&merged);
    MPI_Comm_free(&all);
    if (inter != MPI_COMM_NULL) MPI_Comm_disconnect(&inter);
    if (parent == MPI_COMM_NULL && me == 0) printf("spawn_intercomm: %s\n", total == 0 ? "OK" : "FAIL");
    MPI_Finalize();
    return total == 0 ? 0 : 1;
}
