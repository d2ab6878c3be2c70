// Dynamic processes (MPI-3.1 chapter 10): ports, MPI_Comm_accept / MPI_Comm_connect,
// MPI_Comm_join, the name service and MPI_Comm_spawn(_multiple).
//
// Joining two jobs: each side ANDs its free context ids; the two roots meet on the port (a
// Unix socket in the abstract namespace, listened on by MPI_Open_port) and exchange who their
// members are (job id, rank, pid) and their masks; the accepting root picks the context id and
// creates a link segment holding a ring in each direction for every (acceptor, connector)
// pair; each root broadcasts the outcome to its side, every member maps the segment and adds
// the remote processes as peers of its node segment (peer indices after the job's own ranks).
// From then on their messages use the ordinary shared-memory protocol. Processes that already
// know each other (same job, or linked before) keep the rings they have.
//
// Spawning: the root opens a port and starts `ferry run` for the children with
// FERRY_PARENT_PORT set; the children's MPI_Init connects to it (MPI_Comm_get_parent) while the
// parents accept.
import FerryCore
import FerryShm
import FerryDatatype
import FerryCollectives
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// Per-process state of the dynamic process model.
struct DynamicState {
    /// Open ports: name → listening socket.
    var ports: [String: Int32] = [:]
    var portCount = 0
    var linkCount = 0
    /// Identity ("<job id>/<rank>") of each linked peer, at peer index - worldSize.
    var linkedIdentities: [String] = []
    /// Peer index of every linked process by identity.
    var known: [String: Int32] = [:]
    /// The intercommunicator to the parent job (MPI_Comm_get_parent), if spawned.
    var parent: Communicator?
    /// Launchers started by MPI_Comm_spawn that have not been reaped yet.
    var launchers: [pid_t] = []
}

/// One application of MPI_Comm_spawn_multiple (MPI_Comm_spawn has one).
public struct SpawnApplication: Sendable {
    public var command: String
    public var arguments: [String]
    public var maxprocs: Int
    /// Info keys the launcher honours: "wdir", "path", "env" (NAME=value lines); "host",
    /// "arch", "file" and "soft" are accepted and ignored (one node, all processes started).
    public var info: [(String, String)]
    public init(command: String, arguments: [String], maxprocs: Int, info: [(String, String)] = []) {
        self.command = command; self.arguments = arguments; self.maxprocs = maxprocs; self.info = info
    }
}

private let portPrefix = "ferry-port:"

extension Runtime {
    // MARK: process identities

    /// "<job id>/<rank in its job>" of a peer: unique among all processes of all jobs.
    func identity(ofPeer p: Int32) -> String {
        Int(p) < worldSize ? "\(jobID)/\(p)" : dynamic.linkedIdentities[Int(p) - worldSize]
    }

    /// The peer index of a process given by identity, if this process can reach it.
    func peer(ofIdentity id: String) -> Int32? {
        if let slash = id.lastIndex(of: "/"), id[..<slash] == jobID[...] {
            return Int32(id[id.index(after: slash)...])
        }
        return dynamic.known[id]
    }

    /// Whether process `a` sorts before process `b` (job id, then rank): the same answer in
    /// every process.
    func identityOrder(_ a: Int32, before b: Int32) -> Bool {
        func split(_ id: String) -> (Substring, Int) {
            let slash = id.lastIndex(of: "/")!
            return (id[..<slash], Int(id[id.index(after: slash)...]) ?? 0)
        }
        let (ja, ra) = split(identity(ofPeer: a)), (jb, rb) = split(identity(ofPeer: b))
        return ja != jb ? ja < jb : ra < rb
    }

    /// A group's members as identities, one per line, after their count.
    func encodeIdentities(_ members: [Int32]) -> [UInt8] {
        Array(([String(members.count)] + members.map { identity(ofPeer: $0) }).joined(separator: "\n").utf8)
    }

    /// The peer numbers of the members in `encodeIdentities`'s record.
    func decodeIdentities(_ bytes: [UInt8]) throws(MPIError) -> [Int32] {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        guard let n = lines.first.flatMap({ Int($0) }), lines.count == n + 1 else {
            throw MPIError(.intern, "malformed group record")
        }
        var out: [Int32] = []
        for id in lines.dropFirst() {
            guard let p = peer(ofIdentity: id) else {
                throw MPIError(.comm, "process \(id) is not connected to this process (MPI_Comm_connect/accept or spawn first)")
            }
            out.append(p)
        }
        return out
    }

    /// Swaps byte strings of any length with `peer` on `comm` (lengths first).
    func exchangeBytes(_ mine: [UInt8], with peer: Int32, tag: Int32, comm: Communicator, context: UInt32) throws(MPIError) -> [UInt8] {
        let byte = Datatype.predefined(.byte)
        var length = Int64(mine.count), theirLength: Int64 = 0
        let rr = irecvInternal(&theirLength, count: 8, datatype: byte, source: peer, tag: tag, comm: comm, context: context)
        let sr = isendInternal(&length, count: 8, datatype: byte, dest: peer, tag: tag, comm: comm, context: context)
        var rc = waitInternal(sr).error
        if rc == 0 { rc = waitInternal(rr).error }
        if rc != 0 { throw MPIError(code: rc, "exchange with the remote leader") }
        var theirs = [UInt8](repeating: 0, count: Int(theirLength))
        var out = mine
        let rr2 = theirs.withUnsafeMutableBytes { b in
            irecvInternal(b.baseAddress, count: b.count, datatype: byte, source: peer, tag: tag, comm: comm, context: context) }
        let sr2 = out.withUnsafeMutableBytes { b in
            isendInternal(b.baseAddress, count: b.count, datatype: byte, dest: peer, tag: tag, comm: comm, context: context) }
        rc = waitInternal(sr2).error
        let rc2 = waitInternal(rr2).error
        out = []
        if rc != 0 || rc2 != 0 { throw MPIError(code: rc != 0 ? rc : rc2, "exchange with the remote leader") }
        return theirs
    }

    /// `bytes` of `root`, at every member of `comm`.
    func bcastBytes(_ bytes: [UInt8], root: Int32, comm: Communicator) throws(MPIError) -> [UInt8] {
        let t = CommTransport(self, comm)
        var length = Int64(bytes.count)
        var rc = withUnsafeMutableBytes(of: &length) { b in Collectives.bcast(t, buffer: b.baseAddress!, bytes: 8, root: Int(root)) }
        if rc != 0 { throw MPIError(code: rc, "broadcast") }
        var out = comm.rank == root ? bytes : [UInt8](repeating: 0, count: Int(length))
        rc = out.withUnsafeMutableBytes { b in Collectives.bcast(t, buffer: b.baseAddress, bytes: b.count, root: Int(root)) }
        if rc != 0 { throw MPIError(code: rc, "broadcast") }
        return out
    }

    // MARK: ports

    /// `MPI_Open_port`: a listening Unix socket; the name is what MPI_Comm_connect needs.
    public func openPort() throws(MPIError) -> String {
        lock(); dynamic.portCount += 1; let n = dynamic.portCount; unlock()
        let name = portPrefix + "\(getpid())-\(n)-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MPIError(.port, "MPI_Open_port: socket() failed: \(errnoText())") }
        let ok = withAbstractAddress(name) { a, len in bind(fd, a, len) == 0 && listen(fd, 64) == 0 }
        if !ok {
            let e = errnoText(); close(fd)
            throw MPIError(.port, "MPI_Open_port: cannot listen on \(name): \(e)")
        }
        lock(); dynamic.ports[name] = fd; unlock()
        return name
    }

    /// `MPI_Close_port`.
    public func closePort(_ name: String) throws(MPIError) {
        lock(); let fd = dynamic.ports.removeValue(forKey: name); unlock()
        guard let fd else { throw MPIError(.port, "MPI_Close_port: '\(name)' is not a port opened by this process") }
        close(fd)
    }

    // MARK: accept / connect / join

    /// `MPI_Comm_accept`: collective over `comm`; `port` matters at `root` only.
    public func commAccept(port: String, root: Int32, comm: Communicator) throws(MPIError) -> Communicator {
        try join(comm: comm, root: root, accepting: true) { () throws(MPIError) -> Int32 in
            lock(); let listener = dynamic.ports[port]; unlock()
            guard let listener else {
                throw MPIError(.port, "MPI_Comm_accept: '\(port)' is not a port opened by this process (MPI_Open_port)")
            }
            return try acceptConnection(listener, watching: nil)
        }
    }

    /// `MPI_Comm_connect`: collective over `comm`; `port` matters at `root` only.
    public func commConnect(port: String, root: Int32, comm: Communicator) throws(MPIError) -> Communicator {
        try join(comm: comm, root: root, accepting: false) { () throws(MPIError) -> Int32 in
            try dial(port)
        }
    }

    /// `MPI_Comm_join`: the two processes at the ends of socket `fd` exchange port names over
    /// it; the smaller name accepts, the other connects.
    public func commJoin(fd: Int32) throws(MPIError) -> Communicator {
        let mine = try openPort()
        defer { try? closePort(mine) }
        try sendFrame(fd, Array(mine.utf8))
        let theirs = String(decoding: try receiveFrame(fd), as: UTF8.self)
        if theirs == mine { throw MPIError(.arg, "MPI_Comm_join: the socket leads back to this process") }
        return mine < theirs ? try commAccept(port: mine, root: 0, comm: selfComm)
                             : try commConnect(port: theirs, root: 0, comm: selfComm)
    }

    /// `MPI_Comm_disconnect`: completes the outgoing traffic, then frees the communicator.
    public func commDisconnect(_ c: Communicator) throws(MPIError) {
        drainOutgoing()
        try commFree(c)
    }

    /// Pushes out every queued message and control cell (MPI_Comm_disconnect, MPI_Finalize).
    public func drainOutgoing() {
        while true {
            lock(); let idle = busyDestinations.isEmpty; if !idle { _ = progress() }; unlock()
            if idle { break }
            sched_yield()
        }
    }

    /// `MPI_Comm_get_parent`: the intercommunicator to the spawning job, nil if none (or freed).
    public var parentComm: Communicator? {
        guard let p = dynamic.parent, !p.isFreed else { return nil }
        return p
    }

    /// Called by MPI_Init: a process started by MPI_Comm_spawn connects to its parents.
    func connectToParentIfSpawned() throws(MPIError) {
        guard let p = getenv("FERRY_PARENT_PORT") else { return }
        let port = String(cString: p)
        unsetenv("FERRY_PARENT_PORT")
        do {
            dynamic.parent = try commConnect(port: port, root: 0, comm: world)
            dynamic.parent?.name = "MPI_COMM_PARENT"
        } catch {
            Runtime.shared = nil
            throw MPIError(error.errorClass, "could not connect to the parent job: \(error.detail)")
        }
    }

    // MARK: spawn

    /// `MPI_Comm_spawn` / `MPI_Comm_spawn_multiple`: `applications` matter at `root` only.
    /// Starts the children with `ferry run` and accepts their connection.
    public func commSpawn(_ applications: [SpawnApplication], root: Int32, comm: Communicator) throws(MPIError) -> Communicator {
        try join(comm: comm, root: root, accepting: true) { () throws(MPIError) -> Int32 in
            guard !applications.isEmpty else { throw MPIError(.spawn, "MPI_Comm_spawn_multiple: no command") }
            for a in applications where a.maxprocs < 1 {
                throw MPIError(.spawn, "MPI_Comm_spawn: maxprocs is \(a.maxprocs) for '\(a.command)' (at least 1)")
            }
            guard let launcher = launcherPath() else {
                throw MPIError(.spawn, "MPI_Comm_spawn: cannot find the ferry launcher (set FERRY_LAUNCHER to its path, or put ferry in PATH)")
            }
            let port = try openPort()
            defer { try? closePort(port) }
            var argv = [launcher, "run", "-genv", "FERRY_PARENT_PORT", port]
            // This rank is bound to one CPU; its children may use the CPUs it had before.
            if let cpus = cpusBeforeBinding { argv += ["--cpu-set", cpus.map(String.init).joined(separator: ",")] }
            var cwd = [CChar](repeating: 0, count: 4096)
            let here = getcwd(&cwd, cwd.count) != nil ? String(cString: cwd) : "."
            for (k, a) in applications.enumerated() {
                if k > 0 { argv.append(":") }
                argv += ["-n", "\(a.maxprocs)"]
                var command = a.command
                // Every context says where it runs (its "wdir", else the parent's directory):
                // a first context's -wdir would otherwise be every context's default.
                let wdir = a.info.last { $0.0 == "wdir" }?.1 ?? here
                argv += ["-wdir", wdir]
                for (key, value) in a.info {
                    switch key {
                    case "path":
                        if !command.contains("/") {
                            for dir in value.split(separator: ":") where access("\(dir)/\(command)", X_OK) == 0 {
                                command = "\(dir)/\(command)"; break
                            }
                        }
                    case "env":
                        for line in value.split(separator: "\n") {
                            guard let eq = line.firstIndex(of: "=") else { continue }
                            argv += ["-env", String(line[..<eq]), String(line[line.index(after: eq)...])]
                        }
                    default: break
                    }
                }
                // Exactly this many arguments, so that ':' or '-n' among them stay arguments.
                argv += ["--nargs", "\(a.arguments.count)", "--", command]
                argv += a.arguments
            }
            let pid = try startProcess(argv)
            lock(); dynamic.launchers.append(pid); unlock()
            lock(); let listener = dynamic.ports[port]!; unlock()
            return try acceptConnection(listener, watching: pid)
        }
    }

    /// Reaps spawned launchers that have ended (their children are gone).
    func reapLaunchers() {
        lock(); defer { unlock() }
        dynamic.launchers.removeAll { pid in
            var status: Int32 = 0
            return waitpid(pid, &status, WNOHANG) == pid
        }
    }

    /// MPI_Finalize at a spawning root: the job ends with the jobs it spawned (as under mpiexec,
    /// whose output pipes they share), so wait for their launchers, still serving traffic.
    func waitForSpawnedJobs() {
        while true {
            reapLaunchers()
            lock(); let done = dynamic.launchers.isEmpty; if !done { _ = progress() }; unlock()
            if done { return }
            usleep(1000)
        }
    }

    /// The `ferry` executable: FERRY_LAUNCHER (set by `ferry run`), next to this library (build
    /// directory) or in ../bin (install prefix), FERRY_BIN_DIR, then PATH.
    private func launcherPath() -> String? {
        var candidates: [String] = []
        if let e = getenv("FERRY_LAUNCHER") { candidates.append(String(cString: e)) }
        if let image = ferry_image_path() {
            let path = String(cString: image)
            if let slash = path.lastIndex(of: "/") {
                let dir = String(path[..<slash])
                candidates += [dir + "/ferry", dir + "/../bin/ferry"]
            }
        }
        if let d = getenv("FERRY_BIN_DIR") { candidates.append(String(cString: d) + "/ferry") }
        if let p = getenv("PATH") {
            for dir in String(cString: p).split(separator: ":") { candidates.append("\(dir)/ferry") }
        }
        return candidates.first { access($0, X_OK) == 0 }
    }

    /// posix_spawn with stdin from /dev/null and every other descriptor closed.
    private func startProcess(_ argv: [String]) throws(MPIError) -> pid_t {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var pid: pid_t = 0
        let rc = ferry_spawn_detached(&pid, cArgs[0], &cArgs)
        if rc != 0 {
            throw MPIError(.spawn, "MPI_Comm_spawn: cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    // MARK: the join protocol

    /// The collective part of accept, connect and spawn. `root` runs `endpoint` to get the
    /// socket to the other side's root (or the error that every member then returns).
    private func join(comm: Communicator, root: Int32, accepting: Bool,
                      endpoint: () throws(MPIError) -> Int32) throws(MPIError) -> Communicator {
        guard !comm.isFreed else { throw MPIError(.comm, "invalid or freed communicator") }
        if comm.isInter { throw MPIError(.comm, "dynamic process calls need an intracommunicator") }
        guard root >= 0 && Int(root) < comm.size else { throw MPIError(.root, "root \(root) is not a rank of the communicator") }
        reapLaunchers()
        let local = CommTransport(self, comm)
        lock(); var mask = contextMask; unlock()
        let rc = mask.withUnsafeMutableBytes { m in
            Collectives.allreduce(local, send: nil, recv: m.baseAddress!, count: Runtime.maskWords, .predefined(.band, .uint64))
        }
        if rc != 0 { throw MPIError(code: rc, "context id agreement") }
        var outcome: [UInt8] = []
        var created: LinkMapping?
        if comm.rank == root {
            do {
                let fd = try endpoint()
                defer { close(fd) }
                (outcome, created) = try handshake(fd, comm: comm, mask: mask, accepting: accepting)
            } catch {
                outcome = Array("error \(error.errorClass.rawValue) \(error.detail)".utf8)
            }
        }
        outcome = try bcastBytes(outcome, root: root, comm: comm)

        let lines = String(decoding: outcome, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let first = lines.first, first.hasPrefix("error ") {
            let parts = first.split(separator: " ", maxSplits: 2).map(String.init)
            let cls = ErrorClass(rawValue: Int32(parts[1]) ?? 15) ?? .other
            throw MPIError(cls, parts.count > 2 ? parts[2] : "MPI_Comm_accept/connect failed")
        }
        // ok / <context id> / <segment or -> / <acceptors> / <connectors> / remote members...
        guard lines.count >= 5, let id = UInt32(lines[1]), let a = Int(lines[3]), let c = Int(lines[4]),
              lines.count >= 5 + (accepting ? c : a) else {
            throw MPIError(.intern, "malformed connection record")
        }
        let remoteCount = accepting ? c : a
        let remote = lines[5..<(5 + remoteCount)].map { line -> (String, Int32) in
            let f = line.split(separator: " ")
            return (String(f[0]), Int32(f.count > 1 ? f[1] : "0") ?? 0)
        }
        let gpids = try attach(segment: lines[2], created: created, acceptors: a, connectors: c,
                               accepting: accepting, myIndex: Int(comm.rank), remote: remote)
        lock(); contextMask[Int(id) / 64] &= ~(UInt64(1) << UInt64(id % 64)); unlock()
        let localDup = try commDup(comm)
        let nc = Communicator(contextID: id, group: comm.group, remoteGroup: Group(worldRanks: gpids, myWorldRank: worldRank))
        nc.localComm = localDup
        nc.errorHandler = comm.errorHandler
        return nc
    }

    /// Root side of the join: the two roots swap member lists and masks; the acceptor picks the
    /// context id and creates the link segment. Returns the record to broadcast.
    private func handshake(_ fd: Int32, comm: Communicator, mask: [UInt64],
                           accepting: Bool) throws(MPIError) -> ([UInt8], LinkMapping?) {
        let layout = linkLayout
        var members: [String] = []
        lock()
        for g in comm.group.worldRanks {
            let pid = Int(g) == Int(worldRank) ? getpid() : node?.pid(ofPeer: Int(g)) ?? 0
            members.append("\(identity(ofPeer: g)) \(pid)")
        }
        unlock()
        let maskText = mask.map { String($0, radix: 16) }.joined(separator: " ")
        let geometry = "\(layout.cellBytes) \(layout.ringCells)"
        if !accepting {
            let hello = (["ferry-connect 1", geometry, maskText, "\(members.count)"] + members).joined(separator: "\n")
            try sendFrame(fd, Array(hello.utf8))
            let reply = try receiveFrame(fd)
            let text = String(decoding: reply, as: UTF8.self)
            guard text.hasPrefix("ferry-accept 1\n") else { throw MPIError(.port, "the port's owner is not a Ferry process") }
            return (Array(text.dropFirst("ferry-accept 1\n".count).utf8), nil)
        }
        let hello = String(decoding: try receiveFrame(fd), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func refuse(_ e: MPIError) throws(MPIError) -> Never {
            try? sendFrame(fd, Array("ferry-accept 1\nerror \(e.errorClass.rawValue) \(e.detail)".utf8))
            throw e
        }
        guard hello.count >= 4, hello[0] == "ferry-connect 1", let c = Int(hello[3]), hello.count >= 4 + c else {
            try refuse(MPIError(.port, "malformed connection request on the port"))
        }
        guard hello[1] == geometry else {
            try refuse(MPIError(.other, "the two jobs use different shared-memory cells (\(hello[1]) vs \(geometry) bytes/cells: FERRY_SHM_CELL_BYTES, FERRY_SHM_RING_CELLS)"))
        }
        let theirs = hello[2].split(separator: " ").map { UInt64($0, radix: 16) ?? 0 }
        var chosen: UInt32? = nil
        for k in 0..<Runtime.maskWords {
            let w = mask[k] & (k < theirs.count ? theirs[k] : 0)
            if w != 0 { chosen = UInt32(k * 64 + w.trailingZeroBitCount); break }
        }
        guard let chosen else { try refuse(MPIError(.other, "out of communicator context ids")) }
        let remote = Array(hello[4..<(4 + c)])
        // A segment only if some pair of processes has no rings yet.
        lock()
        let allKnown = remote.allSatisfy { line in peer(ofIdentity: String(line.split(separator: " ")[0])) != nil }
        dynamic.linkCount += 1
        let segmentName = allKnown ? "-" : "/ferry-\(jobID)-link\(getpid())-\(dynamic.linkCount)"
        unlock()
        var mapping: LinkMapping? = nil
        if !allKnown {
            do { mapping = try LinkMapping(name: segmentName, acceptors: comm.size, connectors: c, layout: layout, create: true) }
            catch { try refuse(error) }
        }
        let record = (["ok", "\(chosen)", segmentName, "\(comm.size)", "\(c)"] + members).joined(separator: "\n")
        do { try sendFrame(fd, Array(("ferry-accept 1\n" + record).utf8)) } catch { mapping?.discard(); throw error }
        let mine = (["ok", "\(chosen)", segmentName, "\(comm.size)", "\(c)"] + remote).joined(separator: "\n")
        return (Array(mine.utf8), mapping)
    }

    /// Maps the link segment (if any) and turns the remote members into peers. Returns their
    /// peer indices in remote rank order.
    private func attach(segment: String, created: LinkMapping?, acceptors a: Int, connectors c: Int,
                        accepting: Bool, myIndex: Int, remote: [(String, Int32)]) throws(MPIError) -> [Int32] {
        var mapping = created
        if mapping == nil && segment != "-" {
            mapping = try LinkMapping(name: segment, acceptors: a, connectors: c, layout: linkLayout, create: false)
        }
        lock(); defer { unlock() }
        if node == nil {
            node = try NodeSegment(jobID: jobID, localRank: 0, layout: linkLayout, standalone: true)
            node!.sleepersPossible = oversubscribed
        }
        let node = self.node!
        var gpids: [Int32] = []
        for (j, (id, pid)) in remote.enumerated() {
            if let known = peer(ofIdentity: id) { gpids.append(known); continue }
            guard let m = mapping else { throw MPIError(.intern, "no rings towards \(id)") }
            let out = accepting ? m.ring(acceptor: myIndex, toConnector: j) : m.ring(connector: myIndex, toAcceptor: j)
            let inc = accepting ? m.ring(connector: j, toAcceptor: myIndex) : m.ring(acceptor: j, toConnector: myIndex)
            let p = Int32(node.addPeer(outgoing: out, incoming: inc, pid: pid, ringCells: linkLayout.ringCells))
            precondition(Int(p) == worldSize + dynamic.linkedIdentities.count, "peer numbering")
            dynamic.linkedIdentities.append(id)
            dynamic.known[id] = p
            inflight.append(.none)
            sendQueues.append(SendQueue())
            gpids.append(p)
        }
        if let m = mapping {
            m.mapped(users: a + c)
            node.retain(m)
        }
        if tunables.busyPoll == 0 && node.peerCount > cores { oversubscribed = true; node.sleepersPossible = true }
        return gpids
    }

    /// Ring geometry of this process's rings (link segments and a lone rank's own segment).
    private var linkLayout: NodeLayout {
        NodeLayout(localSize: 1, cellBytes: tunables.shmCellBytes, ringCells: tunables.linkRingCells)
    }

    // MARK: sockets

    /// Waits for a connection on `listener`, keeping this process's traffic moving. With
    /// `watching`, fails if that child process (a spawned launcher) ends first.
    private func acceptConnection(_ listener: Int32, watching: pid_t?) throws(MPIError) -> Int32 {
        while true {
            try waitReady(listener, events: Int16(POLLIN))
            let fd = accept(listener, nil, nil)
            if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC); return fd }
            if errno == EINTR || errno == EAGAIN { continue }
            throw MPIError(.port, "accept on the port failed: \(errnoText())")
        }
        func waitReady(_ fd: Int32, events: Int16) throws(MPIError) {
            while true {
                var p = pollfd(fd: fd, events: events, revents: 0)
                if poll(&p, 1, 1) > 0 { return }
                lock(); _ = progress(); unlock()
                if let child = watching {
                    var status: Int32 = 0
                    if waitpid(child, &status, WNOHANG) == child {
                        lock(); dynamic.launchers.removeAll { $0 == child }; unlock()
                        let exited = status & 0x7f == 0
                        throw MPIError(.spawn, "the spawned processes ended before connecting to their parents (launcher \(exited ? "exit status \((status >> 8) & 0xff)" : "killed by signal \(status & 0x7f)"))")
                    }
                }
            }
        }
    }

    /// Connects to a port opened by some process of this node.
    private func dial(_ port: String) throws(MPIError) -> Int32 {
        guard port.hasPrefix(portPrefix) else {
            throw MPIError(.port, "'\(port)' is not a Ferry port name (MPI_Open_port gives them)")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MPIError(.port, "socket() failed: \(errnoText())") }
        let ok = withAbstractAddress(port) { a, len in connect(fd, a, len) == 0 }
        if !ok {
            let e = errnoText(); close(fd)
            throw MPIError(.port, "cannot connect to port \(port): \(e) (closed, or opened on another node)")
        }
        return fd
    }

    private func sendFrame(_ fd: Int32, _ bytes: [UInt8]) throws(MPIError) {
        var frame = withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { Array($0) }
        frame += bytes
        var sent = 0
        while sent < frame.count {
            let n = frame.withUnsafeBytes { b in send(fd, b.baseAddress! + sent, b.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw MPIError(.port, "the other side of the connection went away: \(errnoText())") }
            sent += n
        }
    }

    private func receiveFrame(_ fd: Int32) throws(MPIError) -> [UInt8] {
        func exactly(_ count: Int) throws(MPIError) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            var got = 0
            while got < count {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 1) == 0 { lock(); _ = progress(); unlock(); continue }
                let n = out.withUnsafeMutableBytes { b in recv(fd, b.baseAddress! + got, count - got, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw MPIError(.port, "the other side of the connection went away") }
                got += n
            }
            return out
        }
        let header = try exactly(4)
        let length = Int(UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24)
        guard length <= 1 << 24 else { throw MPIError(.port, "malformed message on the connection (\(length) bytes)") }
        return try exactly(length)
    }

    private func withAbstractAddress<T>(_ name: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8.prefix(MemoryLayout.size(ofValue: address.sun_path) - 1))
        withUnsafeMutableBytes(of: &address.sun_path) { p in
            p[0] = 0   // abstract namespace: nothing in the file system to clean up
            for (i, b) in bytes.enumerated() { p[i + 1] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + bytes.count)
        return withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    // MARK: name service

    /// `MPI_Publish_name`: a file per service in a directory private to the user, so jobs of
    /// the same user on this node find each other; a record left by a dead process is replaced.
    public func publishName(_ service: String, port: String) throws(MPIError) {
        let path = try servicePath(service)
        if let (pid, _) = readService(path), pid != getpid(), kill(pid, 0) == 0 || errno == EPERM {
            throw MPIError(.service, "MPI_Publish_name: service '\(service)' is already published by process \(pid)")
        }
        let tmp = path + ".\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MPIError(.service, "MPI_Publish_name: cannot write \(tmp): \(errnoText())") }
        let text = Array("\(getpid())\n\(port)".utf8)
        let n = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard n == text.count, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw MPIError(.service, "MPI_Publish_name: cannot write \(path): \(errnoText())")
        }
    }

    /// `MPI_Unpublish_name`.
    public func unpublishName(_ service: String, port: String) throws(MPIError) {
        let path = try servicePath(service)
        guard let (_, published) = readService(path), published == port else {
            throw MPIError(.service, "MPI_Unpublish_name: service '\(service)' is not published with port '\(port)'")
        }
        unlink(path)
    }

    /// `MPI_Lookup_name`.
    public func lookupName(_ service: String) throws(MPIError) -> String {
        let path = try servicePath(service)
        guard let (pid, port) = readService(path), kill(pid, 0) == 0 || errno == EPERM else {
            throw MPIError(.name, "MPI_Lookup_name: no service '\(service)' is published")
        }
        return port
    }

    private func servicePath(_ service: String) throws(MPIError) -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let dir = "\(base)/ferry-names-\(getuid())"
        if mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw MPIError(.service, "cannot create the name-service directory \(dir): \(errnoText())")
        }
        return dir + "/" + service.utf8.map { b in
            let hex = String(b, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    private func readService(_ path: String) -> (pid_t, String)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[..<n], as: UTF8.self)
        guard let nl = text.firstIndex(of: "\n"), let pid = pid_t(text[..<nl]) else { return nil }
        return (pid, String(text[text.index(after: nl)...]))
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }
