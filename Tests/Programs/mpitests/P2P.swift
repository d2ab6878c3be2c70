// p2p: ring values, expected and unexpected paths (eager and rendezvous sizes), PROC_NULL,
// statuses, truncation, zero-byte messages, synchronous and ready modes, waitany/testall/waitsome.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func runP2P(_ t: T) throws {
    let me = t.me, n = t.n, w = t.w
    // Ring: every rank adds its rank; token returns to 0 as sum 0..n-1 + 100.
    let tok = alloc(1, Int32(-1))
    if n > 1 {
        if me == 0 {
            tok.pointee = 100
            t.send(tok, 1, tInt, to: 1, tag: 5)
            let st = t.recv(tok, 1, tInt, from: n - 1, tag: 5)
            check(tok.pointee == 100 + n * (n - 1) / 2, "ring token \(tok.pointee), expected \(100 + n * (n - 1) / 2)")
            check(st.source == n - 1 && st.tag == 5 && st.byteCount == 4 && st.error == 0, "ring status \(st)")
        } else {
            t.recv(tok, 1, tInt, from: me - 1, tag: 5)
            tok.pointee += me
            t.send(tok, 1, tInt, to: (me + 1) % n, tag: 5)
        }
    }
    t.barrier()

    // Expected vs unexpected, eager (small) and rendezvous (large) sizes, between partners.
    let p = t.partner
    for bytes in [0, 1, 100, 8192, 200_000, 3 << 20] {
        let sbuf = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        let rbuf = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        fillPattern(sbuf, bytes: bytes, rank: me)
        // (a) sender first: both send, barrier, then the receives are posted (message unexpected).
        memset(rbuf, 0xEE, max(bytes, 1))
        var sh = t.isend(sbuf, bytes, tByte, to: p, tag: 11)
        t.barrier()
        var st = t.recv(rbuf, bytes, tByte, from: p, tag: 11)
        t.wait(&sh)
        check(st.source == p && st.tag == 11 && st.byteCount == bytes && !st.cancelled,
              "unexpected-path status \(st) for \(bytes) B from \(p)")
        if let k = firstPatternMismatch(rbuf, bytes: bytes, rank: p) { fail("unexpected path \(bytes) B: byte \(k) wrong") }
        // (b) receiver first: receives posted, barrier, then the sends.
        memset(rbuf, 0xEE, max(bytes, 1))
        var rh = t.irecv(rbuf, bytes, tByte, from: p, tag: 12)
        t.barrier()
        t.send(sbuf, bytes, tByte, to: p, tag: 12)
        st = t.wait(&rh)
        check(st.source == p && st.tag == 12 && st.byteCount == bytes, "expected-path status \(st) for \(bytes) B")
        if let k = firstPatternMismatch(rbuf, bytes: bytes, rank: p) { fail("expected path \(bytes) B: byte \(k) wrong") }
        sbuf.deallocate(); rbuf.deallocate()
    }
    t.barrier()

    // PROC_NULL: completes at once with source PROC_NULL, tag ANY_TAG, 0 bytes; buffer untouched.
    let pn = alloc(4, Int32(7))
    t.send(pn, 4, tInt, to: MPIConstant.procNull, tag: 1)
    let pst = t.recv(pn, 4, tInt, from: MPIConstant.procNull, tag: 1)
    check(pst.source == MPIConstant.procNull && pst.tag == MPIConstant.anyTag && pst.byteCount == 0,
          "PROC_NULL recv status \(pst)")
    check(pn[0] == 7 && pn[3] == 7, "PROC_NULL recv wrote into the buffer")

    // Truncation: 10 ints into room for 5 -> MPI_ERR_TRUNCATE in the status and return code.
    let big = alloc(10, Int32(0)), small = alloc(5, Int32(-1))
    for i in 0..<10 { big[i] = me * 100 + Int32(i) }
    var tsh = t.isend(big, 10, tInt, to: p, tag: 13)
    var trh = t.irecv(small, 5, tInt, from: p, tag: 13)
    var tst = Status()
    let trc = t.rt.wait(&trh, status: &tst)
    check(trc == ErrorClass.truncate.rawValue && tst.error == ErrorClass.truncate.rawValue,
          "truncated receive: rc \(trc), status \(tst), expected error \(ErrorClass.truncate.rawValue)")
    t.wait(&tsh)
    t.barrier()

    // Zero-byte messages with distinct tags keep their tags and order.
    var zr: [RequestHandle] = []
    for k in 0..<5 { zr.append(t.irecv(nil, 0, tInt, from: p, tag: MPIConstant.anyTag)) ; _ = k }
    for k in 0..<5 { t.send(nil, 0, tInt, to: p, tag: Int32(20 + k)) }
    for k in 0..<5 {
        let st = t.wait(&zr[k])
        check(st.tag == Int32(20 + k) && st.byteCount == 0 && st.source == p, "zero-byte message \(k): status \(st)")
    }
    t.barrier()

    // Synchronous send completes only after the receive matches: the receiver posts only after
    // a barrier that the sender enters after testing its request for a while.
    if n >= 2 && me < 2 {
        let v = alloc(1, Int32(0))
        if me == 0 {
            v.pointee = 4242
            var h = t.isend(v, 1, tInt, to: 1, tag: 14, mode: .synchronous)
            var flag = false
            var st = Status()
            let until = t.rt.wallTime + 0.2
            while t.rt.wallTime < until {
                checkRC(t.rt.test(&h, flag: &flag, status: &st), "test(ssend)")
                check(!flag, "ssend completed before the receiver posted its receive")
            }
            t.barrier()
            t.wait(&h)
        } else {
            t.barrier()
            t.recv(v, 1, tInt, from: 0, tag: 14)
            check(v.pointee == 4242, "ssend value \(v.pointee)")
        }
    } else {
        t.barrier()
    }
    // Ready send: the receive is posted before the barrier.
    let rv = alloc(3, Int32(0)), sv = alloc(3, Int32(0))
    for i in 0..<3 { sv[i] = me &* 7 &+ Int32(i) }
    var rrh = t.irecv(rv, 3, tInt, from: p, tag: 15)
    t.barrier()
    t.send(sv, 3, tInt, to: p, tag: 15, mode: .ready)
    t.wait(&rrh)
    for i in 0..<3 { check(rv[i] == p &* 7 &+ Int32(i), "rsend value \(i): \(rv[i])") }
    t.barrier()

    // waitAny / testAll / someCompleted over several receives from the partner.
    let m = 6
    let vals = alloc(m, Int32(-1)), outs = alloc(m, Int32(0))
    var reqs: [RequestHandle] = (0..<m).map { k in t.irecv(vals + k, 1, tInt, from: p, tag: Int32(30 + k)) }
    for k in (0..<m).reversed() { outs[k] = me * 1000 + Int32(k); t.send(outs + k, 1, tInt, to: p, tag: Int32(30 + k)) }
    var seen = Set<Int>()
    var idx = 0
    var st = Status()
    checkRC(t.rt.waitAny(&reqs, index: &idx, status: &st), "waitAny")
    check(idx >= 0 && idx < m && reqs[idx] == nil && st.tag == Int32(30 + idx), "waitAny index \(idx) status \(st)")
    seen.insert(idx)
    var indices: [Int] = []
    var sts: [Status] = []
    let (src, cnt) = t.rt.someCompleted(&reqs, blocking: true, indices: &indices, statuses: &sts)
    checkRC(src, "waitsome")
    check(cnt >= 1 && cnt == indices.count, "waitsome count \(cnt) indices \(indices)")
    for (j, k) in indices.enumerated() { check(sts[j].tag == Int32(30 + k) && !seen.contains(k), "waitsome index \(k)"); seen.insert(k) }
    var all = [Status](repeating: Status(), count: m)
    var flag = false
    while !flag { checkRC(t.rt.testAll(&reqs, flag: &flag, statuses: &all), "testAll") }
    check(reqs.allSatisfy { $0 == nil }, "testAll left requests")
    for k in 0..<m { check(vals[k] == p * 1000 + Int32(k), "waitany/testall value \(k): \(vals[k])") }
    checkRC(t.rt.waitAny(&reqs, index: &idx, status: &st), "waitAny on nulls")
    check(idx == Int(MPIConstant.undefined), "waitAny on null requests: index \(idx)")
    _ = w
}
