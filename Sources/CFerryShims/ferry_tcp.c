/* C side of the TCP transport (include/ferry_tcp.h). Slow paths only, except
 * ferry_tcp_epoll_wait, which the transport calls when it polls many connections, and the two
 * calls of streamed frames (ferry_tcp_send3, ferry_tcp_discard), once per large transfer step. */
#define _GNU_SOURCE
#include "ferry_tcp.h"
#include <errno.h>
#include <string.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

int ferry_tcp_ipv4_interfaces(struct ferry_tcp_interface *out, int max) {
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0) return -errno;
    int n = 0;
    for (struct ifaddrs *a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        if (n < max) {
            struct ferry_tcp_interface *e = &out[n];
            memset(e, 0, sizeof *e);
            strncpy(e->name, a->ifa_name, sizeof e->name - 1);
            e->address = ntohl(((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr);
            e->netmask = a->ifa_netmask ? ntohl(((struct sockaddr_in *)a->ifa_netmask)->sin_addr.s_addr) : 0xffffffffu;
            e->up = (a->ifa_flags & IFF_UP) != 0;
            e->loopback = (a->ifa_flags & IFF_LOOPBACK) != 0;
        }
        n++;
    }
    freeifaddrs(list);
    return n;
}

static int ctl(int epfd, int op, int fd, uint32_t events, uint64_t tag) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = tag;
    return epoll_ctl(epfd, op, fd, &ev) == 0 ? 0 : -errno;
}
int ferry_tcp_epoll_add(int epfd, int fd, uint32_t events, uint64_t tag) { return ctl(epfd, EPOLL_CTL_ADD, fd, events, tag); }
int ferry_tcp_epoll_modify(int epfd, int fd, uint32_t events, uint64_t tag) { return ctl(epfd, EPOLL_CTL_MOD, fd, events, tag); }
int ferry_tcp_epoll_remove(int epfd, int fd) { return ctl(epfd, EPOLL_CTL_DEL, fd, 0, 0); }

int ferry_tcp_epoll_wait(int epfd, uint64_t *tags, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event ev[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, ev, max, timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) { tags[i] = ev[i].data.u64; events[i] = ev[i].events; }
    return n;
}

int ferry_tcp_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int ferry_tcp_accept(int listener, uint32_t *address, uint16_t *port) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    int fd = accept4(listener, (struct sockaddr *)&a, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return -errno;
    *address = ntohl(a.sin_addr.s_addr);
    *port = ntohs(a.sin_port);
    return fd;
}

long ferry_tcp_send3(int fd, const void *p0, long n0, const void *p1, long n1, const void *p2, long n2) {
    struct iovec iov[3];
    int k = 0;
    if (n0 > 0) { iov[k].iov_base = (void *)p0; iov[k].iov_len = (size_t)n0; k++; }
    if (n1 > 0) { iov[k].iov_base = (void *)p1; iov[k].iov_len = (size_t)n1; k++; }
    if (n2 > 0) { iov[k].iov_base = (void *)p2; iov[k].iov_len = (size_t)n2; k++; }
    if (k == 0) return 0;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = iov;
    m.msg_iovlen = (size_t)k;
    ssize_t n = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    return n < 0 ? -errno : (long)n;
}

long ferry_tcp_discard(int fd, long bytes) {
    /* With MSG_TRUNC, TCP copies nothing into the buffer: one byte of scratch serves any count. */
    char scratch;
    ssize_t n = recv(fd, &scratch, (size_t)bytes, MSG_DONTWAIT | MSG_TRUNC);
    return n < 0 ? -errno : (long)n;
}
