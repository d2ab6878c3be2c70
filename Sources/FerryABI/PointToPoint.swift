// Point-to-point entry points: blocking, nonblocking and persistent sends and receives in the
// four modes, send-receive, probe and matched probe (MPI_Message), and the buffered-send buffer.
// Each decodes handles, calls the runtime (which checks the arguments and returns the standard's
// error classes), encodes the new request, and reports failures through the communicator's error
// handler with `fail`. The pattern every other file of this module follows.
import FerryCore
import FerryDatatype
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

// MARK: blocking sends and receive

@_cdecl("PMPI_Send")
public func PMPI_Send(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                      _ comm: Int32) -> Int32 {
    let sent = withBorrowed(comm, datatype) { rt, c, t in
        rt.sendFast(buf, count: Int(count), datatype: t, dest: dest, tag: tag, comm: c) == 0 ? true : nil
    }
    if sent != nil { return 0 }
    return blockingSend(buf, count, datatype, dest, tag, comm, .standard, "MPI_Send")
}

@_cdecl("PMPI_Ssend")
public func PMPI_Ssend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                       _ comm: Int32) -> Int32 {
    blockingSend(buf, count, datatype, dest, tag, comm, .synchronous, "MPI_Ssend")
}

@_cdecl("PMPI_Rsend")
public func PMPI_Rsend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                       _ comm: Int32) -> Int32 {
    blockingSend(buf, count, datatype, dest, tag, comm, .ready, "MPI_Rsend")
}

@_cdecl("PMPI_Bsend")
public func PMPI_Bsend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                       _ comm: Int32) -> Int32 {
    blockingSend(buf, count, datatype, dest, tag, comm, .buffered, "MPI_Bsend")
}

@inline(__always)
private func blockingSend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                          _ comm: Int32, _ mode: SendMode, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    let c = decodeComm(comm, rt)
    var r = RequestID(index: -1, generation: 0)
    var rc = rt.isend(buf, count: Int(count), datatype: decodeType(datatype), dest: dest, tag: tag, comm: c,
                      mode: mode, request: &r)
    if rc == 0 {
        var h: RequestHandle = r
        var st = Status()
        rc = rt.wait(&h, status: &st)
    } else {
        discardFailedRequest(r, rt)
    }
    return fail(rc, rt, c, fn)
}

/// A start that failed after the runtime took a slot (a buffered send that found no room
/// completes its request with the error): free the slot, nobody will wait on it.
@inline(__always)
func discardFailedRequest(_ r: RequestID, _ rt: Runtime) {
    guard r.index >= 0 else { return }
    var h: RequestHandle = r
    _ = rt.requestFree(&h)
}

@_cdecl("PMPI_Recv")
public func PMPI_Recv(_ buf: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32, _ source: Int32,
                      _ tag: Int32, _ comm: Int32, _ status: UnsafeMutableRawPointer?) -> Int32 {
    var fast = Status()
    let received = withBorrowed(comm, datatype) { rt, c, t in
        rt.receiveFast(buf, count: Int(count), datatype: t, source: source, tag: tag, comm: c, status: &fast) == 0 ? true : nil
    }
    if received != nil { store(fast, status); return 0 }
    guard let rt = runtime("MPI_Recv") else { return notInitialized }
    let c = decodeComm(comm, rt)
    var r = RequestID(index: -1, generation: 0)
    var rc = rt.irecv(buf, count: Int(count), datatype: decodeType(datatype), source: source, tag: tag, comm: c,
                      request: &r)
    if rc == 0 {
        var h: RequestHandle = r
        var st = Status()
        rc = rt.wait(&h, status: &st)
        store(st, status)
    }
    return fail(rc, rt, c, "MPI_Recv")
}

// MARK: nonblocking

@_cdecl("PMPI_Isend")
public func PMPI_Isend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                       _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    nonblockingSend(buf, count, datatype, dest, tag, comm, request, .standard, "MPI_Isend")
}

@_cdecl("PMPI_Issend")
public func PMPI_Issend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                        _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    nonblockingSend(buf, count, datatype, dest, tag, comm, request, .synchronous, "MPI_Issend")
}

@_cdecl("PMPI_Irsend")
public func PMPI_Irsend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                        _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    nonblockingSend(buf, count, datatype, dest, tag, comm, request, .ready, "MPI_Irsend")
}

@_cdecl("PMPI_Ibsend")
public func PMPI_Ibsend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                        _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    nonblockingSend(buf, count, datatype, dest, tag, comm, request, .buffered, "MPI_Ibsend")
}

@inline(__always)
private func nonblockingSend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32,
                             _ tag: Int32, _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?,
                             _ mode: SendMode, _ fn: StaticString) -> Int32 {
    if let request, withBorrowed(comm, datatype, { rt, c, t -> Bool? in
        var r = RequestID(index: -1, generation: 0)
        if mode == .standard,
           rt.isendFast(buf, count: Int(count), datatype: t, dest: dest, tag: tag, comm: c, request: &r) != nil {
            request.pointee = encodeRequest(r)
            return true
        }
        guard rt.isend(buf, count: Int(count), datatype: t, dest: dest, tag: tag, comm: c, mode: mode, request: &r) == 0
        else { discardFailedRequest(r, rt); return nil }
        request.pointee = encodeRequest(r, owner: c)
        return true
    }) != nil { return 0 }
    guard let rt = runtime(fn) else { return notInitialized }
    let c = decodeComm(comm, rt)
    guard let request else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    var r = RequestID(index: -1, generation: 0)
    let rc = rt.isend(buf, count: Int(count), datatype: decodeType(datatype), dest: dest, tag: tag, comm: c,
                      mode: mode, request: &r)
    if rc != 0 {
        discardFailedRequest(r, rt)
        return fail(rc, rt, c, fn)
    }
    request.pointee = encodeRequest(r, owner: c!)
    return 0
}

@_cdecl("PMPI_Irecv")
public func PMPI_Irecv(_ buf: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32, _ source: Int32,
                       _ tag: Int32, _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    // The common case without reference counting: valid arguments on a live communicator.
    if let request, withBorrowed(comm, datatype, { rt, c, t -> Bool? in
        var r = RequestID(index: -1, generation: 0)
        guard rt.irecv(buf, count: Int(count), datatype: t, source: source, tag: tag, comm: c, request: &r) == 0
        else { discardFailedRequest(r, rt); return nil }
        request.pointee = encodeRequest(r, owner: c)
        return true
    }) != nil { return 0 }
    guard let rt = runtime("MPI_Irecv") else { return notInitialized }
    let c = decodeComm(comm, rt)
    guard let request else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Irecv") }
    var r = RequestID(index: -1, generation: 0)
    let rc = rt.irecv(buf, count: Int(count), datatype: decodeType(datatype), source: source, tag: tag, comm: c,
                      request: &r)
    if rc != 0 { return fail(rc, rt, c, "MPI_Irecv") }
    request.pointee = encodeRequest(r, owner: c!)
    return 0
}

// MARK: send-receive

/// The checks `Runtime.irecv` makes, done before anything is posted so that a send-receive
/// never leaves half of itself behind. Returns an error class or 0.
private func receiveArgumentsError(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Datatype?,
                                   _ source: Int32, _ tag: Int32, _ comm: Communicator?) -> Int32 {
    guard let comm, !comm.isFreed else { return ErrorClass.comm.rawValue }
    guard count >= 0 else { return ErrorClass.count.rawValue }
    guard let datatype, datatype.isCommitted else { return ErrorClass.type.rawValue }
    if buf == nil && count > 0 && datatype.size > 0 && datatype.basicType != nil { return ErrorClass.buffer.rawValue }
    if source != MPIConstant.procNull && source != MPIConstant.anySource
        && !(source >= 0 && Int(source) < comm.peerCount) { return ErrorClass.rank.rawValue }
    if tag != MPIConstant.anyTag && !(tag >= 0 && tag <= MPIConstant.tagUpperBound) { return ErrorClass.tag.rawValue }
    return 0
}

/// Posts the send, then the receive, and waits for both; the status is the receive's.
private func sendReceive(_ rt: Runtime, _ c: Communicator?, send: (UnsafeRawPointer?, Int, Datatype?),
                         dest: Int32, sendTag: Int32,
                         receive: (UnsafeMutableRawPointer?, Int, Datatype?), source: Int32, receiveTag: Int32,
                         status: UnsafeMutableRawPointer?) -> Int32 {
    var s = RequestID(index: -1, generation: 0)
    var rc = rt.isend(send.0, count: send.1, datatype: send.2, dest: dest, tag: sendTag, comm: c, request: &s)
    if rc != 0 { discardFailedRequest(s, rt); return rc }
    var r = RequestID(index: -1, generation: 0)
    rc = rt.irecv(receive.0, count: receive.1, datatype: receive.2, source: source, tag: receiveTag, comm: c,
                  request: &r)
    var st = Status()
    if rc == 0 {
        var h: RequestHandle = r
        rc = rt.wait(&h, status: &st)
    }
    var hs: RequestHandle = s
    var sst = Status()
    let src = rt.wait(&hs, status: &sst)
    if rc == 0 { rc = src }
    store(st, status)
    return rc
}

@_cdecl("PMPI_Sendrecv")
public func PMPI_Sendrecv(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32, _ dest: Int32,
                          _ sendtag: Int32, _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32,
                          _ recvtype: Int32, _ source: Int32, _ recvtag: Int32, _ comm: Int32,
                          _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Sendrecv") else { return notInitialized }
    let c = decodeComm(comm, rt)
    let rtype = decodeType(recvtype)
    var rc = receiveArgumentsError(UnsafeRawPointer(recvbuf), recvcount, rtype, source, recvtag, c)
    if rc == 0 {
        rc = sendReceive(rt, c, send: (sendbuf, Int(sendcount), decodeType(sendtype)), dest: dest, sendTag: sendtag,
                         receive: (recvbuf, Int(recvcount), rtype), source: source, receiveTag: recvtag,
                         status: status)
    }
    return fail(rc, rt, c, "MPI_Sendrecv")
}

@_cdecl("PMPI_Sendrecv_replace")
public func PMPI_Sendrecv_replace(_ buf: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32,
                                  _ sendtag: Int32, _ source: Int32, _ recvtag: Int32, _ comm: Int32,
                                  _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Sendrecv_replace") else { return notInitialized }
    let c = decodeComm(comm, rt)
    let d = decodeType(datatype)
    var rc = receiveArgumentsError(UnsafeRawPointer(buf), count, d, source, recvtag, c)
    if rc != 0 { return fail(rc, rt, c, "MPI_Sendrecv_replace") }
    // The outgoing data is packed into a temporary, sent as bytes; the reply lands in `buf`.
    let bytes = Int(count) * d!.size
    let temp = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 16)
    defer { temp.deallocate() }
    if bytes > 0 { d!.pack(from: UnsafeRawPointer(buf), count: Int(count), packedOffset: 0, into: temp, bytes: bytes) }
    rc = sendReceive(rt, c, send: (UnsafeRawPointer(temp), bytes, Datatype.predefined(.byte)), dest: dest,
                     sendTag: sendtag, receive: (buf, Int(count), d), source: source, receiveTag: recvtag,
                     status: status)
    return fail(rc, rt, c, "MPI_Sendrecv_replace")
}

// MARK: probe

/// Idle polls before a waiting probe starts yielding the core.
private let probeSpinsBeforeYield = 64

@_cdecl("PMPI_Iprobe")
public func PMPI_Iprobe(_ source: Int32, _ tag: Int32, _ comm: Int32, _ flag: UnsafeMutablePointer<Int32>?,
                        _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Iprobe") else { return notInitialized }
    let c = decodeComm(comm, rt)
    guard let flag else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Iprobe") }
    let (rc, found, st) = rt.iprobe(source: source, tag: tag, comm: c)
    if rc != 0 { return fail(rc, rt, c, "MPI_Iprobe") }
    flag.pointee = found ? 1 : 0
    if found { store(st, status) }
    return 0
}

@_cdecl("PMPI_Probe")
public func PMPI_Probe(_ source: Int32, _ tag: Int32, _ comm: Int32, _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Probe") else { return notInitialized }
    let c = decodeComm(comm, rt)
    var idle = 0
    while true {
        let (rc, found, st) = rt.iprobe(source: source, tag: tag, comm: c)
        if rc != 0 { return fail(rc, rt, c, "MPI_Probe") }
        if found { store(st, status); return 0 }
        idle += 1
        if idle > probeSpinsBeforeYield { sched_yield() }
    }
}

/// A message taken off the queue by a matched probe, until MPI_Mrecv / MPI_Imrecv receives it.
final class MatchedMessage {
    /// The runtime's id of the probed message.
    let id: Int
    let comm: Communicator
    init(id: Int, comm: Communicator) {
        self.id = id
        self.comm = comm
    }
}

/// MPI_Message handles: `Handle.messageBase | k`. MPI_MESSAGE_NO_PROC and MPI_MESSAGE_NULL are
/// the predefined values.
let matchedMessages = HandleTable<MatchedMessage>(base: Handle.messageBase)

/// One improbe: (error, found, status, message handle).
private func matchedProbe(_ rt: Runtime, _ source: Int32, _ tag: Int32, _ c: Communicator?)
    -> (Int32, Bool, Status, Int32) {
    let (rc, found, st, id) = rt.improbe(source: source, tag: tag, comm: c)
    if rc != 0 || !found { return (rc, false, st, Handle.messageNull) }
    if id == 0 { return (0, true, st, Handle.messageNoProc) }
    guard let h = matchedMessages.insert(MatchedMessage(id: id, comm: c!)) else {
        return (ErrorClass.intern.rawValue, false, st, Handle.messageNull)
    }
    return (0, true, st, h)
}

@_cdecl("PMPI_Improbe")
public func PMPI_Improbe(_ source: Int32, _ tag: Int32, _ comm: Int32, _ flag: UnsafeMutablePointer<Int32>?,
                         _ message: UnsafeMutablePointer<Int32>?, _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Improbe") else { return notInitialized }
    let c = decodeComm(comm, rt)
    guard let flag, let message else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Improbe") }
    let (rc, found, st, h) = matchedProbe(rt, source, tag, c)
    if rc != 0 { return fail(rc, rt, c, "MPI_Improbe") }
    flag.pointee = found ? 1 : 0
    if found {
        message.pointee = h
        store(st, status)
    }
    return 0
}

@_cdecl("PMPI_Mprobe")
public func PMPI_Mprobe(_ source: Int32, _ tag: Int32, _ comm: Int32, _ message: UnsafeMutablePointer<Int32>?,
                        _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Mprobe") else { return notInitialized }
    let c = decodeComm(comm, rt)
    guard let message else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Mprobe") }
    var idle = 0
    while true {
        let (rc, found, st, h) = matchedProbe(rt, source, tag, c)
        if rc != 0 { return fail(rc, rt, c, "MPI_Mprobe") }
        if found {
            message.pointee = h
            store(st, status)
            return 0
        }
        idle += 1
        if idle > probeSpinsBeforeYield { sched_yield() }
    }
}

/// Starts the receive of a matched message; on success the handle becomes MPI_MESSAGE_NULL.
private func startMatchedReceive(_ rt: Runtime, _ buf: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32,
                                 _ message: UnsafeMutablePointer<Int32>, _ request: inout RequestID)
    -> (Int32, Communicator?) {
    let h = message.pointee
    let d = decodeType(datatype)
    if h == Handle.messageNoProc {
        // A receive from MPI_PROC_NULL: completes at once with the PROC_NULL status.
        let rc = rt.imrecv(buf, count: Int(count), datatype: d, message: 0, comm: rt.world, request: &request)
        if rc == 0 { message.pointee = Handle.messageNull }
        return (rc, nil)
    }
    guard let m = matchedMessages.lookup(h) else { return (ErrorClass.request.rawValue, nil) }
    let rc = rt.imrecv(buf, count: Int(count), datatype: d, message: m.id, comm: m.comm, request: &request)
    if rc == 0 {
        matchedMessages.remove(h)
        message.pointee = Handle.messageNull
    }
    return (rc, m.comm)
}

@_cdecl("PMPI_Mrecv")
public func PMPI_Mrecv(_ buf: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32,
                       _ message: UnsafeMutablePointer<Int32>?, _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Mrecv") else { return notInitialized }
    guard let message else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Mrecv") }
    var r = RequestID(index: -1, generation: 0)
    var (rc, c) = startMatchedReceive(rt, buf, count, datatype, message, &r)
    if rc == 0 {
        var h: RequestHandle = r
        var st = Status()
        rc = rt.wait(&h, status: &st)
        store(st, status)
    }
    return fail(rc, rt, c, "MPI_Mrecv")
}

@_cdecl("PMPI_Imrecv")
public func PMPI_Imrecv(_ buf: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32,
                        _ message: UnsafeMutablePointer<Int32>?, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Imrecv") else { return notInitialized }
    guard let message, let request else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Imrecv") }
    var r = RequestID(index: -1, generation: 0)
    let (rc, c) = startMatchedReceive(rt, buf, count, datatype, message, &r)
    if rc != 0 { return fail(rc, rt, c, "MPI_Imrecv") }
    request.pointee = encodeRequest(r, owner: c ?? rt.world)
    return 0
}

// MARK: persistent requests

@_cdecl("PMPI_Send_init")
public func PMPI_Send_init(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                           _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    persistentSend(buf, count, datatype, dest, tag, comm, request, .standard, "MPI_Send_init")
}

@_cdecl("PMPI_Ssend_init")
public func PMPI_Ssend_init(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32,
                            _ tag: Int32, _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    persistentSend(buf, count, datatype, dest, tag, comm, request, .synchronous, "MPI_Ssend_init")
}

@_cdecl("PMPI_Rsend_init")
public func PMPI_Rsend_init(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32,
                            _ tag: Int32, _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    persistentSend(buf, count, datatype, dest, tag, comm, request, .ready, "MPI_Rsend_init")
}

@_cdecl("PMPI_Bsend_init")
public func PMPI_Bsend_init(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32,
                            _ tag: Int32, _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    persistentSend(buf, count, datatype, dest, tag, comm, request, .buffered, "MPI_Bsend_init")
}

private func persistentSend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32,
                            _ tag: Int32, _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?,
                            _ mode: SendMode, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    let c = decodeComm(comm, rt)
    guard let request else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    var r = RequestID(index: -1, generation: 0)
    let rc = rt.sendInit(buf, count: Int(count), datatype: decodeType(datatype), dest: dest, tag: tag, comm: c,
                         mode: mode, request: &r)
    if rc != 0 { return fail(rc, rt, c, fn) }
    request.pointee = encodeRequest(r, owner: c!)
    return 0
}

@_cdecl("PMPI_Recv_init")
public func PMPI_Recv_init(_ buf: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32, _ source: Int32,
                           _ tag: Int32, _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Recv_init") else { return notInitialized }
    let c = decodeComm(comm, rt)
    guard let request else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Recv_init") }
    var r = RequestID(index: -1, generation: 0)
    let rc = rt.recvInit(buf, count: Int(count), datatype: decodeType(datatype), source: source, tag: tag, comm: c,
                         request: &r)
    if rc != 0 { return fail(rc, rt, c, "MPI_Recv_init") }
    request.pointee = encodeRequest(r, owner: c!)
    return 0
}

// MARK: buffered-send buffer

@_cdecl("PMPI_Buffer_attach")
public func PMPI_Buffer_attach(_ buffer: UnsafeMutableRawPointer?, _ size: Int32) -> Int32 {
    guard let rt = runtime("MPI_Buffer_attach") else { return notInitialized }
    if size < 0 { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Buffer_attach") }
    if buffer == nil && size > 0 { return fail(ErrorClass.buffer.rawValue, rt, nil, "MPI_Buffer_attach") }
    return fail(rt.attachBuffer(buffer, bytes: Int(size)), rt, nil, "MPI_Buffer_attach")
}

/// `buffer_addr` is declared `void *` but is really `void **` (MPI-3.1 §3.6.1).
@_cdecl("PMPI_Buffer_detach")
public func PMPI_Buffer_detach(_ bufferAddress: UnsafeMutableRawPointer?, _ size: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Buffer_detach") else { return notInitialized }
    guard let bufferAddress, let size else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Buffer_detach") }
    let (p, n) = rt.detachBuffer()
    bufferAddress.assumingMemoryBound(to: UnsafeMutableRawPointer?.self).pointee = p
    size.pointee = Int32(truncatingIfNeeded: n)
    return 0
}
