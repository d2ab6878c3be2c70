// datatypes: derived types over the wire (vector, indexed, subarray, struct, and a large
// vector that takes the rendezvous path): typed -> contiguous, contiguous -> typed (gaps left
// alone), typed -> typed, between partners.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

/// An int-based derived type, the int indices one element covers, and its extent in ints.
struct IntLayout {
    let name: String
    let type: Datatype
    let indices: [Int]
    let extentInts: Int
}

func runDatatypes(_ t: T) throws {
    let me = t.me, p = t.partner
    var layouts: [IntLayout] = []
    let vec = try Datatype.vector(10, blockLength: 3, stride: 5, tInt)
    layouts.append(IntLayout(name: "vector", type: vec, indices: (0..<10).flatMap { b in (0..<3).map { b * 5 + $0 } }, extentInts: 48))
    let idx = try Datatype.indexed(blockLengths: [2, 1, 4], displacements: [0, 5, 9], tInt)
    layouts.append(IntLayout(name: "indexed", type: idx, indices: [0, 1, 5, 9, 10, 11, 12], extentInts: 13))
    let sub = try Datatype.subarray(sizes: [6, 8], subsizes: [3, 4], starts: [1, 2], order: .c, tInt)
    layouts.append(IntLayout(name: "subarray", type: sub, indices: (0..<3).flatMap { r in (0..<4).map { (1 + r) * 8 + 2 + $0 } }, extentInts: 48))
    let bigVec = try Datatype.vector(30_000, blockLength: 2, stride: 3, tInt)
    layouts.append(IntLayout(name: "large vector", type: bigVec, indices: (0..<30_000).flatMap { b in [b * 3, b * 3 + 1] }, extentInts: 29_999 * 3 + 2))
    for l in layouts {
        check(!l.type.isCommitted, "\(l.name) committed before commit()")
        l.type.commit()
        check(l.type.size == l.indices.count * 4, "\(l.name) size \(l.type.size), expected \(l.indices.count * 4)")
        check(l.type.extent == l.extentInts * 4, "\(l.name) extent \(l.type.extent), expected \(l.extentInts * 4)")
    }
    let sentinel: Int32 = -77
    for l in layouts {
        let count = 2
        let span = l.extentInts * count
        let packed = l.indices.count * count
        let expected: (Int32, Int) -> Int32 = { r, k in
            // k-th packed int of rank r's typed send
            let e = k / l.indices.count, j = k % l.indices.count
            return r * 1_000_000 + Int32(e * l.extentInts + l.indices[j])
        }
        let src = alloc(span, Int32(0))
        for i in 0..<span { src[i] = me * 1_000_000 + Int32(i) }
        // typed -> contiguous
        let flat = alloc(packed, Int32(0))
        var rh = t.irecv(flat, packed, tInt, from: p, tag: 1)
        var sh = t.isend(src, count, l.type, to: p, tag: 1)
        var st = t.wait(&rh); t.wait(&sh)
        check(st.byteCount == packed * 4, "\(l.name) typed->contiguous byteCount \(st.byteCount)")
        for k in 0..<packed where flat[k] != expected(p, k) { fail("\(l.name) typed->contiguous int \(k): \(flat[k]), expected \(expected(p, k))") }
        // contiguous -> typed: gaps keep the sentinel
        let dst = alloc(span, sentinel)
        for k in 0..<packed { flat[k] = me * 1_000_000 + Int32(k) }
        rh = t.irecv(dst, count, l.type, from: p, tag: 2)
        sh = t.isend(flat, packed, tInt, to: p, tag: 2)
        st = t.wait(&rh); t.wait(&sh)
        check(st.byteCount == packed * 4, "\(l.name) contiguous->typed byteCount \(st.byteCount)")
        var want = [Int32](repeating: sentinel, count: span)
        for k in 0..<packed {
            let e = k / l.indices.count, j = k % l.indices.count
            want[e * l.extentInts + l.indices[j]] = p * 1_000_000 + Int32(k)
        }
        for i in 0..<span where dst[i] != want[i] { fail("\(l.name) contiguous->typed int \(i): \(dst[i]), expected \(want[i])") }
        // typed -> typed
        for i in 0..<span { dst[i] = sentinel }
        rh = t.irecv(dst, count, l.type, from: p, tag: 3)
        sh = t.isend(src, count, l.type, to: p, tag: 3)
        t.wait(&rh); t.wait(&sh)
        for i in 0..<span {
            let inType = want[i] != sentinel
            let w: Int32 = inType ? p * 1_000_000 + Int32(i) : sentinel
            if dst[i] != w { fail("\(l.name) typed->typed int \(i): \(dst[i]), expected \(w)") }
        }
        src.deallocate(); flat.deallocate(); dst.deallocate()
        t.barrier()
    }

    // struct { int32 a; double b; int32 c[2] } at offsets 0, 8, 16; extent 24.
    let st = try Datatype.structure(blockLengths: [1, 1, 2], byteDisplacements: [0, 8, 16], types: [tInt, tDouble, tInt])
    st.commit()
    check(st.size == 16 + 4 && st.extent == 24, "struct size \(st.size) extent \(st.extent), expected 20 and 24")
    let n = 5
    let sbuf = UnsafeMutableRawPointer.allocate(byteCount: 24 * n, alignment: 8)
    let rbuf = UnsafeMutableRawPointer.allocate(byteCount: 24 * n, alignment: 8)
    memset(sbuf, 0x11, 24 * n); memset(rbuf, 0x5A, 24 * n)
    for e in 0..<n {
        sbuf.storeBytes(of: me * 100 + Int32(e), toByteOffset: e * 24, as: Int32.self)
        sbuf.storeBytes(of: Double(me) + Double(e) / 4, toByteOffset: e * 24 + 8, as: Double.self)
        sbuf.storeBytes(of: Int32(e * 3), toByteOffset: e * 24 + 16, as: Int32.self)
        sbuf.storeBytes(of: Int32(-e), toByteOffset: e * 24 + 20, as: Int32.self)
    }
    var rh = t.irecv(rbuf, n, st, from: p, tag: 4)
    var sh = t.isend(sbuf, n, st, to: p, tag: 4)
    let sst = t.wait(&rh); t.wait(&sh)
    check(sst.byteCount == 20 * n, "struct byteCount \(sst.byteCount)")
    for e in 0..<n {
        let a = rbuf.load(fromByteOffset: e * 24, as: Int32.self)
        let b = rbuf.load(fromByteOffset: e * 24 + 8, as: Double.self)
        let c0 = rbuf.load(fromByteOffset: e * 24 + 16, as: Int32.self)
        let c1 = rbuf.load(fromByteOffset: e * 24 + 20, as: Int32.self)
        check(a == p * 100 + Int32(e) && b == Double(p) + Double(e) / 4 && c0 == Int32(e * 3) && c1 == Int32(-e),
              "struct element \(e): \(a) \(b) \(c0) \(c1)")
        for g in 4..<8 { check(rbuf.load(fromByteOffset: e * 24 + g, as: UInt8.self) == 0x5A, "struct padding byte \(g) of element \(e) was written") }
    }
    // pack / unpack round trip of the vector type
    let vsrc = alloc(48, Int32(0))
    for i in 0..<48 { vsrc[i] = Int32(i) }
    let packedBuf = UnsafeMutableRawPointer.allocate(byteCount: vec.size, alignment: 8)
    vec.pack(from: vsrc, count: 1, packedOffset: 0, into: packedBuf, bytes: vec.size)
    for (k, i) in layouts[0].indices.enumerated() {
        check(packedBuf.load(fromByteOffset: 4 * k, as: Int32.self) == Int32(i), "pack vector int \(k)")
    }
    let vdst = alloc(48, Int32(-1))
    vec.unpack(from: packedBuf, bytes: vec.size, into: vdst, count: 1, packedOffset: 0)
    for i in 0..<48 { check(vdst[i] == (layouts[0].indices.contains(i) ? Int32(i) : -1), "unpack vector int \(i): \(vdst[i])") }
}
