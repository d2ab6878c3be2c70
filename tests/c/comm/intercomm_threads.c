// ranks: 2 4
/* MPI_Intercomm_create and MPI_Intercomm_merge in four threads at once (MPI_THREAD_MULTIPLE),
   each over its own duplicate of MPI_COMM_WORLD with the same tag and the same two halves, with
   MPI_Comm_idup requests pending meanwhile, as MPICH's threads/comm/idup_comm_gen does: the
   creations must agree on distinct context ids and never take each other's messages. Each
   merged communicator is checked with an allreduce of world ranks. Prints 'intercomm_threads: OK'. */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>

#define THREADS 4
#define ROUNDS 10
static MPI_Comm comms[THREADS];
static int errors[THREADS];

static void *work(void *arg) {
    int t = *(int *)arg, me, n, wme;
    MPI_Comm c = comms[t];
    MPI_Comm_rank(c, &me);
    MPI_Comm_size(c, &n);
    MPI_Comm_rank(MPI_COMM_WORLD, &wme);
    for (int r = 0; r < ROUNDS; r++) {
        MPI_Comm idup, local, inter, merged;
        MPI_Request req;
        MPI_Comm_idup(c, &idup, &req);
        int low = me < n / 2;
        MPI_Comm_split(c, low, me, &local);
        MPI_Intercomm_create(local, 0, c, low ? n / 2 : 0, 99, &inter);
        MPI_Intercomm_merge(inter, !low, &merged);
        int sum = 0, expect = n * (n - 1) / 2, size;
        MPI_Allreduce(&wme, &sum, 1, MPI_INT, MPI_SUM, merged);
        MPI_Comm_size(merged, &size);
        if (sum != expect || size != n) errors[t]++;
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        int isum = 0;
        MPI_Allreduce(&wme, &isum, 1, MPI_INT, MPI_SUM, idup);
        if (isum != expect) errors[t]++;
        MPI_Comm_free(&merged); MPI_Comm_free(&inter); MPI_Comm_free(&local); MPI_Comm_free(&idup);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int provided, me;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    if (provided != MPI_THREAD_MULTIPLE) { printf("intercomm_threads: FAIL (no MPI_THREAD_MULTIPLE)\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
    pthread_t th[THREADS];
    int ids[THREADS];
    for (int t = 0; t < THREADS; t++) MPI_Comm_dup(MPI_COMM_WORLD, &comms[t]);
    for (int t = 0; t < THREADS; t++) { ids[t] = t; pthread_create(&th[t], NULL, work, &ids[t]); }
    int bad = 0;
    for (int t = 0; t < THREADS; t++) { pthread_join(th[t], NULL); bad += errors[t]; MPI_Comm_free(&comms[t]); }
    int all;
    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (me == 0) printf("intercomm_threads: %s\n", all == 0 ? "OK" : "FAIL");
    MPI_Finalize();
    return all == 0 ? 0 : 1;
}
