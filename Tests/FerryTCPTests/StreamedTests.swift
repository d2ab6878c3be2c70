// Streamed frames of the TCP transport over real sockets on 127.0.0.1, all in this process:
// sizes from 0 bytes to 64 MiB with copy frames around them in both directions, dropped
// payloads, one stream at a time, peers lost mid-stream, malformed streamed headers, and the
// throughput of streamed against copied frames. Every loop is bounded by a deadline.
import Testing
@testable import FerryTCP
import FerryTransport
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

/// Fills `bytes` bytes at `p` with a pattern that depends on `seed` and the offset.
func fillPattern(_ p: UnsafeMutableRawPointer, bytes: Int, seed: Int32) {
    let words = bytes / 8
    let w = p.bindMemory(to: UInt64.self, capacity: words)
    var x = UInt64(UInt32(bitPattern: seed)) &* 0x9E37_79B9_7F4A_7C15 | 1
    for i in 0..<words { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; w[i] = x ^ UInt64(i) }
    for i in (words * 8)..<bytes { p.storeBytes(of: UInt8(truncatingIfNeeded: Int(seed) &+ i), toByteOffset: i, as: UInt8.self) }
}

/// A streamed frame's header: a rendezvous data chunk of `bytes` bytes with `tag`.
func streamedHeader(tag: Int32, bytes: Int) -> FrameHeader {
    let zeros = [UInt64](repeating: 0, count: frameHeaderBytes / 8)
    var h = zeros.withUnsafeBytes { $0.load(as: FrameHeader.self) }
    h.kind = FrameKind.data.rawValue
    h.context = 7; h.source = 3; h.tag = tag
    h.length = UInt32(bytes); h.total = UInt64(bytes)
    h.senderRequest = 11; h.receiverRequest = 12; h.offset = 99
    return h
}

/// `x` with two decimals.
func decimals2(_ x: Double) -> String {
    let hundredths = Int((x * 100).rounded())
    let cents = hundredths % 100
    return "\(hundredths / 100).\(cents < 10 ? "0" : "")\(cents)"
}

/// Bytes after every destination that the transport must never write.
let guardBytes = 64

/// One direction of traffic: a list of copy and streamed frames that `from` sends and `to`
/// receives and checks, in order. `step()` moves it on without blocking.
final class Flow {
    enum Item { case copy(tag: Int32, length: Int), streamed(tag: Int32, bytes: Int) }
    let from: TCPTransport, to: TCPTransport
    let items: [Item]
    /// Drop streamed payloads (destination nil) instead of receiving them.
    let discard: Bool
    var sources: [Int32: UnsafeMutableRawPointer] = [:]
    var nextToSend = 0, nextToReceive = 0
    /// The streamed frame being received: its tag, size, destination, and its header if not
    /// released yet (released at once for odd tags, after completion for even ones).
    var receiving: (tag: Int32, bytes: Int, destination: UnsafeMutableRawPointer?, header: UnsafeMutablePointer<FrameHeader>?)?
    var problems: [String] = []
    var done: Bool { nextToReceive == items.count || !problems.isEmpty }

    init(from: TCPTransport, to: TCPTransport, items: [Item], discard: Bool = false) {
        self.from = from; self.to = to; self.items = items; self.discard = discard
        for case .streamed(let tag, let bytes) in items {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
            fillPattern(p, bytes: bytes, seed: tag)
            sources[tag] = p
        }
    }

    deinit { for p in sources.values { p.deallocate() } }

    /// Where the flow and both ends stand, for a stuck test's message.
    var state: String {
        let (s, r) = (from.links[to.index], to.links[from.index])
        return "\(from.index)->\(to.index): sent \(nextToSend), received \(nextToReceive) of \(items.count), receiving \(receiving.map { "\($0.tag)" } ?? "-"); "
            + "sender start \(s.sendStart) end \(s.sendEnd) streamAt \(s.streamOutAt) resume \(s.streamOutResume) left \(s.streamOutLeft) writer \(s.isWriter); "
            + "receiver start \(r.receiveStart) scan \(r.receiveScan) end \(r.receiveEnd) phase \(r.streamIn) payload left \(r.streamInPayloadLeft) padding left \(r.streamInPaddingLeft); "
            + "failures \(from.failure?.detail ?? "-") / \(to.failure?.detail ?? "-")"
    }

    func step() {
        while nextToSend < items.count {
            switch items[nextToSend] {
            case .copy(let tag, let length):
                guard sendFrame(from, to: to.index, tag: tag, length: length) else { return }
            case .streamed(let tag, let bytes):
                guard from.publishStreamed(to: to.index, header: streamedHeader(tag: tag, bytes: bytes),
                                           payload: sources[tag]!, bytes: bytes) else { return }
            }
            nextToSend += 1
        }
    }

    func receive() {
        let peer = from.index
        if let r = receiving {
            guard to.streamedBytesRemaining(from: peer) == 0 else { return }
            finishStreamed(r)
        }
        while !done, let f = to.peek(from: peer) {
            switch items[nextToReceive] {
            case .copy(let tag, let length):
                let p = framePayload(f).assumingMemoryBound(to: UInt8.self)
                var intact = !to.isStreamed(f) && f.pointee.tag == tag && Int(f.pointee.length) == length
                if intact { for i in 0..<length where p[i] != patternByte(tag, i) { intact = false; break } }
                if !intact {
                    problems.append("\(peer)->\(to.index): copy frame \(tag) expected, got tag \(f.pointee.tag) length \(f.pointee.length) streamed \(to.isStreamed(f))")
                    return
                }
                to.release(from: peer, f)
                nextToReceive += 1
            case .streamed(let tag, let bytes):
                let h = f.pointee
                guard to.isStreamed(f), h.tag == tag, Int(h.length) == bytes, h.kind == FrameKind.data.rawValue,
                      h.total == UInt64(bytes), h.offset == 99, h.senderRequest == 11, h.receiverRequest == 12, h.context == 7 else {
                    problems.append("\(peer)->\(to.index): streamed frame \(tag) of \(bytes) bytes expected, got tag \(h.tag) length \(h.length) streamed \(to.isStreamed(f))")
                    return
                }
                var d: UnsafeMutableRawPointer? = nil
                if !discard {
                    d = .allocate(byteCount: bytes + guardBytes, alignment: 8)
                    (d! + bytes).initializeMemory(as: UInt8.self, repeating: 0xEE, count: guardBytes)
                }
                to.receiveStreamed(from: peer, into: d, bytes: bytes)
                let early = tag & 1 == 1
                if early { to.release(from: peer, f) }
                let r = (tag: tag, bytes: bytes, destination: d, header: early ? nil : f)
                guard to.streamedBytesRemaining(from: peer) == 0 else { receiving = r; return }
                finishStreamed(r)
            }
        }
    }

    private func finishStreamed(_ r: (tag: Int32, bytes: Int, destination: UnsafeMutableRawPointer?, header: UnsafeMutablePointer<FrameHeader>?)) {
        if let d = r.destination {
            if memcmp(d, sources[r.tag]!, r.bytes) != 0 {
                problems.append("\(from.index)->\(to.index): streamed frame \(r.tag) of \(r.bytes) bytes differs")
            }
            for i in 0..<guardBytes where d.load(fromByteOffset: r.bytes + i, as: UInt8.self) != 0xEE {
                problems.append("\(from.index)->\(to.index): streamed frame \(r.tag) wrote past its \(r.bytes) bytes"); break
            }
            d.deallocate()
        }
        if let h = r.header { to.release(from: from.index, h) }
        receiving = nil
        nextToReceive += 1
    }
}

/// Steps every flow and polls every transport until all flows are done or `seconds` pass.
func run(_ flows: [Flow], _ ts: [TCPTransport], seconds: Double = 60) -> Bool {
    let deadline = now() + seconds
    while !flows.allSatisfy(\.done) {
        if now() > deadline {
            for f in flows where !f.done { Issue.record("stuck: \(f.state)") }
            return false
        }
        for f in flows { f.step() }
        for t in ts { t.poll() }
        for f in flows { f.receive() }
    }
    return true
}

/// Copy frames around every streamed frame of `sizes`; tags from `base`. Odd streamed tags are
/// released at once, even ones after completion.
func mixedItems(_ sizes: [Int], base: Int32, inline: Int) -> [Flow.Item] {
    var items: [Flow.Item] = []
    for (k, size) in sizes.enumerated() {
        let t = base + Int32(k) * 10
        items += [.copy(tag: t, length: min(inline, 13 * k)), .streamed(tag: t + 1 + Int32(k & 1), bytes: size),
                  .copy(tag: t + 3, length: min(inline, 8)), .copy(tag: t + 4, length: 0)]
    }
    return items + [.copy(tag: base + 999, length: min(inline, 100))]
}

@Suite("TCP transport: streamed frames") struct StreamedTests {
    static let sizes = [0, 1, 65 << 10, (1 << 20) + 3, 64 << 20]

    @Test("streamed frames of 0 B to 64 MiB both ways, copy frames around them in order, bytes checked",
          arguments: [64 << 10, 1024])
    func sizesBothWays(inline: Int) throws {
        // inline 1024: 8 KiB buffers, so most of each payload comes straight off the socket and
        // copy frames wrap the small buffers many times.
        let options = inline == 1024 ? loopback(inline: 1024, send: 8 << 10, receive: 8 << 10) : loopback(inline: inline)
        let ts = try connectedGroup(2, options)
        let flows = [Flow(from: ts[0], to: ts[1], items: mixedItems(Self.sizes, base: 1000, inline: inline)),
                     Flow(from: ts[1], to: ts[0], items: mixedItems(Self.sizes.reversed(), base: 5000, inline: inline))]
        #expect(run(flows, ts), "every frame arrived within 60 s")
        for f in flows { #expect(f.problems.isEmpty, "\(f.problems.prefix(4))") }
        #expect(ts[0].peek(from: 1) == nil && ts[1].peek(from: 0) == nil, "nothing extra")
        #expect(ts[0].streamedBytesPending(to: 1) == 0 && ts[1].streamedBytesPending(to: 0) == 0)
        #expect(ts[0].failure == nil && ts[1].failure == nil)
    }

    @Test("a receiver dropping streamed payloads (destination nil) keeps the frames after them intact")
    func discard() throws {
        let ts = try connectedGroup(2, loopback(inline: 1024, send: 8 << 10, receive: 8 << 10))
        let items: [Flow.Item] = [.copy(tag: 1, length: 100), .streamed(tag: 2, bytes: (1 << 20) + 3), .copy(tag: 3, length: 1024),
                                  .streamed(tag: 5, bytes: 5), .copy(tag: 6, length: 7), .streamed(tag: 8, bytes: 65 << 10),
                                  .copy(tag: 9, length: 9), .streamed(tag: 11, bytes: 8 << 10), .copy(tag: 12, length: 1)]
        let flow = Flow(from: ts[0], to: ts[1], items: items, discard: true)
        #expect(run([flow], ts, seconds: 20))
        #expect(flow.problems.isEmpty, "\(flow.problems)")
        #expect(ts[1].peek(from: 0) == nil && ts[0].failure == nil && ts[1].failure == nil)
    }

    @Test("one streamed send per peer: a second publishStreamed while one is pending returns false; after it, it works")
    func oneAtATime() throws {
        let ts = try connectedGroup(3, loopback())
        let (a, b) = (ts[0], ts[1])
        let bytes = 64 << 20
        let first = Flow(from: a, to: b, items: [.streamed(tag: 1, bytes: bytes), .copy(tag: 2, length: 8)])
        first.step()
        #expect(first.nextToSend == 2, "the copy frame queues behind the pending stream")
        #expect(a.streamedBytesPending(to: 1) > 0, "64 MiB do not fit the kernel's buffers at once")
        let second = Flow(from: a, to: b, items: [.streamed(tag: 3, bytes: 1000), .copy(tag: 4, length: 16)])
        second.step()
        #expect(second.nextToSend == 0, "refused while the first is pending (had it queued anything, `second` would see it)")
        let other = Flow(from: a, to: ts[2], items: [.streamed(tag: 5, bytes: 1 << 20)])
        other.step()
        #expect(other.nextToSend == 1, "another peer has its own stream")
        #expect(run([first, other], ts, seconds: 30) && first.problems.isEmpty && other.problems.isEmpty)
        #expect(pollUntil(ts) { a.streamedBytesPending(to: 1) == 0 })
        #expect(run([second], ts, seconds: 10) && second.problems.isEmpty, "accepted once the first is out")
        #expect(ts.allSatisfy { $0.failure == nil })
    }

    @Test("a sender that closes mid-stream: the receiver's failure names it, the payload stays incomplete")
    func senderClosesMidStream() throws {
        let ts = try connectedGroup(2, loopback(timeout: 0.3))
        let (a, b) = (ts[0], ts[1])
        let bytes = 64 << 20
        let flow = Flow(from: a, to: b, items: [.streamed(tag: 2, bytes: bytes)])
        flow.step()
        #expect(pollUntil(ts) { flow.receive(); return flow.receiving != nil && b.streamedBytesRemaining(from: 0) < bytes })
        #expect(a.streamedBytesPending(to: 1) > 0)
        a.close()   // gives up flushing after 0.3 s: b is not reading meanwhile
        #expect(a.streamedBytesPending(to: 1) == 0, "closed: the payload is no longer read")
        #expect(pollUntil([b], seconds: 10) { b.failure != nil })
        let message = b.failure?.detail ?? ""
        #expect(message.contains("rank 1 (host node1): connection to rank 0 (host node0, 127.0.0.1:"), "\(message)")
        #expect(message.contains("the peer closed the connection in the middle of a streamed payload"), "\(message)")
        #expect(message.contains("of 67108864 bytes received"), "\(message)")
        #expect(b.streamedBytesRemaining(from: 0) > 0, "incomplete")
        #expect(b.peek(from: 0) != nil, "the header is still there to release")
        if let h = b.peek(from: 0) { b.release(from: 0, h) }
        flow.receiving?.destination?.deallocate()
    }

    @Test("a receiver that closes mid-stream: the sender's failure names it and the payload is released")
    func receiverClosesMidStream() throws {
        let ts = try connectedGroup(2, loopback())
        let (a, b) = (ts[0], ts[1])
        let flow = Flow(from: a, to: b, items: [.streamed(tag: 2, bytes: 64 << 20)])
        flow.step()
        for _ in 0..<20 { a.poll(); b.poll() }
        #expect(a.streamedBytesPending(to: 1) > 0)
        b.close()   // unread bytes: the kernel resets the connection
        #expect(pollUntil([a], seconds: 10) { a.failure != nil })
        let message = a.failure?.detail ?? ""
        #expect(message.contains("rank 0 (host node0): connection to rank 1 (host node1, 127.0.0.1:"), "\(message)")
        #expect(a.streamedBytesPending(to: 1) == 0, "the caller may reuse its buffer")
        #expect(!a.publishStreamed(to: 1, header: streamedHeader(tag: 3, bytes: 8), payload: flow.sources[2]!, bytes: 8))
    }

    @Test("streamed frames from a hand-made peer: the wire format, and malformed streamed headers set failure",
          arguments: ["length", "kind", "sequence"])
    func malformedStreamed(flaw: String) throws {
        let t = try TCPTransport(index: 1, peerCount: 2, cookie: testCookie, hostName: "nodeb",
                                 options: TCPTransportOptions(interfaces: ["lo"], maxInlinePayload: 1024, sendBufferBytes: 8 << 10,
                                                              receiveBufferBytes: 8 << 10, maxStreamedPayload: 1 << 20))
        try t.setPeer(0, card: "v1;127.0.0.1:9", hostName: "nodea")
        let s = rawConnect(listenerPort(t))
        rawSend(s, Handshake.hello(from: 0, to: 1, cookie: testCookie))
        try t.establish()
        #expect(rawReceive(s, Handshake.ackBytes).map { Handshake.isAck($0, from: 1) } == true)
        // A good streamed frame: flag = ~sequence, 5 payload bytes and 3 of padding; then a copy frame.
        rawSend(s, wireHeader(kind: FrameKind.data.rawValue, length: 5, sequence: ~UInt32(1)) + [1, 2, 3, 4, 5, 0, 0, 0]
                   + wireHeader(kind: 1, length: 8, sequence: 2) + Array(repeating: 0xAB, count: 8))
        switch flaw {
        case "length": rawSend(s, wireHeader(kind: FrameKind.data.rawValue, length: (1 << 20) + 1, sequence: ~UInt32(3)))
        case "kind": rawSend(s, wireHeader(kind: 99, length: 8, sequence: ~UInt32(3)))
        default: rawSend(s, wireHeader(kind: FrameKind.data.rawValue, length: 8, sequence: ~UInt32(4)))
        }
        #expect(pollUntil([t]) { t.peek(from: 0) != nil && t.bufferedBytes(from: 0) >= 64 + 8 + 72 + 64 })
        let f = try #require(t.peek(from: 0))
        #expect(t.isStreamed(f) && f.pointee.length == 5)
        #expect(t.failure == nil, "bytes after a streamed header are not scanned before its payload is received")
        var got = [UInt8](repeating: 0, count: 5)
        got.withUnsafeMutableBytes { t.receiveStreamed(from: 0, into: $0.baseAddress, bytes: 5) }
        #expect(got == [1, 2, 3, 4, 5] && t.streamedBytesRemaining(from: 0) == 0)
        t.release(from: 0, f)
        #expect(t.peek(from: 0)?.pointee.length == 8, "the copy frame after it")
        #expect(t.failure != nil)
        let message = t.failure?.detail ?? ""
        #expect(message.contains("connection to rank 0 (host nodea, 127.0.0.1:") && message.contains("malformed data"), "\(message)")
        switch flaw {
        case "length": #expect(message.contains("a streamed frame of 1048577 payload bytes, above the maximum 1048576"), "\(message)")
        case "kind": #expect(message.contains("unknown frame kind 99"), "\(message)")
        default: #expect(message.contains("frame sequence number"), "\(message)")
        }
        close(s)
    }

    @Test("close() flushes a pending streamed send while the peer reads (another thread): every byte arrives, then the end")
    func closeFlushes() throws {
        let ts = try connectedGroup(2, loopback())
        let bytes = 64 << 20
        let flow = Flow(from: ts[0], to: ts[1], items: [.copy(tag: 1, length: 8), .streamed(tag: 2, bytes: bytes), .copy(tag: 3, length: 8)])
        flow.step()
        #expect(flow.nextToSend == 3 && ts[0].streamedBytesPending(to: 1) > 0, "64 MiB do not fit the kernel's buffers")
        let shared = Shared(flow)
        let received = Shared(false)
        let join = spawn {
            let f = shared.value
            let deadline = now() + 20
            while !f.done && now() < deadline { f.to.poll(); f.receive() }
            received.value = f.done
        }
        let start = now()
        ts[0].close()
        let closeSeconds = now() - start
        join()
        #expect(closeSeconds < 5, "the flush finished before the bound (\(closeSeconds) s)")
        #expect(received.value && flow.problems.isEmpty, "\(flow.problems)")
        #expect(ts[0].streamedBytesPending(to: 1) == 0)
        #expect(pollUntil([ts[1]]) { ts[1].failure != nil }, "then the end of the connection")
        #expect(ts[1].failure?.detail.contains("the peer closed the connection") == true)
    }

    @Test("wait: not woken by a streamed header whose payload is under way, woken by its bytes and by room to send")
    func waiting() throws {
        let ts = try connectedGroup(2, loopback())
        let (a, b) = (ts[0], ts[1])
        let bytes = 64 << 20
        let flow = Flow(from: a, to: b, items: [.streamed(tag: 2, bytes: bytes)])
        flow.step()
        #expect(pollUntil([b]) { flow.receive(); return flow.receiving != nil }, "the header arrived; its payload goes to the destination")
        #expect(b.peek(from: 0) != nil, "the header is kept (even tag) until the payload is complete")
        // b takes what the kernel holds; a, not polled, sends nothing more. (A few tries: the
        // kernel may still move bytes a queued earlier; a wait that returned at once because of
        // the header would return at once every time.)
        var waited = 0.0
        for _ in 0..<5 where waited < 0.15 {
            while b.poll() {}
            let t0 = now()
            b.wait(timeoutMilliseconds: 200)
            waited = now() - t0
        }
        #expect(waited >= 0.15, "nothing new arrived: b waited, although a frame (the header) is buffered")
        #expect(a.streamedBytesPending(to: 1) > 0)
        var start = now()
        a.wait(timeoutMilliseconds: 5000)
        #expect(now() - start < 1, "room in a's socket (b drained it) wakes a's wait: it pushes more of the payload")
        a.poll()
        start = now()
        b.wait(timeoutMilliseconds: 5000)
        #expect(now() - start < 1, "the payload's bytes wake b's wait")
        #expect(run([flow], ts, seconds: 20) && flow.problems.isEmpty, "\(flow.problems)")
    }

    @Test("throughput over loopback: 256 MiB streamed against 256 MiB in 64 KiB copy frames (printed)")
    func throughput() throws {
        let ts = try connectedGroup(2, loopback())
        let (a, b) = (ts[0], ts[1])
        let bytes = 256 << 20
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { source.deallocate(); destination.deallocate() }
        fillPattern(source, bytes: bytes, seed: 42)
        // Touch the destination once, so neither run pays its page faults.
        destination.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)

        // Streamed: one frame, straight from `source` into `destination`.
        var start = now()
        #expect(a.publishStreamed(to: 1, header: streamedHeader(tag: 1, bytes: bytes), payload: source, bytes: bytes))
        var header: UnsafeMutablePointer<FrameHeader>? = nil
        let streamedDone = pollUntil(ts, seconds: 60) {
            if header == nil, let f = b.peek(from: 0) {
                header = f
                b.receiveStreamed(from: 0, into: destination, bytes: bytes)
                b.release(from: 0, f)
            }
            return header != nil && b.streamedBytesRemaining(from: 0) == 0
        }
        let streamedSeconds = now() - start
        #expect(streamedDone && memcmp(source, destination, bytes) == 0)

        // Copy path: 64 KiB frames, copied in by the sender and out by the receiver.
        destination.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        let chunk = 64 << 10
        var sent = 0, received = 0
        start = now()
        let deadline = start + 60
        while received < bytes && now() < deadline {
            while sent < bytes, let f = a.reserve(to: 1) {
                f.pointee.kind = FrameKind.data.rawValue
                f.pointee.length = UInt32(chunk)
                f.pointee.offset = UInt64(sent)
                framePayload(f).copyMemory(from: source + sent, byteCount: chunk)
                a.publish(to: 1, f)
                sent += chunk
            }
            a.poll(); b.poll()
            while let f = b.peek(from: 0) {
                (destination + Int(f.pointee.offset)).copyMemory(from: framePayload(f), byteCount: Int(f.pointee.length))
                received += Int(f.pointee.length)
                b.release(from: 0, f)
            }
        }
        let copySeconds = now() - start
        #expect(received == bytes && memcmp(source, destination, bytes) == 0)
        let gb = Double(bytes) / 1e9
        print("FerryTCP loopback throughput, 256 MiB, one thread polling both ends: streamed \(decimals2(gb / streamedSeconds)) GB/s (\(decimals2(streamedSeconds)) s), copy path in 64 KiB frames \(decimals2(gb / copySeconds)) GB/s (\(decimals2(copySeconds)) s)")
        #expect(a.failure == nil && b.failure == nil)
    }
}
