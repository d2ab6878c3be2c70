// ranks: 3 4
/* MPI_Comm_create_group called again and again with a different random group each time (same
   seed everywhere; members in random order), as MPICH's comm/comm_group_rand does: each new
   communicator has the group's size and order, and an allreduce over it gives the sum of its
   members' world ranks. Then the same with two disjoint groups created concurrently under
   different tags. Prints 'create_group_rand: OK'. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int me, n, ok = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    MPI_Group world;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    srand(12345);
    int *ranks = malloc(n * sizeof(int));
    for (int iter = 0; iter < 200; iter++) {
        for (int i = 0; i < n; i++) ranks[i] = i;
        for (int i = n - 1; i > 0; i--) { int j = rand() % (i + 1), t = ranks[i]; ranks[i] = ranks[j]; ranks[j] = t; }
        int size = 1 + rand() % n, pos = -1, expected = 0;
        for (int i = 0; i < size; i++) { expected += ranks[i]; if (ranks[i] == me) pos = i; }
        if (pos < 0) continue;
        MPI_Group g;
        MPI_Group_incl(world, size, ranks, &g);
        MPI_Comm c;
        if (MPI_Comm_create_group(MPI_COMM_WORLD, g, iter % 3, &c) != MPI_SUCCESS) { ok = 0; break; }
        int r, s, sum = 0;
        MPI_Comm_rank(c, &r);
        MPI_Comm_size(c, &s);
        MPI_Allreduce(&me, &sum, 1, MPI_INT, MPI_SUM, c);
        if (r != pos || s != size || sum != expected) { printf("iteration %d: rank %d size %d sum %d, expected %d %d %d\n", iter, r, s, sum, pos, size, expected); ok = 0; }
        MPI_Comm_free(&c);
        MPI_Group_free(&g);
    }
    /* Two disjoint halves at once, distinguished by their tags. */
    int half = n / 2, lo = me < half;
    int *members = malloc(n * sizeof(int)), count = 0;
    for (int i = 0; i < n; i++) if ((i < half) == lo) members[count++] = i;
    MPI_Group g;
    MPI_Group_incl(world, count, members, &g);
    MPI_Comm c;
    MPI_Comm_create_group(MPI_COMM_WORLD, g, lo ? 7 : 8, &c);
    int s; MPI_Comm_size(c, &s);
    if (s != count) ok = 0;
    MPI_Comm_free(&c);
    MPI_Group_free(&g);
    MPI_Group_free(&world);
    int all;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (me == 0) printf("create_group_rand: %s\n", all ? "OK" : "FAIL");
    MPI_Finalize();
    return all ? 0 : 1;
}
