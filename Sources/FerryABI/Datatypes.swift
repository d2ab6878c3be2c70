// Datatype entry points (MPI-3.1 chapter 4, §6.7.4 attributes, §17.1.9 Fortran sizes): every
// constructor (and the deprecated MPI-1 spellings MPICH still exports), commit and free,
// extents and sizes, envelope and contents, names, size matching, attributes on datatypes, and
// MPI_Get_address. Derived types are `Datatype` objects registered in `ABI.types`; freeing the
// handle leaves the object alive while communication still holds it (ARC). Datatype calls are
// attached to no communicator, so errors go to MPI_COMM_WORLD's handler (MPI-3.1 §8.3).
import FerryCore
import FerryDatatype
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

// MARK: helpers

@inline(__always)
private func oldType(_ h: Int32) throws(MPIError) -> Datatype {
    guard let d = decodeType(h) else { throw MPIError(.type, "invalid datatype handle") }
    return d
}

/// `n` entries of a C `int` array; nil array with n > 0 is MPI_ERR_ARG.
private func intArray(_ p: UnsafePointer<Int32>?, _ n: Int) throws(MPIError) -> [Int] {
    if n > 0 && p == nil { throw MPIError(.arg, "NULL array") }
    return ints(p, n)
}

/// `n` entries of an `MPI_Aint` array.
private func addressArray(_ p: UnsafePointer<Int>?, _ n: Int) throws(MPIError) -> [Int] {
    guard n > 0 else { return [] }
    guard let p else { throw MPIError(.arg, "NULL array") }
    return Array(UnsafeBufferPointer(start: p, count: n))
}

/// MPICH reports negative counts and block lengths of the constructors as MPI_ERR_COUNT.
@inline(__always)
private func checkCount(_ n: Int32) throws(MPIError) {
    if n < 0 { throw MPIError(.count, "negative count \(n)") }
}

private func checkBlockLengths(_ lengths: [Int]) throws(MPIError) {
    for b in lengths where b < 0 { throw MPIError(.count, "negative block length \(b)") }
}

/// Runs a constructor and registers the new type under a fresh handle in `newtype`.
private func construct(_ fn: StaticString, _ newtype: UnsafeMutablePointer<Int32>?,
                       _ make: () throws(MPIError) -> Datatype) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let newtype else { return fail(ErrorClass.arg.rawValue, rt, nil, fn) }
    let d: Datatype
    do { d = try make() } catch { return fail(error.code, rt, nil, fn) }
    guard let h = ABI.types.insert(d) else { return fail(ErrorClass.noMem.rawValue, rt, nil, fn) }
    newtype.pointee = h
    return 0
}

// MARK: constructors

@_cdecl("PMPI_Type_contiguous")
public func PMPI_Type_contiguous(_ count: Int32, _ oldtype: Int32, _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct("MPI_Type_contiguous", newtype) { () throws(MPIError) in
        try checkCount(count)
        return try Datatype.contiguous(Int(count), oldType(oldtype))
    }
}

@_cdecl("PMPI_Type_vector")
public func PMPI_Type_vector(_ count: Int32, _ blocklength: Int32, _ stride: Int32, _ oldtype: Int32,
                             _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct("MPI_Type_vector", newtype) { () throws(MPIError) in
        try checkCount(count)
        try checkCount(blocklength)
        return try Datatype.vector(Int(count), blockLength: Int(blocklength), stride: Int(stride), oldType(oldtype))
    }
}

private func hvector(_ fn: StaticString, _ count: Int32, _ blocklength: Int32, _ stride: Int, _ oldtype: Int32,
                     _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct(fn, newtype) { () throws(MPIError) in
        try checkCount(count)
        try checkCount(blocklength)
        return try Datatype.hvector(Int(count), blockLength: Int(blocklength), strideBytes: stride, oldType(oldtype))
    }
}

@_cdecl("PMPI_Type_create_hvector")
public func PMPI_Type_create_hvector(_ count: Int32, _ blocklength: Int32, _ stride: Int, _ oldtype: Int32,
                                     _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    hvector("MPI_Type_create_hvector", count, blocklength, stride, oldtype, newtype)
}

/// Deprecated MPI-1 spelling (removed in MPI-3.0, still exported by MPICH).
@_cdecl("PMPI_Type_hvector")
public func PMPI_Type_hvector(_ count: Int32, _ blocklength: Int32, _ stride: Int, _ oldtype: Int32,
                              _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    hvector("MPI_Type_hvector", count, blocklength, stride, oldtype, newtype)
}

@_cdecl("PMPI_Type_indexed")
public func PMPI_Type_indexed(_ count: Int32, _ blocklengths: UnsafePointer<Int32>?, _ displacements: UnsafePointer<Int32>?,
                              _ oldtype: Int32, _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct("MPI_Type_indexed", newtype) { () throws(MPIError) in
        try checkCount(count)
        let b = try intArray(blocklengths, Int(count))
        try checkBlockLengths(b)
        return try Datatype.indexed(blockLengths: b, displacements: intArray(displacements, Int(count)), oldType(oldtype))
    }
}

private func hindexed(_ fn: StaticString, _ count: Int32, _ blocklengths: UnsafePointer<Int32>?,
                      _ displacements: UnsafePointer<Int>?, _ oldtype: Int32,
                      _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct(fn, newtype) { () throws(MPIError) in
        try checkCount(count)
        let b = try intArray(blocklengths, Int(count))
        try checkBlockLengths(b)
        return try Datatype.hindexed(blockLengths: b, byteDisplacements: addressArray(displacements, Int(count)),
                                     oldType(oldtype))
    }
}

@_cdecl("PMPI_Type_create_hindexed")
public func PMPI_Type_create_hindexed(_ count: Int32, _ blocklengths: UnsafePointer<Int32>?,
                                      _ displacements: UnsafePointer<Int>?, _ oldtype: Int32,
                                      _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    hindexed("MPI_Type_create_hindexed", count, blocklengths, displacements, oldtype, newtype)
}

/// Deprecated MPI-1 spelling.
@_cdecl("PMPI_Type_hindexed")
public func PMPI_Type_hindexed(_ count: Int32, _ blocklengths: UnsafePointer<Int32>?,
                               _ displacements: UnsafePointer<Int>?, _ oldtype: Int32,
                               _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    hindexed("MPI_Type_hindexed", count, blocklengths, displacements, oldtype, newtype)
}

@_cdecl("PMPI_Type_create_indexed_block")
public func PMPI_Type_create_indexed_block(_ count: Int32, _ blocklength: Int32, _ displacements: UnsafePointer<Int32>?,
                                           _ oldtype: Int32, _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct("MPI_Type_create_indexed_block", newtype) { () throws(MPIError) in
        try checkCount(count)
        try checkCount(blocklength)
        return try Datatype.indexedBlock(blockLength: Int(blocklength),
                                         displacements: intArray(displacements, Int(count)), oldType(oldtype))
    }
}

@_cdecl("PMPI_Type_create_hindexed_block")
public func PMPI_Type_create_hindexed_block(_ count: Int32, _ blocklength: Int32, _ displacements: UnsafePointer<Int>?,
                                            _ oldtype: Int32, _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct("MPI_Type_create_hindexed_block", newtype) { () throws(MPIError) in
        try checkCount(count)
        try checkCount(blocklength)
        return try Datatype.hindexedBlock(blockLength: Int(blocklength),
                                          byteDisplacements: addressArray(displacements, Int(count)), oldType(oldtype))
    }
}

private func structure(_ fn: StaticString, _ count: Int32, _ blocklengths: UnsafePointer<Int32>?,
                       _ displacements: UnsafePointer<Int>?, _ types: UnsafePointer<Int32>?,
                       _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct(fn, newtype) { () throws(MPIError) in
        try checkCount(count)
        let n = Int(count)
        let b = try intArray(blocklengths, n)
        try checkBlockLengths(b)
        let handles = try intArray(types, n)
        var members: [Datatype] = []
        for h in handles { members.append(try oldType(Int32(h))) }
        return try Datatype.structure(blockLengths: b, byteDisplacements: addressArray(displacements, n), types: members)
    }
}

@_cdecl("PMPI_Type_create_struct")
public func PMPI_Type_create_struct(_ count: Int32, _ blocklengths: UnsafePointer<Int32>?,
                                    _ displacements: UnsafePointer<Int>?, _ types: UnsafePointer<Int32>?,
                                    _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    structure("MPI_Type_create_struct", count, blocklengths, displacements, types, newtype)
}

/// Deprecated MPI-1 spelling.
@_cdecl("PMPI_Type_struct")
public func PMPI_Type_struct(_ count: Int32, _ blocklengths: UnsafePointer<Int32>?,
                             _ displacements: UnsafePointer<Int>?, _ types: UnsafePointer<Int32>?,
                             _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    structure("MPI_Type_struct", count, blocklengths, displacements, types, newtype)
}

@_cdecl("PMPI_Type_create_resized")
public func PMPI_Type_create_resized(_ oldtype: Int32, _ lb: Int, _ extent: Int,
                                     _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct("MPI_Type_create_resized", newtype) { () throws(MPIError) in
        try Datatype.resized(oldType(oldtype), lowerBound: lb, extent: extent)
    }
}

private func arrayOrder(_ order: Int32) throws(MPIError) -> ArrayOrder {
    guard let o = ArrayOrder(rawValue: Int(order)) else { throw MPIError(.arg, "invalid order \(order)") }
    return o
}

@_cdecl("PMPI_Type_create_subarray")
public func PMPI_Type_create_subarray(_ ndims: Int32, _ sizes: UnsafePointer<Int32>?, _ subsizes: UnsafePointer<Int32>?,
                                      _ starts: UnsafePointer<Int32>?, _ order: Int32, _ oldtype: Int32,
                                      _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct("MPI_Type_create_subarray", newtype) { () throws(MPIError) in
        let n = Int(max(ndims, 0))
        if ndims <= 0 { throw MPIError(.arg, "ndims \(ndims) must be positive") }
        return try Datatype.subarray(sizes: intArray(sizes, n), subsizes: intArray(subsizes, n),
                                     starts: intArray(starts, n), order: arrayOrder(order), oldType(oldtype))
    }
}

@_cdecl("PMPI_Type_create_darray")
public func PMPI_Type_create_darray(_ size: Int32, _ rank: Int32, _ ndims: Int32, _ gsizes: UnsafePointer<Int32>?,
                                    _ distribs: UnsafePointer<Int32>?, _ dargs: UnsafePointer<Int32>?,
                                    _ psizes: UnsafePointer<Int32>?, _ order: Int32, _ oldtype: Int32,
                                    _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    construct("MPI_Type_create_darray", newtype) { () throws(MPIError) in
        if ndims <= 0 { throw MPIError(.dims, "ndims \(ndims) must be positive") }
        let n = Int(ndims)
        var kinds: [Distribution] = []
        for v in try intArray(distribs, n) {
            guard let k = Distribution(rawValue: v) else { throw MPIError(.arg, "invalid distribution \(v)") }
            kinds.append(k)
        }
        return try Datatype.darray(size: Int(size), rank: Int(rank), globalSizes: intArray(gsizes, n),
                                   distributions: kinds, distributionArgs: intArray(dargs, n),
                                   processGrid: intArray(psizes, n), order: arrayOrder(order), oldType(oldtype))
    }
}

@_cdecl("PMPI_Type_dup")
public func PMPI_Type_dup(_ oldtype: Int32, _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    let rc = construct("MPI_Type_dup", newtype) { () throws(MPIError) in try oldType(oldtype).duplicate() }
    guard rc == 0, let rt = Runtime.shared else { return rc }
    let copied = TypeAttributes.copy(from: oldtype, to: newtype!.pointee)
    if copied != 0 {
        ABI.types.remove(newtype!.pointee)
        newtype!.pointee = Handle.datatypeNull
        return fail(copied, rt, nil, "MPI_Type_dup")
    }
    return 0
}

// MARK: commit and free

@_cdecl("PMPI_Type_commit")
public func PMPI_Type_commit(_ datatype: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_commit") else { return notInitialized }
    guard let datatype else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Type_commit") }
    guard let d = decodeType(datatype.pointee) else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Type_commit") }
    d.commit()
    return 0
}

@_cdecl("PMPI_Type_free")
public func PMPI_Type_free(_ datatype: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_free") else { return notInitialized }
    guard let datatype else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Type_free") }
    let h = datatype.pointee
    // Predefined types (and anything not in the table) cannot be freed.
    guard ABI.types.lookup(h) != nil, !isF90Type(h) else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Type_free") }
    let rc = TypeAttributes.deleteAll(h)
    if rc != 0 { return fail(rc, rt, nil, "MPI_Type_free") }
    ABI.types.remove(h)
    datatype.pointee = Handle.datatypeNull
    return 0
}

// MARK: extents and sizes

/// A query on a datatype handle: the object, or the failed call's return.
@inline(__always)
private func query(_ h: Int32, _ outputsGiven: Bool, _ fn: StaticString) -> (Datatype?, Int32) {
    guard let rt = runtime(fn) else { return (nil, notInitialized) }
    guard let d = decodeType(h) else { return (nil, fail(ErrorClass.type.rawValue, rt, nil, fn)) }
    guard outputsGiven else { return (nil, fail(ErrorClass.arg.rawValue, rt, nil, fn)) }
    return (d, 0)
}

@_cdecl("PMPI_Type_get_extent")
public func PMPI_Type_get_extent(_ datatype: Int32, _ lb: UnsafeMutablePointer<Int>?, _ extent: UnsafeMutablePointer<Int>?) -> Int32 {
    let (d, rc) = query(datatype, lb != nil && extent != nil, "MPI_Type_get_extent")
    guard let d else { return rc }
    lb!.pointee = d.lowerBound
    extent!.pointee = d.extent
    return 0
}

@_cdecl("PMPI_Type_get_extent_x")
public func PMPI_Type_get_extent_x(_ datatype: Int32, _ lb: UnsafeMutablePointer<Int>?, _ extent: UnsafeMutablePointer<Int>?) -> Int32 {
    let (d, rc) = query(datatype, lb != nil && extent != nil, "MPI_Type_get_extent_x")
    guard let d else { return rc }
    lb!.pointee = d.lowerBound
    extent!.pointee = d.extent
    return 0
}

@_cdecl("PMPI_Type_get_true_extent")
public func PMPI_Type_get_true_extent(_ datatype: Int32, _ lb: UnsafeMutablePointer<Int>?,
                                      _ extent: UnsafeMutablePointer<Int>?) -> Int32 {
    let (d, rc) = query(datatype, lb != nil && extent != nil, "MPI_Type_get_true_extent")
    guard let d else { return rc }
    lb!.pointee = d.trueLowerBound
    extent!.pointee = d.trueExtent
    return 0
}

@_cdecl("PMPI_Type_get_true_extent_x")
public func PMPI_Type_get_true_extent_x(_ datatype: Int32, _ lb: UnsafeMutablePointer<Int>?,
                                        _ extent: UnsafeMutablePointer<Int>?) -> Int32 {
    let (d, rc) = query(datatype, lb != nil && extent != nil, "MPI_Type_get_true_extent_x")
    guard let d else { return rc }
    lb!.pointee = d.trueLowerBound
    extent!.pointee = d.trueExtent
    return 0
}

@_cdecl("PMPI_Type_size")
public func PMPI_Type_size(_ datatype: Int32, _ size: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (d, rc) = query(datatype, size != nil, "MPI_Type_size")
    guard let d else { return rc }
    size!.pointee = Int32(exactly: d.size) ?? MPIConstant.undefined
    return 0
}

@_cdecl("PMPI_Type_size_x")
public func PMPI_Type_size_x(_ datatype: Int32, _ size: UnsafeMutablePointer<Int>?) -> Int32 {
    let (d, rc) = query(datatype, size != nil, "MPI_Type_size_x")
    guard let d else { return rc }
    size!.pointee = d.size
    return 0
}

/// Deprecated MPI-1: the extent.
@_cdecl("PMPI_Type_extent")
public func PMPI_Type_extent(_ datatype: Int32, _ extent: UnsafeMutablePointer<Int>?) -> Int32 {
    let (d, rc) = query(datatype, extent != nil, "MPI_Type_extent")
    guard let d else { return rc }
    extent!.pointee = d.extent
    return 0
}

/// Deprecated MPI-1: the lower bound.
@_cdecl("PMPI_Type_lb")
public func PMPI_Type_lb(_ datatype: Int32, _ displacement: UnsafeMutablePointer<Int>?) -> Int32 {
    let (d, rc) = query(datatype, displacement != nil, "MPI_Type_lb")
    guard let d else { return rc }
    displacement!.pointee = d.lowerBound
    return 0
}

/// Deprecated MPI-1: the upper bound.
@_cdecl("PMPI_Type_ub")
public func PMPI_Type_ub(_ datatype: Int32, _ displacement: UnsafeMutablePointer<Int>?) -> Int32 {
    let (d, rc) = query(datatype, displacement != nil, "MPI_Type_ub")
    guard let d else { return rc }
    displacement!.pointee = d.upperBound
    return 0
}

// MARK: envelope and contents

@_cdecl("PMPI_Type_get_envelope")
public func PMPI_Type_get_envelope(_ datatype: Int32, _ numIntegers: UnsafeMutablePointer<Int32>?,
                                   _ numAddresses: UnsafeMutablePointer<Int32>?, _ numDatatypes: UnsafeMutablePointer<Int32>?,
                                   _ combiner: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_get_envelope") else { return notInitialized }
    guard let d = decodeType(datatype) else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Type_get_envelope") }
    guard let numIntegers, let numAddresses, let numDatatypes, let combiner else {
        return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Type_get_envelope")
    }
    let e = d.envelope()
    numIntegers.pointee = Int32(e.integers)
    numAddresses.pointee = Int32(e.addresses)
    numDatatypes.pointee = Int32(e.datatypes)
    combiner.pointee = e.combiner.rawValue
    return 0
}

/// Returns the constructor's arguments. Derived member types come back under NEW handles (the
/// standard makes the user free them), predefined ones as their predefined handles.
@_cdecl("PMPI_Type_get_contents")
public func PMPI_Type_get_contents(_ datatype: Int32, _ maxIntegers: Int32, _ maxAddresses: Int32, _ maxDatatypes: Int32,
                                   _ integers: UnsafeMutablePointer<Int32>?, _ addresses: UnsafeMutablePointer<Int>?,
                                   _ datatypes: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_get_contents") else { return notInitialized }
    guard let d = decodeType(datatype) else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Type_get_contents") }
    // Named types have no contents: MPICH reports MPI_ERR_TYPE.
    guard let c = try? d.contents() else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Type_get_contents") }
    if c.integers.count > Int(maxIntegers) || c.addresses.count > Int(maxAddresses) || c.datatypes.count > Int(maxDatatypes)
        || (!c.integers.isEmpty && integers == nil) || (!c.addresses.isEmpty && addresses == nil)
        || (!c.datatypes.isEmpty && datatypes == nil) {
        return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Type_get_contents")
    }
    for (k, v) in c.integers.enumerated() { integers![k] = Int32(truncatingIfNeeded: v) }
    for (k, v) in c.addresses.enumerated() { addresses![k] = v }
    for (k, t) in c.datatypes.enumerated() {
        if t.combiner == .named {
            datatypes![k] = encodeType(t)
        } else {
            guard let h = ABI.types.insert(t) else { return fail(ErrorClass.noMem.rawValue, rt, nil, "MPI_Type_get_contents") }
            datatypes![k] = h
        }
    }
    return 0
}

// MARK: names

@_cdecl("PMPI_Type_get_name")
public func PMPI_Type_get_name(_ datatype: Int32, _ name: UnsafeMutablePointer<CChar>?,
                               _ resultlen: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_get_name") else { return notInitialized }
    guard let d = decodeType(datatype) else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Type_get_name") }
    guard let name, let resultlen else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Type_get_name") }
    resultlen.pointee = copyString(d.name, name, max: MPIConstant.maxObjectName)
    return 0
}

@_cdecl("PMPI_Type_set_name")
public func PMPI_Type_set_name(_ datatype: Int32, _ name: UnsafePointer<CChar>?) -> Int32 {
    guard let rt = runtime("MPI_Type_set_name") else { return notInitialized }
    guard let d = decodeType(datatype) else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Type_set_name") }
    guard let name else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Type_set_name") }
    // Names longer than MPI_MAX_OBJECT_NAME - 1 are truncated (as MPICH does).
    var s = String(cString: name)
    if s.utf8.count >= MPIConstant.maxObjectName {
        s = String(decoding: s.utf8.prefix(MPIConstant.maxObjectName - 1), as: UTF8.self)
    }
    d.name = s
    return 0
}

// MARK: size matching and Fortran 90 parameterized types

/// MPI_TYPECLASS_* values.
private enum TypeClass: Int32 { case real = 1, integer = 2, complex = 3 }

/// Predefined handles of the sized Fortran types (MPICH values).
private enum SizedType {
    static let integer1: Int32 = 0x4c00_012d, integer2: Int32 = 0x4c00_022f
    static let integer4: Int32 = 0x4c00_0430, integer8: Int32 = 0x4c00_0831
    static let real4: Int32 = 0x4c00_0427, real8: Int32 = 0x4c00_0829
    static let complex8: Int32 = 0x4c00_0828, complex16: Int32 = 0x4c00_102a
    /// MPI_LONG_DOUBLE and MPI_C_LONG_DOUBLE_COMPLEX: the 16- and 32-byte real and complex types
    /// a C program has (MPI_REAL16 / MPI_COMPLEX32 are not: no binary128 arithmetic here), as
    /// MPICH built without Fortran answers.
    static let longDouble: Int32 = 0x4c00_100c, longDoubleComplex: Int32 = 0x4c00_2042
}

/// Stores a predefined handle if this library knows it (MPI_REAL16 / MPI_COMPLEX32 are not in
/// the table: no IEEE binary128 arithmetic on this platform).
private func returnPredefined(_ h: Int32?, _ out: UnsafeMutablePointer<Int32>?, _ rt: Runtime, _ fn: StaticString) -> Int32 {
    guard let out else { return fail(ErrorClass.arg.rawValue, rt, nil, fn) }
    guard let h, decodeType(h) != nil else { return fail(ErrorClass.arg.rawValue, rt, nil, fn) }
    out.pointee = h
    return 0
}

@_cdecl("PMPI_Type_match_size")
public func PMPI_Type_match_size(_ typeclass: Int32, _ size: Int32, _ datatype: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_match_size") else { return notInitialized }
    let h: Int32?
    switch (TypeClass(rawValue: typeclass), size) {
    case (.real?, 4): h = SizedType.real4
    case (.real?, 8): h = SizedType.real8
    case (.integer?, 1): h = SizedType.integer1
    case (.integer?, 2): h = SizedType.integer2
    case (.integer?, 4): h = SizedType.integer4
    case (.integer?, 8): h = SizedType.integer8
    case (.complex?, 8): h = SizedType.complex8
    case (.complex?, 16): h = SizedType.complex16
    case (.real?, 16): h = SizedType.longDouble
    case (.complex?, 32): h = SizedType.longDoubleComplex
    default: h = nil
    }
    return returnPredefined(h, datatype, rt, "MPI_Type_match_size")
}

/// F90 types already handed out, by (combiner, p, r): the standard's "same arguments, same
/// type", and they are never freed.
@exclusivity(unchecked) nonisolated(unsafe) private var f90Types: [String: Int32] = [:]

/// Returns the F90 type of combiner `c` with contents `ints` over the sized type `h`.
private func returnF90(_ h: Int32?, _ c: Combiner, _ ints: [Int], _ out: UnsafeMutablePointer<Int32>?, _ rt: Runtime,
                       _ fn: StaticString) -> Int32 {
    guard let out else { return fail(ErrorClass.arg.rawValue, rt, nil, fn) }
    guard let h, let base = decodeType(h) else { return fail(ErrorClass.arg.rawValue, rt, nil, fn) }
    let key = "\(c.rawValue):\(ints)"
    let handle: Int32? = withABILock { f90Types[key] } ?? {
        guard let n = ABI.types.insert(Datatype.f90(base, combiner: c, integers: ints)) else { return nil }
        withABILock { f90Types[key] = n }
        return n
    }()
    guard let handle else { return fail(ErrorClass.intern.rawValue, rt, nil, fn) }
    out.pointee = handle
    return 0
}

/// Whether a handle names an F90 type (MPI_Type_free refuses them, as predefined types).
func isF90Type(_ h: Int32) -> Bool { withABILock { f90Types.values.contains(h) } }

@_cdecl("PMPI_Type_create_f90_integer")
public func PMPI_Type_create_f90_integer(_ r: Int32, _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_create_f90_integer") else { return notInitialized }
    let h: Int32?
    switch r {
    case ...2: h = SizedType.integer1
    case ...4: h = SizedType.integer2
    case ...9: h = SizedType.integer4
    case ...18: h = SizedType.integer8
    default: h = nil
    }
    return returnF90(r < 0 ? nil : h, .f90Integer, [Int(r)], newtype, rt, "MPI_Type_create_f90_integer")
}

/// The smallest IEEE format with at least `p` decimal digits and exponent range `r`
/// (MPI_UNDEFINED for either means "any"): 4 or 8 bytes, else nil.
private func realBytes(_ p: Int32, _ r: Int32) -> Int? {
    let u = MPIConstant.undefined
    if p == u && r == u { return nil }
    let pp = p == u ? 0 : p, rr = r == u ? 0 : r
    if pp < 0 || rr < 0 { return nil }
    if pp <= 6 && rr <= 37 { return 4 }
    if pp <= 15 && rr <= 307 { return 8 }
    return nil
}

@_cdecl("PMPI_Type_create_f90_real")
public func PMPI_Type_create_f90_real(_ p: Int32, _ r: Int32, _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_create_f90_real") else { return notInitialized }
    let h: Int32? = realBytes(p, r).map { $0 == 4 ? SizedType.real4 : SizedType.real8 }
    return returnF90(h, .f90Real, [Int(p), Int(r)], newtype, rt, "MPI_Type_create_f90_real")
}

@_cdecl("PMPI_Type_create_f90_complex")
public func PMPI_Type_create_f90_complex(_ p: Int32, _ r: Int32, _ newtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_create_f90_complex") else { return notInitialized }
    let h: Int32? = realBytes(p, r).map { $0 == 4 ? SizedType.complex8 : SizedType.complex16 }
    return returnF90(h, .f90Complex, [Int(p), Int(r)], newtype, rt, "MPI_Type_create_f90_complex")
}

// MARK: addresses

@_cdecl("PMPI_Get_address")
public func PMPI_Get_address(_ location: UnsafeRawPointer?, _ address: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let rt = runtime("MPI_Get_address") else { return notInitialized }
    guard let address else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Get_address") }
    address.pointee = Int(bitPattern: location)
    return 0
}

/// Deprecated MPI-1 spelling of MPI_Get_address.
@_cdecl("PMPI_Address")
public func PMPI_Address(_ location: UnsafeRawPointer?, _ address: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let rt = runtime("MPI_Address") else { return notInitialized }
    guard let address else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Address") }
    address.pointee = Int(bitPattern: location)
    return 0
}

// MARK: attributes on datatypes

/// `int copy_fn(MPI_Datatype oldtype, int keyval, void *extra_state, void *attribute_val_in,
/// void *attribute_val_out /* void ** */, int *flag)`.
public typealias TypeCopyAttrFunction = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                                                 UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> Int32
/// `int delete_fn(MPI_Datatype datatype, int keyval, void *attribute_val, void *extra_state)`.
public typealias TypeDeleteAttrFunction = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32

/// Keyvals and attribute values of datatypes, kept in this layer. Values are keyed by datatype
/// HANDLE rather than by object: MPI_Type_get_contents hands out a second handle to the same
/// object, and each handle is a datatype of its own for attributes and MPI_Type_free.
/// - Note: guarded by its own lock, never held while a user callback runs (callbacks may call
///   back into MPI).
enum TypeAttributes {
    struct Keyval {
        let copy: TypeCopyAttrFunction?
        let delete: TypeDeleteAttrFunction?
        let extraState: UnsafeMutableRawPointer?
        var freed = false
        /// Datatypes carrying a value of this keyval (a freed keyval lives until this is 0).
        var uses = 0
    }
    /// Keyval handles: MPICH's datatype-keyval kind bits, then an index.
    static let keyvalBase = Int32(bitPattern: 0xa4c0_0000)
    static let keyvalInvalid: Int32 = 0x2400_0000

    @exclusivity(unchecked) nonisolated(unsafe) static var keyvals: [Int32: Keyval] = [:]
    @exclusivity(unchecked) nonisolated(unsafe) static var nextKeyval: Int32 = 1
    /// Values per datatype handle, each list in order of setting.
    @exclusivity(unchecked) nonisolated(unsafe) static var values: [Int32: [(keyval: Int32, value: UnsafeMutableRawPointer?)]] = [:]

    nonisolated(unsafe) static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    static func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    static func create(_ copy: TypeCopyAttrFunction?, _ delete: TypeDeleteAttrFunction?,
                       _ extra: UnsafeMutableRawPointer?) -> Int32 {
        locked {
            let k = keyvalBase &+ nextKeyval
            nextKeyval += 1
            keyvals[k] = Keyval(copy: copy, delete: delete, extraState: extra)
            return k
        }
    }

    /// The keyval if it exists and, unless `allowFreed`, was not freed.
    static func keyval(_ k: Int32, allowFreed: Bool = false) -> Keyval? {
        locked {
            guard let e = keyvals[k], allowFreed || !e.freed else { return nil }
            return e
        }
    }

    static func freeKeyval(_ k: Int32) -> Int32 {
        locked {
            guard var e = keyvals[k], !e.freed else { return ErrorClass.keyval.rawValue }
            e.freed = true
            keyvals[k] = e.uses == 0 ? nil : e
            return 0
        }
    }

    static func value(_ type: Int32, _ k: Int32) -> (Bool, UnsafeMutableRawPointer?) {
        locked {
            guard let v = values[type]?.first(where: { $0.keyval == k }) else { return (false, nil) }
            return (true, v.value)
        }
    }

    /// Stores a value (replacing any, whose delete callback the caller already ran).
    static func setValue(_ type: Int32, _ k: Int32, _ v: UnsafeMutableRawPointer?) {
        locked {
            var list = values[type] ?? []
            if let i = list.firstIndex(where: { $0.keyval == k }) {
                list[i].value = v
            } else {
                list.append((k, v))
                keyvals[k]?.uses += 1
            }
            values[type] = list
        }
    }

    static func removeValue(_ type: Int32, _ k: Int32) {
        locked {
            guard var list = values[type], let i = list.firstIndex(where: { $0.keyval == k }) else { return }
            list.remove(at: i)
            values[type] = list.isEmpty ? nil : list
            if var e = keyvals[k] {
                e.uses -= 1
                keyvals[k] = e.freed && e.uses == 0 ? nil : e
            }
        }
    }

    /// Runs the delete callback of one value.
    static func runDelete(_ type: Int32, _ k: Int32, _ v: UnsafeMutableRawPointer?) -> Int32 {
        guard let e = keyval(k, allowFreed: true), let d = e.delete else { return 0 }
        return d(type, k, v, e.extraState)
    }

    /// MPI_Type_free: deletes every attribute (callbacks first; a failing callback stops it).
    static func deleteAll(_ type: Int32) -> Int32 {
        let list = locked { values[type] ?? [] }
        for (k, v) in list {
            let rc = runDelete(type, k, v)
            if rc != 0 { return rc }
            removeValue(type, k)
        }
        return 0
    }

    /// MPI_Type_dup: each value goes through its keyval's copy callback.
    static func copy(from old: Int32, to new: Int32) -> Int32 {
        let list = locked { values[old] ?? [] }
        for (k, v) in list {
            guard let e = keyval(k, allowFreed: true), let copy = e.copy else { continue }
            var out: UnsafeMutableRawPointer? = nil
            var flag: Int32 = 0
            let rc = withUnsafeMutablePointer(to: &out) { o in copy(old, k, e.extraState, v, UnsafeMutableRawPointer(o), &flag) }
            if rc != 0 {
                _ = deleteAll(new)
                return rc
            }
            if flag != 0 { setValue(new, k, out) }
        }
        return 0
    }
}

@_cdecl("PMPI_Type_create_keyval")
public func PMPI_Type_create_keyval(_ copyFn: TypeCopyAttrFunction?, _ deleteFn: TypeDeleteAttrFunction?,
                                    _ keyval: UnsafeMutablePointer<Int32>?, _ extraState: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Type_create_keyval") else { return notInitialized }
    guard let keyval else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Type_create_keyval") }
    keyval.pointee = TypeAttributes.create(copyFn, deleteFn, extraState)
    return 0
}

@_cdecl("PMPI_Type_free_keyval")
public func PMPI_Type_free_keyval(_ keyval: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_free_keyval") else { return notInitialized }
    guard let keyval else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Type_free_keyval") }
    let rc = TypeAttributes.freeKeyval(keyval.pointee)
    if rc != 0 { return fail(rc, rt, nil, "MPI_Type_free_keyval") }
    keyval.pointee = TypeAttributes.keyvalInvalid
    return 0
}

@_cdecl("PMPI_Type_set_attr")
public func PMPI_Type_set_attr(_ datatype: Int32, _ keyval: Int32, _ value: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Type_set_attr") else { return notInitialized }
    guard decodeType(datatype) != nil else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Type_set_attr") }
    guard TypeAttributes.keyval(keyval) != nil else { return fail(ErrorClass.keyval.rawValue, rt, nil, "MPI_Type_set_attr") }
    let (present, old) = TypeAttributes.value(datatype, keyval)
    if present {
        let rc = TypeAttributes.runDelete(datatype, keyval, old)
        if rc != 0 { return fail(rc, rt, nil, "MPI_Type_set_attr") }
    }
    TypeAttributes.setValue(datatype, keyval, value)
    return 0
}

/// `attribute_val` is declared `void *` but is really `void **`.
@_cdecl("PMPI_Type_get_attr")
public func PMPI_Type_get_attr(_ datatype: Int32, _ keyval: Int32, _ value: UnsafeMutableRawPointer?,
                               _ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Type_get_attr") else { return notInitialized }
    guard decodeType(datatype) != nil else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Type_get_attr") }
    guard let value, let flag else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Type_get_attr") }
    guard TypeAttributes.keyval(keyval, allowFreed: true) != nil else {
        return fail(ErrorClass.keyval.rawValue, rt, nil, "MPI_Type_get_attr")
    }
    let (present, v) = TypeAttributes.value(datatype, keyval)
    flag.pointee = present ? 1 : 0
    if present { value.assumingMemoryBound(to: UnsafeMutableRawPointer?.self).pointee = v }
    return 0
}

@_cdecl("PMPI_Type_delete_attr")
public func PMPI_Type_delete_attr(_ datatype: Int32, _ keyval: Int32) -> Int32 {
    guard let rt = runtime("MPI_Type_delete_attr") else { return notInitialized }
    guard decodeType(datatype) != nil else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Type_delete_attr") }
    guard TypeAttributes.keyval(keyval, allowFreed: true) != nil else {
        return fail(ErrorClass.keyval.rawValue, rt, nil, "MPI_Type_delete_attr")
    }
    let (present, v) = TypeAttributes.value(datatype, keyval)
    guard present else { return fail(ErrorClass.keyval.rawValue, rt, nil, "MPI_Type_delete_attr") }
    let rc = TypeAttributes.runDelete(datatype, keyval, v)
    if rc != 0 { return fail(rc, rt, nil, "MPI_Type_delete_attr") }
    TypeAttributes.removeValue(datatype, keyval)
    return 0
}
