// Explicit packing (MPI-3.1 §4.2, §4.3): MPI_Pack / MPI_Unpack / MPI_Pack_size in the native
// representation (the packed stream the transports use, `size * count` bytes) and the
// "external32" forms. Positions are byte offsets into the packed buffer, advanced by each call.
// A window that does not fit the buffer is MPI_ERR_TRUNCATE (MPICH does not check; writing past
// the user's buffer is never the better answer).
import FerryCore
import FerryDatatype
import FerryRuntime

/// The datatype of a pack call: valid and committed, else MPI_ERR_TYPE.
@inline(__always)
private func committedType(_ h: Int32) -> Datatype? {
    guard let d = decodeType(h), d.isCommitted else { return nil }
    return d
}

/// Communicator argument of MPI_Pack / MPI_Unpack / MPI_Pack_size (checked, otherwise unused:
/// every process of a node shares one representation).
@inline(__always)
private func packComm(_ h: Int32, _ rt: Runtime) -> Communicator? {
    guard let c = decodeComm(h, rt), !c.isFreed else { return nil }
    return c
}

@_cdecl("PMPI_Pack")
public func PMPI_Pack(_ inbuf: UnsafeRawPointer?, _ incount: Int32, _ datatype: Int32, _ outbuf: UnsafeMutableRawPointer?,
                      _ outsize: Int32, _ position: UnsafeMutablePointer<Int32>?, _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Pack") else { return notInitialized }
    guard let c = packComm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Pack") }
    guard incount >= 0 else { return fail(ErrorClass.count.rawValue, rt, c, "MPI_Pack") }
    guard let d = committedType(datatype) else { return fail(ErrorClass.type.rawValue, rt, c, "MPI_Pack") }
    guard let position, outsize >= 0 else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Pack") }
    let bytes = Int(incount) * d.size
    let start = Int(position.pointee)
    guard start >= 0 && start + bytes <= Int(outsize) else { return fail(ErrorClass.truncate.rawValue, rt, c, "MPI_Pack") }
    guard bytes > 0 else { return 0 }
    guard let outbuf else { return fail(ErrorClass.buffer.rawValue, rt, c, "MPI_Pack") }
    d.pack(from: inbuf, count: Int(incount), packedOffset: 0, into: outbuf + start, bytes: bytes)
    position.pointee = Int32(start + bytes)
    return 0
}

@_cdecl("PMPI_Unpack")
public func PMPI_Unpack(_ inbuf: UnsafeRawPointer?, _ insize: Int32, _ position: UnsafeMutablePointer<Int32>?,
                        _ outbuf: UnsafeMutableRawPointer?, _ outcount: Int32, _ datatype: Int32, _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Unpack") else { return notInitialized }
    guard let c = packComm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Unpack") }
    guard outcount >= 0 else { return fail(ErrorClass.count.rawValue, rt, c, "MPI_Unpack") }
    guard let d = committedType(datatype) else { return fail(ErrorClass.type.rawValue, rt, c, "MPI_Unpack") }
    guard let position, insize >= 0 else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Unpack") }
    let bytes = Int(outcount) * d.size
    let start = Int(position.pointee)
    guard start >= 0 && start + bytes <= Int(insize) else { return fail(ErrorClass.truncate.rawValue, rt, c, "MPI_Unpack") }
    guard bytes > 0 else { return 0 }
    guard let inbuf else { return fail(ErrorClass.buffer.rawValue, rt, c, "MPI_Unpack") }
    d.unpack(from: inbuf + start, bytes: bytes, into: outbuf, count: Int(outcount), packedOffset: 0)
    position.pointee = Int32(start + bytes)
    return 0
}

@_cdecl("PMPI_Pack_size")
public func PMPI_Pack_size(_ incount: Int32, _ datatype: Int32, _ comm: Int32, _ size: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Pack_size") else { return notInitialized }
    guard let c = packComm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Pack_size") }
    guard incount >= 0 else { return fail(ErrorClass.count.rawValue, rt, c, "MPI_Pack_size") }
    guard let d = decodeType(datatype) else { return fail(ErrorClass.type.rawValue, rt, c, "MPI_Pack_size") }
    guard let size else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Pack_size") }
    guard let n = Int32(exactly: d.packedSize(count: Int(incount))) else {
        return fail(ErrorClass.count.rawValue, rt, c, "MPI_Pack_size")
    }
    size.pointee = n
    return 0
}

// MARK: external32

/// Only "external32" is defined by the standard (and supported).
private func isExternal32(_ datarep: UnsafePointer<CChar>?) -> Bool {
    guard let datarep else { return false }
    return String(cString: datarep) == "external32"
}

@_cdecl("PMPI_Pack_external")
public func PMPI_Pack_external(_ datarep: UnsafePointer<CChar>?, _ inbuf: UnsafeRawPointer?, _ incount: Int32,
                               _ datatype: Int32, _ outbuf: UnsafeMutableRawPointer?, _ outsize: Int,
                               _ position: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let rt = runtime("MPI_Pack_external") else { return notInitialized }
    guard isExternal32(datarep) else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Pack_external") }
    guard incount >= 0 else { return fail(ErrorClass.count.rawValue, rt, nil, "MPI_Pack_external") }
    guard let d = committedType(datatype) else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Pack_external") }
    guard let position, outsize >= 0 else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Pack_external") }
    let start = position.pointee
    guard start >= 0 && start <= outsize else { return fail(ErrorClass.truncate.rawValue, rt, nil, "MPI_Pack_external") }
    if d.externalSize(count: Int(incount)) == 0 { return 0 }
    guard let outbuf else { return fail(ErrorClass.buffer.rawValue, rt, nil, "MPI_Pack_external") }
    do {
        position.pointee = start + (try d.packExternal(from: inbuf, count: Int(incount), into: outbuf + start,
                                                       capacity: outsize - start))
    } catch {
        return fail(error.code, rt, nil, "MPI_Pack_external")
    }
    return 0
}

@_cdecl("PMPI_Unpack_external")
public func PMPI_Unpack_external(_ datarep: UnsafePointer<CChar>?, _ inbuf: UnsafeRawPointer?, _ insize: Int,
                                 _ position: UnsafeMutablePointer<Int>?, _ outbuf: UnsafeMutableRawPointer?,
                                 _ outcount: Int32, _ datatype: Int32) -> Int32 {
    guard let rt = runtime("MPI_Unpack_external") else { return notInitialized }
    guard isExternal32(datarep) else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Unpack_external") }
    guard outcount >= 0 else { return fail(ErrorClass.count.rawValue, rt, nil, "MPI_Unpack_external") }
    guard let d = committedType(datatype) else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Unpack_external") }
    guard let position, insize >= 0 else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Unpack_external") }
    let start = position.pointee
    guard start >= 0 && start <= insize else { return fail(ErrorClass.truncate.rawValue, rt, nil, "MPI_Unpack_external") }
    if d.externalSize(count: Int(outcount)) == 0 { return 0 }
    guard let inbuf else { return fail(ErrorClass.buffer.rawValue, rt, nil, "MPI_Unpack_external") }
    do {
        position.pointee = start + (try d.unpackExternal(from: inbuf + start, bytes: insize - start, into: outbuf,
                                                         count: Int(outcount)))
    } catch {
        return fail(error.code, rt, nil, "MPI_Unpack_external")
    }
    return 0
}

@_cdecl("PMPI_Pack_external_size")
public func PMPI_Pack_external_size(_ datarep: UnsafePointer<CChar>?, _ incount: Int32, _ datatype: Int32,
                                    _ size: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let rt = runtime("MPI_Pack_external_size") else { return notInitialized }
    guard isExternal32(datarep) else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Pack_external_size") }
    guard incount >= 0 else { return fail(ErrorClass.count.rawValue, rt, nil, "MPI_Pack_external_size") }
    guard let d = decodeType(datatype) else { return fail(ErrorClass.type.rawValue, rt, nil, "MPI_Pack_external_size") }
    guard let size else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Pack_external_size") }
    size.pointee = d.externalSize(count: Int(incount))
    return 0
}
