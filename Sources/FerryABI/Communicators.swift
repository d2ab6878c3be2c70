// Communicator entry points: rank and size, and communicator management (MPI-3.1 §6.4–6.6):
// compare, dup, split, create, free, names, info hints, intercommunicators. New communicators
// get handles through `storeComm`; the runtime does the collective work.
import FerryCore
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("PMPI_Comm_rank")
public func PMPI_Comm_rank(_ comm: Int32, _ rank: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_rank") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_rank") }
    guard let rank else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_rank") }
    rank.pointee = c.rank
    return 0
}

@_cdecl("PMPI_Comm_size")
public func PMPI_Comm_size(_ comm: Int32, _ size: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_size") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_size") }
    guard let size else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_size") }
    size.pointee = Int32(c.size)
    return 0
}

// MARK: communicator management (MPI-3.1 §6.4–6.6)

/// Info hints of each communicator (MPI_Comm_set_info, dup_with_info), which the runtime does
/// not keep: it uses none of them. Entries whose communicator is gone are dropped when found.
private final class CommInfo {
    @exclusivity(unchecked) weak var comm: Communicator?
    @exclusivity(unchecked) var entries: [(key: String, value: String)]
    init(_ comm: Communicator, _ entries: [(key: String, value: String)]) {
        self.comm = comm
        self.entries = entries
    }
}
@exclusivity(unchecked) nonisolated(unsafe) private var commInfos: [ObjectIdentifier: CommInfo] = [:]

private func hints(of c: Communicator) -> [(key: String, value: String)] {
    withABILock {
        guard let i = commInfos[ObjectIdentifier(c)] else { return [] }
        guard i.comm === c else { commInfos[ObjectIdentifier(c)] = nil; return [] }
        return i.entries
    }
}

private func setHints(_ c: Communicator, _ entries: [(key: String, value: String)]) {
    withABILock { commInfos[ObjectIdentifier(c)] = entries.isEmpty ? nil : CommInfo(c, entries) }
}

/// Registers a communicator the runtime made and stores its handle (MPI_COMM_NULL for nil).
/// Returns the error code (MPI_ERR_INTERN when the handle table is full).
func storeComm(_ c: Communicator?, _ out: UnsafeMutablePointer<Int32>, _ rt: Runtime) -> Int32 {
    guard let c else { out.pointee = Handle.commNull; return 0 }
    let h = encodeComm(c, rt)
    out.pointee = h
    if h == Handle.commNull {
        complain("ferry: too many communicators (\(ABI.comms.capacity)); free unused ones")
        return ErrorClass.intern.rawValue
    }
    return 0
}

/// Decodes a communicator argument for an operation on it (nil: report MPI_ERR_COMM).
@inline(__always)
private func liveComm(_ h: Int32, _ rt: Runtime) -> Communicator? {
    guard let c = decodeComm(h, rt), !c.isFreed else { return nil }
    return c
}

/// The shape every communicator-creating call shares: decode, create, store the handle.
private func create(_ comm: Int32, _ newcomm: UnsafeMutablePointer<Int32>?, _ fn: StaticString,
                    _ body: (Runtime, Communicator) throws(MPIError) -> Communicator?) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let c = liveComm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, fn) }
    guard let newcomm else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    newcomm.pointee = Handle.commNull   // what a failed call leaves
    do {
        return fail(storeComm(try body(rt, c), newcomm, rt), rt, c, fn)
    } catch {
        return fail(error.code, rt, c, fn)
    }
}

@_cdecl("PMPI_Comm_compare")
public func PMPI_Comm_compare(_ comm1: Int32, _ comm2: Int32, _ result: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_compare") else { return notInitialized }
    guard let a = liveComm(comm1, rt), let b = liveComm(comm2, rt) else {
        return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_compare")
    }
    guard let result else { return fail(ErrorClass.arg.rawValue, rt, a, "MPI_Comm_compare") }
    result.pointee = rt.commCompare(a, b).rawValue
    return 0
}

/// Dup keeps the topology, the error handler, the info hints, and the attributes their copy
/// callbacks choose to copy.
@_cdecl("PMPI_Comm_dup")
public func PMPI_Comm_dup(_ comm: Int32, _ newcomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    create(comm, newcomm, "MPI_Comm_dup") { rt, c throws(MPIError) in
        let n = try rt.commDup(c)
        setHints(n, hints(of: c))
        return n
    }
}

@_cdecl("PMPI_Comm_dup_with_info")
public func PMPI_Comm_dup_with_info(_ comm: Int32, _ info: Int32, _ newcomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    create(comm, newcomm, "MPI_Comm_dup_with_info") { rt, c throws(MPIError) in
        guard let entries = infoEntries(info) else { throw MPIError(.info, "invalid info object") }
        let n = try rt.commDup(c)
        setHints(n, entries)
        return n
    }
}

@_cdecl("PMPI_Comm_split")
public func PMPI_Comm_split(_ comm: Int32, _ color: Int32, _ key: Int32, _ newcomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    create(comm, newcomm, "MPI_Comm_split") { rt, c throws(MPIError) in try rt.commSplit(c, color: color, key: key) }
}

/// Split types (MPICH values): MPI_COMM_TYPE_SHARED 1, MPI_COMM_TYPE_HW_GUIDED 2,
/// MPI_COMM_TYPE_HW_UNGUIDED 3, MPIX_COMM_TYPE_NEIGHBORHOOD 4.
private enum SplitType {
    static let shared: Int32 = 1, hardwareGuided: Int32 = 2, hardwareUnguided: Int32 = 3, neighborhood: Int32 = 4
}

/// Every rank of a Ferry job shares one node, so the shared-memory (and hardware-guided, and
/// MPICH's neighborhood) split is one communicator of everyone; an unguided split cannot find
/// a strictly smaller hardware level and returns MPI_COMM_NULL, as MPI-4 allows.
@_cdecl("PMPI_Comm_split_type")
public func PMPI_Comm_split_type(_ comm: Int32, _ splitType: Int32, _ key: Int32, _ info: Int32,
                                 _ newcomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    create(comm, newcomm, "MPI_Comm_split_type") { rt, c throws(MPIError) in
        let color: Int32
        switch splitType {
        case SplitType.shared, SplitType.hardwareGuided, SplitType.neighborhood: color = 0
        case SplitType.hardwareUnguided, MPIConstant.undefined: color = MPIConstant.undefined
        default: throw MPIError(.arg, "unknown split type \(splitType)")
        }
        if color == 0 && !c.isInter { return try rt.commSplitTypeShared(c, key: key) }
        return try rt.commSplit(c, color: color, key: key)
    }
}

@_cdecl("PMPI_Comm_create")
public func PMPI_Comm_create(_ comm: Int32, _ group: Int32, _ newcomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    create(comm, newcomm, "MPI_Comm_create") { rt, c throws(MPIError) in
        guard let g = decodeGroup(group) else { throw MPIError(.group, "invalid group") }
        return try rt.commCreate(c, group: g)
    }
}

@_cdecl("PMPI_Comm_create_group")
public func PMPI_Comm_create_group(_ comm: Int32, _ group: Int32, _ tag: Int32, _ newcomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    create(comm, newcomm, "MPI_Comm_create_group") { rt, c throws(MPIError) in
        guard let g = decodeGroup(group) else { throw MPIError(.group, "invalid group") }
        if c.isInter { throw MPIError(.comm, "MPI_Comm_create_group needs an intracommunicator") }
        guard tag >= 0 else { throw MPIError(.tag, "tag \(tag) is negative") }
        return try rt.commCreateGroup(c, group: g, tag: tag)
    }
}

/// Frees a user communicator: attribute delete callbacks run (with the handle still valid),
/// then the handle is forgotten and set to MPI_COMM_NULL. World and self: MPI_ERR_COMM.
@_cdecl("PMPI_Comm_free")
public func PMPI_Comm_free(_ comm: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_free") else { return notInitialized }
    guard let comm else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Comm_free") }
    let h = comm.pointee
    guard let c = liveComm(h, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_free") }
    // Like an invalid handle (and as MPICH does), reported on MPI_COMM_WORLD's handler.
    guard !c.isPredefined else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_free") }
    do {
        try rt.commFree(c)
    } catch {
        return fail(error.code, rt, c, "MPI_Comm_free")
    }
    setHints(c, [])
    ABI.comms.remove(h)
    comm.pointee = Handle.commNull
    return 0
}

@_cdecl("PMPI_Comm_test_inter")
public func PMPI_Comm_test_inter(_ comm: Int32, _ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_test_inter") else { return notInitialized }
    guard let c = liveComm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_test_inter") }
    guard let flag else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_test_inter") }
    flag.pointee = c.isInter ? 1 : 0
    return 0
}

@_cdecl("PMPI_Comm_remote_size")
public func PMPI_Comm_remote_size(_ comm: Int32, _ size: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_remote_size") else { return notInitialized }
    guard let c = liveComm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_remote_size") }
    guard let remote = c.remoteGroup else { return fail(ErrorClass.comm.rawValue, rt, c, "MPI_Comm_remote_size") }
    guard let size else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_remote_size") }
    size.pointee = Int32(remote.size)
    return 0
}

/// Names longer than MPI_MAX_OBJECT_NAME - 1 (127) characters are truncated.
@_cdecl("PMPI_Comm_set_name")
public func PMPI_Comm_set_name(_ comm: Int32, _ name: UnsafePointer<CChar>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_set_name") else { return notInitialized }
    guard let c = liveComm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_set_name") }
    guard let name else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_set_name") }
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self),
                                    count: min(strlen(name), MPIConstant.maxObjectName - 1))
    c.name = String(decoding: bytes, as: UTF8.self)
    return 0
}

@_cdecl("PMPI_Comm_get_name")
public func PMPI_Comm_get_name(_ comm: Int32, _ name: UnsafeMutablePointer<CChar>?, _ resultlen: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_get_name") else { return notInitialized }
    guard let c = liveComm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_get_name") }
    guard let name, let resultlen else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_get_name") }
    resultlen.pointee = copyString(c.name, name, max: MPIConstant.maxObjectName)
    return 0
}

/// Hints are kept and handed back; Ferry acts on none of them.
@_cdecl("PMPI_Comm_set_info")
public func PMPI_Comm_set_info(_ comm: Int32, _ info: Int32) -> Int32 {
    guard let rt = runtime("MPI_Comm_set_info") else { return notInitialized }
    guard let c = liveComm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_set_info") }
    guard let entries = infoEntries(info) else { return fail(ErrorClass.info.rawValue, rt, c, "MPI_Comm_set_info") }
    var merged = hints(of: c)
    for (k, v) in entries {
        if let i = merged.firstIndex(where: { $0.key == k }) { merged[i].value = v } else { merged.append((k, v)) }
    }
    setHints(c, merged)
    return 0
}

/// A new info object with the hints set on the communicator (the caller frees it).
@_cdecl("PMPI_Comm_get_info")
public func PMPI_Comm_get_info(_ comm: Int32, _ info: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_get_info") else { return notInitialized }
    guard let c = liveComm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_get_info") }
    guard let info else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_get_info") }
    let h = encodeInfo(hints(of: c))
    guard h != Handle.infoNull else { return fail(ErrorClass.noMem.rawValue, rt, c, "MPI_Comm_get_info") }
    info.pointee = h
    return 0
}

/// `peer_comm` and `remote_leader` matter only at the local leader (elsewhere the peer may be
/// MPI_COMM_NULL).
@_cdecl("PMPI_Intercomm_create")
public func PMPI_Intercomm_create(_ localComm: Int32, _ localLeader: Int32, _ peerComm: Int32, _ remoteLeader: Int32,
                                  _ tag: Int32, _ newintercomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    create(localComm, newintercomm, "MPI_Intercomm_create") { rt, c throws(MPIError) in
        guard tag >= 0 && tag <= MPIConstant.tagUpperBound else { throw MPIError(.tag, "tag \(tag) is invalid") }
        let peer = liveComm(peerComm, rt)
        if c.rank == localLeader && peer == nil { throw MPIError(.comm, "the local leader needs a valid peer communicator") }
        return try rt.intercommCreate(local: c, localLeader: localLeader, peer: peer, remoteLeader: remoteLeader, tag: tag)
    }
}

@_cdecl("PMPI_Intercomm_merge")
public func PMPI_Intercomm_merge(_ intercomm: Int32, _ high: Int32, _ newintracomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    create(intercomm, newintracomm, "MPI_Intercomm_merge") { rt, c throws(MPIError) in
        try rt.intercommMerge(c, high: high != 0)
    }
}
