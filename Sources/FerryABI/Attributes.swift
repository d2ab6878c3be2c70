// Attribute caching on communicators (MPI-3.1 §6.7): keyvals whose C copy and delete
// callbacks become the runtime's `AttributeCopy` / `AttributeDelete` closures, the attribute
// calls, their deprecated MPI-1 names, and the predefined attributes (MPI_TAG_UB, ...), which
// every communicator reports as MPICH does. Window and datatype keyvals live with their objects.
import FerryCore
import FerryRuntime

/// `int (MPI_Comm oldcomm, int keyval, void *extra_state, void *attribute_val_in,
/// void *attribute_val_out, int *flag)`: MPI_Comm_copy_attr_function (and MPI_Copy_function).
/// MPI_COMM_NULL_COPY_FN is NULL; MPI_COMM_DUP_FN is a C function of the library.
public typealias CCommCopyFunction = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                                              UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> Int32
/// `int (MPI_Comm comm, int keyval, void *attribute_val, void *extra_state)`.
public typealias CCommDeleteFunction = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32

/// MPICH's MPI_KEYVAL_INVALID, which MPI_Comm_free_keyval stores.
let keyvalInvalid: Int32 = 0x2400_0000

/// The last error code handed out by MPI_Add_error_class / MPI_Add_error_code, for the
/// MPI_LASTUSEDCODE attribute (the runtime keeps the value it first reported).
/// It starts at MPI_ERR_LASTCODE (0x3fffffff in the MPICH ABI): MPI-3.1 §8.5 has it at least that,
/// and user classes and codes are numbered above it.
@exclusivity(unchecked) nonisolated(unsafe) var lastUsedErrorCode: Int32 = 0x3fff_ffff

/// Wraps the C callbacks; a NULL function means "not copied" / "nothing to do".
private func wrap(copy: CCommCopyFunction?, delete: CCommDeleteFunction?,
                  extra: UnsafeMutableRawPointer?) -> (AttributeCopy?, AttributeDelete?) {
    let c: AttributeCopy? = copy.map { f in
        { comm, keyval, value in
            guard let rt = Runtime.shared else { return (ErrorClass.intern.rawValue, false, nil) }
            var out: UnsafeMutableRawPointer? = nil
            var flag: Int32 = 0
            let rc = withUnsafeMutablePointer(to: &out) { p in
                f(encodeComm(comm, rt), keyval, extra, value, UnsafeMutableRawPointer(p), &flag)
            }
            return (rc, flag != 0, out)
        }
    }
    let d: AttributeDelete? = delete.map { f in
        { comm, keyval, value in
            guard let rt = Runtime.shared else { return ErrorClass.intern.rawValue }
            return f(encodeComm(comm, rt), keyval, value, extra)
        }
    }
    return (c, d)
}

private func createKeyval(_ copy: CCommCopyFunction?, _ delete: CCommDeleteFunction?,
                          _ keyval: UnsafeMutablePointer<Int32>?, _ extra: UnsafeMutableRawPointer?,
                          _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let keyval else { return fail(ErrorClass.arg.rawValue, rt, nil, fn) }
    let (c, d) = wrap(copy: copy, delete: delete, extra: extra)
    keyval.pointee = rt.createKeyval(copy: c, delete: d)
    return 0
}

@_cdecl("PMPI_Comm_create_keyval")
public func PMPI_Comm_create_keyval(_ copy: CCommCopyFunction?, _ delete: CCommDeleteFunction?,
                                    _ keyval: UnsafeMutablePointer<Int32>?, _ extra: UnsafeMutableRawPointer?) -> Int32 {
    createKeyval(copy, delete, keyval, extra, "MPI_Comm_create_keyval")
}

@_cdecl("PMPI_Keyval_create")
public func PMPI_Keyval_create(_ copy: CCommCopyFunction?, _ delete: CCommDeleteFunction?,
                               _ keyval: UnsafeMutablePointer<Int32>?, _ extra: UnsafeMutableRawPointer?) -> Int32 {
    createKeyval(copy, delete, keyval, extra, "MPI_Keyval_create")
}

private func freeKeyval(_ keyval: UnsafeMutablePointer<Int32>?, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let keyval else { return fail(ErrorClass.arg.rawValue, rt, nil, fn) }
    let rc = rt.freeKeyval(keyval.pointee)
    if rc != 0 { return fail(rc, rt, nil, fn) }
    keyval.pointee = keyvalInvalid
    return 0
}

@_cdecl("PMPI_Comm_free_keyval")
public func PMPI_Comm_free_keyval(_ keyval: UnsafeMutablePointer<Int32>?) -> Int32 {
    freeKeyval(keyval, "MPI_Comm_free_keyval")
}

@_cdecl("PMPI_Keyval_free")
public func PMPI_Keyval_free(_ keyval: UnsafeMutablePointer<Int32>?) -> Int32 {
    freeKeyval(keyval, "MPI_Keyval_free")
}

private func setAttribute(_ comm: Int32, _ keyval: Int32, _ value: UnsafeMutableRawPointer?, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, fn) }
    return fail(rt.setAttribute(c, keyval, value), rt, c, fn)
}

@_cdecl("PMPI_Comm_set_attr")
public func PMPI_Comm_set_attr(_ comm: Int32, _ keyval: Int32, _ value: UnsafeMutableRawPointer?) -> Int32 {
    setAttribute(comm, keyval, value, "MPI_Comm_set_attr")
}

@_cdecl("PMPI_Attr_put")
public func PMPI_Attr_put(_ comm: Int32, _ keyval: Int32, _ value: UnsafeMutableRawPointer?) -> Int32 {
    setAttribute(comm, keyval, value, "MPI_Attr_put")
}

/// `value` is really `void **`: it receives the stored pointer. Predefined attributes are
/// pointers to `int`, on every communicator (as in MPICH).
private func getAttribute(_ comm: Int32, _ keyval: Int32, _ value: UnsafeMutableRawPointer?,
                          _ flag: UnsafeMutablePointer<Int32>?, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, fn) }
    guard let value, let flag else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    let predefined = PredefinedKeyval.all.contains(keyval)
    let (rc, found, v) = rt.getAttribute(predefined ? rt.world : c, keyval)
    if rc != 0 { return fail(rc, rt, c, fn) }
    if found && keyval == PredefinedKeyval.lastUsedCode, let v {
        v.assumingMemoryBound(to: Int32.self).pointee = withABILock { lastUsedErrorCode }
    }
    flag.pointee = found ? 1 : 0
    if found { value.assumingMemoryBound(to: UnsafeMutableRawPointer?.self).pointee = v }
    return 0
}

@_cdecl("PMPI_Comm_get_attr")
public func PMPI_Comm_get_attr(_ comm: Int32, _ keyval: Int32, _ value: UnsafeMutableRawPointer?,
                               _ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    getAttribute(comm, keyval, value, flag, "MPI_Comm_get_attr")
}

@_cdecl("PMPI_Attr_get")
public func PMPI_Attr_get(_ comm: Int32, _ keyval: Int32, _ value: UnsafeMutableRawPointer?,
                          _ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    getAttribute(comm, keyval, value, flag, "MPI_Attr_get")
}

private func deleteAttribute(_ comm: Int32, _ keyval: Int32, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, fn) }
    if PredefinedKeyval.all.contains(keyval) { return fail(ErrorClass.keyval.rawValue, rt, c, fn) }
    return fail(rt.deleteAttribute(c, keyval), rt, c, fn)
}

@_cdecl("PMPI_Comm_delete_attr")
public func PMPI_Comm_delete_attr(_ comm: Int32, _ keyval: Int32) -> Int32 {
    deleteAttribute(comm, keyval, "MPI_Comm_delete_attr")
}

@_cdecl("PMPI_Attr_delete")
public func PMPI_Attr_delete(_ comm: Int32, _ keyval: Int32) -> Int32 {
    deleteAttribute(comm, keyval, "MPI_Attr_delete")
}
