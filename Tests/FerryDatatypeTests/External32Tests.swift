// external32: byte-exact big-endian encodings and round trips through derived types.
import Testing
import FerryCore
@testable import FerryDatatype

func packExternal<T>(_ value: T, _ type: BasicType) throws -> [UInt8] {
    var v = value
    let d = Datatype.predefined(type)
    var out = [UInt8](repeating: 0xEE, count: d.externalSize(count: 1))
    let n = try out.withUnsafeMutableBytes { o throws(MPIError) in
        try d.packExternal(from: &v, count: 1, into: o.baseAddress!, capacity: o.count)
    }
    #expect(n == out.count)
    return out
}

@Test("external32 sizes follow the standard's table 13.2 (long 4, long double 16, wchar 4, bool 1, pairs packed)")
func externalSizes() {
    let expected: [BasicType: Int] = [.char: 1, .wchar: 4, .short: 2, .int: 4, .long: 4, .unsignedLong: 4, .longLong: 8,
        .float: 4, .double: 8, .longDouble: 16, .bool: 1, .floatComplex: 8, .doubleComplex: 16,
        .longDoubleComplex: 32, .aint: 8, .offset: 8, .count: 8, .floatInt: 8, .doubleInt: 12,
        .longInt: 8, .shortInt: 6, .twoInt: 8, .longDoubleInt: 20, .packed: 1, .byte: 1]
    for (t, n) in expected {
        #expect(t.externalSize == n, "\(t)")
        #expect(Datatype.predefined(t).externalSize(count: 3) == 3 * n, "\(t)")
    }
}

@Test("external32 encodings are big-endian, byte for byte")
func externalBytes() throws {
    #expect(try packExternal(Int32(0x0102_0304), .int) == [1, 2, 3, 4])
    #expect(try packExternal(Int16(-2), .short) == [0xFF, 0xFE])
    // long and unsigned long are 4 bytes in external32 (MPICH's datatype/pack_external found 8).
    #expect(try packExternal(Int64(0x0102_0304_0506_0708), .long) == [5, 6, 7, 8])
    #expect(try packExternal(Int64(-2), .long) == [0xFF, 0xFF, 0xFF, 0xFE])
    #expect(try packExternal(Int64(0x0102_0304_0506_0708), .longLong) == [1, 2, 3, 4, 5, 6, 7, 8])
    for (value, type, back) in [(Int64(-5), BasicType.long, Int64(-5)), (Int64(0xFFFF_FFFF), .unsignedLong, Int64(0xFFFF_FFFF)),
                                (Int64(0x7FFF_FFFF), .long, Int64(0x7FFF_FFFF))] {
        let bytes = try packExternal(value, type)
        var out: Int64 = 0x5555
        _ = try bytes.withUnsafeBytes { p throws(MPIError) in
            try Datatype.predefined(type).unpackExternal(from: p.baseAddress!, bytes: 4, into: &out, count: 1)
        }
        #expect(out == back, "\(type) \(value) came back as \(out)")
    }
    #expect(try packExternal(Double(1.0), .double) == [0x3F, 0xF0, 0, 0, 0, 0, 0, 0])
    #expect(try packExternal(Float(-2.0), .float) == [0xC0, 0, 0, 0])
    #expect(try packExternal(UInt32(0x41), .wchar) == [0, 0, 0, 0x41])
    #expect(try packExternal(true, .bool) == [1])
    // MPI_SHORT_INT {short 0x0102; pad; int 0x0A0B0C0D} -> 6 bytes, no padding.
    struct ShortInt { var s: Int16; var i: Int32 }
    #expect(try packExternal(ShortInt(s: 0x0102, i: 0x0A0B_0C0D), .shortInt) == [1, 2, 0xA, 0xB, 0xC, 0xD])
    struct DoubleInt { var d: Double; var i: Int32 }
    #expect(try packExternal(DoubleInt(d: -1.0, i: 7), .doubleInt) == [0xBF, 0xF0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7])
    // Complex: real then imaginary, each big-endian.
    #expect(try packExternal((Float(1.0), Float(-1.0)), .floatComplex) == [0x3F, 0x80, 0, 0, 0xBF, 0x80, 0, 0])
    // long double 1.0 and -0.75 as IEEE binary128.
    #expect(try packExternal(Float80(1.0), .longDouble) == [0x3F, 0xFF] + [UInt8](repeating: 0, count: 14))
    #expect(try packExternal(Float80(-0.75), .longDouble) == [0xBF, 0xFE, 0x80] + [UInt8](repeating: 0, count: 13))
}

@Test("long double survives the binary128 round trip, including infinities, NaN and denormals")
func longDoubleRoundTrip() throws {
    let values: [Float80] = [0, -0.0, 1, -3.141592653589793238, .infinity, -.infinity,
                             .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e-4940, 12345.678e300]
    let d = Datatype.predefined(.longDouble)
    for v in values {
        let bytes = try packExternal(v, .longDouble)
        var back: Float80 = 99
        let used = try bytes.withUnsafeBytes { p throws(MPIError) in
            try d.unpackExternal(from: p.baseAddress!, bytes: p.count, into: &back, count: 1)
        }
        #expect(used == 16)
        #expect(back == v && back.sign == v.sign, "\(v)")
    }
    var nan = Float80.nan
    let bytes = try packExternal(nan, .longDouble)
    nan = 0
    _ = try bytes.withUnsafeBytes { p throws(MPIError) in try d.unpackExternal(from: p.baseAddress!, bytes: 16, into: &nan, count: 1) }
    #expect(nan.isNaN)
}

@Test("external32 round trip through derived types reproduces the data; stream is the per-entry big-endian walk")
func externalDerivedRoundTrip() throws {
    var rng = TestRandom(state: 77)
    for (label, t, _) in try catalog() {
        t.commit()
        // Long doubles hold arbitrary bytes here; only types without them compare byte-exactly.
        if t.typeRuns.contains(where: { $0.type == .longDouble || $0.type == .longDoubleInt }) { continue }
        let count = 3
        let src = UserBuffer(t, count: count, fill: rng.next())
        let n = t.externalSize(count: count)
        #expect(n == t.size * count, "\(label)")
        var ext = [UInt8](repeating: 0, count: n)
        let written = try ext.withUnsafeMutableBytes { p throws(MPIError) in
            try t.packExternal(from: src.base, count: count, into: p.baseAddress!, capacity: n)
        }
        #expect(written == n)
        // Native pack, then byte-swap each basic element: must equal the external stream.
        var native = Reference.pack(t, base: src.base, count: count)
        var pos = 0
        for _ in 0..<count {
            for e in Reference.typeMap(t) {
                let parts: [Int] = e.type.pairParts.map { [$0.value.size, 4] }
                    ?? (e.type == .floatComplex ? [4, 4] : e.type == .doubleComplex ? [8, 8] : [e.type.size])
                for w in parts { native[pos..<(pos + w)].reverse(); pos += w }
            }
        }
        #expect(ext == native, "\(label)")
        let dst = UserBuffer(t, count: count, fill: nil)
        let ref = UserBuffer(t, count: count, fill: nil)
        Reference.unpack(t, Reference.pack(t, base: src.base, count: count), into: ref.base, count: count)
        let used = try ext.withUnsafeBytes { p throws(MPIError) in
            try t.unpackExternal(from: p.baseAddress!, bytes: n, into: dst.base, count: count)
        }
        #expect(used == n)
        #expect(dst.bytes == ref.bytes, "\(label)")
    }
}

@Test("external32 errors: capacity too small and input too short are .truncate; negative count is .count")
func externalErrors() {
    var x: Int32 = 5
    var out = [UInt8](repeating: 0, count: 3)
    let d = Datatype.predefined(.int)
    out.withUnsafeMutableBytes { p in
        do { _ = try d.packExternal(from: &x, count: 1, into: p.baseAddress!, capacity: 3); Issue.record("no error") }
        catch { #expect((error as? MPIError)?.errorClass == .truncate) }
        do { _ = try d.unpackExternal(from: p.baseAddress!, bytes: 3, into: &x, count: 1); Issue.record("no error") }
        catch { #expect((error as? MPIError)?.errorClass == .truncate) }
        do { _ = try d.packExternal(from: &x, count: -1, into: p.baseAddress!, capacity: 3); Issue.record("no error") }
        catch { #expect((error as? MPIError)?.errorClass == .count) }
    }
}
