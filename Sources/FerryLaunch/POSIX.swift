// Small syscall helpers shared by the launcher: complete writes, non-blocking reads, a monotonic
// clock, wait-status decoding, signal names and the host name. Every call retries on EINTR.
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

enum POSIX {
    /// Writes all of `bytes` to `fd`. Waits (poll) when the descriptor is non-blocking and full,
    /// giving up after `timeoutSeconds`; returns false on error (EPIPE included) or timeout.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], timeoutSeconds: Double = 5) -> Bool {
        var done = 0
        let deadline = now() + timeoutSeconds
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n >= 0 { done += n; continue }
            switch errno {
            case EINTR: continue
            case EAGAIN:
                let left = deadline - now()
                if left <= 0 { return false }
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, Int32(min(left, 1) * 1000) + 1)
            default: return false
            }
        }
        return true
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ text: String) -> Bool { writeAll(fd, Array(text.utf8)) }

    enum ReadResult { case data(Int), wouldBlock, endOfFile }

    /// One `read` into `buffer`, mapping EAGAIN and EOF; errors other than EINTR count as EOF.
    static func read(_ fd: Int32, into buffer: inout [UInt8]) -> ReadResult {
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n > 0 { return .data(n) }
            if n == 0 { return .endOfFile }
            if errno == EINTR { continue }
            if errno == EAGAIN { return .wouldBlock }
            return .endOfFile
        }
    }

    /// A pipe whose both ends are close-on-exec (and non-blocking if asked). Glibc's `pipe2`
    /// is hidden behind _GNU_SOURCE; the launcher is single-threaded, so pipe + fcntl is race-free.
    static func makePipe(nonBlocking: Bool = false) -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if nonBlocking { setNonBlocking(fd) }
        }
        return (fds[0], fds[1])
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// Seconds on the monotonic clock.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Decoded `waitpid` status.
    enum ExitStatus: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    /// Decodes a wait status (the WIFEXITED / WTERMSIG macros, which Swift cannot import).
    static func decode(waitStatus status: Int32) -> ExitStatus {
        let low = status & 0x7f
        return low == 0 ? .exited((status >> 8) & 0xff) : .signaled(low)
    }

    /// "SIGKILL" for 9, and so on; "SIG<n>" for signals without a well-known name.
    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
            SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
            SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
            SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGSYS: "SIGSYS",
        ]
        return names[signal] ?? "SIG\(signal)"
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The CPUs this process may run on (its affinity), in order.
    static func allowedCPUs() -> [Int] {
        var buffer = [Int32](repeating: 0, count: 4096)
        let n = Int(ferry_allowed_cpus(&buffer, Int32(buffer.count)))
        return buffer.prefix(n).map { Int($0) }
    }

    /// The launcher's own environment as `NAME=value` strings.
    static func environment() -> [String] {
        var result: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            result.append(String(cString: entry))
            cursor += 1
        }
        return result
    }

    /// Makes sure descriptors 0, 1 and 2 are open (on /dev/null if they were closed), so that
    /// no pipe or socket we create later lands on them.
    static func ensureStandardDescriptors() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 {
            let opened = open("/dev/null", O_RDWR)
            if opened >= 0 && opened != fd { _ = dup2(opened, fd); _ = close(opened) }
        }
    }
}
