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
//         peer's ring whose envelope matches. Anything else goes to the general path, which
//         drains every ring (so a rank waiting here never blocks a third rank for long).
import FerryCore
import FerryShm
import FerryDatatype
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
        guard let ref = nodeRef, !locking else { return nil }
        let rc = checkSend(buffer, count, datatype, dest, tag, comm)
        if rc != 0 { return rc }
        guard dest != MPIConstant.procNull, datatype.isContiguous else { return nil }
        let bytes = count &* datatype.size
        let peer = comm.worldRank(ofPeer: dest)
        if peer == worldRank || !sendQueues[Int(peer)].isEmpty || bytes > tunables.eagerLimitBytes { return nil }
        return ref._withUnsafeGuaranteedRef { node -> Int32? in
            guard bytes <= node.layout.payloadBytesPerCell, let h = node.reserve(to: Int(peer)) else { return nil }
            h.pointee.kind = CellKind.eager.rawValue
            h.pointee.flags = 0
            h.pointee.context = comm.pointToPointContext
            h.pointee.source = comm.rank
            h.pointee.tag = tag
            h.pointee.length = UInt32(truncatingIfNeeded: bytes)
            h.pointee.total = UInt64(bytes)
            h.pointee.senderRequest = 0
            if bytes > 0 {
                copyInline(UnsafeMutableRawPointer(h) + cellHeaderBytes, byteAddress(buffer, datatype.trueLowerBound)!, bytes)
            }
            node.publish(to: Int(peer), h)
            return 0
        }
    }

    /// `MPI_Recv` of a small message from one source, or nil (take the general path). On
    /// success, `status` holds source, tag and byte count.
    @inline(__always)
    public func receiveFast(_ buffer: UnsafeMutableRawPointer?, count: Int, datatype: Datatype, source: Int32,
                            tag: Int32, comm: Communicator, status: inout Status) -> Int32? {
        guard let ref = nodeRef, !locking, !oversubscribed else { return nil }
        let rc = checkReceive(UnsafeRawPointer(buffer), count, datatype, source, tag, comm)
        if rc != 0 { return rc }
        guard source >= 0, datatype.isContiguous, posted.isEmpty, unexpectedOrder.isEmpty,
              busyDestinations.isEmpty, ferry_load_relaxed_u32(backgroundWorkers) == 0 else { return nil }
        let peer = comm.worldRank(ofPeer: source)
        if peer == worldRank { return nil }
        let capacity = count &* datatype.size
        let context = comm.pointToPointContext
        return ref._withUnsafeGuaranteedRef { node -> Int32? in
            // Spin on this one ring for a while; a longer wait goes to the general path.
            var polls = 0
            while true {
                if let h = node.peek(from: Int(peer)) {
                    let n = Int(h.pointee.length)
                    guard h.pointee.kind == CellKind.eager.rawValue, h.pointee.flags == 0,
                          h.pointee.total == UInt64(n), h.pointee.context == context, h.pointee.source == source,
                          tag == MPIConstant.anyTag || h.pointee.tag == tag, n <= capacity else { return nil }
                    if n > 0 {
                        copyInline(byteAddress(UnsafeRawPointer(buffer), datatype.trueLowerBound)!,
                                  UnsafeRawPointer(h) + cellHeaderBytes, n)
                    }
                    status = Status(source: source, tag: h.pointee.tag, error: 0, byteCount: n)
                    node.release(from: Int(peer), h)
                    return 0
                }
                polls &+= 1
                if polls == 4096 { return nil }
                ferry_cpu_relax()
            }
        }
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
