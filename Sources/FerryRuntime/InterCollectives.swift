// Collectives on intercommunicators (MPI-3.1 §5.2.2, §5.2.3 and the intercommunicator
// paragraph of each collective). The public collectives of Collectives.swift hand an
// intercommunicator to the functions here.
//
// The algorithms are leader-based and simple: data is combined or collected inside each group
// with the ordinary intracommunicator collectives on `localComm` (the local group as an
// intracommunicator, with its own context), the two leaders (rank 0 of each group) exchange over
// the intercommunicator's collective context, and the result is spread inside the group again.
// The v/w variants and alltoall go point to point between the groups. Rooted collectives follow
// the standard's convention: the root passes MPI_ROOT, the other members of its group
// MPI_PROC_NULL (they take no part), the other group the root's rank in the remote group.
// MPI_IN_PLACE is not defined on intercommunicators: MPI_ERR_BUFFER, the class MPICH returns.
// Scan and Exscan are not defined either (MPI_ERR_COMM, from Collectives.swift's checks).
import FerryCore
import FerryDatatype
import FerryCollectives
#if canImport(Glibc)
import Glibc
#endif

/// Tags of the intercommunicator collectives on the intercommunicator's collective context
/// (the intracommunicator phases run on `localComm`, with the ordinary tags).
enum InterTag {
    static let barrier: Int32 = 50
    static let bcast: Int32 = 51
    static let gather: Int32 = 52
    static let gatherv: Int32 = 53
    static let scatter: Int32 = 54
    static let scatterv: Int32 = 55
    static let allgather: Int32 = 56
    static let allgatherv: Int32 = 57
    static let alltoall: Int32 = 58
    static let alltoallw: Int32 = 59
    static let reduce: Int32 = 60
    static let allreduce: Int32 = 61
    static let reduceScatter: Int32 = 62
    static let splitTable: Int32 = 63
    static let createGroupSize: Int32 = 64
    static let createGroupRanks: Int32 = 65
}

/// How a process takes part in a rooted intercommunicator collective.
enum InterRole {
    /// The root (passed MPI_ROOT).
    case root
    /// Another member of the root's group (passed MPI_PROC_NULL): takes no part.
    case idle
    /// A member of the other group; the root's rank in the remote group.
    case member(Int32)
}

extension Runtime {
    /// `comm` if it is a live intercommunicator (the public collectives then run the forms of
    /// this file), else nil.
    @inline(__always) func interTarget(_ comm: Communicator?) -> Communicator? {
        guard let comm, !comm.isFreed, comm.isInter else { return nil }
        return comm
    }

    /// The role `root` gives this process on intercommunicator `c`, or MPI_ERR_ROOT.
    func interRole(_ root: Int32, _ c: Communicator) -> (InterRole?, Int32) {
        if root == MPIConstant.root { return (.root, 0) }
        if root == MPIConstant.procNull { return (.idle, 0) }
        if root >= 0 && Int(root) < c.remoteGroup!.size { return (.member(root), 0) }
        return (nil, ErrorClass.root.rawValue)
    }

    /// Posts typed receives and sends between the groups of intercommunicator `c` (peer ranks
    /// are ranks of the remote group) on its collective context, then waits for all of them.
    private func interExchange(_ c: Communicator, tag: Int32,
                               recvs: [(UnsafeMutableRawPointer?, Int, Datatype, Int32)],
                               sends: [(UnsafeRawPointer?, Int, Datatype, Int32)]) -> Int32 {
        if recvs.isEmpty && sends.isEmpty { return 0 }
        var reqs: [RequestHandle] = []
        reqs.reserveCapacity(recvs.count + sends.count)
        for (p, n, t, peer) in recvs {
            reqs.append(irecvInternal(p, count: n, datatype: t, source: peer, tag: tag, comm: c, context: c.collectiveContext))
        }
        for (p, n, t, peer) in sends {
            reqs.append(isendInternal(p, count: n, datatype: t, dest: peer, tag: tag, comm: c, context: c.collectiveContext))
        }
        var sts: [Status] = []
        let rc = waitAll(&reqs, statuses: &sts)
        if rc == 0 { return 0 }
        return sts.first { $0.error != 0 }?.error ?? rc
    }

    /// Scratch memory laid out like a user buffer of `count` elements of `t`: returns the owner
    /// and the address to pass as the buffer (which may lie outside the allocation by the
    /// type's true lower bound; only the type's bytes are touched).
    private func typedScratch(_ count: Int, _ t: Datatype) -> (Scratch, UnsafeMutableRawPointer) {
        if count == 0 { let s = Scratch(1); return (s, s.base) }
        let first = t.trueLowerBound, last = (count - 1) * t.extent + t.trueLowerBound
        let lo = min(first, last), hi = max(first, last) + t.trueExtent
        let s = Scratch(hi - lo)
        return (s, s.base - lo)
    }

    private func interCheckVector(_ counts: [Int], _ displs: [Int], _ n: Int) -> Int32 {
        guard counts.count >= n, displs.count >= n else { return ErrorClass.arg.rawValue }
        return counts.prefix(n).contains { $0 < 0 } ? ErrorClass.count.rawValue : 0
    }

    // MARK: barrier, bcast

    /// Nobody leaves before every member of the other group has entered: each group meets,
    /// the leaders swap an empty message, each group meets again.
    func interBarrier(_ c: Communicator) -> Int32 {
        let local = c.localComm!
        var rc = Collectives.barrier(CommTransport(self, local))
        if rc != 0 { return rc }
        if local.rank == 0 {
            rc = CommTransport(self, c).sendRecv(UnsafeRawBufferPointer(start: nil, count: 0), to: 0,
                                                 UnsafeMutableRawBufferPointer(start: nil, count: 0), from: 0,
                                                 tag: InterTag.barrier)
            if rc != 0 { return rc }
        }
        return Collectives.barrier(CommTransport(self, local))
    }

    /// The root sends to the other group's leader, which broadcasts in its group.
    func interBcast(_ buf: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?, root: Int32,
                    comm c: Communicator) -> Int32 {
        let (role, rrc) = interRole(root, c)
        guard let role else { return rrc }
        if case .idle = role { return 0 }
        let rc = checkData(count, datatype)
        if rc != 0 { return rc }
        let t = datatype!
        if buf == nil && count * t.size > 0 { return ErrorClass.buffer.rawValue }
        switch role {
        case .idle: return 0
        case .root:
            return interExchange(c, tag: InterTag.bcast, recvs: [], sends: [(UnsafeRawPointer(buf), count, t, 0)])
        case .member(let r):
            let local = c.localComm!
            if local.rank == 0 {
                let rc = interExchange(c, tag: InterTag.bcast, recvs: [(buf, count, t, r)], sends: [])
                if rc != 0 { return rc }
            }
            return bcast(buf, count: count, datatype: t, root: 0, comm: local)
        }
    }

    // MARK: gather, scatter

    /// The other group gathers at its leader (packed), which sends everything to the root.
    func interGather(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                     recvCount: Int, recvType: Datatype?, root: Int32, comm c: Communicator) -> Int32 {
        let (role, rrc) = interRole(root, c)
        guard let role else { return rrc }
        switch role {
        case .idle: return 0
        case .root:
            let rc = checkData(recvCount, recvType)
            if rc != 0 { return rc }
            let n = c.remoteGroup!.size
            if Runtime.isInPlace(send) || (recv == nil && n * recvCount * recvType!.size > 0) { return ErrorClass.buffer.rawValue }
            return interExchange(c, tag: InterTag.gather, recvs: [(recv, n * recvCount, recvType!, 0)], sends: [])
        case .member(let r):
            if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
            var rc = checkData(sendCount, sendType)
            if rc != 0 { return rc }
            let local = c.localComm!, block = sendCount * sendType!.size
            let s: Scratch? = local.rank == 0 ? Scratch(local.size * block) : nil
            rc = gather(send, sendCount: sendCount, sendType: sendType, s?.base, recvCount: block,
                        recvType: CommTransport.byte, root: 0, comm: local)
            if rc != 0 || local.rank != 0 { return rc }
            return interExchange(c, tag: InterTag.gather, recvs: [],
                                 sends: [(UnsafeRawPointer(s!.base), local.size * block, CommTransport.byte, r)])
        }
    }

    /// Point to point: every member of the other group sends its block to the root.
    func interGatherv(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                      recvCounts: [Int], displacements: [Int], recvType: Datatype?, root: Int32,
                      comm c: Communicator) -> Int32 {
        let (role, rrc) = interRole(root, c)
        guard let role else { return rrc }
        switch role {
        case .idle: return 0
        case .root:
            var rc = checkData(0, recvType)
            if rc == 0 { rc = interCheckVector(recvCounts, displacements, c.remoteGroup!.size) }
            if rc != 0 { return rc }
            if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
            let rt = recvType!
            var recvs: [(UnsafeMutableRawPointer?, Int, Datatype, Int32)] = []
            // Empty blocks are skipped on both sides (decided by bytes, which matching type
            // signatures make equal on the two sides).
            for i in 0..<c.remoteGroup!.size where recvCounts[i] * rt.size > 0 {
                guard let recv else { return ErrorClass.buffer.rawValue }
                recvs.append((recv + displacements[i] * rt.extent, recvCounts[i], rt, Int32(i)))
            }
            return interExchange(c, tag: InterTag.gatherv, recvs: recvs, sends: [])
        case .member(let r):
            if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
            let rc = checkData(sendCount, sendType)
            if rc != 0 { return rc }
            if sendCount * sendType!.size == 0 { return 0 }
            return interExchange(c, tag: InterTag.gatherv, recvs: [], sends: [(send, sendCount, sendType!, r)])
        }
    }

    /// The root sends everything to the other group's leader, which scatters it in its group.
    func interScatter(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                      recvCount: Int, recvType: Datatype?, root: Int32, comm c: Communicator) -> Int32 {
        let (role, rrc) = interRole(root, c)
        guard let role else { return rrc }
        switch role {
        case .idle: return 0
        case .root:
            let rc = checkData(sendCount, sendType)
            if rc != 0 { return rc }
            let n = c.remoteGroup!.size
            if Runtime.isInPlace(recv) || (send == nil && n * sendCount * sendType!.size > 0) { return ErrorClass.buffer.rawValue }
            return interExchange(c, tag: InterTag.scatter, recvs: [], sends: [(send, n * sendCount, sendType!, 0)])
        case .member(let r):
            if Runtime.isInPlace(recv) { return ErrorClass.buffer.rawValue }
            var rc = checkData(recvCount, recvType)
            if rc != 0 { return rc }
            let local = c.localComm!, block = recvCount * recvType!.size
            if recv == nil && block > 0 { return ErrorClass.buffer.rawValue }
            var s: Scratch? = nil
            if local.rank == 0 {
                s = Scratch(local.size * block)
                rc = interExchange(c, tag: InterTag.scatter,
                                   recvs: [(s!.base, local.size * block, CommTransport.byte, r)], sends: [])
                if rc != 0 { return rc }
            }
            return scatter(s.map { UnsafeRawPointer($0.base) }, sendCount: block, sendType: CommTransport.byte,
                           recv, recvCount: recvCount, recvType: recvType, root: 0, comm: local)
        }
    }

    /// Point to point: the root sends each member of the other group its block.
    func interScatterv(_ send: UnsafeRawPointer?, sendCounts: [Int], displacements: [Int], sendType: Datatype?,
                       _ recv: UnsafeMutableRawPointer?, recvCount: Int, recvType: Datatype?, root: Int32,
                       comm c: Communicator) -> Int32 {
        let (role, rrc) = interRole(root, c)
        guard let role else { return rrc }
        switch role {
        case .idle: return 0
        case .root:
            var rc = checkData(0, sendType)
            if rc == 0 { rc = interCheckVector(sendCounts, displacements, c.remoteGroup!.size) }
            if rc != 0 { return rc }
            if Runtime.isInPlace(recv) { return ErrorClass.buffer.rawValue }
            let st = sendType!
            var sends: [(UnsafeRawPointer?, Int, Datatype, Int32)] = []
            for i in 0..<c.remoteGroup!.size where sendCounts[i] * st.size > 0 {
                guard let send else { return ErrorClass.buffer.rawValue }
                sends.append((send + displacements[i] * st.extent, sendCounts[i], st, Int32(i)))
            }
            return interExchange(c, tag: InterTag.scatterv, recvs: [], sends: sends)
        case .member(let r):
            if Runtime.isInPlace(recv) { return ErrorClass.buffer.rawValue }
            let rc = checkData(recvCount, recvType)
            if rc != 0 { return rc }
            if recvCount * recvType!.size == 0 { return 0 }
            return interExchange(c, tag: InterTag.scatterv, recvs: [(recv, recvCount, recvType!, r)], sends: [])
        }
    }

    // MARK: allgather, alltoall

    /// Each group gathers at its leader (packed), the leaders swap, each leader broadcasts
    /// what it received in its group.
    func interAllgather(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                        recvCount: Int, recvType: Datatype?, comm c: Communicator) -> Int32 {
        if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
        var rc = checkData(sendCount, sendType)
        if rc == 0 { rc = checkData(recvCount, recvType) }
        if rc != 0 { return rc }
        let local = c.localComm!, block = sendCount * sendType!.size
        let total = c.remoteGroup!.size * recvCount
        if recv == nil && total * recvType!.size > 0 { return ErrorClass.buffer.rawValue }
        let s: Scratch? = local.rank == 0 ? Scratch(local.size * block) : nil
        rc = gather(send, sendCount: sendCount, sendType: sendType, s?.base, recvCount: block,
                    recvType: CommTransport.byte, root: 0, comm: local)
        if rc != 0 { return rc }
        if local.rank == 0 {
            rc = interExchange(c, tag: InterTag.allgather, recvs: [(recv, total, recvType!, 0)],
                               sends: [(UnsafeRawPointer(s!.base), local.size * block, CommTransport.byte, 0)])
            if rc != 0 { return rc }
        }
        return bcast(recv, count: total, datatype: recvType, root: 0, comm: local)
    }

    /// Point to point: every process sends its block to every member of the other group.
    func interAllgatherv(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                         recvCounts: [Int], displacements: [Int], recvType: Datatype?, comm c: Communicator) -> Int32 {
        if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
        let n = c.remoteGroup!.size
        var rc = checkData(sendCount, sendType)
        if rc == 0 { rc = checkData(0, recvType) }
        if rc == 0 { rc = interCheckVector(recvCounts, displacements, n) }
        if rc != 0 { return rc }
        let st = sendType!, rt = recvType!
        var recvs: [(UnsafeMutableRawPointer?, Int, Datatype, Int32)] = []
        var sends: [(UnsafeRawPointer?, Int, Datatype, Int32)] = []
        let me = Int(c.rank)
        for k in 0..<n {
            // Start with a different peer on each rank, so the first messages spread out.
            let j = (me + k) % n
            if recvCounts[j] * rt.size > 0 {
                guard let recv else { return ErrorClass.buffer.rawValue }
                recvs.append((recv + displacements[j] * rt.extent, recvCounts[j], rt, Int32(j)))
            }
            if sendCount * st.size > 0 { sends.append((send, sendCount, st, Int32(j))) }
        }
        return interExchange(c, tag: InterTag.allgatherv, recvs: recvs, sends: sends)
    }

    /// Point to point: block j goes to rank j of the other group, block i comes from its rank i.
    func interAlltoall(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                       recvCount: Int, recvType: Datatype?, comm c: Communicator) -> Int32 {
        if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
        var rc = checkData(sendCount, sendType)
        if rc == 0 { rc = checkData(recvCount, recvType) }
        if rc != 0 { return rc }
        let n = c.remoteGroup!.size, st = sendType!, rt = recvType!
        return interAlltoallw(send, sendCounts: Array(repeating: sendCount, count: n),
                              sendByteDisplacements: (0..<n).map { $0 * sendCount * st.extent },
                              sendTypes: Array(repeating: st, count: n), recv,
                              recvCounts: Array(repeating: recvCount, count: n),
                              recvByteDisplacements: (0..<n).map { $0 * recvCount * rt.extent },
                              recvTypes: Array(repeating: rt, count: n), comm: c)
    }

    func interAlltoallv(_ send: UnsafeRawPointer?, sendCounts: [Int], sendDisplacements: [Int], sendType: Datatype?,
                        _ recv: UnsafeMutableRawPointer?, recvCounts: [Int], recvDisplacements: [Int],
                        recvType: Datatype?, comm c: Communicator) -> Int32 {
        if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
        let n = c.remoteGroup!.size
        guard let st = sendType, let rt = recvType else { return ErrorClass.type.rawValue }
        guard sendDisplacements.count >= n, recvDisplacements.count >= n else { return ErrorClass.arg.rawValue }
        return interAlltoallw(send, sendCounts: sendCounts, sendByteDisplacements: sendDisplacements.prefix(n).map { $0 * st.extent },
                              sendTypes: Array(repeating: st, count: n), recv, recvCounts: recvCounts,
                              recvByteDisplacements: recvDisplacements.prefix(n).map { $0 * rt.extent },
                              recvTypes: Array(repeating: rt, count: n), comm: c)
    }

    func interAlltoallw(_ send: UnsafeRawPointer?, sendCounts: [Int], sendByteDisplacements: [Int], sendTypes: [Datatype?],
                        _ recv: UnsafeMutableRawPointer?, recvCounts: [Int], recvByteDisplacements: [Int],
                        recvTypes: [Datatype?], comm c: Communicator) -> Int32 {
        if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
        let n = c.remoteGroup!.size
        guard recvCounts.count >= n, recvByteDisplacements.count >= n, recvTypes.count >= n,
              sendCounts.count >= n, sendByteDisplacements.count >= n, sendTypes.count >= n else {
            return ErrorClass.arg.rawValue
        }
        for i in 0..<n {
            var rc = checkData(recvCounts[i], recvTypes[i])
            if rc == 0 { rc = checkData(sendCounts[i], sendTypes[i]) }
            if rc != 0 { return rc }
        }
        var recvs: [(UnsafeMutableRawPointer?, Int, Datatype, Int32)] = []
        var sends: [(UnsafeRawPointer?, Int, Datatype, Int32)] = []
        let me = Int(c.rank)
        for k in 0..<n {
            let j = (me + k) % n
            // Zero-byte blocks are skipped on both sides (matching signatures agree on bytes).
            if recvCounts[j] * recvTypes[j]!.size > 0 {
                guard let recv else { return ErrorClass.buffer.rawValue }
                recvs.append((recv + recvByteDisplacements[j], recvCounts[j], recvTypes[j]!, Int32(j)))
            }
            if sendCounts[j] * sendTypes[j]!.size > 0 {
                guard let send else { return ErrorClass.buffer.rawValue }
                sends.append((send + sendByteDisplacements[j], sendCounts[j], sendTypes[j]!, Int32(j)))
            }
        }
        return interExchange(c, tag: InterTag.alltoallw, recvs: recvs, sends: sends)
    }

    // MARK: reductions

    /// The op and datatype checks of a reduction, as the intracommunicator forms make them.
    private func checkReduction(_ count: Int, _ t: Datatype?, _ op: Operation?) -> Int32 {
        let rc = checkData(count, t)
        guard let op else { return rc != 0 ? rc : ErrorClass.op.rawValue }
        if rc != 0 { return rc }
        return reduceLayout(t!, count: count, op: op).1
    }

    /// The other group reduces at its leader, which sends the result to the root.
    func interReduce(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?,
                     op: Operation?, root: Int32, comm c: Communicator) -> Int32 {
        let (role, rrc) = interRole(root, c)
        guard let role else { return rrc }
        if case .idle = role { return 0 }
        var rc = checkReduction(count, datatype, op)
        if rc != 0 { return rc }
        if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
        let t = datatype!
        switch role {
        case .idle: return 0
        case .root:
            if recv == nil && count > 0 { return ErrorClass.buffer.rawValue }
            return interExchange(c, tag: InterTag.reduce, recvs: [(recv, count, t, 0)], sends: [])
        case .member(let r):
            let local = c.localComm!
            let tmp = local.rank == 0 ? typedScratch(count, t) : nil
            rc = reduce(send, tmp?.1, count: count, datatype: t, op: op, root: 0, comm: local)
            if rc != 0 || local.rank != 0 { return rc }
            return interExchange(c, tag: InterTag.reduce, recvs: [], sends: [(UnsafeRawPointer(tmp!.1), count, t, r)])
        }
    }

    /// Each group reduces at its leader, the leaders swap their results, each leader
    /// broadcasts the other group's result in its group.
    func interAllreduce(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?,
                        op: Operation?, comm c: Communicator) -> Int32 {
        var rc = checkReduction(count, datatype, op)
        if rc != 0 { return rc }
        if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
        if count > 0 && recv == nil { return ErrorClass.buffer.rawValue }
        let t = datatype!, local = c.localComm!
        let tmp = local.rank == 0 ? typedScratch(count, t) : nil
        rc = reduce(send, tmp?.1, count: count, datatype: t, op: op, root: 0, comm: local)
        if rc != 0 { return rc }
        if local.rank == 0 {
            rc = interExchange(c, tag: InterTag.allreduce, recvs: [(recv, count, t, 0)],
                               sends: [(UnsafeRawPointer(tmp!.1), count, t, 0)])
            if rc != 0 { return rc }
        }
        return bcast(recv, count: count, datatype: t, root: 0, comm: local)
    }

    /// Reduce_scatter(_block): each group reduces its whole vector at its leader, the leaders
    /// swap, each leader scatters the other group's result in its group (`counts` per member).
    private func interReduceScatter(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, counts: [Int],
                                    datatype: Datatype?, op: Operation?, comm c: Communicator) -> Int32 {
        let local = c.localComm!, n = local.size
        guard counts.count >= n else { return ErrorClass.count.rawValue }
        if counts.prefix(n).contains(where: { $0 < 0 }) { return ErrorClass.count.rawValue }
        let total = counts.prefix(n).reduce(0, +)
        var rc = checkReduction(total, datatype, op)
        if rc != 0 { return rc }
        if Runtime.isInPlace(send) { return ErrorClass.buffer.rawValue }
        let t = datatype!
        let mine = local.rank == 0 ? typedScratch(total, t) : nil
        let theirs = local.rank == 0 ? typedScratch(total, t) : nil
        rc = reduce(send, mine?.1, count: total, datatype: t, op: op, root: 0, comm: local)
        if rc != 0 { return rc }
        if local.rank == 0 {
            rc = interExchange(c, tag: InterTag.reduceScatter, recvs: [(theirs!.1, total, t, 0)],
                               sends: [(UnsafeRawPointer(mine!.1), total, t, 0)])
            if rc != 0 { return rc }
        }
        var displs: [Int] = []
        displs.reserveCapacity(n)
        var at = 0
        for k in 0..<n { displs.append(at); at += counts[k] }
        return scatterv(theirs.map { UnsafeRawPointer($0.1) }, sendCounts: Array(counts.prefix(n)), displacements: displs,
                        sendType: t, recv, recvCount: counts[Int(local.rank)], recvType: t, root: 0, comm: local)
    }

    func interReduceScatterBlock(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, recvCount: Int,
                                 datatype: Datatype?, op: Operation?, comm c: Communicator) -> Int32 {
        if recvCount < 0 { return ErrorClass.count.rawValue }
        return interReduceScatter(send, recv, counts: Array(repeating: recvCount, count: c.size), datatype: datatype,
                                  op: op, comm: c)
    }

    func interReduceScatterV(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, recvCounts: [Int],
                             datatype: Datatype?, op: Operation?, comm c: Communicator) -> Int32 {
        interReduceScatter(send, recv, counts: recvCounts, datatype: datatype, op: op, comm: c)
    }
}
