// threads: MPI_THREAD_MULTIPLE, 4 threads per rank, each exchanging 200 messages with the
// partner rank on its own tag concurrently; values and order checked per thread.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

final class ThreadJob: @unchecked Sendable {
    let t: T
    let index: Int32
    var error: String? = nil
    init(_ t: T, _ index: Int32) { self.t = t; self.index = index }

    func run() {
        let t = self.t, p = t.partner, tag = 100 + index
        let out = alloc(64, Int32(0)), inb = alloc(64, Int32(0))
        for it in 0..<200 {
            let len = it % 3 == 0 ? 64 : 1 + it % 7
            for k in 0..<len { out[k] = t.me * 1_000_000 + index * 10_000 + Int32(it) * 10 + Int32(k % 10) }
            var rq = t.irecv(inb, 64, tInt, from: p, tag: tag)
            var sq = t.isend(out, len, tInt, to: p, tag: tag, mode: it % 5 == 4 ? .synchronous : .standard)
            let st = t.wait(&rq)
            t.wait(&sq)
            if st.tag != tag || st.source != p || st.byteCount != 4 * len {
                error = "thread \(index) iteration \(it): status \(st)"; return
            }
            for k in 0..<len where inb[k] != p * 1_000_000 + index * 10_000 + Int32(it) * 10 + Int32(k % 10) {
                error = "thread \(index) iteration \(it) [\(k)]: \(inb[k])"; return
            }
        }
        // a shared allreduce per thread on its own dup'd communicator is not allowed concurrently
        // on one communicator, so only point-to-point here.
    }
}

func runThreads(_ t: T) throws {
    check(t.rt.threadLevel == .multiple, "thread level \(t.rt.threadLevel)")
    let jobs = (0..<4).map { ThreadJob(t, Int32($0)) }
    var tids: [pthread_t] = []
    for j in jobs {
        var tid = pthread_t()
        let box = Unmanaged.passRetained(j).toOpaque()
        let rc = pthread_create(&tid, nil, { arg in
            let job = Unmanaged<ThreadJob>.fromOpaque(arg!).takeRetainedValue()
            job.run()
            return nil
        }, box)
        check(rc == 0, "pthread_create: \(rc)")
        tids.append(tid)
    }
    for tid in tids { pthread_join(tid, nil) }
    for j in jobs { if let e = j.error { fail(e) } }
    // Concurrent collectives on separate communicators (one dup per thread).
    let comms = try (0..<4).map { _ in try t.rt.commDup(t.w) }
    let results = alloc(4, Int32(0))
    final class Coll: @unchecked Sendable { let t: T; let c: Communicator; let out: UnsafeMutablePointer<Int32>
        init(_ t: T, _ c: Communicator, _ o: UnsafeMutablePointer<Int32>) { self.t = t; self.c = c; out = o } }
    var ctids: [pthread_t] = []
    for k in 0..<4 {
        var tid = pthread_t()
        let box = Unmanaged.passRetained(Coll(t, comms[k], results + k)).toOpaque()
        _ = pthread_create(&tid, nil, { arg in
            let c = Unmanaged<Coll>.fromOpaque(arg!).takeRetainedValue()
            for _ in 0..<20 {
                let s = alloc(1, c.t.me + 1)
                _ = c.t.rt.allreduce(s, c.out, count: 1, datatype: tInt, op: .predefined(.sum), comm: c.c)
            }
            return nil
        }, box)
        ctids.append(tid)
    }
    for tid in ctids { pthread_join(tid, nil) }
    for k in 0..<4 { check(results[k] == t.n * (t.n + 1) / 2, "concurrent allreduce on dup \(k): \(results[k])") }
    for c in comms { try t.rt.commFree(c) }
}
