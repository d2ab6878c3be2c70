// A rank never outlives its launcher. Two mechanisms, set up by MPI_Init:
// - PR_SET_PDEATHSIG(SIGKILL) when the launcher is our parent (FERRY_LAUNCHER_PID), checked
//   again after it is set (the launcher may have died in between): the kernel ends us the
//   moment the launcher's thread exits, even when it was SIGKILLed.
// - a watch thread blocked in poll(2) on a duplicate of the PMI socket, waiting for the
//   launcher's end to close (POLLRDHUP/POLLHUP): this covers every launcher (Ferry's, Hydra,
//   Slurm's) and ranks started through a wrapper script, whose parent is not the launcher.
//   Once MPI_Finalize has run, the loss of the launcher no longer ends the process.
// The thread only polls a descriptor of its own; it takes no lock and reads one atomic word.
import FerryCore
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

enum LauncherWatch {
    /// 1 once MPI_Finalize ran: the watch then lets the process live on. Written by the thread
    /// that finalizes (release), read by the watch thread (acquire).
    nonisolated(unsafe) static let finalized: UnsafeMutablePointer<UInt32> = {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// The rank's identity for the message it prints when its launcher is gone.
    @exclusivity(unchecked) nonisolated(unsafe) static var rank: Int32 = 0

    /// Starts both mechanisms for a process whose PMI socket is `fd` (nothing for a singleton).
    /// - Returns: an error when the launcher is already gone.
    static func start(pmiFD fd: Int32, rank: Int32) throws(MPIError) {
        guard fd >= 0 else { return }
        Self.rank = rank
        if let text = getenv("FERRY_LAUNCHER_PID"), let launcher = pid_t(String(cString: text)), launcher > 0,
           getppid() == launcher {
            _ = ferry_set_pdeathsig(SIGKILL)
            if getppid() != launcher {
                throw MPIError(.other, "the launcher (pid \(launcher)) ended while this rank was starting")
            }
        }
        let watched = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        guard watched >= 0 else { return }
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 64 * 1024)
        // The descriptor travels in the argument pointer's bits (no allocation to free).
        let argument = UnsafeMutableRawPointer(bitPattern: Int(watched) + 1)
        if pthread_create(&thread, &attributes, { arg in
            LauncherWatch.watch(fd: Int32(Int(bitPattern: arg) - 1))
            return nil
        }, argument) != 0 {
            close(watched)
        }
        pthread_attr_destroy(&attributes)
    }

    /// Blocks until the launcher's end of the socket closes, then ends the process unless
    /// MPI_Finalize has run.
    private static func watch(fd: Int32) {
        // Only hang-up events: data arriving (a PMI reply for the main thread) does not wake us.
        let hangup = Int16(truncatingIfNeeded: 0x2000 /* POLLRDHUP */)
        while true {
            var p = pollfd(fd: fd, events: hangup, revents: 0)
            let n = poll(&p, 1, -1)
            if n < 0 && errno == EINTR { continue }
            if n > 0 && p.revents & (hangup | Int16(POLLHUP) | Int16(POLLERR) | Int16(POLLNVAL)) != 0 { break }
            if n < 0 { close(fd); return }
        }
        close(fd)
        if ferry_load_acquire_u32(finalized) != 0 { return }
        let text = "ferry: rank \(rank) (pid \(getpid())): the connection to the launcher closed before MPI_Finalize (the launcher has ended); exiting\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        _exit(1)
    }
}
