/* What the TCP transport (Sources/FerryTCP) needs from C: epoll without the packed
 * `struct epoll_event` crossing into Swift (its layout differs between architectures), and the
 * IPv4 interface list from getifaddrs as plain values. */
#ifndef FERRY_TCP_H
#define FERRY_TCP_H
#include <stdint.h>

/* One IPv4 address of a local interface: name, address and netmask in host byte order, and
 * whether the interface is up and whether it is a loopback. */
struct ferry_tcp_interface {
    char name[16];
    uint32_t address;
    uint32_t netmask;
    int32_t up;
    int32_t loopback;
};

/* Fills at most `max` entries (IPv4 addresses only, in getifaddrs order); returns how many
 * exist in all (may exceed `max`), or -errno. */
int ferry_tcp_ipv4_interfaces(struct ferry_tcp_interface *out, int max);

/* epoll events (the Glibc module does not export sys/epoll.h). */
static const uint32_t ferry_tcp_epollin = 0x001;
static const uint32_t ferry_tcp_epollout = 0x004;

/* epoll_create1(EPOLL_CLOEXEC): the fd or -errno. */
int ferry_tcp_epoll_create(void);
/* accept4(SOCK_NONBLOCK | SOCK_CLOEXEC); the peer's IPv4 address and port in host byte order.
 * The fd or -errno. */
int ferry_tcp_accept(int listener, uint32_t *address, uint16_t *port);

/* epoll_ctl ADD / MOD / DEL with a 64-bit tag: 0 or -errno. */
int ferry_tcp_epoll_add(int epfd, int fd, uint32_t events, uint64_t tag);
int ferry_tcp_epoll_modify(int epfd, int fd, uint32_t events, uint64_t tag);
int ferry_tcp_epoll_remove(int epfd, int fd);
/* epoll_wait: tags[i] and events[i] of up to `max` ready descriptors; returns the count, 0 on
 * timeout, or -errno (EINTR included). */
int ferry_tcp_epoll_wait(int epfd, uint64_t *tags, uint32_t *events, int max, int timeout_ms);

/* The streamed-frame data path: one sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL) of up to three runs of
 * bytes, in order (runs of 0 bytes are skipped): the bytes the kernel took, or -errno. */
long ferry_tcp_send3(int fd, const void *p0, long n0, const void *p1, long n1, const void *p2, long n2);
/* recv(MSG_DONTWAIT | MSG_TRUNC) on a TCP socket: drops up to `bytes` received bytes without
 * copying them anywhere (tcp(7)). The count dropped, 0 at end of stream, or -errno. */
long ferry_tcp_discard(int fd, long bytes);
#endif
