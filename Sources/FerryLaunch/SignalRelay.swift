// Turns asynchronous signals into bytes on a pipe that the launcher's poll loop watches (the
// self-pipe trick): SIGCHLD wakes the loop to reap ranks; SIGINT, SIGTERM and SIGHUP are
// relayed to the ranks by the loop. SIGPIPE is ignored so a closed stdout cannot kill us.
#if canImport(Glibc)
import Glibc
#endif

/// Write end of the self-pipe, read by the signal handler.
/// Set once by `SignalRelay.install()` before any handler is installed; never changed after.
nonisolated(unsafe) private var signalPipeWriteFD: Int32 = -1

private func relaySignal(_ signal: Int32) {
    // Async-signal-safe: one write(2) of one byte; errno is saved and restored.
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(signalPipeWriteFD, &byte, 1)
    errno = saved
}

enum SignalRelay {
    /// The signals the launcher relays to its ranks.
    static let relayed: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the handlers; returns the read end of the self-pipe (non-blocking).
    static func install() -> Int32 {
        let fds = POSIX.makePipe(nonBlocking: true) ?? (-1, -1)
        signalPipeWriteFD = fds.write
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { relaySignal($0) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in relayed + [SIGCHLD] {
            sigaction(signal, &action, nil)
            sigaddset(&unblock, signal)
        }
        // Our parent may have started us with these blocked (the mask survives exec).
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
        signal(SIGPIPE, SIG_IGN)
        return fds.read
    }

    /// The signals delivered since the last call, in order.
    static func take(from fd: Int32) -> [Int32] {
        var buffer = [UInt8](repeating: 0, count: 64)
        var signals: [Int32] = []
        while case .data(let n) = POSIX.read(fd, into: &buffer) {
            signals += buffer[..<n].map { Int32($0) }
        }
        return signals
    }

    /// Handles the relayed signals waiting on `fd`: the first ends the job (`teardown`, which
    /// also passes it on), any later one is passed on to what the job runs (`relay`).
    static func dispatch(from fd: Int32, failed: () -> Bool, teardown: (Int32) -> Void, relay: (Int32) -> Void) {
        for signal in take(from: fd) where relayed.contains(signal) {
            if failed() { relay(signal) } else { teardown(signal) }
        }
    }
}
