// The ranks a process runs on its own host: JobSupervisor's (a one-node job) and a proxy's (one
// host of a multi-node job, ProxyCommand). Owns what both do the same way: spawning ranks
// (RankSpawner), serving PMI-1 on their sockets from a PMIServerState, forwarding their stdout
// and stderr line by line into sinks (OutputForwarder), reaping them and signalling their process
// groups. It holds no policy: what an exit, an abort or a flood means for the job is its owner's
// to decide, from the events it takes after each poll. Single-threaded, non-blocking.
#if canImport(Glibc)
import Glibc
#endif
import FerryPMI

final class LocalRanks<Sink: LineSink> {
    /// One rank run here. `index` is its connection number in `server`; `rank` its global rank.
    struct Rank {
        let index: Int
        let rank: Int
        var pid: pid_t = -1
        var pmiFD: Int32 = -1
        var pmiBuffer = PMILineBuffer()
        /// PMI replies not yet written (the socket was full), from `pmiOutHead` on.
        var pmiOut: [UInt8] = []
        var pmiOutHead = 0
        /// When the rank's PMI connection closed (EOF) while it was still running.
        var pmiClosedAt: Double?
        var stdout: OutputForwarder<Sink>
        var stderr: OutputForwarder<Sink>
        var status: POSIX.ExitStatus?
    }

    /// What happened to the ranks since the owner last looked, in order.
    enum Event: Equatable {
        /// Reaped; its last PMI lines and its output were read first.
        case exited(index: Int, status: POSIX.ExitStatus)
        case aborted(index: Int, code: Int32)
        /// It sent PMI requests without reading the replies (`pendingBytes` queued).
        case pmiFlood(index: Int, pendingBytes: Int)
        /// Every rank here entered the barrier (fence mode only): send these puts on.
        case fence(puts: [PMIKeyValue])
    }

    /// A descriptor to poll, by what it is.
    enum Source { case pmi(Int), stdout(Int), stderr(Int) }

    let server: PMIServerState
    let stdoutSink: Sink
    let stderrSink: Sink
    private(set) var ranks: [Rank] = []
    private var events: [Event] = []

    init(server: PMIServerState, stdoutSink: Sink, stderrSink: Sink) {
        self.server = server
        self.stdoutSink = stdoutSink
        self.stderrSink = stderrSink
    }

    /// Starts global rank `rank` as the next connection; its output lines get `[rank] ` when
    /// `tag`. Returns the error if it could not be started (then it is not in `ranks`).
    func spawn(rank: Int, path: String, argv: [String], environment: [String], workingDirectory: String?,
               stdinFD: Int32, tag: Bool) -> Result<pid_t, SpawnError> {
        let prefix = tag ? "[\(rank)] " : ""
        switch RankSpawner.spawn(path: path, argv: argv, environment: environment,
                                 workingDirectory: workingDirectory, stdinFD: stdinFD) {
        case .success(let spawned):
            ranks.append(Rank(index: ranks.count, rank: rank, pid: spawned.pid, pmiFD: spawned.pmiFD,
                              stdout: OutputForwarder(sourceFD: spawned.stdoutFD, sink: stdoutSink, prefix: prefix),
                              stderr: OutputForwarder(sourceFD: spawned.stderrFD, sink: stderrSink, prefix: prefix)))
            return .success(spawned.pid)
        case .failure(let error):
            return .failure(error)
        }
    }

    /// True once every started rank has been reaped.
    var allExited: Bool { !ranks.contains { $0.status == nil } }

    /// The events since the last call.
    func takeEvents() -> [Event] {
        defer { events.removeAll() }
        return events
    }

    /// The first running rank whose PMI connection closed more than `grace` seconds ago.
    func closedPMI(now: Double, grace: Double) -> Int? {
        ranks.first { $0.status == nil && $0.pmiClosedAt.map { now >= $0 + grace } ?? false }?.index
    }

    /// The earliest time at which `closedPMI` may turn non-nil, if any.
    func nextClosedPMIDeadline(grace: Double) -> Double? {
        ranks.filter { $0.status == nil }.compactMap { $0.pmiClosedAt.map { $0 + grace } }.min()
    }

    /// Adds the descriptors to poll: every PMI socket, and the output pipes unless their sink is
    /// backed up (a rank then waits in write(2), as it would writing to a full pipe itself).
    func addPollEntries(to fds: inout [pollfd], sources: inout [Source]) {
        let readStdout = !stdoutSink.isAboveHighWater, readStderr = !stderrSink.isAboveHighWater
        for rank in ranks {
            if rank.pmiFD >= 0 {
                let events = POLLIN | (rank.pmiOut.count > rank.pmiOutHead ? POLLOUT : 0)
                fds.append(pollfd(fd: rank.pmiFD, events: Int16(events), revents: 0)); sources.append(.pmi(rank.index))
            }
            if rank.stdout.isOpen && readStdout { fds.append(pollfd(fd: rank.stdout.sourceFD, events: Int16(POLLIN), revents: 0)); sources.append(.stdout(rank.index)) }
            if rank.stderr.isOpen && readStderr { fds.append(pollfd(fd: rank.stderr.sourceFD, events: Int16(POLLIN), revents: 0)); sources.append(.stderr(rank.index)) }
        }
    }

    /// Handles what poll reported for `source`.
    func handle(_ source: Source, revents: Int16) {
        switch source {
        case .pmi(let r):
            if revents & Int16(POLLOUT) != 0 { flushPMI(rank: r) }
            if revents & ~Int16(POLLOUT) != 0 { servePMI(rank: r) }
        case .stdout(let r): ranks[r].stdout.pump()
        case .stderr(let r): ranks[r].stderr.pump()
        }
    }

    /// Stores the job-wide puts of a fence and releases the barrier (fence mode).
    func completeFence(entries: [PMIKeyValue]) {
        perform(server.completeFence(entries: entries))
    }

    /// Reads what is available on a rank's PMI socket (a bounded number of reads, so a rank
    /// that floods requests cannot keep the loop to itself) and performs the server's actions.
    private func servePMI(rank index: Int, maxReads: Int = 16) {
        var buffer = [UInt8](repeating: 0, count: 16384)
        var reads = 0
        while ranks[index].pmiFD >= 0 && reads < maxReads {
            reads += 1
            switch POSIX.read(ranks[index].pmiFD, into: &buffer) {
            case .data(let n):
                ranks[index].pmiBuffer.append(Array(buffer[..<n]))
                while let event = ranks[index].pmiBuffer.nextLine() {
                    switch event {
                    case .line(let line): perform(server.handle(client: index, line: line))
                    case .overlong:
                        perform([.send(client: index, line: PMIMessage("error", ["rc": "-1", "msg": "line_too_long"]).line)])
                    }
                }
            case .wouldBlock:
                return
            case .endOfFile:
                _ = close(ranks[index].pmiFD)
                ranks[index].pmiFD = -1
                // Still running, initialized and not finalized: it has lost its launcher
                // connection (or closed it), and the job cannot finish; the owner fails it
                // unless it exits by itself within a grace period (`closedPMI`).
                if ranks[index].status == nil && server.hasInitialized(client: index) && !server.hasFinalized(client: index) {
                    ranks[index].pmiClosedAt = POSIX.now()
                }
            }
        }
    }

    /// Writes a rank's queued PMI replies as far as its socket takes them.
    private func flushPMI(rank index: Int) {
        while ranks[index].pmiFD >= 0 && ranks[index].pmiOutHead < ranks[index].pmiOut.count {
            let head = ranks[index].pmiOutHead
            let n = ranks[index].pmiOut.withUnsafeBytes { b in
                send(ranks[index].pmiFD, b.baseAddress! + head, b.count - head, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if n > 0 { ranks[index].pmiOutHead += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { break }
            // The rank closed its end: EOF on the read side will tell.
            ranks[index].pmiOut.removeAll(); ranks[index].pmiOutHead = 0
            return
        }
        if ranks[index].pmiOutHead == ranks[index].pmiOut.count {
            ranks[index].pmiOut.removeAll(keepingCapacity: true); ranks[index].pmiOutHead = 0
        }
    }

    private func perform(_ actions: [PMIServerAction]) {
        for action in actions {
            switch action {
            case let .send(client, line):
                guard ranks.indices.contains(client), ranks[client].pmiFD >= 0 else { continue }
                ranks[client].pmiOut.append(contentsOf: line.utf8)
                flushPMI(rank: client)
                let pending = ranks[client].pmiOut.count - ranks[client].pmiOutHead
                if pending > PMILimits.pendingReplyBytes { events.append(.pmiFlood(index: client, pendingBytes: pending)) }
            case let .abort(client, code):
                events.append(.aborted(index: client, code: code))
            case .finalized:
                break
            case let .fence(puts):
                events.append(.fence(puts: puts))
            }
        }
    }

    /// Collects every rank that has exited (after reading its last PMI lines and output).
    func reap() {
        for index in ranks.indices where ranks[index].status == nil {
            var raw: Int32 = 0
            let r = waitpid(ranks[index].pid, &raw, WNOHANG)
            guard r == ranks[index].pid else { continue }
            let status = POSIX.decode(waitStatus: raw)
            ranks[index].status = status
            // Its last PMI lines (finalize, abort) and output may still be unread.
            servePMI(rank: index)
            ranks[index].stdout.drain()
            ranks[index].stderr.drain()
            events.append(.exited(index: index, status: status))
        }
    }

    /// Signals the process group of every rank (each leads its own): what a rank started
    /// itself (a wrapper script's program, helpers) goes down with it. The group of a rank
    /// already reaped is signalled too while it still has members; its id cannot be given to a
    /// new process while any member lives (the kernel does not reuse a pid still in use as a
    /// group id), so only an empty group's id can have been recycled, by a process that made
    /// itself a group leader since: a case the pid space makes remote, accepted here.
    func signalAll(_ signal: Int32) {
        for rank in ranks where rank.pid > 0 {
            if kill(-rank.pid, signal) != 0 && rank.status == nil { _ = kill(rank.pid, signal) }
        }
    }

    /// Reads what rank `index` wrote last into the sinks, as far as they take it. Returns true
    /// while a sink above its high-water mark still holds the rest back.
    func drainOutput(_ index: Int) -> Bool {
        ranks[index].stdout.drain()
        ranks[index].stderr.drain()
        return (ranks[index].stdout.isOpen && stdoutSink.isAboveHighWater)
            || (ranks[index].stderr.isOpen && stderrSink.isAboveHighWater)
    }

    /// The end of rank `index`'s streams and PMI connection: flushes its partial lines, closes.
    func finish(_ index: Int) {
        ranks[index].stdout.finish()
        ranks[index].stderr.finish()
        if ranks[index].pmiFD >= 0 { _ = close(ranks[index].pmiFD); ranks[index].pmiFD = -1 }
    }
}
