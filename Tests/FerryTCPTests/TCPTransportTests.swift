// The TCP transport over real sockets on 127.0.0.1, all in this process: the transport
// contract, traffic between three transports, flow control, strangers, malformed data, lost
// peers and set-up timeouts. Every loop is bounded by a deadline.
import Testing
@testable import FerryTCP
import FerryTransport
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

/// The transport contract (Transport.swift) on a connected pair: order, no resource, release,
/// independent directions, laps of the send buffer. TCP frees a frame as soon as the kernel
/// takes it, so "full" means the kernel's buffers and ours are full, reached by flooding.
private func checkContract(_ a: TCPTransport, _ b: TCPTransport, inline: Int) {
    let caps = a.capabilities
    #expect(caps == TransportCapabilities(maxInlinePayload: inline, singleCopy: false, ordered: true, sharesMemory: false))
    #expect(a.frameCapacity(ofPeer: 1) == a.options.sendBufferBytes / (inline + frameHeaderBytes))
    #expect(a.frameCapacity(ofPeer: 1) >= 1)
    #expect(b.peek(from: 0) == nil, "nothing before the first publish")
    b.poll()
    #expect(b.peek(from: 0) == nil, "nothing before the first publish, after a poll")
    // Fill: b does not release, so eventually a says "no resource".
    var sent: Int32 = 0
    let deadline = now() + 10
    var stuck = 0
    while stuck < 200 && now() < deadline {
        if sendFrame(a, to: 1, tag: sent, length: inline) { sent += 1; stuck = 0 } else {
            #expect(!a.hasRoom(to: 1, frames: 1), "no resource agrees with hasRoom")
            stuck += 1
            a.poll(); b.poll()
        }
    }
    #expect(stuck >= 200, "a flood towards a receiver that releases nothing ends in no resource")
    #expect(a.reserve(to: 1) == nil)
    #expect(b.bufferedBytes(from: 0) <= b.options.receiveBufferBytes)
    #expect(a.unsentBytes(to: 1) <= a.options.sendBufferBytes)
    // The other direction is independent.
    #expect(sendFrame(b, to: 0, tag: 77, length: 8))
    #expect(receiveFrame(a, from: 1, polling: [b])?.tag == 77)
    // In order, every payload intact; a released frame makes room again.
    for k in 0..<sent {
        let r = receiveFrame(b, from: 0, polling: [a])
        #expect(r?.tag == k && r?.length == inline && r?.intact == true)
        if r?.tag != k { return }
    }
    #expect(pollUntil([a, b]) { a.hasRoom(to: 1, frames: 1) }, "drained: room again")
    #expect(b.peek(from: 0) == nil)
    // Laps: many more frames than the buffers hold, received as they go.
    var next: Int32 = 1000, expected: Int32 = 1000
    let lapDeadline = now() + 10
    while expected < 1000 + 20 * Int32(a.frameCapacity(ofPeer: 1)) && now() < lapDeadline {
        if sendFrame(a, to: 1, tag: next, length: Int(next) % (inline + 1)) { next += 1 }
        b.poll(); a.poll()
        while let f = b.peek(from: 0) {
            #expect(f.pointee.tag == expected)
            expected += 1
            b.release(from: 0, f)
        }
    }
    #expect(expected == 1000 + 20 * Int32(a.frameCapacity(ofPeer: 1)), "every frame published arrived once, in order")
}

@Suite("TCP transport") struct TCPTransportTests {
    @Test("the transport contract on a pair over loopback", arguments: [192, 4096])
    func contract(inline: Int) throws {
        let ts = try connectedGroup(2, loopback(inline: inline, send: 3 * (inline + 64), receive: 2 * (inline + 64), interfaces: ["127.0.0.0/8"]))
        checkContract(ts[0], ts[1], inline: inline)
        #expect(ts[0].failure == nil && ts[1].failure == nil)
    }

    @Test("blocking establish() from two threads connects; the lower index connects, the higher accepts")
    func blockingEstablish() throws {
        let ts = try makeTransports(2, loopback())
        let other = Shared(ts[1])
        let thrown = Shared<MPIError?>(nil)
        let join = spawn { do throws(MPIError) { try other.value.establish() } catch { thrown.value = error } }
        try ts[0].establish()
        join()
        #expect(thrown.value == nil)
        #expect(ts[0].isConnected(1) && ts[1].isConnected(0))
        #expect(sendFrame(ts[1], to: 0, tag: 5, length: 3))
        #expect(receiveFrame(ts[0], from: 1, polling: [ts[1]])?.tag == 5)
        #expect(ts[0].refusals.isEmpty && ts[1].refusals.isEmpty, "the handshake of a real peer is never refused")
    }

    @Test("three transports all-to-all: every size, padding, the maximum payload, values intact")
    func allToAllSizes() throws {
        let inline = 8192
        let ts = try connectedGroup(3, loopback(inline: inline))
        let sizes = [0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 1000, 4095, 4096, inline - 1, inline]
        for s in ts { for d in ts where d !== s {
            for (k, size) in sizes.enumerated() {
                #expect(sendFrame(s, to: d.index, tag: Int32(s.index * 1000 + k), length: size) || pollUntil(ts) { sendFrame(s, to: d.index, tag: Int32(s.index * 1000 + k), length: size) })
            }
        } }
        for d in ts { for s in ts where s !== d {
            for (k, size) in sizes.enumerated() {
                let r = receiveFrame(d, from: s.index, polling: ts)
                #expect(r?.tag == Int32(s.index * 1000 + k) && r?.length == size && r?.intact == true, "\(s.index)->\(d.index) size \(size)")
            }
            #expect(d.peek(from: s.index) == nil)
        } }
        #expect(ts.allSatisfy { $0.failure == nil })
    }

    @Test("10 000 frames in a row, values checked, while traffic flows the other way")
    func longStream() throws {
        let ts = try connectedGroup(2, loopback(inline: 1024, send: 16 << 10, receive: 16 << 10))
        let (a, b) = (ts[0], ts[1])
        let count: Int32 = 10_000
        var sent: Int32 = 0, received: Int32 = 0, back: Int32 = 0, backReceived: Int32 = 0
        var ok = true
        let deadline = now() + 20
        while (received < count || backReceived < count / 10) && now() < deadline {
            while sent < count && sendFrame(a, to: 1, tag: sent, length: Int(sent % 1025)) { sent += 1 }
            if back < count / 10 && sendFrame(b, to: 0, tag: back, length: 24) { back += 1 }
            a.poll(); b.poll()
            while let f = b.peek(from: 0) {
                let p = framePayload(f).assumingMemoryBound(to: UInt8.self)
                let n = Int(f.pointee.length)
                if f.pointee.tag != received || n != Int(received % 1025) || (n > 0 && p[n - 1] != patternByte(received, n - 1)) { ok = false }
                received += 1
                b.release(from: 0, f)
            }
            while let f = a.peek(from: 1) {
                if f.pointee.tag != backReceived { ok = false }
                backReceived += 1
                a.release(from: 1, f)
            }
        }
        #expect(ok, "every frame in order with its length and payload")
        #expect(received == count && backReceived == count / 10)
        #expect(a.failure == nil && b.failure == nil)
    }

    @Test("flow control: a flood towards a receiver that releases nothing stops at bounded buffers, then drains in order")
    func flowControl() throws {
        let inline = 1024, receiveBytes = 8 << 10
        let ts = try connectedGroup(2, loopback(inline: inline, send: 4 * (inline + 64), receive: receiveBytes))
        let (a, b) = (ts[0], ts[1])
        var sent: Int32 = 0, refusedInARow = 0
        let deadline = now() + 15
        while refusedInARow < 500 && now() < deadline {
            if sendFrame(a, to: 1, tag: sent, length: inline) { sent += 1; refusedInARow = 0 } else { refusedInARow += 1 }
            a.poll(); b.poll()
            #expect(b.bufferedBytes(from: 0) <= receiveBytes)
        }
        #expect(refusedInARow >= 500, "reserve returns nil once every buffer on the way is full")
        #expect(a.reserve(to: 1) == nil && !a.hasRoom(to: 1, frames: 1))
        #expect(b.bufferedBytes(from: 0) <= receiveBytes, "the receiver buffers at most its bound")
        #expect(b.bufferedBytes(from: 0) > receiveBytes - (inline + 64), "and it did fill it")
        #expect(sent > Int32(receiveBytes / (inline + 64)), "the kernel held the rest")
        // Drain: everything arrives, in order, and the sender can send again.
        var expected: Int32 = 0
        while expected < sent, let r = receiveFrame(b, from: 0, polling: [a]) {
            #expect(r.tag == expected && r.intact)
            if r.tag != expected { break }
            expected += 1
        }
        #expect(expected == sent)
        #expect(sendFrame(a, to: 1, tag: sent, length: 8) || pollUntil(ts) { a.hasRoom(to: 1, frames: 1) })
        #expect(a.failure == nil && b.failure == nil)
    }

    @Test("strangers (wrong cookie, garbage, silence) are refused and logged; the real peer connects after them")
    func strangers() throws {
        let ts = try makeTransports(2, loopback(handshake: 0.3))
        let (a, b) = (ts[0], ts[1])
        let port = listenerPort(b)
        var wrong = testCookie; wrong[0] ^= 0xFF
        let s1 = rawConnect(port); rawSend(s1, Handshake.hello(from: 0, to: 1, cookie: wrong))
        let s2 = rawConnect(port); rawSend(s2, Array("GET / HTTP/1.0\r\n\r\n".utf8))
        let s3 = rawConnect(port)                                    // nothing, then close: silent
        let s4 = rawConnect(port)                                    // nothing, left open: times out
        let s5 = rawConnect(port); rawSend(s5, Array(Handshake.hello(from: 0, to: 1, cookie: testCookie).prefix(20)))
        close(s1); close(s2); close(s3); close(s5)
        #expect(pollUntil([b], seconds: 5) { _ = try? b.establishStep(timeoutMilliseconds: 1); return b.refusals.count >= 3 })
        try establishAll(ts)
        #expect(sendFrame(a, to: 1, tag: 42, length: 100))
        #expect(receiveFrame(b, from: 0, polling: [a])?.intact == true)
        // The silent one is refused once the handshake timeout has passed (by set-up or poll).
        #expect(pollUntil([a, b], seconds: 5) { b.refusals.count >= 4 })
        close(s4)
        let log = b.refusals.joined(separator: "\n")
        #expect(log.contains("ferry: rank 1: refused a TCP connection from 127.0.0.1:"))
        #expect(log.contains("wrong job cookie"))
        #expect(log.contains("not a Ferry handshake"))
        #expect(log.contains("closed after 20 bytes of a handshake"))
        #expect(log.contains("no handshake within 0.3 s"))
        #expect(b.refusals.count == 4, "the connection closed before sending anything is dropped silently: \(log)")
        #expect(a.failure == nil && b.failure == nil)
    }

    @Test("a late connection with the right cookie is refused: the peer is already connected")
    func lateDuplicate() throws {
        let ts = try connectedGroup(2, loopback())
        let s = rawConnect(listenerPort(ts[1]))
        rawSend(s, Handshake.hello(from: 0, to: 1, cookie: testCookie))
        #expect(pollUntil(ts, seconds: 5) { ts[1].refusals.count == 1 })
        #expect(ts[1].refusals.first?.contains("rank 0 is already connected") == true)
        #expect(rawReceive(s, 1) == nil, "refused: closed without an answer")
        close(s)
        #expect(sendFrame(ts[0], to: 1, tag: 1, length: 1))
        #expect(receiveFrame(ts[1], from: 0, polling: ts)?.tag == 1, "the real connection is untouched")
    }

    @Test("malformed data from an authenticated peer sets failure, without a crash", arguments: ["length", "kind", "sequence"])
    func malformedFrame(flaw: String) throws {
        let t = try TCPTransport(index: 1, peerCount: 2, cookie: testCookie, hostName: "nodeb", options: loopback(inline: 1024))
        try t.setPeer(0, card: "v1;127.0.0.1:9", hostName: "nodea")
        let s = rawConnect(listenerPort(t))
        rawSend(s, Handshake.hello(from: 0, to: 1, cookie: testCookie))
        try t.establish()
        #expect(rawReceive(s, Handshake.ackBytes).map { Handshake.isAck($0, from: 1) } == true)
        // One good frame, then the flaw.
        rawSend(s, wireHeader(kind: 1, length: 8, sequence: 1) + Array(repeating: 0xAB, count: 8))
        switch flaw {
        case "length": rawSend(s, wireHeader(kind: 1, length: 1_000_000, sequence: 2))
        case "kind": rawSend(s, wireHeader(kind: 99, length: 8, sequence: 2) + Array(repeating: 0, count: 8))
        default: rawSend(s, wireHeader(kind: 1, length: 8, sequence: 7) + Array(repeating: 0, count: 8))
        }
        #expect(pollUntil([t], seconds: 5) { t.failure != nil })
        let message = t.failure?.detail ?? ""
        #expect(message.contains("connection to rank 0 (host nodea, 127.0.0.1:") && message.contains("malformed data"))
        switch flaw {
        case "length": #expect(message.contains("1000000 payload bytes, above the maximum 1024"))
        case "kind": #expect(message.contains("unknown frame kind 99"))
        default: #expect(message.contains("sequence number 7, expected 2"))
        }
        #expect(t.peek(from: 0)?.pointee.length == 8, "the good frame before the flaw is still delivered")
        #expect(t.reserve(to: 0) == nil, "nothing more is sent to a failed peer")
        close(s)
    }

    @Test("a peer that closes sets failure naming it, its host and its address")
    func peerCloses() throws {
        let ts = try connectedGroup(3, loopback())
        #expect(sendFrame(ts[0], to: 2, tag: 9, length: 16))
        ts[0].close()
        ts[0].close()   // idempotent
        #expect(pollUntil([ts[2]], seconds: 5) { ts[2].failure != nil })
        let message = ts[2].failure?.detail ?? ""
        #expect(message.contains("rank 2 (host node2): connection to rank 0 (host node0, 127.0.0.1:"))
        #expect(message.contains("closed the connection"))
        #expect(receiveFrame(ts[2], from: 0, seconds: 1)?.tag == 9, "what was sent before the close arrives")
        // The other connections keep working.
        #expect(sendFrame(ts[1], to: 2, tag: 3, length: 5))
        #expect(receiveFrame(ts[2], from: 1, polling: [ts[1]])?.tag == 3)
        #expect(ts[0].reserve(to: 1) == nil && ts[0].peek(from: 1) == nil, "a closed transport refuses everything")
    }

    @Test("establish times out near connectTimeoutSeconds, naming both ranks, both hosts and every address tried")
    func connectTimeout() throws {
        let port = closedPort(), port2 = closedPort()
        let t = try TCPTransport(index: 0, peerCount: 2, cookie: testCookie, hostName: "nodea", options: loopback(timeout: 0.5))
        try t.setPeer(1, card: "v1;127.0.0.1:\(port),127.0.0.1:\(port2)", hostName: "nodeb")
        let start = now()
        do { try t.establish(); Issue.record("nobody listens there") } catch {
            let elapsed = now() - start
            #expect(elapsed >= 0.5 && elapsed < 1.5, "ended after \(elapsed) s")
            #expect(error.detail.contains("rank 0 (host nodea) cannot reach rank 1 (host nodeb) within 0.5 s: tried "))
            #expect(error.detail.contains("127.0.0.1:\(port) (connection refused)"))
            #expect(error.detail.contains("127.0.0.1:\(port2) (connection refused)"))
        }
    }

    @Test("an acceptor whose lower peer never connects times out naming it")
    func acceptTimeout() throws {
        let t = try TCPTransport(index: 1, peerCount: 2, cookie: testCookie, hostName: "nodeb", options: loopback(timeout: 0.3))
        try t.setPeer(0, card: "v1;127.0.0.1:9", hostName: "nodea")
        let start = now()
        do { try t.establish(); Issue.record("nobody connects") } catch {
            #expect(now() - start >= 0.3 && now() - start < 1.5)
            #expect(error.detail.contains("rank 1 (host nodeb) was not reached by rank 0 (host nodea) within 0.3 s: it should connect to 127.0.0.1:\(listenerPort(t))"))
        }
    }

    @Test("a connector with a dead address first still connects through the next one (staggered attempts)")
    func staggered() throws {
        let ts = try makeTransports(2, loopback())
        let real = ts[1].businessCard.dropFirst(3)
        try ts[0].setPeer(1, card: "v1;127.0.0.1:\(closedPort()),\(real)", hostName: "node1")
        try establishAll(ts)
        #expect(ts[0].isConnected(1) && ts[1].isConnected(0))
        #expect(ts[1].refusals.isEmpty)
    }

    @Test("more than four connections: poll goes through epoll, traffic flows both ways")
    func manyPeers() throws {
        let ts = try connectedGroup(6, loopback(inline: 1024, send: 8 << 10, receive: 8 << 10))
        for s in ts { for d in ts where d !== s { #expect(sendFrame(s, to: d.index, tag: Int32(s.index * 10 + d.index), length: 33)) } }
        for d in ts { for s in ts where s !== d {
            let r = receiveFrame(d, from: s.index, polling: ts)
            #expect(r?.tag == Int32(s.index * 10 + d.index) && r?.intact == true)
        } }
        #expect(ts.allSatisfy { $0.failure == nil })
    }

    @Test("wait blocks until data arrives, or for its timeout")
    func waiting() throws {
        let ts = try connectedGroup(2, loopback())
        #expect(ts[1].waitFD >= 0)
        var start = now()
        ts[1].wait(timeoutMilliseconds: 100)
        #expect(now() - start >= 0.09, "nothing arrived: waited the timeout")
        #expect(sendFrame(ts[0], to: 1, tag: 1, length: 8))
        start = now()
        ts[1].wait(timeoutMilliseconds: 5000)
        #expect(now() - start < 1, "data wakes the wait")
        #expect(receiveFrame(ts[1], from: 0)?.tag == 1)
    }
}
