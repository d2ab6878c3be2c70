// Collective operations on `Communicator`, generic over `MPIElement`: scalar and array forms,
// in-place forms where the standard allows them, and "varying" forms that exchange the counts
// first so that ranks may contribute different lengths. Intracommunicators only.
import FerryCore
import FerryDatatype
import FerryRuntime

/// An array of `n` values written by `body` (which returns an error code). `T` is
/// `BitwiseCopyable`, so marking the storage initialized before it is filled is harmless: the
/// array is discarded when `body` fails.
@inline(__always)
func makeArray<T: MPIElement>(_ n: Int, _ body: (UnsafeMutableRawPointer?) -> Int32) -> ([T], Int32) {
    var rc: Int32 = 0
    let a = [T](unsafeUninitializedCapacity: n) { b, k in
        rc = body(UnsafeMutableRawPointer(b.baseAddress))
        k = n
    }
    return (a, rc)
}

/// A valid non-null address for zero-length buffers (the runtime rejects a null buffer at
/// the root even with a zero count in some collectives). Never read or written.
nonisolated(unsafe) let emptyBuffer = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)

/// Exclusive prefix sums: displacements of blocks of `counts`.
@inline(__always)
func displacements(_ counts: [Int]) -> [Int] {
    var d = [Int](repeating: 0, count: counts.count)
    var s = 0
    for i in counts.indices { d[i] = s; s += counts[i] }
    return d
}

/// Splits `flat` into blocks of `counts`.
@inline(__always)
func splitBlocks<T>(_ flat: [T], _ counts: [Int]) -> [[T]] {
    var out: [[T]] = []
    out.reserveCapacity(counts.count)
    var s = 0
    for c in counts { out.append(Array(flat[s..<s + c])); s += c }
    return out
}

extension Communicator {
    // MARK: barrier, broadcast

    /// `MPI_Barrier`: returns once every rank has entered it.
    public func barrier() throws(MPIError) {
        let rt = try runtime()
        try rt.checked(raw, "MPI_Barrier") { () throws(MPIError) in try rt.barrier(raw) }
    }

    /// `MPI_Bcast` of one value: on return every rank holds `root`'s value.
    public func broadcast<T: MPIElement>(_ value: inout T, from root: Int) throws(MPIError) {
        let rt = try runtime()
        let rc = withUnsafeMutableBytes(of: &value) { b in
            rt.bcast(b.baseAddress, count: 1, datatype: T.mpiDatatype.raw, root: Int32(clamping: root), comm: raw)
        }
        try rt.check(rc, raw, "MPI_Bcast")
    }

    /// `MPI_Bcast` of an array that has the same length on every rank.
    public func broadcast<T: MPIElement>(_ values: inout [T], from root: Int) throws(MPIError) {
        let rt = try runtime()
        let n = values.count
        let rc = values.withUnsafeMutableBytes { b in
            rt.bcast(b.baseAddress, count: n, datatype: T.mpiDatatype.raw, root: Int32(clamping: root), comm: raw)
        }
        try rt.check(rc, raw, "MPI_Bcast")
    }

    /// Broadcasts `root`'s array whatever its length (the length goes first); other ranks'
    /// arguments are ignored. Returns `root`'s array on every rank.
    public func broadcast<T: MPIElement>(array values: [T], from root: Int) throws(MPIError) -> [T] {
        var n = values.count
        try broadcast(&n, from: root)
        var out = rank == root ? values : [T](unsafeUninitializedCapacity: n) { _, k in k = n }
        try broadcast(&out, from: root)
        return out
    }

    // MARK: reduce

    /// `MPI_Reduce` of one value per rank: the result on `root`, nil elsewhere.
    public func reduce<T: MPIElement>(_ value: T, _ op: Operation, to root: Int) throws(MPIError) -> T? {
        try reduce([value], op, to: root)?.first
    }

    /// `MPI_Reduce`, element-wise over arrays of equal length: the result on `root`, nil elsewhere.
    public func reduce<T: MPIElement>(_ values: [T], _ op: Operation, to root: Int) throws(MPIError) -> [T]? {
        let rt = try runtime()
        let isRoot = rank == root
        let n = values.count
        let (out, rc): ([T], Int32) = makeArray(isRoot ? n : 0) { r in
            values.withUnsafeBytes { s in
                rt.reduce(s.baseAddress, isRoot ? r ?? emptyBuffer : nil, count: n,
                          datatype: T.mpiDatatype.raw, op: op.raw, root: Int32(clamping: root), comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Reduce")
        return isRoot ? out : nil
    }

    /// `MPI_Reduce` with `MPI_IN_PLACE` at the root: the root's `values` are its input and
    /// receive the result; other ranks' `values` are their input and stay unchanged.
    public func reduce<T: MPIElement>(inPlace values: inout [T], _ op: Operation, to root: Int) throws(MPIError) {
        let rt = try runtime()
        let n = values.count
        let rc: Int32
        if rank == root {
            rc = values.withUnsafeMutableBytes { b in
                rt.reduce(UnsafeRawPointer(Runtime.inPlace), b.baseAddress, count: n, datatype: T.mpiDatatype.raw,
                          op: op.raw, root: Int32(clamping: root), comm: raw)
            }
        } else {
            rc = values.withUnsafeBytes { b in
                rt.reduce(b.baseAddress, nil, count: n, datatype: T.mpiDatatype.raw, op: op.raw,
                          root: Int32(clamping: root), comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Reduce")
    }

    /// `MPI_Allreduce` of one value per rank.
    public func allReduce<T: MPIElement>(_ value: T, _ op: Operation) throws(MPIError) -> T {
        let r = try allReduce([value], op)
        return r[0]
    }

    /// `MPI_Allreduce`, element-wise over arrays of equal length.
    public func allReduce<T: MPIElement>(_ values: [T], _ op: Operation) throws(MPIError) -> [T] {
        let rt = try runtime()
        let n = values.count
        let (out, rc): ([T], Int32) = makeArray(n) { r in
            values.withUnsafeBytes { s in
                rt.allreduce(s.baseAddress, r, count: n, datatype: T.mpiDatatype.raw, op: op.raw, comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Allreduce")
        return out
    }

    /// `MPI_Allreduce` with `MPI_IN_PLACE`: `values` is the input and receives the result.
    public func allReduce<T: MPIElement>(inPlace values: inout [T], _ op: Operation) throws(MPIError) {
        let rt = try runtime()
        let n = values.count
        let rc = values.withUnsafeMutableBytes { b in
            rt.allreduce(UnsafeRawPointer(Runtime.inPlace), b.baseAddress, count: n, datatype: T.mpiDatatype.raw,
                         op: op.raw, comm: raw)
        }
        try rt.check(rc, raw, "MPI_Allreduce")
    }

    /// `MPI_Reduce_scatter_block`: reduces `values` (length `size * k`) element-wise and gives
    /// rank i the i-th block of `k` results.
    public func reduceScatterBlock<T: MPIElement>(_ values: [T], _ op: Operation) throws(MPIError) -> [T] {
        let rt = try runtime()
        guard size > 0, values.count % size == 0 else {
            try rt.check(ErrorClass.count.rawValue, raw, "MPI_Reduce_scatter_block")
            return []
        }
        let k = values.count / size
        let (out, rc): ([T], Int32) = makeArray(k) { r in
            values.withUnsafeBytes { s in
                rt.reduceScatterBlock(s.baseAddress, r, recvCount: k, datatype: T.mpiDatatype.raw, op: op.raw, comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Reduce_scatter_block")
        return out
    }

    /// `MPI_Reduce_scatter`: reduces `values` (length `counts.reduce(0, +)`) element-wise and
    /// gives rank i the i-th block, of `counts[i]` results.
    public func reduceScatter<T: MPIElement>(_ values: [T], counts: [Int], _ op: Operation) throws(MPIError) -> [T] {
        let rt = try runtime()
        let mine = rank < counts.count ? counts[rank] : 0
        let (out, rc): ([T], Int32) = makeArray(mine) { r in
            values.withUnsafeBytes { s in
                rt.reduceScatter(s.baseAddress, r, recvCounts: counts, datatype: T.mpiDatatype.raw, op: op.raw, comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Reduce_scatter")
        return out
    }

    /// `MPI_Scan`: rank i gets the reduction of the values of ranks 0...i.
    public func scan<T: MPIElement>(_ value: T, _ op: Operation) throws(MPIError) -> T {
        try scan([value], op)[0]
    }

    /// `MPI_Scan`, element-wise over arrays of equal length.
    public func scan<T: MPIElement>(_ values: [T], _ op: Operation) throws(MPIError) -> [T] {
        let rt = try runtime()
        let n = values.count
        let (out, rc): ([T], Int32) = makeArray(n) { r in
            values.withUnsafeBytes { s in
                rt.scan(s.baseAddress, r, count: n, datatype: T.mpiDatatype.raw, op: op.raw, comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Scan")
        return out
    }

    /// `MPI_Scan` with `MPI_IN_PLACE`.
    public func scan<T: MPIElement>(inPlace values: inout [T], _ op: Operation) throws(MPIError) {
        let rt = try runtime()
        let n = values.count
        let rc = values.withUnsafeMutableBytes { b in
            rt.scan(UnsafeRawPointer(Runtime.inPlace), b.baseAddress, count: n, datatype: T.mpiDatatype.raw, op: op.raw, comm: raw)
        }
        try rt.check(rc, raw, "MPI_Scan")
    }

    /// `MPI_Exscan`: rank i > 0 gets the reduction of the values of ranks 0..<i; rank 0 gets nil.
    public func exclusiveScan<T: MPIElement>(_ value: T, _ op: Operation) throws(MPIError) -> T? {
        try exclusiveScan([value], op)?.first
    }

    /// `MPI_Exscan`, element-wise over arrays of equal length (nil on rank 0).
    public func exclusiveScan<T: MPIElement>(_ values: [T], _ op: Operation) throws(MPIError) -> [T]? {
        let rt = try runtime()
        let n = values.count
        let (out, rc): ([T], Int32) = makeArray(n) { r in
            values.withUnsafeBytes { s in
                rt.exscan(s.baseAddress, r, count: n, datatype: T.mpiDatatype.raw, op: op.raw, comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Exscan")
        return rank == 0 ? nil : out
    }

    // MARK: gather, scatter

    /// `MPI_Gather` of one value per rank: the values in rank order on `root`, nil elsewhere.
    public func gather<T: MPIElement>(_ value: T, to root: Int) throws(MPIError) -> [T]? {
        try gather([value], to: root)
    }

    /// `MPI_Gather` of equal-length arrays: their concatenation in rank order on `root`.
    public func gather<T: MPIElement>(_ values: [T], to root: Int) throws(MPIError) -> [T]? {
        let rt = try runtime()
        let isRoot = rank == root
        let n = values.count
        let (out, rc): ([T], Int32) = makeArray(isRoot ? n * size : 0) { r in
            values.withUnsafeBytes { s in
                rt.gather(s.baseAddress, sendCount: n, sendType: T.mpiDatatype.raw,
                          isRoot ? r ?? emptyBuffer : nil, recvCount: n,
                          recvType: T.mpiDatatype.raw, root: Int32(clamping: root), comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Gather")
        return isRoot ? out : nil
    }

    /// `MPI_Gatherv` with the counts exchanged first: each rank's array (any length), in rank
    /// order, on `root`; nil elsewhere.
    public func gather<T: MPIElement>(varying values: [T], to root: Int) throws(MPIError) -> [[T]]? {
        let rt = try runtime()
        let counts = try gather(values.count, to: root)
        let isRoot = rank == root
        let c = counts ?? []
        let total = c.reduce(0, +)
        let (flat, rc): ([T], Int32) = makeArray(isRoot ? total : 0) { r in
            values.withUnsafeBytes { s in
                rt.gatherv(s.baseAddress, sendCount: values.count, sendType: T.mpiDatatype.raw,
                           isRoot ? r ?? emptyBuffer : nil, recvCounts: c,
                           displacements: displacements(c), recvType: T.mpiDatatype.raw,
                           root: Int32(clamping: root), comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Gatherv")
        return isRoot ? splitBlocks(flat, c) : nil
    }

    /// `MPI_Scatter` of one value per rank: rank i gets `values[i]` of `root`'s array (whose
    /// length must be `size`); other ranks pass nil.
    public func scatter<T: MPIElement>(_ values: [T]?, from root: Int) throws(MPIError) -> T {
        try scatter(values, count: 1, from: root)[0]
    }

    /// `MPI_Scatter` of blocks of `count` values: rank i gets block i of `root`'s array
    /// (length `size * count`); other ranks pass nil.
    public func scatter<T: MPIElement>(_ values: [T]?, count: Int, from root: Int) throws(MPIError) -> [T] {
        let rt = try runtime()
        let isRoot = rank == root
        if isRoot, (values?.count ?? 0) < count * size {
            try rt.check(ErrorClass.count.rawValue, raw, "MPI_Scatter")
        }
        let send = isRoot ? values ?? [] : []
        let (out, rc): ([T], Int32) = makeArray(count) { r in
            send.withUnsafeBytes { s in
                rt.scatter(isRoot ? s.baseAddress : nil, sendCount: count, sendType: T.mpiDatatype.raw, r,
                           recvCount: count, recvType: T.mpiDatatype.raw, root: Int32(clamping: root), comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Scatter")
        return out
    }

    /// `MPI_Scatterv` with the counts sent first: rank i gets `chunks[i]` of `root`'s
    /// `chunks` (one array per rank, any lengths); other ranks pass nil.
    public func scatter<T: MPIElement>(varying chunks: [[T]]?, from root: Int) throws(MPIError) -> [T] {
        let rt = try runtime()
        let isRoot = rank == root
        if isRoot, (chunks?.count ?? 0) != size {
            try rt.check(ErrorClass.count.rawValue, raw, "MPI_Scatterv")
        }
        let counts = isRoot ? chunks!.map(\.count) : nil
        let mine = try scatter(counts, from: root)
        let flat = isRoot ? chunks!.flatMap { $0 } : []
        let c = counts ?? []
        let (out, rc): ([T], Int32) = makeArray(mine) { r in
            flat.withUnsafeBytes { s in
                rt.scatterv(isRoot ? s.baseAddress ?? UnsafeRawPointer(emptyBuffer) : nil,
                            sendCounts: c, displacements: displacements(c),
                            sendType: T.mpiDatatype.raw, r, recvCount: mine, recvType: T.mpiDatatype.raw,
                            root: Int32(clamping: root), comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Scatterv")
        return out
    }

    // MARK: all-gather, all-to-all

    /// `MPI_Allgather` of one value per rank: every rank gets all values in rank order.
    public func allGather<T: MPIElement>(_ value: T) throws(MPIError) -> [T] {
        try allGather([value])
    }

    /// `MPI_Allgather` of equal-length arrays: every rank gets their concatenation.
    public func allGather<T: MPIElement>(_ values: [T]) throws(MPIError) -> [T] {
        let rt = try runtime()
        let n = values.count
        let (out, rc): ([T], Int32) = makeArray(n * size) { r in
            values.withUnsafeBytes { s in
                rt.allgather(s.baseAddress, sendCount: n, sendType: T.mpiDatatype.raw, r, recvCount: n,
                             recvType: T.mpiDatatype.raw, comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Allgather")
        return out
    }

    /// `MPI_Allgather` with `MPI_IN_PLACE`: `values` has `size` blocks of equal length; each
    /// rank fills block `rank`, and on return every block is filled.
    public func allGather<T: MPIElement>(inPlace values: inout [T]) throws(MPIError) {
        let rt = try runtime()
        guard size > 0, values.count % size == 0 else {
            try rt.check(ErrorClass.count.rawValue, raw, "MPI_Allgather")
            return
        }
        let k = values.count / size
        let rc = values.withUnsafeMutableBytes { b in
            rt.allgather(UnsafeRawPointer(Runtime.inPlace), sendCount: 0, sendType: T.mpiDatatype.raw, b.baseAddress,
                         recvCount: k, recvType: T.mpiDatatype.raw, comm: raw)
        }
        try rt.check(rc, raw, "MPI_Allgather")
    }

    /// `MPI_Allgatherv` with the counts exchanged first: every rank gets every rank's array.
    public func allGather<T: MPIElement>(varying values: [T]) throws(MPIError) -> [[T]] {
        let rt = try runtime()
        let counts = try allGather(values.count)
        let (flat, rc): ([T], Int32) = makeArray(counts.reduce(0, +)) { r in
            values.withUnsafeBytes { s in
                rt.allgatherv(s.baseAddress, sendCount: values.count, sendType: T.mpiDatatype.raw,
                              r ?? emptyBuffer, recvCounts: counts,
                              displacements: displacements(counts), recvType: T.mpiDatatype.raw, comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Allgatherv")
        return splitBlocks(flat, counts)
    }

    /// `MPI_Alltoall`: `values` has `size` blocks of equal length; block j goes to rank j, and
    /// block i of the result came from rank i.
    public func allToAll<T: MPIElement>(_ values: [T]) throws(MPIError) -> [T] {
        let rt = try runtime()
        guard size > 0, values.count % size == 0 else {
            try rt.check(ErrorClass.count.rawValue, raw, "MPI_Alltoall")
            return []
        }
        let k = values.count / size
        let (out, rc): ([T], Int32) = makeArray(values.count) { r in
            values.withUnsafeBytes { s in
                rt.alltoall(s.baseAddress, sendCount: k, sendType: T.mpiDatatype.raw, r, recvCount: k,
                            recvType: T.mpiDatatype.raw, comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Alltoall")
        return out
    }

    /// `MPI_Alltoallv` with the counts exchanged first: `chunks[j]` (any length) goes to rank
    /// j; element i of the result is what rank i sent here.
    public func allToAll<T: MPIElement>(varying chunks: [[T]]) throws(MPIError) -> [[T]] {
        let rt = try runtime()
        guard chunks.count == size else {
            try rt.check(ErrorClass.count.rawValue, raw, "MPI_Alltoallv")
            return []
        }
        let sendCounts = chunks.map(\.count)
        let recvCounts = try allToAll(sendCounts)
        let flat = chunks.flatMap { $0 }
        let (out, rc): ([T], Int32) = makeArray(recvCounts.reduce(0, +)) { r in
            flat.withUnsafeBytes { s in
                rt.alltoallv(s.baseAddress ?? UnsafeRawPointer(emptyBuffer),
                             sendCounts: sendCounts, sendDisplacements: displacements(sendCounts),
                             sendType: T.mpiDatatype.raw, r ?? emptyBuffer,
                             recvCounts: recvCounts, recvDisplacements: displacements(recvCounts),
                             recvType: T.mpiDatatype.raw, comm: raw)
            }
        }
        try rt.check(rc, raw, "MPI_Alltoallv")
        return splitBlocks(out, recvCounts)
    }
}
