// Opens the TCP connection named by `PMI_PORT=host:port` (Hydra's non-inherited mode).
// Called once by PMIClient.connect.
#if canImport(Glibc)
import Glibc
#endif
import FerryCore

enum PMISocket {
    /// Connects to `hostPort` ("host:port"; IPv6 literals as "[addr]:port").
    static func connect(_ hostPort: String) throws(MPIError) -> Int32 {
        guard let colon = hostPort.lastIndex(of: ":") else {
            throw MPIError(.other, "PMI_PORT '\(hostPort)' is not host:port")
        }
        var host = String(hostPort[..<colon])
        let port = String(hostPort[hostPort.index(after: colon)...])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, port, &hints, &list)
        guard rc == 0, let first = list else {
            throw MPIError(.other, "PMI_PORT '\(hostPort)': cannot resolve (getaddrinfo \(rc))")
        }
        defer { freeaddrinfo(list) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                            ai.pointee.ai_protocol)
            if fd < 0 { continue }
            var r: Int32
            repeat { r = Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) } while r < 0 && errno == EINTR
            if r == 0 || errno == EISCONN {  // EISCONN: an EINTR-interrupted attempt completed
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            _ = close(fd)
        }
        throw MPIError(.other, "PMI_PORT '\(hostPort)': connection refused")
    }
}
