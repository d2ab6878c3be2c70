// Helpers of the TCP transport's tests: transports on 127.0.0.1 set up in one thread, frames
// with checkable payloads, loops bounded by deadlines, raw sockets playing strangers.
import Testing
@testable import FerryTCP
import FerryTransport
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

let testCookie: [UInt8] = Array("ferry-test-cookie-0123456789abcdef".utf8)

/// Options for tests: loopback only, short timeouts, and the given sizes.
func loopback(inline: Int = 64 << 10, send: Int? = nil, receive: Int? = nil, timeout: Double = 10,
              handshake: Double = 10, interfaces: [String] = ["lo"]) -> TCPTransportOptions {
    TCPTransportOptions(interfaces: interfaces, connectTimeoutSeconds: timeout, maxInlinePayload: inline,
                        sendBufferBytes: send ?? max(256 << 10, 4 * (inline + 64)),
                        receiveBufferBytes: receive ?? max(256 << 10, 4 * (inline + 64)),
                        handshakeTimeoutSeconds: handshake)
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// `n` transports with every card set, not yet connected.
func makeTransports(_ n: Int, _ options: TCPTransportOptions) throws -> [TCPTransport] {
    let ts = try (0..<n).map { try TCPTransport(index: $0, peerCount: n, cookie: testCookie, hostName: "node\($0)", options: options) }
    for t in ts { for p in ts where p !== t { try t.setPeer(p.index, card: p.businessCard, hostName: p.hostName) } }
    return ts
}

/// Drives the set-up of every transport from this thread until all are connected.
func establishAll(_ ts: [TCPTransport], seconds: Double = 10) throws {
    let deadline = now() + seconds
    var done = Array(repeating: false, count: ts.count)
    while !done.allSatisfy({ $0 }) {
        for (k, t) in ts.enumerated() where !done[k] { done[k] = try t.establishStep(timeoutMilliseconds: 1) }
        if now() > deadline { throw MPIError(.other, "test: set-up did not finish in \(seconds) s") }
    }
}

/// `n` connected transports.
func connectedGroup(_ n: Int, _ options: TCPTransportOptions) throws -> [TCPTransport] {
    let ts = try makeTransports(n, options)
    try establishAll(ts)
    return ts
}

/// The payload byte at `offset` of a frame with `tag`: varies with both.
@inline(__always) func patternByte(_ tag: Int32, _ offset: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: Int(tag) &* 31 &+ offset &* 7 &+ offset >> 8)
}

/// Publishes one frame of `length` pattern bytes; false if no resource.
@discardableResult
func sendFrame(_ t: TCPTransport, to peer: Int, tag: Int32, length: Int) -> Bool {
    guard let f = t.reserve(to: peer) else { return false }
    f.pointee.kind = FrameKind.eager.rawValue
    f.pointee.tag = tag
    f.pointee.length = UInt32(length)
    f.pointee.total = UInt64(length)
    let p = framePayload(f).assumingMemoryBound(to: UInt8.self)
    for i in 0..<length { p[i] = patternByte(tag, i) }
    t.publish(to: peer, f)
    return true
}

/// Polls every transport until `peer`'s oldest frame from `from` is there (or the deadline):
/// its tag and length, and whether the payload matched the pattern. Releases it.
func receiveFrame(_ t: TCPTransport, from peer: Int, polling others: [TCPTransport] = [], seconds: Double = 5)
    -> (tag: Int32, length: Int, intact: Bool)? {
    let deadline = now() + seconds
    while true {
        if let f = t.peek(from: peer) {
            #expect(UInt(bitPattern: f) % 8 == 0, "frames are 8-aligned in the receive buffer")
            let tag = f.pointee.tag, length = Int(f.pointee.length)
            let p = framePayload(f).assumingMemoryBound(to: UInt8.self)
            var intact = f.pointee.kind == FrameKind.eager.rawValue && f.pointee.total == UInt64(length)
            for i in 0..<length where p[i] != patternByte(tag, i) { intact = false; break }
            t.release(from: peer, f)
            return (tag, length, intact)
        }
        if now() > deadline { return nil }
        t.poll()
        for o in others { o.poll() }
    }
}

/// Polls until `condition` holds or `seconds` pass; returns whether it held.
func pollUntil(_ ts: [TCPTransport], seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = now() + seconds
    while !condition() {
        if now() > deadline { return false }
        for t in ts { t.poll() }
    }
    return true
}

/// The port of `t`'s first listener.
func listenerPort(_ t: TCPTransport) -> UInt16 {
    let e = BusinessCard.parse(t.businessCard)!
    return e[0].port
}

/// A blocking TCP socket connected to 127.0.0.1:`port` (a stranger, or a hand-made peer).
func rawConnect(_ port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let r = withUnsafePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    #expect(r == 0, "raw connect to 127.0.0.1:\(port)")
    var tv = timeval(tv_sec: 5, tv_usec: 0)   // reads in tests never hang
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    return fd
}

func rawSend(_ fd: Int32, _ bytes: [UInt8]) {
    let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    #expect(n == bytes.count)
}

/// Reads exactly `count` bytes (nil on EOF, error or the 5 s receive timeout).
func rawReceive(_ fd: Int32, _ count: Int) -> [UInt8]? {
    var b = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
        let n = b.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
        if n <= 0 { return nil }
        got += n
    }
    return b
}

/// A port on 127.0.0.1 that nobody listens on (bound, then closed).
func closedPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    _ = withUnsafePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    close(fd)
    return UInt16(bigEndian: a.sin_port)
}

/// A frame header as raw wire bytes (for hand-made peers).
func wireHeader(kind: UInt8, length: UInt32, sequence: UInt32) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: frameHeaderBytes)
    func put(_ v: UInt32, at offset: Int) { for i in 0..<4 { out[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
    put(sequence, at: 0)                                   // flag
    out[4] = kind
    put(length, at: MemoryLayout<FrameHeader>.offset(of: \.length)!)
    put(length, at: MemoryLayout<FrameHeader>.offset(of: \.total)!)
    return out
}

/// Starts `body` on a new thread; the returned function joins it.
func spawn(_ body: @escaping @Sendable () -> Void) -> () -> Void {
    final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    pthread_create(&thread, nil, { arg in
        let b = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
        b.body()
        return nil
    }, box)
    return { pthread_join(thread, nil) }
}

/// A reference that may cross to another thread: the tests hand a transport to exactly one
/// thread at a time.
final class Shared<T>: @unchecked Sendable { var value: T; init(_ v: T) { value = v } }
