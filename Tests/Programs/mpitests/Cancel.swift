// cancel: a posted receive that nothing matches is cancelled (status cancelled, and the
// message sent afterwards goes to the next receive); a completed receive is not cancelled;
// generalized requests complete through their callbacks.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func runCancel(_ t: T) throws {
    let me = t.me, p = t.partner
    let v = alloc(1, Int32(-1))
    var h = t.irecv(v, 1, tInt, from: p, tag: 50)
    checkRC(t.rt.cancel(h!), "cancel")
    var st = Status()
    checkRC(t.rt.wait(&h, status: &st), "wait on cancelled receive")
    check(st.cancelled, "cancelled receive: status not cancelled (\(st))")
    check(v.pointee == -1, "cancelled receive wrote \(v.pointee)")
    // the cancelled receive must not take the next message
    t.barrier()
    let s = alloc(1, me + 500)
    var sh = t.isend(s, 1, tInt, to: p, tag: 50)
    let rst = t.recv(v, 1, tInt, from: p, tag: 50)
    t.wait(&sh)
    check(v.pointee == p + 500 && !rst.cancelled, "receive after cancel: \(v.pointee) \(rst)")
    // several posted receives; cancel the middle one; the others get the messages in order
    let vals = alloc(3, Int32(-1))
    var rs = (0..<3).map { k in t.irecv(vals + k, 1, tInt, from: MPIConstant.anySource, tag: 51) }
    checkRC(t.rt.cancel(rs[1]!), "cancel middle")
    var mst = Status()
    checkRC(t.rt.wait(&rs[1], status: &mst), "wait middle")
    check(mst.cancelled, "middle receive not cancelled")
    t.barrier()
    let s2 = alloc(2, Int32(0)); s2[0] = me * 10 + 1; s2[1] = me * 10 + 2
    var a = t.isend(s2, 1, tInt, to: p, tag: 51), b = t.isend(s2 + 1, 1, tInt, to: p, tag: 51)
    t.wait(&rs[0]); t.wait(&rs[2]); t.wait(&a); t.wait(&b)
    check(vals[0] == p * 10 + 1 && vals[2] == p * 10 + 2 && vals[1] == -1, "receives around the cancelled one: \(vals[0]) \(vals[1]) \(vals[2])")
    // cancelling a completed receive: not cancelled
    var c = t.irecv(v, 1, tInt, from: me, tag: 52)
    let one = alloc(1, Int32(77))
    t.send(one, 1, tInt, to: me, tag: 52)
    var flag = false
    while !flag { checkRC(t.rt.requestGetStatus(c, flag: &flag, status: &st), "get_status") }
    check(c != nil, "get_status freed the request")
    checkRC(t.rt.cancel(c!), "cancel completed")
    let cst = t.wait(&c)
    check(!cst.cancelled && v.pointee == 77, "completed receive after cancel: \(cst) value \(v.pointee)")
    // generalized request
    nonisolated(unsafe) var freed = 0
    let g = t.rt.generalizedStart(GeneralizedCallbacks(query: { s in s.tag = 1234; s.byteCount = 8; return 0 },
                                                       free: { freed += 1; return 0 }, cancel: { _ in 0 }))
    var gh: RequestHandle = g
    checkRC(t.rt.test(&gh, flag: &flag, status: &st), "test generalized")
    check(!flag, "generalized request complete before MPI_Grequest_complete")
    checkRC(t.rt.generalizedComplete(g), "grequest_complete")
    let gst = t.wait(&gh)
    check(gst.tag == 1234 && gst.byteCount == 8 && freed == 1, "generalized status \(gst), free called \(freed) times")
}
