// persistent: send_init / recv_init started several times with new contents each round,
// small (eager) and large (rendezvous) sizes, standard and synchronous; start on an active
// request fails; wait on an inactive one returns the empty status.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func runPersistent(_ t: T) throws {
    let me = t.me, p = t.partner
    for (count, mode) in [(4, SendMode.standard), (100_000, SendMode.standard), (16, SendMode.synchronous)] {
        let out = alloc(count, Int32(0)), inb = alloc(count, Int32(0))
        var sr = RequestID(index: -1, generation: 0), rr = RequestID(index: -1, generation: 0)
        checkRC(t.rt.sendInit(out, count: count, datatype: tInt, dest: p, tag: 60, comm: t.w, mode: mode, request: &sr), "send_init")
        checkRC(t.rt.recvInit(inb, count: count, datatype: tInt, source: p, tag: 60, comm: t.w, request: &rr), "recv_init")
        var reqs: [RequestHandle] = [rr, sr]
        var sts = [Status](repeating: Status(), count: 2)
        // inactive requests: wait returns at once with the empty status
        var ir: RequestHandle = rr
        var st = Status(source: 5, tag: 5)
        checkRC(t.rt.wait(&ir, status: &st), "wait inactive")
        check(ir != nil && st == .empty, "wait on inactive persistent request: \(st)")
        for round in 0..<6 {
            for k in 0..<count { out[k] = me * 1_000_000 + Int32(round) * 1000 + Int32(k % 1000) }
            for k in 0..<count { inb[k] = -1 }
            checkRC(t.rt.start(rr), "start recv round \(round)")
            check(t.rt.start(rr) != 0, "start of an active request succeeded")
            if round % 2 == 1 { t.barrier() }   // odd rounds: message unexpected on arrival at some ranks
            checkRC(t.rt.start(sr), "start send round \(round)")
            checkRC(t.rt.waitAll(&reqs, statuses: &sts), "waitAll round \(round)")
            check(reqs[0] != nil && reqs[1] != nil, "persistent handles cleared by waitAll")
            check(sts[0].source == p && sts[0].tag == 60 && sts[0].byteCount == 4 * count, "round \(round) status \(sts[0])")
            for k in 0..<count where inb[k] != p * 1_000_000 + Int32(round) * 1000 + Int32(k % 1000) {
                fail("count \(count) round \(round) [\(k)]: \(inb[k])")
            }
        }
        var fr: RequestHandle = rr, fs: RequestHandle = sr
        checkRC(t.rt.requestFree(&fr), "free persistent recv")
        checkRC(t.rt.requestFree(&fs), "free persistent send")
        check(fr == nil && fs == nil, "request_free did not null the handles")
        out.deallocate(); inb.deallocate()
        t.barrier()
    }
}
