// Internal plumbing shared by the collective algorithms: typed-throw wrappers around the
// transport (the first error code unwinds the algorithm), scratch buffers, the power-of-two fold
// used by recursive doubling/halving on any process count, and byte helpers.
import FerryCore

/// The first nonzero code a transport call returned; thrown inside an algorithm and turned back
/// into an `Int32` at the public entry point.
struct CollectiveFailure: Error { let code: Int32 }

@inline(__always)
func runCollective(_ body: () throws(CollectiveFailure) -> Void) -> Int32 {
    do { try body(); return mpiSuccess } catch { return error.code }
}

extension CollectiveTransport {
    @inline(__always)
    func sendBytes(_ p: UnsafeRawPointer?, _ bytes: Int, to dest: Int, tag: Int32) throws(CollectiveFailure) {
        let rc = send(UnsafeRawBufferPointer(start: bytes > 0 ? p : nil, count: bytes), to: dest, tag: tag)
        if rc != 0 { throw CollectiveFailure(code: rc) }
    }

    @inline(__always)
    func recvBytes(_ p: UnsafeMutableRawPointer?, _ bytes: Int, from source: Int, tag: Int32) throws(CollectiveFailure) {
        let rc = recv(UnsafeMutableRawBufferPointer(start: bytes > 0 ? p : nil, count: bytes), from: source, tag: tag)
        if rc != 0 { throw CollectiveFailure(code: rc) }
    }

    @inline(__always)
    func exchange(_ sp: UnsafeRawPointer?, _ sendCount: Int, to dest: Int,
                  _ rp: UnsafeMutableRawPointer?, _ recvCount: Int, from source: Int,
                  tag: Int32) throws(CollectiveFailure) {
        let rc = sendRecv(UnsafeRawBufferPointer(start: sendCount > 0 ? sp : nil, count: sendCount), to: dest,
                          UnsafeMutableRawBufferPointer(start: recvCount > 0 ? rp : nil, count: recvCount),
                          from: source, tag: tag)
        if rc != 0 { throw CollectiveFailure(code: rc) }
    }
}

/// A temporary buffer owned by one collective call.
struct Scratch: ~Copyable {
    let base: UnsafeMutableRawPointer
    init(bytes: Int) { base = .allocate(byteCount: Swift.max(bytes, 1), alignment: 64) }
    deinit { base.deallocate() }
}

/// Copies `bytes` bytes unless the regions are the same or empty.
@inline(__always)
func copyBytes(_ dst: UnsafeMutableRawPointer?, _ src: UnsafeRawPointer?, _ bytes: Int) {
    guard bytes > 0, let dst, let src, UnsafeRawPointer(dst) != src else { return }
    dst.copyMemory(from: src, byteCount: bytes)
}

/// Largest power of two <= n (n >= 1).
@inline(__always)
func floorPowerOfTwo(_ n: Int) -> Int { 1 << (Int.bitWidth - 1 - n.leadingZeroBitCount) }

/// Smallest power of two >= n (n >= 1).
@inline(__always)
func ceilPowerOfTwo(_ n: Int) -> Int { n <= 1 ? 1 : 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount) }

/// The fold that lets power-of-two algorithms run on any p: with pof2 the largest power of two
/// <= p and rem = p - pof2, each even rank r < 2*rem hands its data to r + 1 and sits out.
/// The remaining pof2 ranks are renumbered 0..<pof2 in rank order, so a contiguous range of new
/// ranks is a contiguous range of real ranks (what non-commutative reductions need).
struct PowerOfTwoFold {
    let pof2: Int, rem: Int
    /// This rank's new rank, or -1 if it sits out.
    let newRank: Int

    init(rank: Int, size: Int) {
        pof2 = floorPowerOfTwo(size)
        rem = size - pof2
        if rank < 2 * rem { newRank = rank % 2 == 0 ? -1 : rank / 2 } else { newRank = rank - rem }
    }

    /// The real rank of a new rank.
    @inline(__always)
    func realRank(_ newRank: Int) -> Int { newRank < rem ? newRank * 2 + 1 : newRank + rem }

    /// Step 1: even ranks below 2*rem send `data` to the odd rank above, which combines it
    /// (the even rank is the lower operand). `tmp` holds `bytes` bytes.
    func fold<T: CollectiveTransport>(_ t: T, _ data: UnsafeMutableRawPointer, _ tmp: UnsafeMutableRawPointer,
                                      count: Int, _ r: Reducer, tag: Int32) throws(CollectiveFailure) {
        let rank = t.rank, bytes = count * r.elementSize
        guard rank < 2 * rem else { return }
        if rank % 2 == 0 {
            try t.sendBytes(data, bytes, to: rank + 1, tag: tag)
        } else {
            try t.recvBytes(tmp, bytes, from: rank - 1, tag: tag)
            if count > 0 { r.combine(tmp, data, count) }
        }
    }

    /// Last step: the odd ranks below 2*rem return the full result to the even rank below.
    func unfold<T: CollectiveTransport>(_ t: T, _ data: UnsafeMutableRawPointer, bytes: Int,
                                        tag: Int32) throws(CollectiveFailure) {
        let rank = t.rank
        guard rank < 2 * rem else { return }
        if rank % 2 == 0 { try t.recvBytes(data, bytes, from: rank + 1, tag: tag) }
        else { try t.sendBytes(data, bytes, to: rank - 1, tag: tag) }
    }
}

/// Recursive halving reduce-scatter among the pof2 ranks of a fold (commutative reducers only).
/// `data` holds the whole vector, split into pof2 pieces: piece i is elements
/// `pieceStart(i) ..< pieceStart(i + 1)`. Distances go pof2/2, pof2/4, ..., 1 and the lower
/// partner keeps the lower half, so new rank i ends owning piece i, fully reduced.
/// `tmp` must hold the largest piece range received, at most the whole vector.
func recursiveHalving<T: CollectiveTransport>(
    _ t: T, _ fold: PowerOfTwoFold, _ data: UnsafeMutableRawPointer, _ tmp: UnsafeMutableRawPointer,
    _ r: Reducer, tag: Int32, pieceStart: (Int) -> Int
) throws(CollectiveFailure) {
    let es = r.elementSize, me = fold.newRank
    var lo = 0, hi = fold.pof2
    var mask = fold.pof2 >> 1
    while mask > 0 {
        let partner = fold.realRank(me ^ mask)
        let mid = lo + (hi - lo) / 2
        let (keepLo, keepHi, sendLo, sendHi) = me & mask == 0 ? (lo, mid, mid, hi) : (mid, hi, lo, mid)
        let s0 = pieceStart(sendLo), s1 = pieceStart(sendHi), k0 = pieceStart(keepLo), k1 = pieceStart(keepHi)
        try t.exchange(data + s0 * es, (s1 - s0) * es, to: partner, tmp, (k1 - k0) * es, from: partner, tag: tag)
        if k1 > k0 { r.combine(tmp, data + k0 * es, k1 - k0) }
        lo = keepLo; hi = keepHi
        mask >>= 1
    }
}

/// The mirror of `recursiveHalving`: new rank i starts owning piece i; distances 1, 2, ...,
/// pof2/2; with `target == nil` every rank ends with every piece (recursive doubling allgather),
/// otherwise the pieces flow to new rank `target` only (binomial gather) and others drop out.
func recursiveDoublingPieces<T: CollectiveTransport>(
    _ t: T, _ fold: PowerOfTwoFold, _ data: UnsafeMutableRawPointer, elementSize es: Int,
    target: Int?, tag: Int32, pieceStart: (Int) -> Int
) throws(CollectiveFailure) {
    let me = fold.newRank
    var mask = 1
    while mask < fold.pof2 {
        let partner = fold.realRank(me ^ mask)
        let plo = me & ~(2 * mask - 1), pmid = plo + mask, phi = plo + 2 * mask
        let (mineLo, mineHi, theirLo, theirHi) = me & mask == 0 ? (plo, pmid, pmid, phi) : (pmid, phi, plo, pmid)
        let m0 = pieceStart(mineLo), m1 = pieceStart(mineHi), t0 = pieceStart(theirLo), t1 = pieceStart(theirHi)
        if let target {
            if me & mask != target & mask {
                try t.sendBytes(data + m0 * es, (m1 - m0) * es, to: partner, tag: tag)
                return
            }
            try t.recvBytes(data + t0 * es, (t1 - t0) * es, from: partner, tag: tag)
        } else {
            try t.exchange(data + m0 * es, (m1 - m0) * es, to: partner, data + t0 * es, (t1 - t0) * es,
                           from: partner, tag: tag)
        }
        mask <<= 1
    }
}

/// A binomial tree over ranks relative to a root: `vr = (rank - root) mod p`. The subtree of
/// `vr` covers relative ranks `vr ..< vr + subtreeSize`; its parent is `vr - span`; its children
/// are `vr + m` for powers of two `m < span` with `vr + m < p`, child `vr + m` spanning `m`.
struct BinomialTree {
    let size: Int, root: Int, vr: Int
    /// Lowest set bit of vr; for the root, the smallest power of two >= p.
    let span: Int

    init(rank: Int, size: Int, root: Int) {
        self.size = size
        self.root = root
        vr = (rank - root + size) % size
        span = vr == 0 ? ceilPowerOfTwo(size) : vr & -vr
    }

    var subtreeSize: Int { Swift.min(span, size - vr) }
    var parent: Int { real(vr - span) }
    /// The real rank of a relative rank.
    @inline(__always) func real(_ v: Int) -> Int { (v + root) % size }
}
