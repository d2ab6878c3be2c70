// The element loops behind `Reduction.apply`. Each entry point switches on the op once and runs a
// loop that the optimizer specializes for the concrete element type (every caller passes a
// concrete metatype), so the loop body is a plain load-op-store that LLVM vectorizes.
// Loads use `loadUnaligned` and stores `storeBytes`: user buffers carry no alignment promise,
// and on x86_64 both compile to ordinary (unaligned-tolerant) moves.

import FerryCore

enum Kernels {
    /// The shared loop: `inout[i] = f(input[i], inout[i])` over `count` contiguous `T`s.
    @inline(__always)
    static func zip<T: BitwiseCopyable>(_ input: UnsafeRawPointer, _ target: UnsafeMutableRawPointer,
                                        _ count: Int, _ f: (T, T) -> T) {
        let stride = MemoryLayout<T>.stride
        for i in 0..<count {
            let o = i &* stride
            let x = input.loadUnaligned(fromByteOffset: o, as: T.self)
            let y = UnsafeRawPointer(target).loadUnaligned(fromByteOffset: o, as: T.self)
            target.storeBytes(of: f(x, y), toByteOffset: o, as: T.self)
        }
    }

    static func integer<T: FixedWidthInteger & BitwiseCopyable>(_ op: PredefinedOp, _: T.Type, _ a: UnsafeRawPointer,
                                              _ b: UnsafeMutableRawPointer, _ n: Int) {
        switch op {
        case .max: zip(a, b, n) { (x: T, y: T) in x > y ? x : y }
        case .min: zip(a, b, n) { (x: T, y: T) in x < y ? x : y }
        case .sum: zip(a, b, n) { (x: T, y: T) in x &+ y }
        case .prod: zip(a, b, n) { (x: T, y: T) in x &* y }
        case .band: zip(a, b, n) { (x: T, y: T) in x & y }
        case .bor: zip(a, b, n) { (x: T, y: T) in x | y }
        case .bxor: zip(a, b, n) { (x: T, y: T) in x ^ y }
        case .land: zip(a, b, n) { (x: T, y: T) in (x != 0 && y != 0) ? 1 : 0 }
        case .lor: zip(a, b, n) { (x: T, y: T) in (x != 0 || y != 0) ? 1 : 0 }
        case .lxor: zip(a, b, n) { (x: T, y: T) in ((x != 0) != (y != 0)) ? 1 : 0 }
        case .minloc, .maxloc, .replace, .noOp: break
        }
    }

    static func floating<T: BinaryFloatingPoint & BitwiseCopyable>(
        _ op: PredefinedOp, _: T.Type, _ a: UnsafeRawPointer, _ b: UnsafeMutableRawPointer, _ n: Int
    ) {
        switch op {
        // C's `a > b ? a : b`, as MPICH and Open MPI do: NaN handling follows the comparison.
        case .max: zip(a, b, n) { (x: T, y: T) in x > y ? x : y }
        case .min: zip(a, b, n) { (x: T, y: T) in x < y ? x : y }
        case .sum: zip(a, b, n) { (x: T, y: T) in x + y }
        case .prod: zip(a, b, n) { (x: T, y: T) in x * y }
        default: break
        }
    }

    /// Complex numbers are (real, imaginary) pairs of `T`, as C lays out `_Complex T`.
    static func complex<T: BinaryFloatingPoint & BitwiseCopyable>(
        _ op: PredefinedOp, _: T.Type, _ a: UnsafeRawPointer, _ b: UnsafeMutableRawPointer, _ n: Int
    ) {
        switch op {
        case .sum: zip(a, b, 2 * n) { (x: T, y: T) in x + y }
        case .prod:
            let s = MemoryLayout<T>.stride
            for i in 0..<n {
                let o = 2 &* s &* i
                let xr = a.loadUnaligned(fromByteOffset: o, as: T.self)
                let xi = a.loadUnaligned(fromByteOffset: o + s, as: T.self)
                let yr = UnsafeRawPointer(b).loadUnaligned(fromByteOffset: o, as: T.self)
                let yi = UnsafeRawPointer(b).loadUnaligned(fromByteOffset: o + s, as: T.self)
                b.storeBytes(of: xr * yr - xi * yi, toByteOffset: o, as: T.self)
                b.storeBytes(of: xr * yi + xi * yr, toByteOffset: o + s, as: T.self)
            }
        default: break
        }
    }

    /// MINLOC / MAXLOC on a (value, int) pair type: the extreme value wins; on equal values the
    /// smaller index wins (§5.9.4). An unordered pair (NaN) keeps `inout`.
    static func location<V: Comparable & BitwiseCopyable>(
        _ op: PredefinedOp, _: V.Type, _ type: BasicType,
        _ a: UnsafeRawPointer, _ b: UnsafeMutableRawPointer, _ n: Int
    ) {
        guard let parts = type.pairParts else { return }
        let extent = type.extent, io = parts.intOffset
        let isMin = op == .minloc
        for i in 0..<n {
            let o = i &* extent
            let u = a.loadUnaligned(fromByteOffset: o, as: V.self)
            let v = UnsafeRawPointer(b).loadUnaligned(fromByteOffset: o, as: V.self)
            if u == v {
                let ui = a.loadUnaligned(fromByteOffset: o + io, as: Int32.self)
                let vi = UnsafeRawPointer(b).loadUnaligned(fromByteOffset: o + io, as: Int32.self)
                if ui < vi { b.storeBytes(of: ui, toByteOffset: o + io, as: Int32.self) }
            } else if isMin ? (u < v) : (u > v) {
                b.storeBytes(of: u, toByteOffset: o, as: V.self)
                b.storeBytes(of: a.loadUnaligned(fromByteOffset: o + io, as: Int32.self),
                             toByteOffset: o + io, as: Int32.self)
            }
        }
    }
}
