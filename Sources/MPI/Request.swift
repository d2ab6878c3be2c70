// Requests of nonblocking operations: completion (wait/test and their all/any/some forms),
// cancel, free, async completion, and the typed wrappers for receives and persistent requests.
// A request owns the memory the runtime reads or writes until completion (a copy of the data
// of a nonblocking send, the storage of a receive), so Swift arrays never have to stay pinned.
import FerryCore
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

/// A nonblocking operation in progress (`MPI_Request`).
/// - Note: not thread-safe: use one request from one thread or task at a time.
public final class Request: @unchecked Sendable {
    /// The runtime's handle; nil (`MPI_REQUEST_NULL`) once a non-persistent request completed.
    var handle: RequestHandle
    /// Communicator whose error handler applies to failures of this request.
    let comm: FerryRuntime.Communicator?
    /// Memory the runtime uses until completion, owned by this request.
    var storage: UnsafeMutableRawPointer?
    /// The status of the last completion, once the request completed.
    public private(set) var lastStatus: Status?

    init(_ handle: RequestID, comm: FerryRuntime.Communicator?, storage: UnsafeMutableRawPointer?) {
        self.handle = handle
        self.comm = comm
        self.storage = storage
    }

    deinit {
        if let h = handle, let rt = Runtime.shared {
            var hh: RequestHandle = h
            var done = false
            var st = FerryRuntime.Status()
            _ = rt.requestGetStatus(hh, flag: &done, status: &st)
            _ = rt.requestFree(&hh)
            // Dropped while still active: the runtime may still touch `storage`, so it is
            // deliberately leaked rather than freed under the transport's feet.
            if !done { return }
        }
        storage?.deallocate()
    }

    /// True while the request has not completed (persistent requests: while started).
    public var isActive: Bool {
        guard let h = handle, let rt = Runtime.shared else { return false }
        var done = false
        var st = FerryRuntime.Status()
        _ = rt.requestGetStatus(h, flag: &done, status: &st)
        return !done
    }

    /// `MPI_Wait`: blocks until the operation completes and returns its status.
    @discardableResult
    public func wait() throws(MPIError) -> Status {
        guard handle != nil else { return lastStatus ?? Status(.empty) }
        let rt = try runtime()
        var st = FerryRuntime.Status()
        let rc = rt.wait(&handle, status: &st)
        try rt.check(rc, comm, "MPI_Wait")
        lastStatus = Status(st)
        return Status(st)
    }

    /// `MPI_Test`: the status if the operation completed, else nil.
    public func test() throws(MPIError) -> Status? {
        guard handle != nil else { return lastStatus ?? Status(.empty) }
        let rt = try runtime()
        var st = FerryRuntime.Status()
        var done = false
        let rc = rt.test(&handle, flag: &done, status: &st)
        try rt.check(rc, comm, "MPI_Test")
        guard done else { return nil }
        lastStatus = Status(st)
        return Status(st)
    }

    /// Waits without blocking a thread of the cooperative pool: polls `test()` and yields to
    /// other tasks in between. If the task is cancelled, the MPI operation is cancelled too
    /// (the returned status then says `isCancelled` if that succeeded).
    /// - Note: several tasks communicating at once need `MPI.initialize(threading: .multiple)`.
    @discardableResult
    public func completion() async throws(MPIError) -> Status {
        var polls = 0
        var cancelled = false
        while true {
            if let st = try test() { return st }
            if Task.isCancelled && !cancelled {
                cancelled = true
                try cancel()
            }
            polls += 1
            if polls < 256 {
                await Task.yield()
            } else {
                // Long waits: stop burning a pool thread, at a few microseconds of latency.
                try? await Task.sleep(nanoseconds: 20_000)
            }
        }
    }

    /// `MPI_Cancel`: asks for cancellation; still complete the request with `wait()`.
    public func cancel() throws(MPIError) {
        guard let h = handle else { return }
        let rt = try runtime()
        try rt.check(rt.cancel(h), comm, "MPI_Cancel")
    }

    /// `MPI_Request_free`: forgets the request; an active operation still completes.
    public func free() throws(MPIError) {
        guard handle != nil else { return }
        let rt = try runtime()
        var done = false
        var st = FerryRuntime.Status()
        _ = rt.requestGetStatus(handle, flag: &done, status: &st)
        try rt.check(rt.requestFree(&handle), comm, "MPI_Request_free")
        if done { storage?.deallocate() }
        storage = nil   // if still active, leaked on purpose (the runtime may write into it)
    }

    // MARK: several requests

    private static func handles(_ requests: [Request]) -> [RequestHandle] { requests.map(\.handle) }

    private static func storeBack(_ requests: [Request], _ hs: [RequestHandle]) {
        for (r, h) in zip(requests, hs) { r.handle = h }
    }

    /// `MPI_Waitall`: waits for every request; statuses in the same order.
    @discardableResult
    public static func waitAll(_ requests: [Request]) throws(MPIError) -> [Status] {
        let rt = try runtime()
        var hs = handles(requests)
        var sts = [FerryRuntime.Status](repeating: .empty, count: hs.count)
        let rc = rt.waitAll(&hs, statuses: &sts)
        storeBack(requests, hs)
        for (r, s) in zip(requests, sts) where r.handle == nil || s != .empty { r.lastStatus = Status(s) }
        try rt.check(rc, requests.first?.comm, "MPI_Waitall")
        return sts.map(Status.init)
    }

    /// `MPI_Testall`: every status if all requests completed, else nil (and none is completed).
    public static func testAll(_ requests: [Request]) throws(MPIError) -> [Status]? {
        let rt = try runtime()
        var hs = handles(requests)
        var sts = [FerryRuntime.Status](repeating: .empty, count: hs.count)
        var done = false
        let rc = rt.testAll(&hs, flag: &done, statuses: &sts)
        storeBack(requests, hs)
        try rt.check(rc, requests.first?.comm, "MPI_Testall")
        guard done else { return nil }
        for (r, s) in zip(requests, sts) { r.lastStatus = Status(s) }
        return sts.map(Status.init)
    }

    /// `MPI_Waitany`: the index and status of one completed request, or nil if none is active.
    public static func waitAny(_ requests: [Request]) throws(MPIError) -> (index: Int, status: Status)? {
        let rt = try runtime()
        var hs = handles(requests)
        var index = 0
        var st = FerryRuntime.Status()
        let rc = rt.waitAny(&hs, index: &index, status: &st)
        storeBack(requests, hs)
        try rt.check(rc, requests.first?.comm, "MPI_Waitany")
        if index == Int(MPIConstant.undefined) { return nil }
        requests[index].lastStatus = Status(st)
        return (index, Status(st))
    }

    /// `MPI_Testany`: a completed request's index and status; nil if none completed yet.
    /// Returns nil as well when no request is active.
    public static func testAny(_ requests: [Request]) throws(MPIError) -> (index: Int, status: Status)? {
        let rt = try runtime()
        var hs = handles(requests)
        var index = 0
        var done = false
        var st = FerryRuntime.Status()
        let rc = rt.testAny(&hs, index: &index, flag: &done, status: &st)
        storeBack(requests, hs)
        try rt.check(rc, requests.first?.comm, "MPI_Testany")
        guard done, index != Int(MPIConstant.undefined) else { return nil }
        requests[index].lastStatus = Status(st)
        return (index, Status(st))
    }

    /// `MPI_Waitsome`: waits until at least one request completes; returns all that did.
    /// Empty when no request is active.
    public static func waitSome(_ requests: [Request]) throws(MPIError) -> [(index: Int, status: Status)] {
        try some(requests, blocking: true)
    }

    /// `MPI_Testsome`: the requests that completed, possibly none.
    public static func testSome(_ requests: [Request]) throws(MPIError) -> [(index: Int, status: Status)] {
        try some(requests, blocking: false)
    }

    private static func some(_ requests: [Request], blocking: Bool) throws(MPIError) -> [(index: Int, status: Status)] {
        let rt = try runtime()
        var hs = handles(requests)
        var indices: [Int] = []
        var sts: [FerryRuntime.Status] = []
        let (rc, _) = rt.someCompleted(&hs, blocking: blocking, indices: &indices, statuses: &sts)
        storeBack(requests, hs)
        for (k, s) in zip(indices, sts) { requests[k].lastStatus = Status(s) }
        try rt.check(rc, requests.first?.comm, blocking ? "MPI_Waitsome" : "MPI_Testsome")
        return zip(indices, sts.map(Status.init)).map { ($0, $1) }
    }
}

/// A nonblocking receive of up to `capacity` values of `T`.
public final class ReceiveRequest<T: MPIElement>: @unchecked Sendable {
    /// The underlying request (for `Request.waitAll` and friends).
    public let request: Request
    /// Most values the receive accepts.
    public let capacity: Int

    init(_ request: Request, capacity: Int) {
        self.request = request
        self.capacity = capacity
    }

    /// The received values and status once the request completed (by any wait or test), else nil.
    public var result: (values: [T], status: Status)? {
        guard request.handle == nil, let st = request.lastStatus else { return nil }
        return (values(st), st)
    }

    private func values(_ st: Status) -> [T] {
        let n = min(capacity, st.byteCount / max(T.mpiDatatype.size, 1))
        guard n > 0, let p = request.storage else { return [] }
        return Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: T.self), count: n))
    }

    /// `MPI_Wait`: the values and the status.
    public func wait() throws(MPIError) -> (values: [T], status: Status) {
        let st = try request.wait()
        return (values(st), st)
    }

    /// `MPI_Test`: the values and status if the message arrived, else nil.
    public func test() throws(MPIError) -> (values: [T], status: Status)? {
        guard let st = try request.test() else { return nil }
        return (values(st), st)
    }

    /// Async wait (see `Request.completion()`).
    public func value() async throws(MPIError) -> (values: [T], status: Status) {
        let st = try await request.completion()
        return (values(st), st)
    }

    /// `MPI_Cancel`.
    public func cancel() throws(MPIError) { try request.cancel() }
}

/// A persistent send or receive (`MPI_Send_init` / `MPI_Recv_init`) with its own buffer of
/// `count` values: fill `buffer` before `start()` of a send; read `values` after the `wait()`
/// of a receive. Restart as often as needed; `free()` when done.
public final class PersistentRequest<T: MPIElement>: @unchecked Sendable {
    /// The underlying request.
    public let request: Request
    /// The message buffer, owned by this request. Do not touch it between `start()` and the
    /// completion of the operation.
    public let buffer: UnsafeMutableBufferPointer<T>

    init(_ request: Request, buffer: UnsafeMutableBufferPointer<T>) {
        self.request = request
        self.buffer = buffer
    }

    /// The buffer's values as an array.
    public var values: [T] { Array(buffer) }

    /// `MPI_Start`.
    public func start() throws(MPIError) {
        let rt = try runtime()
        guard let h = request.handle else { throw MPIError(.request, "persistent request was freed") }
        try rt.check(rt.start(h), request.comm, "MPI_Start")
    }

    /// `MPI_Startall`.
    public static func startAll(_ requests: [PersistentRequest<T>]) throws(MPIError) {
        for r in requests { try r.start() }
    }

    /// `MPI_Wait` (the request stays allocated and can be started again).
    @discardableResult
    public func wait() throws(MPIError) -> Status { try request.wait() }

    /// `MPI_Test`.
    public func test() throws(MPIError) -> Status? { try request.test() }

    /// `MPI_Request_free`.
    public func free() throws(MPIError) { try request.free() }
}
