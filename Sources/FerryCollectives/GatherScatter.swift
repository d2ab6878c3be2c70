// Gather, scatter, allgather and alltoall: pure data movement, in blocks of `blockBytes` bytes
// (one rank's contribution). Called by the runtime's MPI_Gather, MPI_Scatter, MPI_Allgather
// and MPI_Alltoall once datatypes are reduced to contiguous bytes.
import FerryCore

extension Collectives {
    /// MPI_Gather: rank i's `send` block lands at `recv + i * blockBytes` on `root`.
    /// `send == nil` at the root is MPI_IN_PLACE (its block is already in place in `recv`);
    /// `recv` is ignored elsewhere. Binomial tree: each subtree forwards its blocks in one message.
    public static func gather<T: CollectiveTransport>(_ t: T, send: UnsafeRawPointer?, recv: UnsafeMutableRawPointer?,
                                                      blockBytes: Int, root: Int) -> Int32 {
        let n = t.size, rank = t.rank, b = blockBytes
        guard root >= 0 && root < n else { return ErrorClass.root.rawValue }
        guard b >= 0 else { return ErrorClass.count.rawValue }
        guard b == 0 || ((send != nil || rank == root) && (recv != nil || rank != root)) else {
            return ErrorClass.buffer.rawValue
        }
        guard b > 0 else { return mpiSuccess }
        if n == 1 { copyBytes(recv, send, b); return mpiSuccess }
        let tag = CollectiveTag.gather
        let tree = BinomialTree(rank: rank, size: n, root: root)
        let own = send ?? UnsafeRawPointer(recv! + rank * b)
        return runCollective { () throws(CollectiveFailure) in
            let sub = tree.subtreeSize
            if sub == 1 { try t.sendBytes(own, b, to: tree.parent, tag: tag); return }
            // Relative layout: block j of `buffer` belongs to relative rank vr + j.
            let direct = tree.vr == 0 && root == 0
            let scratch = Scratch(bytes: direct ? 0 : sub * b)
            let buffer = direct ? recv! : scratch.base
            copyBytes(buffer, own, b)
            var m = 1
            while m < tree.span && tree.vr + m < n {
                try t.recvBytes(buffer + m * b, Swift.min(m, n - tree.vr - m) * b, from: tree.real(tree.vr + m), tag: tag)
                m <<= 1
            }
            if tree.vr != 0 { try t.sendBytes(buffer, sub * b, to: tree.parent, tag: tag); return }
            if !direct {   // rotate relative order into rank order
                copyBytes(recv! + root * b, buffer, (n - root) * b)
                copyBytes(recv!, buffer + (n - root) * b, root * b)
            }
        }
    }

    /// MPI_Scatter: block i of `root`'s `send` (at `send + i * blockBytes`) lands in rank i's `recv`.
    /// `recv == nil` at the root is MPI_IN_PLACE (its block stays in `send`); `send` is ignored
    /// elsewhere. Binomial tree.
    public static func scatter<T: CollectiveTransport>(_ t: T, send: UnsafeRawPointer?, recv: UnsafeMutableRawPointer?,
                                                       blockBytes: Int, root: Int) -> Int32 {
        let n = t.size, rank = t.rank
        guard root >= 0 && root < n else { return ErrorClass.root.rawValue }
        guard blockBytes >= 0 else { return ErrorClass.count.rawValue }
        guard blockBytes == 0 || ((send != nil || rank != root) && (recv != nil || rank == root)) else {
            return ErrorClass.buffer.rawValue
        }
        guard blockBytes > 0 else { return mpiSuccess }
        return runCollective { () throws(CollectiveFailure) in
            try binomialScatter(t, send, recv, blockBytes: blockBytes, root: root, tag: CollectiveTag.scatter)
        }
    }

    static func binomialScatter<T: CollectiveTransport>(_ t: T, _ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?,
                                                        blockBytes b: Int, root: Int, tag: Int32) throws(CollectiveFailure) {
        let n = t.size, rank = t.rank
        if n == 1 { copyBytes(recv, send, b); return }
        let tree = BinomialTree(rank: rank, size: n, root: root)
        let sub = tree.subtreeSize
        if sub == 1 { try t.recvBytes(recv, b, from: tree.parent, tag: tag); return }
        // Relative layout: block j of `buffer` belongs to relative rank vr + j.
        let direct = tree.vr == 0 && root == 0
        let scratch = Scratch(bytes: direct ? 0 : sub * b)
        let buffer = direct ? UnsafeMutableRawPointer(mutating: send!) : scratch.base
        if tree.vr == 0 {
            if !direct {
                copyBytes(buffer, send! + root * b, (n - root) * b)
                copyBytes(buffer + (n - root) * b, send!, root * b)
            }
        } else {
            try t.recvBytes(buffer, sub * b, from: tree.parent, tag: tag)
        }
        var m = tree.span >> 1
        while m > 0 {
            if tree.vr + m < n {
                try t.sendBytes(buffer + m * b, Swift.min(m, n - tree.vr - m) * b, to: tree.real(tree.vr + m), tag: tag)
            }
            m >>= 1
        }
        copyBytes(recv, buffer, b)   // recv == nil at an in-place root: its block stays in send
    }

    /// MPI_Allgather: every rank's `recv + i * blockBytes` gets rank i's `send` block.
    /// `send == nil` is MPI_IN_PLACE (each rank's block already at its slot in `recv`).
    /// Recursive doubling (power-of-two p) or Bruck (other p) for small totals; a ring for large.
    public static func allgather<T: CollectiveTransport>(_ t: T, send: UnsafeRawPointer?, recv: UnsafeMutableRawPointer,
                                                         blockBytes: Int) -> Int32 {
        let n = t.size, rank = t.rank, b = blockBytes
        guard b >= 0 else { return ErrorClass.count.rawValue }
        guard b > 0 else { return mpiSuccess }
        copyBytes(recv + rank * b, send, b)
        if n == 1 { return mpiSuccess }
        let tag = CollectiveTag.allgather
        return runCollective { () throws(CollectiveFailure) in
            switch Algorithm.allgather(blockBytes: b, size: n) {
            case .recursiveDoubling:
                var mask = 1
                while mask < n {
                    let partner = rank ^ mask
                    let mine = rank & ~(mask - 1), theirs = partner & ~(mask - 1)
                    try t.exchange(recv + mine * b, mask * b, to: partner, recv + theirs * b, mask * b, from: partner, tag: tag)
                    mask <<= 1
                }
            case .bruck:
                // tmp block j holds rank (rank + j) mod p's block.
                let tmp = Scratch(bytes: n * b)
                copyBytes(tmp.base, recv + rank * b, b)
                var k = 1
                while k < n {
                    let c = Swift.min(k, n - k)
                    try t.exchange(tmp.base, c * b, to: (rank - k + n) % n, tmp.base + k * b, c * b, from: (rank + k) % n, tag: tag)
                    k <<= 1
                }
                copyBytes(recv + rank * b, tmp.base, (n - rank) * b)
                copyBytes(recv, tmp.base + (n - rank) * b, rank * b)
            case .ring:
                let right = (rank + 1) % n, left = (rank - 1 + n) % n
                for s in 0..<(n - 1) {
                    let out = (rank - s + n) % n, inc = (rank - s - 1 + 2 * n) % n
                    try t.exchange(recv + out * b, b, to: right, recv + inc * b, b, from: left, tag: tag)
                }
            }
        }
    }

    /// MPI_Alltoall: block j of rank i's `send` lands at block i of rank j's `recv`.
    /// `send == nil` is MPI_IN_PLACE (input in `recv`, replaced by the output).
    /// Bruck (log p messages) for small blocks; pairwise exchange (p - 1 steps) otherwise.
    public static func alltoall<T: CollectiveTransport>(_ t: T, send: UnsafeRawPointer?, recv: UnsafeMutableRawPointer,
                                                        blockBytes: Int) -> Int32 {
        let n = t.size, rank = t.rank, b = blockBytes
        guard b >= 0 else { return ErrorClass.count.rawValue }
        guard b > 0 else { return mpiSuccess }
        let tag = CollectiveTag.alltoall
        // In place: keep a copy of the input, since output blocks overwrite input blocks.
        let inputCopy = Scratch(bytes: send == nil ? n * b : 0)
        if send == nil { copyBytes(inputCopy.base, recv, n * b) }
        let input = send ?? UnsafeRawPointer(inputCopy.base)
        return runCollective { () throws(CollectiveFailure) in
            switch Algorithm.alltoall(blockBytes: b, size: n) {
            case .pairwise:
                copyBytes(recv + rank * b, input + rank * b, b)
                for i in 1..<Swift.max(n, 1) {
                    let dst = (rank + i) % n, src = (rank - i + n) % n
                    try t.exchange(input + dst * b, b, to: dst, recv + src * b, b, from: src, tag: tag)
                }
            case .bruck:
                // Phase 1: tmp block j = block for rank (rank + j). Phase 2: in step k, blocks
                // whose index has bit k travel k ranks up. Phase 3: block j came from rank - j.
                let tmp = Scratch(bytes: n * b)
                copyBytes(tmp.base, input + rank * b, (n - rank) * b)
                copyBytes(tmp.base + (n - rank) * b, input, rank * b)
                let pack = Scratch(bytes: (n / 2 + 1) * b), unpack = Scratch(bytes: (n / 2 + 1) * b)
                var k = 1
                while k < n {
                    var c = 0
                    for j in 0..<n where j & k != 0 {
                        copyBytes(pack.base + c * b, tmp.base + j * b, b); c += 1
                    }
                    try t.exchange(pack.base, c * b, to: (rank + k) % n, unpack.base, c * b, from: (rank - k + n) % n, tag: tag)
                    c = 0
                    for j in 0..<n where j & k != 0 {
                        copyBytes(tmp.base + j * b, unpack.base + c * b, b); c += 1
                    }
                    k <<= 1
                }
                for j in 0..<n { copyBytes(recv + ((rank - j + n) % n) * b, tmp.base + j * b, b) }
            }
        }
    }
}
