// Group entry points (MPI-3.1 §6.3): handles of the runtime's immutable `Group` objects.
// MPI_GROUP_EMPTY is the predefined empty group; every operation whose result is empty
// returns it (as MPICH does), so freeing such a result must accept it.
import FerryCore
import FerryRuntime

/// The group of a handle: MPI_GROUP_EMPTY or a registered group (nil otherwise).
@inline(__always)
func decodeGroup(_ h: Int32) -> Group? {
    if h == Handle.groupEmpty { return Group.empty }
    return ABI.groups.lookup(h)
}

/// A new handle for `g` (MPI_GROUP_EMPTY when it is empty), or nil when the table is full.
func encodeGroup(_ g: Group) -> Int32? {
    if g.size == 0 { return Handle.groupEmpty }
    return ABI.groups.insert(g)
}

/// Stores a new group handle, or reports MPI_ERR_INTERN when the table is full.
private func output(_ g: Group, _ out: UnsafeMutablePointer<Int32>?, _ rt: Runtime, _ fn: StaticString) -> Int32 {
    guard let out else { return fail(ErrorClass.arg.rawValue, rt, nil, fn) }
    guard let h = encodeGroup(g) else { return fail(ErrorClass.intern.rawValue, rt, nil, fn) }
    out.pointee = h
    return 0
}

@_cdecl("PMPI_Group_size")
public func PMPI_Group_size(_ group: Int32, _ size: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Group_size") else { return notInitialized }
    guard let g = decodeGroup(group) else { return fail(ErrorClass.group.rawValue, rt, nil, "MPI_Group_size") }
    guard let size else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Group_size") }
    size.pointee = Int32(g.size)
    return 0
}

@_cdecl("PMPI_Group_rank")
public func PMPI_Group_rank(_ group: Int32, _ rank: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Group_rank") else { return notInitialized }
    guard let g = decodeGroup(group) else { return fail(ErrorClass.group.rawValue, rt, nil, "MPI_Group_rank") }
    guard let rank else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Group_rank") }
    rank.pointee = g.rank
    return 0
}

@_cdecl("PMPI_Group_translate_ranks")
public func PMPI_Group_translate_ranks(_ group1: Int32, _ n: Int32, _ ranks1: UnsafePointer<Int32>?, _ group2: Int32,
                                      _ ranks2: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Group_translate_ranks") else { return notInitialized }
    guard let a = decodeGroup(group1), let b = decodeGroup(group2) else {
        return fail(ErrorClass.group.rawValue, rt, nil, "MPI_Group_translate_ranks")
    }
    guard n >= 0 else { return fail(ErrorClass.count.rawValue, rt, nil, "MPI_Group_translate_ranks") }
    if n == 0 { return 0 }
    guard let ranks1, let ranks2 else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Group_translate_ranks") }
    do {
        let out = try a.translate(Array(UnsafeBufferPointer(start: ranks1, count: Int(n))), to: b)
        for i in 0..<Int(n) { ranks2[i] = out[i] }
    } catch {
        return fail(error.code, rt, nil, "MPI_Group_translate_ranks")
    }
    return 0
}

@_cdecl("PMPI_Group_compare")
public func PMPI_Group_compare(_ group1: Int32, _ group2: Int32, _ result: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Group_compare") else { return notInitialized }
    guard let a = decodeGroup(group1), let b = decodeGroup(group2) else {
        return fail(ErrorClass.group.rawValue, rt, nil, "MPI_Group_compare")
    }
    guard let result else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Group_compare") }
    result.pointee = a.compare(b).rawValue
    return 0
}

/// The three set operations share their checks.
private func setOperation(_ group1: Int32, _ group2: Int32, _ out: UnsafeMutablePointer<Int32>?, _ fn: StaticString,
                          _ op: (Group, Group) -> Group) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let a = decodeGroup(group1), let b = decodeGroup(group2) else { return fail(ErrorClass.group.rawValue, rt, nil, fn) }
    return output(op(a, b), out, rt, fn)
}

@_cdecl("PMPI_Group_union")
public func PMPI_Group_union(_ group1: Int32, _ group2: Int32, _ newgroup: UnsafeMutablePointer<Int32>?) -> Int32 {
    setOperation(group1, group2, newgroup, "MPI_Group_union") { $0.union($1) }
}

@_cdecl("PMPI_Group_intersection")
public func PMPI_Group_intersection(_ group1: Int32, _ group2: Int32, _ newgroup: UnsafeMutablePointer<Int32>?) -> Int32 {
    setOperation(group1, group2, newgroup, "MPI_Group_intersection") { $0.intersection($1) }
}

@_cdecl("PMPI_Group_difference")
public func PMPI_Group_difference(_ group1: Int32, _ group2: Int32, _ newgroup: UnsafeMutablePointer<Int32>?) -> Int32 {
    setOperation(group1, group2, newgroup, "MPI_Group_difference") { $0.difference($1) }
}

/// Incl/excl and their range forms share their checks.
private func subset(_ group: Int32, _ n: Int32, _ out: UnsafeMutablePointer<Int32>?, _ fn: StaticString,
                    _ op: (Group) throws(MPIError) -> Group) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let g = decodeGroup(group) else { return fail(ErrorClass.group.rawValue, rt, nil, fn) }
    guard n >= 0 else { return fail(ErrorClass.arg.rawValue, rt, nil, fn) }
    do {
        return output(try op(g), out, rt, fn)
    } catch {
        return fail(error.code, rt, nil, fn)
    }
}

private func rankList(_ p: UnsafePointer<Int32>?, _ n: Int32) -> [Int32] {
    guard let p, n > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: p, count: Int(n)))
}

private func rangeList(_ p: UnsafeMutableRawPointer?, _ n: Int32) -> [(Int32, Int32, Int32)] {
    guard let p, n > 0 else { return [] }
    let r = p.assumingMemoryBound(to: Int32.self)
    return (0..<Int(n)).map { (r[3 * $0], r[3 * $0 + 1], r[3 * $0 + 2]) }
}

@_cdecl("PMPI_Group_incl")
public func PMPI_Group_incl(_ group: Int32, _ n: Int32, _ ranks: UnsafePointer<Int32>?,
                            _ newgroup: UnsafeMutablePointer<Int32>?) -> Int32 {
    subset(group, n, newgroup, "MPI_Group_incl") { g throws(MPIError) in try g.including(rankList(ranks, n)) }
}

@_cdecl("PMPI_Group_excl")
public func PMPI_Group_excl(_ group: Int32, _ n: Int32, _ ranks: UnsafePointer<Int32>?,
                            _ newgroup: UnsafeMutablePointer<Int32>?) -> Int32 {
    subset(group, n, newgroup, "MPI_Group_excl") { g throws(MPIError) in try g.excluding(rankList(ranks, n)) }
}

/// `int ranges[][3]` arrives as a pointer to the first triplet.
@_cdecl("PMPI_Group_range_incl")
public func PMPI_Group_range_incl(_ group: Int32, _ n: Int32, _ ranges: UnsafeMutableRawPointer?,
                                  _ newgroup: UnsafeMutablePointer<Int32>?) -> Int32 {
    subset(group, n, newgroup, "MPI_Group_range_incl") { g throws(MPIError) in try g.includingRanges(rangeList(ranges, n)) }
}

@_cdecl("PMPI_Group_range_excl")
public func PMPI_Group_range_excl(_ group: Int32, _ n: Int32, _ ranges: UnsafeMutableRawPointer?,
                                  _ newgroup: UnsafeMutablePointer<Int32>?) -> Int32 {
    subset(group, n, newgroup, "MPI_Group_range_excl") { g throws(MPIError) in try g.excludingRanges(rangeList(ranges, n)) }
}

/// Frees a group handle; MPI_GROUP_EMPTY may be "freed" (it is what empty results return).
@_cdecl("PMPI_Group_free")
public func PMPI_Group_free(_ group: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Group_free") else { return notInitialized }
    guard let group else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Group_free") }
    let h = group.pointee
    if h != Handle.groupEmpty {
        guard ABI.groups.lookup(h) != nil else { return fail(ErrorClass.group.rawValue, rt, nil, "MPI_Group_free") }
        ABI.groups.remove(h)
    }
    group.pointee = Handle.groupNull
    return 0
}

@_cdecl("PMPI_Comm_group")
public func PMPI_Comm_group(_ comm: Int32, _ group: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_group") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_group") }
    guard let group else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_group") }
    guard let h = encodeGroup(c.group) else { return fail(ErrorClass.intern.rawValue, rt, c, "MPI_Comm_group") }
    group.pointee = h
    return 0
}

@_cdecl("PMPI_Comm_remote_group")
public func PMPI_Comm_remote_group(_ comm: Int32, _ group: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_remote_group") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_remote_group") }
    guard let remote = c.remoteGroup else { return fail(ErrorClass.comm.rawValue, rt, c, "MPI_Comm_remote_group") }
    guard let group else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_remote_group") }
    guard let h = encodeGroup(remote) else { return fail(ErrorClass.intern.rawValue, rt, c, "MPI_Comm_remote_group") }
    group.pointee = h
    return 0
}
