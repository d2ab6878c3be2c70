// Nonblocking collectives and other background work on a communicator (MPI_Ibarrier,
// MPI_Iallreduce, MPI_Comm_idup, ...): each communicator with pending work gets a worker
// thread that runs the work items in the order they were started, each with the ordinary
// (blocking) algorithm on the communicator's shadow: same group, its own collective context
// (`contextID * 4 + 3`). Every rank starts nonblocking collectives on a communicator in the
// same order (MPI-3.1 §5.12), so running them in order matches them; the shadow context
// keeps them apart from blocking collectives the application runs meanwhile. The request of
// each item completes when its work returns, so the operation progresses while the caller
// computes (the Madeleine-style progress thread of the design).
import FerryCore
import FerryReduce
import FerryCollectives
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// The queue and worker of one communicator.
final class BackgroundQueue: @unchecked Sendable {
    let shadow: Communicator
    @exclusivity(unchecked) var items: [(work: (Communicator) -> Int32, request: Int32)] = []
    @exclusivity(unchecked) var running = false

    init(_ shadow: Communicator) { self.shadow = shadow }
}

extension Runtime {
    /// Starts `work` in the background on `comm`'s shadow communicator and returns the request
    /// that completes (with `work`'s return code in its status error) when it has run.
    /// `work` receives the shadow communicator: pass it to the runtime's collectives.
    public func startInBackground(on comm: Communicator, _ work: @escaping (Communicator) -> Int32) -> RequestID {
        // Worker threads share the runtime with the caller's thread from now on.
        if !locking { locking = true }
        lock(); defer { unlock() }
        let i = requests.allocate(.collective)
        requests.slots[Int(i)].isActive = true
        requests.slots[Int(i)].attach(comm: comm)
        let q: BackgroundQueue
        if let existing = comm.background {
            q = existing
        } else {
            let shadow = Communicator(contextID: comm.contextID, group: comm.group, remoteGroup: comm.remoteGroup,
                                      name: comm.name, collectiveContext: comm.contextID &* 4 &+ 3)
            // An intercommunicator's local side gets its own shadow too, so that background
            // work (MPI_Comm_idup's context agreement) never shares a context with blocking
            // calls on the intercommunicator; the topology is what neighborhood collectives read.
            shadow.localComm = comm.localComm.map {
                Communicator(contextID: $0.contextID, group: $0.group, name: $0.name,
                             collectiveContext: $0.contextID &* 4 &+ 3)
            }
            shadow.topology = comm.topology
            shadow.errorHandler = .returnCodes
            q = BackgroundQueue(shadow)
            comm.background = q
        }
        q.items.append((work, i))
        if !q.running {
            q.running = true
            spawnWorker(q)
        }
        return requests.id(i)
    }

    /// `MPI_Comm_idup`: the attributes are copied now, on the caller's thread (the copy
    /// callbacks see the communicator as it is at the call and never run on a worker thread);
    /// the context id is agreed in the background on the shadow communicator, then `deliver`
    /// receives the new communicator, on the worker, before the request completes.
    public func commIdup(_ c: Communicator, deliver: @escaping (Communicator) -> Void) throws(MPIError) -> RequestID {
        guard !c.isFreed else { throw MPIError(.comm, "invalid or freed communicator") }
        let carrier = Communicator(contextID: c.contextID, group: c.group)
        try copyAttributes(from: c, to: carrier)
        let handler = c.errorHandler, topology = c.topology
        return startInBackground(on: c) { shadow in
            do throws(MPIError) {
                let id = try self.agreeContextIDInBackground(shadow)
                let n = Communicator(contextID: id, group: shadow.group, remoteGroup: shadow.remoteGroup)
                if let local = shadow.localComm {
                    n.localComm = Communicator(contextID: try self.agreeContextIDInBackground(local), group: local.group)
                }
                n.errorHandler = handler
                n.topology = topology
                n.attributes = carrier.attributes
                n.attributeOrder = carrier.attributeOrder   // MPI_Comm_free deletes them in this order
                deliver(n)
                return 0
            } catch {
                // The copied attribute values are dropped without their delete callbacks (the
                // communicator they belong to never came to exist).
                return error.code
            }
        }
    }

    // MARK: context ids agreed in the background

    /// Agrees on a new context id among the members of `comm` (a shadow communicator) from a
    /// worker thread. `agreeContextID` (CommManagement.swift) snapshots the free-id mask,
    /// ANDs it over the members and takes the lowest common id; two such agreements running
    /// at once in one process (an idup in the background and a dup on the main thread, or
    /// idups of two communicators) would snapshot the same mask and take the same id. Here
    /// each round proposes one id, reserved locally until every member has confirmed it:
    ///   1. contribute the free ids not reserved by another agreement of this process; AND;
    ///   2. pick one id of the result (the same at every member: same mask, same salt);
    ///   3. reserve it if it is still free and unreserved here; AND the "ok" flags;
    ///   4. all ok: take it; otherwise release the reservation and start again.
    /// No agreement waits for another (a reservation never blocks, it only hides one id), so
    /// agreements on different communicators cannot deadlock whatever order ranks start them in.
    /// Proposals come from the top of the id space, spread by the communicator's id, while
    /// blocking agreements take the lowest common id: they meet only when ids run out.
    /// Members passing `take: false` (MPI_Comm_split with MPI_UNDEFINED, MPI_Comm_create outside
    /// the group) help agree but do not mark the id used.
    func agreeContextIDInBackground(_ comm: Communicator, take: Bool = true) throws(MPIError) -> UInt32 {
        for attempt in 0..<100_000 {
            lock()
            var mask = (0..<Runtime.maskWords).map { contextMask[$0] & ~backgroundReservations[$0] }
            unlock()
            var rc = andAcrossMembers(comm, &mask)
            if rc != 0 { throw MPIError(code: rc, "context id agreement") }
            guard let id = proposeContextID(mask, salt: comm.contextID &* 2_654_435_761 &+ UInt32(attempt)) else {
                throw MPIError(.other, "out of communicator context ids (4096 in use); free unused communicators")
            }
            let w = Int(id / 64), bit = UInt64(1) << UInt64(id % 64)
            lock()
            let ok = contextMask[w] & bit != 0 && backgroundReservations[w] & bit == 0
            if ok { backgroundReservations[w] |= bit }
            unlock()
            var flags: [UInt64] = [ok ? 1 : 0]
            rc = andAcrossMembers(comm, &flags)
            let agreed = rc == 0 && flags[0] == 1
            lock()
            if ok { backgroundReservations[w] &= ~bit }
            if agreed && take { contextMask[w] &= ~bit }
            unlock()
            if rc != 0 { throw MPIError(code: rc, "context id agreement") }
            if agreed { return id }
            sched_yield()
        }
        throw MPIError(.other, "context id agreement in the background did not converge")
    }

    /// One of the (up to) 64 highest ids set in `mask`, chosen by `salt`; nil if none is set.
    private func proposeContextID(_ mask: [UInt64], salt: UInt32) -> UInt32? {
        var top: [UInt32] = []
        for w in stride(from: mask.count - 1, through: 0, by: -1) where mask[w] != 0 {
            var bits = mask[w]
            while bits != 0 && top.count < 64 {
                let b = 63 - bits.leadingZeroBitCount
                top.append(UInt32(w * 64 + b))
                bits &= ~(UInt64(1) << UInt64(b))
            }
            if top.count == 64 { break }
        }
        return top.isEmpty ? nil : top[Int(salt % UInt32(top.count))]
    }

    /// Bitwise AND of `words` over every member of `comm`; for an intercommunicator, over both
    /// groups (each side ANDs within itself, the leaders swap, each side broadcasts).
    private func andAcrossMembers(_ comm: Communicator, _ words: inout [UInt64]) -> Int32 {
        let local = comm.isInter ? comm.localComm! : comm
        var rc = words.withUnsafeMutableBytes { m in
            Collectives.allreduce(CommTransport(self, local), send: nil, recv: m.baseAddress!, count: m.count / 8,
                                  .predefined(.band, .uint64))
        }
        if rc != 0 || !comm.isInter { return rc }
        if local.rank == 0 {
            var theirs = words
            rc = words.withUnsafeBytes { a in theirs.withUnsafeMutableBytes { b in
                CommTransport(self, comm).sendRecv(a, to: 0, b, from: 0, tag: 32) } }
            if rc != 0 { return rc }
            for k in words.indices { words[k] &= theirs[k] }
        }
        return words.withUnsafeMutableBytes { m in
            Collectives.bcast(CommTransport(self, local), buffer: m.baseAddress!, bytes: m.count, root: 0)
        }
    }

    private func spawnWorker(_ q: BackgroundQueue) {
        _ = ferry_fetch_add_u32(backgroundWorkers, 1)
        let context = Unmanaged.passRetained(WorkerContext(runtime: self, queue: q)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var tid = pthread_t()
        let rc = pthread_create(&tid, &attr, { arg in
            let ctx = Unmanaged<WorkerContext>.fromOpaque(arg!).takeRetainedValue()
            ctx.runtime.runQueue(ctx.queue)
            return nil
        }, context)
        pthread_attr_destroy(&attr)
        if rc != 0 {
            // No thread: run the work here instead (still correct, just not asynchronous).
            Unmanaged<WorkerContext>.fromOpaque(context).release()
            unlock()
            runQueue(q)
            lock()
        }
    }

    /// Runs queued items until the queue is empty, then lets the worker end.
    func runQueue(_ q: BackgroundQueue) {
        while true {
            lock()
            guard !q.items.isEmpty else {
                q.running = false
                unlock()
                _ = ferry_fetch_add_u32(backgroundWorkers, UInt32.max)   // -1
                return
            }
            let (work, i) = q.items.removeFirst()
            unlock()
            let rc = work(q.shadow)
            lock()
            requests.slots[Int(i)].status = Status(source: MPIConstant.anySource, tag: MPIConstant.anyTag, error: rc)
            complete(i)
            unlock()
            node?.wakeSelf()
        }
    }
}

/// Context ids proposed by background agreements of this process and not yet confirmed
/// (`agreeContextIDInBackground`). Guarded by the runtime lock; one runtime per process.
@exclusivity(unchecked) nonisolated(unsafe) private var backgroundReservations = [UInt64](repeating: 0, count: Runtime.maskWords)

private final class WorkerContext {
    let runtime: Runtime
    let queue: BackgroundQueue
    init(runtime: Runtime, queue: BackgroundQueue) {
        self.runtime = runtime
        self.queue = queue
    }
}
