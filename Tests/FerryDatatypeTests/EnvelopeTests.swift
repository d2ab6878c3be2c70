// MPI_Type_get_envelope / MPI_Type_get_contents for every combiner, and the error classes of
// invalid constructor arguments.
import Testing
import FerryCore
@testable import FerryDatatype

func same(_ a: [Datatype], _ b: [Datatype]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0 === $1 }
}

@Test("combiner raw values are the MPICH ABI constants")
func combinerValues() {
    #expect(Combiner.named.rawValue == 1 && Combiner.dup.rawValue == 2 && Combiner.structure.rawValue == 12)
    #expect(Combiner.darray.rawValue == 14 && Combiner.resized.rawValue == 18 && Combiner.hindexedBlock.rawValue == 19)
    #expect(ArrayOrder.c.rawValue == 56 && ArrayOrder.fortran.rawValue == 57)
    #expect(Distribution.block.rawValue == 121 && Distribution.none.rawValue == 123)
    #expect(Distribution.defaultArgument == -49767)
}

@Test("envelope and contents hold exactly the arrays MPI-3.1 §4.1.13 specifies per combiner")
func contentsPerCombiner() throws {
    func check(_ t: Datatype, _ c: Combiner, _ ints: [Int], _ addrs: [Int], _ types: [Datatype]) throws {
        let e = t.envelope()
        #expect(e.combiner == c && e.integers == ints.count && e.addresses == addrs.count && e.datatypes == types.count, "\(c)")
        let got = try t.contents()
        #expect(got.integers == ints && got.addresses == addrs && same(got.datatypes, types), "\(c)")
    }
    let v = try Datatype.vector(3, blockLength: 2, stride: 5, double)
    try check(v, .vector, [3, 2, 5], [], [double])
    try check(try .contiguous(7, v), .contiguous, [7], [], [v])
    try check(try .hvector(2, blockLength: 4, strideBytes: -24, int), .hvector, [2, 4], [-24], [int])
    try check(try .indexed(blockLengths: [1, 2], displacements: [9, 3], char), .indexed, [2, 1, 2, 9, 3], [], [char])
    try check(try .hindexed(blockLengths: [1, 2], byteDisplacements: [9, 3], char), .hindexed, [2, 1, 2], [9, 3], [char])
    try check(try .indexedBlock(blockLength: 2, displacements: [4, 0, 8], float), .indexedBlock, [3, 2, 4, 0, 8], [], [float])
    try check(try .hindexedBlock(blockLength: 2, byteDisplacements: [4, 0], float), .hindexedBlock, [2, 2], [4, 0], [float])
    try check(try .structure(blockLengths: [1, 3], byteDisplacements: [0, 8], types: [v, int]), .structure, [2, 1, 3], [0, 8], [v, int])
    try check(try .resized(v, lowerBound: -8, extent: 100), .resized, [], [-8, 100], [v])
    try check(v.duplicate(), .dup, [], [], [v])
    try check(try .subarray(sizes: [4, 5], subsizes: [2, 3], starts: [1, 2], order: .fortran, int), .subarray,
              [2, 4, 5, 2, 3, 1, 2, 57], [], [int])
    try check(try .darray(size: 4, rank: 3, globalSizes: [6, 5], distributions: [.block, .cyclic],
                          distributionArgs: [Distribution.defaultArgument, 2], processGrid: [2, 2], order: .c, int),
              .darray, [4, 3, 2, 6, 5, 121, 122, -49767, 2, 2, 2, 56], [], [int])
}

@Test("rebuilding each catalog type from its contents gives the same bounds and type map")
func contentsRoundTrip() throws {
    for (label, t, _) in try catalog() {
        let (i, a, d) = try t.contents()
        let rebuilt: Datatype
        switch t.combiner {
        case .contiguous: rebuilt = try .contiguous(i[0], d[0])
        case .vector: rebuilt = try .vector(i[0], blockLength: i[1], stride: i[2], d[0])
        case .hvector: rebuilt = try .hvector(i[0], blockLength: i[1], strideBytes: a[0], d[0])
        case .indexed: rebuilt = try .indexed(blockLengths: Array(i[1...i[0]]), displacements: Array(i[(i[0] + 1)...]), d[0])
        case .hindexed: rebuilt = try .hindexed(blockLengths: Array(i[1...]), byteDisplacements: a, d[0])
        case .indexedBlock: rebuilt = try .indexedBlock(blockLength: i[1], displacements: Array(i[2...]), d[0])
        case .hindexedBlock: rebuilt = try .hindexedBlock(blockLength: i[1], byteDisplacements: a, d[0])
        case .structure: rebuilt = try .structure(blockLengths: Array(i[1...]), byteDisplacements: a, types: d)
        case .resized: rebuilt = try .resized(d[0], lowerBound: a[0], extent: a[1])
        case .dup: rebuilt = d[0].duplicate()
        case .subarray:
            let n = i[0]
            rebuilt = try .subarray(sizes: Array(i[1...n]), subsizes: Array(i[(n + 1)...(2 * n)]),
                                    starts: Array(i[(2 * n + 1)...(3 * n)]), order: ArrayOrder(rawValue: i[3 * n + 1])!, d[0])
        case .darray:
            let n = i[2]
            rebuilt = try .darray(size: i[0], rank: i[1], globalSizes: Array(i[3..<(3 + n)]),
                                  distributions: i[(3 + n)..<(3 + 2 * n)].map { Distribution(rawValue: $0)! },
                                  distributionArgs: Array(i[(3 + 2 * n)..<(3 + 3 * n)]),
                                  processGrid: Array(i[(3 + 3 * n)..<(3 + 4 * n)]),
                                  order: ArrayOrder(rawValue: i[3 + 4 * n])!, d[0])
        default: Issue.record("\(label): unexpected combiner"); continue
        }
        #expect(rebuilt.combiner == t.combiner, "\(label)")
        #expect(rebuilt.size == t.size && rebuilt.lowerBound == t.lowerBound && rebuilt.extent == t.extent, "\(label)")
        #expect(rebuilt.trueLowerBound == t.trueLowerBound && rebuilt.trueExtent == t.trueExtent, "\(label)")
        #expect(rebuilt.typeRuns == t.typeRuns, "\(label)")
    }
}

@Test("a duplicate of a committed type is committed and shares its layout")
func dupCommitted() throws {
    let v = try Datatype.vector(2, blockLength: 1, stride: 2, int)
    #expect(!v.duplicate().isCommitted)
    v.commit()
    let d = v.duplicate()
    #expect(d.isCommitted && d.flat === v.flat && d.basicType == nil)
    let dp = int.duplicate()
    #expect(dp.combiner == .dup && dp.basicType == nil && dp.uniformBasicType == .int)
}

func errorClass(_ body: () throws -> Datatype) -> ErrorClass? {
    do { _ = try body(); return nil } catch { return (error as? MPIError)?.errorClass ?? .unknown }
}

@Test("invalid arguments throw the error class MPICH returns")
func constructorErrors() {
    #expect(errorClass { try .contiguous(-1, int) } == .count)
    #expect(errorClass { try .vector(-2, blockLength: 1, stride: 1, int) } == .count)
    #expect(errorClass { try .vector(2, blockLength: -1, stride: 1, int) } == .arg)
    #expect(errorClass { try .hvector(-1, blockLength: 1, strideBytes: 1, int) } == .count)
    #expect(errorClass { try .indexed(blockLengths: [1, -1], displacements: [0, 1], int) } == .arg)
    #expect(errorClass { try .indexed(blockLengths: [1], displacements: [0, 1], int) } == .arg)
    #expect(errorClass { try .hindexed(blockLengths: [-3], byteDisplacements: [0], int) } == .arg)
    #expect(errorClass { try .indexedBlock(blockLength: -1, displacements: [0], int) } == .arg)
    #expect(errorClass { try .hindexedBlock(blockLength: -1, byteDisplacements: [0], int) } == .arg)
    #expect(errorClass { try .structure(blockLengths: [1, 1], byteDisplacements: [0, 4], types: [int]) } == .arg)
    #expect(errorClass { try .structure(blockLengths: [-1], byteDisplacements: [0], types: [int]) } == .arg)
    #expect(errorClass { try .subarray(sizes: [4], subsizes: [3], starts: [2], order: .c, int) } == .arg)
    #expect(errorClass { try .subarray(sizes: [0], subsizes: [0], starts: [0], order: .c, int) } == .arg)
    #expect(errorClass { try .subarray(sizes: [], subsizes: [], starts: [], order: .c, int) } == .arg)
    #expect(errorClass { try .subarray(sizes: [4], subsizes: [5], starts: [0], order: .c, int) } == .arg)
    let dflt = Distribution.defaultArgument
    #expect(errorClass { try .darray(size: 4, rank: 4, globalSizes: [8], distributions: [.block], distributionArgs: [dflt], processGrid: [4], order: .c, int) } == .rank)
    #expect(errorClass { try .darray(size: 4, rank: 0, globalSizes: [], distributions: [], distributionArgs: [], processGrid: [], order: .c, int) } == .dims)
    #expect(errorClass { try .darray(size: 4, rank: 0, globalSizes: [8], distributions: [.block], distributionArgs: [dflt], processGrid: [2], order: .c, int) } == .arg)
    #expect(errorClass { try .darray(size: 2, rank: 0, globalSizes: [8], distributions: [.none], distributionArgs: [dflt], processGrid: [2], order: .c, int) } == .arg)
    #expect(errorClass { try .darray(size: 2, rank: 0, globalSizes: [8], distributions: [.block], distributionArgs: [3], processGrid: [2], order: .c, int) } == .arg)
    #expect(errorClass { try .darray(size: 2, rank: 0, globalSizes: [8], distributions: [.cyclic], distributionArgs: [0], processGrid: [2], order: .c, int) } == .arg)
    #expect(errorClass { try .darray(size: 0, rank: 0, globalSizes: [8], distributions: [.cyclic], distributionArgs: [1], processGrid: [1], order: .c, int) } == .arg)
}

@Test("zero counts and zero blocks give empty types that pack nothing")
func emptyTypes() throws {
    for t in [try Datatype.contiguous(0, int), try .vector(0, blockLength: 3, stride: 1, int),
              try .vector(3, blockLength: 0, stride: 1, int), try .indexed(blockLengths: [], displacements: [], int),
              try .structure(blockLengths: [], byteDisplacements: [], types: [])] {
        t.commit()
        #expect(t.size == 0 && t.extent == 0 && t.trueExtent == 0 && t.typeRuns.isEmpty)
        #expect(t.externalSize(count: 5) == 0)
        var x: UInt8 = 0, y: UInt8 = 0
        t.pack(from: &x, count: 5, packedOffset: 0, into: &y, bytes: 0)
    }
}
