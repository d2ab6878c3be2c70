// intercomm: world split into a lower and an upper half, an intercommunicator between them,
// point-to-point across it (ranks name the remote group), dup, and merge (low side first).
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func runIntercomm(_ t: T) throws {
    let me = t.me, n = t.n, w = t.w
    guard n >= 2 else { return }   // needs two non-empty groups
    let half = n / 2
    let upper = me >= half
    let local = try t.rt.commSplit(w, color: upper ? 1 : 0, key: me)!
    let remoteLeader: Int32 = upper ? 0 : half
    let ic = try t.rt.intercommCreate(local: local, localLeader: 0, peer: w, remoteLeader: remoteLeader, tag: 90)
    let lsize = upper ? Int(n - half) : Int(half), rsize = upper ? Int(half) : Int(n - half)
    check(ic.isInter && ic.size == lsize && ic.peerCount == rsize, "intercomm sizes \(ic.size) / \(ic.peerCount)")
    check(ic.rank == local.rank, "intercomm rank \(ic.rank)")
    check(ic.remoteGroup!.worldRanks == (upper ? Array(0..<half) : Array(half..<n)), "remote group \(ic.remoteGroup!.worldRanks)")
    // every local rank r sends to remote rank r % rsize; every remote rank receives from all
    // local ranks that map to it
    let out = alloc(2, Int32(0)); out[0] = me; out[1] = me * 3
    let dest = Int32(Int(ic.rank) % rsize)
    var sh = t.isend(out, 2, tInt, to: dest, tag: 5, comm: ic)
    let senders = (0..<rsize).filter { $0 % lsize == Int(ic.rank) }.count
    let inb = alloc(2, Int32(-1))
    var got: [Int32] = []
    for _ in 0..<senders {
        let st = t.recv(inb, 2, tInt, from: MPIConstant.anySource, tag: 5, comm: ic)
        let srcWorld = upper ? st.source : st.source + half
        check(inb[0] == srcWorld && inb[1] == srcWorld * 3, "intercomm message from remote \(st.source): \(inb[0]) \(inb[1])")
        got.append(st.source)
    }
    t.wait(&sh)
    check(Set(got).count == got.count, "duplicate senders \(got)")
    // dup of the intercommunicator keeps the groups
    let icd = try t.rt.commDup(ic)
    check(icd.isInter && icd.peerCount == rsize && t.rt.commCompare(ic, icd) == .congruent, "intercomm dup")
    var rh = t.irecv(inb, 1, tInt, from: 0, tag: 6, comm: icd)
    if ic.rank == 0 { t.send(out, 1, tInt, to: 0, tag: 6, comm: icd) }
    if ic.rank == 0 { let st = t.wait(&rh); check(inb[0] == (upper ? 0 : half), "intercomm dup message \(inb[0]) \(st)") }
    else { checkRC(t.rt.cancel(rh!), "cancel"); var s = Status(); _ = t.rt.wait(&rh, status: &s) }
    // merge: the lower half passes high = false, so it comes first
    let m = try t.rt.intercommMerge(ic, high: upper)
    check(!m.isInter && m.size == Int(n) && m.rank == me, "merged rank \(m.rank) size \(m.size)")
    let s = alloc(1, me), sum = alloc(1, Int32(0))
    checkRC(t.rt.allreduce(s, sum, count: 1, datatype: tInt, op: .predefined(.sum), comm: m), "allreduce on merged")
    check(sum.pointee == n * (n - 1) / 2, "allreduce on merged: \(sum.pointee)")
    // merge with high reversed: the upper half first
    let m2 = try t.rt.intercommMerge(ic, high: !upper)
    let want = upper ? me - half : me + (n - half)
    check(m2.rank == want, "merged (upper first) rank \(m2.rank), expected \(want)")
    try t.rt.commFree(m2); try t.rt.commFree(m); try t.rt.commFree(icd); try t.rt.commFree(ic); try t.rt.commFree(local)
}
