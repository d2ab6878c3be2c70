// One of the launcher's own output streams (stdout or stderr) as a bounded, non-blocking
// queue, so that a slow or stuck reader never stops the launcher's event loop (signals,
// PMI, teardown keep working) and a reader that went away (EPIPE) is noticed at once.
// OutputForwarder queues whole lines here; JobSupervisor flushes when poll says the stream
// can take more, and stops reading ranks' pipes while the queue is above `highWaterBytes`
// (the ranks then wait in write(2), as they would writing to a full pipe themselves).
//
// Non-blocking without touching what others share: O_NONBLOCK on descriptor 1 would change the
// open file description the shell and other programs also use (a terminal, a pipe). A pipe
// or a terminal is opened anew through /proc/self/fd (a new description of the same pipe or
// device), a socket is written with MSG_DONTWAIT, and a regular file never blocks for long,
// so it is written as it is.
#if canImport(Glibc)
import Glibc
#endif

final class OutputSink: LineSink {
    enum Mode { case write, send }
    /// The stream's number as the user knows it (1 or 2), for messages.
    let stream: Int32
    /// The descriptor written: our own non-blocking one, or `stream` itself.
    let fd: Int32
    private let mode: Mode
    private let ownsFD: Bool
    private var queue: [UInt8] = []
    private var head = 0
    /// Set once a write failed for good (EPIPE, EIO...): errno; nothing is written after that.
    private(set) var brokenErrno: Int32?
    /// Above this many queued bytes the launcher stops reading ranks' output.
    static let highWaterBytes = 1 << 20

    init(stream: Int32) {
        self.stream = stream
        var st = stat()
        let kind = fstat(stream, &st) == 0 ? st.st_mode & S_IFMT : 0
        var opened: Int32 = -1
        if kind == S_IFIFO || kind == S_IFCHR {
            opened = open("/proc/self/fd/\(stream)", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        }
        if opened >= 0 {
            fd = opened; ownsFD = true; mode = .write
        } else {
            fd = stream; ownsFD = false; mode = kind == S_IFSOCK ? .send : .write
        }
    }

    /// A sink on a descriptor of our own, already non-blocking (the write end of the pipe to a
    /// proxy's stdin); closed with the sink. `stream` names it in messages.
    init(ownedNonBlockingFD fd: Int32, stream: Int32) {
        self.stream = stream
        self.fd = fd
        ownsFD = true
        mode = .write
    }

    deinit { if ownsFD { _ = close(fd) } }

    var pendingBytes: Int { queue.count - head }
    var isAboveHighWater: Bool { pendingBytes > Self.highWaterBytes }

    /// Queues `bytes` and writes what the stream takes now.
    func enqueue<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard brokenErrno == nil, !bytes.isEmpty else { return }
        queue.append(contentsOf: bytes)
        flush()
    }

    /// Writes queued bytes until the stream would block or the queue is empty.
    func flush() {
        while head < queue.count, brokenErrno == nil {
            let n: Int = queue.withUnsafeBytes { b in
                let p = b.baseAddress! + head, count = b.count - head
                switch mode {
                case .write: return Glibc.write(fd, p, count)
                case .send: return Glibc.send(fd, p, count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                }
            }
            if n > 0 { head += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { break }
            brokenErrno = n < 0 ? errno : EIO
        }
        if head == queue.count {
            queue.removeAll(keepingCapacity: queue.capacity <= 4 * Self.highWaterBytes)
            head = 0
        } else if head > 1 << 16 && head * 2 > queue.count {
            queue.removeSubrange(0..<head)
            head = 0
        }
    }
}
