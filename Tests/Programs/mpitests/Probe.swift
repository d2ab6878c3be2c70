// probe: iprobe finds nothing before a send and the right source/tag/size after; the probed
// message is then received; improbe removes the message so later probes miss it and imrecv
// gets it; PROC_NULL probes.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func runProbe(_ t: T) throws {
    let me = t.me, p = t.partner, w = t.w
    var (rc, found, st) = t.rt.iprobe(source: MPIConstant.anySource, tag: 70, comm: w)
    checkRC(rc, "iprobe"); check(!found, "iprobe found a message before any was sent")
    t.barrier()
    let out = alloc(9, Int32(0))
    for k in 0..<9 { out[k] = me * 100 + Int32(k) }
    var s1 = t.isend(out, 9, tInt, to: p, tag: 70)
    repeat { (rc, found, st) = t.rt.iprobe(source: MPIConstant.anySource, tag: MPIConstant.anyTag, comm: w); checkRC(rc, "iprobe") } while !found
    check(st.source == p && st.tag == 70 && st.byteCount == 36, "iprobe status \(st)")
    // probing again still sees it (iprobe does not remove)
    (rc, found, st) = t.rt.iprobe(source: p, tag: 70, comm: w)
    check(found && st.byteCount == 36, "second iprobe: \(found) \(st)")
    let inb = alloc(9, Int32(-1))
    let rst = t.recv(inb, 9, tInt, from: st.source, tag: st.tag)
    check(rst.byteCount == 36, "recv after probe \(rst)")
    for k in 0..<9 { check(inb[k] == p * 100 + Int32(k), "recv after probe [\(k)]: \(inb[k])") }
    t.wait(&s1)
    t.barrier()
    // improbe / imrecv, with a large (rendezvous) message
    let big = 50_000
    let bo = alloc(big, me), bi = alloc(big, Int32(-1))
    var s2 = t.isend(bo, big, tInt, to: p, tag: 71)
    var msg = -1
    repeat { (rc, found, st, msg) = t.rt.improbe(source: p, tag: 71, comm: w); checkRC(rc, "improbe") } while !found
    check(st.source == p && st.tag == 71 && st.byteCount == 4 * big && msg > 0, "improbe status \(st) message \(msg)")
    (rc, found, _) = t.rt.iprobe(source: p, tag: 71, comm: w)
    check(!found, "iprobe still sees a message removed by improbe")
    var mr = RequestID(index: -1, generation: 0)
    checkRC(t.rt.imrecv(bi, count: big, datatype: tInt, message: msg, comm: w, request: &mr), "imrecv")
    var mh: RequestHandle = mr
    let mst = t.wait(&mh)
    t.wait(&s2)
    check(mst.byteCount == 4 * big && mst.source == p, "imrecv status \(mst)")
    for k in stride(from: 0, to: big, by: 997) { check(bi[k] == p, "imrecv [\(k)]: \(bi[k])") }
    check(bi[big - 1] == p, "imrecv last")
    // the same message id cannot be received twice
    check(t.rt.imrecv(bi, count: big, datatype: tInt, message: msg, comm: w, request: &mr) != 0, "second imrecv of one message succeeded")
    // PROC_NULL
    let pn = t.rt.iprobe(source: MPIConstant.procNull, tag: 3, comm: w)
    check(pn.0 == 0 && pn.1 && pn.2.source == MPIConstant.procNull, "iprobe PROC_NULL \(pn)")
    let pm = t.rt.improbe(source: MPIConstant.procNull, tag: 3, comm: w)
    check(pm.0 == 0 && pm.1 && pm.3 == 0, "improbe PROC_NULL \(pm)")
    checkRC(t.rt.imrecv(bi, count: 1, datatype: tInt, message: 0, comm: w, request: &mr), "imrecv NO_PROC")
    mh = mr
    let nst = t.wait(&mh)
    check(nst.source == MPIConstant.procNull && nst.byteCount == 0, "imrecv NO_PROC status \(nst)")
    t.barrier()
}
