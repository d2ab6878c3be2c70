/* ranks: 2 4
 * Messages from 0 B to 256 MiB around a ring, every byte checked; ordering under
 * MPI_ANY_SOURCE; probe/mprobe; MPI_COMM_TYPE_SHARED against the processor names. Written for
 * jobs spread over several nodes (the multi-node tests run it over 2 and 3 network
 * namespaces, where the ring crosses nodes), and correct on one node too.
 * FERRY_BIGMSG_MAX (bytes) lowers the largest size. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; if (failures < 10) { \
    fprintf(stderr, "bigmsg: rank %d: ", rank); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } } while (0)

static unsigned char pattern(int source, size_t i, size_t n) {
    return (unsigned char)(source * 131 + i * 7 + (i >> 13) + n);
}

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    size_t maxBytes = (size_t)256 << 20;
    const char *limit = getenv("FERRY_BIGMSG_MAX");
    if (limit) maxBytes = (size_t)strtoull(limit, NULL, 10);

    /* 1. Ring exchange, every size, every byte. */
    const size_t sizes[] = {0, 1, 7, 8, 1000, 65536, 65537, (size_t)1 << 20, ((size_t)1 << 20) + 3,
                            (size_t)16 << 20, (size_t)256 << 20};
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    unsigned char *out = malloc(maxBytes + 1), *in = malloc(maxBytes + 1);
    if (!out || !in) { fprintf(stderr, "bigmsg: out of memory\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
    for (unsigned k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        if (n > maxBytes) continue;
        for (size_t i = 0; i < n; i++) out[i] = pattern(rank, i, n);
        memset(in, 0xEE, n + 1);
        MPI_Status st;
        /* Counts above INT_MAX are not needed: 256 MiB fits an int of bytes. */
        MPI_Sendrecv(out, (int)n, MPI_BYTE, next, (int)k, in, (int)n, MPI_BYTE, prev, (int)k, MPI_COMM_WORLD, &st);
        int got = -1;
        MPI_Get_count(&st, MPI_BYTE, &got);
        CHECK((size_t)got == n && st.MPI_SOURCE == prev && st.MPI_TAG == (int)k,
              "size %zu: status count %d source %d tag %d", n, got, st.MPI_SOURCE, st.MPI_TAG);
        size_t bad = n;
        for (size_t i = 0; i < n; i++) if (in[i] != pattern(prev, i, n)) { bad = i; break; }
        CHECK(bad == n, "size %zu: byte %zu is %u, expected %u", n, bad, in[bad], pattern(prev, bad, n));
        CHECK(in[n] == 0xEE, "size %zu: byte past the message overwritten", n);
    }

    /* 2. A strided datatype (non-contiguous on both sides) of 4 MiB of payload. */
    {
        int count = 1 << 19;   /* 512 Ki doubles, every other one */
        if ((size_t)count * 16 > maxBytes) count = (int)(maxBytes / 16);
        MPI_Datatype strided;
        MPI_Type_vector(count, 1, 2, MPI_DOUBLE, &strided);
        MPI_Type_commit(&strided);
        double *a = malloc((size_t)count * 16), *b = malloc((size_t)count * 16);
        for (int i = 0; i < 2 * count; i++) { a[i] = rank * 1e6 + i; b[i] = -1; }
        MPI_Request rq[2];
        MPI_Irecv(b, 1, strided, prev, 77, MPI_COMM_WORLD, &rq[0]);
        MPI_Isend(a, 1, strided, next, 77, MPI_COMM_WORLD, &rq[1]);
        MPI_Status sts[2];
        MPI_Waitall(2, rq, sts);
        int bad = -1;
        for (int i = 0; i < 2 * count; i++) {
            double want = i % 2 == 0 ? prev * 1e6 + i : -1;
            if (b[i] != want) { bad = i; break; }
        }
        CHECK(bad < 0, "strided: element %d is %g", bad, bad >= 0 ? b[bad] : 0.0);
        MPI_Type_free(&strided);
        free(a); free(b);
    }

    /* 3. Ordering under MPI_ANY_SOURCE: 200 messages from every other rank to rank 0, each
     * source's in sequence (MPI's non-overtaking rule), some eager, some large. */
    {
        const int per = 200;
        int *buf = malloc(70000 * sizeof(int));
        if (rank == 0) {
            int *seen = calloc((size_t)size, sizeof(int));
            for (int m = 0; m < per * (size - 1); m++) {
                MPI_Status st;
                MPI_Recv(buf, 70000, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
                int s = st.MPI_SOURCE, count;
                MPI_Get_count(&st, MPI_INT, &count);
                CHECK(st.MPI_TAG == seen[s], "from %d: message %d arrived as number %d", s, st.MPI_TAG, seen[s]);
                CHECK(count >= 1 && buf[0] == s * 1000 + st.MPI_TAG && (count == 1 || buf[count - 1] == st.MPI_TAG),
                      "from %d: message %d has wrong contents", s, st.MPI_TAG);
                seen[s]++;
            }
            free(seen);
        } else {
            for (int m = 0; m < per; m++) {
                int count = m % 10 == 9 ? 70000 : 1 + m % 5;
                buf[0] = rank * 1000 + m;
                if (count > 1) buf[count - 1] = m;
                MPI_Send(buf, count, MPI_INT, 0, m, MPI_COMM_WORLD);
            }
        }
        free(buf);
        /* Section 4's message must not meet rank 0's wildcard receives. */
        MPI_Barrier(MPI_COMM_WORLD);
    }

    /* 4. Probe and matched probe from the previous rank. */
    {
        int value = rank * 10 + 1;
        MPI_Request rq;
        MPI_Isend(&value, 1, MPI_INT, next, 5, MPI_COMM_WORLD, &rq);
        MPI_Status st;
        MPI_Probe(prev, 5, MPI_COMM_WORLD, &st);
        int count;
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == 1 && st.MPI_SOURCE == prev, "probe: count %d source %d", count, st.MPI_SOURCE);
        MPI_Message msg;
        MPI_Mprobe(prev, 5, MPI_COMM_WORLD, &msg, &st);
        int got = -1;
        MPI_Mrecv(&got, 1, MPI_INT, &msg, &st);
        CHECK(got == prev * 10 + 1, "mprobe: got %d", got);
        MPI_Wait(&rq, MPI_STATUS_IGNORE);
    }

    /* 5. MPI_COMM_TYPE_SHARED: every member of my node communicator has my processor name. */
    {
        MPI_Comm node;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
        char name[MPI_MAX_PROCESSOR_NAME];
        int len, nsize;
        MPI_Get_processor_name(name, &len);
        MPI_Comm_size(node, &nsize);
        char *all = malloc((size_t)nsize * MPI_MAX_PROCESSOR_NAME);
        MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, node);
        for (int i = 0; i < nsize; i++) CHECK(strcmp(all + (size_t)i * MPI_MAX_PROCESSOR_NAME, name) == 0,
                                              "shared communicator member %d is on %s, I am on %s", i,
                                              all + (size_t)i * MPI_MAX_PROCESSOR_NAME, name);
        int total = 0;
        MPI_Allreduce(&nsize, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        CHECK(total >= size, "node communicator sizes add up to %d for %d ranks", total, size);
        free(all);
        MPI_Comm_free(&node);
    }

    free(out); free(in);
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        if (all == 0) printf("bigmsg: OK\n");
        else printf("bigmsg: %d failures\n", all);
    }
    MPI_Finalize();
    return all == 0 ? 0 : 1;
}
