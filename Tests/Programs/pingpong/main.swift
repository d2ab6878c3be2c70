// Ping-pong and ring smoke test over the runtime (no Swift API layer).
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

let rt = try Runtime.initialize()
let w = rt.world!
let me = w.rank, n = Int32(w.size)
let int = Datatype.predefined(.int)
let byte = Datatype.predefined(.byte)
var rq: RequestHandle = nil
var st = Status()
// ring
var token: Int32 = me == 0 ? 100 : -1
if n > 1 {
    var r = RequestID(index: 0, generation: 0)
    if me == 0 {
        _ = rt.isend(&token, count: 1, datatype: int, dest: 1, tag: 5, comm: w, request: &r); rq = r; _ = rt.wait(&rq, status: &st)
        _ = rt.irecv(&token, count: 1, datatype: int, source: n - 1, tag: 5, comm: w, request: &r); rq = r; _ = rt.wait(&rq, status: &st)
        print("ring token back: \(token) (expect \(100 + n - 1))")
    } else {
        _ = rt.irecv(&token, count: 1, datatype: int, source: me - 1, tag: 5, comm: w, request: &r); rq = r; _ = rt.wait(&rq, status: &st)
        token += 1
        _ = rt.isend(&token, count: 1, datatype: int, dest: (me + 1) % n, tag: 5, comm: w, request: &r); rq = r; _ = rt.wait(&rq, status: &st)
    }
}
// collectives smoke
do {
    var x = [Int32(me + 1), Int32(2 * me)]
    var y = [Int32](repeating: 0, count: 2)
    let rc = rt.allreduce(&x, &y, count: 2, datatype: int, op: .predefined(.sum), comm: w)
    let s = Int32(n) * (Int32(n) + 1) / 2
    if rc != 0 || y != [s, Int32(n) * (Int32(n) - 1)] { print("FAIL allreduce rc=\(rc) y=\(y)"); exit(1) }
    var b: [Double] = me == 0 ? [1.5, 2.5, 3.5] : [0, 0, 0]
    _ = rt.bcast(&b, count: 3, datatype: Datatype.predefined(.double), root: 0, comm: w)
    if b != [1.5, 2.5, 3.5] { print("FAIL bcast \(b)"); exit(1) }
    let sub = try rt.commSplit(w, color: me % 2, key: -me)!
    var z: Int32 = 0; var one: Int32 = me
    _ = rt.allreduce(&one, &z, count: 1, datatype: int, op: .predefined(.max), comm: sub)
    let d = try rt.commDup(w)
    var g = [Int32](repeating: -1, count: Int(n))
    _ = rt.allgather(&one, sendCount: 1, sendType: int, &g, recvCount: 1, recvType: int, comm: d)
    if g != Array(0..<n) { print("FAIL allgather \(g)"); exit(1) }
    if me == 0 { print("collectives ok: split max \(z) size \(sub.size) rank \(sub.rank)") }
}
// ping-pong latency/bandwidth between 0 and 1
if n == 2 {
    for size in [8, 1024, 65536, 1 << 22] {
        let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        memset(buf, Int32(me) + 1, size)
        let iters = size >= 1 << 20 ? 50 : 2000
        var r = RequestID(index: 0, generation: 0)
        try rt.barrier(w)
        let t0 = rt.wallTime
        for _ in 0..<iters {
            if me == 0 {
                _ = rt.isend(buf, count: size, datatype: byte, dest: 1, tag: 1, comm: w, request: &r); rq = r; _ = rt.wait(&rq, status: &st)
                _ = rt.irecv(buf, count: size, datatype: byte, source: 1, tag: 1, comm: w, request: &r); rq = r; _ = rt.wait(&rq, status: &st)
            } else {
                _ = rt.irecv(buf, count: size, datatype: byte, source: 0, tag: 1, comm: w, request: &r); rq = r; _ = rt.wait(&rq, status: &st)
                _ = rt.isend(buf, count: size, datatype: byte, dest: 0, tag: 1, comm: w, request: &r); rq = r; _ = rt.wait(&rq, status: &st)
            }
        }
        let dt = rt.wallTime - t0
        if me == 0 {
            let lat = dt / Double(iters) / 2
            print("size \(size): one-way \((lat * 1e9).rounded() / 1000) us, \((Double(size) / lat / 1e6).rounded()) MB/s, status bytes \(st.byteCount)")
        }
        buf.deallocate()
    }
}
try rt.barrier(w)
try rt.finalize()
