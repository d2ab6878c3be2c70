// The runtime: one instance per process. Owns the PMI client, the node segment, the request
// slab, the matching queues and the progress engine. Entry points in the other files of this
// module take the lock (when the thread level is MPI_THREAD_MULTIPLE), do their work, and
// poll the transports through `progress()`.
import FerryCore
import FerrySys
import FerryPMI
import FerryShm
import FerryTCP
import FerryDatatype
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// The process's MPI runtime.
public final class Runtime: @unchecked Sendable {
    /// The initialized runtime, or nil before `initialize` / after `finalize`.
    @exclusivity(unchecked) nonisolated(unsafe) public static var shared: Runtime? {
        didSet { sharedRef = shared.map { Unmanaged.passUnretained($0) } }
    }
    /// `shared`, borrowed without retain/release on the hot paths of the C ABI.
    @exclusivity(unchecked) nonisolated(unsafe) public private(set) static var sharedRef: Unmanaged<Runtime>?
    @exclusivity(unchecked) nonisolated(unsafe) public static var wasFinalized = false

    public let pmi: PMIClient
    public let tunables: Tunables
    public let worldRank: Int32
    public let worldSize: Int
    public let threadLevel: ThreadLevel
    public let jobID: String
    public let startTime: Double
    /// The node segment: nil for a one-rank job until it connects to another job.
    @exclusivity(unchecked) var node: NodeSegment? { didSet { nodeRef = node.map { Unmanaged.passUnretained($0) } } }
    /// The same segment, borrowed on hot paths without retain/release (`node` keeps it alive).
    @exclusivity(unchecked) var nodeRef: Unmanaged<NodeSegment>?
    /// Which node each rank runs on (Nodes.swift).
    let nodes: NodeMap
    /// The TCP transport to the ranks of other nodes (nil in a one-node job), and the same
    /// borrowed on hot paths.
    @exclusivity(unchecked) var tcp: TCPTransport?
    @exclusivity(unchecked) var tcpRef: Unmanaged<TCPTransport>?
    /// The node segment when it holds every rank of the job (MPI_COMM_WORLD's collectives then
    /// run in its collective area, NodeCollectives.swift), else nil.
    @exclusivity(unchecked) var worldAreaRef: Unmanaged<NodeSegment>?
    /// Zero-copy transfers over TCP in progress (TCPStreams.swift).
    @exclusivity(unchecked) var streamedSends: ContiguousArray<StreamedSend> = []
    @exclusivity(unchecked) var streamedReceives: ContiguousArray<StreamedReceive> = []
    /// Whether either list is non-empty (read by waits without the lock).
    @exclusivity(unchecked) var streamsActive = false
    /// Set in MPI_Finalize: a connection closing is then a peer that finished, not a failure.
    @exclusivity(unchecked) var networkMayClose = false
    /// Whether waits should give the core away (more processes than cores; processes of
    /// other jobs connected later count too).
    @exclusivity(unchecked) var oversubscribed: Bool { didSet { updateFastPathGates() } }
    /// Cores this process may run on.
    let cores: Int
    /// The CPUs this process could use before `ferry run` bound it to one (FERRY_BIND_CPU);
    /// nil when unbound. Jobs it spawns get them back.
    let cpusBeforeBinding: [Int]?
    /// Ports, processes of other jobs, the parent job (Dynamic.swift).
    @exclusivity(unchecked) var dynamic = DynamicState()
    /// Whether public entry points take `lock`: MPI_THREAD_MULTIPLE, or once a background
    /// worker (nonblocking collectives) exists. Only ever switched from false to true, by a
    /// thread that holds no lock.
    @exclusivity(unchecked) var locking: Bool { didSet { updateFastPathGates() } }
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    // Read from FerryABI on every call: stored as `_world`, `_selfComm`, `_worldRef` and read
    // through inlinable getters, because `@exclusivity(unchecked)` only holds inside this module
    // (another module's direct read of the stored property makes a dynamic exclusivity check).
    @usableFromInline @exclusivity(unchecked) var _world: Communicator! {
        didSet { _worldRef = Unmanaged.passUnretained(_world) }
    }
    @usableFromInline @exclusivity(unchecked) var _selfComm: Communicator!
    @usableFromInline @exclusivity(unchecked) var _worldRef: Unmanaged<Communicator>!
    @inlinable public var world: Communicator! { _world }
    @inlinable public var selfComm: Communicator! { _selfComm }
    /// `world`, borrowed without retain/release (the runtime keeps it alive).
    @inlinable public var worldRef: Unmanaged<Communicator>! { _worldRef }

    @exclusivity(unchecked) var requests = RequestTable(capacity: 1024)
    /// Posted receives in posting order (slot indices).
    @exclusivity(unchecked) var posted: ContiguousArray<Int32> = []
    /// Unexpected messages by id, and their arrival order.
    @exclusivity(unchecked) var unexpected: [Int: UnexpectedMessage] = [:]
    @exclusivity(unchecked) var unexpectedOrder: ContiguousArray<Int> = []
    @exclusivity(unchecked) var nextUnexpectedID = 1
    /// Calls made on MPI_COMM_WORLD's shared-memory collective area (NodeCollectives.swift).
    @exclusivity(unchecked) var nodeGeneration: UInt32 = 0
    /// Recycled storage of unexpected eager messages.
    @exclusivity(unchecked) var unexpectedBuffers = BufferPool()
    /// Matched-probe messages (MPI_Mprobe) waiting for their MPI_Mrecv.
    @exclusivity(unchecked) var probedMessages: [Int: UnexpectedMessage] = [:]
    /// Continuation target per sending world rank.
    @exclusivity(unchecked) var inflight: InPlaceArray<Inflight>
    /// Outgoing work per destination world rank, and the destinations that have some.
    @exclusivity(unchecked) var sendQueues: InPlaceArray<SendQueue>
    @exclusivity(unchecked) var busyDestinations: ContiguousArray<Int32> = []
    /// How each peer is reached, and the peer of each node-segment index (Routes.swift).
    @exclusivity(unchecked) var routes = InPlaceArray<Route>(capacity: 16)
    @exclusivity(unchecked) var shmPeers = InPlaceArray<Int32>(capacity: 16)
    /// True while every peer but this process is reached through the node segment at the index
    /// equal to its peer number (every job today): the blocking fast paths then skip the route
    /// lookup. Cleared for good by the first route that differs.
    @exclusivity(unchecked) var routesAreNodeIndices = true { didSet { updateFastPathGates() } }
    /// World ranks reached through TCP (ranks of other nodes), polled by `progress`.
    @exclusivity(unchecked) var tcpPeers: ContiguousArray<Int32> = []
    /// Whether the blocking fast paths (FastPath.swift) are off: one flag each, so that their
    /// gate costs one load. Sends: the lock is in use, or some peer is not reached through
    /// the node segment at its own index; receives also when waits give the core away.
    @exclusivity(unchecked) var fastSendOff = false
    @exclusivity(unchecked) var fastReceiveOff = false
    /// Single copy through process_vm_readv; switched off at the first refusal.
    @exclusivity(unchecked) var singleCopy: Bool
    @exclusivity(unchecked) var bounce: UnsafeMutableRawPointer
    let bounceBytes = 1 << 18
    /// Context-id allocator (bit set of free ids, agreed by collective AND).
    @exclusivity(unchecked) var contextMask: [UInt64]
    /// Attached buffer for buffered sends.
    @exclusivity(unchecked) var bsend = BufferedSendPool()
    /// Windows whose members are on several nodes, by the context of their active messages
    /// (WindowRemote.swift); `rmaActive`: the progress loop runs their service (while such a
    /// window exists or the service has requests to reap).
    @exclusivity(unchecked) var rmaWindows: [UInt32: Window] = [:]
    @exclusivity(unchecked) var rmaActive = false
    /// Active messages waiting in the unexpected queue (the service scans it only then), and
    /// a scan asked for by a window registered after some of its messages came.
    @exclusivity(unchecked) var rmaUnexpected = 0
    @exclusivity(unchecked) var rmaScanNeeded = false
    /// Receives the service posted (an active message's body, a put's or accumulate's data),
    /// with what to do once each completes; sends whose buffer it frees once they complete.
    @exclusivity(unchecked) var rmaIncoming: [(request: RequestID, finish: (Status) -> Void)] = []
    @exclusivity(unchecked) var rmaOutgoing: [(request: RequestID, buffer: UnsafeMutableRawPointer?)] = []
    @exclusivity(unchecked) var rmaOutgoingHead = 0
    /// Background workers alive (nonblocking collectives): waits yield to them instead of
    /// spinning on the lock they need. Atomic (read without the lock).
    let backgroundWorkers: UnsafeMutablePointer<UInt32> = {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
    @exclusivity(unchecked) public var keyvals = KeyvalTable()
    @exclusivity(unchecked) var errorClasses = ErrorClassRegistry()
    /// `MPI_Get_processor_name`: this host's name.
    public let processorName: String
    /// The thread that called MPI_Init (MPI_Is_thread_main).
    private let mainThread = pthread_self()
    public var isMainThread: Bool { pthread_equal(pthread_self(), mainThread) != 0 }

    private init(pmi: PMIClient, threadLevel: ThreadLevel) throws(MPIError) {
        self.pmi = pmi
        tunables = try Tunables.fromEnvironment()
        worldRank = Int32(pmi.rank)
        worldSize = pmi.size
        self.threadLevel = threadLevel
        locking = threadLevel == .multiple
        startTime = monotonicSeconds()
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        singleCopy = tunables.singleCopy != 0
        bounce = .allocate(byteCount: bounceBytes, alignment: 64)
        inflight = InPlaceArray(repeating: .none, count: worldSize)
        // Room for 16 items per destination up front, so that steady traffic never grows a
        // queue (no allocation on the message path once running: bench/pingpong_allocs counts them).
        sendQueues = InPlaceArray(repeating: SendQueue(capacity: 16), count: worldSize)
        posted.reserveCapacity(256)
        unexpectedOrder.reserveCapacity(256)
        unexpected.reserveCapacity(256)
        busyDestinations.reserveCapacity(max(worldSize, 16))
        contextMask = Array(repeating: ~0, count: 64)   // 4096 context ids
        contextMask[0] &= ~0b11                          // 0: world, 1: self
        // The launcher names the node (its proxies, FERRY_NODE_NAME); else this host's name.
        if let name = getenv("FERRY_NODE_NAME"), name.pointee != 0 {
            processorName = String(cString: name)
        } else {
            var host = [CChar](repeating: 0, count: 256)
            gethostname(&host, 255)
            processorName = String(cString: host)
        }
        cores = usableCoreCount()
        var allowed = [Int32](repeating: 0, count: 1024)
        let allowedCount = Int(ferry_allowed_cpus(&allowed, 1024))
        if let b = getenv("FERRY_BIND_CPU"), let cpu = Int32(String(cString: b)), ferry_bind_cpu(cpu) == 0 {
            cpusBeforeBinding = allowed.prefix(allowedCount).map { Int($0) }
        } else {
            cpusBeforeBinding = nil
        }
        // The ranks of this node compete for its cores (known only after start-up: until then, all).
        oversubscribed = tunables.busyPoll == 0 && worldSize > cores
        // After binding (above): the segment's pages are first touched on this rank's CPU.
        let job = try Runtime.startUp(pmi: pmi, tunables: tunables, hostName: processorName)
        jobID = job.jobID
        nodes = job.nodes
        job.segment?.sleepersPossible = oversubscribed
        node = job.segment
        nodeRef = job.segment.map { Unmanaged.passUnretained($0) }
        tcp = job.tcp
        worldAreaRef = nodes.isSingleNode ? nodeRef : nil
        tcpRef = job.tcp.map { Unmanaged.passUnretained($0) }
        if job.machineRanks != worldSize { oversubscribed = tunables.busyPoll == 0 && job.machineRanks > cores }
        if job.machineRanks > nodes.localRanks.count, let cpus = cpusBeforeBinding, !cpus.isEmpty {
            // Nodes that share this machine each placed their ranks from its first CPU on:
            // spread the machine's ranks over its CPUs instead (or leave them free when they
            // outnumber the CPUs), as one launcher would have.
            if job.machineRanks <= cpus.count {
                _ = ferry_bind_cpu(Int32(cpus[job.machineIndex]))
            } else {
                let all = cpus.map { Int32($0) }
                _ = ferry_set_cpus(all, Int32(all.count))
            }
        }
        buildWorldRoutes()
        updateFastPathGates()
        // Oversubscribed ranks sleep on the node's doorbell: TCP arrivals must ring it too.
        if oversubscribed, let tcp, let node { NetworkWaker.start(tcp, node) }
        _ = ferry_allow_ptrace_any()
    }

    /// What start-up agreed with the other ranks.
    struct StartedJob {
        var jobID: String
        var segment: NodeSegment?
        var nodes: NodeMap
        var tcp: TCPTransport?
        /// Ranks of the job on this machine (nodes that are namespaces of one machine share its
        /// cores), and this rank's index among them.
        var machineRanks: Int
        var machineIndex: Int
    }

    /// The job's name, its nodes, the node segment and the network between nodes, agreed with
    /// the other ranks in one PMI round.
    /// The job id is FERRY_JOBID under Ferry's launcher, "<pid>-<random>" for a singleton, and
    /// under a foreign launcher (Hydra, Slurm) its key-value-space name plus a random token that
    /// rank 0 draws, so that segment names cannot be guessed. The first rank of each node
    /// creates that node's segment and puts its name (or why creating it failed) before the
    /// one barrier, so a full /dev/shm fails every rank with the same clear message instead
    /// of a time-out; in a job on several nodes every rank also puts its network address card
    /// there, and connects to the ranks of other nodes after it.
    private static func startUp(pmi: PMIClient, tunables: Tunables, hostName: String) throws(MPIError) -> StartedJob {
        let rank = pmi.rank, size = pmi.size
        let foreign = !pmi.isSingleton && getenv("FERRY_JOBID") == nil
        var jobID: String
        var kvs = ""
        if let j = getenv("FERRY_JOBID"), !pmi.isSingleton {
            jobID = String(cString: j)
        } else if pmi.isSingleton {
            // The same shape as a launched job's "<launcher pid>-<random>": unguessable, and its
            // pid tells a later job whether its segments are stale.
            jobID = "\(getpid())-\(randomHex(16))"
        } else {
            kvs = pmi.kvsName.map { c -> Character in c.isLetter || c.isNumber ? c : "_" }.reduce(into: "") { $0.append($1) }
            jobID = kvs + "-" + randomHex(16)   // rank 0's is the job's; the others learn it below
        }
        guard size > 1 else { return StartedJob(jobID: jobID, segment: nil, nodes: .singleNode(size: 1), tcp: nil, machineRanks: 1, machineIndex: 0) }
        // Node membership: Ferry's one-node launcher starts every rank on its node; its proxies
        // (FERRY_NODE_INDEX) and other launchers say in PMI_process_mapping which ranks share one.
        var nodes = NodeMap.singleNode(size: size)
        if foreign || getenv("FERRY_NODE_INDEX") != nil, let text = pmi.processMapping() {
            nodes = try NodeMap(mapping: text, size: size, rank: rank)
        }
        let local = nodes.localRanks
        let localRank = Int(nodes.localIndex[rank])
        let layout = NodeLayout(localSize: local.count, cellBytes: tunables.shmCellBytes,
                                ringCells: tunables.ringCells(localSize: local.count))
        var segment: NodeSegment? = nil
        var failure: MPIError? = nil
        let shmKey = "ferry-shm-\(nodes.myNode)"
        if local.count > 1 && localRank == 0 {
            // Segment names start with the pid of the process that keeps the job alive on this
            // node (the launcher, or the node's proxy), which tells a later job whether a
            // leftover is stale (SharedSegment.removeOrphans); under a foreign launcher, the job.
            let stem: String
            if let keeper = getenv("FERRY_NODE_KEEPER_PID") { stem = "\(String(cString: keeper))-\(randomHex(16))" }
            else if foreign { stem = kvs + "-" + randomHex(16) }
            else { stem = jobID }
            do { segment = try NodeSegment(jobID: stem, localRank: 0, layout: layout, node: nodes.myNode) } catch { failure = error }
            try? pmi.put(key: shmKey, value: failure == nil ? "ok:" + stem : "fail:" + hexEncode(failure!.detail))
        }
        if rank == 0 && foreign { try? pmi.put(key: "ferry-token", value: String(jobID.dropFirst(kvs.count + 1))) }
        var tcp: TCPTransport? = nil
        if !nodes.isSingleNode && failure == nil {
            do { tcp = try openNetwork(pmi: pmi, nodes: nodes, hostName: hostName, localRank: localRank) } catch { failure = error }
        }
        do { try pmi.barrier() } catch { throw MPIError(.other, "PMI barrier failed during start-up: \(error)") }
        if rank != 0 && foreign {
            guard let token = (try? pmi.get(key: "ferry-token")) ?? nil else {
                throw MPIError(.other, "PMI: rank 0's job token is missing from the key-value space")
            }
            jobID = kvs + "-" + token
        }
        if local.count > 1 && localRank != 0 && failure == nil {
            let v = (try? pmi.get(key: shmKey)) ?? nil
            if let v, v.hasPrefix("fail:") {
                failure = MPIError(.noMem, hexDecode(String(v.dropFirst(5))))
            } else if let v, v.hasPrefix("ok:") {
                do { segment = try NodeSegment(jobID: String(v.dropFirst(3)), localRank: localRank, layout: layout, node: nodes.myNode) } catch { failure = error }
            } else {
                failure = MPIError(.other, "PMI: the node segment's name is missing from the key-value space (\(shmKey))")
            }
        }
        if let failure { throw failure }
        var machine = (ranks: local.count, index: localRank)
        if let tcp { machine = try connectNetwork(tcp, pmi: pmi, nodes: nodes) }
        return StartedJob(jobID: jobID, segment: segment, nodes: nodes, tcp: tcp, machineRanks: machine.ranks,
                          machineIndex: machine.index)
    }

    /// `MPI_Init_thread`: connects to the launcher (or starts as a singleton) and builds
    /// MPI_COMM_WORLD and MPI_COMM_SELF. Returns the granted level (all levels are supported).
    @discardableResult
    public static func initialize(threadLevel: ThreadLevel = .single) throws(MPIError) -> Runtime {
        if shared != nil || wasFinalized {
            throw MPIError(.other, "MPI is already initialized or was finalized")
        }
        let pmi = try PMIClient.connect()
        try LauncherWatch.start(pmiFD: pmi.launcherFD, rank: Int32(pmi.rank))
        let rt = try Runtime(pmi: pmi, threadLevel: threadLevel)
        let worldGroup = Group(worldRanks: (0..<Int32(rt.worldSize)).map { $0 }, myWorldRank: rt.worldRank)
        rt._world = Communicator(contextID: 0, group: worldGroup, name: "MPI_COMM_WORLD", isPredefined: true)
        rt._selfComm = Communicator(contextID: 1, group: Group(worldRanks: [rt.worldRank], myWorldRank: rt.worldRank),
                                   name: "MPI_COMM_SELF", isPredefined: true)
        shared = rt
        try rt.connectToParentIfSpawned()
        return rt
    }

    /// `MPI_Finalize`: deletes MPI_COMM_SELF's attributes, completes outgoing traffic, and
    /// synchronizes with every rank so that no peer still needs this process.
    public func finalize() throws(MPIError) {
        try deleteAllAttributes(selfComm)
        // From here on a peer of another node may finish first and close its connections.
        networkMayClose = true
        try barrier(world)
        // Drain: control cells (finish, clear to send) other ranks may still be waiting for.
        drainOutgoing()
        tcp?.close()
        waitForSpawnedJobs()
        ferry_store_release_u32(LauncherWatch.finalized, 1)
        pmi.finalize()
        Runtime.shared = nil
        Runtime.wasFinalized = true
    }

    /// `MPI_Abort`: asks the launcher to end the job; never returns.
    public func abort(code: Int32, message: String = "") -> Never {
        pmi.abort(code: code, message: message)
        _exit(code == 0 ? 1 : code)
    }

    public var wallTime: Double { monotonicSeconds() - startTime }

    func updateFastPathGates() {
        fastSendOff = locking || !routesAreNodeIndices
        fastReceiveOff = fastSendOff || oversubscribed
    }

    // MARK: locking

    @inline(__always) func lock() { if locking { pthread_mutex_lock(mutex) } }
    @inline(__always) func unlock() { if locking { pthread_mutex_unlock(mutex) } }
    @inline(__always) func withLock<T>(_ body: () throws(MPIError) -> T) throws(MPIError) -> T {
        lock(); defer { unlock() }
        return try body()
    }
}

func hexEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        let d = Array("0123456789abcdef")
        out.append(d[Int(b >> 4)]); out.append(d[Int(b & 15)])
    }
    return out
}

/// The text `hexEncode` made; any other input (it comes from the key-value space, which every
/// rank writes) decodes as far as it is hexadecimal, never trapping.
func hexDecode(_ s: String) -> String {
    var bytes: [UInt8] = []
    var it = s.utf8.makeIterator()
    func nib(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
    while let a = it.next(), let b = it.next(), let hi = nib(a), let lo = nib(b) { bytes.append(hi << 4 | lo) }
    return String(decoding: bytes, as: UTF8.self)
}
