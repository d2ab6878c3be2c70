// Inclusive and exclusive prefix reductions. Called by the runtime's MPI_Scan and MPI_Exscan.
import FerryCore

extension Collectives {
    /// MPI_Scan: rank i's `recv` gets x0 op x1 op ... op xi. `send == nil` is MPI_IN_PLACE.
    /// Recursive doubling: the partial result of the aligned block of 2^k ranks travels to the
    /// partner block; the higher block folds it in on the left, so order is kept for any reducer.
    public static func scan<T: CollectiveTransport>(_ t: T, send: UnsafeRawPointer?, recv: UnsafeMutableRawPointer,
                                                    count: Int, _ r: Reducer) -> Int32 {
        prefix(t, send: send, recv: recv, count: count, r, inclusive: true)
    }

    /// MPI_Exscan: rank i > 0's `recv` gets x0 op ... op x(i-1); rank 0's `recv` is left
    /// untouched (the standard leaves it undefined). `send == nil` is MPI_IN_PLACE.
    public static func exscan<T: CollectiveTransport>(_ t: T, send: UnsafeRawPointer?, recv: UnsafeMutableRawPointer,
                                                      count: Int, _ r: Reducer) -> Int32 {
        prefix(t, send: send, recv: recv, count: count, r, inclusive: false)
    }

    static func prefix<T: CollectiveTransport>(_ t: T, send: UnsafeRawPointer?, recv: UnsafeMutableRawPointer,
                                               count: Int, _ r: Reducer, inclusive: Bool) -> Int32 {
        guard count >= 0 else { return ErrorClass.count.rawValue }
        guard count > 0 else { return mpiSuccess }
        let n = t.size, rank = t.rank, bytes = count * r.elementSize
        let tag = inclusive ? CollectiveTag.scan : CollectiveTag.exscan
        let input = send ?? UnsafeRawPointer(recv)
        return runCollective { () throws(CollectiveFailure) in
            // partial: reduction over my aligned block of ranks (those that exist).
            let a = Scratch(bytes: bytes), b = Scratch(bytes: bytes)
            var partial = a.base, tmp = b.base
            copyBytes(partial, input, bytes)
            if inclusive { copyBytes(recv, input, bytes) }
            var haveResult = inclusive
            var mask = 1
            while mask < n {
                let partner = rank ^ mask
                if partner < n {
                    try t.exchange(partial, bytes, to: partner, tmp, bytes, from: partner, tag: tag)
                    if partner < rank {   // tmp covers the ranks just below my block
                        r.combine(tmp, partial, count)
                        if haveResult { r.combine(tmp, recv, count) } else { copyBytes(recv, tmp, bytes); haveResult = true }
                    } else if r.isCommutative {
                        r.combine(tmp, partial, count)
                    } else {
                        r.combine(partial, tmp, count)   // tmp = partial (lower) op partner
                        swap(&partial, &tmp)
                    }
                }
                mask <<= 1
            }
        }
    }
}
