// The progress engine: drains incoming rings, runs the eager / rendezvous protocol state
// machines, and pushes queued outgoing work into free cells. A transport that has no free
// cell says so ("no resource"); the queue here keeps the order, per destination.
import FerryCore
import FerryShm
import FerryTCP
import FerryTransport
import FerryDatatype
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// One unit of outgoing work towards one destination.
enum SendItem {
    /// All fragments of an eager message (slot index).
    case eager(Int32)
    /// The request-to-send of a rendezvous message.
    case requestToSend(Int32)
    /// The data chunks of a pipelined rendezvous, after clear-to-send.
    case stream(Int32)
    /// A protocol control cell (clear to send, finish).
    case control(FrameKind, senderRequest: UInt64, receiverRequest: UInt64)
}

/// FIFO of outgoing work for one destination: a ring of plain values in storage of its own,
/// so that queueing and dequeueing touch no reference count. Grows (doubling) when full; the
/// capacity stays a power of two, so positions wrap with a mask.
struct SendQueue {
    private var base: UnsafeMutablePointer<SendItem>
    private var capacity: Int
    private var head = 0
    private var count = 0

    init(capacity: Int = 16) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "send queue capacity: a power of two")
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    @inline(__always) var isEmpty: Bool { count == 0 }
    /// The oldest item. - Precondition: not empty.
    @inline(__always) var first: SendItem { base[head] }

    @inline(__always) mutating func append(_ item: SendItem) {
        if count == capacity { grow() }
        (base + ((head &+ count) & (capacity &- 1))).initialize(to: item)
        count &+= 1
    }

    @inline(__always) mutating func popFirst() {
        head = head &+ 1 == capacity ? 0 : head &+ 1
        count &-= 1
        if count == 0 { head = 0 }
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<SendItem>.allocate(capacity: capacity * 2)
        for k in 0..<count { (bigger + k).initialize(to: base[(head + k) & (capacity - 1)]) }
        base.deallocate()
        base = bigger
        head = 0
        capacity *= 2
    }
}

extension Runtime {
    // MARK: polling

    /// Runs one round of progress. Returns true if anything moved.
    /// - Note: caller holds the lock.
    @discardableResult
    func progress() -> Bool {
        var did = false
        if let ref = nodeRef { did = ref._withUnsafeGuaranteedRef { node in
            var did = false
            let me = node.localRank
            for p in 0..<node.peerCount where p != me {
                let limit = node.frameCapacity(ofPeer: p)
                var n = 0
                while n < limit, let h = node.peek(from: p) {
                    handleCell(h, from: shmPeers[p])
                    node.release(from: p, h)
                    n += 1
                }
                if n > 0 { did = true }
            }
            return did
        } }
        if let ref = tcpRef { did = ref._withUnsafeGuaranteedRef { tcp in progressNetwork(tcp) } || did }
        if !busyDestinations.isEmpty { did = pushAll() || did }
        if rmaActive { did = serveWindows() || did }
        return did
    }

    /// Reads what the connections to other nodes brought, and handles the complete frames.
    private func progressNetwork(_ tcp: TCPTransport) -> Bool {
        var did = tcp.poll()
        if let failure = tcp.failure, !networkMayClose { networkFailed(failure) }
        if !streamedSends.isEmpty || !streamedReceives.isEmpty { did = finishStreams(tcp) || did }
        for p in tcpPeers {
            let limit = tcp.frameCapacity(ofPeer: Int(p))
            var n = 0
            while n < limit, let h = tcp.peek(from: Int(p)) {
                if tcp.isStreamed(h) {
                    // Its payload goes straight to the receive buffer; what follows waits for it.
                    beginStreamedReceive(h, from: p, tcp)
                    tcp.release(from: Int(p), h)
                    n += 1
                    break
                }
                handleCell(h, from: p)
                tcp.release(from: Int(p), h)
                n += 1
            }
            if n > 0 { did = true }
        }
        return did
    }

    @inline(__always)
    func markBusy(_ dest: Int32) {
        if sendQueues[Int(dest)].isEmpty { busyDestinations.append(dest) }
    }

    func enqueue(_ item: SendItem, to dest: Int32) {
        // This process handles its own control messages in place (sendControl), and every
        // other peer has a transport; a route without one would leave the queue stuck.
        assert(routes[Int(dest)].kind == .shm || routes[Int(dest)].kind == .tcp,
               "send queued towards peer \(dest) without a transport")
        markBusy(dest)
        sendQueues[Int(dest)].append(item)
        _ = push(dest)
        if sendQueues[Int(dest)].isEmpty {
            // A plain loop: the generic firstIndex(of:) may allocate when not specialized.
            var i = busyDestinations.count - 1
            while i >= 0 && busyDestinations[i] != dest { i -= 1 }
            if i >= 0 { busyDestinations.remove(at: i) }
        }
    }

    /// Queues are only left non-empty when a transport had no room: wait until half its queue
    /// towards the peer (up to 4 frames) is free before writing again (see `hasRoom`).
    private func pushAll() -> Bool {
        var did = false
        var i = 0
        while i < busyDestinations.count {
            let d = busyDestinations[i]
            let r = routes[Int(d)]
            switch r.kind {
            case .shm:
                if let ref = nodeRef, ref._withUnsafeGuaranteedRef({ pushWhenRoom(d, Int(r.index), $0) }) { did = true }
            case .tcp:
                if let ref = tcpRef, ref._withUnsafeGuaranteedRef({ pushWhenRoom(d, Int(r.index), $0) }) { did = true }
            case .loopback, .unreachable:
                break
            }
            if sendQueues[Int(d)].isEmpty { busyDestinations.remove(at: i) } else { i += 1 }
        }
        return did
    }

    @inline(__always)
    private func pushWhenRoom<T: FrameTransport>(_ dest: Int32, _ index: Int, _ transport: T) -> Bool {
        let burst = min(4, max(1, transport.frameCapacity(ofPeer: index) / 2))
        return transport.hasRoom(to: index, frames: burst) && push(dest, index, transport)
    }

    /// Pushes as much of `dest`'s queue as its transport has room for. True if anything was
    /// written.
    private func push(_ dest: Int32) -> Bool {
        let r = routes[Int(dest)]
        switch r.kind {
        case .shm:
            guard let ref = nodeRef else { return false }
            return ref._withUnsafeGuaranteedRef { node in push(dest, Int(r.index), node) }
        case .tcp:
            guard let ref = tcpRef else { return false }
            return ref._withUnsafeGuaranteedRef { tcp in push(dest, Int(r.index), tcp) }
        case .loopback, .unreachable:
            return false
        }
    }

    /// `push` through a transport (specialized for each: no existential), where `dest` is its
    /// peer `index`.
    @inline(__always)
    private func push<T: FrameTransport>(_ dest: Int32, _ index: Int, _ node: T) -> Bool {
        var did = false
        let payloadMax = node.capabilities.maxInlinePayload
        while !sendQueues[Int(dest)].isEmpty {
            let item = sendQueues[Int(dest)].first
            switch item {
            case .control(let kind, let s, let r):
                guard let h = node.reserve(to: index) else { return did }
                h.pointee.kind = kind.rawValue
                h.pointee.flags = 0
                h.pointee.length = 0
                h.pointee.senderRequest = s
                h.pointee.receiverRequest = r
                node.publish(to: index, h)
                did = true
            case .requestToSend(let i):
                if requests.slots[Int(i)].phase == .done { break }   // cancelled before it left
                guard let h = node.reserve(to: index) else { return did }
                let s = requests.slots.pointer(i)
                fillEnvelope(h, s, kind: .requestToSend)
                h.pointee.length = 0
                h.pointee.total = UInt64(s.pointee.bytes)
                h.pointee.senderRequest = requests.id(i).wire
                h.pointee.address = s.pointee.isContiguousData && s.pointee.bytes > 0
                    ? UInt64(UInt(bitPattern: s.pointee.contiguousBase)) : 0
                node.publish(to: index, h)
                requests.slots[Int(i)].phase = .awaitingRendezvous
                did = true
            case .eager(let i):
                if requests.slots[Int(i)].phase == .done { break }   // cancelled before it left
                while true {
                    guard let h = node.reserve(to: index) else { return did }
                    let s = requests.slots.pointer(i)
                    let offset = s.pointee.progressBytes
                    let n = min(s.pointee.bytes - offset, payloadMax)
                    if offset == 0 {
                        fillEnvelope(h, s, kind: .eager)
                        h.pointee.total = UInt64(s.pointee.bytes)
                        h.pointee.senderRequest = requests.id(i).wire
                    } else {
                        h.pointee.kind = FrameKind.eagerContinuation.rawValue
                    }
                    h.pointee.length = UInt32(n)
                    if n > 0 { packOut(s, offset: offset, into: UnsafeMutableRawPointer(h) + frameHeaderBytes, bytes: n) }
                    node.publish(to: index, h)
                    did = true
                    requests.slots[Int(i)].progressBytes = offset + n
                    if offset + n == s.pointee.bytes { break }
                }
                if requests.slots[Int(i)].mode == .synchronous {
                    requests.slots[Int(i)].phase = .awaitingAck
                } else {
                    requests.slots[Int(i)].phase = .done
                    complete(i)
                }
            case .stream(let i):
                // TCP, contiguous data: one streamed frame straight from the user's buffer.
                if let tcp = node as? TCPTransport, requests.slots[Int(i)].isContiguousData,
                   requests.slots[Int(i)].bytes - requests.slots[Int(i)].progressBytes > payloadMax {
                    guard pushStreamed(i, dest: dest, index: index, tcp) else { return did }
                    did = true
                    break
                }
                while true {
                    let s = requests.slots.pointer(i)
                    if s.pointee.progressBytes == s.pointee.bytes { break }
                    guard let h = node.reserve(to: index) else { return did }
                    let n = min(s.pointee.bytes - s.pointee.progressBytes, min(payloadMax, tunables.pipelineChunkBytes))
                    h.pointee.kind = FrameKind.data.rawValue
                    h.pointee.length = UInt32(n)
                    h.pointee.offset = UInt64(s.pointee.progressBytes)
                    h.pointee.receiverRequest = s.pointee.remoteRequest
                    packOut(s, offset: s.pointee.progressBytes, into: UnsafeMutableRawPointer(h) + frameHeaderBytes, bytes: n)
                    node.publish(to: index, h)
                    did = true
                    requests.slots[Int(i)].progressBytes += n
                }
                requests.slots[Int(i)].phase = .done
                complete(i)
            }
            sendQueues[Int(dest)].popFirst()
        }
        return did
    }

    @inline(__always)
    private func fillEnvelope(_ h: UnsafeMutablePointer<FrameHeader>, _ s: UnsafeMutablePointer<RequestSlot>, kind: FrameKind) {
        h.pointee.kind = kind.rawValue
        h.pointee.flags = s.pointee.mode == .synchronous ? FrameFlags.synchronous : 0
        h.pointee.context = s.pointee.context
        h.pointee.source = s.pointee.sourceRank
        h.pointee.tag = s.pointee.tag
    }

    /// Copies packed bytes [offset, offset+n) of a send's data to `dst`.
    @inline(__always)
    func packOut(_ s: UnsafeMutablePointer<RequestSlot>, offset: Int, into dst: UnsafeMutableRawPointer, bytes n: Int) {
        if s.pointee.isContiguousData {
            memcpy(dst, s.pointee.contiguousBase! + offset, n)
        } else {
            s.pointee.typeRef!._withUnsafeGuaranteedRef { t in t.pack(from: UnsafeRawPointer(s.pointee.buffer), count: s.pointee.count, packedOffset: offset, into: dst, bytes: n) }
        }
    }

    /// Copies `n` packed bytes at message offset `offset` into a receive's buffer, dropping
    /// what does not fit (the truncation error is reported in the status).
    @inline(__always)
    func unpackIn(_ i: Int32, from src: UnsafeRawPointer, bytes n: Int, at offset: Int) {
        let s = requests.slots.pointer(i)
        guard offset < s.pointee.bytes else { return }
        let m = min(n, s.pointee.bytes - offset)
        guard m > 0 else { return }
        if s.pointee.isContiguousData {
            memcpy(s.pointee.contiguousBase! + offset, src, m)
        } else {
            s.pointee.typeRef!._withUnsafeGuaranteedRef { t in
                t.unpack(from: src, bytes: m, into: s.pointee.buffer, count: s.pointee.count, packedOffset: offset)
            }
        }
    }

    // MARK: incoming cells

    private func handleCell(_ h: UnsafeMutablePointer<FrameHeader>, from p: Int32) {
        let payload = UnsafeRawPointer(h) + frameHeaderBytes
        guard let kind = FrameKind(rawValue: h.pointee.kind) else {
            reportCorrupt("unknown cell kind \(h.pointee.kind) from rank \(p)")
            return
        }
        switch kind {
        case .eager:
            arriveEager(context: h.pointee.context, source: h.pointee.source, tag: h.pointee.tag, from: p,
                        total: Int(h.pointee.total), synchronous: h.pointee.flags & FrameFlags.synchronous != 0,
                        senderRequest: h.pointee.senderRequest, chunk: payload, length: Int(h.pointee.length))
        case .eagerContinuation:
            arriveContinuation(from: p, chunk: payload, length: Int(h.pointee.length))
        case .requestToSend:
            arriveRequestToSend(context: h.pointee.context, source: h.pointee.source, tag: h.pointee.tag, from: p,
                                total: Int(h.pointee.total), synchronous: h.pointee.flags & FrameFlags.synchronous != 0,
                                senderRequest: h.pointee.senderRequest, address: h.pointee.address)
        case .clearToSend:
            guard let i = requests.validate(RequestID(wire: h.pointee.senderRequest)) else {
                reportCorrupt("clear-to-send for an unknown request from rank \(p)"); return
            }
            requests.slots[Int(i)].remoteRequest = h.pointee.receiverRequest
            requests.slots[Int(i)].phase = .streaming
            enqueue(.stream(i), to: p)
        case .data:
            guard let i = requests.validate(RequestID(wire: h.pointee.receiverRequest)) else {
                reportCorrupt("data for an unknown request from rank \(p)"); return
            }
            let n = Int(h.pointee.length)
            unpackIn(i, from: payload, bytes: n, at: Int(h.pointee.offset))
            requests.slots[Int(i)].progressBytes += n
            if requests.slots[Int(i)].progressBytes >= requests.slots[Int(i)].messageBytes { completeReceive(i) }
        case .finish:
            handleFinish(h.pointee.senderRequest, from: p)
        }
    }

    func handleFinish(_ wire: UInt64, from p: Int32) {
        guard let i = requests.validate(RequestID(wire: wire)) else {
            reportCorrupt("finish for an unknown request from rank \(p)"); return
        }
        requests.slots[Int(i)].phase = .done
        complete(i)
    }

    func reportCorrupt(_ what: String) {
        let msg = "ferry: rank \(worldRank): ignoring malformed protocol data: \(what)\n"
        _ = msg.withCString { write(2, $0, strlen($0)) }
    }

    /// Sends a control cell, or handles it at once when the peer is this process.
    func sendControl(_ kind: FrameKind, to p: Int32, senderRequest: UInt64, receiverRequest: UInt64 = 0) {
        if p == worldRank {
            if kind == .finish { handleFinish(senderRequest, from: p) }
            return
        }
        enqueue(.control(kind, senderRequest: senderRequest, receiverRequest: receiverRequest), to: p)
    }

    // MARK: matching

    @inline(__always)
    func findPosted(context: UInt32, source: Int32, tag: Int32) -> Int32? {
        var k = 0
        while k < posted.count {
            let i = posted[k]
            let s = requests.slots.pointer(i)
            if s.pointee.context == context && (s.pointee.peer == source || s.pointee.peer == MPIConstant.anySource)
                && (s.pointee.tag == tag || s.pointee.tag == MPIConstant.anyTag) {
                posted.remove(at: k)
                return i
            }
            k += 1
        }
        return nil
    }

    /// Records the envelope of the matched message in a receive.
    @inline(__always)
    func beginReceive(_ i: Int32, source: Int32, tag: Int32, from p: Int32, total: Int) {
        requests.slots[Int(i)].status.source = source
        requests.slots[Int(i)].status.tag = tag
        requests.slots[Int(i)].worldPeer = p
        requests.slots[Int(i)].messageBytes = total
        requests.slots[Int(i)].progressBytes = 0
    }

    func arriveEager(context: UInt32, source: Int32, tag: Int32, from p: Int32, total: Int, synchronous: Bool,
                     senderRequest: UInt64, chunk: UnsafeRawPointer, length: Int) {
        if let i = findPosted(context: context, source: source, tag: tag) {
            beginReceive(i, source: source, tag: tag, from: p, total: total)
            unpackIn(i, from: chunk, bytes: length, at: 0)
            requests.slots[Int(i)].progressBytes = length
            if synchronous { sendControl(.finish, to: p, senderRequest: senderRequest) }
            if length >= total { completeReceive(i) } else { inflight[Int(p)] = .request(i) }
            return
        }
        // An RMA active message (WindowRemote.swift) is carried out as it arrives.
        if rmaActive && tag == RMAWire.activeTag && length >= total
            && serveOnArrival(context: context, source: source, chunk, length) { return }
        let data = unexpectedBuffers.take(total)
        if length > 0 { memcpy(data, chunk, length) }
        let id = nextUnexpectedID
        nextUnexpectedID += 1
        unexpected[id] = UnexpectedMessage(context: context, source: source, tag: tag, fromWorld: p, total: total,
                                           data: data, received: length, isRendezvous: false,
                                           synchronous: synchronous, senderRequest: senderRequest, address: 0)
        unexpectedOrder.append(id)
        if rmaActive { noteWindowArrival(context: context, tag: tag) }
        if length < total { inflight[Int(p)] = .unexpected(id) }
    }

    private func arriveContinuation(from p: Int32, chunk: UnsafeRawPointer, length: Int) {
        switch inflight[Int(p)] {
        case .none:
            reportCorrupt("continuation cell with no message in progress from rank \(p)")
        case .request(let i):
            let off = requests.slots[Int(i)].progressBytes
            unpackIn(i, from: chunk, bytes: length, at: off)
            requests.slots[Int(i)].progressBytes = off + length
            if off + length >= requests.slots[Int(i)].messageBytes {
                inflight[Int(p)] = .none
                completeReceive(i)
            }
        case .unexpected(let id):
            guard var m = unexpected[id] ?? probedMessages[id] else { inflight[Int(p)] = .none; return }
            memcpy(m.data! + m.received, chunk, min(length, m.total - m.received))
            m.received += length
            let done = m.received >= m.total
            if done { inflight[Int(p)] = .none }
            if done && m.waitingRequest >= 0 {
                let i = m.waitingRequest
                unpackIn(i, from: m.data!, bytes: m.total, at: 0)
                unexpectedBuffers.give(m.data!, m.total)
                unexpected[id] = nil
                completeReceive(i)
            } else if unexpected[id] != nil {
                unexpected[id] = m
            } else {
                probedMessages[id] = m
            }
        }
    }

    private func arriveRequestToSend(context: UInt32, source: Int32, tag: Int32, from p: Int32, total: Int,
                                     synchronous: Bool, senderRequest: UInt64, address: UInt64) {
        if let i = findPosted(context: context, source: source, tag: tag) {
            beginReceive(i, source: source, tag: tag, from: p, total: total)
            startRendezvousReceive(i, from: p, senderRequest: senderRequest, address: address)
            return
        }
        let id = nextUnexpectedID
        nextUnexpectedID += 1
        unexpected[id] = UnexpectedMessage(context: context, source: source, tag: tag, fromWorld: p, total: total,
                                           data: nil, received: 0, isRendezvous: true, synchronous: synchronous,
                                           senderRequest: senderRequest, address: address)
        unexpectedOrder.append(id)
        if rmaActive { noteWindowArrival(context: context, tag: tag) }
    }

    /// Receiver side of rendezvous, after the match: single copy if the kernel lets us,
    /// otherwise ask the sender to stream the data through the rings.
    func startRendezvousReceive(_ i: Int32, from p: Int32, senderRequest: UInt64, address: UInt64) {
        let total = requests.slots[Int(i)].messageBytes
        let n = min(total, requests.slots[Int(i)].bytes)
        if total == 0 {
            completeReceive(i)
            sendControl(.finish, to: p, senderRequest: senderRequest)
            return
        }
        // Single copy for very large messages, and always for the traffic of nonblocking
        // collectives (their shadow context, id*4+3): the receiver then completes the transfer
        // by itself while the sender computes. Otherwise the pipelined copy through the rings,
        // which moves data faster where page pinning is slow (FERRY_SINGLE_COPY_MIN).
        let background = requests.slots[Int(i)].context & 3 == 3
        if singleCopy && address != 0 && (total >= tunables.singleCopyMinBytes || background), let node,
           routes[Int(p)].kind == .shm {
            let pid = node.pid(ofPeer: Int(routes[Int(p)].index))
            if singleCopyRead(i, pid: pid, address: address, bytes: n) {
                requests.slots[Int(i)].progressBytes = total
                completeReceive(i)
                sendControl(.finish, to: p, senderRequest: senderRequest)
                return
            }
        }
        sendControl(.clearToSend, to: p, senderRequest: senderRequest, receiverRequest: requests.id(i).wire)
    }

    /// process_vm_readv from the sender's buffer. False (and single copy switched off for good)
    /// if the kernel refuses before any byte moved.
    private func singleCopyRead(_ i: Int32, pid: Int32, address: UInt64, bytes n: Int) -> Bool {
        let s = requests.slots.pointer(i)
        let t = s.pointee.datatype!
        var done = 0
        while done < n {
            let got: Int
            if t.isContiguous {
                got = ferry_vm_read(pid, byteAddress(s.pointee.buffer, t.trueLowerBound + done), n - done, address + UInt64(done))
            } else {
                let want = min(bounceBytes, n - done)
                got = ferry_vm_read(pid, bounce, want, address + UInt64(done))
                if got > 0 { t.unpack(from: bounce, bytes: got, into: s.pointee.buffer, count: s.pointee.count, packedOffset: done) }
            }
            if got <= 0 {
                if done == 0 { singleCopy = false; return false }
                reportCorrupt("single copy failed after \(done) of \(n) bytes (\(String(cString: strerror(Int32(-got)))))")
                requests.slots[Int(i)].status.error = ErrorClass.other.rawValue
                return true
            }
            done += got
        }
        return true
    }

    // MARK: completion

    @inline(__always)
    func completeReceive(_ i: Int32) {
        let s = requests.slots.pointer(i)
        requests.slots[Int(i)].status.byteCount = min(s.pointee.messageBytes, s.pointee.bytes)
        if s.pointee.messageBytes > s.pointee.bytes && s.pointee.status.error == 0 {
            requests.slots[Int(i)].status.error = ErrorClass.truncate.rawValue
        }
        complete(i)
    }

    @inline(__always)
    func complete(_ i: Int32) {
        requests.slots[Int(i)].isComplete = true
        if requests.slots[Int(i)].bsendOffset >= 0 {
            bsend.release(requests.slots[Int(i)].bsendOffset)
            requests.slots[Int(i)].bsendOffset = -1
        }
        if requests.slots[Int(i)].freeWhenDone {
            requests.release(i)
        }
    }
}

/// `base + offset` where a nil base is address 0 (MPI_BOTTOM: displacements are absolute).
@inline(__always)
func byteAddress(_ base: UnsafeRawPointer?, _ offset: Int) -> UnsafeMutableRawPointer? {
    UnsafeMutableRawPointer(bitPattern: Int(bitPattern: base) &+ offset)
}

/// `byteAddress` for data that is only read (send buffers).
@inline(__always)
func readAddress(_ base: UnsafeRawPointer?, _ offset: Int) -> UnsafeRawPointer? {
    UnsafeRawPointer(bitPattern: Int(bitPattern: base) &+ offset)
}
