// Point-to-point entry points: decode handles, call the runtime, report through the
// communicator's error handler. The pattern every other file of this module follows.
import FerryCore
import FerryDatatype
import FerryRuntime

@_cdecl("PMPI_Send")
public func PMPI_Send(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                      _ comm: Int32) -> Int32 {
    blockingSend(buf, count, datatype, dest, tag, comm, .standard, "MPI_Send")
}

@_cdecl("PMPI_Ssend")
public func PMPI_Ssend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                       _ comm: Int32) -> Int32 {
    blockingSend(buf, count, datatype, dest, tag, comm, .synchronous, "MPI_Ssend")
}

@_cdecl("PMPI_Rsend")
public func PMPI_Rsend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                       _ comm: Int32) -> Int32 {
    blockingSend(buf, count, datatype, dest, tag, comm, .ready, "MPI_Rsend")
}

@_cdecl("PMPI_Bsend")
public func PMPI_Bsend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                       _ comm: Int32) -> Int32 {
    blockingSend(buf, count, datatype, dest, tag, comm, .buffered, "MPI_Bsend")
}

@inline(__always)
private func blockingSend(_ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32, _ dest: Int32, _ tag: Int32,
                          _ comm: Int32, _ mode: SendMode, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    let c = decodeComm(comm, rt)
    var r = RequestID(index: -1, generation: 0)
    var rc = rt.isend(buf, count: Int(count), datatype: decodeType(datatype), dest: dest, tag: tag, comm: c,
                      mode: mode, request: &r)
    if rc == 0 {
        var h: RequestHandle = r
        var st = Status()
        rc = rt.wait(&h, status: &st)
    }
    return fail(rc, rt, c, fn)
}

@_cdecl("PMPI_Recv")
public func PMPI_Recv(_ buf: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32, _ source: Int32,
                      _ tag: Int32, _ comm: Int32, _ status: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Recv") else { return notInitialized }
    let c = decodeComm(comm, rt)
    var r = RequestID(index: -1, generation: 0)
    var rc = rt.irecv(buf, count: Int(count), datatype: decodeType(datatype), source: source, tag: tag, comm: c,
                      request: &r)
    if rc == 0 {
        var h: RequestHandle = r
        var st = Status()
        rc = rt.wait(&h, status: &st)
        store(st, status)
    }
    return fail(rc, rt, c, "MPI_Recv")
}
