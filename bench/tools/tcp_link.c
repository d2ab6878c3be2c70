/* tcp_link: the limit of a TCP path, measured with plain sockets, for the two-node benchmark:
 * what any MPI over TCP on that path can at best reach.
 *
 *   tcp_link server PORT                 accepts one client, echoes and sinks what it is told
 *   tcp_link client HOST PORT [-t S] [-b N] [-m MIN] [-M MAX] [-w BYTES] [-r REPEATS]
 *
 * Ping-pong (one-way latency = round trip / 2) at every power of two from MIN (default 8) to MAX
 * (default 1 MiB), both sides busy-polling nonblocking sockets with TCP_NODELAY, each size timed
 * in N (default 7) batches of about S seconds (default 0.02), the median and best batch printed;
 * then a stream of BYTES-sized writes (default 4 MiB) for about S*N seconds, acknowledged by the
 * server at the end, REPEATS times (default 3). Output lines, as the bench programs print them:
 *   bench=tcplimit op=latency size=8 value=<us median> best=<us>
 *   bench=tcplimit op=stream size=4194304 value=<MB/s median> best=<MB/s>
 * Every byte the server echoes is checked by the client (a pattern that depends on the size and
 * the round); a mismatch prints DATA CHECK FAILED on stderr and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

enum { OP_PINGPONG = 1, OP_STREAM = 2, OP_DONE = 3 };
struct command { uint32_t op, rounds; uint64_t bytes; };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *what) { perror(what); exit(2); }

/* Busy-polling full send and receive on a nonblocking socket. */
static void send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k > 0) { c += k; n -= (size_t)k; continue; }
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        die("send");
    }
}

static void recv_all(int fd, void *p, size_t n) {
    char *c = p;
    while (n > 0) {
        ssize_t k = recv(fd, c, n, 0);
        if (k > 0) { c += k; n -= (size_t)k; continue; }
        if (k == 0) { fprintf(stderr, "tcp_link: peer closed the connection\n"); exit(2); }
        if (errno == EAGAIN || errno == EINTR) continue;
        die("recv");
    }
}

static void tune(int fd) {
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("TCP_NODELAY");
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) die("O_NONBLOCK");
}

static void fill(unsigned char *b, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)((i * 131u) ^ (seed * 7u) ^ (i >> 8));
}

static int server(int port) {
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    if (l < 0) die("socket");
    int one = 1, zero = 0;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any };
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0) die("bind");
    if (listen(l, 1) != 0) die("listen");
    printf("listening %d\n", port);
    fflush(stdout);
    int fd = accept(l, NULL, NULL);
    if (fd < 0) die("accept");
    close(l);
    tune(fd);
    size_t cap = 1;
    unsigned char *buf = malloc(cap);
    for (;;) {
        struct command c;
        recv_all(fd, &c, sizeof c);
        if (c.op == OP_DONE) break;
        if (c.bytes > cap) { free(buf); cap = c.bytes; buf = malloc(cap); if (!buf) die("malloc"); }
        if (c.op == OP_PINGPONG) {
            for (uint32_t r = 0; r < c.rounds; r++) {
                recv_all(fd, buf, c.bytes);
                send_all(fd, buf, c.bytes);
            }
        } else if (c.op == OP_STREAM) {
            for (uint32_t r = 0; r < c.rounds; r++) recv_all(fd, buf, c.bytes);
            send_all(fd, "k", 1);
        } else {
            fprintf(stderr, "tcp_link: unknown command %u\n", c.op);
            return 2;
        }
    }
    close(fd);
    return 0;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int client(const char *host, const char *port, int argc, char **argv) {
    double batch = 0.02;
    int batches = 7, repeats = 3;
    size_t min = 8, max = 1 << 20, window = 4 << 20;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-t")) batch = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "-b")) batches = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-m")) min = strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "-M")) max = strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "-w")) window = strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "-r")) repeats = atoi(argv[i + 1]);
        else { fprintf(stderr, "tcp_link: unknown option %s\n", argv[i]); return 2; }
    }
    if (batches < 1 || batches > 100 || repeats < 1 || repeats > 100 || min < 1 || max < min || window < 1) {
        fprintf(stderr, "tcp_link: bad option values\n");
        return 2;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) { fprintf(stderr, "tcp_link: %s: %s\n", host, gai_strerror(rc)); return 2; }
    int fd = -1;
    for (int attempt = 0; attempt < 200 && fd < 0; attempt++) {   /* the server may still be starting */
        fd = socket(res->ai_family, SOCK_STREAM, 0);
        if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) { close(fd); fd = -1; usleep(10000); }
    }
    freeaddrinfo(res);
    if (fd < 0) die("connect");
    tune(fd);
    size_t cap = max > window ? max : window;
    unsigned char *out = malloc(cap), *in = malloc(cap);
    if (!out || !in) die("malloc");
    double *t = malloc(sizeof(double) * (size_t)(batches > repeats ? batches : repeats));
    for (size_t size = min; size <= max; size *= 2) {
        /* Rounds per batch from a short trial, so each batch lasts about `batch` seconds. */
        uint32_t rounds = 4;
        for (int b = -1; b < batches; b++) {
            struct command c = { OP_PINGPONG, rounds, size };
            send_all(fd, &c, sizeof c);
            double t0 = now();
            for (uint32_t r = 0; r < rounds; r++) {
                fill(out, size < 64 ? size : 64, size + r);
                send_all(fd, out, size);
                recv_all(fd, in, size);
                if (memcmp(in, out, size < 64 ? size : 64) != 0) {
                    fprintf(stderr, "DATA CHECK FAILED: size %zu round %u\n", size, r);
                    return 1;
                }
            }
            double dt = now() - t0;
            if (b < 0) {   /* the trial: size the batches */
                double per = dt / rounds;
                rounds = per > 0 ? (uint32_t)(batch / per) : 1000;
                if (rounds < 2) rounds = 2;
                if (rounds > 1000000) rounds = 1000000;
                continue;
            }
            t[b] = dt / rounds / 2 * 1e6;
        }
        qsort(t, (size_t)batches, sizeof(double), cmp);
        printf("bench=tcplimit op=latency size=%zu value=%.3f best=%.3f\n", size, t[batches / 2], t[0]);
        fflush(stdout);
    }
    fill(out, window, 1);
    for (int k = 0; k < repeats; k++) {
        uint32_t rounds = (uint32_t)(batch * batches * 5e9 / (double)window);   /* ~5 GB/s guess */
        if (rounds < 8) rounds = 8;
        struct command c = { OP_STREAM, rounds, window };
        send_all(fd, &c, sizeof c);
        double t0 = now();
        for (uint32_t r = 0; r < rounds; r++) send_all(fd, out, window);
        char ack;
        recv_all(fd, &ack, 1);
        t[k] = (double)window * rounds / (now() - t0) / 1e6;
    }
    qsort(t, (size_t)repeats, sizeof(double), cmp);
    printf("bench=tcplimit op=stream size=%zu value=%.1f best=%.1f\n", window, t[repeats / 2], t[repeats - 1]);
    struct command done = { OP_DONE, 0, 0 };
    send_all(fd, &done, sizeof done);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "server")) return server(atoi(argv[2]));
    if (argc >= 4 && !strcmp(argv[1], "client")) return client(argv[2], argv[3], argc - 4, argv + 4);
    fprintf(stderr, "usage: tcp_link server PORT | tcp_link client HOST PORT [-t S] [-b N] [-m MIN] [-M MAX] [-w BYTES] [-r REPEATS]\n");
    return 2;
}
