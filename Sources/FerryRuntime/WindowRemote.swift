// Windows whose members are on several nodes (MPI-3.1 chapter 11 across a network).
//
// Nodes share no memory, so such a window has no shared segment: every access to another
// member's memory, and every synchronization, travels as an active message over the window's
// private communicator (the ordinary protocol, so shm inside a node and TCP between nodes),
// and the TARGET process carries it out on its own memory when it makes progress — inside any
// MPI call it makes (the MPI standard's progress rule for passive target; a progress thread is
// a later issue's). Accesses to this process's own part are plain memory operations.
//
// Active messages (tag `RMAWire.activeTag` in the window's point-to-point context) carry an
// `RMAHeader`, the target datatype's runs when it is derived, and the origin's data when it is
// small; larger data follows as a message of its own (tag `RMAWire.dataTag`), which the target
// receives straight into window memory (put) or a scratch buffer (accumulate). Gets and the
// fetching calls post their receive for the reply (a tag of its own per call) before asking,
// and wait for it before they return. Puts and accumulates are not acknowledged one by one:
// flush, unlock, complete and fence send a flush to each target that got some since the last
// one and wait for its answer, which carries the first error they met. The target serves one
// origin's messages in order (accumulate ordering), holding back the next while data of one is
// still arriving; a message that arrives whole with nothing held back is served as it arrives
// (not queued). Locks are queued at the target (FIFO, shared holders together).
import FerryCore
import FerryDatatype
import FerryReduce
import FerryCollectives
#if canImport(Glibc)
import Glibc
#endif

/// What an active message asks of its target (or tells its origin).
enum RMAOp: UInt8 {
    case put = 1, get, accumulate, getAccumulate, compareAndSwap
    case lock, unlock, post, complete
    /// Asks the target to answer (`ack`) once everything the origin sent before is done.
    case flush
    /// Answers a flush with the first error of the puts and accumulates it covers (`replyTag`
    /// 0), or tells that a fetching call failed (`replyTag`).
    case ack
    case grant
}

/// The fixed part of every active message.
struct RMAHeader {
    var op: UInt8
    var flags: UInt8 = 0
    /// PredefinedOp of accumulate-type calls.
    var accOp: UInt8 = 0
    /// BasicType of a predefined target datatype.
    var basic: UInt8 = 0
    var error: Int32 = 0
    /// Tag of the reply (fetching calls), or of the call an error acknowledgement is about.
    var replyTag: Int32 = 0
    /// Runs of a derived target datatype that follow the header.
    var runCount: Int32 = 0
    var disp: Int64 = 0
    var count: Int64 = 0
    /// Bytes of origin data (inline after the runs unless `separateData`).
    var dataBytes: Int64 = 0
    /// Lower bound and extent of a derived target datatype.
    var lowerBound: Int64 = 0
    var extent: Int64 = 0

    init(_ op: RMAOp) { self.op = op.rawValue }

    static let separateData: UInt8 = 1
    static let exclusive: UInt8 = 2
    static let derived: UInt8 = 4
}

enum RMAWire {
    static let activeTag: Int32 = 1
    static let dataTag: Int32 = 2
    /// Replies use tags from here on (one per fetching call, per window).
    static let replyTagBase: Int32 = 0x4000_0000
    static let headerBytes = MemoryLayout<RMAHeader>.stride
    /// One run on the wire: displacement, count, basic type (three Int64).
    static let runBytes = 24
}

/// The state of a window over several nodes, as this process sees it. Changed under the
/// runtime's lock only (the service runs inside `progress`).
final class RemoteWindow {
    /// Per target: puts and accumulates sent since the last flush, flushes sent and answered.
    var unflushed: [Int]
    var flushesSent: [Int]
    var flushesDone: [Int]
    /// First error a target reported for a put or accumulate, returned by the next flush.
    var firstError: Int32 = 0
    /// Per origin: the first error its puts and accumulates met here since its last flush.
    var errorsFrom: [Int32]
    /// Errors of fetching calls, by reply tag.
    var replyErrors: [Int32: Int32] = [:]
    var nextReply: UInt32 = 0
    /// Per target: locks granted to this process.
    var grants: [Int]
    /// Per target: posts received (MPI_Win_post naming this process).
    var posts: [UInt64]
    /// Completions received (MPI_Win_complete of origins of our exposure epochs).
    var completions: UInt64 = 0
    /// This process's lock, as a target.
    var exclusiveHeld = false
    var sharedHeld = 0
    var lockQueue: [(origin: Int32, exclusive: Bool)] = []
    /// Origins whose next message waits (data of an earlier one still arriving).
    var blocked = Set<Int32>()
    /// Active messages sent to and served from each member (MPI_Win_free drains them).
    var sent: [Int]
    var received: [Int]
    /// MPI_Win_allocate memory of this process.
    private(set) var memory: UnsafeMutableRawPointer?

    init(size n: Int, memory: UnsafeMutableRawPointer?) {
        unflushed = Array(repeating: 0, count: n)
        flushesSent = unflushed
        flushesDone = unflushed
        grants = unflushed
        sent = unflushed
        received = unflushed
        errorsFrom = Array(repeating: 0, count: n)
        posts = Array(repeating: 0, count: n)
        self.memory = memory
    }

    func releaseMemory() {
        free(memory)
        memory = nil
    }

    func grantable(_ exclusive: Bool) -> Bool { !exclusiveHeld && (!exclusive || sharedHeld == 0) }

    func hold(_ exclusive: Bool) { if exclusive { exclusiveHeld = true } else { sharedHeld += 1 } }

    func release(_ exclusive: Bool) {
        if exclusive { exclusiveHeld = false } else if sharedHeld > 0 { sharedHeld -= 1 }
    }
}

/// The value each process contributes when a window over several nodes is created.
private struct SpreadRecord {
    var base: UInt64
    var size: Int64
    var dispUnit: Int64
    var failed: Int64
}

extension Runtime {
    // MARK: creation and free

    /// Creates a window over several nodes on `comm` (its private communicator; the context id
    /// is released here on failure).
    func createSpreadWindow(flavor: Window.Flavor, base: UnsafeMutableRawPointer?, size: Int, dispUnit: Int,
                            comm: Communicator, hints: [(key: String, value: String)]) throws(MPIError) -> Window {
        let t = CommTransport(self, comm)
        let n = comm.size
        var memory: UnsafeMutableRawPointer? = nil
        var failed: Int64 = 0
        if flavor == .allocate && size > 0 {
            var p: UnsafeMutableRawPointer? = nil
            if posix_memalign(&p, 64, size) == 0 { memory = p } else { failed = 1 }
        }
        let myBase = flavor == .allocate ? memory : base
        var mine = SpreadRecord(base: UInt64(UInt(bitPattern: myBase)), size: Int64(size), dispUnit: Int64(dispUnit),
                                failed: failed)
        var records = [SpreadRecord](repeating: mine, count: n)
        let rc = withUnsafeBytes(of: &mine) { s in records.withUnsafeMutableBytes { r in
            Collectives.allgather(t, send: s.baseAddress, recv: r.baseAddress!, blockBytes: MemoryLayout<SpreadRecord>.stride)
        } }
        if rc != 0 || records.contains(where: { $0.failed != 0 }) {
            free(memory)
            releaseContextID(comm.contextID)
            if rc != 0 { throw MPIError(code: rc, "window creation exchange") }
            throw MPIError(.noMem, "a process could not allocate its window memory")
        }
        let members = records.map {
            Window.Member(pid: 0, base: UInt($0.base), size: Int($0.size), dispUnit: Int($0.dispUnit), dataOffset: -1)
        }
        let w = Window(flavor: flavor, comm: comm, members: members, base: myBase,
                       remote: RemoteWindow(size: n, memory: memory))
        w.hints = defaultWindowHints(flavor)
        for (k, v) in hints { w.setHint(k, v) }
        lock()
        rmaWindows[comm.pointToPointContext] = w
        rmaActive = true
        rmaScanNeeded = true   // messages of an origin that finished creating first may be waiting
        unlock()
        return w
    }

    /// MPI_Win_free of a window over several nodes: every operation acknowledged, every active
    /// message sent to this process served (the counts are exchanged), then a barrier.
    func quiesceSpreadWindow(_ w: Window) throws(MPIError) {
        let r = w.remote!
        // A target's late error is dropped here: the window goes away whatever it says.
        _ = flushKeepingError(w, Array(0..<Int32(w.size)))
        let t = CommTransport(self, w.comm)
        lock()
        var sent = r.sent.map { Int64($0) }
        unlock()
        var expected = [Int64](repeating: 0, count: w.size)
        var rc = sent.withUnsafeBytes { s in expected.withUnsafeMutableBytes { e in
            Collectives.alltoall(t, send: s.baseAddress, recv: e.baseAddress!, blockBytes: 8)
        } }
        if rc == 0 {
            pollUntil { (0..<w.size).allSatisfy { Int64(r.received[$0]) >= expected[$0] } }
            rc = Collectives.barrier(t)
        }
        lock()
        rmaWindows[w.comm.pointToPointContext] = nil
        updateServiceActive()
        unlock()
        sent.removeAll()
        if rc != 0 { throw MPIError(code: rc, "MPI_Win_free: the window's processes could not synchronize") }
    }

    // MARK: origin side

    /// For windows with known sizes, the range check every call makes (dynamic windows: the
    /// target checks). nil: go ahead.
    func spreadRangeCheck(_ w: Window, _ target: Int32, disp: Int, count: Int, type: Datatype) -> Int32? {
        if w.flavor == .dynamic { return nil }
        let (mem, rc) = windowTarget(w, target, disp: disp, count: count, type: type)
        return mem == nil ? rc : nil
    }

    /// Most bytes of origin data an active message carries itself.
    private var inlineDataLimit: Int { max(4096, tunables.eagerLimitBytes - RMAWire.headerBytes) }

    /// A header naming target datatype `tt` (predefined: its code; derived: its runs).
    private func rmaHeader(_ op: RMAOp, _ tt: Datatype, disp: Int, count: Int) -> (RMAHeader, [TypeRun]) {
        var h = RMAHeader(op)
        h.disp = Int64(disp)
        h.count = Int64(count)
        if let b = tt.basicType {
            h.basic = b.rawValue
            return (h, [])
        }
        let runs = tt.typeRuns
        h.flags |= RMAHeader.derived
        h.runCount = Int32(runs.count)
        h.lowerBound = Int64(tt.lowerBound)
        h.extent = Int64(tt.extent)
        return (h, runs)
    }

    /// The header of an access carrying `dataBytes` of origin data, and whether they travel
    /// inside the active message.
    private func accessHeader(_ op: RMAOp, _ tt: Datatype, disp: Int, count: Int, dataBytes: Int,
                              _ pop: PredefinedOp?) -> (RMAHeader, [TypeRun], Bool) {
        var (h, runs) = rmaHeader(op, tt, disp: disp, count: count)
        h.dataBytes = Int64(dataBytes)
        h.accOp = pop?.rawValue ?? 0
        let inline = dataBytes <= inlineDataLimit
        if !inline { h.flags |= RMAHeader.separateData }
        return (h, runs, inline)
    }

    /// `MPI_Put` and `MPI_Accumulate` to another member: returns once the origin buffer may be
    /// reused (the operation is complete at the target after the next flush).
    func spreadWrite(_ w: Window, _ op: RMAOp, origin: UnsafeRawPointer?, originCount: Int, originType ot: Datatype,
                     target: Int32, targetDisp: Int, targetCount: Int, targetType tt: Datatype,
                     op pop: PredefinedOp?) -> Int32 {
        let bytes = originCount * ot.size
        let (h, runs, inline) = accessHeader(op, tt, disp: targetDisp, count: targetCount, dataBytes: bytes, pop)
        lock()
        sendActiveMessage(w, to: target, h, runs: runs, payloadBytes: inline ? bytes : 0) { p in
            ot.pack(from: origin, count: originCount, packedOffset: 0, into: p, bytes: bytes)
        }
        w.remote!.unflushed[Int(target)] += 1
        let data = inline ? nil : sendLocked(w, origin, originCount, ot, to: target, tag: RMAWire.dataTag)
        unlock()
        if let data { return waitInternal(data).error }
        return 0
    }

    /// `MPI_Get` (`input` nil) and `MPI_Get_accumulate` / `MPI_Fetch_and_op` from another member:
    /// the reply lands in (`into`, `count`, `type`) before this returns.
    func spreadRead(_ w: Window, _ op: RMAOp, into dst: UnsafeMutableRawPointer?, count: Int, type: Datatype,
                    input: UnsafeRawPointer?, inputCount: Int, inputType: Datatype?, target: Int32, targetDisp: Int,
                    targetCount: Int, targetType tt: Datatype, op pop: PredefinedOp?) -> Int32 {
        let inBytes = inputType.map { inputCount * $0.size } ?? 0
        let (header, runs, inline) = accessHeader(op, tt, disp: targetDisp, count: targetCount, dataBytes: inBytes, pop)
        var h = header
        lock()
        let tag = nextReplyTag(w)
        h.replyTag = tag
        let reply = receiveLocked(w, dst, count, type, from: target, tag: tag)
        sendActiveMessage(w, to: target, h, runs: runs, payloadBytes: inline ? inBytes : 0) { p in
            inputType?.pack(from: input, count: inputCount, packedOffset: 0, into: p, bytes: inBytes)
        }
        let data = inline ? nil : sendLocked(w, input, inputCount, inputType!, to: target, tag: RMAWire.dataTag)
        unlock()
        return finishRead(w, reply: reply, tag: tag, data: data)
    }

    /// `MPI_Compare_and_swap` on another member.
    func spreadCompareAndSwap(_ w: Window, origin: UnsafeRawPointer, compare: UnsafeRawPointer,
                              result: UnsafeMutableRawPointer, type: Datatype, target: Int32, targetDisp: Int) -> Int32 {
        let n = type.size
        var (h, _) = rmaHeader(.compareAndSwap, type, disp: targetDisp, count: 1)
        h.dataBytes = Int64(2 * n)
        lock()
        let tag = nextReplyTag(w)
        h.replyTag = tag
        let reply = receiveLocked(w, result, 1, type, from: target, tag: tag)
        sendActiveMessage(w, to: target, h, runs: [], payloadBytes: 2 * n) { p in
            p.copyMemory(from: origin, byteCount: n)
            (p + n).copyMemory(from: compare, byteCount: n)
        }
        unlock()
        return finishRead(w, reply: reply, tag: tag, data: nil)
    }

    private func finishRead(_ w: Window, reply: RequestID, tag: Int32, data: RequestID?) -> Int32 {
        let drc = data.map { waitInternal($0).error } ?? 0
        let st = waitInternal(reply)
        lock()
        let remoteError = w.remote!.replyErrors.removeValue(forKey: tag)
        unlock()
        if let remoteError, remoteError != 0 { return remoteError }
        return drc != 0 ? drc : st.error
    }

    private func nextReplyTag(_ w: Window) -> Int32 {
        let r = w.remote!
        r.nextReply &+= 1
        return RMAWire.replyTagBase | Int32(r.nextReply & 0x3FFF_FFFF)
    }

    // MARK: synchronization (origin and target)

    /// Waits until every put and accumulate to `targets` was applied (a flush to each target
    /// that got some since the last one); throws the first error a target reported.
    func spreadFlush(_ w: Window, _ targets: [Int32]) throws(MPIError) {
        let r = w.remote!
        var wanted: [(target: Int, answers: Int)] = []
        lock()
        // One round of progress even when nothing is outstanding: a process that polls its own
        // memory (a flush after each local access) must keep serving the others.
        progress()
        for t in targets where r.unflushed[Int(t)] > 0 {
            r.unflushed[Int(t)] = 0
            r.flushesSent[Int(t)] += 1
            wanted.append((Int(t), r.flushesSent[Int(t)]))
            sendActiveMessage(w, to: t, RMAHeader(.flush))
        }
        unlock()
        if !wanted.isEmpty { pollUntil { wanted.allSatisfy { r.flushesDone[$0.target] >= $0.answers } } }
        lock()
        let e = r.firstError
        r.firstError = 0
        unlock()
        if e != 0 { throw MPIError(code: e, "an RMA operation failed at its target") }
    }

    /// `spreadFlush`, returning a target's error instead of throwing it: the synchronization
    /// that follows (a barrier, an unlock, a completion the others wait for) must happen anyway.
    private func flushKeepingError(_ w: Window, _ targets: [Int32]) -> MPIError? {
        do { try spreadFlush(w, targets) } catch { return error }
        return nil
    }

    func spreadFence(_ w: Window) throws(MPIError) {
        let failure = flushKeepingError(w, Array(0..<Int32(w.size)))
        let rc = Collectives.barrier(CommTransport(self, w.comm))
        if rc != 0 { throw MPIError(code: rc, "MPI_Win_fence: the window's processes could not synchronize") }
        if let failure { throw failure }
    }

    func spreadPost(_ w: Window, _ origins: [Int32]) {
        lock(); defer { unlock() }
        for o in origins {
            if o == w.rank { w.remote!.posts[Int(o)] += 1 } else { sendActiveMessage(w, to: o, RMAHeader(.post)) }
        }
    }

    func spreadStart(_ w: Window, _ targets: [Int32]) {
        let r = w.remote!
        for t in targets {
            let want = w.consumedPosts[Int(t)] &+ 1
            pollUntil { r.posts[Int(t)] >= want }
            w.consumedPosts[Int(t)] = want
        }
    }

    func spreadComplete(_ w: Window, _ targets: [Int32]) throws(MPIError) {
        let failure = flushKeepingError(w, targets)
        lock()
        for t in targets {
            if t == w.rank { w.remote!.completions += 1 } else { sendActiveMessage(w, to: t, RMAHeader(.complete)) }
        }
        unlock()
        if let failure { throw failure }
    }

    func spreadExposureDone(_ w: Window, blocking: Bool) -> Bool {
        let r = w.remote!, want = w.expectedCompletions
        if blocking {
            pollUntil { r.completions >= want }
            return true
        }
        lock(); defer { unlock() }
        progress()
        return r.completions >= want
    }

    /// Takes `type` locks on `targets` (each queued at its target until granted).
    func spreadLock(_ w: Window, _ targets: [Int32], _ type: Window.LockType) {
        let r = w.remote!
        let exclusive = type == .exclusive
        var h = RMAHeader(.lock)
        if exclusive { h.flags |= RMAHeader.exclusive }
        lock()
        let wanted = targets.map { r.grants[Int($0)] + 1 }
        for t in targets {
            if t == w.rank { requestLock(w, from: t, exclusive: exclusive) } else { sendActiveMessage(w, to: t, h) }
        }
        unlock()
        pollUntil { zip(targets, wanted).allSatisfy { r.grants[Int($0.0)] >= $0.1 } }
    }

    /// Completes the operations to `targets`, then releases `type` locks on them (nil: none
    /// was taken, MPI_MODE_NOCHECK).
    func spreadUnlock(_ w: Window, _ targets: [Int32], _ type: Window.LockType?) throws(MPIError) {
        let failure = flushKeepingError(w, targets)
        if let type {
            let exclusive = type == .exclusive
            var h = RMAHeader(.unlock)
            if exclusive { h.flags |= RMAHeader.exclusive }
            lock()
            for t in targets {
                if t == w.rank { releaseWindowLock(w, exclusive: exclusive) } else { sendActiveMessage(w, to: t, h) }
            }
            unlock()
        }
        if let failure { throw failure }
    }

    private func requestLock(_ w: Window, from origin: Int32, exclusive: Bool) {
        let r = w.remote!
        if r.lockQueue.isEmpty && r.grantable(exclusive) {
            r.hold(exclusive)
            grantLock(w, origin)
        } else {
            r.lockQueue.append((origin, exclusive))
        }
    }

    private func releaseWindowLock(_ w: Window, exclusive: Bool) {
        let r = w.remote!
        r.release(exclusive)
        while let head = r.lockQueue.first, r.grantable(head.exclusive) {
            r.lockQueue.removeFirst()
            r.hold(head.exclusive)
            grantLock(w, head.origin)
        }
    }

    private func grantLock(_ w: Window, _ origin: Int32) {
        if origin == w.rank { w.remote!.grants[Int(origin)] += 1 } else { sendActiveMessage(w, to: origin, RMAHeader(.grant)) }
    }

    // MARK: sending (lock held)

    /// Sends an active message: header, runs and `payloadBytes` written by `fill`, in one
    /// buffer kept until the send completes.
    private func sendActiveMessage(_ w: Window, to dest: Int32, _ h: RMAHeader, runs: [TypeRun] = [],
                                   payloadBytes: Int = 0, fill: (UnsafeMutableRawPointer) -> Void = { _ in }) {
        let runBytes = runs.count * RMAWire.runBytes
        let total = RMAWire.headerBytes + runBytes + payloadBytes
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 16)
        buffer.storeBytes(of: h, as: RMAHeader.self)
        var at = RMAWire.headerBytes
        for run in runs {
            (buffer + at).storeBytes(of: Int64(run.displacement), as: Int64.self)
            (buffer + at + 8).storeBytes(of: Int64(run.count), as: Int64.self)
            (buffer + at + 16).storeBytes(of: Int64(run.type.rawValue), as: Int64.self)
            at += RMAWire.runBytes
        }
        if payloadBytes > 0 { fill(buffer + at) }
        w.remote!.sent[Int(dest)] += 1
        _ = sendLocked(w, buffer, total, CommTransport.byte, to: dest, tag: RMAWire.activeTag, owning: buffer)
    }

    /// Starts a send in the window's context. With `owning`, the buffer is freed (and the
    /// request retired) once the send completes, and nil is returned.
    @discardableResult
    private func sendLocked(_ w: Window, _ buffer: UnsafeRawPointer?, _ count: Int, _ type: Datatype, to dest: Int32,
                            tag: Int32, owning: UnsafeMutableRawPointer? = nil, track: Bool = false) -> RequestID? {
        let i = requests.allocate(.send)
        setupSend(i, buffer, count, type, dest, tag, w.comm, w.comm.pointToPointContext, .standard)
        _ = startSend(i)
        let id = requests.id(i)
        if owning == nil && !track { return id }
        if requests.slots[Int(i)].isComplete {
            _ = retire(i)
            owning?.deallocate()
        } else {
            rmaOutgoing.append((id, owning))
        }
        return nil
    }

    private func receiveLocked(_ w: Window, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ type: Datatype,
                               from source: Int32, tag: Int32) -> RequestID {
        let i = requests.allocate(.receive)
        setupReceive(i, buffer, count, type, source, tag, w.comm, w.comm.pointToPointContext)
        startReceive(i)
        return requests.id(i)
    }

    // MARK: the service (target side; runs in `progress`, lock held)

    /// An unexpected message arrived: counts the active messages of registered windows.
    func noteWindowArrival(context: UInt32, tag: Int32) {
        if tag == RMAWire.activeTag && rmaWindows[context] != nil { rmaUnexpected += 1 }
    }

    /// One round of the service: finished receives and sends it started, then the active
    /// messages waiting in the unexpected queue, in arrival order.
    func serveWindows() -> Bool {
        var did = false
        var k = 0
        while k < rmaIncoming.count {
            let e = rmaIncoming[k]
            guard let i = requests.validate(e.request) else { rmaIncoming.remove(at: k); continue }
            if !requests.slots[Int(i)].isComplete { k += 1; continue }
            rmaIncoming.remove(at: k)
            let st = retire(i)
            e.finish(st)
            did = true
        }
        // Sends complete about in the order they started: reaped from the front (an origin
        // that floods a slow target may have thousands in flight; a scan of all of them, or
        // removals from the middle, at every round would cost quadratic time).
        while rmaOutgoingHead < rmaOutgoing.count {
            let e = rmaOutgoing[rmaOutgoingHead]
            if let i = requests.validate(e.request) {
                if !requests.slots[Int(i)].isComplete { break }
                _ = retire(i)
            }
            e.buffer?.deallocate()
            rmaOutgoingHead += 1
            did = true
        }
        if rmaOutgoingHead == rmaOutgoing.count {
            rmaOutgoing.removeAll(keepingCapacity: true)
            rmaOutgoingHead = 0
        } else if rmaOutgoingHead >= 1024 && rmaOutgoingHead * 2 >= rmaOutgoing.count {
            rmaOutgoing.removeFirst(rmaOutgoingHead)
            rmaOutgoingHead = 0
        }
        if rmaUnexpected > 0 || rmaScanNeeded { did = serveUnexpected() || did }
        if rmaWindows.isEmpty { updateServiceActive() }
        return did
    }

    /// The service runs while a window over several nodes exists, or sends and receives it
    /// started are still to be reaped (their requests and buffers are freed here).
    private func updateServiceActive() {
        rmaActive = !rmaWindows.isEmpty || !rmaIncoming.isEmpty || rmaOutgoingHead < rmaOutgoing.count
    }

    private func serveUnexpected() -> Bool {
        rmaScanNeeded = false
        var did = false
        var left = 0
        var k = 0
        while k < unexpectedOrder.count {
            let id = unexpectedOrder[k]
            guard let m = unexpected[id], m.tag == RMAWire.activeTag, let w = rmaWindows[m.context],
                  let r = w.remote else { k += 1; continue }
            if r.blocked.contains(m.source) { left += 1; k += 1; continue }
            // Serving may take later messages (a put's data) out of the queue: index k is
            // looked at again, not skipped.
            unexpectedOrder.remove(at: k)
            did = true
            if !m.isRendezvous && m.received >= m.total {
                unexpected[id] = nil
                serveActiveMessage(w, from: m.source, m.data.map { UnsafeRawPointer($0) }, m.total)
                if let d = m.data { unexpectedBuffers.give(d, m.total) }
                continue
            }
            // Still arriving (or too long to come eagerly): receive it whole, then serve it.
            let total = m.total, origin = m.source
            let body = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 16)
            let i = requests.allocate(.receive)
            setupReceive(i, body, total, CommTransport.byte, origin, RMAWire.activeTag, w.comm, m.context)
            requests.slots[Int(i)].isActive = true
            requests.slots[Int(i)].isComplete = false
            let request = requests.id(i)
            r.blocked.insert(origin)
            rmaIncoming.append((request, { st in
                r.blocked.remove(origin)
                self.rmaScanNeeded = true
                if st.error == 0 { self.serveActiveMessage(w, from: origin, UnsafeRawPointer(body), total) }
                else { self.reportCorrupt("RMA message from rank \(origin) could not be received (error \(st.error))") }
                body.deallocate()
            }))
            deliver(id, probed: false, to: i)
        }
        rmaUnexpected = left
        return did
    }

    /// Serves an active message that arrived whole (from `arriveEager`, before it would be
    /// queued as unexpected) when nothing of its window waits in the queue, so that order is
    /// kept. True if served.
    func serveOnArrival(context: UInt32, source: Int32, _ data: UnsafeRawPointer, _ length: Int) -> Bool {
        guard rmaUnexpected == 0 && !rmaScanNeeded, let w = rmaWindows[context], let r = w.remote,
              !r.blocked.contains(source) else { return false }
        serveActiveMessage(w, from: source, data, length)
        return true
    }

    /// Carries out one active message from `origin` (a rank of the window).
    private func serveActiveMessage(_ w: Window, from origin: Int32, _ data: UnsafeRawPointer?, _ length: Int) {
        let r = w.remote!
        guard origin >= 0 && Int(origin) < w.size else { return }
        r.received[Int(origin)] += 1
        guard let data, length >= RMAWire.headerBytes, let op = RMAOp(rawValue: data.load(as: UInt8.self)) else {
            reportCorrupt("RMA message of \(length) bytes from rank \(origin)")
            return
        }
        let h = data.loadUnaligned(as: RMAHeader.self)
        switch op {
        case .ack:
            if h.replyTag != 0 { r.replyErrors[h.replyTag] = h.error; return }
            r.flushesDone[Int(origin)] += 1
            if h.error != 0 && r.firstError == 0 { r.firstError = h.error }
        case .flush:
            // Everything this origin sent before is done (its messages are served in order).
            var a = RMAHeader(.ack)
            a.error = r.errorsFrom[Int(origin)]
            r.errorsFrom[Int(origin)] = 0
            sendActiveMessage(w, to: origin, a)
        case .grant: r.grants[Int(origin)] += 1
        case .post: r.posts[Int(origin)] += 1
        case .complete: r.completions += 1
        case .lock: requestLock(w, from: origin, exclusive: h.flags & RMAHeader.exclusive != 0)
        case .unlock: releaseWindowLock(w, exclusive: h.flags & RMAHeader.exclusive != 0)
        case .put, .accumulate, .get, .getAccumulate, .compareAndSwap:
            serveAccess(w, op, h, from: origin, data, length)
        }
    }

    /// The target datatype an access names, rebuilt here; nil if the description is malformed.
    private func accessType(_ h: RMAHeader, runs: UnsafeRawPointer) -> Datatype? {
        if h.flags & RMAHeader.derived == 0 { return BasicType(rawValue: h.basic).map { Datatype.predefined($0) } }
        var counts: [Int] = [], disps: [Int] = [], types: [Datatype] = []
        for k in 0..<Int(h.runCount) {
            let at = runs + k * RMAWire.runBytes
            let d = at.loadUnaligned(as: Int64.self), c = (at + 8).loadUnaligned(as: Int64.self)
            let t = (at + 16).loadUnaligned(as: Int64.self)
            guard c >= 0, t >= 0, t < 256, let b = BasicType(rawValue: UInt8(t)) else { return nil }
            counts.append(Int(c)); disps.append(Int(d)); types.append(.predefined(b))
        }
        guard let s = try? Datatype.structure(blockLengths: counts, byteDisplacements: disps, types: types),
              let t = try? Datatype.resized(s, lowerBound: Int(h.lowerBound), extent: Int(h.extent)) else { return nil }
        t.commit()
        return t
    }

    /// Put, accumulate, get, get_accumulate and compare_and_swap at this process.
    private func serveAccess(_ w: Window, _ op: RMAOp, _ h: RMAHeader, from origin: Int32, _ data: UnsafeRawPointer,
                             _ length: Int) {
        let separate = h.flags & RMAHeader.separateData != 0
        let runsAt = data + RMAWire.headerBytes
        let fixed = RMAWire.headerBytes + Int(max(h.runCount, 0)) * RMAWire.runBytes
        let inBytes = Int(h.dataBytes)
        let fetches = op == .get || op == .getAccumulate || op == .compareAndSwap
        // Answers an access that cannot be carried out (its data, if separate, is discarded).
        func refuse(_ rc: Int32) {
            if separate && inBytes > 0 && inBytes <= Int(Int32.max) {
                let scratch = UnsafeMutableRawPointer.allocate(byteCount: inBytes, alignment: 16)
                let i = receiveLocked(w, scratch, inBytes, CommTransport.byte, from: origin, tag: RMAWire.dataTag)
                rmaIncoming.append((i, { _ in scratch.deallocate() }))
            }
            guard fetches else { acknowledge(w, origin, rc); return }
            var a = RMAHeader(.ack)
            a.error = rc
            a.replyTag = h.replyTag
            sendActiveMessage(w, to: origin, a)
            // The origin waits for its reply: an empty one ends the wait (the error came first).
            sendLocked(w, nil, 0, CommTransport.byte, to: origin, tag: h.replyTag, track: true)
        }
        guard h.runCount >= 0, h.count >= 0, h.dataBytes >= 0, fixed <= length,
              separate || fixed + inBytes == length, !fetches || h.replyTag >= RMAWire.replyTagBase else {
            reportCorrupt("RMA access of \(length) bytes from rank \(origin)")
            refuse(ErrorClass.intern.rawValue)
            return
        }
        guard let tt = accessType(h, runs: runsAt) else { refuse(ErrorClass.type.rawValue); return }
        let count = Int(h.count)
        let (bytes, overflow) = count.multipliedReportingOverflow(by: tt.size)
        if overflow { refuse(ErrorClass.count.rawValue); return }
        let (mem, mrc) = windowTarget(w, w.rank, disp: Int(h.disp), count: count, type: tt)
        guard let mem else {
            refuse(mrc != 0 ? mrc : bytes == 0 ? 0 : ErrorClass.rmaRange.rawValue)
            return
        }
        var basic: BasicType? = nil, pop: PredefinedOp? = nil
        if op == .accumulate || op == .getAccumulate {
            guard let p = PredefinedOp(rawValue: h.accOp), let b = tt.uniformBasicType, Reduction.isDefined(p, on: b)
                    || p == .noOp || p == .replace else { refuse(ErrorClass.op.rawValue); return }
            if p != .noOp && inBytes != bytes { refuse(ErrorClass.type.rawValue); return }
            basic = b; pop = p
        } else if op == .put && inBytes != bytes {
            refuse(ErrorClass.type.rawValue); return
        } else if op == .compareAndSwap && inBytes != 2 * bytes {
            refuse(ErrorClass.type.rawValue); return
        }
        let input = data + fixed

        switch op {
        case .get:
            guard case .mapped(let p) = mem else { refuse(ErrorClass.intern.rawValue); return }
            sendLocked(w, p, count, tt, to: origin, tag: h.replyTag, track: true)
        case .compareAndSwap:
            let old = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 16)
            let rc = compareAndSwapCore(mem, tt, origin: input, compare: input + bytes, result: old)
            if rc != 0 { old.deallocate(); refuse(rc); return }
            sendLocked(w, old, bytes, CommTransport.byte, to: origin, tag: h.replyTag, owning: old)
        case .put where separate:
            // Straight into window memory.
            guard case .mapped(let p) = mem else { refuse(ErrorClass.intern.rawValue); return }
            let i = receiveLocked(w, p, count, tt, from: origin, tag: RMAWire.dataTag)
            w.remote!.blocked.insert(origin)
            rmaIncoming.append((i, { st in
                w.remote!.blocked.remove(origin)
                self.rmaScanNeeded = true
                self.acknowledge(w, origin, st.error)
            }))
        case .put:
            acknowledge(w, origin, windowTransfer(mem, type: tt, count: count, packed: UnsafeMutableRawPointer(mutating: input),
                                                  bytes: bytes, write: true))
        case .accumulate, .getAccumulate:
            let fetch = op == .getAccumulate
            // The outcome: an acknowledgement, or the old data (an error, then an empty reply).
            let answer = { (rc: Int32, old: UnsafeMutableRawPointer?) in
                if !fetch { self.acknowledge(w, origin, rc); return }
                if rc == 0 {
                    self.sendLocked(w, old, bytes, CommTransport.byte, to: origin, tag: h.replyTag, owning: old)
                    return
                }
                old?.deallocate()
                var a = RMAHeader(.ack)
                a.error = rc
                a.replyTag = h.replyTag
                self.sendActiveMessage(w, to: origin, a)
                self.sendLocked(w, nil, 0, CommTransport.byte, to: origin, tag: h.replyTag, track: true)
            }
            let apply = { (input: UnsafeRawPointer?) in
                var old: UnsafeMutableRawPointer? = nil
                if fetch { old = .allocate(byteCount: max(bytes, 1), alignment: 16) }
                let rc = self.accumulateCore(mem, tt, count, basic!, pop!, input: input, bytes: bytes, fetch: fetch) {
                    old?.copyMemory(from: $0, byteCount: bytes)
                }
                answer(rc, old)
            }
            if !separate || pop == .noOp {
                apply(pop == .noOp ? nil : input)
                return
            }
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 16)
            let i = receiveLocked(w, scratch, bytes, CommTransport.byte, from: origin, tag: RMAWire.dataTag)
            w.remote!.blocked.insert(origin)
            rmaIncoming.append((i, { st in
                w.remote!.blocked.remove(origin)
                self.rmaScanNeeded = true
                if st.error == 0 { apply(UnsafeRawPointer(scratch)) } else { answer(st.error, nil) }
                scratch.deallocate()
            }))
        default:
            break
        }
    }

    /// The outcome of a put or accumulate: an error is kept for the origin's next flush.
    private func acknowledge(_ w: Window, _ origin: Int32, _ rc: Int32) {
        let r = w.remote!
        if rc != 0 && r.errorsFrom[Int(origin)] == 0 { r.errorsFrom[Int(origin)] = rc }
    }
}
