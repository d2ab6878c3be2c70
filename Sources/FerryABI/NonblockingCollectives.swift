// Nonblocking collectives of the C API (MPI-3.1 §5.12) and MPI_Comm_idup (§6.4.2): each call
// checks what it can at once (communicator, request pointer, root, op, the count and datatype
// of the calls where they are significant on every rank), copies the caller's count,
// displacement and datatype arrays into Swift arrays, and hands the blocking algorithm to the
// communicator's background worker (`Runtime.startInBackground`, FerryRuntime/Nonblocking.swift),
// which runs it on a shadow communicator with its own context. The request completes when the
// algorithm returns; an error it returns is the request's status error (MPI_Wait returns it).
//
// The caller may not reuse the resources named in a nonblocking call before it completes
// (MPI-3.1 §2.4), arrays included, so reading them lazily would be allowed. We copy them at
// the call anyway: it costs little and keeps a careless caller (a stack array that goes out
// of scope) correct.
import FerryCore
import FerryDatatype
import FerryRuntime

/// What a nonblocking collective runs in the background: the runtime and the shadow communicator.
typealias BackgroundWork = (Runtime, Communicator) -> Int32

/// Checks a nonblocking call and starts its work in the background on `comm`, storing the
/// request. `prepare` runs now, on the caller's thread, with the communicator: it throws
/// the first argument error, or returns the work (having copied what the work needs).
/// `neighborhood`: the communicator must carry a topology (MPI_ERR_TOPOLOGY otherwise).
@inline(__always)
func startCollective(_ comm: Int32, _ request: UnsafeMutablePointer<Int32>?, _ function: StaticString,
                     neighborhood: Bool = false,
                     _ prepare: (Communicator) throws(MPIError) -> BackgroundWork) -> Int32 {
    guard let rt = runtime(function) else { return notInitialized }
    var (c, e) = neighborhood ? (decodeComm(comm, rt), 0) : collectiveComm(comm, rt, function)
    if neighborhood {
        if c == nil || c!.isFreed || c!.isInter { (c, e) = (nil, ErrorClass.comm.rawValue) }
        else if c!.neighborLists == nil { e = ErrorClass.topology.rawValue }
    }
    if e != 0 { return fail(e, rt, c, function) }
    guard let request else { return fail(ErrorClass.arg.rawValue, rt, c, function) }
    let work: BackgroundWork
    do { work = try prepare(c!) } catch { return fail(error.code, rt, c, function) }
    let r = rt.startInBackground(on: c!) { shadow in work(rt, shadow) }
    request.pointee = encodeRequest(r)
    return 0
}

/// Throws a nonzero error code.
@inline(__always)
private func require(_ rc: Int32) throws(MPIError) {
    if rc != 0 { throw MPIError(code: rc) }
}

/// MPI_ERR_COUNT / MPI_ERR_TYPE for a (count, datatype) pair significant on this rank.
@inline(__always)
private func checkData(_ count: Int32, _ t: Datatype?) -> Int32 {
    if count < 0 { return ErrorClass.count.rawValue }
    guard let t, t.isCommitted else { return ErrorClass.type.rawValue }
    return 0
}

/// A valid root: a rank of the group on an intracommunicator; MPI_ROOT, MPI_PROC_NULL or a rank
/// of the remote group on an intercommunicator.
@inline(__always)
private func checkRoot(_ root: Int32, _ c: Communicator) -> Int32 {
    if c.isInter {
        if root == MPIConstant.root || root == MPIConstant.procNull { return 0 }
        return root >= 0 && Int(root) < c.peerCount ? 0 : ErrorClass.root.rawValue
    }
    return root >= 0 && Int(root) < c.size ? 0 : ErrorClass.root.rawValue
}

/// Whether the data arguments of a rooted collective are significant here: not at the members
/// of an intercommunicator root's group other than the root (they pass MPI_PROC_NULL).
@inline(__always)
private func takesPart(_ root: Int32, _ c: Communicator) -> Bool {
    !(c.isInter && root == MPIConstant.procNull)
}

/// The checks of a reduction: op, then data.
@inline(__always)
private func checkReduction(_ count: Int32, _ t: Datatype?, _ op: Operation?) -> Int32 {
    op == nil ? ErrorClass.op.rawValue : checkData(count, t)
}

@_cdecl("PMPI_Ibarrier")
public func PMPI_Ibarrier(_ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    startCollective(comm, request, "MPI_Ibarrier") { _ throws(MPIError) in { rt, c in barrierCode(rt, c) } }
}

@_cdecl("PMPI_Ibcast")
public func PMPI_Ibcast(_ buffer: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32, _ root: Int32,
                        _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let t = decodeType(datatype)
    return startCollective(comm, request, "MPI_Ibcast") { c throws(MPIError) in
        try require(checkRoot(root, c))
        if takesPart(root, c) { try require(checkData(count, t)) }
        return { rt, c in rt.bcast(buffer, count: Int(count), datatype: t, root: root, comm: c) }
    }
}

@_cdecl("PMPI_Ireduce")
public func PMPI_Ireduce(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?, _ count: Int32,
                         _ datatype: Int32, _ op: Int32, _ root: Int32, _ comm: Int32,
                         _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let t = decodeType(datatype), o = decodeOp(op)
    return startCollective(comm, request, "MPI_Ireduce") { c throws(MPIError) in
        try require(checkRoot(root, c))
        if takesPart(root, c) { try require(checkReduction(count, t, o)) }
        return { rt, c in rt.reduce(sendbuf, recvbuf, count: Int(count), datatype: t, op: o, root: root, comm: c) }
    }
}

@_cdecl("PMPI_Iallreduce")
public func PMPI_Iallreduce(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?, _ count: Int32,
                            _ datatype: Int32, _ op: Int32, _ comm: Int32,
                            _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let t = decodeType(datatype), o = decodeOp(op)
    return startCollective(comm, request, "MPI_Iallreduce") { _ throws(MPIError) in
        try require(checkReduction(count, t, o))
        return { rt, c in rt.allreduce(sendbuf, recvbuf, count: Int(count), datatype: t, op: o, comm: c) }
    }
}

@_cdecl("PMPI_Ireduce_scatter_block")
public func PMPI_Ireduce_scatter_block(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?,
                                       _ recvcount: Int32, _ datatype: Int32, _ op: Int32, _ comm: Int32,
                                       _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let t = decodeType(datatype), o = decodeOp(op)
    return startCollective(comm, request, "MPI_Ireduce_scatter_block") { _ throws(MPIError) in
        try require(checkReduction(recvcount, t, o))
        return { rt, c in rt.reduceScatterBlock(sendbuf, recvbuf, recvCount: Int(recvcount), datatype: t, op: o, comm: c) }
    }
}

@_cdecl("PMPI_Ireduce_scatter")
public func PMPI_Ireduce_scatter(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?,
                                 _ recvcounts: UnsafePointer<Int32>?, _ datatype: Int32, _ op: Int32, _ comm: Int32,
                                 _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let t = decodeType(datatype), o = decodeOp(op)
    return startCollective(comm, request, "MPI_Ireduce_scatter") { c throws(MPIError) in
        try require(checkReduction(0, t, o))
        guard recvcounts != nil else { throw MPIError(.arg) }
        let counts = ints(recvcounts, c.size)
        return { rt, c in rt.reduceScatter(sendbuf, recvbuf, recvCounts: counts, datatype: t, op: o, comm: c) }
    }
}

@_cdecl("PMPI_Iscan")
public func PMPI_Iscan(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?, _ count: Int32,
                       _ datatype: Int32, _ op: Int32, _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let t = decodeType(datatype), o = decodeOp(op)
    return startCollective(comm, request, "MPI_Iscan") { c throws(MPIError) in
        // Not defined on intercommunicators: fail at the call, as the blocking form does.
        if c.isInter { throw MPIError(.comm) }
        try require(checkReduction(count, t, o))
        return { rt, c in rt.scan(sendbuf, recvbuf, count: Int(count), datatype: t, op: o, comm: c) }
    }
}

@_cdecl("PMPI_Iexscan")
public func PMPI_Iexscan(_ sendbuf: UnsafeRawPointer?, _ recvbuf: UnsafeMutableRawPointer?, _ count: Int32,
                         _ datatype: Int32, _ op: Int32, _ comm: Int32,
                         _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let t = decodeType(datatype), o = decodeOp(op)
    return startCollective(comm, request, "MPI_Iexscan") { c throws(MPIError) in
        // Not defined on intercommunicators: fail at the call, as the blocking form does.
        if c.isInter { throw MPIError(.comm) }
        try require(checkReduction(count, t, o))
        return { rt, c in rt.exscan(sendbuf, recvbuf, count: Int(count), datatype: t, op: o, comm: c) }
    }
}

@_cdecl("PMPI_Igather")
public func PMPI_Igather(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                         _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32, _ root: Int32,
                         _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Igather") { c throws(MPIError) in
        try require(checkRoot(root, c))
        return { rt, c in
            rt.gather(sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf, recvCount: Int(recvcount),
                      recvType: rtype, root: root, comm: c)
        }
    }
}

@_cdecl("PMPI_Igatherv")
public func PMPI_Igatherv(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                          _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                          _ displs: UnsafePointer<Int32>?, _ recvtype: Int32, _ root: Int32, _ comm: Int32,
                          _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Igatherv") { c throws(MPIError) in
        try require(checkRoot(root, c))
        let n = rootArrayLength(c, root)
        let counts = ints(recvcounts, n), displacements = ints(displs, n)
        return { rt, c in
            rt.gatherv(sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf, recvCounts: counts,
                       displacements: displacements, recvType: rtype, root: root, comm: c)
        }
    }
}

@_cdecl("PMPI_Iscatter")
public func PMPI_Iscatter(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                          _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32, _ root: Int32,
                          _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Iscatter") { c throws(MPIError) in
        try require(checkRoot(root, c))
        return { rt, c in
            rt.scatter(sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf, recvCount: Int(recvcount),
                       recvType: rtype, root: root, comm: c)
        }
    }
}

@_cdecl("PMPI_Iscatterv")
public func PMPI_Iscatterv(_ sendbuf: UnsafeRawPointer?, _ sendcounts: UnsafePointer<Int32>?,
                           _ displs: UnsafePointer<Int32>?, _ sendtype: Int32, _ recvbuf: UnsafeMutableRawPointer?,
                           _ recvcount: Int32, _ recvtype: Int32, _ root: Int32, _ comm: Int32,
                           _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Iscatterv") { c throws(MPIError) in
        try require(checkRoot(root, c))
        let n = rootArrayLength(c, root)
        let counts = ints(sendcounts, n), displacements = ints(displs, n)
        return { rt, c in
            rt.scatterv(sendbuf, sendCounts: counts, displacements: displacements, sendType: st, recvbuf,
                        recvCount: Int(recvcount), recvType: rtype, root: root, comm: c)
        }
    }
}

@_cdecl("PMPI_Iallgather")
public func PMPI_Iallgather(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                            _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32,
                            _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Iallgather") { _ throws(MPIError) in
        try require(checkData(recvcount, rtype))
        return { rt, c in
            rt.allgather(sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf, recvCount: Int(recvcount),
                         recvType: rtype, comm: c)
        }
    }
}

@_cdecl("PMPI_Iallgatherv")
public func PMPI_Iallgatherv(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                             _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                             _ displs: UnsafePointer<Int32>?, _ recvtype: Int32, _ comm: Int32,
                             _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Iallgatherv") { c throws(MPIError) in
        try require(checkData(0, rtype))
        guard recvcounts != nil, displs != nil else { throw MPIError(.arg) }
        let n = c.peerCount   // the remote group on an intercommunicator
        let counts = ints(recvcounts, n), displacements = ints(displs, n)
        return { rt, c in
            rt.allgatherv(sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf, recvCounts: counts,
                          displacements: displacements, recvType: rtype, comm: c)
        }
    }
}

@_cdecl("PMPI_Ialltoall")
public func PMPI_Ialltoall(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                           _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32,
                           _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Ialltoall") { _ throws(MPIError) in
        try require(checkData(recvcount, rtype))
        return { rt, c in
            rt.alltoall(sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf, recvCount: Int(recvcount),
                        recvType: rtype, comm: c)
        }
    }
}

@_cdecl("PMPI_Ialltoallv")
public func PMPI_Ialltoallv(_ sendbuf: UnsafeRawPointer?, _ sendcounts: UnsafePointer<Int32>?,
                            _ sdispls: UnsafePointer<Int32>?, _ sendtype: Int32, _ recvbuf: UnsafeMutableRawPointer?,
                            _ recvcounts: UnsafePointer<Int32>?, _ rdispls: UnsafePointer<Int32>?, _ recvtype: Int32,
                            _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Ialltoallv") { c throws(MPIError) in
        try require(checkData(0, rtype))
        guard recvcounts != nil, rdispls != nil else { throw MPIError(.arg) }
        let n = c.peerCount   // the remote group on an intercommunicator
        let sc = ints(sendcounts, n), sd = ints(sdispls, n), rc = ints(recvcounts, n), rd = ints(rdispls, n)
        return { rt, c in
            rt.alltoallv(sendbuf, sendCounts: sc, sendDisplacements: sd, sendType: st, recvbuf, recvCounts: rc,
                         recvDisplacements: rd, recvType: rtype, comm: c)
        }
    }
}

@_cdecl("PMPI_Ialltoallw")
public func PMPI_Ialltoallw(_ sendbuf: UnsafeRawPointer?, _ sendcounts: UnsafePointer<Int32>?,
                            _ sdispls: UnsafePointer<Int32>?, _ sendtypes: UnsafePointer<Int32>?,
                            _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                            _ rdispls: UnsafePointer<Int32>?, _ recvtypes: UnsafePointer<Int32>?,
                            _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    startCollective(comm, request, "MPI_Ialltoallw") { c throws(MPIError) in
        guard recvcounts != nil, rdispls != nil, recvtypes != nil else { throw MPIError(.arg) }
        let n = c.peerCount   // the remote group on an intercommunicator
        let sc = ints(sendcounts, n), sd = ints(sdispls, n), stypes = decodeTypes(sendtypes, n)
        let rc = ints(recvcounts, n), rd = ints(rdispls, n), rtypes = decodeTypes(recvtypes, n)
        return { rt, c in
            rt.alltoallw(sendbuf, sendCounts: sc, sendByteDisplacements: sd, sendTypes: stypes, recvbuf,
                         recvCounts: rc, recvByteDisplacements: rd, recvTypes: rtypes, comm: c)
        }
    }
}

/// `MPI_Comm_idup`. `*newcomm` is written on the worker thread just before the request
/// completes (MPI-3.1 §6.4.2 makes using newcomm before completion erroneous, so it is an
/// output like a receive buffer); at the call it is set to MPI_COMM_NULL, so that an early
/// use fails with MPI_ERR_COMM instead of reading garbage. (MPICH instead writes a handle at
/// the call that becomes usable at completion; our handles name live objects only, and the
/// communicator object needs the context id that the background agreement produces.)
/// Works on intercommunicators too.
@_cdecl("PMPI_Comm_idup")
public func PMPI_Comm_idup(_ comm: Int32, _ newcomm: UnsafeMutablePointer<Int32>?,
                           _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_idup") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_idup") }
    guard let newcomm, let request else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_idup") }
    newcomm.pointee = Handle.commNull
    do {
        let r = try rt.commIdup(c) { n in newcomm.pointee = encodeComm(n, rt) }
        request.pointee = encodeRequest(r)
        return 0
    } catch {
        return fail(error.code, rt, c, "MPI_Comm_idup")
    }
}

// MARK: nonblocking neighborhood collectives (MPI-3.1 §7.7): the blocking runtime functions
// (FerryRuntime/Neighborhood.swift) run in the background; the shadow communicator carries
// the topology. Counts and displacements are copied for the in-degree (receive side) and the
// out-degree (send side).

/// (in-degree, out-degree) of a communicator that `startCollective(neighborhood: true)` accepted.
@inline(__always)
private func degrees(_ c: Communicator) -> (Int, Int) {
    let lists = c.neighborLists!
    return (lists.sources.count, lists.destinations.count)
}

@_cdecl("PMPI_Ineighbor_allgather")
public func PMPI_Ineighbor_allgather(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                                     _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32,
                                     _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Ineighbor_allgather", neighborhood: true) { _ throws(MPIError) in
        try require(checkData(sendcount, st)); try require(checkData(recvcount, rtype))
        return { rt, c in
            rt.neighborAllgather(sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf, recvCount: Int(recvcount),
                                 recvType: rtype, comm: c)
        }
    }
}

@_cdecl("PMPI_Ineighbor_allgatherv")
public func PMPI_Ineighbor_allgatherv(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                                      _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                                      _ displs: UnsafePointer<Int32>?, _ recvtype: Int32, _ comm: Int32,
                                      _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Ineighbor_allgatherv", neighborhood: true) { c throws(MPIError) in
        try require(checkData(sendcount, st)); try require(checkData(0, rtype))
        let (indegree, _) = degrees(c)
        if indegree > 0 && (recvcounts == nil || displs == nil) { throw MPIError(.arg) }
        let counts = ints(recvcounts, indegree), displacements = ints(displs, indegree)
        return { rt, c in
            rt.neighborAllgatherv(sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf, recvCounts: counts,
                                  displacements: displacements, recvType: rtype, comm: c)
        }
    }
}

@_cdecl("PMPI_Ineighbor_alltoall")
public func PMPI_Ineighbor_alltoall(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                                    _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32,
                                    _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Ineighbor_alltoall", neighborhood: true) { _ throws(MPIError) in
        try require(checkData(sendcount, st)); try require(checkData(recvcount, rtype))
        return { rt, c in
            rt.neighborAlltoall(sendbuf, sendCount: Int(sendcount), sendType: st, recvbuf, recvCount: Int(recvcount),
                                recvType: rtype, comm: c)
        }
    }
}

@_cdecl("PMPI_Ineighbor_alltoallv")
public func PMPI_Ineighbor_alltoallv(_ sendbuf: UnsafeRawPointer?, _ sendcounts: UnsafePointer<Int32>?,
                                     _ sdispls: UnsafePointer<Int32>?, _ sendtype: Int32,
                                     _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                                     _ rdispls: UnsafePointer<Int32>?, _ recvtype: Int32, _ comm: Int32,
                                     _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    let st = decodeType(sendtype), rtype = decodeType(recvtype)
    return startCollective(comm, request, "MPI_Ineighbor_alltoallv", neighborhood: true) { c throws(MPIError) in
        try require(checkData(0, st)); try require(checkData(0, rtype))
        let (indegree, outdegree) = degrees(c)
        if (outdegree > 0 && (sendcounts == nil || sdispls == nil)) || (indegree > 0 && (recvcounts == nil || rdispls == nil)) {
            throw MPIError(.arg)
        }
        let sc = ints(sendcounts, outdegree), sd = ints(sdispls, outdegree)
        let rc = ints(recvcounts, indegree), rd = ints(rdispls, indegree)
        return { rt, c in
            rt.neighborAlltoallv(sendbuf, sendCounts: sc, sendDisplacements: sd, sendType: st, recvbuf, recvCounts: rc,
                                 recvDisplacements: rd, recvType: rtype, comm: c)
        }
    }
}

/// Displacements are `MPI_Aint` byte offsets; one datatype handle per neighbour.
@_cdecl("PMPI_Ineighbor_alltoallw")
public func PMPI_Ineighbor_alltoallw(_ sendbuf: UnsafeRawPointer?, _ sendcounts: UnsafePointer<Int32>?,
                                     _ sdispls: UnsafePointer<Int>?, _ sendtypes: UnsafePointer<Int32>?,
                                     _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                                     _ rdispls: UnsafePointer<Int>?, _ recvtypes: UnsafePointer<Int32>?,
                                     _ comm: Int32, _ request: UnsafeMutablePointer<Int32>?) -> Int32 {
    startCollective(comm, request, "MPI_Ineighbor_alltoallw", neighborhood: true) { c throws(MPIError) in
        let (indegree, outdegree) = degrees(c)
        if (outdegree > 0 && (sendcounts == nil || sdispls == nil || sendtypes == nil))
            || (indegree > 0 && (recvcounts == nil || rdispls == nil || recvtypes == nil)) {
            throw MPIError(.arg)
        }
        let sc = ints(sendcounts, outdegree), rc = ints(recvcounts, indegree)
        let sd = outdegree > 0 ? Array(UnsafeBufferPointer(start: sdispls, count: outdegree)) : []
        let rd = indegree > 0 ? Array(UnsafeBufferPointer(start: rdispls, count: indegree)) : []
        let stypes = decodeTypes(sendtypes, outdegree), rtypes = decodeTypes(recvtypes, indegree)
        return { rt, c in
            rt.neighborAlltoallw(sendbuf, sendCounts: sc, sendByteDisplacements: sd, sendTypes: stypes, recvbuf,
                                 recvCounts: rc, recvByteDisplacements: rd, recvTypes: rtypes, comm: c)
        }
    }
}
