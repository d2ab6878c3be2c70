// Request entry points: wait and test in their single, all, any and some forms, start of
// persistent requests, free, get_status, cancel, and generalized requests. A request handle is
// `Handle.requestBase | slot index` (`encodeRequest`); the user's handle becomes
// MPI_REQUEST_NULL when the runtime frees the request, persistent requests keep theirs.
// `RequestOwners` remembers each request's communicator so that a failed completion goes to
// that communicator's error handler (MPI-3.1 §8.3).
import FerryCore
import FerryDatatype
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

/// The communicator of each request slot, set when this layer creates the request.
/// A fixed, zero-initialised table (calloc: pages are touched only when used) indexed by slot,
/// holding a retained reference that is replaced only when the slot is reused with another
/// communicator, so the common case (same communicator again) costs no reference counting.
/// Requests created elsewhere (nonblocking collectives) or beyond the table fall back to
/// MPI_COMM_WORLD's handler.
/// - Note: written only by the thread that just created the request in that slot.
enum RequestOwners {
    static let capacity = 1 << 20
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<Unmanaged<Communicator>?> = {
        let raw = calloc(capacity, MemoryLayout<Unmanaged<Communicator>?>.stride)!
        return raw.bindMemory(to: Unmanaged<Communicator>?.self, capacity: capacity)
    }()

    @inline(__always)
    static func record(_ r: RequestID, _ c: Communicator) {
        let i = Int(r.index)
        guard i >= 0 && i < capacity else { return }
        if let old = slots[i] {
            if old.toOpaque() == Unmanaged.passUnretained(c).toOpaque() { return }
            slots[i] = Unmanaged.passRetained(c)
            old.release()
        } else {
            slots[i] = Unmanaged.passRetained(c)
        }
    }

    /// The communicator of request handle `h` (for the error path), or nil.
    static func comm(_ h: Int32) -> Communicator? {
        guard h & ~Handle.indexMask == Handle.requestBase else { return nil }
        let i = Int(h & Handle.indexMask)
        guard i < capacity else { return nil }
        return slots[i]?.takeUnretainedValue()
    }
}

/// The handle of a request this layer just created, remembering its communicator so that a
/// failed completion reports through that communicator's error handler. Every file that
/// creates requests should use this rather than bare `encodeRequest`.
@inline(__always)
func encodeRequest(_ r: RequestID, owner: Communicator) -> Int32 {
    RequestOwners.record(r, owner)
    return encodeRequest(r)
}

/// A C request handle as the runtime's: `.null` for MPI_REQUEST_NULL, `.invalid` for anything
/// that is not a live request.
private enum DecodedRequest {
    case null, invalid, live(RequestID)
}

@inline(__always)
private func decode(_ h: Int32, _ rt: Runtime) -> DecodedRequest {
    if h == Handle.requestNull { return .null }
    guard let r = decodeRequest(h, rt) else { return .invalid }
    return .live(r)
}

/// The statuses array element `k` (MPI_Status is 20 bytes in MPICH's layout).
@inline(__always)
private func statusSlot(_ base: UnsafeMutableRawPointer?, _ k: Int) -> UnsafeMutableRawPointer? {
    guard !isIgnore(base) else { return base }
    return UnsafeMutableRawPointer(base!.assumingMemoryBound(to: CStatus.self) + k)
}

/// The runtime handles of a C request array, or the index of the first invalid handle.
private func decodeArray(_ p: UnsafeMutablePointer<Int32>, _ n: Int, _ rt: Runtime) -> ([RequestHandle], Int?) {
    var reqs = [RequestHandle](repeating: nil, count: n)
    for k in 0..<n {
        switch decode(p[k], rt) {
        case .null: reqs[k] = nil
        case .invalid: return (reqs, k)
        case .live(let r): reqs[k] = r
        }
    }
    return (reqs, nil)
}

/// Writes MPI_REQUEST_NULL where the runtime freed a request.
@inline(__always)
private func writeBack(_ reqs: [RequestHandle], _ p: UnsafeMutablePointer<Int32>, _ k: Int) {
    if reqs[k] == nil { p[k] = Handle.requestNull }
}

/// Checks `count` and the array pointer of the multiple-completion calls.
private func checkArray(_ count: Int32, _ p: UnsafeMutablePointer<Int32>?) -> Int32 {
    if count < 0 { return ErrorClass.count.rawValue }
    if count > 0 && p == nil { return ErrorClass.arg.rawValue }
    return 0
}

/// The communicator of the first request whose status carries an error.
private func failingOwner(_ handles: [Int32], _ statuses: [Status]) -> Communicator? {
    for k in statuses.indices where statuses[k].error != 0 && k < handles.count { return RequestOwners.comm(handles[k]) }
    return nil
}

// MARK: single completion

@_cdecl("PMPI_Wait")
public func PMPI_Wait(_ request: UnsafeMutablePointer<Int32>?, _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Wait") else { return notInitialized }
    guard let request else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Wait") }
    let h = request.pointee
    switch decode(h, rt) {
    case .null:
        store(.empty, status)
        return 0
    case .invalid:
        return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Wait")
    case .live(let r):
        var handle: RequestHandle = r
        var st = Status()
        let rc = rt.wait(&handle, status: &st)
        if handle == nil { request.pointee = Handle.requestNull }
        store(st, status)
        return rc == 0 ? 0 : fail(rc, rt, RequestOwners.comm(h), "MPI_Wait")
    }
}

@_cdecl("PMPI_Test")
public func PMPI_Test(_ request: UnsafeMutablePointer<Int32>?, _ flag: UnsafeMutablePointer<Int32>?,
                      _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Test") else { return notInitialized }
    guard let request, let flag else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Test") }
    let h = request.pointee
    switch decode(h, rt) {
    case .null:
        flag.pointee = 1
        store(.empty, status)
        return 0
    case .invalid:
        return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Test")
    case .live(let r):
        var handle: RequestHandle = r
        var st = Status()
        var done = false
        let rc = rt.test(&handle, flag: &done, status: &st)
        flag.pointee = done ? 1 : 0
        if done {
            if handle == nil { request.pointee = Handle.requestNull }
            store(st, status)
        }
        return rc == 0 ? 0 : fail(rc, rt, RequestOwners.comm(h), "MPI_Test")
    }
}

// MARK: all

@_cdecl("PMPI_Waitall")
public func PMPI_Waitall(_ count: Int32, _ requests: UnsafeMutablePointer<Int32>?,
                         _ statuses: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Waitall") else { return notInitialized }
    var rc = checkArray(count, requests)
    if rc != 0 { return fail(rc, rt, nil, "MPI_Waitall") }
    let n = Int(count)
    guard n > 0, let requests else { return 0 }
    var (reqs, bad) = decodeArray(requests, n, rt)
    if bad != nil { return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Waitall") }
    let handles = Array(UnsafeBufferPointer(start: requests, count: n))
    var sts = [Status](repeating: .empty, count: n)
    rc = rt.waitAll(&reqs, statuses: &sts)
    for k in 0..<n {
        writeBack(reqs, requests, k)
        store(sts[k], statusSlot(statuses, k), setError: rc == ErrorClass.inStatus.rawValue)
    }
    return rc == 0 ? 0 : fail(rc, rt, failingOwner(handles, sts), "MPI_Waitall")
}

@_cdecl("PMPI_Testall")
public func PMPI_Testall(_ count: Int32, _ requests: UnsafeMutablePointer<Int32>?, _ flag: UnsafeMutablePointer<Int32>?,
                         _ statuses: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Testall") else { return notInitialized }
    var rc = checkArray(count, requests)
    if rc == 0 && flag == nil { rc = ErrorClass.arg.rawValue }
    if rc != 0 { return fail(rc, rt, nil, "MPI_Testall") }
    let n = Int(count)
    guard n > 0, let requests else { flag!.pointee = 1; return 0 }
    var (reqs, bad) = decodeArray(requests, n, rt)
    if bad != nil { return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Testall") }
    let handles = Array(UnsafeBufferPointer(start: requests, count: n))
    var sts = [Status](repeating: .empty, count: n)
    var done = false
    rc = rt.testAll(&reqs, flag: &done, statuses: &sts)
    flag!.pointee = done ? 1 : 0
    if done {
        for k in 0..<n {
            writeBack(reqs, requests, k)
            store(sts[k], statusSlot(statuses, k), setError: rc == ErrorClass.inStatus.rawValue)
        }
    }
    return rc == 0 ? 0 : fail(rc, rt, failingOwner(handles, sts), "MPI_Testall")
}

// MARK: any

@_cdecl("PMPI_Waitany")
public func PMPI_Waitany(_ count: Int32, _ requests: UnsafeMutablePointer<Int32>?, _ index: UnsafeMutablePointer<Int32>?,
                         _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Waitany") else { return notInitialized }
    var rc = checkArray(count, requests)
    if rc == 0 && index == nil { rc = ErrorClass.arg.rawValue }
    if rc != 0 { return fail(rc, rt, nil, "MPI_Waitany") }
    let n = Int(count)
    guard n > 0, let requests else {
        index!.pointee = MPIConstant.undefined
        store(.empty, status)
        return 0
    }
    var (reqs, bad) = decodeArray(requests, n, rt)
    if bad != nil { return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Waitany") }
    var k = 0
    var st = Status()
    rc = rt.waitAny(&reqs, index: &k, status: &st)
    if k == Int(MPIConstant.undefined) {
        index!.pointee = MPIConstant.undefined
        store(.empty, status)
        return 0
    }
    let h = requests[k]
    index!.pointee = Int32(k)
    writeBack(reqs, requests, k)
    store(st, status)
    return rc == 0 ? 0 : fail(rc, rt, RequestOwners.comm(h), "MPI_Waitany")
}

@_cdecl("PMPI_Testany")
public func PMPI_Testany(_ count: Int32, _ requests: UnsafeMutablePointer<Int32>?, _ index: UnsafeMutablePointer<Int32>?,
                         _ flag: UnsafeMutablePointer<Int32>?, _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Testany") else { return notInitialized }
    var rc = checkArray(count, requests)
    if rc == 0 && (index == nil || flag == nil) { rc = ErrorClass.arg.rawValue }
    if rc != 0 { return fail(rc, rt, nil, "MPI_Testany") }
    let n = Int(count)
    guard n > 0, let requests else {
        flag!.pointee = 1
        index!.pointee = MPIConstant.undefined
        store(.empty, status)
        return 0
    }
    var (reqs, bad) = decodeArray(requests, n, rt)
    if bad != nil { return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Testany") }
    var k = 0
    var done = false
    var st = Status()
    rc = rt.testAny(&reqs, index: &k, flag: &done, status: &st)
    flag!.pointee = done ? 1 : 0
    if k == Int(MPIConstant.undefined) {
        index!.pointee = MPIConstant.undefined
        if done { store(.empty, status) }
        return 0
    }
    let h = requests[k]
    index!.pointee = Int32(k)
    writeBack(reqs, requests, k)
    store(st, status)
    return rc == 0 ? 0 : fail(rc, rt, RequestOwners.comm(h), "MPI_Testany")
}

// MARK: some

private func someCompleted(_ incount: Int32, _ requests: UnsafeMutablePointer<Int32>?,
                           _ outcount: UnsafeMutablePointer<Int32>?, _ indices: UnsafeMutablePointer<Int32>?,
                           _ statuses: UnsafeMutableRawPointer?, blocking: Bool, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    var rc = checkArray(incount, requests)
    if rc == 0 && (outcount == nil || (incount > 0 && indices == nil)) { rc = ErrorClass.arg.rawValue }
    if rc != 0 { return fail(rc, rt, nil, fn) }
    let n = Int(incount)
    guard n > 0, let requests else { outcount!.pointee = MPIConstant.undefined; return 0 }
    var (reqs, bad) = decodeArray(requests, n, rt)
    if bad != nil { return fail(ErrorClass.request.rawValue, rt, nil, fn) }
    var done: [Int] = []
    var sts: [Status] = []
    let (src, out) = rt.someCompleted(&reqs, blocking: blocking, indices: &done, statuses: &sts)
    rc = src
    outcount!.pointee = Int32(out)
    var owner: Communicator? = nil
    for (j, k) in done.enumerated() {
        if sts[j].error != 0 && owner == nil { owner = RequestOwners.comm(requests[k]) }
        indices![j] = Int32(k)
        writeBack(reqs, requests, k)
        store(sts[j], statusSlot(statuses, j), setError: rc == ErrorClass.inStatus.rawValue)
    }
    return rc == 0 ? 0 : fail(rc, rt, owner, fn)
}

@_cdecl("PMPI_Waitsome")
public func PMPI_Waitsome(_ incount: Int32, _ requests: UnsafeMutablePointer<Int32>?,
                          _ outcount: UnsafeMutablePointer<Int32>?, _ indices: UnsafeMutablePointer<Int32>?,
                          _ statuses: UnsafeMutableRawPointer?) -> Int32 {
    someCompleted(incount, requests, outcount, indices, statuses, blocking: true, "MPI_Waitsome")
}

@_cdecl("PMPI_Testsome")
public func PMPI_Testsome(_ incount: Int32, _ requests: UnsafeMutablePointer<Int32>?,
                          _ outcount: UnsafeMutablePointer<Int32>?, _ indices: UnsafeMutablePointer<Int32>?,
                          _ statuses: UnsafeMutableRawPointer?) -> Int32 {
    someCompleted(incount, requests, outcount, indices, statuses, blocking: false, "MPI_Testsome")
}

// MARK: persistent start

@_cdecl("PMPI_Start")
public func PMPI_Start(_ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Start") else { return notInitialized }
    guard let request else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Start") }
    guard case .live(let r) = decode(request.pointee, rt) else {
        return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Start")
    }
    return fail(rt.start(r), rt, RequestOwners.comm(request.pointee), "MPI_Start")
}

@_cdecl("PMPI_Startall")
public func PMPI_Startall(_ count: Int32, _ requests: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Startall") else { return notInitialized }
    let rc = checkArray(count, requests)
    if rc != 0 { return fail(rc, rt, nil, "MPI_Startall") }
    // Validate every handle before starting any, so an error leaves all of them inactive.
    var ids: [RequestID] = []
    for k in 0..<Int(count) {
        guard case .live(let r) = decode(requests![k], rt) else {
            return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Startall")
        }
        ids.append(r)
    }
    for (k, r) in ids.enumerated() {
        let rc = rt.start(r)
        if rc != 0 { return fail(rc, rt, RequestOwners.comm(requests![k]), "MPI_Startall") }
    }
    return 0
}

// MARK: free, status, cancel

@_cdecl("PMPI_Request_free")
public func PMPI_Request_free(_ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Request_free") else { return notInitialized }
    guard let request else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Request_free") }
    guard case .live(let r) = decode(request.pointee, rt) else {
        return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Request_free")
    }
    var handle: RequestHandle = r
    let rc = rt.requestFree(&handle)
    if rc != 0 { return fail(rc, rt, RequestOwners.comm(request.pointee), "MPI_Request_free") }
    request.pointee = Handle.requestNull
    return 0
}

@_cdecl("PMPI_Request_get_status")
public func PMPI_Request_get_status(_ request: Int32, _ flag: UnsafeMutablePointer<Int32>?,
                                    _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Request_get_status") else { return notInitialized }
    guard let flag else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Request_get_status") }
    switch decode(request, rt) {
    case .null:
        flag.pointee = 1
        store(.empty, status)
        return 0
    case .invalid:
        return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Request_get_status")
    case .live(let r):
        var done = false
        var st = Status()
        let rc = rt.requestGetStatus(r, flag: &done, status: &st)
        if rc != 0 { return fail(rc, rt, RequestOwners.comm(request), "MPI_Request_get_status") }
        flag.pointee = done ? 1 : 0
        if done { store(st, status) }
        return 0
    }
}

@_cdecl("PMPI_Cancel")
public func PMPI_Cancel(_ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Cancel") else { return notInitialized }
    guard let request else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Cancel") }
    guard case .live(let r) = decode(request.pointee, rt) else {
        return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Cancel")
    }
    return fail(rt.cancel(r), rt, RequestOwners.comm(request.pointee), "MPI_Cancel")
}

// MARK: generalized requests

/// `int query_fn(void *extra_state, MPI_Status *status)`.
public typealias GrequestQueryFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32
/// `int free_fn(void *extra_state)`.
public typealias GrequestFreeFunction = @convention(c) (UnsafeMutableRawPointer?) -> Int32
/// `int cancel_fn(void *extra_state, int complete)`.
public typealias GrequestCancelFunction = @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32

@_cdecl("PMPI_Grequest_start")
public func PMPI_Grequest_start(_ queryFn: GrequestQueryFunction?, _ freeFn: GrequestFreeFunction?,
                                _ cancelFn: GrequestCancelFunction?, _ extraState: UnsafeMutableRawPointer?,
                                _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Grequest_start") else { return notInitialized }
    guard let request else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Grequest_start") }
    let callbacks = GeneralizedCallbacks(
        query: { st in
            guard let queryFn else { return 0 }
            // The C function fills an MPI_Status; carry its fields back to the runtime's status.
            var c = CStatus(countLow: 0, countHighAndCancelled: 0, source: st.source, tag: st.tag, error: st.error)
            setCount(&c, UInt64(st.byteCount), cancelled: st.cancelled)
            let rc = withUnsafeMutablePointer(to: &c) { queryFn(extraState, UnsafeMutableRawPointer($0)) }
            st.source = c.source
            st.tag = c.tag
            st.error = c.error
            st.byteCount = withUnsafePointer(to: &c) { byteCount($0) }
            st.cancelled = c.countHighAndCancelled & 1 != 0
            return rc
        },
        free: { freeFn?(extraState) ?? 0 },
        cancel: { complete in cancelFn?(extraState, complete ? 1 : 0) ?? 0 })
    let r = rt.generalizedStart(callbacks)
    request.pointee = encodeRequest(r, owner: rt.world)
    return 0
}

@_cdecl("PMPI_Grequest_complete")
public func PMPI_Grequest_complete(_ request: Int32) -> Int32 {
    guard let rt = runtime("MPI_Grequest_complete") else { return notInitialized }
    guard case .live(let r) = decode(request, rt) else {
        return fail(ErrorClass.request.rawValue, rt, nil, "MPI_Grequest_complete")
    }
    return fail(rt.generalizedComplete(r), rt, nil, "MPI_Grequest_complete")
}
