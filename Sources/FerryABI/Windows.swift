// One-sided communication entry points (MPI-3.1 chapter 11): window creation and management,
// attributes, error handlers, synchronization and the RMA calls. The runtime does the work
// (FerryRuntime/Window*.swift); this file decodes handles and reports failures through the
// WINDOW's error handler (MPI_ERRORS_ARE_FATAL unless the user set another), except for an
// invalid window handle, which is reported on MPI_COMM_WORLD.
import FerryCore
import FerryDatatype
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

extension ABI {
    /// User windows: `Handle.winBase | index`.
    static let windows = HandleTable<Window>(base: Handle.winBase)
}

/// `int (MPI_Win, int keyval, void *extra_state, void *attribute_val_in, void *attribute_val_out, int *flag)`.
public typealias WinCopyAttrFunction = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                                                UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> Int32
/// `int (MPI_Win, int keyval, void *attribute_val, void *extra_state)`.
public typealias WinDeleteAttrFunction = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32
/// `void (MPI_Win *, int *, ...)` (the variadic part is unused), as the comm handler type.
public typealias WinErrhandlerFunction = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Void

/// A window's error handler: a predefined handle, or a user function made by
/// MPI_Win_create_errhandler (kept in `Window.errorHandler`; absent means MPI_ERRORS_ARE_FATAL).
final class WindowErrhandler {
    let handle: Int32
    let function: CommErrhandlerFunction?
    init(handle: Int32, function: CommErrhandlerFunction?) {
        self.handle = handle
        self.function = function
    }
}

@inline(__always)
private func decodeWindow(_ h: Int32) -> Window? {
    guard let w = ABI.windows.lookup(h), !w.isFreed else { return nil }
    return w
}

/// Applies the window's error handler to a failed call (`detail` is printed when fatal).
private func winFail(_ rc: Int32, _ rt: Runtime, _ w: Window?, _ fn: StaticString, _ detail: String = "") -> Int32 {
    if rc == 0 { return 0 }
    guard let w else { return rt.handleError(rc, comm: nil, function: "\(fn)") }
    let handler = w.errorHandler as? WindowErrhandler
    switch handler?.handle ?? Handle.errorsAreFatal {
    case Handle.errorsReturn:
        return rc
    case Handle.errorsAreFatal, Handle.errorsAbort:
        let what = rt.errorString(of: rc) ?? "error \(rc)"
        let msg = "ferry: rank \(rt.worldRank): fatal error in \(fn): \(what)\(detail.isEmpty ? "" : ": " + detail) (error class \(rt.errorClass(of: rc) ?? rc))\n"
        complain(msg)
        rt.abort(code: rc, message: "")   // said just above
    default:
        if let f = handler?.function {
            var wh = ABI.windows.handle(of: w) ?? Handle.winNull
            var code = rc
            f(&wh, &code)
        }
        return rc
    }
}

/// A window from its handle, or the error through MPI_COMM_WORLD's handler.
@inline(__always)
private func window(_ h: Int32, _ rt: Runtime, _ fn: StaticString) -> (Window?, Int32) {
    guard let w = decodeWindow(h) else { return (nil, rt.handleError(ErrorClass.win.rawValue, comm: nil, function: "\(fn)")) }
    return (w, 0)
}

/// Runs a throwing runtime call and reports its error through the window's handler.
@inline(__always)
private func run(_ rt: Runtime, _ w: Window, _ fn: StaticString, _ body: () throws(MPIError) -> Void) -> Int32 {
    do { try body() } catch { return winFail(error.code, rt, w, fn, error.detail) }
    return 0
}

// MARK: creation

/// Registers a new window and writes its handle.
private func publish(_ w: Window, _ out: UnsafeMutablePointer<Int32>, _ rt: Runtime, _ fn: StaticString) -> Int32 {
    guard let h = ABI.windows.insert(w) else {
        complain("ferry: \(fn): too many windows (\(ABI.windows.capacity)); free unused ones")
        return fail(ErrorClass.noMem.rawValue, rt, w.comm, fn)
    }
    out.pointee = h
    return 0
}

/// Creation failures go to the communicator's handler (there is no window yet); the reasons
/// only the runtime knows (kernel refuses single copy, /dev/shm full) are printed.
private func creationFailed(_ e: MPIError, _ rt: Runtime, _ c: Communicator?, _ fn: StaticString) -> Int32 {
    if !e.detail.isEmpty && e.errorClass != .comm && e.errorClass != .size && e.errorClass != .disp && e.errorClass != .base {
        complain("ferry: \(fn): \(e.detail)")
    }
    return fail(e.code, rt, c, fn)
}

@_cdecl("PMPI_Win_create")
public func PMPI_Win_create(_ base: UnsafeMutableRawPointer?, _ size: Int, _ dispUnit: Int32, _ info: Int32,
                            _ comm: Int32, _ win: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_create") else { return notInitialized }
    let c = decodeComm(comm, rt)
    guard let win else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Win_create") }
    guard let hints = infoEntries(info) else { return fail(ErrorClass.info.rawValue, rt, c, "MPI_Win_create") }
    do {
        let w = try rt.windowCreate(base: base, size: size, dispUnit: Int(dispUnit), comm: c, hints: hints)
        return publish(w, win, rt, "MPI_Win_create")
    } catch { return creationFailed(error, rt, c, "MPI_Win_create") }
}

@_cdecl("PMPI_Win_allocate")
public func PMPI_Win_allocate(_ size: Int, _ dispUnit: Int32, _ info: Int32, _ comm: Int32,
                              _ baseptr: UnsafeMutableRawPointer?, _ win: UnsafeMutablePointer<Int32>?) -> Int32 {
    allocate(size, dispUnit, info, comm, baseptr, win, shared: false, "MPI_Win_allocate")
}

@_cdecl("PMPI_Win_allocate_shared")
public func PMPI_Win_allocate_shared(_ size: Int, _ dispUnit: Int32, _ info: Int32, _ comm: Int32,
                                     _ baseptr: UnsafeMutableRawPointer?, _ win: UnsafeMutablePointer<Int32>?) -> Int32 {
    allocate(size, dispUnit, info, comm, baseptr, win, shared: true, "MPI_Win_allocate_shared")
}

private func allocate(_ size: Int, _ dispUnit: Int32, _ info: Int32, _ comm: Int32, _ baseptr: UnsafeMutableRawPointer?,
                      _ win: UnsafeMutablePointer<Int32>?, shared: Bool, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    let c = decodeComm(comm, rt)
    guard let win, let baseptr else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    guard let hints = infoEntries(info) else { return fail(ErrorClass.info.rawValue, rt, c, fn) }
    do {
        let w = try rt.windowAllocate(size: size, dispUnit: Int(dispUnit), comm: c, shared: shared, hints: hints)
        baseptr.storeBytes(of: w.base, as: UnsafeMutableRawPointer?.self)
        return publish(w, win, rt, fn)
    } catch { return creationFailed(error, rt, c, fn) }
}

@_cdecl("PMPI_Win_create_dynamic")
public func PMPI_Win_create_dynamic(_ info: Int32, _ comm: Int32, _ win: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_create_dynamic") else { return notInitialized }
    let c = decodeComm(comm, rt)
    guard let win else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Win_create_dynamic") }
    guard let hints = infoEntries(info) else { return fail(ErrorClass.info.rawValue, rt, c, "MPI_Win_create_dynamic") }
    do {
        let w = try rt.windowCreateDynamic(comm: c, hints: hints)
        return publish(w, win, rt, "MPI_Win_create_dynamic")
    } catch { return creationFailed(error, rt, c, "MPI_Win_create_dynamic") }
}

@_cdecl("PMPI_Win_shared_query")
public func PMPI_Win_shared_query(_ win: Int32, _ rank: Int32, _ size: UnsafeMutablePointer<Int>?,
                                  _ dispUnit: UnsafeMutablePointer<Int32>?, _ baseptr: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Win_shared_query") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_shared_query")
    guard let w else { return rc }
    guard w.flavor == .shared else { return winFail(ErrorClass.rmaFlavor.rawValue, rt, w, "MPI_Win_shared_query") }
    guard let size, let dispUnit, let baseptr else { return winFail(ErrorClass.arg.rawValue, rt, w, "MPI_Win_shared_query") }
    var r = rank
    if rank == MPIConstant.procNull {
        // The first member with memory (MPI-3.1 §11.2.3), or a zero-size answer.
        r = (0..<Int32(w.size)).first { w.memberSize($0) > 0 } ?? -1
        if r < 0 {
            size.pointee = 0
            dispUnit.pointee = Int32(truncatingIfNeeded: w.memberDispUnit(0))
            baseptr.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
            return 0
        }
    }
    guard r >= 0 && Int(r) < w.size else { return winFail(ErrorClass.rank.rawValue, rt, w, "MPI_Win_shared_query") }
    size.pointee = w.memberSize(r)
    dispUnit.pointee = Int32(truncatingIfNeeded: w.memberDispUnit(r))
    // A member without memory has no address to give: NULL (MPICH's rma/win_shared_noncontig_put
    // checks it), not where its empty part would start.
    baseptr.storeBytes(of: w.memberSize(r) == 0 ? nil : w.mappedBase(of: r), as: UnsafeMutableRawPointer?.self)
    return 0
}

@_cdecl("PMPI_Win_attach")
public func PMPI_Win_attach(_ win: Int32, _ base: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    guard let rt = runtime("MPI_Win_attach") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_attach")
    guard let w else { return rc }
    return winFail(rt.windowAttach(w, base: base, size: size), rt, w, "MPI_Win_attach")
}

@_cdecl("PMPI_Win_detach")
public func PMPI_Win_detach(_ win: Int32, _ base: UnsafeRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Win_detach") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_detach")
    guard let w else { return rc }
    return winFail(rt.windowDetach(w, base: base), rt, w, "MPI_Win_detach")
}

@_cdecl("PMPI_Win_free")
public func PMPI_Win_free(_ win: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_free") else { return notInitialized }
    guard let win else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Win_free") }
    let (w, rc) = window(win.pointee, rt, "MPI_Win_free")
    guard let w else { return rc }
    let frc = run(rt, w, "MPI_Win_free") { () throws(MPIError) in try rt.windowFree(w) }
    if frc != 0 { return frc }
    ABI.windows.remove(win.pointee)
    win.pointee = Handle.winNull
    return 0
}

// MARK: group, name, info

@_cdecl("PMPI_Win_get_group")
public func PMPI_Win_get_group(_ win: Int32, _ group: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_get_group") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_get_group")
    guard let w else { return rc }
    guard let group else { return winFail(ErrorClass.arg.rawValue, rt, w, "MPI_Win_get_group") }
    guard let h = encodeGroup(w.group) else { return winFail(ErrorClass.intern.rawValue, rt, w, "MPI_Win_get_group") }
    group.pointee = h
    return 0
}

@_cdecl("PMPI_Win_set_name")
public func PMPI_Win_set_name(_ win: Int32, _ name: UnsafePointer<CChar>?) -> Int32 {
    guard let rt = runtime("MPI_Win_set_name") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_set_name")
    guard let w else { return rc }
    guard let name else { return winFail(ErrorClass.arg.rawValue, rt, w, "MPI_Win_set_name") }
    w.name = String(String(cString: name).utf8.prefix(MPIConstant.maxObjectName - 1)) ?? ""
    return 0
}

@_cdecl("PMPI_Win_get_name")
public func PMPI_Win_get_name(_ win: Int32, _ name: UnsafeMutablePointer<CChar>?, _ length: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_get_name") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_get_name")
    guard let w else { return rc }
    guard let name, let length else { return winFail(ErrorClass.arg.rawValue, rt, w, "MPI_Win_get_name") }
    length.pointee = copyString(w.name, name, max: MPIConstant.maxObjectName)
    return 0
}

@_cdecl("PMPI_Win_set_info")
public func PMPI_Win_set_info(_ win: Int32, _ info: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_set_info") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_set_info")
    guard let w else { return rc }
    guard let entries = infoEntries(info) else { return winFail(ErrorClass.info.rawValue, rt, w, "MPI_Win_set_info") }
    for (k, v) in entries { w.setHint(k, v) }
    return 0
}

@_cdecl("PMPI_Win_get_info")
public func PMPI_Win_get_info(_ win: Int32, _ info: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_get_info") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_get_info")
    guard let w else { return rc }
    guard let info else { return winFail(ErrorClass.arg.rawValue, rt, w, "MPI_Win_get_info") }
    let h = encodeInfo(w.hints)
    if h == Handle.infoNull { return winFail(ErrorClass.noMem.rawValue, rt, w, "MPI_Win_get_info") }
    info.pointee = h
    return 0
}

// MARK: attributes

@_cdecl("PMPI_Win_create_keyval")
public func PMPI_Win_create_keyval(_ copy: WinCopyAttrFunction?, _ delete: WinDeleteAttrFunction?,
                                   _ keyval: UnsafeMutablePointer<Int32>?, _ extraState: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Win_create_keyval") else { return notInitialized }
    guard let keyval else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Win_create_keyval") }
    // Windows are never duplicated, so the copy function is never called.
    _ = copy
    let onDelete: WindowKeyvalTable.Delete? = delete.map { f in
        { (w: Window, k: Int32, v: UnsafeMutableRawPointer?) -> Int32 in
            f(ABI.windows.handle(of: w) ?? Handle.winNull, k, v, extraState)
        }
    }
    keyval.pointee = rt.windowCreateKeyval(delete: onDelete)
    return 0
}

@_cdecl("PMPI_Win_free_keyval")
public func PMPI_Win_free_keyval(_ keyval: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_free_keyval") else { return notInitialized }
    guard let keyval else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Win_free_keyval") }
    if WindowKeyval.all.contains(keyval.pointee) { return fail(ErrorClass.keyval.rawValue, rt, nil, "MPI_Win_free_keyval") }
    let rc = rt.windowFreeKeyval(keyval.pointee)
    if rc != 0 { return fail(rc, rt, nil, "MPI_Win_free_keyval") }
    keyval.pointee = 0x2400_0000   // MPI_KEYVAL_INVALID
    return 0
}

@_cdecl("PMPI_Win_set_attr")
public func PMPI_Win_set_attr(_ win: Int32, _ keyval: Int32, _ value: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Win_set_attr") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_set_attr")
    guard let w else { return rc }
    if WindowKeyval.all.contains(keyval) { return winFail(ErrorClass.keyval.rawValue, rt, w, "MPI_Win_set_attr") }
    return winFail(rt.windowSetAttribute(w, keyval, value), rt, w, "MPI_Win_set_attr")
}

@_cdecl("PMPI_Win_get_attr")
public func PMPI_Win_get_attr(_ win: Int32, _ keyval: Int32, _ value: UnsafeMutableRawPointer?,
                              _ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_get_attr") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_get_attr")
    guard let w else { return rc }
    guard let value, let flag else { return winFail(ErrorClass.arg.rawValue, rt, w, "MPI_Win_get_attr") }
    let (grc, found, v) = rt.windowGetAttribute(w, keyval)
    if grc != 0 { return winFail(grc, rt, w, "MPI_Win_get_attr") }
    flag.pointee = found ? 1 : 0
    if found { value.storeBytes(of: v, as: UnsafeMutableRawPointer?.self) }
    return 0
}

@_cdecl("PMPI_Win_delete_attr")
public func PMPI_Win_delete_attr(_ win: Int32, _ keyval: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_delete_attr") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_delete_attr")
    guard let w else { return rc }
    if WindowKeyval.all.contains(keyval) { return winFail(ErrorClass.keyval.rawValue, rt, w, "MPI_Win_delete_attr") }
    return winFail(rt.windowDeleteAttribute(w, keyval), rt, w, "MPI_Win_delete_attr")
}

// MARK: error handlers

@_cdecl("PMPI_Win_create_errhandler")
public func PMPI_Win_create_errhandler(_ function: WinErrhandlerFunction?, _ errhandler: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_create_errhandler") else { return notInitialized }
    guard let function, let errhandler else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Win_create_errhandler") }
    guard let h = ABI.errhandlers.insert(ErrhandlerObject(.win(function))) else {
        return fail(ErrorClass.noMem.rawValue, rt, nil, "MPI_Win_create_errhandler")
    }
    errhandler.pointee = h
    return 0
}

@_cdecl("PMPI_Win_set_errhandler")
public func PMPI_Win_set_errhandler(_ win: Int32, _ errhandler: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_set_errhandler") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_set_errhandler")
    guard let w else { return rc }
    switch errhandler {
    case Handle.errorsAreFatal, Handle.errorsReturn, Handle.errorsAbort:
        w.errorHandler = WindowErrhandler(handle: errhandler, function: nil)
    default:
        guard let object = ABI.errhandlers.lookup(errhandler), case .win(let f) = object.kind else {
            return winFail(ErrorClass.arg.rawValue, rt, w, "MPI_Win_set_errhandler")
        }
        w.errorHandler = WindowErrhandler(handle: errhandler, function: f)
    }
    return 0
}

@_cdecl("PMPI_Win_get_errhandler")
public func PMPI_Win_get_errhandler(_ win: Int32, _ errhandler: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_get_errhandler") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_get_errhandler")
    guard let w else { return rc }
    guard let errhandler else { return winFail(ErrorClass.arg.rawValue, rt, w, "MPI_Win_get_errhandler") }
    errhandler.pointee = (w.errorHandler as? WindowErrhandler)?.handle ?? Handle.errorsAreFatal
    return 0
}

@_cdecl("PMPI_Win_call_errhandler")
public func PMPI_Win_call_errhandler(_ win: Int32, _ errorcode: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_call_errhandler") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_call_errhandler")
    guard let w else { return rc }
    _ = winFail(errorcode, rt, w, "MPI_Win_call_errhandler")
    return 0
}

// MARK: synchronization

@_cdecl("PMPI_Win_fence")
public func PMPI_Win_fence(_ assert: Int32, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_fence") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_fence")
    guard let w else { return rc }
    return run(rt, w, "MPI_Win_fence") { () throws(MPIError) in try rt.windowFence(w, assert: assert) }
}

@_cdecl("PMPI_Win_post")
public func PMPI_Win_post(_ group: Int32, _ assert: Int32, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_post") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_post")
    guard let w else { return rc }
    guard let g = decodeGroup(group) else { return winFail(ErrorClass.group.rawValue, rt, w, "MPI_Win_post") }
    return run(rt, w, "MPI_Win_post") { () throws(MPIError) in try rt.windowPost(w, group: g, assert: assert) }
}

@_cdecl("PMPI_Win_start")
public func PMPI_Win_start(_ group: Int32, _ assert: Int32, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_start") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_start")
    guard let w else { return rc }
    guard let g = decodeGroup(group) else { return winFail(ErrorClass.group.rawValue, rt, w, "MPI_Win_start") }
    return run(rt, w, "MPI_Win_start") { () throws(MPIError) in try rt.windowStart(w, group: g, assert: assert) }
}

@_cdecl("PMPI_Win_complete")
public func PMPI_Win_complete(_ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_complete") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_complete")
    guard let w else { return rc }
    return run(rt, w, "MPI_Win_complete") { () throws(MPIError) in try rt.windowComplete(w) }
}

@_cdecl("PMPI_Win_wait")
public func PMPI_Win_wait(_ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_wait") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_wait")
    guard let w else { return rc }
    return run(rt, w, "MPI_Win_wait") { () throws(MPIError) in _ = try rt.windowWaitExposure(w, blocking: true) }
}

@_cdecl("PMPI_Win_test")
public func PMPI_Win_test(_ win: Int32, _ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Win_test") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_test")
    guard let w else { return rc }
    guard let flag else { return winFail(ErrorClass.arg.rawValue, rt, w, "MPI_Win_test") }
    return run(rt, w, "MPI_Win_test") { () throws(MPIError) in
        flag.pointee = try rt.windowWaitExposure(w, blocking: false) ? 1 : 0
    }
}

@_cdecl("PMPI_Win_lock")
public func PMPI_Win_lock(_ lockType: Int32, _ rank: Int32, _ assert: Int32, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_lock") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_lock")
    guard let w else { return rc }
    return run(rt, w, "MPI_Win_lock") { () throws(MPIError) in try rt.windowLock(w, type: lockType, rank: rank, assert: assert) }
}

@_cdecl("PMPI_Win_unlock")
public func PMPI_Win_unlock(_ rank: Int32, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_unlock") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_unlock")
    guard let w else { return rc }
    return run(rt, w, "MPI_Win_unlock") { () throws(MPIError) in try rt.windowUnlock(w, rank: rank) }
}

@_cdecl("PMPI_Win_lock_all")
public func PMPI_Win_lock_all(_ assert: Int32, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_lock_all") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_lock_all")
    guard let w else { return rc }
    return run(rt, w, "MPI_Win_lock_all") { () throws(MPIError) in try rt.windowLockAll(w, assert: assert) }
}

@_cdecl("PMPI_Win_unlock_all")
public func PMPI_Win_unlock_all(_ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_unlock_all") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_unlock_all")
    guard let w else { return rc }
    return run(rt, w, "MPI_Win_unlock_all") { () throws(MPIError) in try rt.windowUnlockAll(w) }
}

private func flush(_ win: Int32, _ rank: Int32?, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    let (w, rc) = window(win, rt, fn)
    guard let w else { return rc }
    return run(rt, w, fn) { () throws(MPIError) in try rt.windowFlush(w, rank: rank) }
}

@_cdecl("PMPI_Win_flush")
public func PMPI_Win_flush(_ rank: Int32, _ win: Int32) -> Int32 { flush(win, rank, "MPI_Win_flush") }

@_cdecl("PMPI_Win_flush_all")
public func PMPI_Win_flush_all(_ win: Int32) -> Int32 { flush(win, nil, "MPI_Win_flush_all") }

@_cdecl("PMPI_Win_flush_local")
public func PMPI_Win_flush_local(_ rank: Int32, _ win: Int32) -> Int32 { flush(win, rank, "MPI_Win_flush_local") }

@_cdecl("PMPI_Win_flush_local_all")
public func PMPI_Win_flush_local_all(_ win: Int32) -> Int32 { flush(win, nil, "MPI_Win_flush_local_all") }

@_cdecl("PMPI_Win_sync")
public func PMPI_Win_sync(_ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Win_sync") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Win_sync")
    guard let w else { return rc }
    return run(rt, w, "MPI_Win_sync") { () throws(MPIError) in try rt.windowSync(w) }
}

// MARK: communication

/// An already-complete request for the request-based RMA calls (they finish before returning).
private func completedRequest(_ rt: Runtime, _ out: UnsafeMutablePointer<Int32>) {
    let r = rt.generalizedStart(GeneralizedCallbacks(query: { _ in 0 }, free: { 0 }, cancel: { _ in 0 }))
    _ = rt.generalizedComplete(r)
    out.pointee = encodeRequest(r)
}

@_cdecl("PMPI_Put")
public func PMPI_Put(_ origin: UnsafeRawPointer?, _ originCount: Int32, _ originType: Int32, _ target: Int32,
                     _ targetDisp: Int, _ targetCount: Int32, _ targetType: Int32, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Put") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Put")
    guard let w else { return rc }
    return winFail(rt.windowPut(w, origin: origin, originCount: Int(originCount), originType: decodeType(originType),
                                target: target, targetDisp: targetDisp, targetCount: Int(targetCount),
                                targetType: decodeType(targetType)), rt, w, "MPI_Put")
}

@_cdecl("PMPI_Get")
public func PMPI_Get(_ origin: UnsafeMutableRawPointer?, _ originCount: Int32, _ originType: Int32, _ target: Int32,
                     _ targetDisp: Int, _ targetCount: Int32, _ targetType: Int32, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Get") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Get")
    guard let w else { return rc }
    return winFail(rt.windowGet(w, origin: origin, originCount: Int(originCount), originType: decodeType(originType),
                                target: target, targetDisp: targetDisp, targetCount: Int(targetCount),
                                targetType: decodeType(targetType)), rt, w, "MPI_Get")
}

/// The op of an RMA call: predefined ones only (MPI-3.1 §11.3.4); nil gives MPI_ERR_OP.
private func rmaOp(_ h: Int32) -> Operation? {
    guard let op = decodeOp(h), case .predefined = op else { return nil }
    return op
}

@_cdecl("PMPI_Accumulate")
public func PMPI_Accumulate(_ origin: UnsafeRawPointer?, _ originCount: Int32, _ originType: Int32, _ target: Int32,
                            _ targetDisp: Int, _ targetCount: Int32, _ targetType: Int32, _ op: Int32,
                            _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Accumulate") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Accumulate")
    guard let w else { return rc }
    return winFail(rt.windowAccumulate(w, origin: origin, originCount: Int(originCount),
                                       originType: decodeType(originType), target: target, targetDisp: targetDisp,
                                       targetCount: Int(targetCount), targetType: decodeType(targetType),
                                       op: rmaOp(op)), rt, w, "MPI_Accumulate")
}

@_cdecl("PMPI_Get_accumulate")
public func PMPI_Get_accumulate(_ origin: UnsafeRawPointer?, _ originCount: Int32, _ originType: Int32,
                                _ result: UnsafeMutableRawPointer?, _ resultCount: Int32, _ resultType: Int32,
                                _ target: Int32, _ targetDisp: Int, _ targetCount: Int32, _ targetType: Int32,
                                _ op: Int32, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Get_accumulate") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Get_accumulate")
    guard let w else { return rc }
    return winFail(rt.windowGetAccumulate(w, origin: origin, originCount: Int(originCount),
                                          originType: decodeType(originType), result: result,
                                          resultCount: Int(resultCount), resultType: decodeType(resultType),
                                          target: target, targetDisp: targetDisp, targetCount: Int(targetCount),
                                          targetType: decodeType(targetType), op: rmaOp(op)), rt, w, "MPI_Get_accumulate")
}

@_cdecl("PMPI_Fetch_and_op")
public func PMPI_Fetch_and_op(_ origin: UnsafeRawPointer?, _ result: UnsafeMutableRawPointer?, _ datatype: Int32,
                              _ target: Int32, _ targetDisp: Int, _ op: Int32, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Fetch_and_op") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Fetch_and_op")
    guard let w else { return rc }
    return winFail(rt.windowFetchAndOp(w, origin: origin, result: result, type: decodeType(datatype), target: target,
                                       targetDisp: targetDisp, op: rmaOp(op)), rt, w, "MPI_Fetch_and_op")
}

@_cdecl("PMPI_Compare_and_swap")
public func PMPI_Compare_and_swap(_ origin: UnsafeRawPointer?, _ compare: UnsafeRawPointer?,
                                  _ result: UnsafeMutableRawPointer?, _ datatype: Int32, _ target: Int32,
                                  _ targetDisp: Int, _ win: Int32) -> Int32 {
    guard let rt = runtime("MPI_Compare_and_swap") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Compare_and_swap")
    guard let w else { return rc }
    return winFail(rt.windowCompareAndSwap(w, origin: origin, compare: compare, result: result,
                                           type: decodeType(datatype), target: target, targetDisp: targetDisp),
                   rt, w, "MPI_Compare_and_swap")
}

@_cdecl("PMPI_Rput")
public func PMPI_Rput(_ origin: UnsafeRawPointer?, _ originCount: Int32, _ originType: Int32, _ target: Int32,
                      _ targetDisp: Int, _ targetCount: Int32, _ targetType: Int32, _ win: Int32,
                      _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Rput") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Rput")
    guard let w else { return rc }
    guard let request else { return winFail(ErrorClass.request.rawValue, rt, w, "MPI_Rput") }
    // To MPI_PROC_NULL nothing happens, so no epoch is needed (MPICH's rma/rmanull locks
    // MPI_PROC_NULL, a no-op, around it).
    guard w.inPassiveEpoch || target == MPIConstant.procNull else { return winFail(ErrorClass.rmaSync.rawValue, rt, w, "MPI_Rput") }
    let prc = PMPI_Put(origin, originCount, originType, target, targetDisp, targetCount, targetType, win)
    if prc != 0 { return prc }
    completedRequest(rt, request)
    return 0
}

@_cdecl("PMPI_Rget")
public func PMPI_Rget(_ origin: UnsafeMutableRawPointer?, _ originCount: Int32, _ originType: Int32, _ target: Int32,
                      _ targetDisp: Int, _ targetCount: Int32, _ targetType: Int32, _ win: Int32,
                      _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Rget") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Rget")
    guard let w else { return rc }
    guard let request else { return winFail(ErrorClass.request.rawValue, rt, w, "MPI_Rget") }
    // To MPI_PROC_NULL nothing happens, so no epoch is needed (MPICH's rma/rmanull locks
    // MPI_PROC_NULL, a no-op, around it).
    guard w.inPassiveEpoch || target == MPIConstant.procNull else { return winFail(ErrorClass.rmaSync.rawValue, rt, w, "MPI_Rget") }
    let grc = PMPI_Get(origin, originCount, originType, target, targetDisp, targetCount, targetType, win)
    if grc != 0 { return grc }
    completedRequest(rt, request)
    return 0
}

@_cdecl("PMPI_Raccumulate")
public func PMPI_Raccumulate(_ origin: UnsafeRawPointer?, _ originCount: Int32, _ originType: Int32, _ target: Int32,
                             _ targetDisp: Int, _ targetCount: Int32, _ targetType: Int32, _ op: Int32, _ win: Int32,
                             _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Raccumulate") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Raccumulate")
    guard let w else { return rc }
    guard let request else { return winFail(ErrorClass.request.rawValue, rt, w, "MPI_Raccumulate") }
    // To MPI_PROC_NULL nothing happens, so no epoch is needed (MPICH's rma/rmanull locks
    // MPI_PROC_NULL, a no-op, around it).
    guard w.inPassiveEpoch || target == MPIConstant.procNull else { return winFail(ErrorClass.rmaSync.rawValue, rt, w, "MPI_Raccumulate") }
    let arc = PMPI_Accumulate(origin, originCount, originType, target, targetDisp, targetCount, targetType, op, win)
    if arc != 0 { return arc }
    completedRequest(rt, request)
    return 0
}

@_cdecl("PMPI_Rget_accumulate")
public func PMPI_Rget_accumulate(_ origin: UnsafeRawPointer?, _ originCount: Int32, _ originType: Int32,
                                 _ result: UnsafeMutableRawPointer?, _ resultCount: Int32, _ resultType: Int32,
                                 _ target: Int32, _ targetDisp: Int, _ targetCount: Int32, _ targetType: Int32,
                                 _ op: Int32, _ win: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Rget_accumulate") else { return notInitialized }
    let (w, rc) = window(win, rt, "MPI_Rget_accumulate")
    guard let w else { return rc }
    guard let request else { return winFail(ErrorClass.request.rawValue, rt, w, "MPI_Rget_accumulate") }
    // To MPI_PROC_NULL nothing happens, so no epoch is needed (MPICH's rma/rmanull locks
    // MPI_PROC_NULL, a no-op, around it).
    guard w.inPassiveEpoch || target == MPIConstant.procNull else { return winFail(ErrorClass.rmaSync.rawValue, rt, w, "MPI_Rget_accumulate") }
    let arc = PMPI_Get_accumulate(origin, originCount, originType, result, resultCount, resultType, target, targetDisp,
                                  targetCount, targetType, op, win)
    if arc != 0 { return arc }
    completedRequest(rt, request)
    return 0
}
