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
import FerrySys
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
            // A rank of this job only if there is one (the name came from another process).
            guard let r = Int32(id[id.index(after: slash)...]), r >= 0, Int(r) < worldSize else { return nil }
            return r
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
        // Unguessable: another user cannot take the name first (abstract names are first come).
        let name = portPrefix + "\(getpid())-\(n)-" + randomHex(16)
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
        try join(comm: comm, root: root, accepting: true, function: "MPI_Comm_accept") { () throws(MPIError) -> JoinEndpoint in
            lock(); let listener = dynamic.ports[port]; unlock()
            guard let listener else {
                throw MPIError(.port, "MPI_Comm_accept: '\(port)' is not a port opened by this process (MPI_Open_port)")
            }
            return .listening(listener, port: port, watching: nil)
        }
    }

    /// `MPI_Comm_connect`: collective over `comm`; `port` matters at `root` only.
    public func commConnect(port: String, root: Int32, comm: Communicator) throws(MPIError) -> Communicator {
        try join(comm: comm, root: root, accepting: false, function: "MPI_Comm_connect") { () throws(MPIError) -> JoinEndpoint in
            .dialed(try dial(port))
        }
    }

    /// `MPI_Comm_join`: the two processes at the ends of socket `fd` exchange port names over
    /// it; the smaller name accepts, the other connects.
    public func commJoin(fd: Int32) throws(MPIError) -> Communicator {
        let mine = try openPort()
        defer { try? closePort(mine) }
        try sendFrame(fd, Array(mine.utf8))
        let theirs = String(decoding: try receiveFrame(fd, timeoutSeconds: nil), as: UTF8.self)
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
        try join(comm: comm, root: root, accepting: true, function: "MPI_Comm_spawn") { () throws(MPIError) -> JoinEndpoint in
            guard !applications.isEmpty else { throw MPIError(.spawn, "MPI_Comm_spawn_multiple: no command") }
            for a in applications where a.maxprocs < 1 {
                throw MPIError(.spawn, "MPI_Comm_spawn: maxprocs is \(a.maxprocs) for '\(a.command)' (at least 1)")
            }
            guard let launcher = launcherPath() else {
                throw MPIError(.spawn, "MPI_Comm_spawn: cannot find the ferry launcher (set FERRY_LAUNCHER to its path, or put ferry in PATH)")
            }
            let port = try openPort()
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
            let pid: pid_t
            do throws(MPIError) { pid = try startProcess(argv) } catch { try? closePort(port); throw error }
            lock(); dynamic.launchers.append(pid); unlock()
            lock(); let listener = dynamic.ports[port]!; unlock()
            return .listening(listener, port: port, watching: pid, closeAfter: true)
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

    /// What the root of a join holds before the handshake: a socket it dialled, or a port to
    /// accept on (`watching`: a spawned launcher whose end fails the wait; `closeAfter`: a port
    /// opened for this join only).
    enum JoinEndpoint {
        case dialed(Int32)
        case listening(Int32, port: String, watching: pid_t?, closeAfter: Bool = false)
    }

    /// The collective part of accept, connect and spawn. `root` runs `endpoint` to get the
    /// socket to the other side's root (or the error that every member then returns).
    private func join(comm: Communicator, root: Int32, accepting: Bool, function: String,
                      endpoint: () throws(MPIError) -> JoinEndpoint) throws(MPIError) -> Communicator {
        guard !comm.isFreed else { throw MPIError(.comm, "invalid or freed communicator") }
        if comm.isInter { throw MPIError(.comm, "dynamic process calls need an intracommunicator") }
        // Processes of other jobs are linked through shared memory: every member must share
        // this node (all members see the same placement, so all refuse alike). Spawn refuses
        // at once; accept and connect still meet the other side's root and refuse there, so
        // that the other side gets the error too instead of waiting forever.
        let spansNodes = comm.group.worldRanks.contains { $0 < Int32(worldSize) && Int(nodes.nodeOfRank[Int($0)]) != nodes.myNode }
        let acrossNodes = MPIError(.unsupportedOperation, "\(function) with a communicator whose processes are on several "
                                   + "nodes: this version of Ferry connects jobs whose processes share one node only")
        if spansNodes && function == "MPI_Comm_spawn" { throw acrossNodes }
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
                switch try endpoint() {
                case .dialed(let fd):
                    defer { close(fd) }
                    (outcome, created) = try handshake(connectorOn: fd, comm: comm, mask: mask, spansNodes: spansNodes)
                case let .listening(listener, port, watching, closeAfter):
                    defer { if closeAfter { try? closePort(port) } }
                    let (fd, request) = try acceptRequest(listener, port: port, watching: watching)
                    defer { close(fd) }
                    (outcome, created) = try handshake(acceptorOn: fd, request: request, comm: comm, mask: mask,
                                                       refusing: spansNodes ? acrossNodes : nil)
                }
            } catch {
                outcome = Array("error \(error.errorClass.rawValue) \(error.detail)".utf8)
            }
        }
        outcome = try bcastBytes(outcome, root: root, comm: comm)

        if outcome.starts(with: Array("error ".utf8)) {
            let parts = String(decoding: outcome, as: UTF8.self).split(separator: " ", maxSplits: 2).map(String.init)
            let cls = ErrorClass(rawValue: Int32(parts.count > 1 ? parts[1] : "") ?? 15) ?? .other
            throw MPIError(cls, parts.count > 2 ? parts[2] : "MPI_Comm_accept/connect failed")
        }
        let record: JoinRecord
        do { record = try PortHandshake.parseRecord(outcome) } catch {
            throw MPIError(.intern, "malformed connection record: \(error.reason)")
        }
        let expectedRemote = accepting ? record.connectors : record.acceptors
        guard record.remote.count == expectedRemote, (accepting ? record.acceptors : record.connectors) == comm.size else {
            throw MPIError(.intern, "malformed connection record: side sizes do not match")
        }
        let gpids = try attach(segment: record.segment, created: created, acceptors: record.acceptors,
                               connectors: record.connectors, accepting: accepting, myIndex: Int(comm.rank),
                               remote: record.remote.map { ($0.identity, $0.pid) })
        let id = record.contextID
        lock(); contextMask[Int(id) / 64] &= ~(UInt64(1) << UInt64(id % 64)); unlock()
        let localDup = try commDup(comm)
        let nc = Communicator(contextID: id, group: comm.group, remoteGroup: Group(worldRanks: gpids, myWorldRank: worldRank))
        nc.localComm = localDup
        nc.errorHandler = comm.errorHandler
        return nc
    }

    /// This side's members as the handshake names them.
    func handshakeMembers(_ comm: Communicator) -> [HandshakeMember] {
        lock(); defer { unlock() }
        return comm.group.worldRanks.map { g in
            let r = routes[Int(g)]
            let pid = r.kind == .loopback ? getpid() : r.kind == .shm ? node?.pid(ofPeer: Int(r.index)) ?? 0 : 0
            return HandshakeMember(identity: identity(ofPeer: g), pid: pid)
        }
    }

    private var handshakeGeometry: String { "\(linkLayout.cellBytes) \(linkLayout.ringCells)" }

    /// Connecting root: sends the request, reads the acceptor's answer. Returns the record to
    /// broadcast to this side.
    /// A connecting side on several nodes sends this geometry (well-formed, and impossible as a
    /// real one: a cell holds at least its 64-byte header): the acceptor refuses it, naming why.
    static let severalNodesGeometry = "1 1"

    private func handshake(connectorOn fd: Int32, comm: Communicator, mask: [UInt64],
                           spansNodes: Bool = false) throws(MPIError) -> ([UInt8], LinkMapping?) {
        let request = ConnectRequest(geometry: spansNodes ? Runtime.severalNodesGeometry : handshakeGeometry, mask: mask,
                                     members: handshakeMembers(comm))
        try sendFrame(fd, PortHandshake.encode(request))
        let answer: AcceptAnswer
        do { answer = try PortHandshake.parseAnswer(try receiveFrame(fd, timeoutSeconds: nil)) } catch let e as PortHandshakeError {
            throw MPIError(.port, "malformed answer on the port: \(e.reason)")
        } catch let e as MPIError { throw e } catch { throw MPIError(.port, "\(error)") }
        switch answer {
        case let .refused(cls, text): throw MPIError(ErrorClass(rawValue: cls) ?? .other, text)
        case let .accepted(record): return (PortHandshake.encode(record), nil)
        }
    }

    /// Accepting root: picks the context id, creates the link segment, answers. Returns the
    /// record to broadcast to this side.
    private func handshake(acceptorOn fd: Int32, request: ConnectRequest, comm: Communicator,
                           mask: [UInt64], refusing: MPIError? = nil) throws(MPIError) -> ([UInt8], LinkMapping?) {
        func refuse(_ e: MPIError) throws(MPIError) -> Never {
            try? sendFrame(fd, PortHandshake.encode(AcceptAnswer.refused(errorClass: e.errorClass.rawValue, text: e.detail)))
            throw e
        }
        if let refusing { try refuse(refusing) }
        if request.geometry == Runtime.severalNodesGeometry {
            try refuse(MPIError(.unsupportedOperation, "the connecting processes are on several nodes: this version of "
                                + "Ferry connects jobs whose processes share one node only"))
        }
        let geometry = handshakeGeometry
        guard request.geometry == geometry else {
            try refuse(MPIError(.other, "the two jobs use different shared-memory cells (\(request.geometry) vs \(geometry) bytes/cells: FERRY_SHM_CELL_BYTES, FERRY_SHM_RING_CELLS)"))
        }
        var chosen: UInt32? = nil
        for k in 0..<Runtime.maskWords {
            let w = mask[k] & (k < request.mask.count ? request.mask[k] : 0)
            if w != 0 { chosen = UInt32(k * 64 + w.trailingZeroBitCount); break }
        }
        guard let chosen else { try refuse(MPIError(.other, "out of communicator context ids")) }
        // A segment only if some pair of processes has no rings yet.
        lock()
        let allKnown = request.members.allSatisfy { peer(ofIdentity: $0.identity) != nil }
        unlock()
        let segmentName = allKnown ? "-" : "/ferry-\(jobID)-link-\(randomHex(16))"
        var mapping: LinkMapping? = nil
        if !allKnown {
            do { mapping = try LinkMapping(name: segmentName, acceptors: comm.size, connectors: request.members.count, layout: linkLayout, create: true) }
            catch { try refuse(error) }
        }
        let mine = JoinRecord(contextID: chosen, segment: segmentName, acceptors: comm.size,
                              connectors: request.members.count, remote: handshakeMembers(comm))
        do { try sendFrame(fd, PortHandshake.encode(AcceptAnswer.accepted(mine))) } catch { mapping?.discard(); throw error }
        var theirs = mine
        theirs.remote = request.members
        return (PortHandshake.encode(theirs), mapping)
    }

    /// Maps the link segment (if any) and turns the remote members into peers. Returns their
    /// peer indices in remote rank order.
    func attach(segment: String, created: LinkMapping?, acceptors a: Int, connectors c: Int,
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
            // Peer numbers continue after the world ranks; the node segment numbers its peers
            // after this node's ranks (the same numbers only when the job has one node).
            let index = Int32(node.addPeer(outgoing: out, incoming: inc, pid: pid, ringCells: linkLayout.ringCells))
            let p = Int32(worldSize + dynamic.linkedIdentities.count)
            dynamic.linkedIdentities.append(id)
            dynamic.known[id] = p
            inflight.append(.none)
            sendQueues.append(SendQueue())
            addShmRoute(peer: p, index: index)
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
    var linkLayout: NodeLayout {
        NodeLayout(localSize: 1, cellBytes: tunables.shmCellBytes, ringCells: tunables.linkRingCells)
    }

    // MARK: sockets

    /// Waits for a well-formed connection request from a process of this user on `listener`,
    /// keeping this process's traffic moving. Any other connection (another user, a request
    /// that is malformed or does not arrive within 10 s) is closed and logged on stderr, and
    /// the wait goes on: nobody but the log learns of it. With `watching`, fails if that child
    /// process (a spawned launcher) ends first.
    private func acceptRequest(_ listener: Int32, port: String, watching: pid_t?) throws(MPIError) -> (Int32, ConnectRequest) {
        var refusals = 0
        while true {
            let fd = try acceptConnection(listener, watching: watching)
            var uid: UInt32 = 0, pid: Int32 = 0
            let why: String
            if ferry_peer_credentials(fd, &uid, &pid) != 0 {
                why = "its credentials cannot be read: \(errnoText())"
            } else if uid != geteuid() {
                why = "it belongs to uid \(uid), not to this job's user (uid \(geteuid()))"
            } else {
                do {
                    let request = try PortHandshake.parseRequest(try receiveFrame(fd, timeoutSeconds: 10))
                    return (fd, request)
                } catch let e as PortHandshakeError {
                    why = "malformed request (\(e.reason))"
                } catch let e as MPIError {
                    why = e.detail
                } catch {
                    why = "\(error)"
                }
            }
            close(fd)
            refusals += 1
            if refusals <= 8 {
                let more = refusals == 8 ? " (further refusals on this port are not logged)" : ""
                logLine("ferry: MPI_Comm_accept on \(port): refused a connection from pid \(pid): \(why)\(more)")
            }
        }
    }

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
        // Abstract socket names are open to every local user: talk only to a listener of ours.
        var uid: UInt32 = 0, pid: Int32 = 0
        guard ferry_peer_credentials(fd, &uid, &pid) == 0, uid == geteuid() else {
            close(fd)
            let e = MPIError(.port, "MPI_Comm_connect: port \(port) is held by process \(pid) of uid \(uid), not by this user (uid \(geteuid())): refused")
            logLine("ferry: \(e.detail)")
            throw e
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

    /// One length-prefixed frame from `fd`, keeping this process's traffic moving while it
    /// waits; with `timeoutSeconds`, fails if the whole frame has not arrived by then.
    private func receiveFrame(_ fd: Int32, timeoutSeconds: Double?) throws(MPIError) -> [UInt8] {
        let deadline = timeoutSeconds.map { monotonicSeconds() + $0 }
        func exactly(_ count: Int) throws(MPIError) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            var got = 0
            while got < count {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 1) == 0 {
                    if let deadline, monotonicSeconds() > deadline {
                        throw MPIError(.port, "no complete request within \(Int(timeoutSeconds ?? 0)) s")
                    }
                    lock(); _ = progress(); unlock(); continue
                }
                let n = out.withUnsafeMutableBytes { b in recv(fd, b.baseAddress! + got, count - got, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw MPIError(.port, "the other side of the connection went away") }
                got += n
            }
            return out
        }
        let header = try exactly(4)
        let length = Int(UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24)
        guard length <= PortHandshake.maxFrameBytes else {
            throw MPIError(.port, "malformed message on the connection (\(length) bytes announced)")
        }
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
        let dir = try NameDirectory(for: "MPI_Publish_name")
        defer { dir.close() }
        let file = NameDirectory.fileName(service)
        if let (pid, _) = dir.read(file), pid != getpid(), kill(pid, 0) == 0 || errno == EPERM {
            throw MPIError(.service, "MPI_Publish_name: service '\(service)' is already published by process \(pid)")
        }
        try dir.replace(file, with: "\(getpid())\n\(port)")
    }

    /// `MPI_Unpublish_name`.
    public func unpublishName(_ service: String, port: String) throws(MPIError) {
        let dir = try NameDirectory(for: "MPI_Unpublish_name")
        defer { dir.close() }
        let file = NameDirectory.fileName(service)
        guard let (_, published) = dir.read(file), published == port else {
            throw MPIError(.service, "MPI_Unpublish_name: service '\(service)' is not published with port '\(port)'")
        }
        _ = unlinkat(dir.fd, file, 0)
    }

    /// `MPI_Lookup_name`.
    public func lookupName(_ service: String) throws(MPIError) -> String {
        let dir = try NameDirectory(for: "MPI_Lookup_name")
        defer { dir.close() }
        guard let (pid, port) = dir.read(NameDirectory.fileName(service)), kill(pid, 0) == 0 || errno == EPERM else {
            throw MPIError(.name, "MPI_Lookup_name: no service '\(service)' is published")
        }
        return port
    }
}

/// The name service's directory, `$TMPDIR/ferry-names-<uid>` (or under /tmp), opened once per
/// call. Only a directory this user owns, of mode 0700, is used: one made by anybody else
/// could redirect lookups to their ports or plant links. Every file in it is opened relative
/// to the directory's descriptor, never following a symbolic link, and written by exclusive
/// creation of a fresh name followed by a rename.
struct NameDirectory {
    let fd: Int32
    let path: String

    init(for function: String) throws(MPIError) {
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        path = "\(base)/ferry-names-\(geteuid())"
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw MPIError(.service, "\(function): cannot create the name-service directory \(path): \(errnoText())")
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw MPIError(.service, "\(function): cannot open the name-service directory \(path): \(errnoText()) (it must be a directory, not a link)")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_uid == geteuid(), st.st_mode & 0o7777 == 0o700 else {
            let owner = st.st_uid, mode = String(st.st_mode & 0o7777, radix: 8)
            Glibc.close(fd)
            let e = MPIError(.service, "\(function): refusing the name-service directory \(path): it belongs to uid \(owner) with mode \(mode), but must belong to uid \(geteuid()) with mode 700 (remove it, or set TMPDIR elsewhere)")
            // Said on stderr too: under MPI_ERRORS_RETURN the caller sees only the class.
            logLine("ferry: \(e.detail)")
            throw e
        }
        self.fd = fd
    }

    func close() { Glibc.close(fd) }

    /// The file of a service: its name in hexadecimal (any bytes, no path separators).
    static func fileName(_ service: String) -> String {
        service.utf8.map { b in
            let hex = String(b, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    /// The publisher's pid and port of a service, nil when none (or not a regular file).
    func read(_ file: String) -> (pid_t, String)? {
        let f = openat(fd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard f >= 0 else { return nil }
        defer { Glibc.close(f) }
        var st = stat()
        guard fstat(f, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(f, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[..<n], as: UTF8.self)
        guard let nl = text.firstIndex(of: "\n"), let pid = pid_t(text[..<nl]), pid > 0 else { return nil }
        return (pid, String(text[text.index(after: nl)...]))
    }

    /// Writes `text` as `file`: exclusive creation of a fresh name, then an atomic rename.
    func replace(_ file: String, with text: String) throws(MPIError) {
        let tmp = "\(file).\(getpid()).\(randomHex(12))"
        let f = openat(fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard f >= 0 else { throw MPIError(.service, "MPI_Publish_name: cannot create \(path)/\(tmp): \(errnoText())") }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { write(f, $0.baseAddress, $0.count) }
        Glibc.close(f)
        guard n == bytes.count, renameat(fd, tmp, fd, file) == 0 else {
            let e = errnoText()
            _ = unlinkat(fd, tmp, 0)
            throw MPIError(.service, "MPI_Publish_name: cannot write \(path)/\(file): \(e)")
        }
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

/// One line on stderr, written at once (no buffering shared with the program's own output).
func logLine(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress! + done, $0.count - done) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        done += n
    }
}
