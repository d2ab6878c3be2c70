// Which transport carries the traffic to each peer. Peers are numbered as the protocol state is
// (`sendQueues`, `inflight`): the world ranks, then the processes of other jobs as they are
// linked (Dynamic.swift). Each has a route: the transport and the peer's index in it, chosen once
// (at start-up, or when the peer is linked); the message path switches over the small enum, so no
// existential or closure is paid per message. Today every peer but this process is reached
// through the node's shared memory; TCP and the VM device add their cases here.
import FerryCore

/// The transport of a route.
enum RouteKind: UInt8 {
    /// No transport reaches the peer.
    case unreachable = 0
    /// This process itself (control messages are handled in place, never sent).
    case loopback
    /// The node segment's rings (and single copy by process_vm_readv).
    case shm
}

/// How one peer is reached: the transport, and the peer's index in it.
struct Route {
    var kind: RouteKind
    var index: Int32
}

extension Runtime {
    /// The routes of the world ranks: this process, and the node segment's local ranks
    /// (indices as in the segment: every rank of the job shares this node for now).
    func buildWorldRoutes() {
        routes = InPlaceArray(capacity: max(worldSize, 16))
        shmPeers = InPlaceArray(capacity: max(worldSize, 16))
        for p in 0..<worldSize {
            if p == Int(worldRank) {
                routes.append(Route(kind: .loopback, index: Int32(p)))
            } else {
                routes.append(Route(kind: node == nil ? .unreachable : .shm, index: Int32(p)))
                if node == nil { routesAreNodeIndices = false }
            }
            shmPeers.append(Int32(p))
        }
    }

    /// Records a process of another job reached through the node segment's peer `index`, as
    /// peer `peer` of the protocol state.
    func addShmRoute(peer: Int32, index: Int32) {
        precondition(Int(peer) == routes.count, "peers are numbered densely")
        routes.append(Route(kind: .shm, index: index))
        if index != peer { routesAreNodeIndices = false }
        while shmPeers.count <= Int(index) { shmPeers.append(-1) }
        shmPeers[Int(index)] = peer
    }
}
