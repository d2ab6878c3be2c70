// sizes: messages of 0 B ... 16 MiB between every pair of partners, both directions, with
// content checks; 256 MiB between ranks 0 and 1 when the job has exactly 2 ranks.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func runSizes(_ t: T) throws {
    let me = t.me, p = t.partner
    var sizes = [0, 1, 7, 63, 64, 65, 1000, 4095, 4096, 4097, 16_384, 65_535, 65_536, 65_539,
                 262_144, 1 << 20, (1 << 20) + 13, 4 << 20, 16 << 20]
    if t.n == 2 { sizes.append(256 << 20) }
    let maxBytes = sizes.max()!
    let buf = UnsafeMutableRawPointer.allocate(byteCount: maxBytes, alignment: 64)
    for bytes in sizes {
        // The lower rank sends first; the partner checks the pattern, then answers with its own.
        for phase in 0..<2 {
            let sender = phase == 0 ? min(me, p) : max(me, p)
            if me == sender {
                fillPattern(buf, bytes: bytes, rank: me)
                if p == me {
                    let rbuf = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
                    var h = t.isend(buf, bytes, tByte, to: me, tag: 3)
                    let st = t.recv(rbuf, bytes, tByte, from: me, tag: 3)
                    t.wait(&h)
                    check(st.byteCount == bytes, "self \(bytes) B: byteCount \(st.byteCount)")
                    if let k = firstPatternMismatch(rbuf, bytes: bytes, rank: me) { fail("self \(bytes) B: byte \(k) wrong") }
                    rbuf.deallocate()
                } else {
                    t.send(buf, bytes, tByte, to: p, tag: 3)
                }
            } else {
                if bytes > 0 { memset(buf, 0xA5, min(bytes, 1 << 20)) }
                let st = t.recv(buf, bytes, tByte, from: p, tag: 3)
                check(st.byteCount == bytes && st.source == p, "\(bytes) B from \(p): status \(st)")
                if let k = firstPatternMismatch(buf, bytes: bytes, rank: p) {
                    fail("\(bytes) B from \(p): byte \(k) is \(buf.load(fromByteOffset: k, as: UInt8.self)), expected \(patternByte(k, p))")
                }
            }
            if p == me { break }
        }
    }
    buf.deallocate()
}
