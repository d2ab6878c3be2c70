// bsend: buffered sends complete locally with the attached buffer (before the receiver posts),
// data arrives intact; without room the send fails with MPI_ERR_BUFFER; detach waits for
// the buffered data to leave and returns the attached buffer.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func runBsend(_ t: T) throws {
    let me = t.me, p = t.partner
    let k = 8, count = 1000
    let bytes = k * (count * 4 + MPIConstant.bsendOverhead)
    let pool = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    checkRC(t.rt.attachBuffer(pool, bytes: bytes), "buffer_attach")
    check(t.rt.attachBuffer(pool, bytes: bytes) != 0, "second attach succeeded")
    let out = alloc(count, Int32(0))
    for m in 0..<k {
        for i in 0..<count { out[i] = me * 100_000 + Int32(m) * 1000 + Int32(i) }
        // completes locally; the buffer is reusable right away (we overwrite it next round)
        t.send(out, count, tInt, to: p, tag: 80, mode: .buffered)
    }
    // one message larger than the whole attached buffer cannot be buffered
    var r = RequestID(index: -1, generation: 0)
    let huge = alloc(bytes / 4 + 16, Int32(0))
    let over = t.rt.isend(huge, count: bytes / 4 + 16, datatype: tInt, dest: p, tag: 81, comm: t.w, mode: .buffered, request: &r)
    check(over == ErrorClass.buffer.rawValue, "bsend larger than the attached buffer: \(over), expected \(ErrorClass.buffer.rawValue)")
    if over == 0 { var h: RequestHandle = r; t.wait(&h) } else if r.index >= 0 { var h: RequestHandle = r; var s = Status(); _ = t.rt.wait(&h, status: &s) }
    t.barrier()   // the receives are posted only now: every message is in flight or unexpected
    let inb = alloc(count, Int32(-1))
    for m in 0..<k {
        t.recv(inb, count, tInt, from: p, tag: 80)
        for i in 0..<count where inb[i] != p * 100_000 + Int32(m) * 1000 + Int32(i) { fail("bsend message \(m) [\(i)]: \(inb[i])") }
    }
    let (base, size) = t.rt.detachBuffer()
    check(base == pool && size == bytes, "detach returned \(String(describing: base)) \(size)")
    // after detach a buffered send has no buffer
    let after = t.rt.isend(out, count: 1, datatype: tInt, dest: p, tag: 82, comm: t.w, mode: .buffered, request: &r)
    check(after == ErrorClass.buffer.rawValue, "bsend without an attached buffer: \(after)")
    if r.index >= 0 && after == 0 { var h: RequestHandle = r; t.wait(&h) }
    t.barrier()
    pool.deallocate()
}
