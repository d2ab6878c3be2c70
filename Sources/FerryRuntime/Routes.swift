// Which transport carries the traffic to each peer. Peers are numbered as the protocol state is
// (`sendQueues`, `inflight`): the world ranks, then the processes of other jobs as they are
// linked (Dynamic.swift). Each has a route: the transport and the peer's index in it, chosen once
// (at start-up, or when the peer is linked); the message path switches over the small enum, so no
// existential or closure is paid per message. Peers on this node are reached through the node's
// shared memory, peers on other nodes through TCP; the VM device adds its case here.
import FerryCore

/// The transport of a route.
enum RouteKind: UInt8 {
    /// No transport reaches the peer.
    case unreachable = 0
    /// This process itself (control messages are handled in place, never sent).
    case loopback
    /// The node segment's rings (and single copy by process_vm_readv).
    case shm
    /// A TCP connection (FerryTCP), to a rank of another node.
    case tcp
}

/// How one peer is reached: the transport, and the peer's index in it.
struct Route {
    var kind: RouteKind
    var index: Int32
}

extension Runtime {
    /// The routes of the world ranks: this process, the ranks of this node through the node
    /// segment (at their index among the node's ranks), the others through TCP (at their world
    /// rank).
    func buildWorldRoutes() {
        routes = InPlaceArray(capacity: max(worldSize, 16))
        shmPeers = InPlaceArray(capacity: max(worldSize, 16))
        tcpPeers = []
        for p in 0..<worldSize {
            let local = Int(nodes.nodeOfRank[p]) == nodes.myNode
            if p == Int(worldRank) {
                routes.append(Route(kind: .loopback, index: Int32(p)))
            } else if local {
                routes.append(Route(kind: node == nil ? .unreachable : .shm, index: nodes.localIndex[p]))
            } else {
                routes.append(Route(kind: tcp == nil ? .unreachable : .tcp, index: Int32(p)))
                tcpPeers.append(Int32(p))
            }
            if routes[p].kind != .loopback && (routes[p].kind != .shm || routes[p].index != Int32(p)) {
                routesAreNodeIndices = false
            }
        }
        for p in nodes.localRanks { shmPeers.append(p) }
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
