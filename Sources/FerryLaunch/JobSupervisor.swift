// Runs one job on this node: spawns the ranks (context after context for an MPMD launch,
// ranks numbered consecutively across contexts), serves PMI-1 to them from PMIServerState,
// forwards their output, relays signals, reaps them, and tears the job down when one fails.
// Single-threaded: everything happens in one poll(2) loop. Called by RunCommand.
//
// Teardown: the first failure (a rank killed by a signal, exiting before finalize, calling
// abort, closing its PMI connection before finalize, not reading its PMI replies, the
// --timeout, a reader of our output gone, or a signal to the launcher) sends SIGTERM to every
// rank's process group (the relayed signal itself for an interrupt), SIGKILL 200 ms later,
// and stops waiting 800 ms after the failure, so the launcher exits within one second. Each
// rank leads its own process group (RankSpawner), so a program started through a wrapper
// script is reached too.
//
// Nothing here blocks: PMI replies and forwarded output are queued and written when poll says
// the other side can take them; a rank whose unread PMI replies pass PMILimits.pendingReplyBytes
// fails the job, and ranks' output is not read while our own stdout or stderr is backed up.
// The ranks die with the launcher even when it is SIGKILLed: the runtime asks for
// PR_SET_PDEATHSIG and watches its PMI socket for our end closing (FerryRuntime).
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif
import FerryPMI

final class JobSupervisor {
    static let killGraceSeconds = 0.2
    static let giveUpSeconds = 0.8
    /// How long a rank that closed its PMI socket before finalize has to exit by itself (its
    /// exit status, when it comes, says more than the closed socket).
    static let pmiClosedGraceSeconds = 0.5

    private let options: RunOptions
    /// The resolved executable of each application context.
    private let programPaths: [String]
    /// This launcher's absolute path, exported as FERRY_LAUNCHER (nil if unknown).
    private let launcherPath: String?
    private let jobID: String
    private let host = POSIX.hostName()
    private let server: PMIServerState
    private let local: LocalRanks<OutputSink>
    private var failure: JobFailure?
    private var firstNonZeroExit: Int32?
    private var teardownStart: Double?
    private var killSent = false
    private var signalFD: Int32 = -1
    private let stdoutSink = OutputSink(stream: 1)
    private let stderrSink = OutputSink(stream: 2)

    /// - Parameters:
    ///   - programPaths: the resolved executable of each of `options.applications`.
    ///   - launcherPath: exported to every rank as FERRY_LAUNCHER.
    init(options: RunOptions, programPaths: [String], jobID: String, launcherPath: String?) {
        precondition(programPaths.count == options.applications.count)
        self.options = options
        self.programPaths = programPaths
        self.launcherPath = launcherPath
        self.jobID = jobID
        self.server = Self.makeServer(options: options, jobID: jobID)
        self.local = LocalRanks(server: server, stdoutSink: stdoutSink, stderrSink: stderrSink)
    }

    /// The job's PMI server: one key-value space, `get_appnum` answering each rank's context.
    static func makeServer(options: RunOptions, jobID: String) -> PMIServerState {
        PMIServerState(size: options.rankCount, kvsName: jobID, appnumOfRank: options.applicationOfEachRank,
                       universeSize: universeSize(options))
    }

    /// MPI_UNIVERSE_SIZE: `--universe-size`, else FERRY_UNIVERSE_SIZE from our environment (a
    /// job spawned by a rank keeps its parent's universe), else the CPUs the job may use (its
    /// --cpu-set, or the launcher's affinity); never below the job's rank count.
    static func universeSize(_ options: RunOptions, environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }) -> Int {
        var size = options.universeSize ?? environment("FERRY_UNIVERSE_SIZE").flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        if size == nil { size = options.cpuSet?.count ?? POSIX.allowedCPUs().count }
        return max(size ?? 1, options.rankCount)
    }

    /// The environment of rank `rank`: the launcher's (minus any PMI/Ferry job variables it
    /// may itself have inherited), then the user's settings for the rank's context (global,
    /// then the context's own), then the job's variables.
    static func environment(base: [String], options: RunOptions, jobID: String, rank: Int,
                            launcherPath: String? = nil, cpu: Int? = nil, universeSize: Int? = nil) -> [String] {
        let application = options.application(ofRank: rank)
        var ours: [(String, String)] = [
            ("PMI_FD", "\(RankSpawner.childPMIFD)"), ("PMI_RANK", "\(rank)"), ("PMI_SIZE", "\(options.rankCount)"),
            ("PMI_JOBID", jobID), ("FERRY_JOBID", jobID), ("FERRY_LAUNCHER_PID", "\(getpid())"),
            ("FERRY_LOCAL_RANK", "\(rank)"), ("FERRY_LOCAL_SIZE", "\(options.rankCount)"),
            ("FERRY_UNIVERSE_SIZE", "\(universeSize ?? Self.universeSize(options))"),
        ]
        if let launcherPath { ours.append(("FERRY_LAUNCHER", launcherPath)) }
        // The rank binds itself to this CPU in MPI_Init (Runtime), before any traffic.
        if let cpu { ours.append(("FERRY_BIND_CPU", "\(cpu)")) }
        // Like Open MPI: a shell's `pwd` trusts PWD, which would still name the launcher's directory.
        if let directory = options.workingDirectory(ofApplication: application) { ours.append(("PWD", directory)) }
        return mergedEnvironment(base: base, settings: options.environment(ofApplication: application).map { ($0.name, $0.value) },
                                 ours: ours)
    }

    /// A rank's environment from its parts: `base` (the launcher's) minus every variable a
    /// launcher sets (PMI and Ferry job variables it may itself have inherited), then the
    /// user's `settings` in order, then the launcher's own variables `ours`; a later setting of
    /// a name replaces an earlier one in place. Shared by the one-node path and the proxy.
    static func mergedEnvironment(base: [String], settings: [(String, String)], ours: [(String, String)]) -> [String] {
        let reserved = Set(["PMI_PORT", "PMI_ID", "PMI_SPAWNED", "FERRY_LAUNCHER", "FERRY_BIND_CPU",
                            "FERRY_NODE_INDEX", "FERRY_NODE_COUNT", "FERRY_NODE_NAME", "FERRY_NODE_KEEPER_PID",
                            "FERRY_JOB_COOKIE"] + ours.map { $0.0 })
        let overrides = settings + ours
        let overridden = reserved.union(overrides.map { $0.0 })
        var result = base.filter { entry in
            let name = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            return !overridden.contains(name)
        }
        var seen: [String: Int] = [:]
        for (name, value) in overrides {
            if let at = seen[name] { result[at] = "\(name)=\(value)"; continue }
            seen[name] = result.count
            result.append("\(name)=\(value)")
        }
        return result
    }

    /// The CPU of each rank (rank i on CPUs[i % count]), or nil to leave ranks unbound: bound by
    /// default when the ranks fit on the CPUs, so two busy ranks never share a core while
    /// another one idles (the scheduler's wake-up placement does that to unbound ranks).
    static func placement(_ options: RunOptions) -> [Int]? {
        placement(cpuSet: options.cpuSet, bindToCore: options.bindToCore, rankCount: options.rankCount)
    }

    /// The same from its parts (a proxy places its host's `rankCount` ranks on its own CPUs).
    static func placement(cpuSet: [Int]?, bindToCore: Bool?, rankCount: Int) -> [Int]? {
        var cpus: [Int]
        if let wanted = cpuSet {
            // The given set becomes the launcher's own affinity too, so unbound ranks (and a
            // job spawned from a bound rank) may use all of it.
            let c = wanted.map { Int32($0) }
            _ = ferry_set_cpus(c, Int32(c.count))
            cpus = wanted
        } else {
            cpus = POSIX.allowedCPUs()
        }
        guard !cpus.isEmpty else { return nil }
        switch bindToCore {
        case false?: return nil
        case true?: return cpus
        case nil: return rankCount <= cpus.count ? cpus : nil
        }
    }

    /// Runs the job and returns the launcher's exit status.
    func run() -> Int32 {
        signalFD = SignalRelay.install()
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let base = POSIX.environment()
        let placement = Self.placement(options)
        let deadline = options.timeoutSeconds.map { POSIX.now() + $0 }
        for (index, application) in options.applicationOfEachRank.enumerated() {
            let context = options.applications[application]
            let env = Self.environment(base: base, options: options, jobID: jobID, rank: index,
                                       launcherPath: launcherPath, cpu: placement.map { $0[index % $0.count] },
                                       universeSize: server.universeSize)
            if case .failure(let error) = local.spawn(rank: index, path: programPaths[application],
                                                      argv: [context.program] + context.arguments, environment: env,
                                                      workingDirectory: options.workingDirectory(ofApplication: application),
                                                      stdinFD: devNull, tag: options.tagOutput) {
                beginTeardown(.spawnFailed(rank: index, message: error.message))
                break
            }
        }
        if devNull >= 0 { _ = close(devNull) }
        // A job started by MPI_Comm_spawn (its ranks connect to FERRY_PARENT_PORT) ends with the
        // process that spawned it: checked at every wake-up (at least every 0.25 s).
        let spawner: pid_t? = options.globalEnvironment.contains { $0.name == "FERRY_PARENT_PORT" } ? getppid() : nil

        while !local.allExited {
            let now = POSIX.now()
            if teardownStart == nil, let spawner, getppid() != spawner {
                beginTeardown(.spawnerEnded(pid: spawner))
                continue
            }
            if let start = teardownStart {
                if !killSent && now >= start + Self.killGraceSeconds {
                    local.signalAll(SIGKILL)
                    killSent = true
                }
                if now >= start + Self.giveUpSeconds { break }
            } else if let deadline, now >= deadline {
                beginTeardown(.timedOut(seconds: options.timeoutSeconds ?? 0))
                continue
            } else if let closed = local.closedPMI(now: now, grace: Self.pmiClosedGraceSeconds) {
                beginTeardown(.pmiClosed(rank: closed, pid: local.ranks[closed].pid))
                continue
            }
            pollOnce(timeoutMs: pollTimeoutMs(now: now, deadline: deadline))
            local.reap()
            handleEvents()
            checkSinks()
        }
        return finish()
    }

    /// Fails the job once a reader of our stdout or stderr has gone away.
    private func checkSinks() {
        for sink in [stdoutSink, stderrSink] {
            if let e = sink.brokenErrno, failure == nil { beginTeardown(.outputClosed(stream: sink.stream, errno: e)) }
        }
    }

    private func pollTimeoutMs(now: Double, deadline: Double?) -> Int32 {
        var next = now + 0.25  // safety net: reap even if a SIGCHLD byte were lost
        if let start = teardownStart {
            next = min(next, killSent ? start + Self.giveUpSeconds : start + Self.killGraceSeconds)
        } else {
            if let deadline { next = min(next, deadline) }
            if let closed = local.nextClosedPMIDeadline(grace: Self.pmiClosedGraceSeconds) { next = min(next, closed) }
        }
        return Int32(max(0, (next - now) * 1000).rounded(.up))
    }

    /// Waits for one batch of events and handles them.
    private func pollOnce(timeoutMs: Int32) {
        enum Source { case signals, rank(LocalRanks<OutputSink>.Source), sink(OutputSink) }
        var fds: [pollfd] = [pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
        var sources: [Source] = [.signals]
        for sink in [stdoutSink, stderrSink] where sink.pendingBytes > 0 && sink.brokenErrno == nil {
            fds.append(pollfd(fd: sink.fd, events: Int16(POLLOUT), revents: 0)); sources.append(.sink(sink))
        }
        var rankSources: [LocalRanks<OutputSink>.Source] = []
        local.addPollEntries(to: &fds, sources: &rankSources)
        sources += rankSources.map { .rank($0) }
        let n = poll(&fds, nfds_t(fds.count), timeoutMs)
        guard n > 0 else { return }
        for (i, entry) in fds.enumerated() where entry.revents != 0 {
            switch sources[i] {
            case .signals: handleSignals()
            case .rank(let source): local.handle(source, revents: entry.revents)
            case .sink(let sink): sink.flush()
            }
        }
    }

    private func handleSignals() {
        SignalRelay.dispatch(from: signalFD, failed: { failure != nil },
                             teardown: { beginTeardown(.interrupted(signal: $0), firstSignal: $0) },
                             relay: { local.signalAll($0) })
    }

    /// Decides what the ranks' events mean for the job: the first failure tears it down.
    private func handleEvents() {
        for event in local.takeEvents() {
            switch event {
            case let .pmiFlood(index, pending):
                beginTeardown(.pmiFlood(rank: index, pid: local.ranks[index].pid, pendingBytes: pending))
            case let .aborted(index, code):
                beginTeardown(.aborted(rank: index, pid: local.ranks[index].pid, code: code))
            case .fence:
                break  // one node: the server releases its barrier itself
            case let .exited(index, status):
                guard failure == nil else { continue }
                let pid = local.ranks[index].pid
                switch status {
                case .signaled(let signal):
                    beginTeardown(.signaled(rank: index, pid: pid, signal: signal))
                case .exited(let code):
                    if server.hasFinalized(client: index) {
                        if code != 0 && firstNonZeroExit == nil { firstNonZeroExit = code }
                    } else if code != 0 || server.hasInitialized(client: index) {
                        // A program that never spoke PMI and exits 0 (`mpiexec -n 2 hostname`) is fine.
                        beginTeardown(.exitedEarly(rank: index, pid: pid, code: code,
                                                   initialized: server.hasInitialized(client: index)))
                    }
                }
            }
        }
    }

    private func beginTeardown(_ reason: JobFailure, firstSignal: Int32 = SIGTERM) {
        guard failure == nil else { return }
        failure = reason
        teardownStart = POSIX.now()
        local.signalAll(firstSignal)
    }

    /// Flushes all output, prints the failure line, removes leftover segments, returns the status.
    private func finish() -> Int32 {
        let limit: Double? = failure == nil ? nil : POSIX.now() + 1
        var stopped = false
        for index in local.ranks.indices {
            // What the rank wrote last may still be in its pipes, more than the sinks hold.
            while !stopped && local.drainOutput(index) {
                stopped = !waitForSinks(limit: limit)
            }
            local.finish(index)
        }
        checkSinks()
        if let failure { stderrSink.enqueue(Array((failure.message(host: host) + "\n").utf8)) }
        let end: Double? = failure == nil ? nil : POSIX.now() + 1
        while !stopped && [stdoutSink, stderrSink].contains(where: { $0.pendingBytes > 0 && $0.brokenErrno == nil }) {
            stopped = !waitForSinks(limit: end)
        }
        SharedMemoryCleanup.removeSegments(jobID: jobID)
        if let failure { return failure.exitStatus }
        return JobFailure.statusByte(firstNonZeroExit ?? 0)
    }

    /// Waits (at most 100 ms) until our stdout or stderr takes more, and writes to them.
    /// After a clean run the launcher waits as long as the reader takes (the output is the
    /// job's result); after a failure until `limit`. Returns false when the wait should stop:
    /// past `limit`, or a relayed signal (SIGINT, SIGTERM, SIGHUP) arrived.
    private func waitForSinks(limit: Double?) -> Bool {
        Self.waitForSinks([stdoutSink, stderrSink], signalFD: signalFD, limit: limit)
    }

    /// `waitForSinks` for any sinks; shared with MultiNodeSupervisor.
    static func waitForSinks(_ sinks: [OutputSink], signalFD: Int32, limit: Double?) -> Bool {
        if let limit, POSIX.now() >= limit { return false }
        let waiting = sinks.filter { $0.pendingBytes > 0 && $0.brokenErrno == nil }
        var fds = [pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
        fds += waiting.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), 100)
        if fds[0].revents != 0 && SignalRelay.take(from: signalFD).contains(where: SignalRelay.relayed.contains) { return false }
        waiting.forEach { $0.flush() }
        return true
    }
}
