// Blocking neighborhood collectives (MPI-3.1 §7.6): MPI_Neighbor_allgather(v) and
// MPI_Neighbor_alltoall(v, w) on Cartesian, graph and distributed-graph topologies. Each is
// one round of nonblocking receives and sends on the communicator's collective context, then
// a wait for all of them. The C layer (FerryABI/Topologies.swift) calls these; the nonblocking
// variants run them in the background (Nonblocking.swift) on the communicator's shadow.
import FerryCore
import FerryDatatype

extension Runtime {
    /// Tag of graph and distributed-graph neighborhood traffic.
    static let neighborTag: Int32 = 40
    /// Cartesian traffic: `cartesianNeighborTag + 2 * dimension + 0` towards the -1 neighbour,
    /// `+ 1` towards the +1 neighbour; the receiver expects from its -1 neighbour what that
    /// neighbour sent towards +1, and vice versa.
    static let cartesianNeighborTag: Int32 = 1000

    /// The neighbours of `comm`, or the error for a communicator without a topology.
    private func neighborLists(_ comm: Communicator?) -> (NeighborLists?, Int32) {
        guard let comm, !comm.isFreed, !comm.isInter else { return (nil, ErrorClass.comm.rawValue) }
        guard let lists = comm.neighborLists else { return (nil, ErrorClass.topology.rawValue) }
        return (lists, 0)
    }

    /// Posts one receive per source slot and one send per destination slot (MPI_PROC_NULL
    /// slots are skipped but keep their place), then waits for all of them.
    /// `recv(i)` / `send(i)`: (address, count, type) of slot i.
    private func neighborExchange(_ comm: Communicator, _ lists: NeighborLists,
                                  recv: (Int) -> (UnsafeMutableRawPointer?, Int, Datatype),
                                  send: (Int) -> (UnsafeRawPointer?, Int, Datatype)) -> Int32 {
        var reqs: [RequestHandle] = []
        reqs.reserveCapacity(lists.sources.count + lists.destinations.count)
        let context = comm.collectiveContext
        for (i, peer) in lists.sources.enumerated() where peer != MPIConstant.procNull {
            let (p, c, t) = recv(i)
            // Slot 2d holds what the -1 neighbour sent towards +1 (tag 2d+1), and vice versa.
            let tag = lists.isCartesian ? Runtime.cartesianNeighborTag + Int32(i ^ 1) : Runtime.neighborTag
            reqs.append(irecvInternal(p, count: c, datatype: t, source: peer, tag: tag, comm: comm, context: context))
        }
        for (i, peer) in lists.destinations.enumerated() where peer != MPIConstant.procNull {
            let (p, c, t) = send(i)
            let tag = lists.isCartesian ? Runtime.cartesianNeighborTag + Int32(i) : Runtime.neighborTag
            reqs.append(isendInternal(p, count: c, datatype: t, dest: peer, tag: tag, comm: comm, context: context))
        }
        if reqs.isEmpty { return 0 }
        var statuses: [Status] = []
        let rc = waitAll(&reqs, statuses: &statuses)
        if rc == 0 { return 0 }
        return statuses.first { $0.error != 0 }?.error ?? rc
    }

    private func checkNeighborCounts(_ counts: [Int], _ displacements: [Int], _ n: Int) -> Int32 {
        guard counts.count >= n, displacements.count >= n else { return ErrorClass.arg.rawValue }
        return counts.prefix(n).contains { $0 < 0 } ? ErrorClass.count.rawValue : 0
    }

    /// `MPI_Neighbor_allgather`: the same block to every destination; block i of `recv` from source i.
    public func neighborAllgather(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?,
                                  _ recv: UnsafeMutableRawPointer?, recvCount: Int, recvType: Datatype?,
                                  comm: Communicator?) -> Int32 {
        let (lists, e) = neighborLists(comm)
        guard let lists else { return e }
        var rc = checkData(sendCount, sendType)
        if rc == 0 { rc = checkData(recvCount, recvType) }
        if rc != 0 { return rc }
        let st = sendType!, rt = recvType!
        return neighborExchange(comm!, lists,
                                recv: { i in (byteAddress(recv, i * recvCount * rt.extent), recvCount, rt) },
                                send: { _ in (send, sendCount, st) })
    }

    /// `MPI_Neighbor_allgatherv`: block i of `recv` (counts[i] elements at displacements[i]
    /// extents) from source i.
    public func neighborAllgatherv(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?,
                                   _ recv: UnsafeMutableRawPointer?, recvCounts: [Int], displacements: [Int],
                                   recvType: Datatype?, comm: Communicator?) -> Int32 {
        let (lists, e) = neighborLists(comm)
        guard let lists else { return e }
        var rc = checkData(sendCount, sendType)
        if rc == 0 { rc = checkData(0, recvType) }
        if rc == 0 { rc = checkNeighborCounts(recvCounts, displacements, lists.sources.count) }
        if rc != 0 { return rc }
        let st = sendType!, rt = recvType!
        return neighborExchange(comm!, lists,
                                recv: { i in (byteAddress(recv, displacements[i] * rt.extent), recvCounts[i], rt) },
                                send: { _ in (send, sendCount, st) })
    }

    /// `MPI_Neighbor_alltoall`: block i of `send` to destination i, block i of `recv` from source i.
    public func neighborAlltoall(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?,
                                 _ recv: UnsafeMutableRawPointer?, recvCount: Int, recvType: Datatype?,
                                 comm: Communicator?) -> Int32 {
        let (lists, e) = neighborLists(comm)
        guard let lists else { return e }
        var rc = checkData(sendCount, sendType)
        if rc == 0 { rc = checkData(recvCount, recvType) }
        if rc != 0 { return rc }
        let st = sendType!, rt = recvType!
        return neighborExchange(comm!, lists,
                                recv: { i in (byteAddress(recv, i * recvCount * rt.extent), recvCount, rt) },
                                send: { i in (readAddress(send, i * sendCount * st.extent), sendCount, st) })
    }

    /// `MPI_Neighbor_alltoallv`: displacements in extents of the datatypes.
    public func neighborAlltoallv(_ send: UnsafeRawPointer?, sendCounts: [Int], sendDisplacements: [Int],
                                  sendType: Datatype?, _ recv: UnsafeMutableRawPointer?, recvCounts: [Int],
                                  recvDisplacements: [Int], recvType: Datatype?, comm: Communicator?) -> Int32 {
        let (lists, e) = neighborLists(comm)
        guard let lists else { return e }
        var rc = checkData(0, sendType)
        if rc == 0 { rc = checkData(0, recvType) }
        if rc == 0 { rc = checkNeighborCounts(sendCounts, sendDisplacements, lists.destinations.count) }
        if rc == 0 { rc = checkNeighborCounts(recvCounts, recvDisplacements, lists.sources.count) }
        if rc != 0 { return rc }
        let st = sendType!, rt = recvType!
        return neighborExchange(comm!, lists,
                                recv: { i in (byteAddress(recv, recvDisplacements[i] * rt.extent), recvCounts[i], rt) },
                                send: { i in (readAddress(send, sendDisplacements[i] * st.extent), sendCounts[i], st) })
    }

    /// `MPI_Neighbor_alltoallw`: displacements in bytes, one datatype per neighbour.
    public func neighborAlltoallw(_ send: UnsafeRawPointer?, sendCounts: [Int], sendByteDisplacements: [Int],
                                  sendTypes: [Datatype?], _ recv: UnsafeMutableRawPointer?, recvCounts: [Int],
                                  recvByteDisplacements: [Int], recvTypes: [Datatype?],
                                  comm: Communicator?) -> Int32 {
        let (lists, e) = neighborLists(comm)
        guard let lists else { return e }
        let ns = lists.sources.count, nd = lists.destinations.count
        var rc = checkNeighborCounts(sendCounts, sendByteDisplacements, nd)
        if rc == 0 { rc = checkNeighborCounts(recvCounts, recvByteDisplacements, ns) }
        if rc == 0 && (sendTypes.count < nd || recvTypes.count < ns) { rc = ErrorClass.arg.rawValue }
        if rc != 0 { return rc }
        for i in 0..<nd where lists.destinations[i] != MPIConstant.procNull {
            rc = checkData(sendCounts[i], sendTypes[i]); if rc != 0 { return rc }
        }
        for i in 0..<ns where lists.sources[i] != MPIConstant.procNull {
            rc = checkData(recvCounts[i], recvTypes[i]); if rc != 0 { return rc }
        }
        return neighborExchange(comm!, lists,
                                recv: { i in (byteAddress(recv, recvByteDisplacements[i]), recvCounts[i], recvTypes[i]!) },
                                send: { i in (readAddress(send, sendByteDisplacements[i]), sendCounts[i], sendTypes[i]!) })
    }
}
