// Status queries and updates (MPI-3.1 §3.2.5, §4.1.11, §12.3): count and elements of a
// received message, the cancelled flag, and the setters generalized requests use. The status
// keeps the message size in bytes (count_lo plus count_hi_and_cancelled >> 1, MPICH's layout);
// counts are derived from it and the datatype.
import FerryCore
import FerryDatatype
import FerryRuntime

/// The C status behind a `const MPI_Status *`, or nil for NULL / MPI_STATUS_IGNORE.
@inline(__always)
private func readable(_ p: UnsafeRawPointer?) -> UnsafePointer<CStatus>? {
    guard let p, Int(bitPattern: p) != 1 else { return nil }
    return p.assumingMemoryBound(to: CStatus.self)
}

@inline(__always)
private func writable(_ p: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<CStatus>? {
    guard !isIgnore(p) else { return nil }
    return p!.assumingMemoryBound(to: CStatus.self)
}

/// MPI_Get_count for `bytes`: whole elements of `d`, or nil (MPI_UNDEFINED).
private func elementCount(bytes: Int, _ d: Datatype) -> Int? {
    let size = d.size
    if size == 0 { return bytes == 0 ? 0 : nil }
    return bytes % size == 0 ? bytes / size : nil
}

/// Bytes of the first `n` basic elements of a stream of `d` (the inverse of
/// `Datatype.basicElements(inBytes:)`): what MPI_Status_set_elements stores.
func bytesOfBasicElements(_ n: Int, _ d: Datatype) -> Int {
    let perItem = d.basicElementsPerItem
    if perItem == 0 { return 0 }
    var bytes = (n / perItem) * d.size
    var rest = n % perItem
    for run in d.typeRuns where rest > 0 {
        let each = run.type.isPair ? 2 : 1
        if rest >= run.count * each {
            rest -= run.count * each
            bytes += run.count * run.type.size
            continue
        }
        let whole = rest / each
        bytes += whole * run.type.size
        rest -= whole * each
        // Half a pair: its value part.
        if rest > 0, let parts = run.type.pairParts { bytes += parts.value.size }
        rest = 0
    }
    return bytes
}

/// Common part of the status readers: (status, datatype) or an error class.
private func statusAndType(_ status: UnsafeRawPointer?, _ datatype: Int32) -> (UnsafePointer<CStatus>?, Datatype?, Int32) {
    guard let s = readable(status) else { return (nil, nil, ErrorClass.arg.rawValue) }
    guard let d = decodeType(datatype) else { return (nil, nil, ErrorClass.type.rawValue) }
    return (s, d, 0)
}

@_cdecl("PMPI_Get_count")
public func PMPI_Get_count(_ status: UnsafeRawPointer?, _ datatype: Int32, _ count: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Get_count") else { return notInitialized }
    let (s, d, rc) = statusAndType(status, datatype)
    if rc != 0 { return fail(rc, rt, nil, "MPI_Get_count") }
    guard let count else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Get_count") }
    let n = elementCount(bytes: byteCount(s!), d!)
    count.pointee = n.flatMap { Int32(exactly: $0) } ?? MPIConstant.undefined
    return 0
}

@_cdecl("PMPI_Get_elements")
public func PMPI_Get_elements(_ status: UnsafeRawPointer?, _ datatype: Int32, _ count: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Get_elements") else { return notInitialized }
    let (s, d, rc) = statusAndType(status, datatype)
    if rc != 0 { return fail(rc, rt, nil, "MPI_Get_elements") }
    guard let count else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Get_elements") }
    let n = d!.basicElements(inBytes: byteCount(s!))
    count.pointee = n.flatMap { Int32(exactly: $0) } ?? MPIConstant.undefined
    return 0
}

@_cdecl("PMPI_Get_elements_x")
public func PMPI_Get_elements_x(_ status: UnsafeRawPointer?, _ datatype: Int32, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let rt = runtime("MPI_Get_elements_x") else { return notInitialized }
    let (s, d, rc) = statusAndType(status, datatype)
    if rc != 0 { return fail(rc, rt, nil, "MPI_Get_elements_x") }
    guard let count else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Get_elements_x") }
    count.pointee = d!.basicElements(inBytes: byteCount(s!)) ?? Int(MPIConstant.undefined)
    return 0
}

/// Sets the byte count so that MPI_Get_elements(status, datatype) returns `count`; keeps the
/// cancelled flag.
private func setElements(_ status: UnsafeMutableRawPointer?, _ datatype: Int32, _ count: Int,
                         _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let s = writable(status) else { return fail(ErrorClass.arg.rawValue, rt, nil, fn) }
    guard let d = decodeType(datatype) else { return fail(ErrorClass.type.rawValue, rt, nil, fn) }
    guard count >= 0 else { return fail(ErrorClass.count.rawValue, rt, nil, fn) }
    let cancelled = s.pointee.countHighAndCancelled & 1 != 0
    setCount(s, UInt64(bytesOfBasicElements(count, d)), cancelled: cancelled)
    return 0
}

@_cdecl("PMPI_Status_set_elements")
public func PMPI_Status_set_elements(_ status: UnsafeMutableRawPointer?, _ datatype: Int32, _ count: Int32) -> Int32 {
    setElements(status, datatype, Int(count), "MPI_Status_set_elements")
}

@_cdecl("PMPI_Status_set_elements_x")
public func PMPI_Status_set_elements_x(_ status: UnsafeMutableRawPointer?, _ datatype: Int32, _ count: Int) -> Int32 {
    setElements(status, datatype, count, "MPI_Status_set_elements_x")
}

@_cdecl("PMPI_Status_set_cancelled")
public func PMPI_Status_set_cancelled(_ status: UnsafeMutableRawPointer?, _ flag: Int32) -> Int32 {
    guard let rt = runtime("MPI_Status_set_cancelled") else { return notInitialized }
    guard let s = writable(status) else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Status_set_cancelled") }
    s.pointee.countHighAndCancelled = (s.pointee.countHighAndCancelled & ~1) | (flag != 0 ? 1 : 0)
    return 0
}

@_cdecl("PMPI_Test_cancelled")
public func PMPI_Test_cancelled(_ status: UnsafeRawPointer?, _ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Test_cancelled") else { return notInitialized }
    guard let s = readable(status), let flag else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Test_cancelled") }
    flag.pointee = s.pointee.countHighAndCancelled & 1
    return 0
}
