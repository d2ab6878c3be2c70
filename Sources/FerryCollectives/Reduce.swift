// Reduce, allreduce and reduce-scatter-block. Called by the runtime's MPI_Reduce,
// MPI_Allreduce and MPI_Reduce_scatter_block; buffers are contiguous `count` elements of
// `reducer.elementSize` bytes. Non-commutative reducers always get algorithms whose result is
// x0 op x1 op ... op x(p-1) in rank order.
import FerryCore

extension Collectives {
    /// MPI_Reduce: the reduction of every rank's `send` (`count` elements) lands in `root`'s `recv`.
    /// `send == nil` at the root is MPI_IN_PLACE (the root's input is in `recv`); `recv` is
    /// ignored (and may be nil) elsewhere.
    /// Binomial tree (commutative, small), Rabenseifner (commutative, large), or a binomial tree
    /// rooted at rank 0 that combines in rank order plus a hop to the root (non-commutative).
    public static func reduce<T: CollectiveTransport>(_ t: T, send: UnsafeRawPointer?, recv: UnsafeMutableRawPointer?,
                                                      count: Int, _ r: Reducer, root: Int) -> Int32 {
        let n = t.size, rank = t.rank
        guard root >= 0 && root < n else { return ErrorClass.root.rawValue }
        guard count >= 0 else { return ErrorClass.count.rawValue }
        guard count == 0 || ((send != nil || rank == root) && (recv != nil || rank != root)) else {
            return ErrorClass.buffer.rawValue
        }
        guard count > 0 else { return mpiSuccess }
        let bytes = count * r.elementSize
        if n == 1 { copyBytes(recv, send, bytes); return mpiSuccess }
        return runCollective { () throws(CollectiveFailure) in
            let input = rank == root ? (send ?? UnsafeRawPointer(recv!)) : send!
            switch Algorithm.reduce(count: count, elementSize: r.elementSize, size: n, commutative: r.isCommutative) {
            case .binomial: try binomialReduce(t, input, recv, count, r, root)
            case .rabenseifner: try rabenseifnerReduce(t, input, recv, count, r, root)
            case .orderedBinomial:
                try orderedReduceToZero(t, input, rank == 0 && root == 0 ? recv : nil, count, r,
                                        tag: CollectiveTag.reduce) { result throws(CollectiveFailure) in
                    if root != 0 { try t.sendBytes(result, bytes, to: root, tag: CollectiveTag.reduce) }
                }
                if rank == root && root != 0 { try t.recvBytes(recv, bytes, from: 0, tag: CollectiveTag.reduce) }
            }
        }
    }

    /// Commutative binomial reduce on ranks relative to the root: each rank combines its
    /// children's partial results (in any order), then sends to its parent.
    static func binomialReduce<T: CollectiveTransport>(_ t: T, _ input: UnsafeRawPointer, _ recv: UnsafeMutableRawPointer?,
                                                       _ count: Int, _ r: Reducer, _ root: Int) throws(CollectiveFailure) {
        let tree = BinomialTree(rank: t.rank, size: t.size, root: root)
        let bytes = count * r.elementSize
        let hasChildren = tree.vr + 1 < tree.size && tree.span > 1
        if !hasChildren {   // a leaf sends its input as is
            try t.sendBytes(input, bytes, to: tree.parent, tag: CollectiveTag.reduce)
            return
        }
        let tmp = Scratch(bytes: bytes)
        let accScratch = Scratch(bytes: tree.vr == 0 ? 0 : bytes)
        let acc = tree.vr == 0 ? recv! : accScratch.base
        copyBytes(acc, input, bytes)
        var m = 1
        while m < tree.span && tree.vr + m < tree.size {
            try t.recvBytes(tmp.base, bytes, from: tree.real(tree.vr + m), tag: CollectiveTag.reduce)
            r.combine(tmp.base, acc, count)
            m <<= 1
        }
        if tree.vr != 0 { try t.sendBytes(acc, bytes, to: tree.parent, tag: CollectiveTag.reduce) }
    }

    /// Order-preserving binomial reduce to rank 0 (real ranks, no rotation): the partial result
    /// of rank v covers ranks v ..< v + 2^k, and the partner's block is the next one up, so
    /// every combine is (lower) op (higher). Rank 0 calls `deliver` with the result, which
    /// is also copied into `result` when given.
    static func orderedReduceToZero<T: CollectiveTransport>(
        _ t: T, _ input: UnsafeRawPointer, _ result: UnsafeMutableRawPointer?, _ count: Int, _ r: Reducer,
        tag: Int32, deliver: (UnsafeRawPointer) throws(CollectiveFailure) -> Void
    ) throws(CollectiveFailure) {
        let rank = t.rank, n = t.size, bytes = count * r.elementSize
        let tree = BinomialTree(rank: rank, size: n, root: 0)
        if n == 1 { copyBytes(result, input, bytes); try deliver(input); return }
        if !(tree.vr + 1 < n && tree.span > 1) {
            try t.sendBytes(input, bytes, to: tree.parent, tag: tag)
            return
        }
        let a = Scratch(bytes: bytes), b = Scratch(bytes: bytes)
        var acc = a.base, other = b.base
        copyBytes(acc, input, bytes)
        var m = 1
        while m < tree.span && rank + m < n {
            try t.recvBytes(other, bytes, from: rank + m, tag: tag)
            r.combine(acc, other, count)   // other = acc op other: acc holds the lower ranks
            swap(&acc, &other)
            m <<= 1
        }
        if rank != 0 { try t.sendBytes(acc, bytes, to: tree.parent, tag: tag); return }
        copyBytes(result, acc, bytes)
        try deliver(acc)
    }

    /// Rabenseifner's reduce: fold to a power of two, recursive-halving reduce-scatter, then a
    /// binomial gather of the pieces to the root (or to the rank that holds a folded root's data,
    /// which forwards the result).
    static func rabenseifnerReduce<T: CollectiveTransport>(_ t: T, _ input: UnsafeRawPointer, _ recv: UnsafeMutableRawPointer?,
                                                           _ count: Int, _ r: Reducer, _ root: Int) throws(CollectiveFailure) {
        let rank = t.rank, n = t.size, es = r.elementSize, bytes = count * es
        let tag = CollectiveTag.reduce
        let fold = PowerOfTwoFold(rank: rank, size: n)
        let workScratch = Scratch(bytes: rank == root ? 0 : bytes)
        let work = rank == root ? recv! : workScratch.base
        copyBytes(work, input, bytes)
        let tmp = Scratch(bytes: bytes)
        try fold.fold(t, work, tmp.base, count: count, r, tag: tag)
        let rootFolded = root < 2 * fold.rem && root % 2 == 0
        let targetReal = rootFolded ? root + 1 : root
        if fold.newRank >= 0 {
            let q = count / fold.pof2, extra = count % fold.pof2
            let start = { (i: Int) -> Int in i * q + Swift.min(i, extra) }
            try recursiveHalving(t, fold, work, tmp.base, r, tag: tag, pieceStart: start)
            let target = targetReal < 2 * fold.rem ? targetReal / 2 : targetReal - fold.rem
            try recursiveDoublingPieces(t, fold, work, elementSize: es, target: target, tag: tag, pieceStart: start)
        }
        if rootFolded {
            if rank == targetReal { try t.sendBytes(work, bytes, to: root, tag: tag) }
            if rank == root { try t.recvBytes(work, bytes, from: targetReal, tag: tag) }
        }
    }

    /// MPI_Allreduce: every rank's `recv` gets the reduction of all `send` buffers.
    /// `send == nil` is MPI_IN_PLACE (input in `recv`).
    /// Recursive doubling with the power-of-two fold (any reducer; order-preserving), or
    /// Rabenseifner (reduce-scatter by recursive halving + allgather by recursive doubling) for
    /// large commutative reductions.
    public static func allreduce<T: CollectiveTransport>(_ t: T, send: UnsafeRawPointer?, recv: UnsafeMutableRawPointer,
                                                         count: Int, _ r: Reducer) -> Int32 {
        guard count >= 0 else { return ErrorClass.count.rawValue }
        guard count > 0 else { return mpiSuccess }
        let n = t.size, es = r.elementSize, bytes = count * es
        copyBytes(recv, send, bytes)
        if n == 1 { return mpiSuccess }
        let tag = CollectiveTag.allreduce
        return runCollective { () throws(CollectiveFailure) in
            let fold = PowerOfTwoFold(rank: t.rank, size: n)
            let tmp = Scratch(bytes: bytes)
            try fold.fold(t, recv, tmp.base, count: count, r, tag: tag)
            if fold.newRank >= 0 {
                switch Algorithm.allreduce(count: count, elementSize: es, size: n, commutative: r.isCommutative) {
                case .rabenseifner:
                    let q = count / fold.pof2, extra = count % fold.pof2
                    let start = { (i: Int) -> Int in i * q + Swift.min(i, extra) }
                    try recursiveHalving(t, fold, recv, tmp.base, r, tag: tag, pieceStart: start)
                    try recursiveDoublingPieces(t, fold, recv, elementSize: es, target: nil, tag: tag, pieceStart: start)
                case .recursiveDoubling:
                    var cur = recv, other = tmp.base
                    var mask = 1
                    while mask < fold.pof2 {
                        let pn = fold.newRank ^ mask
                        try t.exchange(cur, bytes, to: fold.realRank(pn), other, bytes, from: fold.realRank(pn), tag: tag)
                        if pn < fold.newRank || r.isCommutative {
                            r.combine(other, cur, count)   // cur = partner (lower) op cur
                        } else {
                            r.combine(cur, other, count)   // other = cur (lower) op partner
                            swap(&cur, &other)
                        }
                        mask <<= 1
                    }
                    copyBytes(recv, cur, bytes)
                }
            }
            try fold.unfold(t, recv, bytes: bytes, tag: tag)
        }
    }

    /// MPI_Reduce_scatter_block: the element-wise reduction of every rank's `send` (p * recvCount
    /// elements) is split in p blocks and rank i's `recv` gets block i (recvCount elements).
    /// `send == nil` is MPI_IN_PLACE: the input is in `recv`, which then holds p * recvCount elements.
    /// Recursive halving (with the power-of-two fold) for commutative reducers; an order-preserving
    /// reduce to rank 0 followed by a binomial scatter otherwise.
    public static func reduceScatterBlock<T: CollectiveTransport>(_ t: T, send: UnsafeRawPointer?,
                                                                  recv: UnsafeMutableRawPointer, recvCount: Int,
                                                                  _ r: Reducer) -> Int32 {
        guard recvCount >= 0 else { return ErrorClass.count.rawValue }
        guard recvCount > 0 else { return mpiSuccess }
        let n = t.size, rank = t.rank, es = r.elementSize
        let blockBytes = recvCount * es, total = n * recvCount, totalBytes = total * es
        let input = send ?? UnsafeRawPointer(recv)
        if n == 1 { copyBytes(recv, input, blockBytes); return mpiSuccess }
        let tag = CollectiveTag.reduceScatterBlock
        return runCollective { () throws(CollectiveFailure) in
            switch Algorithm.reduceScatterBlock(commutative: r.isCommutative) {
            case .recursiveHalving:
                let fold = PowerOfTwoFold(rank: rank, size: n)
                let work = Scratch(bytes: totalBytes), tmp = Scratch(bytes: totalBytes)
                copyBytes(work.base, input, totalBytes)
                try fold.fold(t, work.base, tmp.base, count: total, r, tag: tag)
                if fold.newRank >= 0 {
                    // New rank i owns the blocks of the real ranks it stands for: 2i and 2i+1
                    // below the fold, i + rem above it.
                    let start = { (i: Int) -> Int in (i < fold.rem ? 2 * i : i + fold.rem) * recvCount }
                    try recursiveHalving(t, fold, work.base, tmp.base, r, tag: tag, pieceStart: start)
                    if rank < 2 * fold.rem {
                        try t.sendBytes(work.base + (rank - 1) * blockBytes, blockBytes, to: rank - 1, tag: tag)
                    }
                    copyBytes(recv, work.base + rank * blockBytes, blockBytes)
                } else {
                    try t.recvBytes(recv, blockBytes, from: rank + 1, tag: tag)
                }
            case .orderedReduceThenScatter:
                let all = Scratch(bytes: rank == 0 ? totalBytes : 0)
                try orderedReduceToZero(t, input, rank == 0 ? all.base : nil, total, r, tag: tag) { _ throws(CollectiveFailure) in }
                try binomialScatter(t, rank == 0 ? UnsafeRawPointer(all.base) : nil, recv, blockBytes: blockBytes,
                                    root: 0, tag: tag)
            }
        }
    }
}
