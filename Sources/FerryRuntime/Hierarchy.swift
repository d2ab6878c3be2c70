// Node-aware collectives for communicators whose members are on several nodes: the members of
// each node work together first (through shared memory), one member per node (its leader)
// carries the node's part between nodes, and the nodes' members learn the result from their
// leader. Between leaders the algorithms of FerryCollectives run, chosen by size and leader
// count (recursive doubling or binomial trees for small data, Rabenseifner or
// scatter-allgather for large). Used by barrier, bcast, reduce and allreduce (Collectives.swift);
// the other collectives take the flat algorithms, which are correct on any placement.
//
// A communicator's hierarchy is built at its first collective that needs it (every member
// calls it), with one context id agreed by all members: its node communicator collects on
// `id * 4 + 1`, its leader communicator on `id * 4 + 2`, and the leader forwards a reduction's
// result to a root that is not a leader on `id * 4` (point-to-point). The id is released when
// the communicator is freed.
import FerryCore
import FerryDatatype
import FerryCollectives

/// The members of one communicator grouped by node.
final class NodeHierarchy {
    /// The communicator's members on this process's node (rank 0: the node's leader).
    let local: Communicator
    /// The leaders of all nodes, in node order (node i's leader is rank i); nil on other members.
    let leaders: Communicator?
    /// The node (0..<nodeCount, in order of first member) of each rank of the communicator.
    let nodeOfMember: [Int32]
    /// The communicator rank of each node's leader (its first member).
    let leaderOfNode: [Int32]
    /// This process's node index in `nodeOfMember`'s numbering.
    let myNode: Int
    /// Whether the members of each node are consecutive ranks, nodes in rank order: combining
    /// node by node then keeps rank order (so non-commutative operations may use the hierarchy).
    let blockOrdered: Bool
    let contextID: UInt32

    init(local: Communicator, leaders: Communicator?, nodeOfMember: [Int32], leaderOfNode: [Int32], myNode: Int,
         contextID: UInt32) {
        self.local = local
        self.leaders = leaders
        self.nodeOfMember = nodeOfMember
        self.leaderOfNode = leaderOfNode
        self.myNode = myNode
        self.contextID = contextID
        var ordered = true
        for i in 1..<max(nodeOfMember.count, 1) where nodeOfMember[i] < nodeOfMember[i - 1] { ordered = false }
        blockOrdered = ordered
    }
}

/// What `Communicator.hierarchyState` holds.
enum HierarchyState {
    /// Not looked at yet.
    case unknown
    /// The flat algorithms are as good: one node, one member per node, or processes of
    /// other jobs among the members.
    case flat
    case built(NodeHierarchy)
}

extension Runtime {
    /// The hierarchy of an intracommunicator spanning several nodes with more than one member
    /// on some node, built on first use (collective: every member gets here in the same call);
    /// nil when the flat algorithms apply.
    func hierarchy(of comm: Communicator) -> NodeHierarchy? {
        if nodes.isSingleNode || comm.isInter { return nil }
        switch comm.hierarchyState {
        case .flat: return nil
        case .built(let h): return h
        case .unknown: break
        }
        // Decided from the placement alone, which every member sees alike.
        var dense: [Int32: Int32] = [:]
        var nodeOfMember: [Int32] = []
        var leaderOfNode: [Int32] = []
        var flat = false
        for (r, w) in comm.group.worldRanks.enumerated() {
            guard w < Int32(worldSize) else { flat = true; break }
            let n = nodes.nodeOfRank[Int(w)]
            if let d = dense[n] { nodeOfMember.append(d) } else {
                dense[n] = Int32(leaderOfNode.count)
                nodeOfMember.append(Int32(leaderOfNode.count))
                leaderOfNode.append(Int32(r))
            }
        }
        if flat || leaderOfNode.count < 2 || leaderOfNode.count == comm.size {
            comm.hierarchyState = .flat
            return nil
        }
        guard let id = try? agreeContextID(comm) else { return nil }
        let me = Int(comm.rank)
        let myNode = Int(nodeOfMember[me])
        let localRanks = comm.group.worldRanks.indices.filter { nodeOfMember[$0] == Int32(myNode) }
        let local = Communicator(contextID: id, group: Group(worldRanks: localRanks.map { comm.group.worldRanks[$0] },
                                                               myWorldRank: worldRank),
                                 name: "node part of \(comm.name)")
        var leaders: Communicator? = nil
        if leaderOfNode[myNode] == Int32(me) {
            leaders = Communicator(contextID: id, group: Group(worldRanks: leaderOfNode.map { comm.group.worldRanks[Int($0)] },
                                                                 myWorldRank: worldRank),
                                   name: "leaders of \(comm.name)", collectiveContext: id &* 4 &+ 2)
        }
        let h = NodeHierarchy(local: local, leaders: leaders, nodeOfMember: nodeOfMember, leaderOfNode: leaderOfNode,
                              myNode: myNode, contextID: id)
        comm.hierarchyState = .built(h)
        return h
    }

    /// Gives a freed communicator's hierarchy context back.
    func releaseHierarchy(_ comm: Communicator) {
        if case .built(let h) = comm.hierarchyState { releaseContextID(h.contextID) }
        comm.hierarchyState = .flat
    }

    /// Barrier: the node's members meet, the leaders meet, the node's members meet again
    /// (nobody leaves before every node has arrived).
    func hierarchicalBarrier(_ h: NodeHierarchy) throws(MPIError) {
        try barrier(h.local)
        if let leaders = h.leaders { try barrier(leaders) }
        try barrier(h.local)
    }

    /// Bcast: on the root's node from the root, between leaders from the root's node's leader,
    /// then on every other node from its leader.
    func hierarchicalBcast(_ h: NodeHierarchy, _ buf: UnsafeMutableRawPointer?, count: Int, datatype: Datatype,
                           root: Int32, comm: Communicator) -> Int32 {
        let rootNode = Int(h.nodeOfMember[Int(root)])
        if h.myNode == rootNode {
            let localRoot = h.local.group.rank(ofWorld: comm.group.worldRanks[Int(root)])!
            let rc = bcast(buf, count: count, datatype: datatype, root: Int32(localRoot), comm: h.local)
            if rc != 0 { return rc }
        }
        if let leaders = h.leaders {
            let rc = bcast(buf, count: count, datatype: datatype, root: Int32(rootNode), comm: leaders)
            if rc != 0 { return rc }
        }
        if h.myNode != rootNode { return bcast(buf, count: count, datatype: datatype, root: 0, comm: h.local) }
        return 0
    }

    /// Whether a reduction with `op` on `datatype` may take the hierarchy: any commutative
    /// operation; a non-commutative one when combining node by node keeps rank order. The
    /// datatype must be contiguous (leaders combine into scratch copies of it).
    func hierarchyFits(_ h: NodeHierarchy, op: Operation, datatype: Datatype) -> Bool {
        guard datatype.isContiguous else { return false }
        if case .user(let u) = op, !u.isCommutative { return h.blockOrdered }
        return true
    }

    /// Allreduce: each node reduces to its leader, the leaders allreduce, each leader
    /// broadcasts on its node.
    func hierarchicalAllreduce(_ h: NodeHierarchy, _ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?,
                               count: Int, datatype: Datatype, op: Operation) -> Int32 {
        let inPlace = Runtime.isInPlace(send)
        let leader = h.leaders != nil
        // The leader reduces in place into recv; the others send their input (recv if in place).
        var rc = reduce(leader ? send : (inPlace ? UnsafeRawPointer(recv) : send), leader ? recv : nil, count: count, datatype: datatype, op: op, root: 0, comm: h.local)
        if rc != 0 { return rc }
        if let leaders = h.leaders {
            rc = allreduce(UnsafeRawPointer(Runtime.inPlace), recv, count: count, datatype: datatype, op: op, comm: leaders)
            if rc != 0 { return rc }
        }
        return bcast(recv, count: count, datatype: datatype, root: 0, comm: h.local)
    }

    /// Reduce: each node reduces to its leader, the leaders reduce to the root's node's
    /// leader, which hands the result to the root when the root is not the leader.
    func hierarchicalReduce(_ h: NodeHierarchy, _ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?,
                            count: Int, datatype t: Datatype, op: Operation, root: Int32, comm: Communicator) -> Int32 {
        let me = comm.rank
        let inPlace = Runtime.isInPlace(send)
        let rootNode = Int(h.nodeOfMember[Int(root)])
        let rootLeader = h.leaderOfNode[rootNode]
        // My input: a root reducing in place has it in recv.
        let input: UnsafeRawPointer? = inPlace ? UnsafeRawPointer(recv) : send
        // Leaders combine into the root's buffer when they are the root, else into scratch.
        var scratch: Scratch? = nil
        var partial: UnsafeMutableRawPointer? = nil
        if h.leaders != nil {
            if me == root { partial = recv } else {
                scratch = Scratch(count * t.size)
                partial = byteAddress(UnsafeRawPointer(scratch!.base), -t.trueLowerBound)
            }
        }
        let leaderInput: UnsafeRawPointer? = h.leaders != nil && me == root && inPlace ? UnsafeRawPointer(Runtime.inPlace) : input
        var rc = reduce(leaderInput, partial, count: count, datatype: t, op: op, root: 0, comm: h.local)
        if rc != 0 { return rc }
        if let leaders = h.leaders {
            let isRootLeader = Int32(leaders.rank) == Int32(rootNode)
            rc = reduce(isRootLeader ? UnsafeRawPointer(Runtime.inPlace) : UnsafeRawPointer(partial), isRootLeader ? partial : nil,
                        count: count, datatype: t, op: op, root: Int32(rootNode), comm: leaders)
            if rc != 0 { return rc }
        }
        guard rootLeader != root else { return 0 }
        // The root's node's leader hands the result to the root (point-to-point on the node).
        let context = h.local.pointToPointContext
        if me == rootLeader {
            let localRoot = h.local.group.rank(ofWorld: comm.group.worldRanks[Int(root)])!   // same node
            let r = isendInternal(UnsafeRawPointer(partial), count: count, datatype: t, dest: Int32(localRoot), tag: 0,
                                  comm: h.local, context: context)
            return waitInternal(r).error
        }
        if me == root {
            let r = irecvInternal(recv, count: count, datatype: t, source: 0, tag: 0, comm: h.local, context: context)
            return waitInternal(r).error
        }
        return 0
    }
}

extension Runtime {
    /// Allgather of packed blocks when every node holds consecutive ranks: each node gathers its
    /// members' blocks at its leader (they are one run of the result), the leaders pass the
    /// nodes' runs around a ring (one message per node and step, node count - 1 steps), and
    /// each leader broadcasts the whole result on its node. `input` nil: in place (this rank's
    /// block is already in `output`).
    func hierarchicalAllgather(_ h: NodeHierarchy, input: UnsafeRawPointer?, output: UnsafeMutableRawPointer,
                               blockBytes b: Int, comm: Communicator) -> Int32 {
        let n = comm.size, nodeCount = h.leaderOfNode.count
        let start = Int(h.leaderOfNode[h.myNode])
        let own = input ?? UnsafeRawPointer(output + Int(comm.rank) * b)
        let isLeader = h.leaders != nil
        var rc = Collectives.gather(CommTransport(self, h.local), send: isLeader && input == nil ? nil : own,
                                    recv: isLeader ? output + start * b : nil, blockBytes: b, root: 0)
        if rc != 0 { return rc }
        if let leaders = h.leaders {
            // Node i's run of the result: its ranks' blocks (byte offset, byte count).
            func run(_ i: Int) -> (Int, Int) {
                let ranks = nodeRun(h, i, size: n)
                return (ranks.lowerBound * b, ranks.count * b)
            }
            let t = CommTransport(self, leaders)
            let me = h.myNode, next = (me + 1) % nodeCount, prev = (me + nodeCount - 1) % nodeCount
            for step in 0..<(nodeCount - 1) {
                let (so, sb) = run((me - step + nodeCount) % nodeCount)
                let (ro, rb) = run((me - step - 1 + 2 * nodeCount) % nodeCount)
                rc = t.sendRecv(UnsafeRawBufferPointer(start: output + so, count: sb), to: next,
                                UnsafeMutableRawBufferPointer(start: output + ro, count: rb), from: prev,
                                tag: CollectiveTag.allgather)
                if rc != 0 { return rc }
            }
        }
        return Collectives.bcast(CommTransport(self, h.local), buffer: output, bytes: n * b, root: 0)
    }
}

extension Runtime {
    /// The ranks of node `i` when every node holds consecutive ranks (`blockOrdered`).
    private func nodeRun(_ h: NodeHierarchy, _ i: Int, size n: Int) -> Range<Int> {
        let first = Int(h.leaderOfNode[i])
        return first..<(i + 1 < h.leaderOfNode.count ? Int(h.leaderOfNode[i + 1]) : n)
    }

    /// The leader and the ranks of every node but `skipped`.
    private func otherNodeRuns(_ h: NodeHierarchy, _ skipped: Int, size n: Int) -> [(Int32, Range<Int>)] {
        (0..<h.leaderOfNode.count).filter { $0 != skipped }.map { (h.leaderOfNode[$0], nodeRun(h, $0, size: n)) }
    }

    /// Gather of packed blocks when every node holds consecutive ranks: each node gathers its
    /// members' blocks (at the root on the root's node, at the leader on the others), then each
    /// other node's leader sends its run to the root in one message (node count - 1 messages
    /// between nodes, whatever the root). `input` nil: in place at the root.
    func hierarchicalGather(_ h: NodeHierarchy, input: UnsafeRawPointer?, output: UnsafeMutableRawPointer?,
                            blockBytes b: Int, root: Int32, comm: Communicator) -> Int32 {
        let n = comm.size, me = Int(comm.rank), rootNode = Int(h.nodeOfMember[Int(root)])
        let mine = nodeRun(h, h.myNode, size: n)
        let local = CommTransport(self, h.local), byte = CommTransport.byte
        if h.myNode == rootNode {
            let isRoot = me == Int(root)
            var rc = Collectives.gather(local, send: input, recv: isRoot ? output! + mine.lowerBound * b : nil,
                                        blockBytes: b, root: Int(root) - mine.lowerBound)
            if rc != 0 || !isRoot { return rc }
            let requests = otherNodeRuns(h, rootNode, size: n).map { leader, run in
                irecvInternal(output! + run.lowerBound * b, count: run.count * b, datatype: byte, source: leader,
                              tag: CollectiveTag.gather, comm: comm, context: comm.collectiveContext)
            }
            for r in requests { let e = waitInternal(r).error; if rc == 0 { rc = e } }
            return rc
        }
        let scratch = h.leaders != nil ? Scratch(mine.count * b) : nil
        let rc = Collectives.gather(local, send: input, recv: scratch?.base, blockBytes: b, root: 0)
        guard rc == 0, let scratch else { return rc }
        let r = isendInternal(scratch.base, count: mine.count * b, datatype: byte, dest: root, tag: CollectiveTag.gather,
                              comm: comm, context: comm.collectiveContext)
        return waitInternal(r).error
    }

    /// Scatter of packed blocks when every node holds consecutive ranks, the reverse of
    /// `hierarchicalGather`: the root sends each other node's run to its leader, then every node
    /// scatters inside itself. `output` nil: in place at the root.
    func hierarchicalScatter(_ h: NodeHierarchy, input: UnsafeRawPointer?, output: UnsafeMutableRawPointer?,
                             blockBytes b: Int, root: Int32, comm: Communicator) -> Int32 {
        let n = comm.size, me = Int(comm.rank), rootNode = Int(h.nodeOfMember[Int(root)])
        let mine = nodeRun(h, h.myNode, size: n)
        let local = CommTransport(self, h.local), byte = CommTransport.byte
        if h.myNode == rootNode {
            let isRoot = me == Int(root)
            let requests = !isRoot ? [] : otherNodeRuns(h, rootNode, size: n).map { leader, run in
                isendInternal(input! + run.lowerBound * b, count: run.count * b, datatype: byte, dest: leader,
                              tag: CollectiveTag.scatter, comm: comm, context: comm.collectiveContext)
            }
            var rc = Collectives.scatter(local, send: isRoot ? input! + mine.lowerBound * b : nil, recv: output,
                                         blockBytes: b, root: Int(root) - mine.lowerBound)
            for r in requests { let e = waitInternal(r).error; if rc == 0 { rc = e } }
            return rc
        }
        var scratch: Scratch? = nil
        if h.leaders != nil {
            let s = Scratch(mine.count * b)
            let r = irecvInternal(s.base, count: mine.count * b, datatype: byte, source: root, tag: CollectiveTag.scatter,
                                  comm: comm, context: comm.collectiveContext)
            let rc = waitInternal(r).error
            if rc != 0 { return rc }
            scratch = s
        }
        return Collectives.scatter(local, send: scratch.map { UnsafeRawPointer($0.base) }, recv: output, blockBytes: b, root: 0)
    }
}
