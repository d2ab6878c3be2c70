// Why a job was torn down, the one line the launcher prints about it, and the exit status it
// implies. Pure value code, unit-tested.

#if canImport(Glibc)
import Glibc
#endif
import FerryPMI

/// The first event that ended a job early.
enum JobFailure: Equatable {
    case signaled(rank: Int, pid: Int32, signal: Int32)
    /// Exited before `cmd=finalize`; `initialized` tells whether it ever spoke PMI.
    case exitedEarly(rank: Int, pid: Int32, code: Int32, initialized: Bool)
    case aborted(rank: Int, pid: Int32, code: Int32)
    case timedOut(seconds: Double)
    case interrupted(signal: Int32)
    case spawnFailed(rank: Int, message: String)
    /// A job started by MPI_Comm_spawn whose spawning process ended.
    case spawnerEnded(pid: Int32)
    /// A running rank closed its PMI connection after init and before finalize.
    case pmiClosed(rank: Int, pid: Int32)
    /// A rank sent PMI requests without reading the replies until too many were queued.
    case pmiFlood(rank: Int, pid: Int32, pendingBytes: Int)
    /// The reader of the launcher's stdout (1) or stderr (2) went away, or writing failed.
    case outputClosed(stream: Int32, errno: Int32)
    /// Multi-node: the proxy of `host` could not be started (`command` failed: `detail` says how).
    case proxyStartFailed(host: String, command: String, detail: String)
    /// Multi-node: the proxy of `host` (its pid on that host) ended without its final report.
    case proxyEnded(host: String, pid: Int32, detail: String)
    /// Multi-node: the channel of `host`'s proxy carried something invalid.
    case proxyProtocol(host: String, detail: String)

    /// The line printed to stderr (without newline).
    func message(host: String) -> String {
        switch self {
        case let .signaled(rank, pid, signal):
            return "ferry run: rank \(rank) (pid \(pid)) on host \(host) was killed by signal \(signal) "
                + "(\(POSIX.signalName(signal))); job terminated"
        case let .exitedEarly(rank, pid, code, initialized):
            let when = initialized ? " before MPI_Finalize" : ""
            return "ferry run: rank \(rank) (pid \(pid)) on host \(host) exited with code \(code)\(when); job terminated"
        case let .aborted(rank, pid, code):
            return "ferry run: rank \(rank) (pid \(pid)) on host \(host) called MPI_Abort with error code \(code); "
                + "job terminated"
        case let .timedOut(seconds):
            return "ferry run: job did not finish within --timeout \(Self.format(seconds)) seconds; job terminated"
        case let .interrupted(signal):
            return "ferry run: received \(POSIX.signalName(signal)), relayed to all ranks; job terminated"
        case let .spawnFailed(rank, message):
            return "ferry run: could not start rank \(rank): \(message); job terminated"
        case let .spawnerEnded(pid):
            return "ferry run: the process that spawned this job (pid \(pid)) has ended; job terminated"
        case let .pmiClosed(rank, pid):
            return "ferry run: rank \(rank) (pid \(pid)) on host \(host) closed its PMI connection before MPI_Finalize; job terminated"
        case let .pmiFlood(rank, pid, pending):
            return "ferry run: rank \(rank) (pid \(pid)) on host \(host) does not read its PMI replies (\(pending) bytes queued, limit \(PMILimits.pendingReplyBytes)); job terminated"
        case let .outputClosed(stream, code):
            let name = stream == 1 ? "standard output" : "standard error"
            return "ferry run: cannot write the job's \(name): \(String(cString: strerror(code)))\(code == EPIPE ? " (its reader has gone)" : ""); job terminated"
        case let .proxyStartFailed(host, command, detail):
            return "ferry run: could not start the proxy for host \(host) (\(command)): \(detail); job terminated"
        case let .proxyEnded(host, pid, detail):
            return "ferry run: proxy on host \(host) (pid \(pid)) ended unexpectedly (\(detail)); job terminated"
        case let .proxyProtocol(host, detail):
            return "ferry run: invalid message from the proxy on host \(host): \(detail); job terminated"
        }
    }

    /// The launcher's exit status.
    var exitStatus: Int32 {
        switch self {
        case let .signaled(_, _, signal): return 128 + signal
        case let .exitedEarly(_, _, code, _): return code == 0 ? 1 : code
        case let .aborted(_, _, code): return Self.statusByte(code)
        case .timedOut: return 124
        case let .interrupted(signal): return 128 + signal
        case .spawnFailed: return 127
        case .spawnerEnded: return 1
        case .pmiClosed: return 1
        case .pmiFlood: return 1
        case .outputClosed(_, let code): return code == EPIPE ? 128 + SIGPIPE : 1
        case .proxyStartFailed, .proxyEnded, .proxyProtocol: return 1
        }
    }

    /// An exit code as the 8 bits a process can report, never turning a failure into 0.
    static func statusByte(_ code: Int32) -> Int32 {
        let byte = code & 0xff
        return code != 0 && byte == 0 ? 1 : byte
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
