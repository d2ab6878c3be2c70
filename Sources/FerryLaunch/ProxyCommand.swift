// `ferry proxy`: one host's part of a multi-node job, started by `ferry run` (MultiNodeSupervisor)
// directly or through the launch template (`ssh {host}`, `ip netns exec {host}`). It reads the
// job from its stdin (ProxyWire), starts the host's ranks (LocalRanks: the same spawning, PMI
// serving and output forwarding as a one-node job), serves them PMI-1 with the job-wide view
// (fence mode of PMIServerState: one message to the launcher per fence), sends their output
// and exits to the launcher on its stdout, and obeys the launcher's signal and kill messages.
// It never decides that the job failed: it reports, and the launcher decides.
//
// Lifetime: the proxy ends (1) after its ranks are reaped and their output sent: it removes
// the job's /dev/shm files and sends `done`; (2) on `kill`: the first signal to every rank's
// process group, SIGKILL 0.2 s later, then as (1) within 0.6 s; (3) on EOF of its stdin (the
// launcher or the ssh connection is gone, even by SIGKILL): SIGKILL at once, clean up, exit.
// Its ranks outlive a proxy killed by SIGKILL no longer than it takes the watchdog to notice:
// `ferry proxy --watchdog`, a child started before any rank, holds a pipe from the proxy; when
// that pipe ends without the proxy's "end" line, it SIGKILLs the process group of every rank
// the proxy named and removes the job's /dev/shm files.
//
// Environment of a rank (see docs/LAUNCH-MULTINODE.md): the launcher's, the user's -genv/-env,
// then PMI_FD, PMI_RANK, PMI_SIZE, PMI_JOBID, FERRY_JOBID, FERRY_JOB_COOKIE, FERRY_LOCAL_RANK,
// FERRY_LOCAL_SIZE, FERRY_NODE_INDEX, FERRY_NODE_COUNT, FERRY_NODE_NAME, FERRY_NODE_KEEPER_PID,
// FERRY_LAUNCHER_PID (both the proxy's pid), FERRY_UNIVERSE_SIZE, FERRY_LAUNCHER, FERRY_BIND_CPU.
#if canImport(Glibc)
import Glibc
#endif
import FerryPMI

/// One of a rank's output streams, as output frames on the proxy's channel to the launcher.
final class ProxyStreamSink: LineSink {
    let channel: OutputSink
    let stream: Int32
    init(channel: OutputSink, stream: Int32) { self.channel = channel; self.stream = stream }
    func enqueue<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard !bytes.isEmpty else { return }
        channel.enqueue(ProxyWire.encode(.output(stream: stream, bytes: Array(bytes))))
    }
    var isAboveHighWater: Bool { channel.isAboveHighWater }
}

enum ProxyCommand {
    static func main(_ arguments: [String]) -> Int32 {
        if arguments.first == "--watchdog" { return Watchdog.main(Array(arguments.dropFirst())) }
        guard arguments.isEmpty else {
            POSIX.writeAll(2, "usage: ferry proxy (started by 'ferry run' for a multi-node job; speaks on stdin/stdout)\n")
            return 2
        }
        POSIX.ensureStandardDescriptors()
        return Proxy().run()
    }
}

private final class Proxy {
    static let killGraceSeconds = 0.2
    static let giveUpSeconds = 0.6
    static let pmiClosedGraceSeconds = 0.5

    /// Proxy → launcher: our stdout, non-blocking (OutputSink reopens a pipe; a socket, as
    /// sshd may give, is written with MSG_DONTWAIT).
    let channel = OutputSink(stream: 1)
    var input = ProxyFrameReader()
    var inputOpen = true
    var signalFD: Int32 = -1
    var job: ProxyJob?
    var local: LocalRanks<ProxyStreamSink>?
    var watchdogFD: Int32 = -1
    var watchdogPID: pid_t = -1
    var teardownStart: Double?
    var killSent = false
    /// Ranks (by connection) whose closed PMI socket was reported: once each.
    var closedReported: Set<Int> = []
    /// Launcher messages that came in the same read as the job.
    var backlog: [ProxyMessage] = []
    let debug = getenv("FERRY_DEBUG_PROXY").map { String(cString: $0) == "1" } ?? false

    func run() -> Int32 {
        signalFD = SignalRelay.install()
        POSIX.setNonBlocking(0)
        send(.hello(pid: getpid()))
        // The job first. Anything else before it is a protocol error.
        while job == nil {
            guard inputOpen else { return 1 }
            var p = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                     pollfd(fd: channel.fd, events: Int16(channel.pendingBytes > 0 ? POLLOUT : 0), revents: 0)]
            _ = poll(&p, 2, 1000)
            channel.flush()
            guard let messages = readInput() else { return 1 }
            for message in messages {
                if job != nil { backlog.append(message); continue }
                guard case .job(let j) = message else { return protocolError("expected the job, got \(message)") }
                job = j
            }
        }
        guard let job else { return 1 }
        start(job)
        backlog.forEach(handle)
        loop()
        return finish()
    }

    func log(_ text: String) {
        if debug { POSIX.writeAll(2, "ferry proxy[\(getpid())]: \(text)\n") }
    }

    func protocolError(_ text: String) -> Int32 {
        POSIX.writeAll(2, "ferry proxy: \(text)\n")
        local?.signalAll(SIGKILL)
        return 1
    }

    func send(_ message: ProxyMessage) { channel.enqueue(ProxyWire.encode(message)) }

    /// Reads the launcher's bytes; nil after a framing error (reported on stderr).
    func readInput() -> [ProxyMessage]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var messages: [ProxyMessage] = []
        reading: while inputOpen {
            switch POSIX.read(0, into: &buffer) {
            case .data(let n): input.append(buffer[..<n])
            case .wouldBlock: break reading
            case .endOfFile: inputOpen = false
            }
        }
        do {
            while let m = try input.next() {
                guard !m.isFromProxy else {
                    POSIX.writeAll(2, "ferry proxy: unexpected message from the launcher: \(m)\n")
                    return nil
                }
                messages.append(m)
            }
        } catch {
            POSIX.writeAll(2, "ferry proxy: bad data from the launcher: \(error)\n")
            return nil
        }
        return messages
    }

    func start(_ job: ProxyJob) {
        let server = PMIServerState(size: job.size, kvsName: job.jobID,
                                    appnumOfRank: (0..<job.size).map { r in job.ranks.firstIndex(of: r).map { job.contextOfRank[$0] } ?? 0 },
                                    universeSize: job.universeSize, processMapping: job.processMapping,
                                    rankOfConnection: job.ranks)
        let local = LocalRanks(server: server, stdoutSink: ProxyStreamSink(channel: channel, stream: 1),
                               stderrSink: ProxyStreamSink(channel: channel, stream: 2))
        self.local = local
        startWatchdog(job)
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { if devNull >= 0 { _ = close(devNull) } }
        let placement = JobSupervisor.placement(cpuSet: job.cpuSet.isEmpty ? nil : job.cpuSet, bindToCore: job.bindToCore,
                                                rankCount: job.ranks.count)
        let me = getpid()
        for (localRank, rank) in job.ranks.enumerated() {
            let context = job.contexts[job.contextOfRank[localRank]]
            var ours: [(String, String)] = [
                ("PMI_FD", "\(RankSpawner.childPMIFD)"), ("PMI_RANK", "\(rank)"), ("PMI_SIZE", "\(job.size)"),
                ("PMI_JOBID", job.jobID), ("FERRY_JOBID", job.jobID), ("FERRY_JOB_COOKIE", job.cookie),
                ("FERRY_LAUNCHER_PID", "\(me)"), ("FERRY_NODE_KEEPER_PID", "\(me)"),
                ("FERRY_LOCAL_RANK", "\(localRank)"), ("FERRY_LOCAL_SIZE", "\(job.ranks.count)"),
                ("FERRY_NODE_INDEX", "\(job.nodeIndex)"), ("FERRY_NODE_COUNT", "\(job.nodeCount)"),
                ("FERRY_NODE_NAME", job.nodeName), ("FERRY_UNIVERSE_SIZE", "\(job.universeSize)"),
                ("FERRY_LAUNCHER", job.launcherPath),
            ]
            if let cpus = placement { ours.append(("FERRY_BIND_CPU", "\(cpus[localRank % cpus.count])")) }
            if context.setsPWD { ours.append(("PWD", context.workingDirectory)) }
            let settings = context.settings.map { entry -> (String, String) in
                let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }
            let env = JobSupervisor.mergedEnvironment(base: job.environment, settings: settings, ours: ours)
            switch local.spawn(rank: rank, path: context.path, argv: context.argv, environment: env,
                               workingDirectory: context.workingDirectory, stdinFD: devNull, tag: job.tagOutput) {
            case .success(let pid):
                if watchdogFD >= 0 { POSIX.writeAll(watchdogFD, "\(pid)\n") }
                send(.rankStarted(rank: rank, pid: pid))
            case .failure(let error):
                send(.spawnFailed(rank: rank, message: error.message))
                // The launcher answers with `kill`; start no more ranks meanwhile.
                return
            }
        }
        log("started ranks \(job.ranks) of job \(job.jobID) as node \(job.nodeIndex) (\(job.nodeName))")
    }

    /// Starts `ferry proxy --watchdog JOBID KEEPERPID` on a pipe (see the file header).
    func startWatchdog(_ job: ProxyJob) {
        guard let pipe = POSIX.makePipe() else { return }
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { if devNull >= 0 { _ = close(devNull) }; _ = close(pipe.read) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe.read, 0)
        posix_spawn_file_actions_adddup2(&actions, devNull, 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        let argv = [job.launcherPath, "proxy", "--watchdog", job.jobID, "\(getpid())"]
        let cArgv = argv.map { strdup($0) } + [nil]
        defer { cArgv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, job.launcherPath, &actions, &attributes, cArgv, environ) == 0 else {
            POSIX.writeAll(2, "ferry proxy: cannot start the watchdog \(job.launcherPath): ranks may outlive a killed proxy\n")
            _ = close(pipe.write)
            return
        }
        watchdogFD = pipe.write
        watchdogPID = pid
    }

    func loop() {
        guard let local else { return }
        while !local.allExited {
            let now = POSIX.now()
            if let start = teardownStart {
                if !killSent && now >= start + Self.killGraceSeconds { local.signalAll(SIGKILL); killSent = true }
                if now >= start + Self.giveUpSeconds { break }
            } else if let closed = local.closedPMI(now: now, grace: Self.pmiClosedGraceSeconds), !closedReported.contains(closed) {
                closedReported.insert(closed)  // reported once; the launcher decides
                send(.rankProblem(rank: local.ranks[closed].rank, pid: local.ranks[closed].pid, problem: .pmiClosed))
            }
            if !inputOpen && teardownStart == nil {
                // The launcher is gone: nobody to report to, nobody to wait for.
                log("launcher gone: killing ranks")
                local.signalAll(SIGKILL)
                killSent = true
                teardownStart = now - Self.killGraceSeconds
            }
            pollOnce(timeoutMs: timeoutMs(now: now))
            local.reap()
            handleEvents()
        }
    }

    func timeoutMs(now: Double) -> Int32 {
        var next = now + 0.25
        if let start = teardownStart {
            next = min(next, killSent ? start + Self.giveUpSeconds : start + Self.killGraceSeconds)
        } else if let closed = local?.nextClosedPMIDeadline(grace: Self.pmiClosedGraceSeconds) {
            next = min(next, closed)
        }
        return Int32(max(0, (next - now) * 1000).rounded(.up))
    }

    func pollOnce(timeoutMs: Int32) {
        guard let local else { return }
        enum Source { case signals, input, channel, rank(LocalRanks<ProxyStreamSink>.Source) }
        var fds = [pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
        var sources: [Source] = [.signals]
        if inputOpen { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)); sources.append(.input) }
        if channel.pendingBytes > 0 && channel.brokenErrno == nil {
            fds.append(pollfd(fd: channel.fd, events: Int16(POLLOUT), revents: 0)); sources.append(.channel)
        }
        var rankSources: [LocalRanks<ProxyStreamSink>.Source] = []
        local.addPollEntries(to: &fds, sources: &rankSources)
        sources += rankSources.map { .rank($0) }
        guard poll(&fds, nfds_t(fds.count), timeoutMs) > 0 else { return }
        for (i, entry) in fds.enumerated() where entry.revents != 0 {
            switch sources[i] {
            case .signals:
                // SIGCHLD wakes us to reap; a relayed signal sent to the proxy itself (a hung-up
                // ssh session) ends the job here as the launcher's loss does.
                if SignalRelay.take(from: signalFD).contains(where: SignalRelay.relayed.contains) { inputOpen = false }
            case .input:
                guard let messages = readInput() else {
                    inputOpen = false
                    continue
                }
                messages.forEach(handle)
            case .channel:
                channel.flush()
            case .rank(let source):
                local.handle(source, revents: entry.revents)
            }
        }
        // The launcher's end of our stdout is gone: it cannot be told anything any more.
        if channel.brokenErrno != nil { inputOpen = false }
    }

    func handle(_ message: ProxyMessage) {
        guard let local else { return }
        switch message {
        case .fenceComplete(let entries):
            log("fence complete: \(entries.count) entries")
            local.completeFence(entries: entries)
        case .signal(let signal):
            local.signalAll(signal)
        case .kill(let first):
            guard teardownStart == nil else { return }
            log("kill (first signal \(POSIX.signalName(first)))")
            teardownStart = POSIX.now()
            local.signalAll(first)
        default:
            // A second job: the launcher is confused; stop.
            POSIX.writeAll(2, "ferry proxy: unexpected message from the launcher: \(message)\n")
            inputOpen = false
        }
    }

    func handleEvents() {
        guard let local else { return }
        for event in local.takeEvents() {
            switch event {
            case let .exited(index, status):
                let r = local.ranks[index]
                send(.rankExited(rank: r.rank, pid: r.pid, status: status, initialized: local.server.hasInitialized(client: index),
                                 finalized: local.server.hasFinalized(client: index)))
            case let .aborted(index, code):
                send(.rankProblem(rank: local.ranks[index].rank, pid: local.ranks[index].pid, problem: .aborted(code: code)))
            case let .pmiFlood(index, pending):
                send(.rankProblem(rank: local.ranks[index].rank, pid: local.ranks[index].pid,
                                  problem: .pmiFlood(pendingBytes: Int32(clamping: pending))))
            case .fence(let puts):
                log("fence: \(puts.count) puts to the launcher")
                send(.fenceEnter(puts: puts))
            }
        }
    }

    /// Sends the last output, cleans up, says `done`, and waits for the channel to drain: as
    /// long as the launcher takes after a clean run (the output is the job's result), 0.3 s
    /// after a kill, not at all once the launcher is gone.
    func finish() -> Int32 {
        guard let local, let job else { return 1 }
        let limit: Double? = teardownStart == nil ? nil : POSIX.now() + 0.3
        for index in local.ranks.indices {
            while local.drainOutput(index) && inputOpen && waitForChannel(until: limit) {}
            local.finish(index)
        }
        // Ranks never reaped (gave up after SIGKILL): reported as killed, so the launcher's
        // count is complete.
        for r in local.ranks where r.status == nil {
            send(.rankExited(rank: r.rank, pid: r.pid, status: .signaled(SIGKILL), initialized: false, finalized: false))
        }
        SharedMemoryCleanup.removeSegments(jobID: job.jobID)
        SharedMemoryCleanup.removeSegments(jobID: "\(getpid())-")
        if watchdogFD >= 0 {
            POSIX.writeAll(watchdogFD, "end\n")
            _ = close(watchdogFD)
            var raw: Int32 = 0
            _ = waitpid(watchdogPID, &raw, 0)
        }
        send(.done)
        let end: Double? = teardownStart == nil ? nil : POSIX.now() + 0.3
        while inputOpen && channel.pendingBytes > 0 && waitForChannel(until: end) {}
        log("done")
        return 0
    }

    /// Waits (at most 100 ms, and not past `limit`) for the channel to take more, and writes.
    /// Returns false past `limit` or once the channel is broken.
    func waitForChannel(until limit: Double?) -> Bool {
        let now = POSIX.now()
        if let limit, now >= limit { return false }
        var fds = [pollfd(fd: channel.fd, events: Int16(POLLOUT), revents: 0), pollfd(fd: 0, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 2, Int32(min(100, ((limit ?? now + 1) - now) * 1000) + 1))
        channel.flush()
        if fds[1].revents != 0, let messages = readInput() {
            // Still obey a kill while waiting (the launcher's reader may be slow).
            for case .kill(_) in messages { local?.signalAll(SIGKILL) }
        }
        return channel.brokenErrno == nil
    }
}

/// `ferry proxy --watchdog JOBID KEEPERPID`: reads rank pids, one a line, from stdin (a pipe
/// from the proxy). On "end" it exits quietly; on EOF without it (the proxy died) it SIGKILLs
/// every named process group and removes the job's /dev/shm files.
enum Watchdog {
    static func main(_ arguments: [String]) -> Int32 {
        guard arguments.count == 2 else { return 2 }
        signal(SIGINT, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        var groups: [pid_t] = []
        var buffer = PMILineBuffer(maxLineBytes: 64)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            buffer.append(Array(chunk[..<n]))
            while case .line(let line)? = buffer.nextLine() {
                let text = String(decoding: line, as: UTF8.self)
                if text == "end" { return 0 }
                if let pid = pid_t(text), pid > 1 { groups.append(pid) }
            }
        }
        for pid in groups { if kill(-pid, SIGKILL) != 0 { _ = kill(pid, SIGKILL) } }
        SharedMemoryCleanup.removeSegments(jobID: arguments[0])
        SharedMemoryCleanup.removeSegments(jobID: arguments[1] + "-")
        return 0
    }
}
