// A naive, independent reference for datatype tests: the type map is rebuilt from
// get_envelope/get_contents alone (recursively, with the standard's formulas), and pack/unpack
// copy entry by entry. Subarray and darray are recomputed from their index definitions.
import FerryCore
@testable import FerryDatatype

/// One type-map entry: a basic type at a displacement (pair types kept whole).
struct RefEntry: Equatable { var disp: Int; var type: BasicType }

enum Reference {
    static func typeMap(_ t: Datatype) -> [RefEntry] {
        if t.combiner == .named { return [RefEntry(disp: 0, type: t.basicType!)] }
        let (ints, addrs, types) = try! t.contents()
        func copies(_ old: Datatype, _ shift: Int) -> [RefEntry] {
            typeMap(old).map { RefEntry(disp: $0.disp + shift, type: $0.type) }
        }
        var out: [RefEntry] = []
        switch t.combiner {
        case .dup, .resized:
            out = typeMap(types[0])
        case .contiguous:
            let e = types[0].extent
            for i in 0..<ints[0] { out += copies(types[0], i * e) }
        case .vector:
            let e = types[0].extent
            for i in 0..<ints[0] { for j in 0..<ints[1] { out += copies(types[0], (i * ints[2] + j) * e) } }
        case .hvector:
            let e = types[0].extent
            for i in 0..<ints[0] { for j in 0..<ints[1] { out += copies(types[0], i * addrs[0] + j * e) } }
        case .indexed:
            let n = ints[0], e = types[0].extent
            for k in 0..<n { for j in 0..<ints[1 + k] { out += copies(types[0], (ints[1 + n + k] + j) * e) } }
        case .hindexed:
            let n = ints[0], e = types[0].extent
            for k in 0..<n { for j in 0..<ints[1 + k] { out += copies(types[0], addrs[k] + j * e) } }
        case .indexedBlock:
            let n = ints[0], e = types[0].extent
            for k in 0..<n { for j in 0..<ints[1] { out += copies(types[0], (ints[2 + k] + j) * e) } }
        case .hindexedBlock:
            let n = ints[0], e = types[0].extent
            for k in 0..<n { for j in 0..<ints[1] { out += copies(types[0], addrs[k] + j * e) } }
        case .structure:
            let n = ints[0]
            for k in 0..<n { for j in 0..<ints[1 + k] { out += copies(types[k], addrs[k] + j * types[k].extent) } }
        case .subarray:
            let n = ints[0]
            let sizes = Array(ints[1...n]), sub = Array(ints[(n + 1)...(2 * n)])
            let starts = Array(ints[(2 * n + 1)...(3 * n)])
            let order = ArrayOrder(rawValue: ints[3 * n + 1])!
            let idx = (0..<n).map { d in Array(starts[d]..<(starts[d] + sub[d])) }
            out = grid(sizes: sizes, indices: idx, order: order, types[0])
        case .darray:
            let size = ints[0], rank = ints[1], n = ints[2]
            let g = Array(ints[3..<(3 + n)])
            let dist = ints[(3 + n)..<(3 + 2 * n)].map { Distribution(rawValue: $0)! }
            let darg = Array(ints[(3 + 2 * n)..<(3 + 3 * n)])
            let ps = Array(ints[(3 + 3 * n)..<(3 + 4 * n)])
            let order = ArrayOrder(rawValue: ints[3 + 4 * n])!
            // Row-major coordinates.
            var coords = [Int](repeating: 0, count: n)
            var r = rank, procs = size
            for d in 0..<n { procs /= ps[d]; coords[d] = r / procs; r %= procs }
            let idx: [[Int]] = (0..<n).map { d in
                (0..<g[d]).filter { i in
                    switch dist[d] {
                    case .none: return true
                    case .block:
                        let b = darg[d] == Distribution.defaultArgument ? (g[d] + ps[d] - 1) / ps[d] : darg[d]
                        return i / b == coords[d]
                    case .cyclic:
                        let b = darg[d] == Distribution.defaultArgument ? 1 : darg[d]
                        return (i / b) % ps[d] == coords[d]
                    }
                }
            }
            out = grid(sizes: g, indices: idx, order: order, types[0])
        default:
            fatalError("combiner \(t.combiner) not handled")
        }
        return out
    }

    /// Elements at the given per-dimension indices of a global array, in array order.
    static func grid(sizes: [Int], indices: [[Int]], order: ArrayOrder, _ old: Datatype) -> [RefEntry] {
        let n = sizes.count
        let dims = order == .c ? Array(0..<n) : Array((0..<n).reversed())   // slowest first
        if indices.contains(where: { $0.isEmpty }) { return [] }
        var out: [RefEntry] = []
        var pos = [Int](repeating: 0, count: n)
        while true {
            var linear = 0
            for d in (order == .c ? Array(0..<n) : Array((0..<n).reversed())) {
                linear = linear * sizes[d] + indices[d][pos[d]]
            }
            out += typeMap(old).map { RefEntry(disp: $0.disp + linear * old.extent, type: $0.type) }
            // Increment the fastest dimension.
            var k = n - 1
            while k >= 0 {
                let d = dims[k]
                pos[d] += 1
                if pos[d] < indices[d].count { break }
                pos[d] = 0
                k -= 1
            }
            if k < 0 { break }
        }
        return out
    }

    /// (displacement, length) of each data piece of one element, pairs split into their parts.
    static func pieces(_ t: Datatype) -> [(Int, Int)] {
        typeMap(t).flatMap { e -> [(Int, Int)] in
            if let p = e.type.pairParts { return [(e.disp, p.value.size), (e.disp + p.intOffset, 4)] }
            return [(e.disp, e.type.size)]
        }
    }

    static func pack(_ t: Datatype, base: UnsafeRawPointer, count: Int) -> [UInt8] {
        let p = pieces(t)
        var out: [UInt8] = []
        for e in 0..<count {
            for (d, l) in p {
                for k in 0..<l { out.append(base.load(fromByteOffset: e * t.extent + d + k, as: UInt8.self)) }
            }
        }
        return out
    }

    static func unpack(_ t: Datatype, _ bytes: [UInt8], into base: UnsafeMutableRawPointer, count: Int) {
        let p = pieces(t)
        var i = 0
        for e in 0..<count {
            for (d, l) in p {
                for k in 0..<l { base.storeBytes(of: bytes[i], toByteOffset: e * t.extent + d + k, as: UInt8.self); i += 1 }
            }
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}

/// A user buffer covering `count` elements of `t`, with `base` placed so every displacement fits.
final class UserBuffer {
    let storage: UnsafeMutableRawPointer
    let length: Int
    let base: UnsafeMutableRawPointer
    init(_ t: Datatype, count: Int, fill seed: UInt64?) {
        let span = max(0, count - 1) * t.extent
        let low = min(t.trueLowerBound, t.trueLowerBound + span, t.lowerBound, 0) - 64
        let high = max(t.trueLowerBound + t.trueExtent, t.trueLowerBound + t.trueExtent + span, t.lowerBound + t.extent, 0) + 64
        length = high - low
        storage = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 16)
        base = storage - low
        var r = TestRandom(state: seed ?? 1)
        for k in 0..<length { storage.storeBytes(of: seed == nil ? 0 : UInt8(truncatingIfNeeded: r.next()), toByteOffset: k, as: UInt8.self) }
    }
    var bytes: [UInt8] { (0..<length).map { storage.load(fromByteOffset: $0, as: UInt8.self) } }
    deinit { storage.deallocate() }
}
