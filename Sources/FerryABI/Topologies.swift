// Virtual topologies (MPI-3.1 chapter 7): Cartesian, graph and distributed-graph constructors
// and queries, MPI_Dims_create, MPI_Topo_test, and the blocking neighborhood collectives. The
// shapes and the collectives live in the runtime (Topology.swift, Neighborhood.swift).
import FerryCore
import FerryDatatype
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

/// MPI_UNWEIGHTED and MPI_WEIGHTS_EMPTY are exported `int *const` globals of the library
/// (defined with mpi.h); weights arguments are compared with their values by address.
private struct WeightSentinels {
    let unweighted: UnsafeMutableRawPointer?
    let empty: UnsafeMutableRawPointer?

    nonisolated(unsafe) static let shared = WeightSentinels()

    private init() {
        func value(_ name: String) -> UnsafeMutableRawPointer? {
            var sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name)   // RTLD_DEFAULT
            if sym == nil, let lib = dlopen("libmpi.so.12", RTLD_LAZY | RTLD_NOLOAD) { sym = dlsym(lib, name) }
            return sym?.assumingMemoryBound(to: UnsafeMutableRawPointer?.self).pointee
        }
        unweighted = value("MPI_UNWEIGHTED")
        empty = value("MPI_WEIGHTS_EMPTY")
    }
}

/// (weighted, weights) of a weights argument of `n` entries. MPI_UNWEIGHTED means unweighted;
/// MPI_WEIGHTS_EMPTY a weighted empty list. NULL is not MPI_UNWEIGHTED in this ABI: with no
/// entries it is a weighted empty list, as in MPICH (a process without edges in a weighted
/// graph, MPICH's topo/distgraph1); with entries, where no array is given, it is read as
/// unweighted, as the headers of old MPICH versions defined MPI_UNWEIGHTED.
private func weights(_ p: UnsafePointer<Int32>?, _ n: Int) -> (Bool, [Int32]?) {
    let raw = UnsafeMutableRawPointer(mutating: p)
    let s = WeightSentinels.shared
    if p == nil { return n == 0 ? (true, []) : (false, nil) }
    if s.unweighted != nil && raw == s.unweighted { return (false, nil) }
    if s.empty != nil && raw == s.empty { return (true, []) }
    return (true, Array(UnsafeBufferPointer(start: p, count: n)))
}

/// Whether an output weights argument is a real array (not NULL or one of the sentinels).
private func isWeightsArray(_ p: UnsafeMutablePointer<Int32>?) -> Bool {
    guard let p else { return false }
    let s = WeightSentinels.shared, raw = UnsafeMutableRawPointer(p)
    return raw != s.unweighted && raw != s.empty
}

private func intArray(_ p: UnsafePointer<Int32>?, _ n: Int) -> [Int32] {
    guard let p, n > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: p, count: n))
}

/// Decodes the communicator of a query and its topology of the wanted kind.
private func topologyComm<T>(_ comm: Int32, _ fn: StaticString, _ kind: T.Type) -> (Runtime?, Communicator?, T?, Int32) {
    guard let rt = runtime(fn) else { return (nil, nil, nil, notInitialized) }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return (rt, nil, nil, fail(ErrorClass.comm.rawValue, rt, nil, fn)) }
    // Unwrap before casting: Swift 6.3.1's optimizer turns `nil as AnyObject? as? T` into a
    // call that crashes (release builds: any topology query on a communicator without one
    // segfaulted; AddressSanitizer found it with comm/topology).
    guard let any = c.topology, let t = any as? T else { return (rt, c, nil, fail(ErrorClass.topology.rawValue, rt, c, fn)) }
    return (rt, c, t, 0)
}

// MARK: MPI_Dims_create, MPI_Topo_test

@_cdecl("PMPI_Dims_create")
public func PMPI_Dims_create(_ nnodes: Int32, _ ndims: Int32, _ dims: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Dims_create") else { return notInitialized }
    guard ndims >= 0 else { return fail(ErrorClass.dims.rawValue, rt, nil, "MPI_Dims_create") }
    if ndims == 0 { return 0 }
    guard let dims else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Dims_create") }
    var d = intArray(dims, Int(ndims))
    do {
        try Runtime.dimsCreate(nodes: Int(nnodes), dims: &d)
    } catch {
        return fail(error.code, rt, nil, "MPI_Dims_create")
    }
    for i in 0..<Int(ndims) { dims[i] = d[i] }
    return 0
}

/// MPI_GRAPH 1, MPI_CART 2, MPI_DIST_GRAPH 3 (MPICH values), MPI_UNDEFINED without a topology.
@_cdecl("PMPI_Topo_test")
public func PMPI_Topo_test(_ comm: Int32, _ status: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Topo_test") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Topo_test") }
    guard let status else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Topo_test") }
    status.pointee = c.topologyKind?.rawValue ?? MPIConstant.undefined
    return 0
}

// MARK: Cartesian

/// Builds the grid on the first ranks of `comm_old` (reorder is accepted and ignored).
@_cdecl("PMPI_Cart_create")
public func PMPI_Cart_create(_ commOld: Int32, _ ndims: Int32, _ dims: UnsafePointer<Int32>?, _ periods: UnsafePointer<Int32>?,
                             _ reorder: Int32, _ commCart: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Cart_create") else { return notInitialized }
    guard let c = decodeComm(commOld, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Cart_create") }
    guard let commCart else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_create") }
    guard ndims >= 0 else { return fail(ErrorClass.dims.rawValue, rt, c, "MPI_Cart_create") }
    guard ndims == 0 || (dims != nil && periods != nil) else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_create") }
    let d = intArray(dims, Int(ndims))
    let p = intArray(periods, Int(ndims)).map { $0 != 0 }
    do {
        return fail(storeComm(try rt.cartCreate(c, dims: d, periods: p), commCart, rt), rt, c, "MPI_Cart_create")
    } catch {
        return fail(error.code, rt, c, "MPI_Cart_create")
    }
}

@_cdecl("PMPI_Cartdim_get")
public func PMPI_Cartdim_get(_ comm: Int32, _ ndims: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, t, e) = topologyComm(comm, "MPI_Cartdim_get", CartesianTopology.self)
    guard let rt, let c, let t else { return e }
    guard let ndims else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cartdim_get") }
    ndims.pointee = Int32(t.ndims)
    return 0
}

/// Writes the first `maxdims` entries of dims, periods and this process's coordinates.
@_cdecl("PMPI_Cart_get")
public func PMPI_Cart_get(_ comm: Int32, _ maxdims: Int32, _ dims: UnsafeMutablePointer<Int32>?,
                          _ periods: UnsafeMutablePointer<Int32>?, _ coords: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, t, e) = topologyComm(comm, "MPI_Cart_get", CartesianTopology.self)
    guard let rt, let c, let t else { return e }
    guard maxdims >= 0 else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_get") }
    let n = min(Int(maxdims), t.ndims)
    if n > 0 { guard dims != nil, periods != nil, coords != nil else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_get") } }
    let mine = t.coordinates(of: c.rank)
    for i in 0..<n {
        dims![i] = t.dims[i]
        periods![i] = t.periods[i] ? 1 : 0
        coords![i] = mine[i]
    }
    return 0
}

/// Coordinates outside a non-periodic dimension are erroneous (MPI_ERR_ARG); periodic ones wrap.
@_cdecl("PMPI_Cart_rank")
public func PMPI_Cart_rank(_ comm: Int32, _ coords: UnsafePointer<Int32>?, _ rank: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, t, e) = topologyComm(comm, "MPI_Cart_rank", CartesianTopology.self)
    guard let rt, let c, let t else { return e }
    guard let rank, t.ndims == 0 || coords != nil else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_rank") }
    guard let r = t.rank(at: intArray(coords, t.ndims)) else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_rank") }
    rank.pointee = r
    return 0
}

@_cdecl("PMPI_Cart_coords")
public func PMPI_Cart_coords(_ comm: Int32, _ rank: Int32, _ maxdims: Int32, _ coords: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, t, e) = topologyComm(comm, "MPI_Cart_coords", CartesianTopology.self)
    guard let rt, let c, let t else { return e }
    guard rank >= 0 && Int(rank) < c.size else { return fail(ErrorClass.rank.rawValue, rt, c, "MPI_Cart_coords") }
    guard maxdims >= 0, t.ndims == 0 || coords != nil else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_coords") }
    let cs = t.coordinates(of: rank)
    for i in 0..<min(Int(maxdims), t.ndims) { coords![i] = cs[i] }
    return 0
}

@_cdecl("PMPI_Cart_shift")
public func PMPI_Cart_shift(_ comm: Int32, _ direction: Int32, _ disp: Int32, _ rankSource: UnsafeMutablePointer<Int32>?,
                            _ rankDest: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, t, e) = topologyComm(comm, "MPI_Cart_shift", CartesianTopology.self)
    guard let rt, let c, let t else { return e }
    guard direction >= 0 && Int(direction) < t.ndims else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_shift") }
    guard let rankSource, let rankDest else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_shift") }
    let (s, d) = t.shift(rank: c.rank, dimension: Int(direction), displacement: disp)
    rankSource.pointee = s
    rankDest.pointee = d
    return 0
}

@_cdecl("PMPI_Cart_sub")
public func PMPI_Cart_sub(_ comm: Int32, _ remainDims: UnsafePointer<Int32>?, _ newcomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, t, e) = topologyComm(comm, "MPI_Cart_sub", CartesianTopology.self)
    guard let rt, let c, let t else { return e }
    guard let newcomm, t.ndims == 0 || remainDims != nil else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_sub") }
    do {
        let n = try rt.cartSub(c, remain: intArray(remainDims, t.ndims).map { $0 != 0 })
        return fail(storeComm(n, newcomm, rt), rt, c, "MPI_Cart_sub")
    } catch {
        return fail(error.code, rt, c, "MPI_Cart_sub")
    }
}

/// Without reordering the grid is the first ranks in order.
@_cdecl("PMPI_Cart_map")
public func PMPI_Cart_map(_ comm: Int32, _ ndims: Int32, _ dims: UnsafePointer<Int32>?, _ periods: UnsafePointer<Int32>?,
                          _ newrank: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Cart_map") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed, !c.isInter else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Cart_map") }
    guard ndims >= 0 else { return fail(ErrorClass.dims.rawValue, rt, c, "MPI_Cart_map") }
    guard let newrank, ndims == 0 || dims != nil else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Cart_map") }
    var product = 1
    for d in intArray(dims, Int(ndims)) {
        guard d > 0 else { return fail(ErrorClass.dims.rawValue, rt, c, "MPI_Cart_map") }
        product *= Int(d)
        guard product <= c.size else { return fail(ErrorClass.dims.rawValue, rt, c, "MPI_Cart_map") }
    }
    newrank.pointee = Int(c.rank) < product ? c.rank : MPIConstant.undefined
    return 0
}

// MARK: graph

@_cdecl("PMPI_Graph_create")
public func PMPI_Graph_create(_ commOld: Int32, _ nnodes: Int32, _ index: UnsafePointer<Int32>?, _ edges: UnsafePointer<Int32>?,
                              _ reorder: Int32, _ commGraph: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Graph_create") else { return notInitialized }
    guard let c = decodeComm(commOld, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Graph_create") }
    guard let commGraph, nnodes >= 0, nnodes == 0 || index != nil else {
        return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Graph_create")
    }
    let idx = intArray(index, Int(nnodes))
    let nedges = Int(idx.last ?? 0)
    guard nedges >= 0, nedges == 0 || edges != nil else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Graph_create") }
    do {
        let n = try rt.graphCreate(c, index: idx, edges: intArray(edges, nedges))
        return fail(storeComm(n, commGraph, rt), rt, c, "MPI_Graph_create")
    } catch {
        return fail(error.code, rt, c, "MPI_Graph_create")
    }
}

@_cdecl("PMPI_Graphdims_get")
public func PMPI_Graphdims_get(_ comm: Int32, _ nnodes: UnsafeMutablePointer<Int32>?, _ nedges: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, g, e) = topologyComm(comm, "MPI_Graphdims_get", GraphTopology.self)
    guard let rt, let c, let g else { return e }
    guard let nnodes, let nedges else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Graphdims_get") }
    nnodes.pointee = Int32(g.nodeCount)
    nedges.pointee = Int32(g.edges.count)
    return 0
}

@_cdecl("PMPI_Graph_get")
public func PMPI_Graph_get(_ comm: Int32, _ maxindex: Int32, _ maxedges: Int32, _ index: UnsafeMutablePointer<Int32>?,
                           _ edges: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, g, e) = topologyComm(comm, "MPI_Graph_get", GraphTopology.self)
    guard let rt, let c, let g else { return e }
    guard maxindex >= 0, maxedges >= 0 else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Graph_get") }
    let ni = min(Int(maxindex), g.nodeCount), ne = min(Int(maxedges), g.edges.count)
    if (ni > 0 && index == nil) || (ne > 0 && edges == nil) { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Graph_get") }
    for i in 0..<ni { index![i] = g.index[i] }
    for i in 0..<ne { edges![i] = g.edges[i] }
    return 0
}

@_cdecl("PMPI_Graph_neighbors_count")
public func PMPI_Graph_neighbors_count(_ comm: Int32, _ rank: Int32, _ nneighbors: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, g, e) = topologyComm(comm, "MPI_Graph_neighbors_count", GraphTopology.self)
    guard let rt, let c, let g else { return e }
    guard rank >= 0 && Int(rank) < g.nodeCount else { return fail(ErrorClass.rank.rawValue, rt, c, "MPI_Graph_neighbors_count") }
    guard let nneighbors else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Graph_neighbors_count") }
    nneighbors.pointee = Int32(g.neighbors(of: rank).count)
    return 0
}

@_cdecl("PMPI_Graph_neighbors")
public func PMPI_Graph_neighbors(_ comm: Int32, _ rank: Int32, _ maxneighbors: Int32, _ neighbors: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, g, e) = topologyComm(comm, "MPI_Graph_neighbors", GraphTopology.self)
    guard let rt, let c, let g else { return e }
    guard rank >= 0 && Int(rank) < g.nodeCount else { return fail(ErrorClass.rank.rawValue, rt, c, "MPI_Graph_neighbors") }
    let n = g.neighbors(of: rank)
    let k = min(Int(max(maxneighbors, 0)), n.count)
    if k > 0 && neighbors == nil { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Graph_neighbors") }
    for i in 0..<k { neighbors![i] = n[i] }
    return 0
}

@_cdecl("PMPI_Graph_map")
public func PMPI_Graph_map(_ comm: Int32, _ nnodes: Int32, _ index: UnsafePointer<Int32>?, _ edges: UnsafePointer<Int32>?,
                           _ newrank: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Graph_map") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed, !c.isInter else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Graph_map") }
    guard let newrank, nnodes >= 0 else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Graph_map") }
    guard Int(nnodes) <= c.size else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Graph_map") }
    newrank.pointee = c.rank < nnodes ? c.rank : MPIConstant.undefined
    return 0
}

// MARK: distributed graph

@_cdecl("PMPI_Dist_graph_create_adjacent")
public func PMPI_Dist_graph_create_adjacent(_ commOld: Int32, _ indegree: Int32, _ sources: UnsafePointer<Int32>?,
                                            _ sourceweights: UnsafePointer<Int32>?, _ outdegree: Int32,
                                            _ destinations: UnsafePointer<Int32>?, _ destweights: UnsafePointer<Int32>?,
                                            _ info: Int32, _ reorder: Int32, _ commDistGraph: UnsafeMutablePointer<Int32>?) -> Int32 {
    let fn: StaticString = "MPI_Dist_graph_create_adjacent"
    guard let rt = runtime(fn) else { return notInitialized }
    guard let c = decodeComm(commOld, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, fn) }
    guard let commDistGraph, indegree >= 0, outdegree >= 0 else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    guard (indegree == 0 || sources != nil) && (outdegree == 0 || destinations != nil) else {
        return fail(ErrorClass.arg.rawValue, rt, c, fn)
    }
    guard infoEntries(info) != nil else { return fail(ErrorClass.info.rawValue, rt, c, fn) }
    let (sw, sweights) = weights(sourceweights, Int(indegree))
    let (dw, dweights) = weights(destweights, Int(outdegree))
    // Weighted when either list is (MPI_UNWEIGHTED must be given for both or neither).
    let weighted = sw || dw
    do {
        let n = try rt.distGraphCreateAdjacent(c, sources: intArray(sources, Int(indegree)),
                                               sourceWeights: sweights ?? Array(repeating: 1, count: Int(indegree)),
                                               destinations: intArray(destinations, Int(outdegree)),
                                               destinationWeights: dweights ?? Array(repeating: 1, count: Int(outdegree)),
                                               weighted: weighted)
        return fail(storeComm(n, commDistGraph, rt), rt, c, fn)
    } catch {
        return fail(error.code, rt, c, fn)
    }
}

/// Edges `sources[i] -> destinations[...]` (degrees[i] of them per source), from any process.
@_cdecl("PMPI_Dist_graph_create")
public func PMPI_Dist_graph_create(_ commOld: Int32, _ n: Int32, _ sources: UnsafePointer<Int32>?, _ degrees: UnsafePointer<Int32>?,
                                   _ destinations: UnsafePointer<Int32>?, _ weightsArg: UnsafePointer<Int32>?, _ info: Int32,
                                   _ reorder: Int32, _ commDistGraph: UnsafeMutablePointer<Int32>?) -> Int32 {
    let fn: StaticString = "MPI_Dist_graph_create"
    guard let rt = runtime(fn) else { return notInitialized }
    guard let c = decodeComm(commOld, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, fn) }
    guard let commDistGraph, n >= 0, n == 0 || (sources != nil && degrees != nil) else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    guard infoEntries(info) != nil else { return fail(ErrorClass.info.rawValue, rt, c, fn) }
    let srcs = intArray(sources, Int(n)), degs = intArray(degrees, Int(n))
    guard !degs.contains(where: { $0 < 0 }) else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    let total = degs.reduce(0) { $0 + Int($1) }
    guard total == 0 || destinations != nil else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    let dsts = intArray(destinations, total)
    let (weighted, ws) = weights(weightsArg, total)
    var edges: [(source: Int32, destination: Int32, weight: Int32)] = []
    edges.reserveCapacity(total)
    var k = 0
    for i in 0..<Int(n) {
        for _ in 0..<Int(degs[i]) {
            edges.append((srcs[i], dsts[k], ws.map { $0.isEmpty ? 1 : $0[k] } ?? 1))
            k += 1
        }
    }
    do {
        let nc = try rt.distGraphCreate(c, edges: edges, weighted: weighted)
        return fail(storeComm(nc, commDistGraph, rt), rt, c, fn)
    } catch {
        return fail(error.code, rt, c, fn)
    }
}

@_cdecl("PMPI_Dist_graph_neighbors_count")
public func PMPI_Dist_graph_neighbors_count(_ comm: Int32, _ indegree: UnsafeMutablePointer<Int32>?,
                                            _ outdegree: UnsafeMutablePointer<Int32>?, _ weighted: UnsafeMutablePointer<Int32>?) -> Int32 {
    let (rt, c, g, e) = topologyComm(comm, "MPI_Dist_graph_neighbors_count", DistributedGraphTopology.self)
    guard let rt, let c, let g else { return e }
    guard let indegree, let outdegree, let weighted else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Dist_graph_neighbors_count") }
    indegree.pointee = Int32(g.sources.count)
    outdegree.pointee = Int32(g.destinations.count)
    weighted.pointee = g.isWeighted ? 1 : 0
    return 0
}

/// Weights are written only for a weighted graph and when the arrays are real arrays.
@_cdecl("PMPI_Dist_graph_neighbors")
public func PMPI_Dist_graph_neighbors(_ comm: Int32, _ maxindegree: Int32, _ sources: UnsafeMutablePointer<Int32>?,
                                      _ sourceweights: UnsafeMutablePointer<Int32>?, _ maxoutdegree: Int32,
                                      _ destinations: UnsafeMutablePointer<Int32>?, _ destweights: UnsafeMutablePointer<Int32>?) -> Int32 {
    let fn: StaticString = "MPI_Dist_graph_neighbors"
    let (rt, c, g, e) = topologyComm(comm, fn, DistributedGraphTopology.self)
    guard let rt, let c, let g else { return e }
    guard maxindegree >= 0, maxoutdegree >= 0 else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    let ni = min(Int(maxindegree), g.sources.count), no = min(Int(maxoutdegree), g.destinations.count)
    if (ni > 0 && sources == nil) || (no > 0 && destinations == nil) { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    let swReal = isWeightsArray(sourceweights), dwReal = isWeightsArray(destweights)
    for i in 0..<ni {
        sources![i] = g.sources[i]
        if g.isWeighted && swReal { sourceweights![i] = g.sourceWeights[i] }
    }
    for i in 0..<no {
        destinations![i] = g.destinations[i]
        if g.isWeighted && dwReal { destweights![i] = g.destinationWeights[i] }
    }
    return 0
}

// MARK: neighborhood collectives (blocking)

/// The communicator of a neighborhood collective and its neighbour counts (in, out).
private func neighborhood(_ comm: Int32, _ fn: StaticString) -> (Runtime?, Communicator?, Int, Int, Int32) {
    guard let rt = runtime(fn) else { return (nil, nil, 0, 0, notInitialized) }
    guard let c = decodeComm(comm, rt), !c.isFreed, !c.isInter else {
        return (rt, nil, 0, 0, fail(ErrorClass.comm.rawValue, rt, nil, fn))
    }
    guard let lists = c.neighborLists else { return (rt, c, 0, 0, fail(ErrorClass.topology.rawValue, rt, c, fn)) }
    return (rt, c, lists.sources.count, lists.destinations.count, 0)
}

private func counts(_ p: UnsafePointer<Int32>?, _ n: Int) -> [Int] { ints(p, n) }

@_cdecl("PMPI_Neighbor_allgather")
public func PMPI_Neighbor_allgather(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                                    _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32,
                                    _ comm: Int32) -> Int32 {
    let (rt, c, _, _, e) = neighborhood(comm, "MPI_Neighbor_allgather")
    guard let rt, let c else { return e }
    let rc = rt.neighborAllgather(sendbuf, sendCount: Int(sendcount), sendType: decodeType(sendtype), recvbuf,
                                  recvCount: Int(recvcount), recvType: decodeType(recvtype), comm: c)
    return fail(rc, rt, c, "MPI_Neighbor_allgather")
}

@_cdecl("PMPI_Neighbor_allgatherv")
public func PMPI_Neighbor_allgatherv(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                                     _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                                     _ displs: UnsafePointer<Int32>?, _ recvtype: Int32, _ comm: Int32) -> Int32 {
    let (rt, c, indegree, _, e) = neighborhood(comm, "MPI_Neighbor_allgatherv")
    guard let rt, let c else { return e }
    if indegree > 0 && (recvcounts == nil || displs == nil) { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Neighbor_allgatherv") }
    let rc = rt.neighborAllgatherv(sendbuf, sendCount: Int(sendcount), sendType: decodeType(sendtype), recvbuf,
                                   recvCounts: counts(recvcounts, indegree), displacements: counts(displs, indegree),
                                   recvType: decodeType(recvtype), comm: c)
    return fail(rc, rt, c, "MPI_Neighbor_allgatherv")
}

@_cdecl("PMPI_Neighbor_alltoall")
public func PMPI_Neighbor_alltoall(_ sendbuf: UnsafeRawPointer?, _ sendcount: Int32, _ sendtype: Int32,
                                   _ recvbuf: UnsafeMutableRawPointer?, _ recvcount: Int32, _ recvtype: Int32,
                                   _ comm: Int32) -> Int32 {
    let (rt, c, _, _, e) = neighborhood(comm, "MPI_Neighbor_alltoall")
    guard let rt, let c else { return e }
    let rc = rt.neighborAlltoall(sendbuf, sendCount: Int(sendcount), sendType: decodeType(sendtype), recvbuf,
                                 recvCount: Int(recvcount), recvType: decodeType(recvtype), comm: c)
    return fail(rc, rt, c, "MPI_Neighbor_alltoall")
}

@_cdecl("PMPI_Neighbor_alltoallv")
public func PMPI_Neighbor_alltoallv(_ sendbuf: UnsafeRawPointer?, _ sendcounts: UnsafePointer<Int32>?,
                                    _ sdispls: UnsafePointer<Int32>?, _ sendtype: Int32,
                                    _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                                    _ rdispls: UnsafePointer<Int32>?, _ recvtype: Int32, _ comm: Int32) -> Int32 {
    let fn: StaticString = "MPI_Neighbor_alltoallv"
    let (rt, c, indegree, outdegree, e) = neighborhood(comm, fn)
    guard let rt, let c else { return e }
    if (outdegree > 0 && (sendcounts == nil || sdispls == nil)) || (indegree > 0 && (recvcounts == nil || rdispls == nil)) {
        return fail(ErrorClass.arg.rawValue, rt, c, fn)
    }
    let rc = rt.neighborAlltoallv(sendbuf, sendCounts: counts(sendcounts, outdegree), sendDisplacements: counts(sdispls, outdegree),
                                  sendType: decodeType(sendtype), recvbuf, recvCounts: counts(recvcounts, indegree),
                                  recvDisplacements: counts(rdispls, indegree), recvType: decodeType(recvtype), comm: c)
    return fail(rc, rt, c, fn)
}

/// Displacements are `MPI_Aint` byte offsets; one datatype handle per neighbour.
@_cdecl("PMPI_Neighbor_alltoallw")
public func PMPI_Neighbor_alltoallw(_ sendbuf: UnsafeRawPointer?, _ sendcounts: UnsafePointer<Int32>?,
                                    _ sdispls: UnsafePointer<Int>?, _ sendtypes: UnsafePointer<Int32>?,
                                    _ recvbuf: UnsafeMutableRawPointer?, _ recvcounts: UnsafePointer<Int32>?,
                                    _ rdispls: UnsafePointer<Int>?, _ recvtypes: UnsafePointer<Int32>?, _ comm: Int32) -> Int32 {
    let fn: StaticString = "MPI_Neighbor_alltoallw"
    let (rt, c, indegree, outdegree, e) = neighborhood(comm, fn)
    guard let rt, let c else { return e }
    if (outdegree > 0 && (sendcounts == nil || sdispls == nil || sendtypes == nil))
        || (indegree > 0 && (recvcounts == nil || rdispls == nil || recvtypes == nil)) {
        return fail(ErrorClass.arg.rawValue, rt, c, fn)
    }
    let sd = outdegree > 0 ? Array(UnsafeBufferPointer(start: sdispls, count: outdegree)) : []
    let rd = indegree > 0 ? Array(UnsafeBufferPointer(start: rdispls, count: indegree)) : []
    let st = (0..<outdegree).map { decodeType(sendtypes![$0]) }
    let rts = (0..<indegree).map { decodeType(recvtypes![$0]) }
    let rc = rt.neighborAlltoallw(sendbuf, sendCounts: counts(sendcounts, outdegree), sendByteDisplacements: sd, sendTypes: st,
                                  recvbuf, recvCounts: counts(recvcounts, indegree), recvByteDisplacements: rd,
                                  recvTypes: rts, comm: c)
    return fail(rc, rt, c, fn)
}
