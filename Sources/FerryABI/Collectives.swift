// Blocking collectives of the C API (MPI-3.1 chapter 5): decode the handles and the C count,
// displacement and datatype arrays, call the runtime's typed collectives
// (FerryRuntime/Collectives.swift), report through the communicator's error handler.
// MPI_IN_PLACE is `(void *)-1` in the MPICH ABI, the same value as `Runtime.inPlace`, so
// buffers pass through untouched. On intercommunicators the runtime runs the forms of
// FerryRuntime/InterCollectives.swift; the per-process arrays then describe the REMOTE group
// (alltoall(v/w), allgatherv, and gatherv/scatterv at the root, which passes MPI_ROOT), except
// reduce_scatter's recvcounts, which describe the local group.
import FerryCore
import FerryDatatype
import FerryRuntime

/// The communicator a collective runs on, or MPI_ERR_COMM for a null, unknown or freed handle.
/// Intra- and intercommunicators alike (Scan and Exscan, which have no intercommunicator form,
/// get MPI_ERR_COMM from the runtime).
@inline(__always)
func collectiveComm(_ h: Int32, _ rt: Runtime, _ function: StaticString) -> (Communicator?, Int32) {
    guard let c = decodeComm(h, rt), !c.isFreed else { return (nil, ErrorClass.comm.rawValue) }
    return (c, 0)
}

/// Entries of a count/displacement array significant at the root only (gatherv, scatterv):
/// the root's group on an intracommunicator, the remote group at an intercommunicator's root
/// (the process passing MPI_ROOT); none elsewhere (the arrays may be NULL there).
@inline(__always)
func rootArrayLength(_ c: Communicator, _ root: Int32) -> Int {
    if c.isInter { return root == MPIConstant.root ? c.peerCount : 0 }
    return c.rank == root ? c.size : 0
}

/// The datatypes of a C `MPI_Datatype[]` of `n` entries (unknown handles become nil, which
/// the runtime reports as MPI_ERR_TYPE). A null array gives an empty list.
@inline(__always)
func decodeTypes(_ p: UnsafePointer<Int32>?, _ n: Int) -> [Datatype?] {
    guard let p, n > 0 else { return [] }
    return (0..<n).map { decodeType(p[$0]) }
}

@_cdecl("PMPI_Barrier")
public func PMPI_Barrier(_ comm: Int32) -> Int32 {
    if comm == Handle.commWorld, let rtRef = Runtime.sharedRef,
       rtRef._withUnsafeGuaranteedRef({ $0.worldBarrierFast() }) != nil { return 0 }
    guard let rt = runtime("MPI_Barrier") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Barrier")
    if e != 0 { return fail(e, rt, c, "MPI_Barrier") }
    return fail(barrierCode(rt, c!), rt, c, "MPI_Barrier")
}

/// `withBorrowed` for the block collectives: the communicator, the receive type, and the send
/// type (the receive type again when the send buffer is MPI_IN_PLACE, where the send type is
/// not significant).
@inline(__always)
func withBorrowedBlocks<R>(_ sendbuf: UnsafeRawPointer?, _ sendtype: Int32, _ recvtype: Int32, _ comm: Int32,
                           _ body: (Runtime, Communicator, Datatype, Datatype) -> R?) -> R? {
    let inPlace = Runtime.isInPlace(sendbuf)
    return withBorrowed(comm, recvtype) { rt, c, t in
        if inPlace { return body(rt, c, t, t) }
        guard let s = borrowType(sendtype) else { return nil }
        return s._withUnsafeGuaranteedRef { body(rt, c, $0, t) }
    }
}

/// The runtime's barrier as a return code.
@inline(__always)
func barrierCode(_ rt: Runtime, _ c: Communicator) -> Int32 {
    do { try rt.barrier(c) } catch { return error.code }
    return 0
}

@_cdecl("PMPI_Bcast")
public func PMPI_Bcast(_ buffer: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32, _ root: Int32,
                       _ comm: Int32) -> Int32 {
    // The common case without reference counting (successful call on a live communicator).
    // A collective may not be retried once started: the borrowed attempt's result is final
    // (nil only when the handles are not valid, which the general path then reports).
    if let result = withBorrowed(comm, datatype, { rt, c, t in
        c.isFreed ? nil : rt.bcastFast(buffer, count: Int(count), datatype: t, root: root, comm: c)
            ?? rt.bcast(buffer, count: Int(count), datatype: t, root: root, comm: c)
    }) {
        if result == 0 { return 0 }
        let rt = Runtime.shared!
        return fail(result, rt, decodeComm(comm, rt), "MPI_Bcast")
    }
    guard let rt = runtime("MPI_Bcast") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Bcast")
    if e != 0 { return fail(e, rt, c, "MPI_Bcast") }
    let rc = rt.bcast(buffer, count: Int(count), datatype: decodeType(datatype), root: root, comm: c)
    return fail(rc, rt, c, "MPI_Bcast")
}

@_cdecl("PMPI_Reduce")
public func PMPI_Reduce(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?, _ count: Int32,
                        _ datatype: Int32, _ op: Int32, _ root: Int32, _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Reduce") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Reduce")
    if e != 0 { return fail(e, rt, c, "MPI_Reduce") }
    let rc = rt.reduce(sendbuf, recvbuf, count: Int(count), datatype: decodeType(datatype), op: decodeOp(op),
                       root: root, comm: c)
    return fail(rc, rt, c, "MPI_Reduce")
}

@_cdecl("PMPI_Allreduce")
public func PMPI_Allreduce(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?, _ count: Int32,
                           _ datatype: Int32, _ op: Int32, _ comm: Int32) -> Int32 {
    // Predefined op and type on MPI_COMM_WORLD, small: borrowed handles, no checks left to fail.
    if let o = predefinedOp(op), withBorrowed(comm, datatype, { rt, c, t in
        rt.allreduceFast(sendbuf, recvbuf, count: Int(count), datatype: t, op: o, comm: c)
    }) != nil { return 0 }
    guard let rt = runtime("MPI_Allreduce") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Allreduce")
    if e != 0 { return fail(e, rt, c, "MPI_Allreduce") }
    let rc = rt.allreduce(sendbuf, recvbuf, count: Int(count), datatype: decodeType(datatype), op: decodeOp(op), comm: c)
    return fail(rc, rt, c, "MPI_Allreduce")
}

@_cdecl("PMPI_Reduce_scatter_block")
public func PMPI_Reduce_scatter_block(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?,
                                      _ recvcount: Int32, _ datatype: Int32, _ op: Int32, _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Reduce_scatter_block") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Reduce_scatter_block")
    if e != 0 { return fail(e, rt, c, "MPI_Reduce_scatter_block") }
    let rc = rt.reduceScatterBlock(sendbuf, recvbuf, recvCount: Int(recvcount), datatype: decodeType(datatype),
                                   op: decodeOp(op), comm: c)
    return fail(rc, rt, c, "MPI_Reduce_scatter_block")
}

@_cdecl("PMPI_Reduce_scatter")
public func PMPI_Reduce_scatter(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?,
                                _ recvcounts: UnsafePointer<Int32>?, _ datatype: Int32, _ op: Int32,
                                _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Reduce_scatter") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Reduce_scatter")
    if e != 0 { return fail(e, rt, c, "MPI_Reduce_scatter") }
    let rc = rt.reduceScatter(sendbuf, recvbuf, recvCounts: ints(recvcounts, c!.size), datatype: decodeType(datatype),
                              op: decodeOp(op), comm: c)
    return fail(rc, rt, c, "MPI_Reduce_scatter")
}

@_cdecl("PMPI_Scan")
public func PMPI_Scan(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?, _ count: Int32,
                      _ datatype: Int32, _ op: Int32, _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Scan") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Scan")
    if e != 0 { return fail(e, rt, c, "MPI_Scan") }
    let rc = rt.scan(sendbuf, recvbuf, count: Int(count), datatype: decodeType(datatype), op: decodeOp(op), comm: c)
    return fail(rc, rt, c, "MPI_Scan")
}

@_cdecl("PMPI_Exscan")
public func PMPI_Exscan(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?, _ count: Int32,
                        _ datatype: Int32, _ op: Int32, _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Exscan") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Exscan")
    if e != 0 { return fail(e, rt, c, "MPI_Exscan") }
    let rc = rt.exscan(sendbuf, recvbuf, count: Int(count), datatype: decodeType(datatype), op: decodeOp(op), comm: c)
    return fail(rc, rt, c, "MPI_Exscan")
}

@_cdecl("PMPI_Gather")
public func PMPI_Gather(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                        _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32, _ root: Int32,
                        _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Gather") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Gather")
    if e != 0 { return fail(e, rt, c, "MPI_Gather") }
    let rc = rt.gather(sendbuf, sendCount: Int(sendcount), sendType: decodeType(sendtype), recvbuf,
                       recvCount: Int(recvcount), recvType: decodeType(recvtype), root: root, comm: c)
    return fail(rc, rt, c, "MPI_Gather")
}

@_cdecl("PMPI_Gatherv")
public func PMPI_Gatherv(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                         _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                         _ displs: UnsafePointer<Int32>?, _ recvtype: Int32, _ root: Int32, _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Gatherv") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Gatherv")
    if e != 0 { return fail(e, rt, c, "MPI_Gatherv") }
    // The count and displacement arrays are significant at the root only (may be NULL elsewhere).
    let n = rootArrayLength(c!, root)
    let rc = rt.gatherv(sendbuf, sendCount: Int(sendcount), sendType: decodeType(sendtype), recvbuf,
                        recvCounts: ints(recvcounts, n), displacements: ints(displs, n),
                        recvType: decodeType(recvtype), root: root, comm: c)
    return fail(rc, rt, c, "MPI_Gatherv")
}

@_cdecl("PMPI_Scatter")
public func PMPI_Scatter(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                         _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32, _ root: Int32,
                         _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Scatter") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Scatter")
    if e != 0 { return fail(e, rt, c, "MPI_Scatter") }
    let rc = rt.scatter(sendbuf, sendCount: Int(sendcount), sendType: decodeType(sendtype), recvbuf,
                        recvCount: Int(recvcount), recvType: decodeType(recvtype), root: root, comm: c)
    return fail(rc, rt, c, "MPI_Scatter")
}

@_cdecl("PMPI_Scatterv")
public func PMPI_Scatterv(_ sendbuf: UnsafeRawPointer?, _ sendcounts: UnsafePointer<Int32>?,
                          _ displs: UnsafePointer<Int32>?, _ sendtype: Int32, _ recvbuf: UnsafeMutableRawPointer?,
                          _ recvcount: Int32, _ recvtype: Int32, _ root: Int32, _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Scatterv") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Scatterv")
    if e != 0 { return fail(e, rt, c, "MPI_Scatterv") }
    let n = rootArrayLength(c!, root)
    let rc = rt.scatterv(sendbuf, sendCounts: ints(sendcounts, n), displacements: ints(displs, n),
                         sendType: decodeType(sendtype), recvbuf, recvCount: Int(recvcount),
                         recvType: decodeType(recvtype), root: root, comm: c)
    return fail(rc, rt, c, "MPI_Scatterv")
}

@_cdecl("PMPI_Allgather")
public func PMPI_Allgather(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                           _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32,
                           _ comm: Int32) -> Int32 {
    if withBorrowedBlocks(sendbuf, sendtype, recvtype, comm, { rt, c, st, t in
        rt.blockCollectiveFast(.allgather, sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf,
                               recvCount: Int(recvcount), recvType: t, comm: c)
    }) != nil { return 0 }
    guard let rt = runtime("MPI_Allgather") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Allgather")
    if e != 0 { return fail(e, rt, c, "MPI_Allgather") }
    let rc = rt.allgather(sendbuf, sendCount: Int(sendcount), sendType: decodeType(sendtype), recvbuf,
                          recvCount: Int(recvcount), recvType: decodeType(recvtype), comm: c)
    return fail(rc, rt, c, "MPI_Allgather")
}

@_cdecl("PMPI_Allgatherv")
public func PMPI_Allgatherv(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                            _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                            _ displs: UnsafePointer<Int32>?, _ recvtype: Int32, _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Allgatherv") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Allgatherv")
    if e != 0 { return fail(e, rt, c, "MPI_Allgatherv") }
    let n = c!.peerCount   // the remote group on an intercommunicator
    let rc = rt.allgatherv(sendbuf, sendCount: Int(sendcount), sendType: decodeType(sendtype), recvbuf,
                           recvCounts: ints(recvcounts, n), displacements: ints(displs, n),
                           recvType: decodeType(recvtype), comm: c)
    return fail(rc, rt, c, "MPI_Allgatherv")
}

@_cdecl("PMPI_Alltoall")
public func PMPI_Alltoall(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                          _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32,
                          _ comm: Int32) -> Int32 {
    if withBorrowedBlocks(sendbuf, sendtype, recvtype, comm, { rt, c, st, t in
        rt.blockCollectiveFast(.alltoall, sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf,
                               recvCount: Int(recvcount), recvType: t, comm: c)
    }) != nil { return 0 }
    guard let rt = runtime("MPI_Alltoall") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Alltoall")
    if e != 0 { return fail(e, rt, c, "MPI_Alltoall") }
    let rc = rt.alltoall(sendbuf, sendCount: Int(sendcount), sendType: decodeType(sendtype), recvbuf,
                         recvCount: Int(recvcount), recvType: decodeType(recvtype), comm: c)
    return fail(rc, rt, c, "MPI_Alltoall")
}

@_cdecl("PMPI_Alltoallv")
public func PMPI_Alltoallv(_ sendbuf: UnsafeRawPointer?, _ sendcounts: UnsafePointer<Int32>?,
                           _ sdispls: UnsafePointer<Int32>?, _ sendtype: Int32, _ recvbuf: UnsafeMutableRawPointer?,
                           _ recvcounts: UnsafePointer<Int32>?, _ rdispls: UnsafePointer<Int32>?, _ recvtype: Int32,
                           _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Alltoallv") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Alltoallv")
    if e != 0 { return fail(e, rt, c, "MPI_Alltoallv") }
    let n = c!.peerCount   // the remote group on an intercommunicator
    let rc = rt.alltoallv(sendbuf, sendCounts: ints(sendcounts, n), sendDisplacements: ints(sdispls, n),
                          sendType: decodeType(sendtype), recvbuf, recvCounts: ints(recvcounts, n),
                          recvDisplacements: ints(rdispls, n), recvType: decodeType(recvtype), comm: c)
    return fail(rc, rt, c, "MPI_Alltoallv")
}

@_cdecl("PMPI_Alltoallw")
public func PMPI_Alltoallw(_ sendbuf: UnsafeRawPointer?, _ sendcounts: UnsafePointer<Int32>?,
                           _ sdispls: UnsafePointer<Int32>?, _ sendtypes: UnsafePointer<Int32>?,
                           _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                           _ rdispls: UnsafePointer<Int32>?, _ recvtypes: UnsafePointer<Int32>?,
                           _ comm: Int32) -> Int32 {
    guard let rt = runtime("MPI_Alltoallw") else { return notInitialized }
    let (c, e) = collectiveComm(comm, rt, "MPI_Alltoallw")
    if e != 0 { return fail(e, rt, c, "MPI_Alltoallw") }
    let n = c!.peerCount   // the remote group on an intercommunicator
    // Alltoallw displacements are in bytes (int in MPI_Alltoallw, MPI_Aint in the neighbor form).
    let rc = rt.alltoallw(sendbuf, sendCounts: ints(sendcounts, n), sendByteDisplacements: ints(sdispls, n),
                          sendTypes: decodeTypes(sendtypes, n), recvbuf, recvCounts: ints(recvcounts, n),
                          recvByteDisplacements: ints(rdispls, n), recvTypes: decodeTypes(recvtypes, n), comm: c)
    return fail(rc, rt, c, "MPI_Alltoallw")
}
