// Communicator management: duplicate, split, create from a group, free, compare, and
// intercommunicators (create, merge). All are collective over the communicator.
import FerryCore
import FerryRuntime

extension Communicator {
    /// `MPI_Comm_dup`: a new communicator with the same group and its own context; attributes
    /// are copied as their keyvals decide.
    public func dup() throws(MPIError) -> Communicator {
        let rt = try runtime()
        return Communicator(try rt.checked(raw, "MPI_Comm_dup") { () throws(MPIError) in try rt.commDup(raw) })
    }

    /// `MPI_Comm_split`: ranks with the same `color` form a new communicator, ordered by
    /// `key` then by old rank. A nil color (`MPI_UNDEFINED`) joins none and returns nil.
    public func split(color: Int?, key: Int = 0) throws(MPIError) -> Communicator? {
        let rt = try runtime()
        let c = color.map { Int32(clamping: $0) } ?? MPIConstant.undefined
        let k = Int32(clamping: key)
        return try rt.checked(raw, "MPI_Comm_split") { () throws(MPIError) in try rt.commSplit(raw, color: c, key: k) }
            .map(Communicator.init)
    }

    /// `MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`: the ranks that share memory with this one.
    public func splitShared(key: Int = 0) throws(MPIError) -> Communicator {
        let rt = try runtime()
        let k = Int32(clamping: key)
        return Communicator(try rt.checked(raw, "MPI_Comm_split_type") { () throws(MPIError) in
            try rt.commSplitTypeShared(raw, key: k)
        })
    }

    /// `MPI_Comm_create`: a communicator over `group` (a subgroup of this one); nil on ranks
    /// outside it. Collective over this communicator.
    public func create(group: Group) throws(MPIError) -> Communicator? {
        let rt = try runtime()
        return try rt.checked(raw, "MPI_Comm_create") { () throws(MPIError) in try rt.commCreate(raw, group: group) }
            .map(Communicator.init)
    }

    /// `MPI_Comm_create_group`: like `create(group:)` but collective over `group` only.
    public func create(group: Group, tag: Int) throws(MPIError) -> Communicator? {
        let rt = try runtime()
        let t = Int32(clamping: tag)
        return try rt.checked(raw, "MPI_Comm_create_group") { () throws(MPIError) in
            try rt.commCreateGroup(raw, group: group, tag: t)
        }.map(Communicator.init)
    }

    /// `MPI_Comm_free`: deletes the attributes and releases the context. The communicator must
    /// not be used afterwards. `world` and `selfProcess` cannot be freed.
    public func free() throws(MPIError) {
        let rt = try runtime()
        try rt.checked(raw, "MPI_Comm_free") { () throws(MPIError) in try rt.commFree(raw) }
    }

    /// `MPI_Comm_compare`: `.identical` (same object), `.congruent` (same members in the same
    /// order), `.similar` (same members) or `.unequal`.
    public func compare(_ other: Communicator) -> Comparison {
        guard let rt = Runtime.shared else { return raw === other.raw ? .identical : .unequal }
        return rt.commCompare(raw, other.raw)
    }

    /// `MPI_Intercomm_create`: joins this intracommunicator (the local group) with another
    /// group, whose leader is `remoteLeader` in `peer` (only used at `localLeader`).
    public func intercommCreate(localLeader: Int, peer: Communicator?, remoteLeader: Int, tag: Int) throws(MPIError) -> Communicator {
        let rt = try runtime()
        let ll = Int32(clamping: localLeader), rl = Int32(clamping: remoteLeader), t = Int32(clamping: tag)
        return Communicator(try rt.checked(raw, "MPI_Intercomm_create") { () throws(MPIError) in
            try rt.intercommCreate(local: raw, localLeader: ll, peer: peer?.raw, remoteLeader: rl, tag: t)
        })
    }

    /// `MPI_Intercomm_merge`: an intracommunicator over both groups of this intercommunicator;
    /// the group passing `high: true` is ordered after the other.
    public func merge(high: Bool) throws(MPIError) -> Communicator {
        let rt = try runtime()
        return Communicator(try rt.checked(raw, "MPI_Intercomm_merge") { () throws(MPIError) in
            try rt.intercommMerge(raw, high: high)
        })
    }
}
