// Shared helpers: failure reporting, buffers with a byte pattern, blocking wrappers that
// check every return code.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) var testName = "mpitests"
nonisolated(unsafe) var myWorldRank: Int32 = -1
/// Checks a case registers to run after MPI_Finalize (rank 0 prints OK only after them).
nonisolated(unsafe) var afterFinalize: [() -> Void] = []

/// Writes all of `s` to a file descriptor (unbuffered, so lines survive exit and kill).
func writeFD(_ fd: Int32, _ s: String) {
    var bytes = Array(s.utf8)
    var off = 0
    while off < bytes.count {
        let k = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
        if k <= 0 { break }
        off += k
    }
}

/// Reports a mismatch and ends the process with status 1 (the launcher then ends the job).
func fail(_ what: String) -> Never {
    writeFD(2, "FAIL \(testName): rank \(myWorldRank): \(what)\n")
    exit(1)
}

@inline(__always)
func check(_ cond: Bool, _ what: @autoclosure () -> String) {
    if !cond { fail(what()) }
}

func checkRC(_ rc: Int32, _ what: @autoclosure () -> String) {
    if rc != 0 { fail("\(what()) returned error \(rc) (\(ErrorClass(rawValue: rc).map { "\($0)" } ?? "?"))") }
}

/// Byte i of rank r's pattern.
@inline(__always) func patternByte(_ i: Int, _ r: Int32) -> UInt8 { UInt8(truncatingIfNeeded: i &* 31 &+ Int(r)) }

/// Heap memory that the test keeps alive until it calls `free()` (nonblocking calls keep
/// pointers, so Swift arrays are not used as message buffers).
func alloc<E>(_ n: Int, _ v: E) -> UnsafeMutablePointer<E> {
    let p = UnsafeMutablePointer<E>.allocate(capacity: max(n, 1))
    p.initialize(repeating: v, count: max(n, 1))
    return p
}

/// Fills `bytes` at `p` with rank r's pattern (period 256, so copy one template).
func fillPattern(_ p: UnsafeMutableRawPointer, bytes: Int, rank r: Int32) {
    var tpl = [UInt8](repeating: 0, count: 256)
    for i in 0..<256 { tpl[i] = patternByte(i, r) }
    var off = 0
    tpl.withUnsafeBytes { t in
        while off < bytes {
            let k = min(256, bytes - off)
            memcpy(p + off, t.baseAddress!, k)
            off += k
        }
    }
}

/// Index of the first byte that differs from rank r's pattern, or nil.
func firstPatternMismatch(_ p: UnsafeRawPointer, bytes: Int, rank r: Int32) -> Int? {
    var tpl = [UInt8](repeating: 0, count: 256)
    for i in 0..<256 { tpl[i] = patternByte(i, r) }
    var off = 0
    return tpl.withUnsafeBytes { t -> Int? in
        while off < bytes {
            let k = min(256, bytes - off)
            if memcmp(p + off, t.baseAddress!, k) != 0 {
                for j in 0..<k where p.load(fromByteOffset: off + j, as: UInt8.self) != tpl[j] { return off + j }
            }
            off += k
        }
        return nil
    }
}

let tInt = Datatype.predefined(.int)
let tByte = Datatype.predefined(.byte)
let tDouble = Datatype.predefined(.double)
let tInt64 = Datatype.predefined(.int64)

/// The test context: runtime, world, rank, size, and checked blocking wrappers.
struct T: @unchecked Sendable {
    let rt: Runtime
    let w: Communicator
    let me: Int32
    let n: Int32

    init(threadLevel: ThreadLevel) throws(MPIError) {
        rt = try Runtime.initialize(threadLevel: threadLevel)
        w = rt.world
        me = w.rank
        n = Int32(w.size)
        myWorldRank = me
    }

    func isend(_ p: UnsafeRawPointer?, _ count: Int, _ t: Datatype, to dest: Int32, tag: Int32,
               comm: Communicator? = nil, mode: SendMode = .standard) -> RequestHandle {
        var r = RequestID(index: -1, generation: 0)
        checkRC(rt.isend(p, count: count, datatype: t, dest: dest, tag: tag, comm: comm ?? w, mode: mode, request: &r),
                "isend(dest \(dest), tag \(tag), count \(count), mode \(mode))")
        return r
    }

    func irecv(_ p: UnsafeMutableRawPointer?, _ count: Int, _ t: Datatype, from src: Int32, tag: Int32,
               comm: Communicator? = nil) -> RequestHandle {
        var r = RequestID(index: -1, generation: 0)
        checkRC(rt.irecv(p, count: count, datatype: t, source: src, tag: tag, comm: comm ?? w, request: &r),
                "irecv(source \(src), tag \(tag), count \(count))")
        return r
    }

    @discardableResult
    func wait(_ h: inout RequestHandle, _ what: @autoclosure () -> String = "wait") -> Status {
        var st = Status()
        checkRC(rt.wait(&h, status: &st), what())
        check(h == nil, "\(what()): request not set to null after wait")
        return st
    }

    func send(_ p: UnsafeRawPointer?, _ count: Int, _ t: Datatype, to dest: Int32, tag: Int32,
              comm: Communicator? = nil, mode: SendMode = .standard) {
        var h = isend(p, count, t, to: dest, tag: tag, comm: comm, mode: mode)
        wait(&h, "wait(send to \(dest), tag \(tag))")
    }

    @discardableResult
    func recv(_ p: UnsafeMutableRawPointer?, _ count: Int, _ t: Datatype, from src: Int32, tag: Int32,
              comm: Communicator? = nil) -> Status {
        var h = irecv(p, count, t, from: src, tag: tag, comm: comm)
        return wait(&h, "wait(recv from \(src), tag \(tag))")
    }

    func barrier(_ c: Communicator? = nil) {
        do { try rt.barrier(c ?? w) } catch { fail("barrier: \(error)") }
    }

    /// The partner of this rank in pairwise tests: rank^1, or this rank itself when it has none.
    var partner: Int32 { (me ^ 1) < n ? me ^ 1 : me }
}
