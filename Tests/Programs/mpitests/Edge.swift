// edge: corners where protocols meet: truncation of eager and rendezvous messages on both the
// expected and unexpected paths (the next message still arrives), synchronous send to self,
// all pairs exchanging rendezvous-sized messages at once, ANY_SOURCE over rendezvous,
// cancelling an unsent send, count 0 and derived types in collectives, reductions over
// non-contiguous types, gather with different but matching type signatures.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func runEdge(_ t: T) throws {
    let me = t.me, n = t.n, w = t.w, p = t.partner
    // Truncation: eager (400 B) and rendezvous (2 MiB) into 100 B, receiver first and sender first.
    for bytes in [400, 2 << 20] {
        for senderFirst in [false, true] {
            let sb = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            fillPattern(sb, bytes: bytes, rank: me)
            let rb = UnsafeMutableRawPointer.allocate(byteCount: 100, alignment: 64)
            var sh: RequestHandle = nil, rh: RequestHandle = nil
            if senderFirst { sh = t.isend(sb, bytes, tByte, to: p, tag: 40); t.barrier(); rh = t.irecv(rb, 100, tByte, from: p, tag: 40) }
            else { rh = t.irecv(rb, 100, tByte, from: p, tag: 40); t.barrier(); sh = t.isend(sb, bytes, tByte, to: p, tag: 40) }
            var st = Status()
            let rc = t.rt.wait(&rh, status: &st)
            check(rc == ErrorClass.truncate.rawValue && st.error == ErrorClass.truncate.rawValue,
                  "truncate \(bytes) B into 100 B (\(senderFirst ? "unexpected" : "expected")): rc \(rc) status \(st)")
            check(st.source == p && st.tag == 40, "truncated status envelope \(st)")
            if let k = firstPatternMismatch(rb, bytes: 100, rank: p) { fail("truncated receive: byte \(k) of the first 100 wrong") }
            var ss = Status()
            let src = t.rt.wait(&sh, status: &ss)
            check(src == 0, "sender of a truncated message got \(src)")
            // the pair still works afterwards
            let v = alloc(1, me), r = alloc(1, Int32(-1))
            var a = t.irecv(r, 1, tInt, from: p, tag: 41)
            t.send(v, 1, tInt, to: p, tag: 41)
            t.wait(&a)
            check(r.pointee == p, "message after truncation: \(r.pointee)")
            sb.deallocate(); rb.deallocate()
            t.barrier()
        }
    }
    // Synchronous send to self: completes once the receive is posted.
    let sv = alloc(1, Int32(31)), rv = alloc(1, Int32(0))
    var ssh = t.isend(sv, 1, tInt, to: me, tag: 42, mode: .synchronous)
    var flag = false
    var st = Status()
    checkRC(t.rt.test(&ssh, flag: &flag, status: &st), "test self ssend")
    check(!flag, "ssend to self completed before a receive was posted")
    t.recv(rv, 1, tInt, from: me, tag: 42)
    t.wait(&ssh)
    check(rv.pointee == 31, "self ssend value \(rv.pointee)")
    // All pairs at once, 600 KB each way, receives posted after the sends, ANY_SOURCE.
    let big = 600_000
    let N = Int(n)
    let sbufs = (0..<N).map { _ in UnsafeMutableRawPointer.allocate(byteCount: big, alignment: 64) }
    let rbufs = (0..<N).map { _ in UnsafeMutableRawPointer.allocate(byteCount: big, alignment: 64) }
    var reqs: [RequestHandle] = []
    for j in 0..<N {
        fillPattern(sbufs[j], bytes: big, rank: me &* 7 &+ Int32(j))
        sbufs[j].storeBytes(of: me, as: Int32.self)
        reqs.append(t.isend(sbufs[j], big, tByte, to: Int32(j), tag: 43))
    }
    for j in 0..<N { reqs.append(t.irecv(rbufs[j], big, tByte, from: MPIConstant.anySource, tag: 43)) }
    var sts = [Status](repeating: Status(), count: 2 * N)
    checkRC(t.rt.waitAll(&reqs, statuses: &sts), "waitAll all-pairs")
    var from = Set<Int32>()
    for j in 0..<N {
        let s = rbufs[j].load(as: Int32.self)
        check(sts[N + j].source == s && sts[N + j].byteCount == big, "all-pairs status \(sts[N + j]) for data from \(s)")
        from.insert(s)
        rbufs[j].storeBytes(of: UInt32(0), as: UInt32.self)
        for b in 0..<4 { rbufs[j].storeBytes(of: patternByte(b, s &* 7 &+ me), toByteOffset: b, as: UInt8.self) }
        if let k = firstPatternMismatch(rbufs[j], bytes: big, rank: s &* 7 &+ me) { fail("all-pairs data from \(s): byte \(k)") }
    }
    check(from.count == N, "all-pairs sources \(from.sorted())")
    for b in sbufs + rbufs { b.deallocate() }
    t.barrier()
    // Collectives with count 0 and empty contributions.
    let z = alloc(4, Int32(5))
    checkRC(t.rt.bcast(z, count: 0, datatype: tInt, root: 0, comm: w), "bcast count 0")
    checkRC(t.rt.allreduce(z, z + 2, count: 0, datatype: tInt, op: .predefined(.sum), comm: w), "allreduce count 0")
    checkRC(t.rt.reduce(z, z + 2, count: 0, datatype: tInt, op: .predefined(.sum), root: 0, comm: w), "reduce count 0")
    checkRC(t.rt.allgather(z, sendCount: 0, sendType: tInt, z + 2, recvCount: 0, recvType: tInt, comm: w), "allgather count 0")
    checkRC(t.rt.alltoall(z, sendCount: 0, sendType: tInt, z + 2, recvCount: 0, recvType: tInt, comm: w), "alltoall count 0")
    check(z[0] == 5 && z[3] == 5, "count-0 collectives wrote data")
    // Reductions over a non-contiguous type: every other double of 2*count.
    let every2 = try Datatype.vector(3, blockLength: 1, stride: 2, tDouble); every2.commit()
    let ds = alloc(6, 0.0), dr = alloc(6, -1.0)
    for i in 0..<6 { ds[i] = Double(me) + Double(i) / 8 }
    checkRC(t.rt.allreduce(ds, dr, count: 1, datatype: every2, op: .predefined(.sum), comm: w), "allreduce on vector type")
    for i in 0..<6 {
        let want = i % 2 == 0 ? Double(n * (n - 1) / 2) + Double(n) * Double(i) / 8 : -1
        check(dr[i] == want, "allreduce vector type [\(i)]: \(dr[i]), expected \(want)")
    }
    // user op over the same non-contiguous type (span mode): max
    let umax = UserOperation(commutative: true) { inp, io, count, type in
        // count elements of `type`: combine the doubles the type covers
        let a = inp.assumingMemoryBound(to: Double.self), b = io.assumingMemoryBound(to: Double.self)
        for e in 0..<count { for k in 0..<3 { let i = e * 6 + 2 * k; b[i] = max(a[i], b[i]) } }
        _ = type
    }
    for i in 0..<6 { dr[i] = -1 }
    checkRC(t.rt.allreduce(ds, dr, count: 1, datatype: every2, op: .user(umax), comm: w), "allreduce user op on vector type")
    for i in stride(from: 0, to: 6, by: 2) { check(dr[i] == Double(n - 1) + Double(i) / 8, "user op vector type [\(i)]: \(dr[i])") }
    // Gather with matching signatures: contiguous(3, int) x 1 sent, int x 3 received.
    let c3 = try Datatype.contiguous(3, tInt); c3.commit()
    let gs = alloc(3, Int32(0)), gr = alloc(3 * N, Int32(-1))
    for i in 0..<3 { gs[i] = me * 10 + Int32(i) }
    checkRC(t.rt.gather(gs, sendCount: 1, sendType: c3, gr, recvCount: 3, recvType: tInt, root: 0, comm: w), "gather mixed types")
    if me == 0 { for k in 0..<(3 * N) { check(gr[k] == Int32(k / 3) * 10 + Int32(k % 3), "gather mixed types [\(k)]: \(gr[k])") } }
    checkRC(t.rt.allgather(gs, sendCount: 3, sendType: tInt, gr, recvCount: 1, recvType: c3, comm: w), "allgather mixed types")
    for k in 0..<(3 * N) { check(gr[k] == Int32(k / 3) * 10 + Int32(k % 3), "allgather mixed types [\(k)]: \(gr[k])") }
    // exscan in place
    let ex = alloc(1, me + 1)
    checkRC(t.rt.exscan(Runtime.inPlace, ex, count: 1, datatype: tInt, op: .predefined(.sum), comm: w), "exscan in place")
    if me > 0 { check(ex.pointee == me * (me + 1) / 2, "exscan IN_PLACE: \(ex.pointee), expected \(me * (me + 1) / 2)") }
    // Persistent receive with ANY_SOURCE restarted for each sender.
    var pr = RequestID(index: -1, generation: 0)
    let pv = alloc(1, Int32(-1))
    checkRC(t.rt.recvInit(pv, count: 1, datatype: tInt, source: MPIConstant.anySource, tag: 44, comm: w, request: &pr), "recv_init any")
    if me != 0 { let v = alloc(1, me * 3); t.send(v, 1, tInt, to: 0, tag: 44) }
    else {
        var seen = Set<Int32>()
        for _ in 1..<N {
            checkRC(t.rt.start(pr), "start")
            var h: RequestHandle = pr
            var s = Status()
            checkRC(t.rt.wait(&h, status: &s), "wait persistent any")
            check(h != nil, "wait nulled a persistent request")
            check(pv.pointee == s.source * 3, "persistent ANY_SOURCE value \(pv.pointee) from \(s.source)")
            seen.insert(s.source)
        }
        check(seen.count == N - 1, "persistent ANY_SOURCE senders \(seen)")
    }
    var ph: RequestHandle = pr
    checkRC(t.rt.requestFree(&ph), "free persistent")
    t.barrier()
    // Flood: 3000 outstanding sends of 1 KiB each to the partner before it posts anything,
    // then 3000 receives (more requests than the initial request table holds).
    let m = 3000, len = 256
    let fo = alloc(m * len, Int32(0)), fi = alloc(m * len, Int32(-1))
    for k in 0..<m { for i in stride(from: 0, to: len, by: 64) { fo[k * len + i] = me * 100_000 + Int32(k) } }
    var fr: [RequestHandle] = []
    fr.reserveCapacity(2 * m)
    for k in 0..<m { fr.append(t.isend(fo + k * len, len, tInt, to: p, tag: 45)) }
    t.barrier()
    for k in 0..<m { fr.append(t.irecv(fi + k * len, len, tInt, from: p, tag: 45)) }
    var fst = [Status](repeating: Status(), count: 2 * m)
    checkRC(t.rt.waitAll(&fr, statuses: &fst), "waitAll flood")
    for k in 0..<m { for i in stride(from: 0, to: len, by: 64) where fi[k * len + i] != p * 100_000 + Int32(k) {
        fail("flood message \(k): \(fi[k * len + i]) (order or content)") } }
    fo.deallocate(); fi.deallocate()
    t.barrier()
    // Tag upper bound is a valid tag.
    let tu = alloc(1, Int32(9)), tr = alloc(1, Int32(0))
    var th = t.irecv(tr, 1, tInt, from: p, tag: MPIConstant.tagUpperBound)
    t.send(tu, 1, tInt, to: p, tag: MPIConstant.tagUpperBound)
    let tst = t.wait(&th)
    check(tst.tag == MPIConstant.tagUpperBound && tr.pointee == 9, "TAG_UB message: \(tst)")
    // Intercommunicator whose leaders are the LAST rank of each half (not rank 0).
    if n >= 2 {
        let half = n / 2
        let upper = me >= half
        let local = try t.rt.commSplit(w, color: upper ? 1 : 0, key: me)!
        let ll = Int32(local.size - 1)
        let ic = try t.rt.intercommCreate(local: local, localLeader: ll, peer: w, remoteLeader: upper ? half - 1 : n - 1, tag: 46)
        check(ic.peerCount == (upper ? Int(half) : Int(n - half)), "intercomm (last leaders) remote size \(ic.peerCount)")
        let v = alloc(1, me), r = alloc(1, Int32(-1))
        var rh = t.irecv(r, 1, tInt, from: MPIConstant.anySource, tag: 47, comm: ic)
        if ic.rank == 0 { t.send(v, 1, tInt, to: 0, tag: 47, comm: ic) }
        if ic.rank == 0 { t.wait(&rh); check(r.pointee == (upper ? 0 : half), "intercomm (last leaders) message \(r.pointee)") }
        else { checkRC(t.rt.cancel(rh!), "cancel"); var s = Status(); _ = t.rt.wait(&rh, status: &s) }
        let merged = try t.rt.intercommMerge(ic, high: upper)
        check(merged.rank == me, "merge (last leaders) rank \(merged.rank)")
        let one = alloc(1, Int32(1)), sum = alloc(1, Int32(0))
        checkRC(t.rt.allreduce(one, sum, count: 1, datatype: tInt, op: .predefined(.sum), comm: merged), "allreduce merged")
        check(sum.pointee == n, "allreduce merged (last leaders): \(sum.pointee)")
        try t.rt.commFree(merged); try t.rt.commFree(ic); try t.rt.commFree(local)
    }
    t.barrier()
}
