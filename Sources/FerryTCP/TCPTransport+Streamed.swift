// Streamed frames of the TCP transport: the zero-copy path of large messages (rendezvous data).
// A streamed frame is a header whose payload is read by the kernel straight from the sender's
// memory and written by the kernel straight into the receiver's memory: it never passes through
// the per-peer buffers of TCPTransport.swift, which only branches here (a flush, a read, a
// release and a scan each test one word of the link). The runtime's protocol layer calls
// `publishStreamed` / `streamedBytesPending` on the sending side and `isStreamed` /
// `receiveStreamed` / `streamedBytesRemaining` on the receiving side.
//
// On the wire a streamed frame is a frame like any other (64-byte header, `length` payload bytes,
// zeros up to a multiple of 8), except that its `flag` is the bitwise complement of its sequence
// number: `~n` can never equal `n`, so copy frames are checked exactly as before and only a frame
// failing that check is looked at twice. Its `length` may exceed `maxInlinePayload`, up to
// `options.maxStreamedPayload` (at most 2^32 - 1: the header's `length` is 32 bits); a larger
// one is malformed data.
//
// Sending: the header and the padding go into the send buffer, with a gap between them where
// the payload goes on the wire: [sendStart, streamOutAt) is sent, then the caller's payload, then
// [streamOutResume, sendEnd) (the padding, then frames published later). One sendmsg carries the
// three runs; frames published during the stream wait behind the payload, so order is kept. The
// padding sits in the last bytes of an 8-byte slot after the header, so later frames stay 8-aligned
// in the buffer. At most one streamed send per peer is in progress.
//
// Receiving: `scan` stops at a streamed header and shows it to `peek` (its `flag` carries
// `streamedFlag`); bytes after it stay unscanned while the caller decides. `receiveStreamed`
// copies the part of the payload already in the receive buffer to the destination once, then
// `poll` recv()s the rest straight into the destination (never more than the payload: the bytes
// of later frames stay in the socket) and drops the padding with MSG_TRUNC. When the payload is
// complete, the header's region in the buffer covers what the payload used there (rounded up to
// 8, so the next frame starts aligned), and frames after it become visible to `peek`.
//
// - Note: not thread-safe, like the rest of the transport.
import FerryCore
import FerryTransport
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// Where the receiving side of a link stands with a streamed frame.
enum StreamInPhase: UInt8 {
    case none
    /// The streamed frame's header is visible to `peek`; the bytes after it in the receive
    /// buffer are its payload. Waits for `receiveStreamed`.
    case awaitingDestination
    /// The rest of the payload goes from the socket straight to the destination (or is dropped).
    case direct
}

extension Link {
    /// No streamed frame in progress either way (a new or closed connection).
    mutating func resetStreams() {
        streamOutPayload = nil
        streamOutLeft = 0
        streamOutAt = 0
        streamOutResume = 0
        streamIn = .none
        streamInDestination = nil
        streamInPayloadLeft = 0
        streamInPaddingLeft = 0
        streamInLength = 0
    }
}

extension TCPTransport {
    /// Marks a streamed frame in the `flag` word of a frame `peek(from:)` returned: the payload is
    /// not in the buffer, `receiveStreamed(from:into:bytes:)` brings it. (The rest of the word is
    /// the transport's own: the frame's size in the receive buffer, a multiple of 8.)
    public static let streamedFlag: UInt32 = 1

    /// Whether `frame`, returned by `peek(from:)`, is a streamed frame.
    @inline(__always)
    public func isStreamed(_ frame: UnsafeMutablePointer<FrameHeader>) -> Bool {
        frame.pointee.flag & Self.streamedFlag != 0
    }

    // MARK: sending side

    /// Sends `header` (its `length` field must equal `bytes`; the transport sets `flag`) followed
    /// by `bytes` bytes read straight from `payload` (caller's memory: not copied; must stay
    /// valid and unchanged until `streamedBytesPending(to:)` is 0). Frames reserved and published
    /// after this call are sent after these bytes. At most one streamed send in progress per
    /// peer: returns false (nothing queued) if one is still pending, if there is no room in the
    /// send buffer for the header (72 bytes), or if `peer` is not connected.
    /// - Precondition: `bytes` from 0 to `options.maxStreamedPayload` (at most 2^32 - 1); not
    ///   between a `reserve(to:)` and its `publish`.
    public func publishStreamed(to peer: Int, header: FrameHeader, payload: UnsafeRawPointer, bytes: Int) -> Bool {
        let l = links + peer
        guard l.pointee.state == .connected, l.pointee.streamOutLeft == 0 else { return false }
        precondition(bytes >= 0 && bytes <= options.maxStreamedPayload && Int(header.length) == bytes,
                     "TCP transport: a streamed frame of \(bytes) bytes (header length \(header.length), maximum \(options.maxStreamedPayload))")
        let padding = (8 &- bytes & 7) & 7
        let slot = padding == 0 ? 0 : 8
        if l.pointee.sendEnd &+ frameHeaderBytes &+ slot > sendCapacity
            && !compactSendBuffer(l, room: frameHeaderBytes &+ slot) {
            return false
        }
        let base = l.pointee.sendBuffer!
        let at = l.pointee.sendEnd
        let h = (base + at).assumingMemoryBound(to: FrameHeader.self)
        h.pointee = header
        l.pointee.sendSequence &+= 1
        h.pointee.flag = ~l.pointee.sendSequence
        let gap = at &+ frameHeaderBytes
        l.pointee.sendEnd = gap &+ slot
        if bytes > 0 {
            (base + (gap &+ slot &- padding)).initializeMemory(as: UInt8.self, repeating: 0, count: padding)
            l.pointee.streamOutPayload = payload
            l.pointee.streamOutLeft = bytes
            l.pointee.streamOutAt = gap
            l.pointee.streamOutResume = gap &+ slot &- padding
        }
        _ = flush(peer)
        return true
    }

    /// Bytes of the current streamed send to `peer` not yet handed to the kernel (0: done, the
    /// caller may reuse its buffer; also 0 once the peer is lost, see `failure`).
    public func streamedBytesPending(to peer: Int) -> Int { links[peer].streamOutLeft }

    /// `flush` during a streamed send: one sendmsg of the buffered bytes before the payload, the
    /// payload, and the buffered bytes after it. True if any byte left.
    func flushStreamed(_ peer: Int) -> Bool {
        let l = links + peer
        let base = l.pointee.sendBuffer!
        let start = l.pointee.sendStart, at = l.pointee.streamOutAt
        let resume = l.pointee.streamOutResume, end = l.pointee.sendEnd
        let left = l.pointee.streamOutLeft
        let n = ferry_tcp_send3(l.pointee.fd, base + start, at &- start, l.pointee.streamOutPayload, left,
                                base + resume, end &- resume)
        guard n > 0 else {
            let e = Int32(-n)
            if n == 0 || e == EAGAIN || e == EWOULDBLOCK || e == EINTR {
                if !l.pointee.isWriter { addWriter(peer) }
                return false
            }
            fail(peer, "send: \(errnoText(e)) (in the middle of a streamed payload, \(left) bytes not sent)")
            return true
        }
        var rest = n
        if rest < at &- start {
            l.pointee.sendStart = start &+ rest
        } else {
            rest &-= at &- start
            l.pointee.sendStart = at
            if rest < left {
                l.pointee.streamOutPayload! += rest
                l.pointee.streamOutLeft = left &- rest
            } else {
                // The payload is out: what follows is plain buffered bytes again.
                l.pointee.streamOutPayload = nil
                l.pointee.streamOutLeft = 0
                l.pointee.sendStart = resume &+ (rest &- left)
                if l.pointee.sendStart == end {
                    l.pointee.sendStart = 0
                    l.pointee.sendEnd = 0
                    if l.pointee.isWriter { removeWriter(peer) }
                    return true
                }
            }
        }
        if !l.pointee.isWriter { addWriter(peer) }
        return true
    }

    // MARK: receiving side

    /// Called by `scan` on a header that failed the copy-frame checks: if it is a valid streamed
    /// header, shows it to `peek` (scanning stops after it) and returns true.
    func acceptStreamedHeader(_ peer: Int, _ h: UnsafeMutablePointer<FrameHeader>) -> Bool {
        let l = links + peer
        let length = Int(h.pointee.length)
        guard h.pointee.flag == ~(l.pointee.receiveSequence &+ 1), FrameKind(rawValue: h.pointee.kind) != nil,
              length <= options.maxStreamedPayload else { return false }
        l.pointee.receiveSequence &+= 1
        l.pointee.receiveScan &+= frameHeaderBytes
        h.pointee.flag = UInt32(frameHeaderBytes) | Self.streamedFlag
        l.pointee.streamIn = .awaitingDestination
        l.pointee.streamInLength = length
        l.pointee.streamInPayloadLeft = length
        l.pointee.streamInPaddingLeft = (8 &- length & 7) & 7
        return true
    }

    /// Receives the payload of the streamed frame `peek(from:)` returned (the oldest frame from
    /// `peer`) into `destination` (nil: the bytes are dropped). `bytes` must equal the header's
    /// `length`. The part already in the receive buffer is copied at once; `poll` reads the rest
    /// straight into `destination`, which must stay valid until `streamedBytesRemaining(from:)`
    /// is 0. Frames after this one become visible to `peek` once the payload is complete. The
    /// header stays valid until `release`, which may come before or after completion.
    /// - Precondition: called once, before the header's `release`.
    public func receiveStreamed(from peer: Int, into destination: UnsafeMutableRawPointer?, bytes: Int) {
        let l = links + peer
        let header = l.pointee.receiveScan &- frameHeaderBytes
        precondition(l.pointee.streamIn == .awaitingDestination && l.pointee.receiveStart == header,
                     "TCP transport: receiveStreamed without a streamed frame at the head of peer \(peer)'s frames")
        precondition(bytes == l.pointee.streamInLength,
                     "TCP transport: receiveStreamed of \(bytes) bytes for a streamed frame of \(l.pointee.streamInLength)")
        let base = l.pointee.receiveBuffer!
        let padding = l.pointee.streamInPaddingLeft
        let buffered = min(l.pointee.receiveEnd &- l.pointee.receiveScan, bytes &+ padding)
        let copied = min(buffered, bytes)
        if let d = destination, copied > 0 { d.copyMemory(from: base + l.pointee.receiveScan, byteCount: copied) }
        // The header's region: itself and what the payload used in the buffer, rounded up to 8
        // (inside the buffer: its capacity is a multiple of 8). If the payload goes on past the
        // buffered bytes, nothing else is buffered, and reading resumes at that aligned end.
        let size = frameHeaderBytes &+ (buffered &+ 7) & ~7
        (base + header).assumingMemoryBound(to: FrameHeader.self).pointee.flag = UInt32(size) | Self.streamedFlag
        l.pointee.receiveScan = header &+ size
        if l.pointee.receiveEnd < header &+ size { l.pointee.receiveEnd = header &+ size }
        l.pointee.streamInPayloadLeft = bytes &- copied
        l.pointee.streamInPaddingLeft = padding &- (buffered &- copied)
        l.pointee.streamInDestination = destination.map { $0 + copied }
        if l.pointee.streamInPayloadLeft == 0 && l.pointee.streamInPaddingLeft == 0 {
            finishStreamIn(l)
            scan(peer)   // frames already buffered after the payload
        } else {
            l.pointee.streamIn = .direct
        }
    }

    /// Bytes of the payload of the last `receiveStreamed(from: peer, ...)` not yet in its
    /// destination (0: the payload is completely there). Stays above 0 if the peer is lost
    /// before the end (see `failure`). (A next streamed header, already visible to `peek` once
    /// this payload is complete, does not count until its own `receiveStreamed`.)
    public func streamedBytesRemaining(from peer: Int) -> Int {
        links[peer].streamIn == .direct ? links[peer].streamInPayloadLeft : 0
    }

    /// `receive` while a streamed payload comes straight off the socket: one recv into the
    /// destination (at most the payload's rest), the padding dropped, then the buffered path
    /// again for the frames after it. True if anything happened.
    func receiveDirect(_ peer: Int) -> Bool {
        let l = links + peer
        let fd = l.pointee.fd
        let payloadLeft = l.pointee.streamInPayloadLeft
        if payloadLeft > 0 {
            let n: Int
            if let d = l.pointee.streamInDestination {
                let r = recv(fd, d, payloadLeft, Int32(MSG_DONTWAIT))
                n = r < 0 ? -Int(errno) : r
            } else {
                n = ferry_tcp_discard(fd, payloadLeft)
            }
            guard n > 0 else { return streamReadFailed(peer, n) }
            l.pointee.streamInPayloadLeft = payloadLeft &- n
            if let d = l.pointee.streamInDestination { l.pointee.streamInDestination = d + n }
            if n < payloadLeft { return true }
        }
        let paddingLeft = l.pointee.streamInPaddingLeft
        if paddingLeft > 0 {
            let n = ferry_tcp_discard(fd, paddingLeft)
            guard n > 0 else { return streamReadFailed(peer, n) || payloadLeft > 0 }
            l.pointee.streamInPaddingLeft = paddingLeft &- n
            if n < paddingLeft { return true }
        }
        finishStreamIn(l)
        _ = receive(peer)
        return true
    }

    /// A direct read that returned `n` <= 0 (0: end of stream, else -errno): the peer's loss
    /// (true), or nothing to read yet (false).
    private func streamReadFailed(_ peer: Int, _ n: Int) -> Bool {
        let l = links + peer
        let got = l.pointee.streamInLength &- l.pointee.streamInPayloadLeft
        let context = "in the middle of a streamed payload (\(got) of \(l.pointee.streamInLength) bytes received)"
        if n == 0 {
            fail(peer, "the peer closed the connection \(context)")
            return true
        }
        let e = Int32(-n)
        if e == EAGAIN || e == EWOULDBLOCK || e == EINTR { return false }
        fail(peer, "recv: \(errnoText(e)) \(context)")
        return true
    }

    private func finishStreamIn(_ l: UnsafeMutablePointer<Link>) {
        l.pointee.streamIn = .none
        l.pointee.streamInDestination = nil
    }

    /// `release` of the streamed frame's header at `offset`: its region's size (without the
    /// marker). (A later streamed header may already await its destination: not this one.)
    func streamedFrameSize(_ peer: Int, at offset: Int, _ flag: Int) -> Int {
        let l = links + peer
        precondition(l.pointee.streamIn != .awaitingDestination || offset != l.pointee.receiveScan &- frameHeaderBytes,
                     "TCP transport: release of a streamed frame before receiveStreamed")
        return flag & ~7
    }
}
