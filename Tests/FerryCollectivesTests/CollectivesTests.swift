// Tests of every collective at p = 1, 2, 3, 4, 5, 7, 8, on empty, one-element, small and large
// (large-message algorithm) buffers, with predefined commutative reducers and a non-commutative
// user reducer (2x2 matrix product mod a prime), in-place variants included. Results are checked
// byte for byte against serial references computed in rank order.
import Testing
import Foundation
import FerryCore
import FerryReduce
@testable import FerryCollectives

let rankCounts = [1, 2, 3, 4, 5, 7, 8]

// MARK: - reducers and data

/// The reducers under test. `.matrix` is a non-commutative user op: elements are 2x2 matrices
/// of UInt64 mod 1_000_003 and `a op b` is the product a * b.
enum Kind: CaseIterable, Sendable, CustomStringConvertible {
    case sumInt, maxDouble, minlocDoubleInt, matrix

    var description: String {
        switch self {
        case .sumInt: return "sum(int)"
        case .maxDouble: return "max(double)"
        case .minlocDoubleInt: return "minloc(double_int)"
        case .matrix: return "matrix-product"
        }
    }

    var reducer: Reducer {
        switch self {
        case .sumInt: return .predefined(.sum, .int)
        case .maxDouble: return .predefined(.max, .double)
        case .minlocDoubleInt: return .predefined(.minloc, .doubleInt)
        case .matrix:
            return Reducer(elementSize: 32, isCommutative: false) { input, target, count in
                let p: UInt64 = 1_000_003
                for e in 0..<count {
                    let a = (0..<4).map { input.load(fromByteOffset: e * 32 + $0 * 8, as: UInt64.self) }
                    let b = (0..<4).map { UnsafeRawPointer(target).load(fromByteOffset: e * 32 + $0 * 8, as: UInt64.self) }
                    let c = [(a[0] * b[0] + a[1] * b[2]) % p, (a[0] * b[1] + a[1] * b[3]) % p,
                             (a[2] * b[0] + a[3] * b[2]) % p, (a[2] * b[1] + a[3] * b[3]) % p]
                    for k in 0..<4 { target.storeBytes(of: c[k], toByteOffset: e * 32 + k * 8, as: UInt64.self) }
                }
            }
        }
    }

    /// A count whose byte size takes every large-message path (> 64 KiB), and not a multiple of 8.
    var largeCount: Int { 90_003 / reducer.elementSize }

    /// Rank `rank`'s input: `count` elements, deterministic, padding bytes zero.
    func input(rank: Int, count: Int) -> [UInt8] {
        let es = reducer.elementSize
        var out = [UInt8](repeating: 0, count: count * es)
        out.withUnsafeMutableBytes { p in
            for i in 0..<count {
                let o = i * es
                switch self {
                case .sumInt: p.storeBytes(of: Int32(truncatingIfNeeded: rank &* 1_000_003 &+ i &* 7919), toByteOffset: o, as: Int32.self)
                case .maxDouble: p.storeBytes(of: Double((rank * 7919 + i * 104_729) % 1009) - 500, toByteOffset: o, as: Double.self)
                case .minlocDoubleInt:
                    p.storeBytes(of: Double((rank * 31 + i * 17) % 5), toByteOffset: o, as: Double.self)
                    p.storeBytes(of: Int32(rank), toByteOffset: o + 8, as: Int32.self)
                case .matrix:
                    let m: [UInt64] = [UInt64((rank + i) % 7 + 1), UInt64((rank * 3 + i) % 5),
                                       UInt64((rank * 5 + 2 * i) % 11), UInt64(rank % 2 + 1)]
                    for k in 0..<4 { p.storeBytes(of: m[k], toByteOffset: o + k * 8, as: UInt64.self) }
                }
            }
        }
        return out
    }

    /// x(lo) op ... op x(hi - 1), folded left to right in rank order.
    func reference(ranks: Range<Int>, count: Int) -> [UInt8] {
        let r = reducer
        var acc = input(rank: ranks.lowerBound, count: count)
        for k in ranks.dropFirst() {
            var next = input(rank: k, count: count)
            if count > 0 {
                acc.withUnsafeBytes { a in next.withUnsafeMutableBytes { b in r.combine(a.baseAddress!, b.baseAddress!, count) } }
            }
            acc = next
        }
        return acc
    }

    func counts(_ large: Bool) -> [Int] { large ? [largeCount, 1] : [0, 1, 5, 67] }
}

/// Bytes `0..<n` of a deterministic pattern specific to `seed`.
func pattern(_ seed: Int, _ n: Int) -> [UInt8] {
    (0..<n).map { UInt8(truncatingIfNeeded: ($0 &* 131) ^ (seed &* 29 &+ 7) ^ ($0 >> 8)) }
}

func expectNoFailures(_ f: [String], _ what: @autoclosure () -> String) {
    #expect(f.isEmpty, "\(what()): \(f.prefix(3))")
}

/// Whether the result at a rank matches, comparing only where `count > 0` makes sense.
func check(_ got: [UInt8]?, _ want: [UInt8], _ what: @autoclosure () -> String) {
    #expect(got == want, "\(what())")
}

// MARK: - barrier and broadcast

@Suite(.timeLimit(.minutes(2))) struct BarrierAndBcastTests {
    /// No rank leaves the barrier before every rank has entered it (repeated 5 times).
    @Test(arguments: rankCounts)
    func barrierSynchronizes(n: Int) {
        let entered = Slots<Int>(1)
        let lock = NSLockBox()
        entered[0] = 0
        let (results, failures) = runRanks(n) { ep -> Bool in
            var ok = true
            for round in 1...5 {
                lock.withLock { entered[0]! += 1 }
                if Collectives.barrier(ep) != 0 { return false }
                ok = ok && lock.withLock { entered[0]! >= round * n }
                if Collectives.barrier(ep) != 0 { return false }
            }
            return ok
        }
        expectNoFailures(failures, "barrier n=\(n)")
        #expect(results.allSatisfy { $0 == true })
    }

    /// Every rank ends with the root's bytes, for every root and sizes 0 ... > 64 KiB.
    @Test(arguments: rankCounts)
    func bcastDeliversRootBuffer(n: Int) {
        for bytes in [0, 1, 100, 100_003] {
            for root in 0..<n {
                let want = pattern(root, bytes)
                let (results, failures) = runRanks(n) { ep -> [UInt8]? in
                    var buf = ep.rank == root ? want : [UInt8](repeating: 0xEE, count: bytes)
                    let rc = buf.withUnsafeMutableBytes { Collectives.bcast(ep, buffer: $0.baseAddress, bytes: bytes, root: root) }
                    return rc == 0 ? buf : nil
                }
                expectNoFailures(failures, "bcast n=\(n) bytes=\(bytes) root=\(root)")
                for (r, got) in results.enumerated() { check(got ?? nil, want, "bcast n=\(n) bytes=\(bytes) root=\(root) rank=\(r)") }
            }
        }
    }
}

/// A lock usable from the rank threads.
final class NSLockBox: @unchecked Sendable {
    private let lock = NSCondition()
    func withLock<R>(_ f: () -> R) -> R { lock.lock(); defer { lock.unlock() }; return f() }
}

// MARK: - reductions

@Suite(.timeLimit(.minutes(3))) struct ReductionCollectiveTests {
    /// Reduce to every root equals the rank-order fold, for each reducer, small and large counts,
    /// with and without MPI_IN_PLACE at the root.
    @Test(arguments: rankCounts, [false, true])
    func reduceMatchesSerialFold(n: Int, large: Bool) {
        for kind in Kind.allCases {
            for count in kind.counts(large) {
                let want = kind.reference(ranks: 0..<n, count: count)
                let bytes = count * kind.reducer.elementSize
                for root in (large ? [0, n - 1] : Array(0..<n)) {
                    for inPlace in [false, true] {
                        let (results, failures) = runRanks(n) { ep -> [UInt8]? in
                            let mine = kind.input(rank: ep.rank, count: count)
                            let isRoot = ep.rank == root
                            var out = isRoot && inPlace ? mine : [UInt8](repeating: 0xEE, count: bytes)
                            let rc = mine.withUnsafeBytes { s in out.withUnsafeMutableBytes { o in
                                Collectives.reduce(ep, send: isRoot && inPlace ? nil : s.baseAddress,
                                                   recv: isRoot ? o.baseAddress : nil, count: count, kind.reducer, root: root) } }
                            return rc == 0 ? out : nil
                        }
                        let what = "reduce \(kind) n=\(n) count=\(count) root=\(root) inPlace=\(inPlace)"
                        expectNoFailures(failures, what)
                        check(results[root] ?? nil, want, what)
                        #expect(results.allSatisfy { $0 != nil }, "\(what): a rank returned an error")
                    }
                }
            }
        }
    }

    /// Allreduce gives every rank the rank-order fold (in place and not).
    @Test(arguments: rankCounts, [false, true])
    func allreduceMatchesSerialFold(n: Int, large: Bool) {
        for kind in Kind.allCases {
            for count in kind.counts(large) {
                let want = kind.reference(ranks: 0..<n, count: count)
                for inPlace in [false, true] {
                    let (results, failures) = runRanks(n) { ep -> [UInt8]? in
                        let mine = kind.input(rank: ep.rank, count: count)
                        var out = inPlace ? mine : [UInt8](repeating: 0xEE, count: mine.count)
                        let rc = mine.withUnsafeBytes { s in out.withUnsafeMutableBytes { o in
                            Collectives.allreduce(ep, send: inPlace ? nil : s.baseAddress, recv: o.baseAddress!,
                                                  count: count, kind.reducer) } }
                        return rc == 0 ? out : nil
                    }
                    let what = "allreduce \(kind) n=\(n) count=\(count) inPlace=\(inPlace)"
                    expectNoFailures(failures, what)
                    for (r, got) in results.enumerated() { check(got ?? nil, want, "\(what) rank=\(r)") }
                }
            }
        }
    }

    /// Reduce-scatter-block: rank i gets block i of the rank-order fold (in place and not).
    @Test(arguments: rankCounts, [false, true])
    func reduceScatterBlockMatchesSerialFold(n: Int, large: Bool) {
        for kind in Kind.allCases {
            let es = kind.reducer.elementSize
            for recvCount in (large ? [kind.largeCount / n + 1] : [0, 1, 3, 10]) {
                let total = recvCount * n
                let want = kind.reference(ranks: 0..<n, count: total)
                for inPlace in [false, true] {
                    let (results, failures) = runRanks(n) { ep -> [UInt8]? in
                        let mine = kind.input(rank: ep.rank, count: total)
                        var out = inPlace ? mine : [UInt8](repeating: 0xEE, count: recvCount * es)
                        let rc = mine.withUnsafeBytes { s in out.withUnsafeMutableBytes { o in
                            Collectives.reduceScatterBlock(ep, send: inPlace ? nil : s.baseAddress, recv: o.baseAddress!,
                                                           recvCount: recvCount, kind.reducer) } }
                        return rc == 0 ? Array(out.prefix(recvCount * es)) : nil
                    }
                    let what = "reduceScatterBlock \(kind) n=\(n) recvCount=\(recvCount) inPlace=\(inPlace)"
                    expectNoFailures(failures, what)
                    for (r, got) in results.enumerated() {
                        check(got ?? nil, Array(want[(r * recvCount * es)..<((r + 1) * recvCount * es)]), "\(what) rank=\(r)")
                    }
                }
            }
        }
    }

    /// Scan gives rank i the fold of ranks 0...i; exscan the fold of 0..<i (rank 0 untouched).
    @Test(arguments: rankCounts, [false, true])
    func scanAndExscanMatchPrefixFolds(n: Int, exclusive: Bool) {
        for kind in Kind.allCases {
            for count in kind.counts(false) + [kind.largeCount / 4] {
                for inPlace in [false, true] {
                    let (results, failures) = runRanks(n) { ep -> [UInt8]? in
                        let mine = kind.input(rank: ep.rank, count: count)
                        var out = inPlace ? mine : [UInt8](repeating: 0xEE, count: mine.count)
                        let rc = mine.withUnsafeBytes { s in out.withUnsafeMutableBytes { o in
                            exclusive
                                ? Collectives.exscan(ep, send: inPlace ? nil : s.baseAddress, recv: o.baseAddress!, count: count, kind.reducer)
                                : Collectives.scan(ep, send: inPlace ? nil : s.baseAddress, recv: o.baseAddress!, count: count, kind.reducer)
                        } }
                        return rc == 0 ? out : nil
                    }
                    let what = "\(exclusive ? "exscan" : "scan") \(kind) n=\(n) count=\(count) inPlace=\(inPlace)"
                    expectNoFailures(failures, what)
                    for (r, got) in results.enumerated() {
                        if exclusive && r == 0 {
                            let untouched = inPlace ? kind.input(rank: 0, count: count)
                                                    : [UInt8](repeating: 0xEE, count: count * kind.reducer.elementSize)
                            check(got ?? nil, untouched, "\(what) rank 0 untouched")
                        } else {
                            check(got ?? nil, kind.reference(ranks: 0..<(exclusive ? r : r + 1), count: count), "\(what) rank=\(r)")
                        }
                    }
                }
            }
        }
    }
}

// MARK: - data movement

@Suite(.timeLimit(.minutes(2))) struct DataMovementTests {
    /// Gather collects rank i's block at slot i on every root (in place at the root too).
    @Test(arguments: rankCounts)
    func gatherCollectsBlocks(n: Int) {
        for b in [0, 1, 24, 9000] {
            let want = (0..<n).flatMap { pattern($0, b) }
            for root in 0..<n {
                for inPlace in [false, true] {
                    let (results, failures) = runRanks(n) { ep -> [UInt8]? in
                        let mine = pattern(ep.rank, b)
                        let isRoot = ep.rank == root
                        var out = [UInt8](repeating: 0xEE, count: isRoot ? n * b : 0)
                        if isRoot && inPlace { out.replaceSubrange((root * b)..<((root + 1) * b), with: mine) }
                        let rc = mine.withUnsafeBytes { s in out.withUnsafeMutableBytes { o in
                            Collectives.gather(ep, send: isRoot && inPlace ? nil : s.baseAddress, recv: o.baseAddress,
                                               blockBytes: b, root: root) } }
                        return rc == 0 ? out : nil
                    }
                    let what = "gather n=\(n) b=\(b) root=\(root) inPlace=\(inPlace)"
                    expectNoFailures(failures, what)
                    check(results[root] ?? nil, want, what)
                }
            }
        }
    }

    /// Scatter hands slot i of the root's buffer to rank i (in place at the root too).
    @Test(arguments: rankCounts)
    func scatterDistributesBlocks(n: Int) {
        for b in [0, 1, 24, 9000] {
            let all = (0..<n).flatMap { pattern($0 + 100, b) }
            for root in 0..<n {
                for inPlace in [false, true] {
                    let (results, failures) = runRanks(n) { ep -> [UInt8]? in
                        let isRoot = ep.rank == root
                        let src = isRoot ? all : []
                        var out = [UInt8](repeating: 0xEE, count: b)
                        let rc = src.withUnsafeBytes { s in out.withUnsafeMutableBytes { o in
                            Collectives.scatter(ep, send: isRoot ? s.baseAddress : nil,
                                                recv: isRoot && inPlace ? nil : o.baseAddress, blockBytes: b, root: root) } }
                        return rc == 0 ? (isRoot && inPlace ? Array(all[(root * b)..<((root + 1) * b)]) : out) : nil
                    }
                    let what = "scatter n=\(n) b=\(b) root=\(root) inPlace=\(inPlace)"
                    expectNoFailures(failures, what)
                    for (r, got) in results.enumerated() { check(got ?? nil, pattern(r + 100, b), "\(what) rank=\(r)") }
                }
            }
        }
    }

    /// Allgather: every rank holds every block in rank order (in place too), small and ring sizes.
    @Test(arguments: rankCounts)
    func allgatherCollectsEverywhere(n: Int) {
        for b in [0, 1, 100, 40_000] {
            let want = (0..<n).flatMap { pattern($0, b) }
            for inPlace in [false, true] {
                let (results, failures) = runRanks(n) { ep -> [UInt8]? in
                    let mine = pattern(ep.rank, b)
                    var out = [UInt8](repeating: 0xEE, count: n * b)
                    if inPlace { out.replaceSubrange((ep.rank * b)..<((ep.rank + 1) * b), with: mine) }
                    let rc = mine.withUnsafeBytes { s in out.withUnsafeMutableBytes { o in
                        Collectives.allgather(ep, send: inPlace ? nil : s.baseAddress, recv: o.baseAddress!, blockBytes: b) } }
                    return rc == 0 ? out : nil
                }
                let what = "allgather n=\(n) b=\(b) inPlace=\(inPlace)"
                expectNoFailures(failures, what)
                for (r, got) in results.enumerated() { check(got ?? nil, want, "\(what) rank=\(r)") }
            }
        }
    }

    /// Alltoall: block j of rank i lands at block i of rank j (Bruck and pairwise; in place too).
    @Test(arguments: rankCounts)
    func alltoallTransposesBlocks(n: Int) {
        for b in [0, 1, 16, 256, 300, 20_000] {
            for inPlace in [false, true] {
                let (results, failures) = runRanks(n) { ep -> [UInt8]? in
                    let mine = (0..<n).flatMap { pattern(ep.rank * 64 + $0, b) }
                    var out = inPlace ? mine : [UInt8](repeating: 0xEE, count: n * b)
                    let rc = mine.withUnsafeBytes { s in out.withUnsafeMutableBytes { o in
                        Collectives.alltoall(ep, send: inPlace ? nil : s.baseAddress, recv: o.baseAddress!, blockBytes: b) } }
                    return rc == 0 ? out : nil
                }
                let what = "alltoall n=\(n) b=\(b) inPlace=\(inPlace)"
                expectNoFailures(failures, what)
                for (r, got) in results.enumerated() {
                    check(got ?? nil, (0..<n).flatMap { pattern($0 * 64 + r, b) }, "\(what) rank=\(r)")
                }
            }
        }
    }
}

// MARK: - selection and errors

@Suite struct SelectionAndErrorTests {
    /// The sizes used above reach every algorithm, including the large-message ones.
    @Test func testSizesReachEveryAlgorithm() {
        #expect(Algorithm.bcast(bytes: 100_003, size: 3) == .scatterRingAllgather)
        #expect(Algorithm.bcast(bytes: 100_003, size: 2) == .binomial)
        #expect(Algorithm.bcast(bytes: 100, size: 8) == .binomial)
        for kind in Kind.allCases where kind.reducer.isCommutative {
            let r = kind.reducer
            for n in rankCounts.dropFirst() {
                #expect(Algorithm.reduce(count: kind.largeCount, elementSize: r.elementSize, size: n, commutative: true) == .rabenseifner)
                #expect(Algorithm.allreduce(count: kind.largeCount, elementSize: r.elementSize, size: n, commutative: true) == .rabenseifner)
                #expect(Algorithm.reduce(count: 67, elementSize: r.elementSize, size: n, commutative: true) == .binomial)
                #expect(Algorithm.allreduce(count: 67, elementSize: r.elementSize, size: n, commutative: true) == .recursiveDoubling)
            }
        }
        #expect(Algorithm.reduce(count: 1 << 20, elementSize: 32, size: 5, commutative: false) == .orderedBinomial)
        #expect(Algorithm.allreduce(count: 1 << 20, elementSize: 32, size: 5, commutative: false) == .recursiveDoubling)
        #expect(Algorithm.allgather(blockBytes: 100, size: 8) == .recursiveDoubling)
        #expect(Algorithm.allgather(blockBytes: 100, size: 7) == .bruck)
        for n in rankCounts.dropFirst() { #expect(Algorithm.allgather(blockBytes: 40_000, size: n) == .ring) }
        #expect(Algorithm.alltoall(blockBytes: 256, size: 4) == .bruck)
        #expect(Algorithm.alltoall(blockBytes: 300, size: 8) == .pairwise)
        #expect(Algorithm.alltoall(blockBytes: 16, size: 3) == .pairwise)
    }

    /// Tags stay inside the reserved collective range and are distinct.
    @Test func tagsAreReservedAndDistinct() {
        let tags: [Int32] = [CollectiveTag.barrier, CollectiveTag.bcast, CollectiveTag.bcastScatter, CollectiveTag.bcastAllgather,
                             CollectiveTag.reduce, CollectiveTag.allreduce, CollectiveTag.gather, CollectiveTag.scatter,
                             CollectiveTag.allgather, CollectiveTag.alltoall, CollectiveTag.reduceScatterBlock,
                             CollectiveTag.scan, CollectiveTag.exscan]
        #expect(Set(tags).count == tags.count)
        #expect(tags.allSatisfy { CollectiveTag.reserved.contains($0) })
    }

    /// A transport error comes back as the collective's return code; bad roots are rejected.
    @Test func errorsPropagate() {
        struct Broken: CollectiveTransport {
            var rank: Int, size: Int
            func send(_ b: UnsafeRawBufferPointer, to d: Int, tag: Int32) -> Int32 { 42 }
            func recv(_ b: UnsafeMutableRawBufferPointer, from s: Int, tag: Int32) -> Int32 { 43 }
            func sendRecv(_ s: UnsafeRawBufferPointer, to d: Int, _ r: UnsafeMutableRawBufferPointer, from: Int, tag: Int32) -> Int32 { 44 }
        }
        var x: [Int32] = [1, 2, 3, 4]
        x.withUnsafeMutableBytes { p in
            #expect(Collectives.barrier(Broken(rank: 0, size: 4)) == 44)
            #expect(Collectives.bcast(Broken(rank: 1, size: 4), buffer: p.baseAddress, bytes: 16, root: 0) == 43)
            #expect(Collectives.bcast(Broken(rank: 0, size: 4), buffer: p.baseAddress, bytes: 16, root: 0) == 42)
            #expect(Collectives.allreduce(Broken(rank: 0, size: 4), send: nil, recv: p.baseAddress!, count: 4,
                                          .predefined(.sum, .int)) == 44)
            #expect(Collectives.bcast(Broken(rank: 0, size: 4), buffer: p.baseAddress, bytes: 16, root: 4)
                    == ErrorClass.root.rawValue)
        }
    }
}
