// The flattened form of one element of a datatype, built at commit: the typed runs (type-map
// order, for external32, MPI_Get_elements and reductions) and the byte blocks (adjacent runs
// merged, for pack/unpack), each with a prefix sum of packed offsets so that a window of the
// packed stream is found by binary search instead of a walk from the start.
import FerryCore

/// Appends runs, merging a run into the previous one when it continues it in memory.
struct RunBuilder {
    var runs: [TypeRun] = []

    mutating func append(_ r: TypeRun) {
        if let last = runs.last, last.type == r.type,
           last.displacement + last.count * r.type.extent == r.displacement {
            runs[runs.count - 1].count += r.count
        } else {
            runs.append(r)
        }
    }

    /// `copies` consecutive copies of a child (runs `child`, extent `childExtent`) at `shift`.
    mutating func appendCopies(_ child: [TypeRun], childExtent: Int, at shift: Int, copies: Int) {
        guard copies > 0, !child.isEmpty else { return }
        if child.count == 1, child[0].count * child[0].type.extent == childExtent {
            // A dense child: all copies form one run (contiguous(1e9, MPI_BYTE) stays O(1)).
            let r = child[0]
            append(TypeRun(displacement: r.displacement + shift, type: r.type,
                           count: r.count * copies))
            return
        }
        for j in 0..<copies {
            let s = shift + j * childExtent
            for r in child {
                append(TypeRun(displacement: r.displacement + s, type: r.type, count: r.count))
            }
        }
    }
}

/// Flattened layout of one element. Immutable; shared by a type and its duplicates.
final class FlatLayout: @unchecked Sendable {
    let runs: [TypeRun]
    /// Packed byte offset at the start of run k; `runs.count + 1` entries.
    let runPrefix: [Int]
    /// Basic elements (pairs count 2) before run k; `runs.count + 1` entries.
    let elementPrefix: [Int]
    var elementsPerItem: Int { elementPrefix[elementPrefix.count - 1] }

    /// Byte blocks (displacement, length) in packing order, adjacent ones merged, no empty ones.
    /// When the blocks are regular (same length, constant stride) the arrays stay empty and
    /// `regular*` describe them: a vector of a million blocks costs no memory here.
    let blockCount: Int
    let blockOffsets: [Int]
    let blockLengths: [Int]
    /// Packed offset at the start of block k; `blockCount + 1` entries (irregular case).
    let blockPrefix: [Int]
    let isRegular: Bool
    let regularFirst: Int, regularLength: Int, regularStride: Int
    /// Bytes of data in one element.
    let size: Int
    /// Distance between elements.
    let extent: Int

    init(runs: [TypeRun], bounds: TypeBounds) {
        self.runs = runs
        size = bounds.size
        extent = bounds.ub - bounds.lb
        var rp = [Int](); rp.reserveCapacity(runs.count + 1)
        var ep = [Int](); ep.reserveCapacity(runs.count + 1)
        var bytes = 0, elements = 0
        var offs = [Int](), lens = [Int]()
        func addBlock(_ o: Int, _ l: Int) {
            guard l > 0 else { return }
            if let lo = offs.last, lo + lens[lens.count - 1] == o { lens[lens.count - 1] += l }
            else { offs.append(o); lens.append(l) }
        }
        for r in runs {
            rp.append(bytes); ep.append(elements)
            bytes += r.count * r.type.size
            elements += r.count * (r.type.isPair ? 2 : 1)
            if r.type.size == r.type.extent {
                addBlock(r.displacement, r.count * r.type.size)
            } else if let parts = r.type.pairParts {
                for i in 0..<r.count {
                    let d = r.displacement + i * r.type.extent
                    addBlock(d, parts.value.size)
                    addBlock(d + parts.intOffset, BasicType.int.size)
                }
            }
        }
        rp.append(bytes); ep.append(elements)
        runPrefix = rp
        elementPrefix = ep
        blockCount = offs.count
        var regular = offs.count >= 1
        if offs.count >= 2 {
            let stride = offs[1] - offs[0]
            for k in 1..<offs.count where lens[k] != lens[0] || offs[k] - offs[k - 1] != stride {
                regular = false
                break
            }
        }
        if regular {
            isRegular = true
            regularFirst = offs[0]
            regularLength = lens[0]
            regularStride = offs.count >= 2 ? offs[1] - offs[0] : 0
            blockOffsets = []; blockLengths = []; blockPrefix = []
        } else {
            isRegular = false
            regularFirst = 0; regularLength = 0; regularStride = 0
            var bp = [Int](); bp.reserveCapacity(offs.count + 1)
            var acc = 0
            for l in lens { bp.append(acc); acc += l }
            bp.append(acc)
            blockOffsets = offs; blockLengths = lens; blockPrefix = bp
        }
    }

    /// Index of the last run whose packed start is <= `offset` (offset < size).
    func runIndex(containing offset: Int) -> Int {
        upperBoundIndex(runPrefix, offset) - 1
    }
}

/// Number of leading entries of the sorted array `a` that are <= `value`.
@inline(__always)
func upperBoundIndex(_ a: [Int], _ value: Int) -> Int {
    a.withUnsafeBufferPointer { p in
        var lo = 0, hi = p.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if p[mid] <= value { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
