// Process groups: an ordered list of world ranks. Every group operation of MPI-3.1 §6.3.
import FerryCore

/// An immutable ordered set of processes, named by their world ranks.
public final class Group: @unchecked Sendable {
    /// World rank of each member, in group order.
    public let worldRanks: [Int32]
    /// This process's rank in the group, or `MPIConstant.undefined`.
    public let rank: Int32
    private let indexByWorld: [Int32: Int32]

    public init(worldRanks: [Int32], myWorldRank: Int32) {
        self.worldRanks = worldRanks
        var idx = [Int32: Int32](minimumCapacity: worldRanks.count)
        for (i, w) in worldRanks.enumerated() where idx[w] == nil { idx[w] = Int32(i) }
        self.indexByWorld = idx
        self.rank = idx[myWorldRank] ?? MPIConstant.undefined
    }

    public static let empty = Group(worldRanks: [], myWorldRank: -1)

    public var size: Int { worldRanks.count }
    public func rank(ofWorld w: Int32) -> Int32? { indexByWorld[w] }
    private var me: Int32 { rank == MPIConstant.undefined ? -1 : worldRanks[Int(rank)] }
    private func make(_ ranks: [Int32]) -> Group {
        Group(worldRanks: ranks, myWorldRank: Runtime.shared?.worldRank ?? me)
    }

    /// `MPI_Group_translate_ranks`.
    public func translate(_ ranks: [Int32], to other: Group) throws(MPIError) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(ranks.count)
        for r in ranks {
            if r == MPIConstant.procNull { out.append(MPIConstant.procNull); continue }
            guard r >= 0 && Int(r) < size else { throw MPIError(.rank, "rank \(r) is not in a group of size \(size)") }
            out.append(other.rank(ofWorld: worldRanks[Int(r)]) ?? MPIConstant.undefined)
        }
        return out
    }

    /// `MPI_Group_compare`.
    public func compare(_ other: Group) -> Comparison {
        if worldRanks == other.worldRanks { return .identical }
        if size == other.size && Set(worldRanks) == Set(other.worldRanks) { return .similar }
        return .unequal
    }

    public func union(_ other: Group) -> Group {
        var r = worldRanks
        for w in other.worldRanks where indexByWorld[w] == nil { r.append(w) }
        return make(r)
    }
    public func intersection(_ other: Group) -> Group {
        make(worldRanks.filter { other.indexByWorld[$0] != nil })
    }
    public func difference(_ other: Group) -> Group {
        make(worldRanks.filter { other.indexByWorld[$0] == nil })
    }

    private func checkDistinct(_ ranks: [Int32]) throws(MPIError) {
        var seen = Set<Int32>()
        for r in ranks {
            guard r >= 0 && Int(r) < size else { throw MPIError(.rank, "rank \(r) is not in a group of size \(size)") }
            guard seen.insert(r).inserted else { throw MPIError(.rank, "rank \(r) appears twice") }
        }
    }
    public func including(_ ranks: [Int32]) throws(MPIError) -> Group {
        try checkDistinct(ranks)
        return make(ranks.map { worldRanks[Int($0)] })
    }
    public func excluding(_ ranks: [Int32]) throws(MPIError) -> Group {
        try checkDistinct(ranks)
        let drop = Set(ranks)
        return make(worldRanks.indices.filter { !drop.contains(Int32($0)) }.map { worldRanks[$0] })
    }

    /// Expands (first, last, stride) triplets into ranks, checking them as the standard asks.
    private func expand(_ ranges: [(Int32, Int32, Int32)]) throws(MPIError) -> [Int32] {
        var out: [Int32] = []
        for (first, last, stride) in ranges {
            guard stride != 0 else { throw MPIError(.arg, "range stride is 0") }
            guard first >= 0 && Int(first) < size && last >= 0 && Int(last) < size else {
                throw MPIError(.rank, "range (\(first), \(last), \(stride)) leaves a group of size \(size)")
            }
            if (stride > 0 && first > last) || (stride < 0 && first < last) { continue }
            var r = first
            while stride > 0 ? r <= last : r >= last {
                out.append(r)
                r += stride
            }
        }
        return out
    }
    public func includingRanges(_ ranges: [(Int32, Int32, Int32)]) throws(MPIError) -> Group {
        try including(try expand(ranges))
    }
    public func excludingRanges(_ ranges: [(Int32, Int32, Int32)]) throws(MPIError) -> Group {
        try excluding(try expand(ranges))
    }
}
