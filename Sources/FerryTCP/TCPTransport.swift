// The TCP transport: frames between processes of different nodes over one TCP connection per
// pair of processes. This file owns the object, its buffers and the data path (reserve,
// publish, peek, release, poll, wait, close); TCPTransport+Setup.swift owns connection set-up
// (cards, establish, the handshake, refusing strangers). The runtime creates one at start-up,
// exchanges business cards through PMI, calls `establish()`, then drives it from its progress
// loop: `poll()` does the I/O, `peek`/`release` and `reserve`/`publish` move frames.
//
// On the wire a frame is its 64-byte header, then `length` payload bytes padded with zeros to a
// multiple of 8, so every frame starts 8-aligned in the receiver's buffer. The header's `flag`
// is this transport's: on the wire the frame's sequence number towards that peer (1, 2, ...,
// checked on arrival; its complement for a streamed frame), in the receive buffer the frame's
// size in bytes (read by `release`; bit 0 marks a streamed frame).
//
// Buffers, per connected peer, each a flat array allocated once:
// - send buffer (`sendBufferBytes`): frames published and not yet taken by the kernel, from
//   `sendStart` to `sendEnd`. `reserve` hands out the space at `sendEnd` when a maximum frame
//   fits (moving the unsent bytes to the front if that makes room), else nil ("no resource").
//   `publish` appends and sends at once; since header and payload are contiguous, one send()
//   carries them (and any earlier unsent frames): the single-writev rule without an iovec.
// - receive buffer (`receiveBufferBytes`): bytes read and not yet released. Complete, checked
//   frames lie in [receiveStart, receiveScan), a partial frame in [receiveScan, receiveEnd).
//   `poll` reads at most the room left, so a peer whose frames are not released is held back
//   by TCP flow control and cannot make this process buffer more than this bound. Bytes move
//   only when no complete frame is buffered (a frame `peek` returned never moves before its
//   release) and the next frame might not fit: the move is then less than one frame.
//
// Streamed frames (large payloads read from and written to the caller's memory, never through
// these buffers) are in TCPTransport+Streamed.swift; this file only branches to it.
//
// - Note: not thread-safe; the runtime calls every method under its progress lock (or from its
//   one thread).
import FerryCore
import FerrySys
import FerryTransport
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// State of the connection to one peer.
enum LinkState: UInt8 {
    /// No card: the peer is not reached through TCP.
    case none
    /// Card set; `establish()` connects it.
    case expected
    case connected
    /// Lost (EOF, reset, malformed data) or closed; `failure` says why.
    case failed
}

/// Everything the data path keeps per peer; a plain value in a flat table, addressed by index.
struct Link {
    var fd: Int32 = -1
    var state: LinkState = .none
    var sendBuffer: UnsafeMutableRawPointer? = nil
    var sendStart = 0
    var sendEnd = 0
    var receiveBuffer: UnsafeMutableRawPointer? = nil
    var receiveStart = 0
    var receiveScan = 0
    var receiveEnd = 0
    /// Sequence number of the last frame sent and received (`FrameHeader.flag` on the wire).
    var sendSequence: UInt32 = 0
    var receiveSequence: UInt32 = 0
    /// In `writers` (unsent bytes wait for the kernel).
    var isWriter = false

    // The streamed send in progress (TCPTransport+Streamed.swift); none when `streamOutLeft` is 0.
    /// The caller's payload bytes not yet taken by the kernel, and how many.
    var streamOutPayload: UnsafeRawPointer? = nil
    var streamOutLeft = 0
    /// Offset in the send buffer where the payload goes on the wire (just after its header),
    /// and where the buffered bytes go on after it (its padding first).
    var streamOutAt = 0
    var streamOutResume = 0

    // The streamed receive in progress (TCPTransport+Streamed.swift).
    var streamIn: StreamInPhase = .none
    /// Where the payload's next bytes go (nil: dropped), and how many payload and padding bytes
    /// are still to come off the socket.
    var streamInDestination: UnsafeMutableRawPointer? = nil
    var streamInPayloadLeft = 0
    var streamInPaddingLeft = 0
    /// The streamed frame's payload bytes, for `receiveStreamed`'s check and messages.
    var streamInLength = 0
}

/// Frames to and from peers on other nodes, over TCP.
///
/// Connection rule: one connection per pair; the process with the LOWER index connects to the
/// one with the HIGHER index, which accepts. Every connection opens with the connector's
/// handshake (the job's cookie and both indices), which the acceptor checks before it answers.
/// - Note: not thread-safe: one caller at a time (the runtime's progress lock).
public final class TCPTransport: FrameTransport {
    /// This process's index among the peers.
    public let index: Int
    /// This node's name, for messages.
    public let hostName: String
    public let options: TCPTransportOptions
    @usableFromInline @exclusivity(unchecked) var _peerCount: Int
    /// Peers this transport numbers (indices `0..<peerCount`; `index` is this process).
    @inlinable public var peerCount: Int { _peerCount }

    private(set) var cookie: [UInt8]
    @exclusivity(unchecked) let maxInline: Int
    @exclusivity(unchecked) let maxFrame: Int
    @exclusivity(unchecked) let sendCapacity: Int
    @exclusivity(unchecked) let receiveCapacity: Int

    /// links[peer]
    @exclusivity(unchecked) var links: UnsafeMutablePointer<Link>
    /// Connected peers, in the order they connected: what `poll` reads.
    @exclusivity(unchecked) var active: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) var activeCount = 0
    /// Peers with unsent bytes: what `poll` flushes.
    @exclusivity(unchecked) var writers: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) var writerCount = 0
    /// Polls left before the next look at the listeners and half-open connections.
    @exclusivity(unchecked) var slowCountdown = 0
    /// Up to this many connections, `poll` reads each socket directly (one recv each); above,
    /// it asks epoll which ones have data. Measured (release, one thread, two transports over
    /// loopback, 8-byte payloads, busy poll): 4.87 us one-way (round trip / 2, median of 200k)
    /// against 4.57 us for a plain C busy-polling recv/send ping-pong on the same machine.
    static let directPollLimit = 4
    /// Polls between two looks at the listeners when nothing signals them.
    static let slowPathPeriod = 128

    /// The epoll instance: listeners, half-open and connected sockets.
    let epollFD: Int32
    @exclusivity(unchecked) var readyTags: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) var readyEvents: UnsafeMutablePointer<UInt32>
    static let readyMax = 64

    // Slow-path state (TCPTransport+Setup.swift).
    /// The local addresses chosen (FERRY_TCP_IF), and one listener on each.
    let interfaces: [LocalInterface]
    var listeners: [(fd: Int32, endpoint: IPv4Endpoint)]
    var peerHosts: [String]
    var peerEndpoints: [[IPv4Endpoint]]
    /// The address each connected peer's connection goes to or comes from, for messages.
    var peerAddress: [IPv4Endpoint?]
    var inbound: [Inbound] = []
    var setup: Setup? = nil
    var refusalCount = 0
    /// The refusals logged so far (the first 16), for tests and diagnostics.
    public internal(set) var refusals: [String] = []
    var isClosed = false

    /// Set when a connection to a peer was lost (EOF, reset, error) or carried malformed data:
    /// names the peer's index and host and the address. The first failure is kept.
    public internal(set) var failure: MPIError?

    /// Opens a listening socket on each chosen interface (ephemeral ports). `index` is this
    /// process's index among `peerCount` peers; `cookie` is the job's secret (16 to 64 bytes);
    /// `hostName` names this node in messages.
    public init(index: Int, peerCount: Int, cookie: [UInt8], hostName: String,
                options: TCPTransportOptions) throws(MPIError) {
        guard peerCount >= 1, index >= 0, index < peerCount, peerCount <= Int(Int32.max) else {
            throw MPIError(.arg, "TCP transport: index \(index) is not within \(peerCount) peers")
        }
        guard (Handshake.minCookieBytes...Handshake.maxCookieBytes).contains(cookie.count) else {
            throw MPIError(.arg, "TCP transport: the job cookie has \(cookie.count) bytes, expected 16 to 64")
        }
        try options.validate()
        // Everything that can fail happens before the stored properties are set, so a throw
        // leaves nothing open and no deinit runs on a half-made object.
        let chosen = try chooseInterfaces(options.interfaces, among: try LocalInterface.all())
        let ep = ferry_tcp_epoll_create()
        if ep < 0 { throw MPIError(.other, "TCP transport: epoll_create1: \(errnoText(-ep))") }
        var opened: [(fd: Int32, endpoint: IPv4Endpoint)] = []
        func abandon() { for l in opened { Glibc.close(l.fd) }; Glibc.close(ep) }
        for i in chosen {
            switch listenOn(i.address) {
            case .success(let l):
                opened.append(l)
                _ = ferry_tcp_epoll_add(ep, l.fd, ferry_tcp_epollin, Tag.listener(opened.count - 1))
            case .failure(let e):
                abandon()
                throw MPIError(.other, "rank \(index) (host \(hostName)): cannot listen on \(i.address) (\(i.name)): \(e)")
            }
        }
        if BusinessCard.format(opened.map(\.endpoint)).utf8.count >= BusinessCard.maxBytes {
            abandon()
            throw MPIError(.other, "rank \(index) (host \(hostName)): \(opened.count) addresses do not fit a business card; choose fewer with FERRY_TCP_IF")
        }
        self.index = index
        self.hostName = hostName
        self.options = options
        self.cookie = cookie
        _peerCount = peerCount
        maxInline = options.maxInlinePayload
        maxFrame = options.maxFrameBytes
        sendCapacity = options.sendBufferBytes
        // A multiple of 8, so a streamed frame's region rounded up to 8 stays inside it.
        receiveCapacity = options.receiveBufferBytes & ~7
        interfaces = chosen
        epollFD = ep
        listeners = opened
        peerHosts = Array(repeating: "", count: peerCount)
        peerEndpoints = Array(repeating: [], count: peerCount)
        peerAddress = Array(repeating: nil, count: peerCount)
        links = .allocate(capacity: peerCount)
        links.initialize(repeating: Link(), count: peerCount)
        active = .allocate(capacity: peerCount)
        writers = .allocate(capacity: peerCount)
        readyTags = .allocate(capacity: Self.readyMax)
        readyEvents = .allocate(capacity: Self.readyMax)
    }

    deinit {
        close()
        links.deinitialize(count: _peerCount)
        links.deallocate()
        active.deallocate()
        writers.deallocate()
        readyTags.deallocate()
        readyEvents.deallocate()
    }

    /// This process's business card: "v1;" and every address:port it listens on, comma-
    /// separated (printable ASCII, no spaces, no '=', under 1000 bytes: a PMI value).
    public var businessCard: String { BusinessCard.format(listeners.map(\.endpoint)) }

    /// The addresses this process listens on.
    public var listeningAddresses: [String] { listeners.map(\.endpoint.description) }

    /// Frames of at most `options.maxInlinePayload` payload bytes, copied through the kernel
    /// (streamed frames, `publishStreamed`, carry up to `options.maxStreamedPayload`).
    public var capabilities: TransportCapabilities {
        TransportCapabilities(maxInlinePayload: maxInline, singleCopy: false, ordered: true, sharesMemory: false)
    }

    /// Frames of the maximum size the send buffer holds (frames are freed as soon as the
    /// kernel takes them, so more may be in flight).
    public func frameCapacity(ofPeer peer: Int) -> Int { max(1, sendCapacity / maxFrame) }

    /// Whether `peer` is connected (and has not failed).
    public func isConnected(_ peer: Int) -> Bool { links[peer].state == .connected }

    /// Bytes received from `peer` and not yet released (bounded by `receiveBufferBytes`).
    public func bufferedBytes(from peer: Int) -> Int { links[peer].receiveEnd - links[peer].receiveStart }

    /// Bytes published to `peer` that the kernel has not taken yet (bounded by `sendBufferBytes`),
    /// not counting a streamed payload (`streamedBytesPending(to:)`).
    public func unsentBytes(to peer: Int) -> Int { links[peer].sendEnd - links[peer].sendStart }

    // MARK: sending side

    /// Room at the end of the send buffer for one maximum frame, or nil ("no resource": the
    /// peer is not connected, or `sendBufferBytes` would be exceeded).
    @inline(__always)
    public func reserve(to peer: Int) -> UnsafeMutablePointer<FrameHeader>? {
        let l = links + peer
        guard l.pointee.state == .connected else { return nil }
        var end = l.pointee.sendEnd
        if end &+ maxFrame > sendCapacity {
            // Rare (the kernel's buffer is full): unsent bytes move to the front.
            guard compactSendBuffer(l, room: maxFrame) else { return nil }
            end = l.pointee.sendEnd
        }
        return (l.pointee.sendBuffer! + end).assumingMemoryBound(to: FrameHeader.self)
    }

    /// Moves `l`'s unsent bytes towards the front of its send buffer so that `room` bytes fit
    /// after them; false if even that leaves too little room. The move keeps offsets modulo 8
    /// (frame headers stay 8-aligned after a partial send) and shifts a streamed send's marks.
    func compactSendBuffer(_ l: UnsafeMutablePointer<Link>, room: Int) -> Bool {
        let start = l.pointee.sendStart
        let pending = l.pointee.sendEnd &- start
        let to = start & 7
        guard start > to, to &+ pending &+ room <= sendCapacity else { return false }
        let base = l.pointee.sendBuffer!
        base.advanced(by: to).copyMemory(from: base + start, byteCount: pending)
        let shift = start &- to
        l.pointee.sendStart = to
        l.pointee.sendEnd = to &+ pending
        if l.pointee.streamOutLeft != 0 {
            l.pointee.streamOutAt &-= shift
            l.pointee.streamOutResume &-= shift
        }
        return true
    }

    /// True if `frames` maximum frames (at most `frameCapacity`) fit in `peer`'s send buffer.
    @inline(__always)
    public func hasRoom(to peer: Int, frames: Int) -> Bool {
        let l = links + peer
        guard l.pointee.state == .connected else { return false }
        let n = min(max(frames, 1), frameCapacity(ofPeer: peer))
        return l.pointee.sendEnd &- l.pointee.sendStart &+ n &* maxFrame <= sendCapacity
    }

    /// Queues the frame the last `reserve(to:)` returned (header and `length` payload bytes,
    /// padded to 8) and sends what the kernel takes now.
    @inline(__always)
    public func publish(to peer: Int, _ frame: UnsafeMutablePointer<FrameHeader>) {
        let l = links + peer
        guard l.pointee.state == .connected else { return }   // lost since reserve: dropped
        let length = Int(frame.pointee.length)
        precondition(UnsafeMutableRawPointer(frame) == l.pointee.sendBuffer! + l.pointee.sendEnd
                     && length <= maxInline, "TCP transport: publish of a frame that is not the one reserved, or too long")
        let padded = (length &+ 7) & ~7
        if padded != length {
            (framePayload(frame) + length).initializeMemory(as: UInt8.self, repeating: 0, count: padded &- length)
        }
        l.pointee.sendSequence &+= 1
        frame.pointee.flag = l.pointee.sendSequence
        l.pointee.sendEnd &+= frameHeaderBytes &+ padded
        _ = flush(peer)
    }

    /// One nonblocking send of `peer`'s unsent bytes. True if any byte left.
    @inline(__always)
    func flush(_ peer: Int) -> Bool {
        let l = links + peer
        if l.pointee.streamOutLeft != 0 { return flushStreamed(peer) }
        let start = l.pointee.sendStart
        let pending = l.pointee.sendEnd &- start
        guard pending > 0 else { return false }
        let n = send(l.pointee.fd, l.pointee.sendBuffer! + start, pending, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        if n > 0 {
            if n == pending {
                l.pointee.sendStart = 0
                l.pointee.sendEnd = 0
                if l.pointee.isWriter { removeWriter(peer) }
            } else {
                l.pointee.sendStart = start &+ n
                if !l.pointee.isWriter { addWriter(peer) }
            }
            return true
        }
        let e = errno
        if e == EAGAIN || e == EWOULDBLOCK || e == EINTR {
            if !l.pointee.isWriter { addWriter(peer) }
            return false
        }
        fail(peer, "send: \(errnoText(e))")
        return true
    }

    /// One send to every peer with unsent bytes. True if any byte left.
    func flushWriters() -> Bool {
        var moved = false
        var i = 0
        while i < writerCount {
            let before = writerCount
            if flush(Int(writers[i])) { moved = true }
            if writerCount == before { i += 1 }   // else the entry at i was replaced: look again
        }
        return moved
    }

    func addWriter(_ peer: Int) {
        links[peer].isWriter = true
        writers[writerCount] = Int32(peer)
        writerCount += 1
    }

    func removeWriter(_ peer: Int) {
        links[peer].isWriter = false
        for i in 0..<writerCount where writers[i] == Int32(peer) {
            writerCount -= 1
            writers[i] = writers[writerCount]
            return
        }
    }

    // MARK: receiving side

    /// The oldest complete frame from `peer` not yet released, or nil. Does no I/O: `poll`
    /// reads.
    @inline(__always)
    public func peek(from peer: Int) -> UnsafeMutablePointer<FrameHeader>? {
        let l = links + peer
        let start = l.pointee.receiveStart
        guard start != l.pointee.receiveScan else { return nil }
        return (l.pointee.receiveBuffer! + start).assumingMemoryBound(to: FrameHeader.self)
    }

    /// Gives back the frame `peek(from:)` returned: its bytes become room for reading.
    @inline(__always)
    public func release(from peer: Int, _ frame: UnsafeMutablePointer<FrameHeader>) {
        let l = links + peer
        let start = l.pointee.receiveStart
        precondition(start != l.pointee.receiveScan && UnsafeMutableRawPointer(frame) == l.pointee.receiveBuffer! + start,
                     "TCP transport: release of a frame that is not the oldest received")
        var size = Int(frame.pointee.flag)   // the size, written by `scan`
        if size & Int(Self.streamedFlag) != 0 { size = streamedFrameSize(peer, at: start, size) }
        let next = start &+ size
        if next == l.pointee.receiveEnd {
            l.pointee.receiveStart = 0
            l.pointee.receiveScan = 0
            l.pointee.receiveEnd = 0
        } else {
            l.pointee.receiveStart = next
        }
    }

    /// One read from `peer`'s socket into the room of its receive buffer. True if anything
    /// happened (bytes, or the connection's loss).
    @inline(__always)
    func receive(_ peer: Int) -> Bool {
        let l = links + peer
        if l.pointee.streamIn == .direct { return receiveDirect(peer) }
        let base = l.pointee.receiveBuffer!
        var end = l.pointee.receiveEnd
        let scanned = l.pointee.receiveScan
        if scanned == l.pointee.receiveStart && scanned > 0 && scanned &+ maxFrame > receiveCapacity {
            // No complete frame is held, and the partial one might not fit: move it (less
            // than one frame) to the front.
            base.copyMemory(from: base + scanned, byteCount: end &- scanned)
            end &-= scanned
            l.pointee.receiveStart = 0
            l.pointee.receiveScan = 0
            l.pointee.receiveEnd = end
        }
        let room = receiveCapacity &- end
        guard room > 0 else { return false }   // flow control: wait for releases
        let n = recv(l.pointee.fd, base + end, room, Int32(MSG_DONTWAIT))
        if n > 0 {
            l.pointee.receiveEnd = end &+ n
            scan(peer)
            return true
        }
        if n == 0 {
            fail(peer, "the peer closed the connection")
            return true
        }
        let e = errno
        if e == EAGAIN || e == EWOULDBLOCK || e == EINTR { return false }
        fail(peer, "recv: \(errnoText(e))")
        return true
    }

    /// Checks the frames completed by the last read and makes them visible to `peek`.
    @inline(__always)
    func scan(_ peer: Int) {
        let l = links + peer
        // Bytes after a streamed frame's header are its payload, not frames.
        guard l.pointee.streamIn == .none else { return }
        let base = l.pointee.receiveBuffer!
        let end = l.pointee.receiveEnd
        var at = l.pointee.receiveScan
        var sequence = l.pointee.receiveSequence
        while end &- at >= frameHeaderBytes {
            let h = (base + at).assumingMemoryBound(to: FrameHeader.self)
            let length = Int(h.pointee.length)
            if length > maxInline || FrameKind(rawValue: h.pointee.kind) == nil || h.pointee.flag != sequence &+ 1 {
                l.pointee.receiveScan = at
                l.pointee.receiveSequence = sequence
                if !acceptStreamedHeader(peer, h) { malformed(peer, h.pointee) }
                return
            }
            let size = frameHeaderBytes &+ ((length &+ 7) & ~7)
            if end &- at < size { break }
            sequence &+= 1
            h.pointee.flag = UInt32(size)
            at &+= size
        }
        l.pointee.receiveScan = at
        l.pointee.receiveSequence = sequence
    }

    private func malformed(_ peer: Int, _ h: FrameHeader) {
        let why: String
        let streamed = h.flag == ~(links[peer].receiveSequence &+ 1)
        if streamed && FrameKind(rawValue: h.kind) != nil {
            why = "malformed data: a streamed frame of \(h.length) payload bytes, above the maximum \(options.maxStreamedPayload)"
        } else if streamed {
            why = "malformed data: unknown frame kind \(h.kind)"
        } else if Int(h.length) > maxInline {
            why = "malformed data: a frame of \(h.length) payload bytes, above the maximum \(maxInline)"
        } else if FrameKind(rawValue: h.kind) == nil {
            why = "malformed data: unknown frame kind \(h.kind)"
        } else {
            why = "malformed data: frame sequence number \(h.flag), expected \(links[peer].receiveSequence &+ 1)"
        }
        fail(peer, why)
    }

    // MARK: progress

    /// One round of I/O on every connection: flushes unsent bytes, reads what has arrived (as
    /// much as each receive buffer has room for), and now and then accepts and refuses late
    /// connections. Never blocks. True if any byte moved. A lost connection sets `failure`.
    @discardableResult
    public func poll() -> Bool {
        var moved = writerCount > 0 && flushWriters()
        var i = 0
        slowCountdown &-= 1
        if activeCount <= Self.directPollLimit {
            // Few connections: one recv each costs less than epoll_wait plus the recv.
            i = 0
            while i < activeCount {
                let before = activeCount
                if receive(Int(active[i])) { moved = true }
                if activeCount == before { i += 1 }
            }
        } else {
            let n = ferry_tcp_epoll_wait(epollFD, readyTags, readyEvents, Int32(Self.readyMax), 0)
            for k in 0..<max(0, Int(n)) {
                let tag = readyTags[k]
                if tag >> 32 == Tag.peerKind {
                    let p = Int(tag & 0xFFFF_FFFF)
                    if links[p].state == .connected && receive(p) { moved = true }
                } else {
                    slowCountdown = 0
                }
            }
        }
        if slowCountdown <= 0 {
            slowCountdown = Self.slowPathPeriod
            if serviceListeners() { moved = true }
        }
        return moved
    }

    /// An epoll descriptor that becomes readable when a connection has data or a listener has
    /// a connection: for waits that block.
    public var waitFD: Int32 { epollFD }

    /// Blocks up to `timeoutMilliseconds` until something arrives, or returns at once if a
    /// complete frame is already buffered (other than a streamed frame's header whose payload is
    /// being received). Unsent bytes and streamed payloads keep going out meanwhile (their
    /// sockets' writability wakes the wait too); a streamed payload's bytes arriving wake it.
    public func wait(timeoutMilliseconds: Int32) {
        guard !isClosed else { return }
        for k in 0..<activeCount {
            let l = links[Int(active[k])]
            if l.receiveStart != l.receiveScan && l.streamIn != .direct { return }
        }
        _ = flushWriters()
        let watched = (0..<writerCount).map { Int(writers[$0]) }
        for p in watched {
            _ = ferry_tcp_epoll_modify(epollFD, links[p].fd, ferry_tcp_epollin | ferry_tcp_epollout, Tag.peer(p))
        }
        let n = ferry_tcp_epoll_wait(epollFD, readyTags, readyEvents, Int32(Self.readyMax), timeoutMilliseconds)
        if n > 0 { slowCountdown = 0 }   // a listener may be among them: the next poll looks
        for p in watched where links[p].state == .connected {
            _ = ferry_tcp_epoll_modify(epollFD, links[p].fd, ferry_tcp_epollin, Tag.peer(p))
        }
    }

    /// Marks `peer` lost: closes its socket, keeps the frames already complete for `peek`, and
    /// sets `failure` if it is the first.
    func fail(_ peer: Int, _ why: String) {
        let l = links + peer
        guard l.pointee.state == .connected else { return }
        if failure == nil {
            failure = MPIError(.other, "rank \(index) (host \(hostName)): connection to rank \(peer) (host \(peerHostName(peer))\(peerAddress[peer].map { ", \($0)" } ?? "")) failed: \(why)")
        }
        l.pointee.state = .failed
        Glibc.close(l.pointee.fd)   // also leaves the epoll set
        l.pointee.fd = -1
        if l.pointee.isWriter { removeWriter(peer) }
        l.pointee.sendStart = 0
        l.pointee.sendEnd = 0
        // The caller's streamed payload is no longer read: it may reuse its buffer. A streamed
        // receive stays unfinished (`streamedBytesRemaining` > 0); its header stays for `peek`.
        l.pointee.streamOutPayload = nil
        l.pointee.streamOutLeft = 0
        for i in 0..<activeCount where active[i] == Int32(peer) {
            activeCount -= 1
            // Keep the order of the others (a swap would skip one in `poll`'s loop).
            var j = i
            while j < activeCount { active[j] = active[j + 1]; j += 1 }
            break
        }
    }

    func peerHostName(_ peer: Int) -> String {
        peerHosts.indices.contains(peer) && !peerHosts[peer].isEmpty ? peerHosts[peer] : "unknown"
    }

    /// Sends what is still queued, streamed payloads included (waiting at most `min(5 s,
    /// connectTimeoutSeconds)` in all), then closes every socket and frees the buffers. Idempotent; the transport is unusable after.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        let deadline = monotonicSeconds() + min(5, options.connectTimeoutSeconds)
        while writerCount > 0 && monotonicSeconds() < deadline {
            _ = flushWriters()
            if writerCount > 0 {
                var fds = (0..<writerCount).map { pollfd(fd: links[Int(writers[$0])].fd, events: Int16(POLLOUT), revents: 0) }
                _ = Glibc.poll(&fds, nfds_t(fds.count), 10)
            }
        }
        for p in 0..<_peerCount {
            let l = links + p
            if l.pointee.fd >= 0 {
                // FIN after the queued bytes, then drain what the peer sent, so the close does
                // not reset the connection (which could discard data the peer has not read).
                // (Dropped with MSG_TRUNC: no copy, however much a streamed payload left there.)
                shutdown(l.pointee.fd, Int32(SHUT_WR))
                while ferry_tcp_discard(l.pointee.fd, 1 << 30) > 0 {}
                Glibc.close(l.pointee.fd)
                l.pointee.fd = -1
            }
            if l.pointee.state == .connected { l.pointee.state = .failed }
            l.pointee.sendBuffer?.deallocate()
            l.pointee.receiveBuffer?.deallocate()
            l.pointee.sendBuffer = nil
            l.pointee.receiveBuffer = nil
            l.pointee.sendStart = 0; l.pointee.sendEnd = 0
            l.pointee.receiveStart = 0; l.pointee.receiveScan = 0; l.pointee.receiveEnd = 0
            l.pointee.resetStreams()
        }
        activeCount = 0
        writerCount = 0
        closeAll()
    }

    /// Closes the listeners, half-open connections, connection attempts and the epoll fd.
    func closeAll() {
        for l in listeners { Glibc.close(l.fd) }
        listeners.removeAll()
        for c in inbound { Glibc.close(c.fd) }
        inbound.removeAll()
        setup?.closeAttempts()
        setup = nil
        if epollFD >= 0 { Glibc.close(epollFD) }
    }
}

/// epoll tags: kind in the high 32 bits, an index in the low ones.
enum Tag {
    static let listenerKind: UInt64 = 1
    static let inboundKind: UInt64 = 2
    static let peerKind: UInt64 = 3
    static func listener(_ i: Int) -> UInt64 { listenerKind << 32 | UInt64(i) }
    static func inbound(fd: Int32) -> UInt64 { inboundKind << 32 | UInt64(UInt32(fd)) }
    static func peer(_ p: Int) -> UInt64 { peerKind << 32 | UInt64(p) }
}

extension TCPTransport {
    /// Replaces the job's cookie before `establish()`: a job whose cookie one of its processes
    /// chooses (under a foreign launcher) learns it only after its listener exists.
    /// - Precondition: 16 to 64 bytes; no connection made yet.
    public func setCookie(_ cookie: [UInt8]) {
        precondition((Handshake.minCookieBytes...Handshake.maxCookieBytes).contains(cookie.count),
                     "TCP transport: a cookie of \(cookie.count) bytes")
        self.cookie = cookie
    }
}
