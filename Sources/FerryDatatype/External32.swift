// MPI_Pack_external / MPI_Unpack_external / MPI_Pack_external_size for the "external32"
// representation (MPI-3.1 §13.5.2): big-endian, IEEE formats, sizes from the standard's table
// 13.2 (long and unsigned long 4, long double 16 as IEEE binary128, wchar 4, bool 1); pair types
// field by field with no padding. On this platform (LP64, little-endian) long is 8 bytes: it is
// written as its low 32 bits and read back sign-extended (unsigned long: zero-extended), as
// MPICH does; a value outside 32 bits does not survive the trip, as external32 cannot hold it.
import FerryCore

extension BasicType {
    /// Bytes of one element in external32.
    public var externalSize: Int {
        if let p = pairParts { return p.value.externalSize + BasicType.int.externalSize }
        switch self {
        case .longDouble: return 16
        case .longDoubleComplex: return 32
        case .long, .unsignedLong: return 4
        default: return size
        }
    }
}

extension Datatype {
    /// MPI_Pack_external_size for "external32".
    public func externalSize(count: Int) -> Int {
        var perItem = 0
        for r in flat.runs { perItem += r.count * r.type.externalSize }
        return perItem * count
    }

    /// MPI_Pack_external("external32"): writes `count` elements into `dst` and returns the bytes
    /// written. Throws `.truncate` if `capacity` is too small.
    public func packExternal(from base: UnsafeRawPointer?, count: Int,
                             into dst: UnsafeMutableRawPointer, capacity: Int) throws(MPIError) -> Int {
        if count < 0 { throw MPIError(.count, "negative count \(count)") }
        let need = externalSize(count: count)
        if need > capacity {
            throw MPIError(.truncate, "external32 needs \(need) bytes, buffer has \(capacity)")
        }
        walkExternal(user: Int(bitPattern: base), count: count, external: dst, toExternal: true)
        return need
    }

    /// MPI_Unpack_external("external32"): reads `count` elements from `src` into `base` and
    /// returns the bytes consumed. Throws `.truncate` if `bytes` holds fewer than `count` elements.
    public func unpackExternal(from src: UnsafeRawPointer, bytes: Int, into base: UnsafeMutableRawPointer?,
                               count: Int) throws(MPIError) -> Int {
        if count < 0 { throw MPIError(.count, "negative count \(count)") }
        let need = externalSize(count: count)
        if need > bytes {
            throw MPIError(.truncate, "external32 input has \(bytes) bytes, \(count) elements need \(need)")
        }
        walkExternal(user: Int(bitPattern: base), count: count,
                     external: UnsafeMutableRawPointer(mutating: src), toExternal: false)
        return need
    }

    private func walkExternal(user: Int, count: Int, external: UnsafeMutableRawPointer,
                              toExternal: Bool) {
        let f = flat
        var x = external
        for e in 0..<count {
            let elementBase = user + e * f.extent
            for r in f.runs {
                let t = r.type, ext = t.extent, xs = t.externalSize
                for i in 0..<r.count {
                    // SAFETY: as in pack: the user buffer covers the type map.
                    let u = UnsafeMutableRawPointer(bitPattern: elementBase + r.displacement + i * ext)!
                    External32.convert(t, native: u, external: x, toExternal: toExternal)
                    x += xs
                }
            }
        }
    }
}

/// Conversions of one basic element between native (x86-64 little-endian) and external32.
enum External32 {
    static func convert(_ t: BasicType, native: UnsafeMutableRawPointer,
                        external: UnsafeMutableRawPointer, toExternal: Bool) {
        if let p = t.pairParts {
            convert(p.value, native: native, external: external, toExternal: toExternal)
            convert(.int, native: native + p.intOffset, external: external + p.value.externalSize,
                    toExternal: toExternal)
            return
        }
        switch t {
        case .longDouble:
            if toExternal { x87ToQuad(native, external) } else { quadToX87(external, native) }
        case .longDoubleComplex:
            for k in 0..<2 {
                if toExternal { x87ToQuad(native + 16 * k, external + 16 * k) }
                else { quadToX87(external + 16 * k, native + 16 * k) }
            }
        case .long, .unsignedLong:
            if toExternal {
                let low = UInt32(truncatingIfNeeded: native.loadUnaligned(as: UInt64.self))
                external.storeBytes(of: low.bigEndian, as: UInt32.self)
            } else {
                let low = UInt32(bigEndian: external.loadUnaligned(as: UInt32.self))
                let wide = t == .long ? UInt64(bitPattern: Int64(Int32(bitPattern: low))) : UInt64(low)
                native.storeBytes(of: wide, as: UInt64.self)
            }
        case .floatComplex:
            swap(4, native, external, toExternal); swap(4, native + 4, external + 4, toExternal)
        case .doubleComplex:
            swap(8, native, external, toExternal); swap(8, native + 8, external + 8, toExternal)
        default:
            swap(t.size, native, external, toExternal)
        }
    }

    /// Byte-reverses an integer or IEEE value of `n` bytes in the given direction.
    @inline(__always)
    static func swap(_ n: Int, _ native: UnsafeMutableRawPointer, _ external: UnsafeMutableRawPointer,
                     _ toExternal: Bool) {
        let (src, dst) = toExternal ? (native, external) : (external, native)
        switch n {
        case 1: dst.storeBytes(of: src.load(as: UInt8.self), as: UInt8.self)
        case 2: dst.storeBytes(of: src.loadUnaligned(as: UInt16.self).byteSwapped, as: UInt16.self)
        case 4: dst.storeBytes(of: src.loadUnaligned(as: UInt32.self).byteSwapped, as: UInt32.self)
        case 8: dst.storeBytes(of: src.loadUnaligned(as: UInt64.self).byteSwapped, as: UInt64.self)
        default:
            for k in 0..<n { dst.storeBytes(of: src.load(fromByteOffset: n - 1 - k, as: UInt8.self),
                                            toByteOffset: k, as: UInt8.self) }
        }
    }

    /// x87 80-bit extended (16-byte slot) to big-endian IEEE binary128. Same sign, exponent and
    /// bias; the explicit integer bit is dropped and the 63 fraction bits become the top of the
    /// 112-bit fraction.
    static func x87ToQuad(_ native: UnsafeMutableRawPointer, _ external: UnsafeMutableRawPointer) {
        let mantissa = native.loadUnaligned(as: UInt64.self)
        let signExponent = UInt64(native.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        let fraction = mantissa & 0x7fff_ffff_ffff_ffff
        let hi = signExponent << 48 | fraction >> 15
        let lo = fraction << 49
        external.storeBytes(of: hi.bigEndian, as: UInt64.self)
        external.storeBytes(of: lo.bigEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// Big-endian IEEE binary128 to x87 80-bit extended, truncating the low 49 fraction bits.
    static func quadToX87(_ external: UnsafeMutableRawPointer, _ native: UnsafeMutableRawPointer) {
        let hi = UInt64(bigEndian: external.loadUnaligned(as: UInt64.self))
        let lo = UInt64(bigEndian: external.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let signExponent = UInt16(truncatingIfNeeded: hi >> 48)
        let fraction = (hi & 0xffff_ffff_ffff) << 15 | lo >> 49
        let integerBit: UInt64 = (signExponent & 0x7fff) != 0 ? 1 << 63 : 0
        native.storeBytes(of: integerBit | fraction, as: UInt64.self)
        native.storeBytes(of: signExponent, toByteOffset: 8, as: UInt16.self)
        for k in 10..<16 { native.storeBytes(of: 0 as UInt8, toByteOffset: k, as: UInt8.self) }
    }
}
