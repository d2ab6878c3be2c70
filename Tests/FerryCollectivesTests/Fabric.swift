// An in-process fabric for the collective tests: one thread per rank and blocking mailboxes
// keyed by (source, destination, tag). Sends are synchronous (a send returns only once the
// receiver has taken the message), the strictest behaviour the transport contract allows, so an
// algorithm that relies on buffering deadlocks here instead of in production. Every wait has a
// deadline, so a deadlock fails the test (error code) instead of hanging it.
import Foundation
import FerryCore
import FerryCollectives

final class Fabric: @unchecked Sendable {   // all mutable state is guarded by `lock`
    struct Key: Hashable { let source: Int, dest: Int, tag: Int32 }
    final class Message { let bytes: [UInt8]; var taken = false; init(_ b: [UInt8]) { bytes = b } }

    let size: Int
    let deadline: Date
    private let lock = NSCondition()
    private var queues: [Key: [Message]] = [:]
    /// Set when any wait timed out or a receive size did not match (reported by the runner).
    private(set) var failures: [String] = []
    private(set) var messagesSent = 0

    init(size: Int, timeoutSeconds: Double) {
        self.size = size
        deadline = Date(timeIntervalSinceNow: timeoutSeconds)
    }

    private func fail(_ s: String) { failures.append(s) }   // caller holds the lock

    func post(_ buffer: UnsafeRawBufferPointer, from source: Int, to dest: Int, tag: Int32) -> Message? {
        lock.lock(); defer { lock.unlock() }
        guard dest >= 0 && dest < size else { fail("send to bad rank \(dest)"); return nil }
        let m = Message(Array(buffer))
        queues[Key(source: source, dest: dest, tag: tag), default: []].append(m)
        messagesSent += 1
        lock.broadcast()
        return m
    }

    func waitTaken(_ m: Message) -> Int32 {
        lock.lock(); defer { lock.unlock() }
        while !m.taken {
            if !lock.wait(until: deadline) { fail("send timed out"); return ErrorClass.other.rawValue }
        }
        return 0
    }

    func take(_ buffer: UnsafeMutableRawBufferPointer, from source: Int, to dest: Int, tag: Int32) -> Int32 {
        lock.lock(); defer { lock.unlock() }
        guard source >= 0 && source < size else { fail("recv from bad rank \(source)"); return ErrorClass.rank.rawValue }
        let key = Key(source: source, dest: dest, tag: tag)
        while queues[key, default: []].isEmpty {
            if !lock.wait(until: deadline) {
                fail("rank \(dest) recv from \(source) tag \(tag) timed out")
                return ErrorClass.other.rawValue
            }
        }
        let m = queues[key]!.removeFirst()
        m.taken = true
        lock.broadcast()
        guard m.bytes.count == buffer.count else {
            fail("rank \(dest) expected \(buffer.count) bytes from \(source) tag \(tag), got \(m.bytes.count)")
            return ErrorClass.truncate.rawValue
        }
        if !m.bytes.isEmpty { m.bytes.withUnsafeBytes { buffer.copyMemory(from: $0) } }
        return 0
    }

    var leftovers: Int {
        lock.lock(); defer { lock.unlock() }
        return queues.values.reduce(0) { $0 + $1.count }
    }
}

/// One rank's view of the fabric.
struct Endpoint: CollectiveTransport {
    let fabric: Fabric
    let rank: Int
    var size: Int { fabric.size }

    func send(_ buffer: UnsafeRawBufferPointer, to dest: Int, tag: Int32) -> Int32 {
        guard let m = fabric.post(buffer, from: rank, to: dest, tag: tag) else { return ErrorClass.rank.rawValue }
        return fabric.waitTaken(m)
    }
    func recv(_ buffer: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32) -> Int32 {
        fabric.take(buffer, from: source, to: rank, tag: tag)
    }
    func sendRecv(_ send: UnsafeRawBufferPointer, to dest: Int, _ recv: UnsafeMutableRawBufferPointer,
                  from source: Int, tag: Int32) -> Int32 {
        guard let m = fabric.post(send, from: rank, to: dest, tag: tag) else { return ErrorClass.rank.rawValue }
        let rc = fabric.take(recv, from: source, to: rank, tag: tag)
        if rc != 0 { return rc }
        return fabric.waitTaken(m)
    }
}

/// Per-rank result slots written by the rank threads (each thread writes only its own slot).
final class Slots<T>: @unchecked Sendable {
    let values: UnsafeMutablePointer<T?>
    let count: Int
    init(_ n: Int) { count = n; values = .allocate(capacity: n); values.initialize(repeating: nil, count: n) }
    deinit { values.deinitialize(count: count); values.deallocate() }
    subscript(i: Int) -> T? { get { values[i] } set { values[i] = newValue } }
}

/// Runs `body` on `n` threads, one per rank, and waits for all (bounded by the fabric deadline).
/// Returns each rank's result and the fabric's failures (empty when all went well).
func runRanks<R>(_ n: Int, timeoutSeconds: Double = 30,
                 _ body: @escaping @Sendable (Endpoint) -> R) -> (results: [R?], failures: [String]) {
    let fabric = Fabric(size: n, timeoutSeconds: timeoutSeconds)
    let slots = Slots<R>(n)
    let done = NSCondition()
    nonisolated(unsafe) var finished = 0
    for rank in 0..<n {
        let thread = Thread {
            let r = body(Endpoint(fabric: fabric, rank: rank))
            slots[rank] = r
            done.lock(); finished += 1; done.broadcast(); done.unlock()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    done.lock()
    var timedOut = false
    while finished < n {
        if !done.wait(until: fabric.deadline.addingTimeInterval(5)) { timedOut = true; break }
    }
    done.unlock()
    var failures = fabric.failures
    if timedOut { failures.append("ranks did not finish in time") }
    if !timedOut && fabric.leftovers != 0 { failures.append("\(fabric.leftovers) messages never received") }
    return ((0..<n).map { slots[$0] }, failures)
}
