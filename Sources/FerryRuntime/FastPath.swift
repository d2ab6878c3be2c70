// Fast paths for the most common calls, MPI_Send and MPI_Recv of a small contiguous message
// to or from one peer on this node: no request, no queue, no matching queues; one cell is
// written or read directly. Each returns nil when its preconditions do not hold, and the
// caller then takes the general path, which gives identical results (same cell format, same
// matching order). Preconditions that keep the semantics exact:
//   send: standard mode, nothing queued towards that peer (per-peer order), one cell suffices,
//         a free cell now;
//   recv: a specific source, no posted receive and no unexpected message in this process (so
//         no earlier message or receive can claim what arrives first), nothing queued to send
//         (a peer may be waiting for it), a single-cell eager message at the head of that
//         peer's ring whose envelope matches; or, when unexpected messages exist, the oldest
//         one matching is a whole eager message (delivered from there, as the general path
//         would). Anything else goes to the general path, which drains every ring (so a rank
//         waiting here never blocks a third rank for long).
import FerryCore
import FerryShm
import FerryTransport
import FerryDatatype
import FerryCollectives
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

extension Runtime {
    /// `MPI_Send` of one cell's worth of contiguous data, or nil (take the general path).
    @inline(__always)
    public func sendFast(_ buffer: UnsafeRawPointer?, count: Int, datatype: Datatype, dest: Int32, tag: Int32,
                         comm: Communicator) -> Int32? {
        // Non-optional (guaranteed) parameters and no local copies: no reference counting here.
        guard !fastSendOff else { return nil }
        let rc = checkSend(buffer, count, datatype, dest, tag, comm)
        if rc != 0 { return rc }
        guard dest != MPIConstant.procNull, datatype.isContiguous else { return nil }
        return writeEagerCell(readAddress(buffer, datatype.trueLowerBound), bytes: count &* datatype.size,
                              peer: comm.worldRank(ofPeer: dest), context: comm.pointToPointContext,
                              source: comm.rank, tag: tag) ? 0 : nil
    }

    /// `MPI_Isend` (standard mode) of one cell's worth of contiguous data that can leave at
    /// once: written like `sendFast`, and the request returned is the shared complete one
    /// (`RequestTable.completedSend`), so no slot is taken. Nil: take the general path.
    @inline(__always)
    public func isendFast(_ buffer: UnsafeRawPointer?, count: Int, datatype: Datatype, dest: Int32, tag: Int32,
                          comm: Communicator, request: inout RequestID) -> Int32? {
        guard sendFast(buffer, count: count, datatype: datatype, dest: dest, tag: tag, comm: comm) == 0 else {
            return nil
        }
        request = requests.id(RequestTable.completedSend)
        return 0
    }

    /// `MPI_Recv` of a small message from one source, or nil (take the general path). On
    /// success, `status` holds source, tag and byte count.
    @inline(__always)
    public func receiveFast(_ buffer: UnsafeMutableRawPointer?, count: Int, datatype: Datatype, source: Int32,
                            tag: Int32, comm: Communicator, status: inout Status) -> Int32? {
        guard !fastReceiveOff else { return nil }
        let rc = checkReceive(UnsafeRawPointer(buffer), count, datatype, source, tag, comm)
        if rc != 0 { return rc }
        guard source >= 0, datatype.isContiguous else { return nil }
        guard let (n, t) = readEagerMessage(byteAddress(UnsafeRawPointer(buffer), datatype.trueLowerBound),
                                            capacity: count &* datatype.size, peer: comm.worldRank(ofPeer: source),
                                            context: comm.pointToPointContext, source: source, tag: tag)
        else { return nil }
        status = Status(source: source, tag: t, error: 0, byteCount: n)
        return 0
    }

    /// Writes a whole message as one eager cell towards world rank `peer`, if nothing is queued
    /// for that peer (per-peer order), the message fits one cell and a cell is free. False: the
    /// caller takes the general path. Caller does not hold the lock (and `locking` is off).
    @inline(__always)
    func writeEagerCell(_ data: UnsafeRawPointer?, bytes: Int, peer: Int32, context: UInt32, source: Int32,
                        tag: Int32) -> Bool {
        // The peer's node-segment index is its peer number (`routesAreNodeIndices`, true of
        // every one-node job). Not checked per message: a route lookup or even a flag test
        // here cost 5-10 % of the 8 B latency (A/B, docs/PERFORMANCE.md); the callers' gate
        // (`fastSendOff`, `fastReceiveOff`) includes it at no cost.
        assert(routesAreNodeIndices && routes[Int(peer)].kind != .unreachable, "eager fast path without the node segment's route")
        guard let ref = nodeRef, peer != worldRank, sendQueues[Int(peer)].isEmpty,
              bytes <= tunables.eagerLimitBytes else { return false }
        let index = Int(peer)
        return ref._withUnsafeGuaranteedRef { node -> Bool in
            guard bytes <= node.layout.payloadBytesPerCell, let h = node.reserve(to: index) else { return false }
            h.pointee.kind = FrameKind.eager.rawValue
            h.pointee.flags = 0
            h.pointee.context = context
            h.pointee.source = source
            h.pointee.tag = tag
            h.pointee.length = UInt32(truncatingIfNeeded: bytes)
            h.pointee.total = UInt64(bytes)
            h.pointee.senderRequest = 0
            if bytes > 0 { copyInline(UnsafeMutableRawPointer(h) + frameHeaderBytes, data!, bytes) }
            node.publish(to: index, h)
            return true
        }
    }

    /// Waits (spinning a while) for a single-cell eager message from world rank `peer` with this
    /// envelope at the head of its ring, and copies it to `destination`. Nil, with nothing
    /// consumed, when this process has receives posted, unexpected messages, queued sends or
    /// background workers, when the head cell is anything else, or after a few thousand polls:
    /// the caller then takes the general path. Returns the byte count and the tag.
    @inline(__always)
    func readEagerCell(_ destination: UnsafeMutableRawPointer?, capacity: Int, peer: Int32, context: UInt32,
                       source: Int32, tag: Int32) -> (Int, Int32)? {
        assert(routesAreNodeIndices && routes[Int(peer)].kind != .unreachable, "eager fast path without the node segment's route")
        guard let ref = nodeRef, peer != worldRank, posted.isEmpty, unexpectedOrder.isEmpty,
              busyDestinations.isEmpty, ferry_load_relaxed_u32(backgroundWorkers) == 0 else { return nil }
        let index = Int(peer)   // see writeEagerCell
        return ref._withUnsafeGuaranteedRef { node -> (Int, Int32)? in
            // Spin on this one ring for a while; a longer wait goes to the general path.
            var polls = 0
            while true {
                if let h = node.peek(from: index) {
                    let n = Int(h.pointee.length)
                    guard h.pointee.kind == FrameKind.eager.rawValue, h.pointee.flags == 0,
                          h.pointee.total == UInt64(n), h.pointee.context == context, h.pointee.source == source,
                          tag == MPIConstant.anyTag || h.pointee.tag == tag, n <= capacity else { return nil }
                    if n > 0 { copyInline(destination!, UnsafeRawPointer(h) + frameHeaderBytes, n) }
                    let t = h.pointee.tag
                    node.release(from: index, h)
                    return (n, t)
                }
                polls &+= 1
                if polls == 4096 { return nil }
                ferry_cpu_relax()
            }
        }
    }

    /// A single-cell eager message with this envelope from world rank `peer`, copied to
    /// `destination`: from the unexpected queue when it holds messages (they are older than
    /// anything in the rings), else from the head of that peer's ring. Nil, with nothing
    /// consumed, when neither fast way applies. Returns the byte count and the tag.
    @inline(__always)
    func readEagerMessage(_ destination: UnsafeMutableRawPointer?, capacity: Int, peer: Int32, context: UInt32,
                          source: Int32, tag: Int32) -> (Int, Int32)? {
        unexpectedOrder.isEmpty
            ? readEagerCell(destination, capacity: capacity, peer: peer, context: context, source: source, tag: tag)
            : takeUnexpectedEager(destination, capacity: capacity, context: context, source: source, tag: tag)
    }

    /// Receives the oldest unexpected message matching the envelope if it is a whole eager
    /// message that fits (what the general path would deliver first), without a request.
    /// Returns the byte count and the tag, or nil with nothing consumed. This keeps a receiver
    /// whose sender runs ahead (messages drained into the unexpected queue by an earlier wait)
    /// off the general path while it catches up. Caller does not hold the lock (`locking` off).
    func takeUnexpectedEager(_ destination: UnsafeMutableRawPointer?, capacity: Int, context: UInt32,
                             source: Int32, tag: Int32) -> (Int, Int32)? {
        guard !locking, let k = findUnexpected(context: context, source: source, tag: tag) else { return nil }
        let id = unexpectedOrder[k]
        guard let m = unexpected[id], !m.isRendezvous, !m.synchronous, m.received == m.total, m.total <= capacity,
              m.waitingRequest < 0 else { return nil }
        unexpectedOrder.remove(at: k)
        unexpected[id] = nil
        if m.total > 0 { copyInline(destination!, UnsafeRawPointer(m.data!), m.total) }
        unexpectedBuffers.give(m.data!, m.total)
        return (m.total, m.tag)
    }

    /// `MPI_Bcast` of contiguous data that fits one cell on an intracommunicator, with valid
    /// arguments: straight to `cellBcast` (the general entry's choice for the same arguments).
    /// Nil otherwise: the caller takes the general path, which reports errors.
    @inline(__always)
    public func bcastFast(_ buf: UnsafeMutableRawPointer?, count: Int, datatype t: Datatype, root: Int32,
                          comm: Communicator) -> Int32? {
        guard !comm.isInter, !comm.isFreed, count > 0, t.isCommitted, t.isContiguous, root >= 0,
              Int(root) < comm.peerCount, comm.peerCount > 1 else { return nil }
        let bytes = count &* t.size
        guard bytes > 0, fitsCellBcast(bytes), let base = byteAddress(buf, t.trueLowerBound) else { return nil }
        return cellBcast(base, bytes: bytes, root: Int(root), comm: comm)
    }

    /// Whether a broadcast of `bytes` packed bytes goes cell by cell (`cellBcast`): decided on
    /// the byte count alone, which every rank passes alike, by both broadcast entries.
    @inline(__always)
    func fitsCellBcast(_ bytes: Int) -> Bool {
        bytes <= min(tunables.eagerLimitBytes, tunables.shmCellBytes - frameHeaderBytes)
    }

    /// Broadcast of `bytes` (at most one cell) packed bytes over a binomial tree, each hop one
    /// eager cell written and read directly when the path is clear (the root returns as soon as
    /// its cells are written, as an eager send would), the general path otherwise. Same tree,
    /// context and tag as FerryCollectives' binomial broadcast, so either side may take either path.
    func cellBcast(_ buffer: UnsafeMutableRawPointer, bytes: Int, root: Int, comm: Communicator) -> Int32 {
        let n = comm.peerCount, vr = (Int(comm.rank) - root + n) % n
        let context = comm.collectiveContext, tag = CollectiveTag.bcast
        @inline(__always) func byte() -> Datatype { Datatype.predefined(.byte) }
        @inline(__always) func real(_ v: Int) -> Int32 { Int32((v + root) % n) }
        var span = 1
        if vr == 0 { while span < n { span <<= 1 } } else { span = vr & -vr }
        if vr != 0 {
            let parent = real(vr - span)
            if fastSendOff || readEagerMessage(buffer, capacity: bytes, peer: comm.worldRank(ofPeer: parent),
                                           context: context, source: parent, tag: tag) == nil {
                let r = irecvInternal(buffer, count: bytes, datatype: byte(), source: parent, tag: tag, comm: comm, context: context)
                let rc = waitInternal(r).error
                if rc != 0 { return rc }
            }
        }
        var m = span >> 1
        while m > 0 {
            if vr + m < n {
                let child = real(vr + m)
                if fastSendOff || !writeEagerCell(buffer, bytes: bytes, peer: comm.worldRank(ofPeer: child), context: context,
                                              source: comm.rank, tag: tag) {
                    let r = isendInternal(buffer, count: bytes, datatype: byte(), dest: child, tag: tag, comm: comm, context: context)
                    let rc = waitInternal(r).error
                    if rc != 0 { return rc }
                }
            }
            m >>= 1
        }
        return 0
    }
}

/// memcpy, with messages of up to 64 bytes copied inline (a libc call costs as much as the copy).
@inline(__always)
func copyInline(_ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, _ n: Int) {
    guard n <= 64 else { memcpy(dst, src, n); return }
    var i = 0
    while i &+ 8 <= n {
        dst.storeBytes(of: src.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
        i &+= 8
    }
    while i < n {
        dst.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self)
        i &+= 1
    }
}
