// The launcher's PMI-1 server as a state machine: no I/O. The caller feeds it one received line
// per call, tagged with the index of the connection it came on, and performs the returned
// actions (send a line to a client, note an abort or a finalize). Called by FerryLaunch's job
// supervisor; tested directly, without processes.
//
// Two modes. One node (`init(size:...)`): connection i is rank i, the server holds the whole
// key-value space and releases a barrier once all `size` ranks entered it. Fence mode
// (`init(size:...,rankOfConnection:)`, a proxy of a multi-node job): the server serves only the
// ranks of its host, connection i being global rank `rankOfConnection[i]`; when all of them
// entered the barrier it returns `.fence(puts:)` with the puts made here since the last fence,
// and releases the barrier only on `completeFence(entries:)`, called with the job-wide puts
// the launcher merged from every host. Gets are always answered from the local store.

/// What the caller must do after `PMIServerState.handle(client:line:)`.
public enum PMIServerAction: Sendable, Equatable {
    /// Write `line` (which ends in `\n`) to the connection `client`.
    case send(client: Int, line: String)
    /// The client asked to abort the job with this exit code (`cmd=abort exitcode=N`).
    case abort(client: Int, exitCode: Int32)
    /// The client finalized; its `finalize_ack` is in the `.send` just before this action.
    case finalized(client: Int)
    /// Fence mode: every local client entered the barrier. Send `puts` (made here since the
    /// last fence, each key once, in first-put order) to the launcher, then call
    /// `completeFence(entries:)` with the merged puts of every host.
    case fence(puts: [PMIKeyValue])
}

/// One key and its value in the key-value space.
public struct PMIKeyValue: Sendable, Equatable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) { self.key = key; self.value = value }
}

/// PMI-1 server logic for one job of `size` clients on one node.
/// - Note: Not thread-safe; owned by the launcher's single event-loop thread.
public final class PMIServerState {
    /// Number of ranks (and connections) in the job.
    public let size: Int
    /// Name of the job's single key-value space.
    public let kvsName: String
    /// Application number reported by `get_appnum`, indexed by rank: the index of the rank's
    /// application context in an MPMD launch (`ferry run a : b`), 0 for every rank otherwise.
    public let appnumOfRank: [Int]
    /// Value reported by `get_universe_size`.
    public let universeSize: Int
    /// Value of the reserved key `PMI_process_mapping`.
    public let processMapping: String

    /// Key -> value and the connection that put it.
    private var store: [String: (value: String, owner: Int)] = [:]
    /// Keys and bytes each connection holds in `store` (bounded by PMILimits).
    private var keysOfClient: [Int: Int] = [:]
    private var bytesOfClient: [Int: Int] = [:]
    private var barrierArrivals: Set<Int> = []
    private var initialized: Set<Int> = []
    private var finalized: Set<Int> = []
    /// Ranks named by `initack pmiid=N`, by connection; other connections are their index.
    private var rankOfClient: [Int: Int] = [:]
    /// Fence mode: the global rank of each connection; nil on one node (connection i is rank i).
    public let rankOfConnection: [Int]?
    /// Fence mode: puts since the last fence, in order (a key put again keeps its first place).
    private var pendingPuts: [PMIKeyValue] = []
    private var pendingPutIndex: [String: Int] = [:]
    /// Fence mode: a `.fence` was returned and `completeFence` not called yet.
    private var fenceInFlight = false
    /// Fences completed (fence mode), for tests and diagnostics.
    public private(set) var fencesCompleted = 0

    /// A single-program job: every rank reports `appnum`.
    /// - Parameters:
    ///   - size: ranks in the job; connection `i` is rank `i` unless it says otherwise in `initack`.
    ///   - kvsName: the key-value-space name handed out by `get_my_kvsname`.
    ///   - processMapping: defaults to all ranks on one node, `(vector,(0,1,size))`.
    public convenience init(size: Int, kvsName: String, appnum: Int = 0, universeSize: Int? = nil,
                            processMapping: String? = nil) {
        self.init(size: size, kvsName: kvsName, appnumOfRank: Array(repeating: appnum, count: size),
                  universeSize: universeSize, processMapping: processMapping)
    }

    /// A job of several application contexts (MPMD); parameters as above, and
    /// - Parameter appnumOfRank: the application number of each rank; ranks past its end report 0.
    public init(size: Int, kvsName: String, appnumOfRank: [Int], universeSize: Int? = nil,
                processMapping: String? = nil) {
        self.size = size
        self.kvsName = kvsName
        self.appnumOfRank = appnumOfRank
        self.universeSize = universeSize ?? size
        self.processMapping = processMapping ?? "(vector,(0,1,\(size)))"
        self.rankOfConnection = nil
    }

    /// Fence mode: the server of one host of a multi-node job (see the file header).
    /// - Parameters:
    ///   - size: ranks in the whole job (`set size` in `initack`).
    ///   - appnumOfRank: the application number of each global rank.
    ///   - processMapping: the job's mapping, over every host.
    ///   - rankOfConnection: the global rank of each local connection, in connection order.
    public init(size: Int, kvsName: String, appnumOfRank: [Int], universeSize: Int?, processMapping: String,
                rankOfConnection: [Int]) {
        self.size = size
        self.kvsName = kvsName
        self.appnumOfRank = appnumOfRank
        self.universeSize = universeSize ?? size
        self.processMapping = processMapping
        self.rankOfConnection = rankOfConnection
    }

    /// The connections this server waits for in a barrier.
    private var connections: Int { rankOfConnection?.count ?? size }

    /// The global rank of connection `client`.
    private func rank(ofConnection client: Int) -> Int {
        guard let ranks = rankOfConnection else { return client }
        return ranks.indices.contains(client) ? ranks[client] : -1
    }

    /// Fence mode: stores the job-wide puts of the fence in flight (the launcher's merge of
    /// every host's `.fence` puts) and releases every local client from the barrier.
    /// Returns nothing when no fence is in flight.
    public func completeFence(entries: [PMIKeyValue]) -> [PMIServerAction] {
        guard rankOfConnection != nil, fenceInFlight else { return [] }
        for entry in entries {
            // A key of our own, unchanged, keeps its owner (and its place in the accounting).
            if let old = store[entry.key], old.owner >= 0, old.value == entry.value { continue }
            if let old = store[entry.key], old.owner >= 0 {
                keysOfClient[old.owner, default: 0] -= 1
                bytesOfClient[old.owner, default: 0] -= entry.key.utf8.count + old.value.utf8.count
            }
            store[entry.key] = (entry.value, -1)
        }
        fenceInFlight = false
        fencesCompleted += 1
        let waiters = barrierArrivals.sorted()
        barrierArrivals.removeAll()
        return waiters.map { reply($0, PMIMessage("barrier_out", ["rc": "0"])) }
    }

    /// The application number `get_appnum` reports to `client`: that of the rank it named in
    /// `initack`, else that of the rank with its index.
    public func appnum(client: Int) -> Int {
        let rank = rankOfClient[client] ?? rank(ofConnection: client)
        return appnumOfRank.indices.contains(rank) ? appnumOfRank[rank] : 0
    }

    /// True once `client` has sent `cmd=init` (or `cmd=initack`).
    public func hasInitialized(client: Int) -> Bool { initialized.contains(client) }

    /// True once `client` has sent `cmd=finalize`.
    public func hasFinalized(client: Int) -> Bool { finalized.contains(client) }

    /// Number of clients currently waiting in a barrier.
    public var barrierWaiters: Int { barrierArrivals.count }

    /// Handles one line received from `client` (with or without its `\n`).
    public func handle<Bytes: Collection>(client: Int, line: Bytes) -> [PMIServerAction]
    where Bytes.Element == UInt8 {
        let message: PMIMessage
        do {
            message = try PMIWire.parse(line)
        } catch {
            return [reply(client, PMIMessage("error", ["rc": "-1", "msg": "malformed_line"]))]
        }
        return handle(client: client, message: message)
    }

    /// Handles one line received from `client`.
    public func handle(client: Int, line: String) -> [PMIServerAction] {
        handle(client: client, line: Array(line.utf8))
    }

    /// Handles one parsed message received from `client`.
    public func handle(client: Int, message: PMIMessage) -> [PMIServerAction] {
        switch message.command {
        case "initack":
            guard let id = message.int("pmiid"), (0..<size).contains(id) else {
                return [reply(client, PMIMessage("initack", ["rc": "-1", "msg": "bad_pmiid"]))]
            }
            // Connection i is its rank's own socket: no connection may speak for another rank.
            guard id == rank(ofConnection: client), rankOfClient[client] == nil else {
                return [reply(client, PMIMessage("initack", ["rc": "-1", "msg": "pmiid_not_yours"]))]
            }
            initialized.insert(client)
            rankOfClient[client] = id
            return [
                reply(client, PMIMessage("initack", ["rc": "0"])),
                reply(client, PMIMessage("set", ["size": "\(size)"])),
                reply(client, PMIMessage("set", ["rank": "\(id)"])),
                reply(client, PMIMessage("set", ["debug": "0"])),
            ]
        case "init":
            let ok = message["pmi_version"] == "1"
            if ok { initialized.insert(client) }
            return [reply(client, PMIMessage("response_to_init",
                                             ["pmi_version": "1", "pmi_subversion": "1",
                                              "rc": ok ? "0" : "-1"]))]
        case "get_maxes":
            return [reply(client, PMIMessage("maxes", [
                "kvsname_max": "\(PMILimits.kvsNameMaxBytes)", "keylen_max": "\(PMILimits.keyMaxBytes)",
                "vallen_max": "\(PMILimits.valueMaxBytes)", "rc": "0"]))]
        case "get_my_kvsname":
            return [reply(client, PMIMessage("my_kvsname", ["kvsname": kvsName, "rc": "0"]))]
        case "get_appnum":
            return [reply(client, PMIMessage("appnum", ["appnum": "\(appnum(client: client))", "rc": "0"]))]
        case "get_universe_size":
            return [reply(client, PMIMessage("universe_size", ["size": "\(universeSize)", "rc": "0"]))]
        case "put":
            return [reply(client, put(message, from: client))]
        case "get":
            return [reply(client, get(message))]
        case "barrier_in":
            barrierArrivals.insert(client)
            guard barrierArrivals.count >= connections, !fenceInFlight else { return [] }
            if rankOfConnection != nil {
                fenceInFlight = true
                defer { pendingPuts.removeAll(); pendingPutIndex.removeAll() }
                return [.fence(puts: pendingPuts)]
            }
            let waiters = barrierArrivals.sorted()
            barrierArrivals.removeAll()
            return waiters.map { reply($0, PMIMessage("barrier_out", ["rc": "0"])) }
        case "abort":
            let code = message["exitcode"].flatMap { Int32($0) } ?? 1
            return [.abort(client: client, exitCode: code)]
        case "finalize":
            finalized.insert(client)
            return [reply(client, PMIMessage("finalize_ack", ["rc": "0"])), .finalized(client: client)]
        default:
            // The command is echoed only when short: the reply must stay a valid line.
            let echoed = message.command.utf8.count <= 64 ? message.command : "unknown"
            return [reply(client, PMIMessage("\(echoed)_result", ["rc": "-1", "msg": "unknown_command"]))]
        }
    }

    private func reply(_ client: Int, _ message: PMIMessage) -> PMIServerAction {
        .send(client: client, line: message.line)
    }

    private func put(_ message: PMIMessage, from client: Int) -> PMIMessage {
        func failure(_ why: String) -> PMIMessage { PMIMessage("put_result", ["rc": "-1", "msg": why]) }
        guard message["kvsname"] == kvsName else { return failure("unknown_kvsname") }
        guard let key = message["key"], !key.isEmpty else { return failure("missing_key") }
        guard key.utf8.count <= PMILimits.keyMaxBytes else { return failure("key_too_long") }
        guard let value = message["value"] else { return failure("missing_value") }
        guard value.utf8.count <= PMILimits.valueMaxBytes else { return failure("value_too_long") }
        let bytes = key.utf8.count + value.utf8.count
        var keys = keysOfClient[client, default: 0] + 1, used = bytesOfClient[client, default: 0] + bytes
        if let old = store[key], old.owner == client {
            keys -= 1
            used -= key.utf8.count + old.value.utf8.count
        }
        guard keys <= PMILimits.keysPerRank, used <= PMILimits.bytesPerRank else {
            return failure("key-value space limit reached: a rank may put at most \(PMILimits.keysPerRank) keys and \(PMILimits.bytesPerRank) bytes")
        }
        if let old = store[key], old.owner != client, old.owner >= 0 {
            keysOfClient[old.owner, default: 0] -= 1
            bytesOfClient[old.owner, default: 0] -= key.utf8.count + old.value.utf8.count
        }
        keysOfClient[client] = keys
        bytesOfClient[client] = used
        store[key] = (value, client)
        if rankOfConnection != nil {
            if let at = pendingPutIndex[key] {
                pendingPuts[at].value = value
            } else {
                pendingPutIndex[key] = pendingPuts.count
                pendingPuts.append(PMIKeyValue(key, value))
            }
        }
        return PMIMessage("put_result", ["rc": "0", "msg": "success"])
    }

    private func get(_ message: PMIMessage) -> PMIMessage {
        func failure(_ why: String) -> PMIMessage { PMIMessage("get_result", ["rc": "-1", "msg": why]) }
        guard message["kvsname"] == kvsName else { return failure("unknown_kvsname") }
        guard let key = message["key"] else { return failure("missing_key") }
        let value = key == "PMI_process_mapping" ? processMapping : store[key]?.value
        guard let value else { return failure("key_not_found") }
        return PMIMessage("get_result", ["rc": "0", "msg": "success", "value": value])
    }
}
