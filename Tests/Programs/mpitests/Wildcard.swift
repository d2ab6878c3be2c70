// wildcard: ANY_SOURCE / ANY_TAG matching, the non-overtaking rule (messages of one pair and
// tag arrive in send order, mixing eager and rendezvous sizes), and selective receives by tag.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func runWildcard(_ t: T) throws {
    let me = t.me, n = t.n
    let k = 40
    // Every rank (0 included, as a send to itself) sends k messages to rank 0, tag = i % 3,
    // value = src * 100000 + i; rank 0 receives them all with ANY_SOURCE / ANY_TAG.
    let out = alloc(k, Int32(0))
    var sends: [RequestHandle] = []
    for i in 0..<k {
        out[i] = me * 100000 + Int32(i)
        sends.append(t.isend(out + i, 1, tInt, to: 0, tag: Int32(i % 3)))
    }
    if me == 0 {
        var next = [Int](repeating: 0, count: Int(n))
        let v = alloc(1, Int32(0))
        for _ in 0..<(k * Int(n)) {
            let st = t.recv(v, 1, tInt, from: MPIConstant.anySource, tag: MPIConstant.anyTag)
            let src = Int(v.pointee / 100000), i = Int(v.pointee % 100000)
            check(st.source == Int32(src), "ANY_SOURCE status source \(st.source) but value from \(src)")
            check(st.tag == Int32(i % 3), "ANY_TAG status tag \(st.tag) for message \(i)")
            check(st.byteCount == 4, "byteCount \(st.byteCount)")
            check(i == next[src], "from rank \(src): got message \(i), expected \(next[src]) (overtaking)")
            next[src] += 1
        }
    }
    var sts = [Status](repeating: Status(), count: k)
    checkRC(t.rt.waitAll(&sends, statuses: &sts), "waitAll sends")
    t.barrier()

    // Non-overtaking with mixed sizes: partner pairs, same tag, alternating small (eager) and
    // large (rendezvous) messages; the receiver posts ANY_SOURCE receives sized for the largest.
    let p = t.partner
    let sizes = [4, 300_000, 8, 65_536, 0, 1 << 20, 12, 100]
    let bufs = sizes.map { s -> UnsafeMutableRawPointer in
        let b = UnsafeMutableRawPointer.allocate(byteCount: max(s, 8), alignment: 64)
        fillPattern(b, bytes: s, rank: me)
        if s >= 4 { b.storeBytes(of: Int32(s), as: Int32.self) }
        return b
    }
    let maxSize = sizes.max()!
    let rbufs = sizes.map { _ in UnsafeMutableRawPointer.allocate(byteCount: maxSize, alignment: 64) }
    // Half the receives are posted before the sends (expected), half after (unexpected).
    var recvs: [RequestHandle] = []
    for j in 0..<(sizes.count / 2) { recvs.append(t.irecv(rbufs[j], maxSize, tByte, from: MPIConstant.anySource, tag: 7)) }
    t.barrier()
    var ss: [RequestHandle] = []
    for j in sizes.indices { ss.append(t.isend(bufs[j], sizes[j], tByte, to: p, tag: 7)) }
    for j in (sizes.count / 2)..<sizes.count { recvs.append(t.irecv(rbufs[j], maxSize, tByte, from: MPIConstant.anySource, tag: 7)) }
    var rs = [Status](repeating: Status(), count: sizes.count)
    checkRC(t.rt.waitAll(&recvs, statuses: &rs), "waitAll mixed-size receives")
    checkRC(t.rt.waitAll(&ss, statuses: &sts), "waitAll mixed-size sends")
    for j in sizes.indices {
        check(rs[j].byteCount == sizes[j] && rs[j].source == p, "mixed message \(j): status \(rs[j]), expected \(sizes[j]) B")
        if sizes[j] >= 4 {
            let hdr = rbufs[j].load(as: Int32.self)
            check(hdr == Int32(sizes[j]), "mixed message \(j): header \(hdr), expected \(sizes[j]) (overtaken)")
            for b in 0..<4 { rbufs[j].storeBytes(of: patternByte(b, p), toByteOffset: b, as: UInt8.self) }
            if let bad = firstPatternMismatch(rbufs[j], bytes: sizes[j], rank: p) { fail("mixed message \(j): byte \(bad) wrong") }
        }
    }
    t.barrier()

    // Selective receive: tags 1, 2, 3 sent in order; received 3, 1, then ANY_TAG gets 2.
    let v3 = alloc(3, Int32(0)), r3 = alloc(3, Int32(-1))
    for i in 0..<3 { v3[i] = Int32(i + 1) * 10 + me }
    var s3: [RequestHandle] = (0..<3).map { i in t.isend(v3 + i, 1, tInt, to: p, tag: Int32(i + 1)) }
    t.barrier()
    let a = t.recv(r3 + 2, 1, tInt, from: p, tag: 3)
    let b = t.recv(r3 + 0, 1, tInt, from: MPIConstant.anySource, tag: 1)
    let c = t.recv(r3 + 1, 1, tInt, from: p, tag: MPIConstant.anyTag)
    check(a.tag == 3 && b.tag == 1 && c.tag == 2, "selective tags \(a.tag) \(b.tag) \(c.tag)")
    for i in 0..<3 { check(r3[i] == Int32(i + 1) * 10 + p, "selective value \(i): \(r3[i])") }
    var s3s = [Status](repeating: Status(), count: 3)
    checkRC(t.rt.waitAll(&s3, statuses: &s3s), "waitAll selective sends")
}
