// Runs a job whose ranks are on several hosts: one `ferry proxy` per host with ranks, started
// here as a child (directly for this host, through the launch template otherwise), spoken to
// over its stdin and stdout (ProxyWire). The launcher sends each proxy its part of the job,
// forwards the output frames to its own stdout and stderr, coordinates the PMI fences (one
// message per proxy per fence, FenceCoordinator), and applies JobSupervisor's rules to the
// exits and aborts the proxies report. Single-threaded: one poll(2) loop. Called by RunCommand.
//
// Teardown: the first failure (a rank killed, exiting before finalize, aborting; a proxy that
// cannot start or ends without its final report; a bad message; --timeout; a signal to the
// launcher; a reader of our output gone) sends `kill` to every proxy (the relayed signal first
// for an interrupt), which signals its ranks' groups, SIGKILLs them 0.2 s later, cleans up and
// reports `done`. A proxy not finished 0.8 s after the failure is SIGKILLed (its own stdin EOF
// or watchdog then ends its ranks), so the launcher exits within one second.
//
// Nothing blocks: messages to a proxy are queued (OutputSink on its stdin pipe); a proxy's
// channel is not read while our stdout or stderr is above its high-water mark (the proxy then
// queues, and stops reading its ranks' pipes above its own mark).
#if canImport(Glibc)
import Glibc
#endif
import FerryPMI
import Foundation

/// Merges the puts of one fence: each proxy sends exactly one `fenceEnter` per fence; when all
/// have, every proxy gets the merged list. Pure, unit-tested.
struct FenceCoordinator {
    let proxies: Int
    private var arrived: [Int: [PMIKeyValue]] = [:]
    /// Fences completed, and messages received in all of them (one per proxy per fence).
    private(set) var fencesCompleted = 0
    private(set) var messagesReceived = 0

    init(proxies: Int) { self.proxies = proxies }

    enum Outcome: Equatable {
        case waiting
        /// All proxies arrived: send these entries to each (puts in proxy order; a key put on
        /// several hosts keeps the last host's value).
        case complete([PMIKeyValue])
        /// This proxy already sent its message for the fence in progress.
        case duplicate
    }

    mutating func arrive(proxy: Int, puts: [PMIKeyValue]) -> Outcome {
        guard arrived[proxy] == nil else { return .duplicate }
        arrived[proxy] = puts
        messagesReceived += 1
        guard arrived.count == proxies else { return .waiting }
        var merged: [PMIKeyValue] = []
        var at: [String: Int] = [:]
        for p in arrived.keys.sorted() {
            for entry in arrived[p]! {
                if let i = at[entry.key] { merged[i] = entry } else { at[entry.key] = merged.count; merged.append(entry) }
            }
        }
        arrived.removeAll()
        fencesCompleted += 1
        return .complete(merged)
    }
}

final class MultiNodeSupervisor {
    /// The launcher's view of one proxy.
    private struct ProxyProcess {
        /// Index among the hosts with ranks (node id); the host's name as given.
        let node: Int
        let host: String
        /// The command as started, for messages.
        let command: String
        /// The ranks it runs.
        let ranks: Set<Int>
        /// The local child: the proxy itself, or the template's command (ssh).
        var pid: pid_t = -1
        /// The proxy's own pid, from `hello`.
        var proxyPID: Int32?
        /// When it was started: it must say hello within `startSeconds`.
        var startedAt = POSIX.now()
        var toProxy: OutputSink?
        var channelFD: Int32 = -1
        var reader = ProxyFrameReader()
        var stderrFD: Int32 = -1
        /// Its stderr before `hello`: held back, to be quoted if it never starts.
        var earlyStderr: [UInt8] = []
        var done = false
        var channelClosedAt: Double?
        var exit: POSIX.ExitStatus?
        var rankPIDs: [Int: Int32] = [:]
        var exitsReported = 0
        var finished: Bool { channelFD < 0 && exit != nil }
    }

    static let killGraceSeconds = 0.2
    static let giveUpSeconds = 0.8
    /// How long after a proxy's channel closed its exit status is awaited for the message.
    static let exitWaitSeconds = 0.3
    /// FERRY_PROXY_START_SECONDS (default 10): how long a proxy may take to say hello (an ssh
    /// that asks for a password or cannot reach its host) before the job fails.
    static let startSeconds: Double = getenv("FERRY_PROXY_START_SECONDS").flatMap { Double(String(cString: $0)) }
        .flatMap { $0 > 0 && $0.isFinite ? $0 : nil } ?? 10

    private let options: RunOptions
    private let programPaths: [String]
    private let plan: HostPlan
    private let jobID: String
    private let launcherPath: String
    private let debug = getenv("FERRY_DEBUG_PROXY").map { String(cString: $0) == "1" } ?? false
    private var proxies: [ProxyProcess] = []
    private var fences: FenceCoordinator
    private var failure: JobFailure?
    private var failureHost = ""
    private var firstNonZeroExit: Int32?
    private var teardownStart: Double?
    private var proxiesKilled = false
    private var signalFD: Int32 = -1
    private let stdoutSink = OutputSink(stream: 1)
    private let stderrSink = OutputSink(stream: 2)

    init(options: RunOptions, programPaths: [String], plan: HostPlan, jobID: String, launcherPath: String) {
        self.options = options
        self.programPaths = programPaths
        self.plan = plan
        self.jobID = jobID
        self.launcherPath = launcherPath
        fences = FenceCoordinator(proxies: plan.hosts.indices.filter { plan.ranksPerHost[$0] > 0 }.count)
    }

    /// The argv that starts the proxy of `host`: `template` split on whitespace with `{host}`
    /// replaced (the host appended after it when the template has no `{host}`), then
    /// `<ferry> proxy`; `<ferry> proxy` alone when `local`.
    static func proxyCommand(host: String, template: String?, ferry: String, local: Bool) -> [String] {
        guard !local else { return [ferry, "proxy"] }
        var words = (template ?? "ssh {host}").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        if words.contains(where: { $0.contains("{host}") }) {
            words = words.map { $0.replacingOccurrences(of: "{host}", with: host) }
        } else {
            words.append(host)
        }
        return words + [ferry, "proxy"]
    }

    /// MPI_UNIVERSE_SIZE of a multi-node job: --universe-size, else FERRY_UNIVERSE_SIZE, else the
    /// hosts' slots; never below the rank count.
    static func universeSize(_ options: RunOptions, plan: HostPlan) -> Int {
        let inherited = getenv("FERRY_UNIVERSE_SIZE").flatMap { Int(String(cString: $0)) }.flatMap { $0 > 0 ? $0 : nil }
        return max(options.universeSize ?? inherited ?? plan.hosts.reduce(0) { $0 + $1.slots }, options.rankCount)
    }

    /// 32 random hex digits (the job's cookie).
    static func newCookie() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let s = String(g.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }.joined()
    }

    /// The job message of each host with ranks, by node.
    func jobs() -> [(host: Int, job: ProxyJob)] {
        let cwd = ProgramResolver.currentDirectory() ?? "/"
        let contexts = options.applications.indices.map { i -> ProxyJob.Context in
            let a = options.applications[i]
            let wdir = options.workingDirectory(ofApplication: i)
            return ProxyJob.Context(path: programPaths[i], argv: [a.program] + a.arguments, workingDirectory: wdir ?? cwd,
                                    setsPWD: wdir != nil,
                                    settings: options.environment(ofApplication: i).map { "\($0.name)=\($0.value)" })
        }
        let cookie = Self.newCookie(), environment = POSIX.environment(), universe = Self.universeSize(options, plan: plan)
        let appOfRank = options.applicationOfEachRank
        let used = plan.hosts.indices.filter { plan.ranksPerHost[$0] > 0 }
        // Node ids as in the mapping: hosts numbered in the order of their first rank.
        let order = used.sorted { plan.ranks(onHost: $0)[0] < plan.ranks(onHost: $1)[0] }
        return order.enumerated().map { node, h in
            let ranks = plan.ranks(onHost: h)
            return (h, ProxyJob(jobID: jobID, cookie: cookie, nodeIndex: node, nodeCount: order.count, nodeName: plan.hosts[h].name,
                                size: options.rankCount, universeSize: universe, processMapping: plan.processMapping,
                                tagOutput: options.tagOutput, bindToCore: options.bindToCore, cpuSet: options.cpuSet ?? [],
                                launcherPath: launcherPath, environment: environment, contexts: contexts, ranks: ranks,
                                contextOfRank: ranks.map { appOfRank[$0] }))
        }
    }

    private func log(_ text: String) {
        if debug { stderrSink.enqueue(Array("ferry run: \(text)\n".utf8)) }
    }

    /// Runs the job and returns the launcher's exit status.
    func run() -> Int32 {
        signalFD = SignalRelay.install()
        let me = POSIX.hostName()
        let fork = options.launcher == .fork
        for (h, job) in jobs() {
            let name = plan.hosts[h].name
            let argv = Self.proxyCommand(host: name, template: options.launchExec, ferry: launcherPath,
                                         local: fork || RunCommand.isThisHost(name, me))
            var proxy = ProxyProcess(node: job.nodeIndex, host: name, command: argv.joined(separator: " "), ranks: Set(job.ranks))
            if let problem = start(&proxy, argv: argv) {
                proxies.append(proxy)
                beginTeardown(.proxyStartFailed(host: name, command: proxy.command, detail: problem))
                break
            }
            proxy.toProxy?.enqueue(ProxyWire.encode(.job(job)))
            log("proxy for host \(name) (node \(job.nodeIndex)): pid \(proxy.pid), command: \(proxy.command)")
            proxies.append(proxy)
        }
        let deadline = options.timeoutSeconds.map { POSIX.now() + $0 }
        while proxies.contains(where: { !$0.finished }) {
            let now = POSIX.now()
            if let start = teardownStart {
                if !proxiesKilled && now >= start + Self.giveUpSeconds {
                    // Late proxies: SIGKILL the local child; a remote proxy sees its stdin end.
                    for p in proxies where p.exit == nil && p.pid > 0 { Self.killGroup(p.pid) }
                    proxiesKilled = true
                }
                if now >= start + Self.giveUpSeconds + 0.1 { break }
            } else if let deadline, now >= deadline {
                beginTeardown(.timedOut(seconds: options.timeoutSeconds ?? 0))
                continue
            } else if let late = proxies.firstIndex(where: { $0.proxyPID == nil && $0.channelFD >= 0 && now >= $0.startedAt + Self.startSeconds }) {
                let p = proxies[late]
                if p.stderrFD >= 0 { readStderr(late) }
                let said = String(decoding: proxies[late].earlyStderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                beginTeardown(.proxyStartFailed(host: p.host, command: p.command,
                                                detail: "no answer within \(Self.format(Self.startSeconds)) s" + (said.isEmpty ? "" : ": \(said)")))
                if p.pid > 0 { Self.killGroup(p.pid) }
                continue
            }
            checkClosedProxies(now: now)
            pollOnce(timeoutMs: pollTimeoutMs(now: now, deadline: deadline))
            reapProxies()
            checkSinks()
        }
        return finish()
    }

    /// Starts one proxy: pipes for its stdin, stdout and stderr; its own process group.
    /// Returns why it could not be started, or nil.
    private func start(_ proxy: inout ProxyProcess, argv: [String]) -> String? {
        let path = getenv("PATH").map { String(cString: $0) }
        guard let program = ProgramResolver.resolve(argv[0], path: path) else {
            return "'\(argv[0])' not found or not executable"
        }
        guard let input = POSIX.makePipe() else { return "pipe failed: \(String(cString: strerror(errno)))" }
        POSIX.setNonBlocking(input.write)
        defer { _ = close(input.read) }
        switch RankSpawner.spawn(path: ProgramResolver.absolute(program), argv: argv, environment: POSIX.environment(),
                                 stdinFD: input.read, pmiSocket: false) {
        case .success(let spawned):
            proxy.pid = spawned.pid
            proxy.toProxy = OutputSink(ownedNonBlockingFD: input.write, stream: 0)
            proxy.channelFD = spawned.stdoutFD
            proxy.stderrFD = spawned.stderrFD
            return nil
        case .failure(let error):
            _ = close(input.write)
            return error.message
        }
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    private func pollTimeoutMs(now: Double, deadline: Double?) -> Int32 {
        var next = now + 0.25
        if let start = teardownStart { next = min(next, start + Self.giveUpSeconds + (proxiesKilled ? 0.1 : 0)) }
        if let deadline { next = min(next, deadline) }
        for p in proxies where p.exit == nil { if let closed = p.channelClosedAt { next = min(next, closed + Self.exitWaitSeconds) } }
        return Int32(max(0, (next - now) * 1000).rounded(.up))
    }

    private func pollOnce(timeoutMs: Int32) {
        enum Source { case signals, channel(Int), stderr(Int), toProxy(Int), sink(OutputSink) }
        var fds = [pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
        var sources: [Source] = [.signals]
        for sink in [stdoutSink, stderrSink] where sink.pendingBytes > 0 && sink.brokenErrno == nil {
            fds.append(pollfd(fd: sink.fd, events: Int16(POLLOUT), revents: 0)); sources.append(.sink(sink))
        }
        let backedUp = stdoutSink.isAboveHighWater || stderrSink.isAboveHighWater
        for (i, p) in proxies.enumerated() {
            if p.channelFD >= 0 && !backedUp { fds.append(pollfd(fd: p.channelFD, events: Int16(POLLIN), revents: 0)); sources.append(.channel(i)) }
            if p.stderrFD >= 0 && !stderrSink.isAboveHighWater { fds.append(pollfd(fd: p.stderrFD, events: Int16(POLLIN), revents: 0)); sources.append(.stderr(i)) }
            if let sink = p.toProxy, sink.pendingBytes > 0, sink.brokenErrno == nil {
                fds.append(pollfd(fd: sink.fd, events: Int16(POLLOUT), revents: 0)); sources.append(.toProxy(i))
            }
        }
        guard poll(&fds, nfds_t(fds.count), timeoutMs) > 0 else { return }
        for (i, entry) in fds.enumerated() where entry.revents != 0 {
            switch sources[i] {
            case .signals: handleSignals()
            case .channel(let p): readChannel(p)
            case .stderr(let p): readStderr(p)
            case .toProxy(let p): proxies[p].toProxy?.flush()
            case .sink(let sink): sink.flush()
            }
        }
    }

    private func handleSignals() {
        SignalRelay.dispatch(from: signalFD, failed: { failure != nil },
                             teardown: { beginTeardown(.interrupted(signal: $0), firstSignal: $0) },
                             relay: { sendToAll(.signal($0)) })
    }

    /// Reads a proxy's channel (a bounded number of reads) and handles its messages.
    private func readChannel(_ p: Int, maxReads: Int = 16) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<maxReads where proxies[p].channelFD >= 0 {
            switch POSIX.read(proxies[p].channelFD, into: &buffer) {
            case .data(let n):
                proxies[p].reader.append(buffer[..<n])
                do {
                    while proxies[p].channelFD >= 0, let message = try proxies[p].reader.next() { handle(message, from: p) }
                } catch {
                    protocolFailure(p, "\(error)")
                }
            case .wouldBlock:
                return
            case .endOfFile:
                closeChannel(p)
                return
            }
        }
    }

    private func closeChannel(_ p: Int) {
        guard proxies[p].channelFD >= 0 else { return }
        _ = close(proxies[p].channelFD)
        proxies[p].channelFD = -1
        proxies[p].channelClosedAt = POSIX.now()
        if !proxies[p].reader.isEmpty && proxies[p].done == false { log("proxy for \(proxies[p].host): channel ended inside a message") }
    }

    /// Forwards a proxy's own diagnostics raw (held back until it said hello).
    private func readStderr(_ p: Int) {
        var buffer = [UInt8](repeating: 0, count: 16384)
        for _ in 0..<16 where proxies[p].stderrFD >= 0 {
            switch POSIX.read(proxies[p].stderrFD, into: &buffer) {
            case .data(let n):
                if proxies[p].proxyPID == nil {
                    proxies[p].earlyStderr += buffer[..<n]
                    if proxies[p].earlyStderr.count > 8192 { proxies[p].earlyStderr.removeFirst(proxies[p].earlyStderr.count - 8192) }
                } else {
                    stderrSink.enqueue(buffer[..<n])
                }
            case .wouldBlock: return
            case .endOfFile:
                _ = close(proxies[p].stderrFD)
                proxies[p].stderrFD = -1
            }
        }
    }

    private func handle(_ message: ProxyMessage, from p: Int) {
        let host = proxies[p].host
        guard message.isFromProxy else { return protocolFailure(p, "a launcher message (\(message)) came back") }
        switch message {
        case .hello(let pid):
            guard proxies[p].proxyPID == nil else { return protocolFailure(p, "hello twice") }
            proxies[p].proxyPID = pid
            stderrSink.enqueue(proxies[p].earlyStderr)
            proxies[p].earlyStderr = []
            log("proxy for host \(host) (node \(proxies[p].node)) says hello: pid \(pid)")
        case let .rankStarted(rank, pid):
            guard proxies[p].ranks.contains(rank) else { return protocolFailure(p, "rank \(rank) is not one of its ranks") }
            proxies[p].rankPIDs[rank] = pid
        case let .spawnFailed(rank, text):
            beginTeardown(.spawnFailed(rank: rank, message: "\(text) (on host \(host))"), host: host)
        case let .output(stream, bytes):
            (stream == 1 ? stdoutSink : stderrSink).enqueue(bytes)
        case .fenceEnter(let puts):
            switch fences.arrive(proxy: p, puts: puts) {
            case .waiting: break
            case .duplicate: protocolFailure(p, "two fence messages in one fence")
            case .complete(let merged):
                log("fence \(fences.fencesCompleted): \(proxies.count) proxies, \(fences.messagesReceived) messages so far, \(merged.count) entries")
                let frame = ProxyWire.encode(.fenceComplete(entries: merged))
                guard frame.count - 4 <= ProxyWire.maxFrameBytes else {
                    return protocolFailure(p, "the job's puts of one fence exceed \(ProxyWire.maxFrameBytes) bytes")
                }
                for q in proxies.indices { proxies[q].toProxy?.enqueue(frame) }
            }
        case let .rankExited(rank, pid, status, initialized, finalized):
            guard proxies[p].ranks.contains(rank) else { return protocolFailure(p, "rank \(rank) is not one of its ranks") }
            proxies[p].exitsReported += 1
            guard failure == nil else { return }
            switch status {
            case .signaled(let signal):
                beginTeardown(.signaled(rank: rank, pid: pid, signal: signal), host: host)
            case .exited(let code):
                if finalized {
                    if code != 0 && firstNonZeroExit == nil { firstNonZeroExit = code }
                } else if code != 0 || initialized {
                    beginTeardown(.exitedEarly(rank: rank, pid: pid, code: code, initialized: initialized), host: host)
                }
            }
        case let .rankProblem(rank, pid, problem):
            guard proxies[p].ranks.contains(rank) else { return protocolFailure(p, "rank \(rank) is not one of its ranks") }
            switch problem {
            case .aborted(let code): beginTeardown(.aborted(rank: rank, pid: pid, code: code), host: host)
            case .pmiClosed: beginTeardown(.pmiClosed(rank: rank, pid: pid), host: host)
            case .pmiFlood(let bytes): beginTeardown(.pmiFlood(rank: rank, pid: pid, pendingBytes: Int(bytes)), host: host)
            }
        case .done:
            guard proxies[p].exitsReported >= proxies[p].ranks.count || failure != nil else {
                return protocolFailure(p, "done after \(proxies[p].exitsReported) of its \(proxies[p].ranks.count) ranks' exits")
            }
            proxies[p].done = true
            log("proxy for host \(host) done")
        case .job, .fenceComplete, .signal, .kill:
            break  // excluded by isFromProxy
        }
    }

    private func protocolFailure(_ p: Int, _ detail: String) {
        beginTeardown(.proxyProtocol(host: proxies[p].host, detail: detail))
        // Nothing more is read from it: its stream can no longer be trusted.
        closeChannel(p)
        if proxies[p].pid > 0 && proxies[p].exit == nil { Self.killGroup(proxies[p].pid) }
    }

    /// A proxy whose channel closed without `done`: it failed to start (no hello) or ended
    /// unexpectedly. Decided once its exit status is known, or `exitWaitSeconds` after the close.
    private func checkClosedProxies(now: Double) {
        for (i, p) in proxies.enumerated() where !p.done {
            guard let closed = p.channelClosedAt, p.exit != nil || now >= closed + Self.exitWaitSeconds else { continue }
            proxies[i].done = true  // decided: do not report it twice
            guard failure == nil else { continue }
            let status = p.exit.map(Self.describe) ?? "exit status unknown"
            if p.proxyPID == nil {
                if p.stderrFD >= 0 { readStderr(i) }
                let said = String(decoding: proxies[i].earlyStderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                beginTeardown(.proxyStartFailed(host: p.host, command: p.command,
                                                detail: said.isEmpty ? status : "\(status): \(said)"))
            } else {
                beginTeardown(.proxyEnded(host: p.host, pid: p.proxyPID ?? p.pid, detail: status))
            }
        }
    }

    /// SIGKILLs the process group a proxy's command leads (RankSpawner gives it its own): the
    /// proxy, or the template's command and what it started (ssh and its helpers). The ranks and
    /// the watchdog lead groups of their own.
    static func killGroup(_ pid: pid_t) {
        if kill(-pid, SIGKILL) != 0 { _ = kill(pid, SIGKILL) }
    }

    static func describe(_ status: POSIX.ExitStatus) -> String {
        switch status {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let s): return "killed by signal \(s) (\(POSIX.signalName(s)))"
        }
    }

    private func reapProxies() {
        for i in proxies.indices where proxies[i].exit == nil && proxies[i].pid > 0 {
            var raw: Int32 = 0
            if waitpid(proxies[i].pid, &raw, WNOHANG) == proxies[i].pid {
                proxies[i].exit = POSIX.decode(waitStatus: raw)
                // Its last messages and diagnostics.
                readChannel(i)
                if proxies[i].stderrFD >= 0 { readStderr(i) }
            }
        }
        // A proxy that failed to spawn has no process: it is finished as it is.
        for i in proxies.indices where proxies[i].pid <= 0 && proxies[i].exit == nil { proxies[i].exit = .exited(127) }
    }

    private func checkSinks() {
        for sink in [stdoutSink, stderrSink] {
            if let e = sink.brokenErrno, failure == nil { beginTeardown(.outputClosed(stream: sink.stream, errno: e)) }
        }
    }

    private func sendToAll(_ message: ProxyMessage) {
        let frame = ProxyWire.encode(message)
        for i in proxies.indices where proxies[i].channelFD >= 0 && !proxies[i].done { proxies[i].toProxy?.enqueue(frame) }
    }

    private func beginTeardown(_ reason: JobFailure, host: String = "", firstSignal: Int32 = SIGTERM) {
        guard failure == nil else { return }
        failure = reason
        failureHost = host
        teardownStart = POSIX.now()
        log("teardown: \(reason.message(host: host))")
        sendToAll(.kill(firstSignal: firstSignal))
    }

    /// Flushes the output, prints the failure line, returns the status.
    private func finish() -> Int32 {
        // Proxies that never finished (given up on): SIGKILLed, reaped without waiting long.
        for i in proxies.indices where proxies[i].exit == nil && proxies[i].pid > 0 {
            Self.killGroup(proxies[i].pid)
            var raw: Int32 = 0
            if waitpid(proxies[i].pid, &raw, 0) == proxies[i].pid { proxies[i].exit = POSIX.decode(waitStatus: raw) }
        }
        for i in proxies.indices {
            if proxies[i].stderrFD >= 0 { readStderr(i); _ = close(proxies[i].stderrFD); proxies[i].stderrFD = -1 }
            if proxies[i].channelFD >= 0 { _ = close(proxies[i].channelFD); proxies[i].channelFD = -1 }
            proxies[i].toProxy = nil
        }
        checkSinks()
        if let failure { stderrSink.enqueue(Array((failure.message(host: failureHost) + "\n").utf8)) }
        let end: Double? = failure == nil ? nil : POSIX.now() + 1
        while [stdoutSink, stderrSink].contains(where: { $0.pendingBytes > 0 && $0.brokenErrno == nil }),
              JobSupervisor.waitForSinks([stdoutSink, stderrSink], signalFD: signalFD, limit: end) {}
        SharedMemoryCleanup.removeSegments(jobID: jobID)
        if let failure { return failure.exitStatus }
        return JobFailure.statusByte(firstNonZeroExit ?? 0)
    }
}
