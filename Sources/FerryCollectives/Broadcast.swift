// Barrier and broadcast. Called by the runtime's MPI_Barrier / MPI_Bcast on a communicator's
// collective context.

import FerryCore

/// The collective algorithms. Every entry point is called by all ranks of the communicator with
/// matching arguments, returns 0 or the first error code a transport call returned, and works
/// for any number of ranks (powers of two or not).
public enum Collectives {
    /// Dissemination barrier: ceil(log2 p) rounds; in round k each rank signals rank + 2^k and
    /// waits for rank - 2^k, with zero-byte messages.
    public static func barrier<T: CollectiveTransport>(_ t: T) -> Int32 {
        let n = t.size, r = t.rank
        return runCollective { () throws(CollectiveFailure) in
            var k = 1
            while k < n {
                try t.exchange(nil, 0, to: (r + k) % n, nil, 0, from: (r - k + n) % n, tag: CollectiveTag.barrier)
                k <<= 1
            }
        }
    }

    /// Broadcast of `bytes` bytes from `root`'s `buffer` to every rank's `buffer`.
    /// Binomial tree for small messages; for large ones a binomial scatter of p chunks followed
    /// by a ring allgather (van de Geijn), which moves ~2x the message instead of log p times it.
    public static func bcast<T: CollectiveTransport>(_ t: T, buffer: UnsafeMutableRawPointer?, bytes: Int,
                                                     root: Int) -> Int32 {
        let n = t.size
        guard root >= 0 && root < n else { return ErrorClass.root.rawValue }
        guard bytes >= 0 else { return ErrorClass.count.rawValue }
        guard bytes == 0 || buffer != nil else { return ErrorClass.buffer.rawValue }
        guard n > 1 && bytes > 0 else { return mpiSuccess }
        let tree = BinomialTree(rank: t.rank, size: n, root: root)
        return runCollective { () throws(CollectiveFailure) in
            switch Algorithm.bcast(bytes: bytes, size: n) {
            case .binomial: try binomialBcast(t, tree, buffer, bytes)
            case .scatterRingAllgather: try scatterAllgatherBcast(t, tree, buffer!, bytes)
            }
        }
    }

    static func binomialBcast<T: CollectiveTransport>(_ t: T, _ tree: BinomialTree, _ buffer: UnsafeMutableRawPointer?,
                                                      _ bytes: Int) throws(CollectiveFailure) {
        if tree.vr != 0 { try t.recvBytes(buffer, bytes, from: tree.parent, tag: CollectiveTag.bcast) }
        var m = tree.span >> 1
        while m > 0 {
            if tree.vr + m < tree.size { try t.sendBytes(buffer, bytes, to: tree.real(tree.vr + m), tag: CollectiveTag.bcast) }
            m >>= 1
        }
    }

    static func scatterAllgatherBcast<T: CollectiveTransport>(_ t: T, _ tree: BinomialTree,
                                                              _ buffer: UnsafeMutableRawPointer,
                                                              _ bytes: Int) throws(CollectiveFailure) {
        let n = tree.size, vr = tree.vr
        let chunk = (bytes + n - 1) / n
        // Byte range of relative chunks lo..<hi (tail chunks may be short or empty).
        func range(_ lo: Int, _ hi: Int) -> (offset: Int, count: Int) {
            let a = Swift.min(lo * chunk, bytes), b = Swift.min(hi * chunk, bytes)
            return (a, b - a)
        }
        // Scatter: each subtree receives the chunks of its relative ranks.
        if vr != 0 {
            let mine = range(vr, vr + tree.subtreeSize)
            try t.recvBytes(buffer + mine.offset, mine.count, from: tree.parent, tag: CollectiveTag.bcastScatter)
        }
        var m = tree.span >> 1
        while m > 0 {
            if vr + m < n {
                let theirs = range(vr + m, Swift.min(vr + 2 * m, n))
                try t.sendBytes(buffer + theirs.offset, theirs.count, to: tree.real(vr + m), tag: CollectiveTag.bcastScatter)
            }
            m >>= 1
        }
        // Ring allgather: at step s, pass chunk vr - s right and take chunk vr - s - 1 from the left.
        let right = tree.real((vr + 1) % n), left = tree.real((vr - 1 + n) % n)
        for s in 0..<(n - 1) {
            let out = range((vr - s + n) % n, (vr - s + n) % n + 1)
            let inc = range((vr - s - 1 + 2 * n) % n, (vr - s - 1 + 2 * n) % n + 1)
            try t.exchange(buffer + out.offset, out.count, to: right, buffer + inc.offset, inc.count, from: left,
                           tag: CollectiveTag.bcastAllgather)
        }
    }
}
