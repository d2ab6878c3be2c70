// Point-to-point entry points: argument checks (the error classes the standard names), then
// the protocol choice: self, eager through the rings, or rendezvous. Blocking forms are the
// nonblocking ones followed by a wait.
import FerryCore
import FerryDatatype
#if canImport(Glibc)
import Glibc
#endif

extension Runtime {
    // MARK: argument checks

    @inline(__always)
    func checkBuffer(_ buffer: UnsafeRawPointer?, count: Int, datatype: Datatype?, comm: Communicator?) -> Int32 {
        guard let comm, !comm.isFreed else { return ErrorClass.comm.rawValue }
        guard count >= 0 else { return ErrorClass.count.rawValue }
        guard let datatype, datatype.isCommitted else { return ErrorClass.type.rawValue }
        if buffer == nil && count > 0 && datatype.size > 0 && datatype.basicType != nil {
            return ErrorClass.buffer.rawValue
        }
        return 0
    }

    @inline(__always)
    func checkPeer(_ r: Int32, _ comm: Communicator, allowAny: Bool) -> Int32 {
        if r == MPIConstant.procNull { return 0 }
        if allowAny && r == MPIConstant.anySource { return 0 }
        return r >= 0 && Int(r) < comm.peerCount ? 0 : ErrorClass.rank.rawValue
    }

    @inline(__always)
    func checkTag(_ t: Int32, allowAny: Bool) -> Int32 {
        if allowAny && t == MPIConstant.anyTag { return 0 }
        return t >= 0 && t <= MPIConstant.tagUpperBound ? 0 : ErrorClass.tag.rawValue
    }

    /// The checks of a send: communicator, count, datatype, buffer, destination, tag.
    @inline(__always)
    func checkSend(_ buffer: UnsafeRawPointer?, _ count: Int, _ datatype: Datatype?, _ dest: Int32, _ tag: Int32,
                   _ comm: Communicator?) -> Int32 {
        var rc = checkBuffer(buffer, count: count, datatype: datatype, comm: comm)
        if rc == 0 { rc = checkPeer(dest, comm!, allowAny: false) }
        if rc == 0 { rc = checkTag(tag, allowAny: false) }
        return rc
    }

    /// The checks of a receive: as a send's, with MPI_ANY_SOURCE and MPI_ANY_TAG allowed.
    @inline(__always)
    func checkReceive(_ buffer: UnsafeRawPointer?, _ count: Int, _ datatype: Datatype?, _ source: Int32, _ tag: Int32,
                      _ comm: Communicator?) -> Int32 {
        var rc = checkBuffer(buffer, count: count, datatype: datatype, comm: comm)
        if rc == 0 { rc = checkPeer(source, comm!, allowAny: true) }
        if rc == 0 { rc = checkTag(tag, allowAny: true) }
        return rc
    }

    // MARK: send

    /// Starts a send. Returns an error code, and the request in `request`.
    public func isend(_ buffer: UnsafeRawPointer?, count: Int, datatype: Datatype?, dest: Int32, tag: Int32,
                      comm: Communicator?, mode: SendMode = .standard, request: inout RequestID) -> Int32 {
        var rc = checkSend(buffer, count, datatype, dest, tag, comm)
        if rc != 0 { return rc }
        lock(); defer { unlock() }
        let i = requests.allocate(.send)
        setupSend(i, buffer, count, datatype!, dest, tag, comm!, comm!.pointToPointContext, mode)
        rc = startSend(i)
        request = requests.id(i)
        return rc
    }

    /// Collective traffic: same protocol, the collective context, no argument checks.
    func isendInternal(_ buffer: UnsafeRawPointer?, count: Int, datatype: Datatype, dest: Int32, tag: Int32,
                       comm: Communicator, context: UInt32) -> RequestID {
        lock(); defer { unlock() }
        let i = requests.allocate(.send)
        setupSend(i, buffer, count, datatype, dest, tag, comm, context, .standard)
        _ = startSend(i)
        return requests.id(i)
    }

    @inline(__always)
    func setupSend(_ i: Int32, _ buffer: UnsafeRawPointer?, _ count: Int, _ datatype: Datatype, _ dest: Int32,
                   _ tag: Int32, _ comm: Communicator, _ context: UInt32, _ mode: SendMode) {
        requests.slots[Int(i)].attach(buffer: UnsafeMutableRawPointer(mutating: buffer), count: count,
                                      datatype: datatype, comm: comm)
        requests.slots[Int(i)].peer = dest
        requests.slots[Int(i)].tag = tag
        requests.slots[Int(i)].context = context
        requests.slots[Int(i)].sourceRank = comm.rank
        requests.slots[Int(i)].mode = mode
    }

    /// Starts (or restarts, for persistent requests) the send in slot `i`. Caller holds the lock.
    func startSend(_ i: Int32) -> Int32 {
        let s = requests.slots.pointer(i)
        requests.slots[Int(i)].isComplete = false
        requests.slots[Int(i)].isActive = true
        requests.slots[Int(i)].progressBytes = 0
        requests.slots[Int(i)].status = Status()
        if s.pointee.peer == MPIConstant.procNull {
            requests.slots[Int(i)].status = .procNull
            complete(i)
            return 0
        }
        if s.pointee.mode == .buffered {
            // Copy into the attached buffer, then send that copy as a standard send.
            guard let off = bsend.reserve(s.pointee.bytes + MPIConstant.bsendOverhead) else {
                complete(i)
                return ErrorClass.buffer.rawValue
            }
            let copy = bsend.base! + off + MPIConstant.bsendOverhead
            if s.pointee.bytes > 0 { packOut(s, offset: 0, into: copy, bytes: s.pointee.bytes) }
            let (bytes, peer, tag, comm, context) = (s.pointee.bytes, s.pointee.peer, s.pointee.tag, s.pointee.comm!, s.pointee.context)
            // `allocate` may move the slab: no slot pointer is used after it.
            let j = requests.allocate(.send)
            setupSend(j, copy, bytes, Datatype.predefined(.byte), peer, tag, comm, context, .standard)
            requests.slots[Int(j)].bsendOffset = off
            requests.slots[Int(j)].freeWhenDone = true
            complete(i)
            return startSend(j)
        }
        let dest = s.pointee.commRef!._withUnsafeGuaranteedRef { $0.worldRank(ofPeer: s.pointee.peer) }
        requests.slots[Int(i)].worldPeer = dest
        if dest == worldRank { sendToSelf(i); return 0 }
        if s.pointee.bytes <= tunables.eagerLimitBytes {
            requests.slots[Int(i)].phase = .queuedEager
            enqueue(.eager(i), to: dest)
        } else {
            requests.slots[Int(i)].phase = .queuedEager
            enqueue(.requestToSend(i), to: dest)
        }
        return 0
    }

    /// A send whose destination is this process: copy straight into a posted receive, or into
    /// an unexpected message. Synchronous sends complete when the receive matches.
    private func sendToSelf(_ i: Int32) {
        let s = requests.slots.pointer(i)
        let ctx = s.pointee.context, src = s.pointee.sourceRank, tag = s.pointee.tag
        let sync = s.pointee.mode == .synchronous
        if let r = findPosted(context: ctx, source: src, tag: tag) {
            beginReceive(r, source: src, tag: tag, from: worldRank, total: s.pointee.bytes)
            copySendToReceive(i, r)
            requests.slots[Int(r)].progressBytes = s.pointee.bytes
            completeReceive(r)
            requests.slots[Int(i)].phase = .done
            complete(i)
            return
        }
        let data = unexpectedBuffers.take(s.pointee.bytes)
        if s.pointee.bytes > 0 { packOut(s, offset: 0, into: data, bytes: s.pointee.bytes) }
        let id = nextUnexpectedID
        nextUnexpectedID += 1
        unexpected[id] = UnexpectedMessage(context: ctx, source: src, tag: tag, fromWorld: worldRank, total: s.pointee.bytes,
                                           data: data, received: s.pointee.bytes, isRendezvous: false, synchronous: sync,
                                           senderRequest: requests.id(i).wire, address: 0)
        unexpectedOrder.append(id)
        if sync {
            requests.slots[Int(i)].phase = .awaitingAck
        } else {
            requests.slots[Int(i)].phase = .done
            complete(i)
        }
    }

    /// Moves a message from a send slot to a receive slot in this process, chunk by chunk.
    private func copySendToReceive(_ i: Int32, _ r: Int32) {
        let s = requests.slots.pointer(i)
        let d = requests.slots.pointer(r)
        if s.pointee.isContiguousData && d.pointee.isContiguousData {
            let n = min(s.pointee.bytes, d.pointee.bytes)
            if n > 0 { memmove(d.pointee.contiguousBase!, s.pointee.contiguousBase!, n) }
            return
        }
        var off = 0
        while off < s.pointee.bytes {
            let n = min(bounceBytes, s.pointee.bytes - off)
            packOut(s, offset: off, into: bounce, bytes: n)
            unpackIn(r, from: bounce, bytes: n, at: off)
            off += n
        }
    }

    // MARK: receive

    public func irecv(_ buffer: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?, source: Int32, tag: Int32,
                      comm: Communicator?, request: inout RequestID) -> Int32 {
        let rc = checkReceive(UnsafeRawPointer(buffer), count, datatype, source, tag, comm)
        if rc != 0 { return rc }
        lock(); defer { unlock() }
        let i = requests.allocate(.receive)
        setupReceive(i, buffer, count, datatype!, source, tag, comm!, comm!.pointToPointContext)
        startReceive(i)
        request = requests.id(i)
        return 0
    }

    func irecvInternal(_ buffer: UnsafeMutableRawPointer?, count: Int, datatype: Datatype, source: Int32, tag: Int32,
                       comm: Communicator, context: UInt32) -> RequestID {
        lock(); defer { unlock() }
        let i = requests.allocate(.receive)
        setupReceive(i, buffer, count, datatype, source, tag, comm, context)
        startReceive(i)
        return requests.id(i)
    }

    @inline(__always)
    func setupReceive(_ i: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ datatype: Datatype,
                      _ source: Int32, _ tag: Int32, _ comm: Communicator, _ context: UInt32) {
        requests.slots[Int(i)].attach(buffer: buffer, count: count, datatype: datatype, comm: comm)
        requests.slots[Int(i)].peer = source
        requests.slots[Int(i)].tag = tag
        requests.slots[Int(i)].context = context
    }

    /// Matches against unexpected messages, else posts. Caller holds the lock.
    func startReceive(_ i: Int32) {
        requests.slots[Int(i)].isComplete = false
        requests.slots[Int(i)].isActive = true
        requests.slots[Int(i)].status = Status()
        let s = requests.slots.pointer(i)
        if s.pointee.peer == MPIConstant.procNull {
            requests.slots[Int(i)].status = .procNull
            complete(i)
            return
        }
        // Messages still in the rings are younger than every unexpected one and will be matched
        // against the posted queue when they are read, so no draining is needed here: a receive
        // posted ahead of its message gets the data copied straight from the cell.
        if let k = findUnexpected(context: s.pointee.context, source: s.pointee.peer, tag: s.pointee.tag) {
            let id = unexpectedOrder.remove(at: k)
            deliver(id, probed: false, to: i)
            return
        }
        posted.append(i)
    }

    func findUnexpected(context: UInt32, source: Int32, tag: Int32) -> Int? {
        for k in 0..<unexpectedOrder.count {
            let m = unexpected[unexpectedOrder[k]]!
            if m.context == context && (source == MPIConstant.anySource || m.source == source)
                && (tag == MPIConstant.anyTag || m.tag == tag) {
                return k
            }
        }
        return nil
    }

    /// Hands an unexpected (or, with `probed`, a matched-probe) message to receive `i`.
    func deliver(_ id: Int, probed: Bool, to i: Int32) {
        var m = probed ? probedMessages.removeValue(forKey: id)! : unexpected.removeValue(forKey: id)!
        beginReceive(i, source: m.source, tag: m.tag, from: m.fromWorld, total: m.total)
        if m.isRendezvous {
            startRendezvousReceive(i, from: m.fromWorld, senderRequest: m.senderRequest, address: m.address)
            return
        }
        if m.synchronous { sendControl(.finish, to: m.fromWorld, senderRequest: m.senderRequest) }
        if m.received >= m.total {
            unpackIn(i, from: m.data!, bytes: m.total, at: 0)
            requests.slots[Int(i)].progressBytes = m.total
            unexpectedBuffers.give(m.data!, m.total)
            completeReceive(i)
        } else {
            // Still arriving: keep it where continuation cells look for it.
            m.waitingRequest = i
            unexpected[id] = m
        }
    }

    // MARK: probe

    /// `MPI_Iprobe`. Returns (error code, found, status).
    public func iprobe(source: Int32, tag: Int32, comm: Communicator?) -> (Int32, Bool, Status) {
        guard let comm, !comm.isFreed else { return (ErrorClass.comm.rawValue, false, Status()) }
        var rc = checkPeer(source, comm, allowAny: true)
        if rc == 0 { rc = checkTag(tag, allowAny: true) }
        if rc != 0 { return (rc, false, Status()) }
        if source == MPIConstant.procNull { return (0, true, .procNull) }
        lock(); defer { unlock() }
        progress()
        guard let k = findUnexpected(context: comm.pointToPointContext, source: source, tag: tag) else {
            return (0, false, Status())
        }
        let m = unexpected[unexpectedOrder[k]]!
        return (0, true, Status(source: m.source, tag: m.tag, error: 0, byteCount: m.total))
    }

    /// `MPI_Improbe`: like iprobe, but removes the message so that only `mrecv` can receive it.
    /// Message id 0 is MPI_MESSAGE_NO_PROC (a probe of MPI_PROC_NULL).
    public func improbe(source: Int32, tag: Int32, comm: Communicator?) -> (Int32, Bool, Status, Int) {
        guard let comm, !comm.isFreed else { return (ErrorClass.comm.rawValue, false, Status(), -1) }
        var rc = checkPeer(source, comm, allowAny: true)
        if rc == 0 { rc = checkTag(tag, allowAny: true) }
        if rc != 0 { return (rc, false, Status(), -1) }
        if source == MPIConstant.procNull { return (0, true, .procNull, 0) }
        lock(); defer { unlock() }
        progress()
        guard let k = findUnexpected(context: comm.pointToPointContext, source: source, tag: tag) else {
            return (0, false, Status(), -1)
        }
        let id = unexpectedOrder.remove(at: k)
        let m = unexpected.removeValue(forKey: id)!
        probedMessages[id] = m
        return (0, true, Status(source: m.source, tag: m.tag, error: 0, byteCount: m.total), id)
    }

    /// `MPI_Imrecv` of a message from `improbe`.
    public func imrecv(_ buffer: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?, message: Int,
                       comm: Communicator, request: inout RequestID) -> Int32 {
        let rc = checkBuffer(buffer, count: count, datatype: datatype, comm: comm)
        if rc != 0 { return rc }
        lock(); defer { unlock() }
        let i = requests.allocate(.receive)
        setupReceive(i, buffer, count, datatype!, MPIConstant.procNull, 0, comm, comm.pointToPointContext)
        request = requests.id(i)
        if message == 0 {
            requests.slots[Int(i)].status = .procNull
            complete(i)
            return 0
        }
        guard probedMessages[message] != nil else {
            requests.release(i)
            request = RequestID(index: -1, generation: 0)
            return ErrorClass.request.rawValue
        }
        requests.slots[Int(i)].isActive = true
        deliver(message, probed: true, to: i)
        return 0
    }

    // MARK: persistent requests

    public func sendInit(_ buffer: UnsafeRawPointer?, count: Int, datatype: Datatype?, dest: Int32, tag: Int32,
                         comm: Communicator?, mode: SendMode, request: inout RequestID) -> Int32 {
        let rc = checkSend(buffer, count, datatype, dest, tag, comm)
        if rc != 0 { return rc }
        lock(); defer { unlock() }
        let i = requests.allocate(.send)
        setupSend(i, buffer, count, datatype!, dest, tag, comm!, comm!.pointToPointContext, mode)
        requests.slots[Int(i)].isPersistent = true
        requests.slots[Int(i)].isComplete = true
        request = requests.id(i)
        return 0
    }

    public func recvInit(_ buffer: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?, source: Int32, tag: Int32,
                         comm: Communicator?, request: inout RequestID) -> Int32 {
        let rc = checkReceive(UnsafeRawPointer(buffer), count, datatype, source, tag, comm)
        if rc != 0 { return rc }
        lock(); defer { unlock() }
        let i = requests.allocate(.receive)
        setupReceive(i, buffer, count, datatype!, source, tag, comm!, comm!.pointToPointContext)
        requests.slots[Int(i)].isPersistent = true
        requests.slots[Int(i)].isComplete = true
        request = requests.id(i)
        return 0
    }

    /// `MPI_Start`.
    public func start(_ r: RequestID) -> Int32 {
        lock(); defer { unlock() }
        guard let i = requests.validate(r), requests.slots[Int(i)].isPersistent else { return ErrorClass.request.rawValue }
        if requests.slots[Int(i)].isActive { return ErrorClass.request.rawValue }
        if requests.slots[Int(i)].kind == .send { return startSend(i) }
        startReceive(i)
        return 0
    }

    // MARK: cancel

    /// `MPI_Cancel`: receives not yet matched are cancelled; sends whose data has not left this
    /// process are cancelled; anything else completes normally (status says not cancelled).
    public func cancel(_ r: RequestID) -> Int32 {
        lock()
        guard let i = requests.validate(r) else { unlock(); return ErrorClass.request.rawValue }
        if requests.slots[Int(i)].kind == .generalized, let cb = requests.callbacks[i] {
            // cancel_fn learns whether MPI_Grequest_complete already ran, and runs outside the
            // lock: it typically calls MPI_Grequest_complete itself.
            let completed = requests.slots[Int(i)].isComplete
            unlock()
            return cb.cancel(completed)
        }
        defer { unlock() }
        let s = requests.slots.pointer(i)
        if s.pointee.isComplete { return 0 }
        if s.pointee.kind == .receive, let k = posted.firstIndex(of: i) {
            posted.remove(at: k)
            requests.slots[Int(i)].status.cancelled = true
            complete(i)
        } else if s.pointee.kind == .send && s.pointee.phase == .queuedEager && s.pointee.progressBytes == 0 {
            requests.slots[Int(i)].phase = .done
            requests.slots[Int(i)].status.cancelled = true
            complete(i)
        }
        return 0
    }

    // MARK: buffered sends

    public func attachBuffer(_ p: UnsafeMutableRawPointer?, bytes: Int) -> Int32 {
        lock(); defer { unlock() }
        guard bytes >= 0 else { return ErrorClass.arg.rawValue }
        if bsend.base != nil { return ErrorClass.buffer.rawValue }
        bsend.attach(p, bytes)
        return 0
    }

    /// Waits until every buffered send has left the buffer, then detaches it.
    public func detachBuffer() -> (UnsafeMutableRawPointer?, Int) {
        while true {
            lock()
            if bsend.isIdle {
                let r = (bsend.base, bsend.capacity)
                bsend.detach()
                unlock()
                return r
            }
            progress()
            unlock()
            backoff(0)
        }
    }
}

/// First-fit allocator over the user's attached buffer (MPI_Buffer_attach).
struct BufferedSendPool {
    var base: UnsafeMutableRawPointer? = nil
    var capacity = 0
    /// Allocated (offset, length), sorted by offset.
    var used: [(Int, Int)] = []

    var isIdle: Bool { used.isEmpty }

    mutating func attach(_ p: UnsafeMutableRawPointer?, _ n: Int) { base = p; capacity = n; used = [] }
    mutating func detach() { base = nil; capacity = 0 }

    mutating func reserve(_ n: Int) -> Int? {
        guard base != nil else { return nil }
        // No rounding up: the standard promises that `size + MPI_BSEND_OVERHEAD` bytes per
        // message suffice, and the copy is sent as bytes, so it needs no alignment.
        let need = n
        var cursor = 0
        for (k, (off, len)) in used.enumerated() {
            if off - cursor >= need { used.insert((cursor, need), at: k); return cursor }
            cursor = off + len
        }
        if capacity - cursor >= need { used.append((cursor, need)); return cursor }
        return nil
    }

    mutating func release(_ off: Int) {
        if let k = used.firstIndex(where: { $0.0 == off }) { used.remove(at: k) }
    }
}
