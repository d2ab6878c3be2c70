// Tests of FerryReduce: the (op, type) table of MPI-3.1 §5.9.2 and every defined kernel against a
// scalar reference written independently of the kernels' loops.
import Testing
import FerryCore
@testable import FerryReduce

/// The table as the standard prints it, spelled out type by type (not via the library's groups).
private let cInteger: Set<BasicType> = [.signedChar, .unsignedChar, .short, .unsignedShort, .int, .unsigned,
    .long, .unsignedLong, .longLong, .unsignedLongLong, .int8, .int16, .int32, .int64,
    .uint8, .uint16, .uint32, .uint64]
private let floating: Set<BasicType> = [.float, .double, .longDouble]
private let complexTypes: Set<BasicType> = [.floatComplex, .doubleComplex, .longDoubleComplex]
private let multiLanguage: Set<BasicType> = [.aint, .offset, .count]
private let pairs: Set<BasicType> = [.floatInt, .doubleInt, .longInt, .shortInt, .twoInt, .longDoubleInt]

private func expectedDefined(_ op: PredefinedOp, _ t: BasicType) -> Bool {
    // Extension MPICH has: MPI_CHAR takes every op a signed char takes.
    let t = t == .char ? BasicType.signedChar : t
    switch op {
    case .max, .min: return cInteger.union(floating).union(multiLanguage).contains(t)
    case .sum, .prod: return cInteger.union(floating).union(complexTypes).union(multiLanguage).contains(t)
    // Extensions MPICH has (see Reduction.isDefined): logical ops on the multi-language types.
    case .land, .lor, .lxor: return cInteger.union(multiLanguage).contains(t) || t == .bool
    case .band, .bor, .bxor: return cInteger.union(multiLanguage).contains(t) || t == .byte
    case .minloc, .maxloc: return pairs.contains(t)
    case .replace, .noOp: return true
    }
}

@Suite struct DefinedPairsTests {
    /// Every (op, type) pair: isDefined agrees with the standard's table.
    @Test(arguments: PredefinedOp.allCases, BasicType.allCases)
    func tableMatchesStandard(op: PredefinedOp, type: BasicType) {
        #expect(Reduction.isDefined(op, on: type) == expectedDefined(op, type))
    }

    /// Wide characters, PACKED and the wrong families are rejected; REPLACE/NO_OP accept everything.
    @Test func notableUndefinedPairs() {
        for op in [PredefinedOp.max, .min, .sum, .prod, .land, .band, .lor, .bor, .lxor, .bxor, .minloc, .maxloc] {
            #expect(!Reduction.isDefined(op, on: .wchar))
            #expect(!Reduction.isDefined(op, on: .packed))
        }
        #expect(!Reduction.isDefined(.sum, on: .bool))
        #expect(!Reduction.isDefined(.sum, on: .byte))
        #expect(Reduction.isDefined(.bxor, on: .byte))
        #expect(!Reduction.isDefined(.land, on: .byte))
        #expect(!Reduction.isDefined(.band, on: .float))
        #expect(!Reduction.isDefined(.max, on: .doubleComplex))
        #expect(!Reduction.isDefined(.sum, on: .doubleInt))
        #expect(!Reduction.isDefined(.minloc, on: .int))
        #expect(Reduction.isDefined(.land, on: .aint), "as MPICH")
        #expect(Reduction.isDefined(.sum, on: .char) && !Reduction.isDefined(.maxloc, on: .char), "as MPICH")
        #expect(Reduction.isDefined(.bor, on: .count))
        #expect(Reduction.isDefined(.prod, on: .offset))
        for t in BasicType.allCases {
            #expect(Reduction.isDefined(.replace, on: t) && Reduction.isDefined(.noOp, on: t))
        }
    }
}

// MARK: - reference

/// Number of elements per kernel test: odd, above any vector width, so loop tails run.
private let n = 67

private func integerPattern(_ i: Int, _ salt: Int) -> Int64 {
    let specials: [Int64] = [0, 1, -1, 2, 0, Int64.max, Int64.min, 127, -128, 255, 32767, 0, 3, -7]
    if i % 3 == 0 { return specials[(i / 3 + salt) % specials.count] }
    return Int64(truncatingIfNeeded: UInt64(i &* 2654435761 &+ salt &* 40503) &* 0x9E3779B97F4A7C15)
}

private func refInt<T: FixedWidthInteger>(_ op: PredefinedOp, _ x: T, _ y: T) -> T {
    switch op {
    case .max: return Swift.max(x, y)
    case .min: return Swift.min(x, y)
    case .sum: return x &+ y
    case .prod: return x &* y
    case .band: return x & y
    case .bor: return x | y
    case .bxor: return x ^ y
    case .land: return (x != 0 && y != 0) ? 1 : 0
    case .lor: return (x != 0 || y != 0) ? 1 : 0
    case .lxor: return ((x != 0) != (y != 0)) ? 1 : 0
    default: fatalError("not an integer op")
    }
}

private func refFloat<T: BinaryFloatingPoint>(_ op: PredefinedOp, _ x: T, _ y: T) -> T {
    switch op {
    case .max: return Swift.max(x, y)
    case .min: return Swift.min(x, y)
    case .sum: return x + y
    case .prod: return x * y
    default: fatalError("not a floating op")
    }
}

/// Runs the kernel on typed arrays and compares with `ref` element by element.
private func run<T: BitwiseCopyable>(_ op: PredefinedOp, _ type: BasicType, _ xs: [T], _ ys: [T],
                                     _ same: (T, T) -> Bool, _ ref: (T, T) -> T) {
    var out = ys
    xs.withUnsafeBytes { a in
        out.withUnsafeMutableBytes { b in
            Reduction.apply(op, type, input: a.baseAddress!, `inout`: b.baseAddress!, count: xs.count)
        }
    }
    for i in xs.indices {
        let want = ref(xs[i], ys[i])
        #expect(same(out[i], want), "\(op.mpiName) \(type.mpiName) element \(i)")
    }
}

private func intCase<T: FixedWidthInteger & BitwiseCopyable>(_ op: PredefinedOp, _ type: BasicType, _: T.Type) {
    #expect(MemoryLayout<T>.size == type.size)
    let xs = (0..<n).map { T(truncatingIfNeeded: integerPattern($0, 1)) }
    let ys = (0..<n).map { T(truncatingIfNeeded: integerPattern($0, 5)) }
    run(op, type, xs, ys, ==) { refInt(op, $0, $1) }
}

private func floatCase<T: BinaryFloatingPoint & BitwiseCopyable>(_ op: PredefinedOp, _ type: BasicType, _: T.Type) {
    let xs = (0..<n).map { T(Double(integerPattern($0, 2) % 1000) / 8) }
    let ys = (0..<n).map { T(Double(integerPattern($0, 9) % 1000) / 16) }
    run(op, type, xs, ys, ==) { refFloat(op, $0, $1) }
}

/// A complex number as C stores it.
private struct Complex<T: BinaryFloatingPoint & BitwiseCopyable>: BitwiseCopyable { var re, im: T }

private func complexCase<T: BinaryFloatingPoint & BitwiseCopyable>(_ op: PredefinedOp, _ type: BasicType, _: T.Type) {
    #expect(MemoryLayout<Complex<T>>.stride == type.extent)
    let xs = (0..<n).map { Complex(re: T($0 % 7) - 3, im: T($0 % 5) / 2) }
    let ys = (0..<n).map { Complex(re: T($0 % 3) + 0.5, im: T($0 % 4) - 1) }
    run(op, type, xs, ys, { $0.re == $1.re && $0.im == $1.im }) { x, y in
        op == .sum ? Complex(re: x.re + y.re, im: x.im + y.im)
                   : Complex(re: x.re * y.re - x.im * y.im, im: x.re * y.im + x.im * y.re)
    }
}

/// A (value, index) pair with the C layout of `type`: value at 0, Int32 at `intOffset`.
private func pairCase<V: Comparable & BitwiseCopyable>(_ op: PredefinedOp, _ type: BasicType,
                                                       _ make: (Int) -> V) {
    let (_, io) = type.pairParts!
    let ext = type.extent
    // Values drawn from a small set so that ties are frequent; indices differ.
    let xv = (0..<n).map { make($0 % 4) }, xi = (0..<n).map { Int32(($0 * 7) % 11) }
    let yv = (0..<n).map { make(($0 / 4) % 4) }, yi = (0..<n).map { Int32(($0 * 5) % 13) }
    let a = UnsafeMutableRawPointer.allocate(byteCount: n * ext, alignment: 16)
    let b = UnsafeMutableRawPointer.allocate(byteCount: n * ext, alignment: 16)
    defer { a.deallocate(); b.deallocate() }
    for i in 0..<n {
        a.storeBytes(of: xv[i], toByteOffset: i * ext, as: V.self)
        a.storeBytes(of: xi[i], toByteOffset: i * ext + io, as: Int32.self)
        b.storeBytes(of: yv[i], toByteOffset: i * ext, as: V.self)
        b.storeBytes(of: yi[i], toByteOffset: i * ext + io, as: Int32.self)
    }
    Reduction.apply(op, type, input: a, `inout`: b, count: n)
    for i in 0..<n {
        let (u, ui, v, vi) = (xv[i], xi[i], yv[i], yi[i])
        let wantV: V, wantI: Int32
        if u == v { wantV = u; wantI = Swift.min(ui, vi) }
        else if (op == .minloc) == (u < v) { wantV = u; wantI = ui }
        else { wantV = v; wantI = vi }
        #expect(b.load(fromByteOffset: i * ext, as: V.self) == wantV, "\(op.mpiName) \(type.mpiName) value \(i)")
        #expect(b.load(fromByteOffset: i * ext + io, as: Int32.self) == wantI, "\(op.mpiName) \(type.mpiName) index \(i)")
    }
}

@Suite struct KernelTests {
    /// Every defined (op, type) pair computes the reference result over 67 elements.
    @Test(arguments: PredefinedOp.allCases, BasicType.allCases)
    func definedPairMatchesReference(op: PredefinedOp, type: BasicType) {
        guard Reduction.isDefined(op, on: type) else { return }
        if op == .replace || op == .noOp {
            let bytes = n * type.extent
            let xs = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var ys = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ 3) }
            let before = ys
            xs.withUnsafeBytes { a in ys.withUnsafeMutableBytes { b in
                Reduction.apply(op, type, input: a.baseAddress!, `inout`: b.baseAddress!, count: n) } }
            #expect(ys == (op == .replace ? xs : before))
            return
        }
        switch type {
        case .signedChar, .int8, .char: intCase(op, type, Int8.self)
        case .unsignedChar, .uint8, .byte: intCase(op, type, UInt8.self)
        case .short, .int16: intCase(op, type, Int16.self)
        case .unsignedShort, .uint16: intCase(op, type, UInt16.self)
        case .int, .int32: intCase(op, type, Int32.self)
        case .unsigned, .uint32: intCase(op, type, UInt32.self)
        case .long, .longLong, .int64, .aint, .offset, .count: intCase(op, type, Int64.self)
        case .unsignedLong, .unsignedLongLong, .uint64: intCase(op, type, UInt64.self)
        case .bool:
            let xs = (0..<n).map { UInt8($0 % 2) }, ys = (0..<n).map { UInt8(($0 / 2) % 2) }
            run(op, type, xs, ys, ==) { refInt(op, $0, $1) }
        case .float: floatCase(op, type, Float.self)
        case .double: floatCase(op, type, Double.self)
        case .longDouble: floatCase(op, type, Float80.self)
        case .floatComplex: complexCase(op, type, Float.self)
        case .doubleComplex: complexCase(op, type, Double.self)
        case .longDoubleComplex: complexCase(op, type, Float80.self)
        case .floatInt: pairCase(op, type) { Float($0) - 1.5 }
        case .doubleInt: pairCase(op, type) { Double($0) * 1e300 }
        case .longInt: pairCase(op, type) { Int64($0) << 40 }
        case .shortInt: pairCase(op, type) { Int16($0) - 2 }
        case .twoInt: pairCase(op, type) { Int32($0) * -100 }
        case .longDoubleInt: pairCase(op, type) { Float80($0) / 3 }
        case .wchar, .packed: Issue.record("\(type.mpiName) should have no arithmetic op")
        }
    }

    /// Hand-computed values: wrap-around, 0/1 logicals, complex product, MINLOC tie.
    @Test func handComputedValues() {
        var x: [Int8] = [127, -128, 5, 3], y: [Int8] = [1, -1, 0, -2]
        x.withUnsafeBytes { a in y.withUnsafeMutableBytes { b in
            Reduction.apply(.sum, .int8, input: a.baseAddress!, `inout`: b.baseAddress!, count: 4) } }
        #expect(y == [-128, 127, 5, 1])
        var p: [UInt32] = [0x10000, 3], q: [UInt32] = [0x10000, 0]
        p.withUnsafeBytes { a in q.withUnsafeMutableBytes { b in
            Reduction.apply(.prod, .uint32, input: a.baseAddress!, `inout`: b.baseAddress!, count: 2) } }
        #expect(q == [0, 0])
        var l: [Int32] = [5, 0, -3], m: [Int32] = [7, 9, 0]
        l.withUnsafeBytes { a in m.withUnsafeMutableBytes { b in
            Reduction.apply(.lor, .int, input: a.baseAddress!, `inout`: b.baseAddress!, count: 3) } }
        #expect(m == [1, 1, 1])
        var c: [Double] = [1, 2], d: [Double] = [3, 4]   // (1+2i)(3+4i) = -5+10i
        c.withUnsafeBytes { a in d.withUnsafeMutableBytes { b in
            Reduction.apply(.prod, .doubleComplex, input: a.baseAddress!, `inout`: b.baseAddress!, count: 1) } }
        #expect(d == [-5, 10])
        var s: [Int32] = [4, 9], t: [Int32] = [4, 2]   // MPI_2INT tie: smaller index
        s.withUnsafeBytes { a in t.withUnsafeMutableBytes { b in
            Reduction.apply(.maxloc, .twoInt, input: a.baseAddress!, `inout`: b.baseAddress!, count: 1) } }
        #expect(t == [4, 2])
        var e: [Float80] = [Float80(1) / 3, 2], f: [Float80] = [Float80(2) / 3, 0.5]
        e.withUnsafeBytes { a in f.withUnsafeMutableBytes { b in
            Reduction.apply(.sum, .longDouble, input: a.baseAddress!, `inout`: b.baseAddress!, count: 2) } }
        #expect(f[0] == Float80(1) / 3 + Float80(2) / 3 && f[1] == 2.5)
    }

    /// Unaligned buffers work (kernels promise no alignment).
    @Test func unalignedBuffers() {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
        let raw2 = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
        defer { raw.deallocate(); raw2.deallocate() }
        for i in 0..<5 {
            (raw + 1).storeBytes(of: Double(i), toByteOffset: i * 8, as: Double.self)
            (raw2 + 3).storeBytes(of: Double(10 * i), toByteOffset: i * 8, as: Double.self)
        }
        Reduction.apply(.sum, .double, input: raw + 1, `inout`: raw2 + 3, count: 5)
        for i in 0..<5 {
            #expect((raw2 + 3).loadUnaligned(fromByteOffset: i * 8, as: Double.self) == Double(11 * i))
        }
    }
}
