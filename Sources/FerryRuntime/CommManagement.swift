// Communicator creation and destruction (MPI-3.1 §6.4–6.6): context ids agreed with a
// bitwise-AND allreduce of each member's free-id mask (as MPICH does), dup, split, split_type,
// create, create_group (split and create on intercommunicators too), intercommunicator create
// and merge, free, compare.
import FerryCore
import FerryShm
import FerrySys
import FerryDatatype
import FerryReduce
import FerryCollectives

extension Runtime {
    static let maskWords = 64

    /// Agrees on a context id free in every member of `comm` (and, for intercommunicators,
    /// of the remote group through the leaders). Every member calls it; members passing
    /// `take: false` help but do not mark the id used. The reservation protocol of
    /// `agreeContextIDInBackground` makes concurrent agreements (several threads, or
    /// MPI_Comm_idup in the background) safe.
    func agreeContextID(_ comm: Communicator, take: Bool = true) throws(MPIError) -> UInt32 {
        try agreeContextIDInBackground(comm, take: take)
    }

    /// Returns a context id to the free mask. Takes the lock: context agreements of other
    /// threads (MPI_THREAD_MULTIPLE, idup workers) read and change the mask under it (a race
    /// ThreadSanitizer found with comm/intercomm_threads). Callers must not hold it.
    func releaseContextID(_ id: UInt32) {
        lock(); defer { unlock() }
        contextMask[Int(id) / 64] |= UInt64(1) << UInt64(id % 64)
    }

    private func checkComm(_ c: Communicator?) throws(MPIError) -> Communicator {
        guard let c, !c.isFreed else { throw MPIError(.comm, "invalid or freed communicator") }
        return c
    }

    /// `MPI_Comm_dup`: same groups, new context, attributes copied by their callbacks.
    public func commDup(_ c: Communicator) throws(MPIError) -> Communicator {
        _ = try checkComm(c)
        let id = try agreeContextID(c)
        let n = Communicator(contextID: id, group: c.group, remoteGroup: c.remoteGroup)
        n.errorHandler = c.errorHandler
        n.topology = c.topology
        if c.isInter { n.localComm = try commDup(c.localComm!) }
        try copyAttributes(from: c, to: n)
        return n
    }

    /// `MPI_Comm_split`. Nil for `MPI_UNDEFINED` colors.
    public func commSplit(_ c: Communicator, color: Int32, key: Int32) throws(MPIError) -> Communicator? {
        _ = try checkComm(c)
        if color < 0 && color != MPIConstant.undefined { throw MPIError(.arg, "color \(color) is negative") }
        if c.isInter { return try interSplit(c, color: color, key: key) }
        let n = c.size
        var mine: [Int32] = [color, key]
        var all = [Int32](repeating: 0, count: 2 * n)
        let rc = mine.withUnsafeMutableBytes { s in all.withUnsafeMutableBytes { r in
            Collectives.allgather(CommTransport(self, c), send: UnsafeRawPointer(s.baseAddress!), recv: r.baseAddress!, blockBytes: 8)
        } }
        if rc != 0 { throw MPIError(code: rc, "MPI_Comm_split") }
        mine = []
        let id = try agreeContextID(c, take: color != MPIConstant.undefined)
        if color == MPIConstant.undefined { return nil }
        var members: [(key: Int32, rank: Int)] = []
        for r in 0..<n where all[2 * r] == color { members.append((all[2 * r + 1], r)) }
        members.sort { $0.key != $1.key ? $0.key < $1.key : $0.rank < $1.rank }
        let g = Group(worldRanks: members.map { c.group.worldRanks[$0.rank] }, myWorldRank: worldRank)
        let nc = Communicator(contextID: id, group: g)
        nc.errorHandler = c.errorHandler
        return nc
    }

    /// `MPI_Comm_split_type` with `MPI_COMM_TYPE_SHARED`: the members on this process's node
    /// (as the launcher placed them, Nodes.swift). Processes of other jobs linked to this one
    /// share its node (they are reached through shared memory) and give node 0's color, as
    /// one-node jobs do.
    public func commSplitTypeShared(_ c: Communicator, key: Int32) throws(MPIError) -> Communicator {
        try commSplit(c, color: Int32(nodes.myNode), key: key)!
    }

    /// `MPI_Comm_create`: every member of `c` calls it; members of `group` get the new communicator.
    public func commCreate(_ c: Communicator, group: Group) throws(MPIError) -> Communicator? {
        _ = try checkComm(c)
        if c.isInter { return try interCreate(c, group: group) }
        for w in group.worldRanks where c.group.rank(ofWorld: w) == nil {
            throw MPIError(.group, "the group holds process \(w), which is not in the communicator")
        }
        let inGroup = group.rank != MPIConstant.undefined
        let id = try agreeContextID(c, take: inGroup)
        guard inGroup else { return nil }
        let nc = Communicator(contextID: id, group: group)
        nc.errorHandler = c.errorHandler
        return nc
    }

    /// `MPI_Comm_split` on an intercommunicator (MPI-3.1 §6.4.2): the members of each color on
    /// one side and those of the same color on the other form a new intercommunicator, ordered
    /// by key (then by old rank) on each side. A color found on one side only, and
    /// MPI_UNDEFINED, give nil. Every side learns the other's (color, key) table through the
    /// leaders; the new local groups are splits of `localComm`; one context id agreed over
    /// the whole intercommunicator serves every color (their members are disjoint).
    private func interSplit(_ c: Communicator, color: Int32, key: Int32) throws(MPIError) -> Communicator? {
        let local = c.localComm!, remote = c.remoteGroup!
        var mine: [Int32] = [color, key]
        var table = [Int32](repeating: 0, count: 2 * local.size)
        var theirs = [Int32](repeating: 0, count: 2 * remote.size)
        var rc = mine.withUnsafeMutableBytes { s in table.withUnsafeMutableBytes { r in
            Collectives.allgather(CommTransport(self, local), send: UnsafeRawPointer(s.baseAddress!), recv: r.baseAddress!, blockBytes: 8)
        } }
        if rc == 0 && local.rank == 0 {
            rc = table.withUnsafeBytes { s in theirs.withUnsafeMutableBytes { r in
                CommTransport(self, c).sendRecv(s, to: 0, r, from: 0, tag: InterTag.splitTable) } }
        }
        if rc == 0 {
            rc = theirs.withUnsafeMutableBytes { r in
                Collectives.bcast(CommTransport(self, local), buffer: r.baseAddress!, bytes: r.count, root: 0) }
        }
        if rc != 0 { throw MPIError(code: rc, "MPI_Comm_split") }
        mine = []
        var peers: [(key: Int32, rank: Int)] = []
        if color != MPIConstant.undefined {
            for r in 0..<remote.size where theirs[2 * r] == color { peers.append((theirs[2 * r + 1], r)) }
        }
        peers.sort { $0.key != $1.key ? $0.key < $1.key : $0.rank < $1.rank }
        // Every member of this side sees the same table, so they agree on which colors survive.
        let newLocal = try commSplit(local, color: peers.isEmpty ? MPIConstant.undefined : color, key: key)
        let id = try agreeContextID(c, take: newLocal != nil)
        guard let newLocal else { return nil }
        let nc = Communicator(contextID: id, group: newLocal.group,
                              remoteGroup: Group(worldRanks: peers.map { remote.worldRanks[$0.rank] }, myWorldRank: worldRank))
        nc.localComm = newLocal
        nc.errorHandler = c.errorHandler
        return nc
    }

    /// `MPI_Comm_create` on an intercommunicator (MPI-3.1 §6.4.2): each side passes a group of
    /// its own members (the same at every member of that side); the new intercommunicator
    /// joins the two groups. Nil outside the group, and everywhere if either group is empty.
    private func interCreate(_ c: Communicator, group: Group) throws(MPIError) -> Communicator? {
        for w in group.worldRanks where c.group.rank(ofWorld: w) == nil {
            throw MPIError(.group, "the group holds process \(w), which is not in the local group of the intercommunicator")
        }
        let local = c.localComm!
        // The leaders swap the members of the two groups (as process identities: peer numbers
        // are private to each process once other jobs are connected).
        var mine = local.rank == 0 ? encodeIdentities(group.worldRanks) : []
        if local.rank == 0 {
            mine = try exchangeBytes(mine, with: 0, tag: InterTag.createGroupRanks, comm: c, context: c.collectiveContext)
        }
        let theirs = try decodeIdentities(try bcastBytes(mine, root: 0, comm: local))
        let sizes = [group.size, theirs.count]
        // Both groups non-empty, or no communicator anywhere (every member of this side knows
        // both sizes, so all pass the same group to the local create).
        let bothSides = sizes[0] > 0 && sizes[1] > 0
        let newLocal = try commCreate(local, group: bothSides ? group : Group.empty)
        let id = try agreeContextID(c, take: newLocal != nil)
        guard let newLocal else { return nil }
        let nc = Communicator(contextID: id, group: newLocal.group,
                              remoteGroup: Group(worldRanks: theirs, myWorldRank: worldRank))
        nc.localComm = newLocal
        nc.errorHandler = c.errorHandler
        return nc
    }

    /// `MPI_Comm_create_group`: only the members of `group` call it.
    public func commCreateGroup(_ c: Communicator, group: Group, tag: Int32) throws(MPIError) -> Communicator? {
        _ = try checkComm(c)
        guard group.rank != MPIConstant.undefined else { return nil }
        for w in group.worldRanks where c.group.rank(ofWorld: w) == nil {
            throw MPIError(.group, "the group holds process \(w), which is not in the communicator")
        }
        // A temporary communicator carries the agreement, on a context of its own: successive
        // calls on one parent may use different groups, in which a rank names another process,
        // so a message of the next call could otherwise match a receive of this one.
        let tmp = Communicator(contextID: c.contextID, group: group,
                               collectiveContext: createGroupContext(parent: c, tag: tag, group: group))
        let id = try agreeContextID(tmp)
        let nc = Communicator(contextID: id, group: group)
        nc.errorHandler = c.errorHandler
        return nc
    }

    /// FNV-1a of a group's members in order, as process identities (the same in every process).
    private func identityHash(_ g: Group) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for w in g.worldRanks {
            for b in identity(ofPeer: w).utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            h = (h ^ 0x2f) &* 0x0000_0100_0000_01b3
        }
        return h
    }

    /// A context of its own for one agreement among processes that have no communicator yet:
    /// a mix of `h` and `salt` with the top bit set, which no communicator's own contexts
    /// (below 4 * 4096) have.
    private func hashedContext(_ h: UInt64, salt: UInt64) -> UInt32 {
        var x = h ^ salt &* 0x9e37_79b9_7f4a_7c15
        x ^= x >> 29
        return 0x8000_0000 | UInt32(truncatingIfNeeded: x ^ (x >> 32)) & 0x7fff_ffff
    }

    /// The context of one MPI_Comm_create_group call: the parent's context, the tag and the
    /// group's members in order.
    func createGroupContext(parent: Communicator, tag: Int32, group: Group) -> UInt32 {
        hashedContext(identityHash(group), salt: UInt64(UInt32(bitPattern: tag)) << 32 | UInt64(parent.contextID))
    }

    /// `MPI_Comm_free`: deletes attributes, releases the context id.
    public func commFree(_ c: Communicator) throws(MPIError) {
        _ = try checkComm(c)
        if c.isPredefined { throw MPIError(.comm, "predefined communicators cannot be freed") }
        try deleteAllAttributes(c)
        c._isFreed = true
        releaseContextID(c.contextID)
        releaseHierarchy(c)
        if let q = c.background { releaseHierarchy(q.shadow) }
        if let l = c.localComm { try commFree(l) }
    }

    /// `MPI_Comm_compare`.
    public func commCompare(_ a: Communicator, _ b: Communicator) -> Comparison {
        if a === b { return .identical }
        if a.isInter != b.isInter { return .unequal }
        let g = a.group.compare(b.group)
        let r = a.isInter ? a.remoteGroup!.compare(b.remoteGroup!) : .identical
        if g == .identical && r == .identical { return .congruent }
        if g != .unequal && r != .unequal { return .similar }
        return .unequal
    }

    /// `MPI_Intercomm_create`.
    public func intercommCreate(local: Communicator, localLeader: Int32, peer: Communicator?, remoteLeader: Int32,
                                tag: Int32) throws(MPIError) -> Communicator {
        _ = try checkComm(local)
        if local.isInter { throw MPIError(.comm, "the local communicator must be an intracommunicator") }
        guard localLeader >= 0 && Int(localLeader) < local.size else { throw MPIError(.rank, "local leader \(localLeader)") }
        let isLeader = local.rank == localLeader
        var theirs: [UInt8] = []
        var leaderPeer: Communicator?
        if isLeader {
            let peer = try checkComm(peer)
            leaderPeer = peer
            guard remoteLeader >= 0 && Int(remoteLeader) < peer.peerCount else { throw MPIError(.rank, "remote leader \(remoteLeader)") }
            // Members travel as process identities (peer numbers are private to each process)
            // with their pids, for rings to processes not reached yet.
            let mine = Array(handshakeMembers(local).map { "\($0.identity) \($0.pid)" }.joined(separator: "\n").utf8)
            theirs = try exchangeBytes(mine, with: remoteLeader, tag: tag, comm: peer, context: peer.pointToPointContext)
            // The peer communicator's context goes along: both leaders share it, the other
            // members learn it here, and it tells apart creations over different peers.
            theirs = Array("\(peer.contextID)\n".utf8) + theirs
        }
        let record = String(decoding: try bcastBytes(theirs, root: localLeader, comm: local), as: UTF8.self)
        var lines = record.split(separator: "\n").map(String.init)
        guard let first = lines.first, let peerContext = UInt32(first), lines.count > 1 else {
            throw MPIError(.intern, "malformed intercommunicator record")
        }
        lines.removeFirst()
        let members: [(String, Int32)] = lines.map { line in
            let f = line.split(separator: " ")
            return (String(f[0]), Int32(f.count > 1 ? f[1] : "0") ?? 0)
        }
        let remoteRanks = try linkIfNeeded(members, local: local, localLeader: localLeader, leaderPeer: leaderPeer,
                                           remoteLeader: remoteLeader, tag: tag)
        let remote = Group(worldRanks: remoteRanks, myWorldRank: worldRank)
        // The new intercommunicator's local side is a duplicate of `local`, so that its own
        // collectives never meet the user's traffic on `local`.
        let localDup = try commDup(local)
        // The context id is agreed like any other (free ids reserved while other threads of
        // this process agree on theirs: MPICH's threads/comm/idup_comm_gen runs intercomm
        // creations in four threads at once), over a scratch intercommunicator whose context
        // both sides derive from what they both know: the tag and the two groups.
        let shared = intercommCreateContext(local: local.group, remote: remote, tag: tag, peerContext: peerContext)
        let scratch = Communicator(contextID: shared, group: local.group, remoteGroup: remote, collectiveContext: shared)
        scratch.localComm = localDup
        let id = try agreeContextID(scratch)
        let nc = Communicator(contextID: id, group: local.group, remoteGroup: remote)
        nc.localComm = localDup
        nc.errorHandler = local.errorHandler
        return nc
    }

    /// The peer numbers of the remote members of a new intercommunicator, after giving rings
    /// to the pairs of processes that have none yet: in MPI_Intercomm_create over a
    /// spawn intercommunicator, only the spawning root knew the children (MPICH's
    /// spawn/spaiccreate). Both sides agree whether any pair is missing; then the side whose
    /// first member sorts first makes a link segment (rings for every pair across the two
    /// sides, as MPI_Comm_accept does), its leader passes the name to the other leader, and
    /// every member of both sides maps it.
    private func linkIfNeeded(_ members: [(String, Int32)], local: Communicator, localLeader: Int32,
                              leaderPeer: Communicator?, remoteLeader: Int32, tag: Int32) throws(MPIError) -> [Int32] {
        lock()
        var missing: Int32 = members.contains { peer(ofIdentity: $0.0) == nil } ? 1 : 0
        unlock()
        let lt = CommTransport(self, local)
        var rc = withUnsafeMutableBytes(of: &missing) { m in
            Collectives.allreduce(lt, send: nil, recv: m.baseAddress!, count: 1, .predefined(.max, .int32))
        }
        if rc != 0 { throw MPIError(code: rc, "MPI_Intercomm_create") }
        if let peer = leaderPeer {
            let theirs = try exchangeBytes([UInt8(missing)], with: remoteLeader, tag: tag, comm: peer, context: peer.pointToPointContext)
            if theirs.first == 1 { missing = 1 }
        }
        rc = withUnsafeMutableBytes(of: &missing) { m in Collectives.bcast(lt, buffer: m.baseAddress!, bytes: 4, root: Int(localLeader)) }
        if rc != 0 { throw MPIError(code: rc, "MPI_Intercomm_create") }
        guard missing != 0 else {
            lock(); defer { unlock() }
            return members.map { peer(ofIdentity: $0.0)! }
        }
        let accepting = identity(ofPeer: local.group.worldRanks[0]) < members[0].0
        let a = accepting ? local.size : members.count, c = accepting ? members.count : local.size
        var name: [UInt8] = []
        var created: LinkMapping?
        if let peer = leaderPeer {
            var failure: MPIError?
            if accepting {
                let segment = "/ferry-\(jobID)-link-\(randomHex(16))"
                do throws(MPIError) { created = try LinkMapping(name: segment, acceptors: a, connectors: c, layout: linkLayout, create: true) }
                catch { failure = error }
                // An empty name tells the other side that the segment could not be made.
                name = failure == nil ? Array(segment.utf8) : []
            }
            let theirs = try exchangeBytes(name, with: remoteLeader, tag: tag, comm: peer, context: peer.pointToPointContext)
            if !accepting { name = theirs }
            if let failure { name = Array("error \(failure.detail)".utf8) }
        }
        name = try bcastBytes(name, root: localLeader, comm: local)
        let segment = String(decoding: name, as: UTF8.self)
        guard segment.hasPrefix("/ferry-") else {
            created?.discard()
            throw MPIError(.noMem, "MPI_Intercomm_create: no rings could be made between the two groups: \(segment.isEmpty ? "the other side failed" : segment)")
        }
        return try attach(segment: segment, created: created, acceptors: a, connectors: c, accepting: accepting,
                          myIndex: Int(local.rank), remote: members)
    }

    /// The context of the scratch intercommunicator of one MPI_Intercomm_create: the same on
    /// both sides (a symmetric hash of the peer communicator's context, the tag and the two
    /// groups' member identities), with the top bit set as for `createGroupContext`.
    private func intercommCreateContext(local: Group, remote: Group, tag: Int32, peerContext: UInt32) -> UInt32 {
        let a = identityHash(local), b = identityHash(remote)
        return hashedContext(min(a, b) &* 31 &+ max(a, b), salt: UInt64(UInt32(bitPattern: tag)) << 32 | UInt64(peerContext))
    }

    /// `MPI_Intercomm_merge`: the side that passes `high == false` comes first.
    public func intercommMerge(_ c: Communicator, high: Bool) throws(MPIError) -> Communicator {
        _ = try checkComm(c)
        guard c.isInter, let local = c.localComm else { throw MPIError(.comm, "MPI_Intercomm_merge needs an intercommunicator") }
        var flags: [Int32] = [high ? 1 : 0, 0]
        if local.rank == 0 {
            let xt = CommTransport(self, c)
            var theirs: Int32 = 0
            let rc = withUnsafeBytes(of: flags[0]) { a in withUnsafeMutableBytes(of: &theirs) { b in
                xt.sendRecv(a, to: 0, b, from: 0, tag: 31) } }
            if rc != 0 { throw MPIError(code: rc, "MPI_Intercomm_merge") }
            flags[1] = theirs
        }
        let rc = flags.withUnsafeMutableBytes { m in Collectives.bcast(CommTransport(self, local), buffer: m.baseAddress!, bytes: 8, root: 0) }
        if rc != 0 { throw MPIError(code: rc, "MPI_Intercomm_merge") }
        let meHigh = flags[0] != 0, themHigh = flags[1] != 0
        let meFirst: Bool
        if meHigh != themHigh {
            meFirst = !meHigh
        } else {
            // Every process of both sides must order the same way: compare identities, which
            // are the same everywhere (peer numbers are not, across jobs).
            meFirst = identityOrder(local.group.worldRanks[0], before: c.remoteGroup!.worldRanks[0])
        }
        let ranks = meFirst ? local.group.worldRanks + c.remoteGroup!.worldRanks : c.remoteGroup!.worldRanks + local.group.worldRanks
        let g = Group(worldRanks: ranks, myWorldRank: worldRank)
        // The agreement runs on a context of its own for each order of the merged group:
        // successive merges of one intercommunicator may order the sides differently (high
        // flags), so that a rank number names another process, and a fast process's message of
        // the next merge could otherwise match a receive of this one (MPI_ERR_TRUNCATE, seen in
        // MPICH's comm/icm at 8 ranks about once in 6 runs).
        let tmp = Communicator(contextID: c.contextID, group: g,
                               collectiveContext: createGroupContext(parent: c, tag: Int32.min, group: g))
        let id = try agreeContextID(tmp)
        let nc = Communicator(contextID: id, group: g)
        nc.errorHandler = c.errorHandler
        return nc
    }
}
