// Error classes, codes and strings (MPI-3.1 §8.4–8.5) and communicator error handlers
// (§8.3): MPI_ERRORS_ARE_FATAL / MPI_ERRORS_RETURN map to the runtime's `.fatal` /
// `.returnCodes`; a C handler (and MPI_ERRORS_ABORT) becomes a `.user` closure. The closure
// also answers which handle it came from (see `errhandlerHandle(of:)`), so communicators the
// runtime creates (dup, split, idup, ...) inherit the handler *and* its handle without any
// table on this side. Window and file handlers live with their objects' files.
import FerryCore
import FerryRuntime

/// `void (MPI_Comm *, int *, ...)`: MPI_Comm_errhandler_function, as the exported functions see
/// it (the same type as Handles.swift's internal `CommErrhandlerFunction`).
public typealias CCommErrhandlerFunction = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Void

/// The code a `.user` closure made here recognizes as "tell me your handle" instead of an error.
/// Real error codes are never negative.
private let handleQueryCode = Int32.min
/// Where a queried closure leaves its handle (written and read under `abiLock`).
@exclusivity(unchecked) nonisolated(unsafe) private var queriedErrhandler: Int32 = 0
/// Handles the application holds for each user error handler: one from its creation, one per
/// MPI_Comm_get_errhandler, minus MPI_Errhandler_free. The object itself stays registered
/// (communicators may still use it, and its handle must stay valid for them): a handful of
/// bytes per handler ever created. Handlers created elsewhere (windows) start at one.
@exclusivity(unchecked) nonisolated(unsafe) private var applicationReferences: [Int32: Int] = [:]

/// The runtime handler for an error handler handle (nil when the handle is not a valid
/// communicator error handler).
func decodeCommErrhandler(_ h: Int32, _ rt: Runtime) -> ErrorHandler? {
    switch h {
    case Handle.errorsAreFatal: return .fatal
    case Handle.errorsReturn: return .returnCodes
    case Handle.errorsAbort:
        // MPI-4's MPI_ERRORS_ABORT: abort the processes of the communicator (here: the job).
        return .user { comm, code in
            if code == handleQueryCode { queriedErrhandler = Handle.errorsAbort; return }
            let msg = "ferry: rank \(rt.worldRank): error \(code) (\(rt.errorString(of: code) ?? "unknown")) with MPI_ERRORS_ABORT\n"
            complain(msg)
            rt.abort(code: code, message: "")   // said just above
        }
    default:
        guard let object = ABI.errhandlers.lookup(h), case .comm(let f) = object.kind else { return nil }
        return .user { comm, code in
            if code == handleQueryCode { queriedErrhandler = h; return }
            guard let rt = Runtime.shared else { return }
            var commHandle = encodeComm(comm, rt)
            var errorCode = code
            f(&commHandle, &errorCode)
        }
    }
}

/// The handle of a communicator's error handler. A `.user` closure that does not come from
/// `decodeCommErrhandler` (the Swift API's, never mixed with the C API) answers nothing:
/// MPI_ERRHANDLER_NULL.
func errhandlerHandle(of c: Communicator) -> Int32 {
    switch c.errorHandler {
    case .fatal: return Handle.errorsAreFatal
    case .returnCodes: return Handle.errorsReturn
    case .user(let f):
        return withABILock {
            queriedErrhandler = Handle.errhandlerNull
            f(c, handleQueryCode)
            return queriedErrhandler
        }
    }
}

private func isPredefinedErrhandler(_ h: Int32) -> Bool {
    h == Handle.errorsAreFatal || h == Handle.errorsReturn || h == Handle.errorsAbort
}

/// Counts one more application reference to a user handler handle.
private func retainErrhandler(_ h: Int32) {
    guard !isPredefinedErrhandler(h) && h != Handle.errhandlerNull else { return }
    withABILock { applicationReferences[h, default: 1] += 1 }
}

// MARK: error handlers

@_cdecl("PMPI_Comm_create_errhandler")
public func PMPI_Comm_create_errhandler(_ function: CCommErrhandlerFunction?, _ errhandler: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_create_errhandler") else { return notInitialized }
    guard let function, let errhandler else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Comm_create_errhandler") }
    guard let h = ABI.errhandlers.insert(ErrhandlerObject(.comm(function))) else {
        return fail(ErrorClass.noMem.rawValue, rt, nil, "MPI_Comm_create_errhandler")
    }
    withABILock { applicationReferences[h] = 1 }
    errhandler.pointee = h
    return 0
}

@_cdecl("PMPI_Errhandler_create")
public func PMPI_Errhandler_create(_ function: CCommErrhandlerFunction?, _ errhandler: UnsafeMutablePointer<Int32>?) -> Int32 {
    PMPI_Comm_create_errhandler(function, errhandler)
}

@_cdecl("PMPI_Comm_set_errhandler")
public func PMPI_Comm_set_errhandler(_ comm: Int32, _ errhandler: Int32) -> Int32 {
    setErrhandler(comm, errhandler, "MPI_Comm_set_errhandler")
}

@_cdecl("PMPI_Errhandler_set")
public func PMPI_Errhandler_set(_ comm: Int32, _ errhandler: Int32) -> Int32 {
    setErrhandler(comm, errhandler, "MPI_Errhandler_set")
}

private func setErrhandler(_ comm: Int32, _ errhandler: Int32, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, fn) }
    guard let handler = decodeCommErrhandler(errhandler, rt) else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    c.errorHandler = handler
    return 0
}

@_cdecl("PMPI_Comm_get_errhandler")
public func PMPI_Comm_get_errhandler(_ comm: Int32, _ errhandler: UnsafeMutablePointer<Int32>?) -> Int32 {
    getErrhandler(comm, errhandler, "MPI_Comm_get_errhandler")
}

@_cdecl("PMPI_Errhandler_get")
public func PMPI_Errhandler_get(_ comm: Int32, _ errhandler: UnsafeMutablePointer<Int32>?) -> Int32 {
    getErrhandler(comm, errhandler, "MPI_Errhandler_get")
}

private func getErrhandler(_ comm: Int32, _ errhandler: UnsafeMutablePointer<Int32>?, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, fn) }
    guard let errhandler else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    let h = errhandlerHandle(of: c)
    retainErrhandler(h)
    errhandler.pointee = h
    return 0
}

/// Frees the application's handle. Predefined handles may be "freed" too (as in MPICH).
@_cdecl("PMPI_Errhandler_free")
public func PMPI_Errhandler_free(_ errhandler: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Errhandler_free") else { return notInitialized }
    guard let errhandler else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Errhandler_free") }
    let h = errhandler.pointee
    if !isPredefinedErrhandler(h) {
        guard ABI.errhandlers.lookup(h) != nil else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Errhandler_free") }
        let ok = withABILock { () -> Bool in
            let n = applicationReferences[h, default: 1]
            guard n > 0 else { return false }
            applicationReferences[h] = n - 1
            return true
        }
        guard ok else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Errhandler_free") }
    }
    errhandler.pointee = Handle.errhandlerNull
    return 0
}

/// Invokes the communicator's handler on `errorcode`; returns MPI_SUCCESS when it returns.
@_cdecl("PMPI_Comm_call_errhandler")
public func PMPI_Comm_call_errhandler(_ comm: Int32, _ errorcode: Int32) -> Int32 {
    guard let rt = runtime("MPI_Comm_call_errhandler") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_call_errhandler") }
    _ = rt.handleError(errorcode, comm: c, function: "MPI_Comm_call_errhandler")
    return 0
}

// MARK: classes, codes, strings

/// MPICH's MPI_T error classes (59...74, 78) and MPI_ERR_SESSION (75), which FerryCore's
/// `ErrorClass` does not list; their own descriptions.
private let extraClassMessages: [Int32: String] = [
    54: "Unknown error class",
    59: "Out of memory (MPI_T)", 60: "MPI_T interface not initialized", 61: "MPI_T interface cannot be initialized",
    62: "Invalid MPI_T index", 63: "Invalid MPI_T item", 64: "Invalid MPI_T handle", 65: "No more MPI_T handles",
    66: "No more MPI_T sessions", 67: "Invalid MPI_T session", 68: "MPI_T control variable cannot be set now",
    69: "MPI_T control variable can never be set", 70: "MPI_T performance variable cannot be started or stopped",
    71: "MPI_T performance variable cannot be written or reset", 72: "MPI_T performance variable cannot be read and written atomically",
    73: "Invalid MPI_T name", 74: "MPI_T error", 75: "Invalid session", 78: "MPI_T functionality not supported",
]

/// The class of a code, or nil when the code is not one this process knows.
private func classOf(_ code: Int32, _ rt: Runtime) -> Int32? {
    if ErrorClass(rawValue: code) != nil || extraClassMessages[code] != nil { return code }
    if let c = rt.errorClass(of: code), c != ErrorClass.unknown.rawValue || code == ErrorClass.unknown.rawValue { return c }
    return nil
}

@_cdecl("PMPI_Error_class")
public func PMPI_Error_class(_ errorcode: Int32, _ errorclass: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Error_class") else { return notInitialized }
    guard let errorclass else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Error_class") }
    guard let c = classOf(errorcode, rt) else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Error_class") }
    errorclass.pointee = c
    return 0
}

/// `string` has room for MPI_MAX_ERROR_STRING (512) characters including the NUL.
@_cdecl("PMPI_Error_string")
public func PMPI_Error_string(_ errorcode: Int32, _ string: UnsafeMutablePointer<CChar>?,
                              _ resultlen: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Error_string") else { return notInitialized }
    guard let string, let resultlen else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Error_string") }
    let text: String
    if let s = rt.errorString(of: errorcode) {
        text = s
    } else if let s = extraClassMessages[errorcode] {
        text = s
    } else {
        return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Error_string")
    }
    resultlen.pointee = copyString(text, string, max: Int(MPIConstant.maxErrorString))
    return 0
}

@_cdecl("PMPI_Add_error_class")
public func PMPI_Add_error_class(_ errorclass: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Add_error_class") else { return notInitialized }
    guard let errorclass else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Add_error_class") }
    let c = rt.addErrorClass()
    withABILock { lastUsedErrorCode = max(lastUsedErrorCode, c) }
    errorclass.pointee = c
    return 0
}

@_cdecl("PMPI_Add_error_code")
public func PMPI_Add_error_code(_ errorclass: Int32, _ errorcode: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Add_error_code") else { return notInitialized }
    guard let errorcode else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Add_error_code") }
    guard let code = rt.addErrorCode(errorClass: errorclass) else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Add_error_code") }
    withABILock { lastUsedErrorCode = max(lastUsedErrorCode, code) }
    errorcode.pointee = code
    return 0
}

/// Strings may be attached to user classes and codes only (MPI-3.1 §8.5), at most
/// MPI_MAX_ERROR_STRING - 1 characters.
@_cdecl("PMPI_Add_error_string")
public func PMPI_Add_error_string(_ errorcode: Int32, _ string: UnsafePointer<CChar>?) -> Int32 {
    guard let rt = runtime("MPI_Add_error_string") else { return notInitialized }
    guard let string else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Add_error_string") }
    let s = String(cString: string)
    guard s.utf8.count < MPIConstant.maxErrorString else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Add_error_string") }
    return fail(rt.addErrorString(code: errorcode, s), rt, nil, "MPI_Add_error_string")
}
