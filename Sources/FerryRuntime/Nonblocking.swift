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
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// The queue and worker of one communicator.
final class BackgroundQueue: @unchecked Sendable {
    let shadow: Communicator
    var items: [(work: (Communicator) -> Int32, request: Int32)] = []
    var running = false

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
        requests.slots[Int(i)].comm = comm
        let q: BackgroundQueue
        if let existing = comm.background {
            q = existing
        } else {
            let shadow = Communicator(contextID: comm.contextID, group: comm.group, remoteGroup: comm.remoteGroup,
                                      name: comm.name, collectiveContext: comm.contextID &* 4 &+ 3)
            shadow.localComm = comm.localComm
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

    private func spawnWorker(_ q: BackgroundQueue) {
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

private final class WorkerContext {
    let runtime: Runtime
    let queue: BackgroundQueue
    init(runtime: Runtime, queue: BackgroundQueue) {
        self.runtime = runtime
        self.queue = queue
    }
}
