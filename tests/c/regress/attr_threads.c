// ranks: 1 2
/* Communicator and window attributes from four threads at once (MPI_THREAD_MULTIPLE): each
   thread sets, replaces, reads and deletes values of two shared keyvals on its own duplicate of
   MPI_COMM_WORLD and its own window, then duplicates its communicator (copy callback) and frees
   both. The keyval tables and use counts are shared by the threads: every value must read back,
   and every delete callback must run exactly once per value set (counted atomically). Under
   ThreadSanitizer (scripts/sanitizers) this also checks that the bookkeeping is not raced.
   Prints 'attr_threads: OK'. */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>

#define THREADS 4
#define ROUNDS 500
static int comm_key, win_key;
static MPI_Comm comms[THREADS];
static MPI_Win wins[THREADS];
static int errors[THREADS];
static long deletes, copies;

static int comm_delete(MPI_Comm c, int k, void *v, void *extra) {
    (void)c; (void)k; (void)v; (void)extra;
    __atomic_add_fetch(&deletes, 1, __ATOMIC_RELAXED);
    return MPI_SUCCESS;
}
static int comm_copy(MPI_Comm c, int k, void *extra, void *in, void *out, int *flag) {
    (void)c; (void)k; (void)extra;
    __atomic_add_fetch(&copies, 1, __ATOMIC_RELAXED);
    *(void **)out = in;
    *flag = 1;
    return MPI_SUCCESS;
}
static int win_delete(MPI_Win w, int k, void *v, void *extra) {
    (void)w; (void)k; (void)v; (void)extra;
    __atomic_add_fetch(&deletes, 1, __ATOMIC_RELAXED);
    return MPI_SUCCESS;
}

static void *work(void *arg) {
    int t = *(int *)arg, flag;
    void *v;
    for (int r = 0; r < ROUNDS; r++) {
        intptr_t a = (intptr_t)(t * 100000 + r * 2 + 1), b = a + 1;
        MPI_Comm_set_attr(comms[t], comm_key, (void *)a);
        MPI_Comm_set_attr(comms[t], comm_key, (void *)b);        /* deletes a */
        MPI_Comm_get_attr(comms[t], comm_key, &v, &flag);
        if (!flag || v != (void *)b) errors[t]++;
        MPI_Comm_delete_attr(comms[t], comm_key);                /* deletes b */
        MPI_Comm_get_attr(comms[t], comm_key, &v, &flag);
        if (flag) errors[t]++;
        MPI_Win_set_attr(wins[t], win_key, (void *)a);
        MPI_Win_get_attr(wins[t], win_key, &v, &flag);
        if (!flag || v != (void *)a) errors[t]++;
        MPI_Win_delete_attr(wins[t], win_key);                   /* deletes a */
    }
    MPI_Comm_set_attr(comms[t], comm_key, (void *)(intptr_t)(t + 1));
    return NULL;
}

int main(int argc, char **argv) {
    int provided, me;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    if (provided != MPI_THREAD_MULTIPLE) { printf("attr_threads: MPI_THREAD_MULTIPLE not provided\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
    MPI_Comm_create_keyval(comm_copy, comm_delete, &comm_key, NULL);
    MPI_Win_create_keyval(MPI_WIN_NULL_COPY_FN, win_delete, &win_key, NULL);
    pthread_t th[THREADS];
    int ids[THREADS];
    for (int t = 0; t < THREADS; t++) {
        MPI_Comm_dup(MPI_COMM_WORLD, &comms[t]);
        MPI_Win_create(NULL, 0, 1, MPI_INFO_NULL, comms[t], &wins[t]);
    }
    for (int t = 0; t < THREADS; t++) { ids[t] = t; pthread_create(&th[t], NULL, work, &ids[t]); }
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    int bad = 0;
    for (int t = 0; t < THREADS; t++) {
        MPI_Comm d;
        MPI_Comm_dup(comms[t], &d);                               /* copies the last value */
        void *v; int flag;
        MPI_Comm_get_attr(d, comm_key, &v, &flag);
        if (!flag || v != (void *)(intptr_t)(t + 1)) bad++;
        MPI_Comm_free(&d);                                        /* deletes the copy */
        MPI_Win_free(&wins[t]);
        MPI_Comm_free(&comms[t]);                                 /* deletes the last value */
        bad += errors[t];
    }
    MPI_Comm_free_keyval(&comm_key);
    MPI_Win_free_keyval(&win_key);
    /* Per thread: 3 deletes a round (replace, delete, window delete), then 2 at the end. */
    long want = (long)THREADS * (3L * ROUNDS + 2);
    if (deletes != want || copies != THREADS) {
        printf("attr_threads: %ld delete callbacks (expected %ld), %ld copies (expected %d)\n", deletes, want, copies, THREADS);
        bad++;
    }
    int all;
    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (me == 0) printf("attr_threads: %s\n", all == 0 ? "OK" : "FAIL");
    MPI_Finalize();
    return all == 0 ? 0 : 1;
}
