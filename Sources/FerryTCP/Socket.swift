// Thin wrappers over the socket calls of the TCP transport's slow paths (listen, connect,
// accept, handshake bytes). The data path (send/recv on connected sockets) calls libc directly
// in TCPTransport.swift. Errors come back as errno values; `errnoText` words them for messages.
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// "connection refused": strerror with a lowercase first letter, for messages.
func errnoText(_ e: Int32) -> String {
    guard let s = strerror(e) else { return "error \(e)" }
    var text = String(cString: s)
    if let f = text.first, f.isUppercase, text.dropFirst().first?.isLowercase ?? true {
        text = f.lowercased() + text.dropFirst()
    }
    return text
}

func socketAddress(_ e: IPv4Endpoint) -> sockaddr_in {
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = e.port.bigEndian
    a.sin_addr.s_addr = e.address.value.bigEndian
    return a
}

func endpoint(_ a: sockaddr_in) -> IPv4Endpoint {
    IPv4Endpoint(address: IPv4Address(UInt32(bigEndian: a.sin_addr.s_addr)), port: UInt16(bigEndian: a.sin_port))
}

/// A nonblocking, close-on-exec TCP socket, or -errno.
func tcpSocket() -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    return fd < 0 ? -errno : fd
}

/// Options of a connected socket: no Nagle (small frames leave at once).
func configureConnected(_ fd: Int32) {
    var one: Int32 = 1
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
}

/// A listening socket bound to `address` (port 0: the kernel picks one), and its endpoint.
func listenOn(_ address: IPv4Address) -> Result<(fd: Int32, endpoint: IPv4Endpoint), SocketError> {
    let fd = tcpSocket()
    if fd < 0 { return .failure(SocketError(call: "socket", errno: -fd)) }
    var a = socketAddress(IPv4Endpoint(address: address, port: 0))
    let bound = withUnsafePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if bound != 0 { let e = errno; Glibc.close(fd); return .failure(SocketError(call: "bind", errno: e)) }
    if listen(fd, 128) != 0 { let e = errno; Glibc.close(fd); return .failure(SocketError(call: "listen", errno: e)) }
    guard let local = localEndpoint(fd) else {
        let e = errno; Glibc.close(fd); return .failure(SocketError(call: "getsockname", errno: e))
    }
    return .success((fd, local))
}

func localEndpoint(_ fd: Int32) -> IPv4Endpoint? {
    var a = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let r = withUnsafeMutablePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return r == 0 ? endpoint(a) : nil
}

/// Starts a nonblocking connect: the socket (connected or in progress), or the errno.
func startConnect(_ e: IPv4Endpoint) -> Result<Int32, SocketError> {
    let fd = tcpSocket()
    if fd < 0 { return .failure(SocketError(call: "socket", errno: -fd)) }
    var a = socketAddress(e)
    let r = withUnsafePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if r != 0 && errno != EINPROGRESS && errno != EINTR {
        let err = errno
        Glibc.close(fd)
        return .failure(SocketError(call: "connect", errno: err))
    }
    return .success(fd)
}

/// The pending error of a socket whose connect finished (0: connected).
func socketError(_ fd: Int32) -> Int32 {
    var e: Int32 = 0
    var len = socklen_t(MemoryLayout<Int32>.size)
    if getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0 { return errno }
    return e
}

/// Accepts one pending connection: the socket and the peer's endpoint, nil when none is
/// pending (or the accept failed: the listener stays usable).
func acceptOne(_ listener: Int32) -> (fd: Int32, from: IPv4Endpoint)? {
    while true {
        var address: UInt32 = 0
        var port: UInt16 = 0
        let fd = ferry_tcp_accept(listener, &address, &port)
        if fd >= 0 { return (fd, IPv4Endpoint(address: IPv4Address(address), port: port)) }
        // A connection reset before we took it is dropped by the kernel: try the next one.
        if -fd == EINTR || -fd == ECONNABORTED { continue }
        return nil
    }
}

/// What a nonblocking read of a fixed-size message found after taking what was there.
enum ReadStatus: Equatable { case open, closed, failed(Int32) }

/// Reads the rest of a fixed-size message into `buffer` from `filled` (advanced by what
/// arrived, even when the connection then turns out closed).
func readSome(_ fd: Int32, into buffer: inout [UInt8], filled: inout Int) -> ReadStatus {
    while filled < buffer.count {
        let at = filled
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + at, $0.count - at, Int32(MSG_DONTWAIT)) }
        if n > 0 { filled += n; continue }
        if n == 0 { return .closed }
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { break }
        return .failed(errno)
    }
    return .open
}

/// Writes all of `bytes` on a fresh socket (a handshake message: far below the socket buffer,
/// so a nonblocking write takes it whole). 0 or the errno.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
    var done = 0, waits = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
        if n > 0 { done += n; continue }
        if n < 0 && errno == EINTR { continue }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
            waits += 1
            if waits > 20 { return ETIMEDOUT }   // 2 s for a few dozen bytes: the peer is stuck
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = Glibc.poll(&p, 1, 100)
            continue
        }
        return n < 0 ? errno : EPIPE
    }
    return 0
}

/// A failed socket call.
struct SocketError: Error, CustomStringConvertible {
    var call: String
    var errno: Int32
    var description: String { "\(call): \(errnoText(errno))" }
}
