// Native pack/unpack of any window of the packed stream of `count` elements, and
// MPI_Get_elements. Transports call these chunk by chunk: the window's start is found by
// element index (offset / size) and a binary search of the block prefix sums; each block is
// one memmove. Contiguous types take a single memmove for the whole window.
import FerryCore

extension Datatype {
    /// Copies bytes [packedOffset, packedOffset + bytes) of the packed stream of `count`
    /// elements at `base` (nil = MPI_BOTTOM: displacements are absolute addresses) into `dst`.
    /// - Precondition: `packedOffset + bytes <= size * count`.
    public func pack(from base: UnsafeRawPointer?, count: Int, packedOffset: Int,
                     into dst: UnsafeMutableRawPointer, bytes: Int) {
        copyWindow(userBase: Int(bitPattern: base), count: count, packedOffset: packedOffset,
                   packed: dst, bytes: bytes, packing: true)
    }

    /// Inverse of `pack`: scatters `bytes` packed bytes, which are the window starting at
    /// `packedOffset` of the packed stream of `count` elements, into the buffer at `base`.
    public func unpack(from src: UnsafeRawPointer, bytes: Int, into base: UnsafeMutableRawPointer?,
                       count: Int, packedOffset: Int) {
        copyWindow(userBase: Int(bitPattern: base), count: count, packedOffset: packedOffset,
                   packed: UnsafeMutableRawPointer(mutating: src), bytes: bytes, packing: false)
    }

    /// One copy between user memory at `address` and the packed stream at `packed`.
    @inline(__always)
    private static func move(_ address: Int, _ packed: UnsafeMutableRawPointer, _ n: Int,
                             _ packing: Bool) {
        // SAFETY: the caller (MPI user) guarantees the buffer covers the type map of `count`
        // elements; addresses come from that map. `bitPattern: 0` can only occur for a data
        // byte at absolute address 0, which no valid buffer has.
        let user = UnsafeMutableRawPointer(bitPattern: address)!
        if packing { packed.copyMemory(from: user, byteCount: n) }
        else { user.copyMemory(from: packed, byteCount: n) }
    }

    private func copyWindow(userBase: Int, count: Int, packedOffset: Int,
                            packed: UnsafeMutableRawPointer, bytes: Int, packing: Bool) {
        precondition(count >= 0 && packedOffset >= 0 && bytes >= 0, "negative pack arguments")
        precondition(packedOffset + bytes <= size * count, "pack window beyond the packed stream")
        if bytes == 0 { return }
        let f = flat
        let size = f.size, extent = f.extent
        if f.blockCount == 1 {
            let off = f.isRegular ? f.regularFirst : f.blockOffsets[0]
            if size == extent {
                // Elements abut: the window is one run of user memory.
                Self.move(userBase + off + packedOffset, packed, bytes, packing)
                return
            }
            var e = packedOffset / size
            var within = packedOffset - e * size
            var p = packed, remaining = bytes
            while remaining > 0 {
                let n = min(size - within, remaining)
                Self.move(userBase + e * extent + off + within, p, n, packing)
                p += n; remaining -= n; within = 0; e += 1
            }
            return
        }
        let e = packedOffset / size
        let within = packedOffset - e * size
        var p = packed, remaining = bytes
        var elementBase = userBase + e * extent
        if f.isRegular {
            let first = f.regularFirst, len = f.regularLength, stride = f.regularStride
            let nBlocks = f.blockCount
            var b = within / len
            var skip = within - b * len
            while remaining > 0 {
                let n = min(len - skip, remaining)
                Self.move(elementBase + first + b * stride + skip, p, n, packing)
                p += n; remaining -= n; skip = 0; b += 1
                if b == nBlocks { b = 0; elementBase += extent }
            }
            return
        }
        f.blockOffsets.withUnsafeBufferPointer { offs in
            f.blockLengths.withUnsafeBufferPointer { lens in
                let nBlocks = offs.count
                var b = upperBoundIndex(f.blockPrefix, within) - 1
                var skip = within - f.blockPrefix[b]
                while remaining > 0 {
                    let n = min(lens[b] - skip, remaining)
                    Self.move(elementBase + offs[b] + skip, p, n, packing)
                    p += n; remaining -= n; skip = 0; b += 1
                    if b == nBlocks { b = 0; elementBase += extent }
                }
            }
        }
    }

    /// MPI_Get_elements for `bytes` received: the number of basic elements (pair types count
    /// two: value and int), or nil (MPI_UNDEFINED) if `bytes` ends inside a basic element.
    public func basicElements(inBytes bytes: Int) -> Int? {
        if bytes < 0 { return nil }
        if size == 0 { return bytes == 0 ? 0 : nil }
        let f = flat
        let whole = bytes / size
        var rem = bytes - whole * size
        var n = whole * f.elementsPerItem
        if rem == 0 { return n }
        let k = f.runIndex(containing: rem)
        n += f.elementPrefix[k]
        rem -= f.runPrefix[k]
        let t = f.runs[k].type
        let full = rem / t.size
        n += full * (t.isPair ? 2 : 1)
        rem -= full * t.size
        if rem == 0 { return n }
        if let parts = t.pairParts, rem == parts.value.size { return n + 1 }
        return nil
    }
}
