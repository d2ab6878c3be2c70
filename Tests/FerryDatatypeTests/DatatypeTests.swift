// Bounds, envelope/contents and native pack/unpack of every constructor, checked against
// hand-computed values (the standard's examples where it has one) and the reference walker.
import Testing
import FerryCore
@testable import FerryDatatype

let int = Datatype.predefined(.int)
let double = Datatype.predefined(.double)
let char = Datatype.predefined(.char)
let float = Datatype.predefined(.float)

/// The standard's type1 = {(double, 0), (char, 8)}, extent 16 (padded).
func type1() throws -> Datatype {
    try Datatype.structure(blockLengths: [1, 1], byteDisplacements: [0, 8], types: [double, char])
}

struct Expected {
    var size: Int, lb: Int, extent: Int, trueLB: Int, trueExtent: Int
}

/// Named catalog of derived types with hand-computed bounds.
func catalog() throws -> [(String, Datatype, Expected)] {
    let t1 = try type1()
    let shifted = try Datatype.resized(int, lowerBound: -4, extent: 16)
    return [
        ("contiguous(3,int)", try .contiguous(3, int), Expected(size: 12, lb: 0, extent: 12, trueLB: 0, trueExtent: 12)),
        ("contiguous(0,int)", try .contiguous(0, int), Expected(size: 0, lb: 0, extent: 0, trueLB: 0, trueExtent: 0)),
        ("type1", t1, Expected(size: 9, lb: 0, extent: 16, trueLB: 0, trueExtent: 9)),
        // MPI-3.1 Example 4.7: vector(2, 3, 4, type1) spans 0..<112.
        ("vector(2,3,4,type1)", try .vector(2, blockLength: 3, stride: 4, t1), Expected(size: 54, lb: 0, extent: 112, trueLB: 0, trueExtent: 105)),
        ("vector(3,2,4,double)", try .vector(3, blockLength: 2, stride: 4, double), Expected(size: 48, lb: 0, extent: 80, trueLB: 0, trueExtent: 80)),
        ("vector(3,1,-2,int)", try .vector(3, blockLength: 1, stride: -2, int), Expected(size: 12, lb: -16, extent: 20, trueLB: -16, trueExtent: 20)),
        ("hvector(2,1,12,double)", try .hvector(2, blockLength: 1, strideBytes: 12, double), Expected(size: 16, lb: 0, extent: 20, trueLB: 0, trueExtent: 20)),
        ("hvector(2,3,-40,shortInt)", try .hvector(2, blockLength: 3, strideBytes: -40, .predefined(.shortInt)), Expected(size: 36, lb: -40, extent: 64, trueLB: -40, trueExtent: 64)),
        // MPI-3.1 Example 4.9: indexed(B=(3,1), D=(4,0), type1) spans 0..<112.
        ("indexed((3,1),(4,0),type1)", try .indexed(blockLengths: [3, 1], displacements: [4, 0], t1), Expected(size: 36, lb: 0, extent: 112, trueLB: 0, trueExtent: 105)),
        ("indexed with empty block", try .indexed(blockLengths: [0, 2], displacements: [-9, 1], int), Expected(size: 8, lb: 4, extent: 8, trueLB: 4, trueExtent: 8)),
        ("hindexed((2,1),(-16,8),double)", try .hindexed(blockLengths: [2, 1], byteDisplacements: [-16, 8], double), Expected(size: 24, lb: -16, extent: 32, trueLB: -16, trueExtent: 32)),
        ("indexedBlock(2,(5,0,2),float)", try .indexedBlock(blockLength: 2, displacements: [5, 0, 2], float), Expected(size: 24, lb: 0, extent: 28, trueLB: 0, trueExtent: 28)),
        ("hindexedBlock(1,(0,3),char)", try .hindexedBlock(blockLength: 1, byteDisplacements: [3, 0], char), Expected(size: 2, lb: 0, extent: 4, trueLB: 0, trueExtent: 4)),
        // MPI-3.1 Example 4.10: struct((2,1,3), (0,16,26), (float, type1, char)); data ends at 29,
        // padded to the alignment of double.
        ("struct example 4.10", try .structure(blockLengths: [2, 1, 3], byteDisplacements: [0, 16, 26], types: [float, t1, char]), Expected(size: 20, lb: 0, extent: 32, trueLB: 0, trueExtent: 29)),
        ("struct {char; int} padded", try .structure(blockLengths: [1, 1], byteDisplacements: [0, 4], types: [char, int]), Expected(size: 5, lb: 0, extent: 8, trueLB: 0, trueExtent: 8)),
        ("struct {int; char} padded", try .structure(blockLengths: [1, 1], byteDisplacements: [0, 4], types: [int, char]), Expected(size: 5, lb: 0, extent: 8, trueLB: 0, trueExtent: 5)),
        ("resized(int,-4,16)", shifted, Expected(size: 4, lb: -4, extent: 16, trueLB: 0, trueExtent: 4)),
        ("contiguous(3,resized(int,-4,16))", try .contiguous(3, shifted), Expected(size: 12, lb: -4, extent: 48, trueLB: 0, trueExtent: 36)),
        // An explicit ub marker wins over later data and suppresses padding.
        ("struct with sticky member", try .structure(blockLengths: [1, 1], byteDisplacements: [0, 100], types: [shifted, int]), Expected(size: 8, lb: -4, extent: 16, trueLB: 0, trueExtent: 104)),
        ("resized(vector(2,1,2,int),0,4)", try .resized(try .vector(2, blockLength: 1, stride: 2, int), lowerBound: 0, extent: 4), Expected(size: 8, lb: 0, extent: 4, trueLB: 0, trueExtent: 12)),
        ("resized to zero extent", try .resized(double, lowerBound: 0, extent: 0), Expected(size: 8, lb: 0, extent: 0, trueLB: 0, trueExtent: 8)),
        ("subarray C 4x5 [1..3)x[2..5)", try .subarray(sizes: [4, 5], subsizes: [2, 3], starts: [1, 2], order: .c, int), Expected(size: 24, lb: 0, extent: 80, trueLB: 28, trueExtent: 32)),
        ("subarray Fortran 4x5 [1..3)x[2..5)", try .subarray(sizes: [4, 5], subsizes: [2, 3], starts: [1, 2], order: .fortran, int), Expected(size: 24, lb: 0, extent: 80, trueLB: 36, trueExtent: 40)),
        ("subarray 3-D C of type1", try .subarray(sizes: [3, 4, 5], subsizes: [2, 2, 3], starts: [1, 0, 1], order: .c, t1), Expected(size: 108, lb: 0, extent: 960, trueLB: 336, trueExtent: 441)),
        ("darray 6x5 block x cyclic(2) rank 3 C", try .darray(size: 4, rank: 3, globalSizes: [6, 5], distributions: [.block, .cyclic], distributionArgs: [Distribution.defaultArgument, 2], processGrid: [2, 2], order: .c, int), Expected(size: 24, lb: 0, extent: 120, trueLB: 68, trueExtent: 48)),
        ("darray 6x5 block x cyclic(2) rank 1 Fortran", try .darray(size: 4, rank: 1, globalSizes: [6, 5], distributions: [.block, .cyclic], distributionArgs: [Distribution.defaultArgument, 2], processGrid: [2, 2], order: .fortran, int), Expected(size: 24, lb: 0, extent: 120, trueLB: 48, trueExtent: 36)),
        ("darray empty block rank", try .darray(size: 4, rank: 3, globalSizes: [5], distributions: [.block], distributionArgs: [Distribution.defaultArgument], processGrid: [4], order: .c, double), Expected(size: 0, lb: 0, extent: 40, trueLB: 0, trueExtent: 0)),
        ("darray cyclic(dflt) x none x cyclic(3), Fortran", try .darray(size: 6, rank: 4, globalSizes: [7, 3, 10], distributions: [.cyclic, .none, .cyclic], distributionArgs: [Distribution.defaultArgument, Distribution.defaultArgument, 3], processGrid: [2, 1, 3], order: .fortran, double), Expected(size: 3 * 3 * 3 * 8, lb: 0, extent: 7 * 3 * 10 * 8, trueLB: (1 + 7 * 0 + 21 * 3) * 8, trueExtent: (5 + 7 * 2 + 21 * 5 - 64) * 8 + 8)),
        ("dup(vector)", try Datatype.vector(2, blockLength: 1, stride: 3, double).duplicate(), Expected(size: 16, lb: 0, extent: 32, trueLB: 0, trueExtent: 32)),
        ("struct of overlapping blocks", try .structure(blockLengths: [2, 1], byteDisplacements: [8, 8], types: [int, .predefined(.longDoubleInt)]), Expected(size: 28, lb: 8, extent: 32, trueLB: 8, trueExtent: 20)),
    ]
}

@Test("predefined types report the BasicType's size, extent and name, are committed and contiguous")
func predefinedTypes() throws {
    for t in BasicType.allCases {
        let d = Datatype.predefined(t)
        #expect(d === Datatype.predefined(t))
        #expect(d.basicType == t && d.size == t.size && d.extent == t.extent && d.lowerBound == 0)
        #expect(d.isCommitted && d.name == t.mpiName && d.combiner == .named)
        #expect(d.uniformBasicType == t)
        #expect(d.isContiguous == (t.size == t.extent && t != .shortInt))
        #expect(d.envelope() == (0, 0, 0, .named) as (Int, Int, Int, Combiner))
        #expect(throws: MPIError.self) { _ = try d.contents() }
    }
    #expect(Datatype.predefined(.shortInt).trueExtent == 8)
    #expect(Datatype.predefined(.doubleInt).trueExtent == 12)
    #expect(Datatype.predefined(.longDoubleInt).trueExtent == 20)
}

@Test("every catalog type has the hand-computed size, lb, extent, true lb and true extent")
func catalogBounds() throws {
    for (label, t, e) in try catalog() {
        #expect(t.size == e.size, "\(label) size")
        #expect(t.lowerBound == e.lb, "\(label) lb")
        #expect(t.extent == e.extent, "\(label) extent")
        #expect(t.trueLowerBound == e.trueLB, "\(label) true lb")
        #expect(t.trueExtent == e.trueExtent, "\(label) true extent")
        #expect(t.isCommitted == (t.combiner == .named), "\(label) committed before commit()")
        #expect(!t.isCommitted || t.combiner == .named)
    }
}

@Test("the flattened type map equals the reference type map built from get_contents")
func catalogTypeMaps() throws {
    for (label, t, _) in try catalog() {
        t.commit()
        var expanded: [RefEntry] = []
        for r in t.typeRuns {
            for i in 0..<r.count { expanded.append(RefEntry(disp: r.displacement + i * r.type.extent, type: r.type)) }
        }
        #expect(expanded == Reference.typeMap(t), "\(label)")
        #expect(t.size == Reference.pieces(t).reduce(0) { $0 + $1.1 }, "\(label) size vs map")
    }
}

@Test("pack of whole buffers, 1/7/61-byte chunks and random windows matches the reference walker")
func packRoundTrips() throws {
    var rng = TestRandom(state: 0x9E37_79B9_7F4A_7C15)
    for (label, t, _) in try catalog() {
        t.commit()
        for count in [0, 1, 3] {
            let src = UserBuffer(t, count: count, fill: rng.next())
            let expected = Reference.pack(t, base: src.base, count: count)
            let total = t.size * count
            #expect(expected.count == total, "\(label)")
            var packed = [UInt8](repeating: 0, count: total)
            packed.withUnsafeMutableBytes { p in
                if total > 0 { t.pack(from: src.base, count: count, packedOffset: 0, into: p.baseAddress!, bytes: total) }
            }
            #expect(packed == expected, "\(label) count \(count) whole")
            for chunk in [1, 7, 61] {
                var chunked = [UInt8](repeating: 0, count: total)
                chunked.withUnsafeMutableBytes { p in
                    var off = 0
                    while off < total {
                        let n = min(chunk, total - off)
                        t.pack(from: src.base, count: count, packedOffset: off, into: p.baseAddress! + off, bytes: n)
                        off += n
                    }
                }
                #expect(chunked == expected, "\(label) count \(count) chunk \(chunk)")
                // Unpack the same chunks into a zeroed buffer; compare with the reference unpack.
                let dst = UserBuffer(t, count: count, fill: nil)
                let ref = UserBuffer(t, count: count, fill: nil)
                Reference.unpack(t, expected, into: ref.base, count: count)
                expected.withUnsafeBytes { p in
                    var off = 0
                    while off < total {
                        let n = min(chunk, total - off)
                        t.unpack(from: p.baseAddress! + off, bytes: n, into: dst.base, count: count, packedOffset: off)
                        off += n
                    }
                }
                #expect(dst.bytes == ref.bytes, "\(label) count \(count) unpack chunk \(chunk)")
            }
            for _ in 0..<20 where total > 0 {
                let off = rng.below(total)
                let n = 1 + rng.below(total - off)
                var window = [UInt8](repeating: 0, count: n)
                window.withUnsafeMutableBytes { p in
                    t.pack(from: src.base, count: count, packedOffset: off, into: p.baseAddress!, bytes: n)
                }
                #expect(window[...] == expected[off..<(off + n)], "\(label) window \(off)+\(n)")
            }
        }
    }
}

@Test("an uncommitted type packs correctly too (slow path builds the layout on the fly)")
func uncommittedPack() throws {
    let t = try Datatype.vector(4, blockLength: 2, stride: 3, int)
    #expect(!t.isCommitted)
    let src = UserBuffer(t, count: 2, fill: 42)
    var out = [UInt8](repeating: 0, count: t.size * 2)
    out.withUnsafeMutableBytes { t.pack(from: src.base, count: 2, packedOffset: 0, into: $0.baseAddress!, bytes: 64) }
    #expect(out == Reference.pack(t, base: src.base, count: 2))
    t.commit()
    #expect(t.isCommitted)
}

@Test("MPI_BOTTOM: a nil base with absolute displacements")
func packFromBottom() throws {
    var values: [Int32] = [10, 20, 30, 40]
    try values.withUnsafeMutableBytes { p in
        let a = Int(bitPattern: p.baseAddress!)
        let t = try Datatype.hindexed(blockLengths: [1, 1], byteDisplacements: [a + 12, a + 4], int)
        t.commit()
        var out: [Int32] = [0, 0]
        out.withUnsafeMutableBytes { t.pack(from: nil, count: 1, packedOffset: 0, into: $0.baseAddress!, bytes: 8) }
        #expect(out == [40, 20])
        let back: [Int32] = [7, 8]
        back.withUnsafeBytes { t.unpack(from: $0.baseAddress!, bytes: 8, into: nil, count: 1, packedOffset: 0) }
    }
    #expect(values == [10, 8, 30, 7])
}

@Test("contiguity: fast-path flag for contiguous types, false for gaps, reordering and padding")
func contiguity() throws {
    #expect(try Datatype.contiguous(5, double).isContiguous)
    #expect(try Datatype.vector(3, blockLength: 2, stride: 2, int).isContiguous)
    #expect(try Datatype.structure(blockLengths: [1, 1], byteDisplacements: [0, 4], types: [int, float]).isContiguous)
    #expect(!(try Datatype.structure(blockLengths: [1, 1], byteDisplacements: [4, 0], types: [int, float]).isContiguous))
    #expect(!(try Datatype.vector(3, blockLength: 1, stride: 2, int).isContiguous))
    #expect(!(try type1().isContiguous))
    #expect(try Datatype.resized(try .contiguous(2, int), lowerBound: 0, extent: 8).isContiguous)
    #expect(!Datatype.predefined(.doubleInt).isContiguous)
    let doubleInt1 = try Datatype.contiguous(1, .predefined(.doubleInt))
    #expect(doubleInt1.uniformBasicType == .doubleInt)
}

@Test("uniformBasicType: one basic type through nesting, nil when mixed or empty")
func uniformType() throws {
    #expect(try Datatype.vector(2, blockLength: 1, stride: 3, try .contiguous(2, double)).uniformBasicType == .double)
    #expect(try type1().uniformBasicType == nil)
    #expect(try Datatype.contiguous(0, double).uniformBasicType == nil)
    #expect(try Datatype.structure(blockLengths: [0, 2], byteDisplacements: [0, 8], types: [char, double]).uniformBasicType == .double)
    #expect(try Datatype.subarray(sizes: [4], subsizes: [2], starts: [1], order: .c, float).uniformBasicType == .float)
}

@Test("a vector of a million blocks flattens to a regular layout and packs in chunks correctly")
func millionBlocks() throws {
    let n = 1_000_000
    let t = try Datatype.vector(n, blockLength: 1, stride: 2, double)
    t.commit()
    #expect(t.flat.isRegular && t.flat.blockCount == n)
    #expect(t.flat.runs.count == n)
    var src = [Double](repeating: 0, count: 2 * n)
    for i in 0..<(2 * n) { src[i] = Double(i) }
    var packed = [Double](repeating: -1, count: n)
    src.withUnsafeBytes { s in
        packed.withUnsafeMutableBytes { d in
            var off = 0
            let total = n * 8
            while off < total {
                let c = min(65_533, total - off)   // odd chunks split doubles across chunks
                t.pack(from: s.baseAddress!, count: 1, packedOffset: off, into: d.baseAddress! + off, bytes: c)
                off += c
            }
        }
    }
    #expect(packed[0] == 0 && packed[1] == 2 && packed[n - 1] == Double(2 * n - 2))
    #expect(packed.enumerated().allSatisfy { $0.element == Double(2 * $0.offset) })
}

@Test("contiguous(1e9, MPI_BYTE) stays one run (no per-element flattening)")
func hugeContiguous() throws {
    let t = try Datatype.contiguous(1_000_000_000, .predefined(.byte))
    t.commit()
    #expect(t.typeRuns == [TypeRun(displacement: 0, type: .byte, count: 1_000_000_000)])
    #expect(t.isContiguous && t.size == 1_000_000_000)
}

@Test("MPI_Get_elements: whole and partial elements, pairs count two, undefined mid-element")
func getElements() throws {
    let s = try Datatype.structure(blockLengths: [1, 1], byteDisplacements: [0, 8], types: [int, double])
    #expect(s.size == 12)
    #expect(s.basicElements(inBytes: 0) == 0)
    #expect(s.basicElements(inBytes: 4) == 1)
    #expect(s.basicElements(inBytes: 6) == nil)
    #expect(s.basicElements(inBytes: 12) == 2)
    #expect(s.basicElements(inBytes: 16) == 3)
    #expect(s.basicElements(inBytes: 36) == 6)
    let di = Datatype.predefined(.doubleInt)
    #expect(di.basicElements(inBytes: 8) == 1)
    #expect(di.basicElements(inBytes: 12) == 2)
    #expect(di.basicElements(inBytes: 10) == nil)
    #expect(di.basicElements(inBytes: 20) == 3)
    let v = try Datatype.vector(3, blockLength: 2, stride: 5, float)
    #expect(v.basicElements(inBytes: 20) == 5)
    #expect(try Datatype.contiguous(0, int).basicElements(inBytes: 0) == 0)
    #expect(try Datatype.contiguous(0, int).basicElements(inBytes: 4) == nil)
}

@Test("names: predefined names, settable names on derived types, empty by default")
func names() throws {
    let t = try Datatype.contiguous(2, int)
    #expect(t.name == "")
    t.name = "pair of ints"
    #expect(t.name == "pair of ints")
    #expect(Datatype.predefined(.twoInt).name == "MPI_2INT")
}
