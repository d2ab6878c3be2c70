// Virtual topologies (MPI-3.1 chapter 7): the Cartesian, graph and distributed-graph shapes a
// communicator may carry in `Communicator.topology`, the constructors that build a new
// communicator with one attached (through `commSplit`, so ranks keep their order: `reorder`
// is accepted and ignored), and the balanced factorization of MPI_Dims_create. The C layer
// (FerryABI/Topologies.swift) and the neighborhood collectives (Neighborhood.swift) read them.
import FerryCore
import FerryDatatype
import FerryCollectives

/// Topology kinds, with the MPICH ABI's values of MPI_GRAPH, MPI_CART and MPI_DIST_GRAPH.
public enum TopologyKind: Int32, Sendable {
    case graph = 1, cartesian = 2, distributedGraph = 3
}

/// A Cartesian grid; ranks are numbered in row-major order of the coordinates.
public final class CartesianTopology: @unchecked Sendable {
    /// Processes in each dimension (all positive).
    public let dims: [Int32]
    public let periods: [Bool]

    public init(dims: [Int32], periods: [Bool]) {
        self.dims = dims
        self.periods = periods
    }

    public var ndims: Int { dims.count }
    /// Number of grid points (1 for a zero-dimensional grid).
    public var size: Int { dims.reduce(1) { $0 * Int($1) } }

    /// Coordinates of `rank` (0 ..< size).
    public func coordinates(of rank: Int32) -> [Int32] {
        var out = [Int32](repeating: 0, count: ndims)
        var r = Int(rank)
        for d in stride(from: ndims - 1, through: 0, by: -1) {
            out[d] = Int32(r % Int(dims[d]))
            r /= Int(dims[d])
        }
        return out
    }

    /// Rank at `coords`, wrapping periodic dimensions; nil when a coordinate of a
    /// non-periodic dimension is outside the grid.
    public func rank(at coords: [Int32]) -> Int32? {
        var r = 0
        for d in 0..<ndims {
            var c = Int(coords[d])
            let n = Int(dims[d])
            if c < 0 || c >= n {
                guard periods[d] else { return nil }
                c = ((c % n) + n) % n
            }
            r = r * n + c
        }
        return Int32(r)
    }

    /// `MPI_Cart_shift`: the ranks `displacement` steps below (source) and above (destination)
    /// `rank` along `dimension`, MPI_PROC_NULL past a non-periodic edge.
    public func shift(rank: Int32, dimension: Int, displacement: Int32) -> (source: Int32, destination: Int32) {
        var c = coordinates(of: rank)
        let mine = c[dimension]
        c[dimension] = mine &- displacement
        let source = self.rank(at: c) ?? MPIConstant.procNull
        c[dimension] = mine &+ displacement
        let destination = self.rank(at: c) ?? MPIConstant.procNull
        return (source, destination)
    }

    /// Neighbours in the order of the neighborhood collectives (MPI-3.1 §7.6): for each
    /// dimension, the neighbour at -1 then the one at +1 (MPI_PROC_NULL past an edge).
    public func neighbors(of rank: Int32) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(2 * ndims)
        for d in 0..<ndims {
            let (s, t) = shift(rank: rank, dimension: d, displacement: 1)
            out.append(s)
            out.append(t)
        }
        return out
    }
}

/// A general graph given by MPI_Graph_create's `index` and `edges` arrays.
public final class GraphTopology: @unchecked Sendable {
    /// `index[i]`: total number of neighbours of nodes 0...i.
    public let index: [Int32]
    public let edges: [Int32]

    public init(index: [Int32], edges: [Int32]) {
        self.index = index
        self.edges = edges
    }

    public var nodeCount: Int { index.count }

    /// Neighbours of `rank` in the order given at creation.
    public func neighbors(of rank: Int32) -> [Int32] {
        let r = Int(rank)
        let lo = r == 0 ? 0 : Int(index[r - 1]), hi = Int(index[r])
        return Array(edges[lo..<hi])
    }
}

/// The local view of a distributed graph: this process's in- and out-edges.
public final class DistributedGraphTopology: @unchecked Sendable {
    public let sources: [Int32]
    public let sourceWeights: [Int32]
    public let destinations: [Int32]
    public let destinationWeights: [Int32]
    /// False when created with MPI_UNWEIGHTED (the weight arrays are then all ones).
    public let isWeighted: Bool

    public init(sources: [Int32], sourceWeights: [Int32]?, destinations: [Int32], destinationWeights: [Int32]?,
                weighted: Bool) {
        self.sources = sources
        self.sourceWeights = sourceWeights ?? Array(repeating: 1, count: sources.count)
        self.destinations = destinations
        self.destinationWeights = destinationWeights ?? Array(repeating: 1, count: destinations.count)
        isWeighted = weighted
    }
}

/// Neighbours of one process for a neighborhood collective.
public struct NeighborLists: Sendable {
    /// Ranks data comes from, in receive-buffer order.
    public var sources: [Int32]
    /// Ranks data goes to, in send-buffer order.
    public var destinations: [Int32]
    /// Cartesian grids tag each direction apart, so that a periodic dimension of size 1 or 2
    /// (both neighbours the same process) still pairs each send with the right receive.
    public var isCartesian: Bool
}

extension Communicator {
    /// The kind of topology attached, if any (`MPI_Topo_test`).
    public var topologyKind: TopologyKind? {
        switch topology {
        case is CartesianTopology: return .cartesian
        case is GraphTopology: return .graph
        case is DistributedGraphTopology: return .distributedGraph
        default: return nil
        }
    }
    public var cartesian: CartesianTopology? { topology as? CartesianTopology }
    public var graph: GraphTopology? { topology as? GraphTopology }
    public var distributedGraph: DistributedGraphTopology? { topology as? DistributedGraphTopology }

    /// This process's neighbours in its topology, or nil without one.
    public var neighborLists: NeighborLists? {
        switch topology {
        case let c as CartesianTopology:
            let n = c.neighbors(of: rank)
            return NeighborLists(sources: n, destinations: n, isCartesian: true)
        case let g as GraphTopology:
            let n = g.neighbors(of: rank)
            return NeighborLists(sources: n, destinations: n, isCartesian: false)
        case let d as DistributedGraphTopology:
            return NeighborLists(sources: d.sources, destinations: d.destinations, isCartesian: false)
        default:
            return nil
        }
    }
}

extension Runtime {
    private func checkTopologyParent(_ c: Communicator) throws(MPIError) {
        if c.isFreed { throw MPIError(.comm, "invalid or freed communicator") }
        if c.isInter { throw MPIError(.comm, "topologies need an intracommunicator") }
    }

    /// `MPI_Cart_create`: the first `dims` product ranks of `c` (in order) form the grid;
    /// the others get nil (MPI_COMM_NULL).
    public func cartCreate(_ c: Communicator, dims: [Int32], periods: [Bool]) throws(MPIError) -> Communicator? {
        try checkTopologyParent(c)
        guard periods.count == dims.count else { throw MPIError(.arg, "periods and dims differ in length") }
        var product = 1
        for d in dims {
            guard d > 0 else { throw MPIError(.dims, "dimension \(d) is not positive") }
            product *= Int(d)
            guard product <= c.size else { break }
        }
        guard product <= c.size else {
            throw MPIError(.arg, "the grid (\(dims)) has more points than the communicator's \(c.size) processes")
        }
        let inGrid = Int(c.rank) < product
        let n = try commSplit(c, color: inGrid ? 0 : MPIConstant.undefined, key: c.rank)
        n?.topology = CartesianTopology(dims: dims, periods: periods)
        return n
    }

    /// `MPI_Cart_sub`: one sub-grid per combination of coordinates in the dropped dimensions.
    public func cartSub(_ c: Communicator, remain: [Bool]) throws(MPIError) -> Communicator {
        try checkTopologyParent(c)
        guard let t = c.cartesian else { throw MPIError(.topology, "the communicator has no Cartesian topology") }
        guard remain.count == t.ndims else { throw MPIError(.arg, "remain_dims has the wrong length") }
        let coords = t.coordinates(of: c.rank)
        var color: Int32 = 0, key: Int32 = 0
        var dims: [Int32] = [], periods: [Bool] = []
        for d in 0..<t.ndims {
            if remain[d] {
                key = key * t.dims[d] + coords[d]
                dims.append(t.dims[d])
                periods.append(t.periods[d])
            } else {
                color = color * t.dims[d] + coords[d]
            }
        }
        guard let n = try commSplit(c, color: color, key: key) else {
            throw MPIError(.intern, "MPI_Cart_sub produced no communicator")
        }
        n.topology = CartesianTopology(dims: dims, periods: periods)
        return n
    }

    /// `MPI_Graph_create`: ranks 0 ..< index.count form the graph, the others get nil.
    public func graphCreate(_ c: Communicator, index: [Int32], edges: [Int32]) throws(MPIError) -> Communicator? {
        try checkTopologyParent(c)
        let nodes = index.count
        guard nodes <= c.size else { throw MPIError(.arg, "the graph has \(nodes) nodes but the communicator \(c.size) processes") }
        var previous: Int32 = 0
        for i in index {
            guard i >= previous else { throw MPIError(.arg, "index is not non-decreasing") }
            previous = i
        }
        guard Int(previous) == edges.count else { throw MPIError(.arg, "index ends at \(previous) but there are \(edges.count) edges") }
        for e in edges where e < 0 || Int(e) >= nodes {
            throw MPIError(.arg, "edge to \(e) leaves the graph of \(nodes) nodes")
        }
        let n = try commSplit(c, color: Int(c.rank) < nodes ? 0 : MPIConstant.undefined, key: c.rank)
        n?.topology = GraphTopology(index: index, edges: edges)
        return n
    }

    /// `MPI_Dist_graph_create_adjacent`: every process names its own in- and out-edges.
    public func distGraphCreateAdjacent(_ c: Communicator, sources: [Int32], sourceWeights: [Int32]?,
                                        destinations: [Int32], destinationWeights: [Int32]?,
                                        weighted: Bool) throws(MPIError) -> Communicator {
        try checkTopologyParent(c)
        for r in sources + destinations where r < 0 || Int(r) >= c.size {
            throw MPIError(.rank, "neighbour \(r) is not in a communicator of \(c.size) processes")
        }
        if weighted {
            for w in (sourceWeights ?? []) + (destinationWeights ?? []) where w < 0 {
                throw MPIError(.arg, "edge weight \(w) is negative")
            }
        }
        guard let n = try commSplit(c, color: 0, key: c.rank) else { throw MPIError(.intern, "dist graph creation") }
        n.topology = DistributedGraphTopology(sources: sources, sourceWeights: weighted ? sourceWeights : nil,
                                              destinations: destinations,
                                              destinationWeights: weighted ? destinationWeights : nil, weighted: weighted)
        return n
    }

    /// `MPI_Dist_graph_create`: each process contributes any edges; an all-to-all exchange
    /// tells every process its own in- and out-edges. Neighbours are listed by the rank that
    /// declared the edge, then in declaration order, so that several edges between the same
    /// pair are listed in the same order at both ends.
    public func distGraphCreate(_ c: Communicator, edges: [(source: Int32, destination: Int32, weight: Int32)],
                                weighted: Bool) throws(MPIError) -> Communicator {
        try checkTopologyParent(c)
        let n = c.size
        for e in edges {
            guard e.source >= 0 && Int(e.source) < n && e.destination >= 0 && Int(e.destination) < n else {
                throw MPIError(.rank, "edge \(e.source) -> \(e.destination) leaves a communicator of \(n) processes")
            }
            if weighted && e.weight < 0 { throw MPIError(.arg, "edge weight \(e.weight) is negative") }
        }
        // Records (kind, peer, weight): kind 0 = "you send to peer", 1 = "you receive from peer",
        // grouped by the process they are for.
        var outgoing = [[Int32]](repeating: [], count: n)
        for e in edges {
            outgoing[Int(e.source)] += [0, e.destination, e.weight]
            outgoing[Int(e.destination)] += [1, e.source, e.weight]
        }
        let sendCounts = outgoing.map { Int32($0.count) }
        var recvCounts = [Int32](repeating: 0, count: n)
        let t = CommTransport(self, c)
        var rc = sendCounts.withUnsafeBytes { s in recvCounts.withUnsafeMutableBytes { r in
            Collectives.alltoall(t, send: s.baseAddress, recv: r.baseAddress!, blockBytes: 4)
        } }
        if rc != 0 { throw MPIError(code: rc, "MPI_Dist_graph_create") }
        // Both directions live in buffers that stay put until every request has completed.
        let sendTotal = sendCounts.reduce(0) { $0 + Int($1) }, recvTotal = recvCounts.reduce(0) { $0 + Int($1) }
        let sendBuffer = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(sendTotal, 1))
        let recvBuffer = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(recvTotal, 1))
        defer { sendBuffer.deallocate(); recvBuffer.deallocate() }
        let i32 = Datatype.predefined(.int)
        var reqs: [RequestHandle] = []
        var offset = 0
        for p in 0..<n where recvCounts[p] > 0 {
            reqs.append(irecvInternal(UnsafeMutableRawPointer(recvBuffer.baseAddress! + offset), count: Int(recvCounts[p]),
                                      datatype: i32, source: Int32(p), tag: 41, comm: c, context: c.collectiveContext))
            offset += Int(recvCounts[p])
        }
        offset = 0
        for p in 0..<n where !outgoing[p].isEmpty {
            let start = sendBuffer.baseAddress! + offset
            for (k, v) in outgoing[p].enumerated() { start[k] = v }
            reqs.append(isendInternal(UnsafeRawPointer(start), count: outgoing[p].count, datatype: i32, dest: Int32(p), tag: 41,
                                      comm: c, context: c.collectiveContext))
            offset += outgoing[p].count
        }
        var statuses: [Status] = []
        rc = waitAll(&reqs, statuses: &statuses)
        if rc != 0 { throw MPIError(code: statuses.first { $0.error != 0 }?.error ?? rc, "MPI_Dist_graph_create") }
        // Records arrive in rank order of the declaring process, each in declaration order.
        var sources: [Int32] = [], sourceWeights: [Int32] = []
        var destinations: [Int32] = [], destinationWeights: [Int32] = []
        for k in stride(from: 0, to: recvTotal, by: 3) {
            if recvBuffer[k] == 0 {
                destinations.append(recvBuffer[k + 1]); destinationWeights.append(recvBuffer[k + 2])
            } else {
                sources.append(recvBuffer[k + 1]); sourceWeights.append(recvBuffer[k + 2])
            }
        }
        guard let nc = try commSplit(c, color: 0, key: c.rank) else { throw MPIError(.intern, "dist graph creation") }
        nc.topology = DistributedGraphTopology(sources: sources, sourceWeights: weighted ? sourceWeights : nil,
                                               destinations: destinations,
                                               destinationWeights: weighted ? destinationWeights : nil, weighted: weighted)
        return nc
    }

    /// `MPI_Dims_create`: fills the zero entries of `dims` so that the product of all entries
    /// is `nodes`, as balanced as possible (smallest spread between the largest and smallest
    /// filled entry), in non-increasing order. Given (non-zero) entries stay as they are.
    public static func dimsCreate(nodes: Int, dims: inout [Int32]) throws(MPIError) {
        guard nodes > 0 else { throw MPIError(.arg, "nnodes \(nodes) is not positive") }
        var fixed = 1
        var free = 0
        for d in dims {
            if d < 0 { throw MPIError(.dims, "dimension \(d) is negative") }
            if d == 0 { free += 1 } else { fixed *= Int(d) }
        }
        guard nodes % fixed == 0 else {
            throw MPIError(.dims, "\(nodes) processes cannot be split with the given dimensions (product \(fixed))")
        }
        if free == 0 {
            guard fixed == nodes else { throw MPIError(.dims, "the given dimensions multiply to \(fixed), not \(nodes)") }
            return
        }
        let factors = balancedFactors(nodes / fixed, into: free)
        var k = 0
        for i in dims.indices where dims[i] == 0 {
            dims[i] = Int32(factors[k])
            k += 1
        }
    }

    /// `n` as a product of `parts` factors, non-increasing, with the smallest difference between
    /// the largest and the smallest factor; ties go to the largest smallest factor, then to
    /// the lexicographically smallest list. This is what MPICH returns for every n <= 3000 and
    /// 2...6 dimensions (checked against MPICH 4.0), e.g. 360 = 10 x 6 x 6 rather than 9 x 8 x 5.
    static func balancedFactors(_ n: Int, into parts: Int) -> [Int] {
        if parts == 1 { return [n] }
        var best: [Int]? = nil
        var current: [Int] = []
        func better(_ a: [Int], than b: [Int]) -> Bool {
            let sa = a.first! - a.last!, sb = b.first! - b.last!
            if sa != sb { return sa < sb }
            if a.last! != b.last! { return a.last! > b.last! }
            return a.lexicographicallyPrecedes(b)
        }
        // Divisors of n, largest first (every factor divides n).
        var divisors: [Int] = []
        var d = 1
        while d * d <= n {
            if n % d == 0 { divisors.append(d); if d != n / d { divisors.append(n / d) } }
            d += 1
        }
        divisors.sort(by: >)
        // Factors in non-increasing order: each next factor divides the rest and is at most
        // the previous one, and `left` factors of at most f must still reach the rest.
        func search(_ rest: Int, _ left: Int, _ maxFactor: Int) {
            if left == 1 {
                guard rest <= maxFactor else { return }
                let candidate = current + [rest]
                if best == nil || better(candidate, than: best!) { best = candidate }
                return
            }
            for f in divisors where f <= maxFactor && f <= rest && rest % f == 0 {
                var reach = 1
                for _ in 0..<left { reach *= f; if reach >= rest { break } }
                if reach < rest { break }
                current.append(f)
                search(rest / f, left - 1, f)
                current.removeLast()
            }
        }
        search(n, parts, n)
        return best ?? ([n] + Array(repeating: 1, count: parts - 1))
    }
}
