// The launcher's PMI-1 server as a state machine: no I/O. The caller feeds it one received line
// per call, tagged with the index of the connection it came on, and performs the returned
// actions (send a line to a client, note an abort or a finalize). Called by FerryLaunch's job
// supervisor; tested directly, without processes.

/// What the caller must do after `PMIServerState.handle(client:line:)`.
public enum PMIServerAction: Sendable, Equatable {
    /// Write `line` (which ends in `\n`) to the connection `client`.
    case send(client: Int, line: String)
    /// The client asked to abort the job with this exit code (`cmd=abort exitcode=N`).
    case abort(client: Int, exitCode: Int32)
    /// The client finalized; its `finalize_ack` is in the `.send` just before this action.
    case finalized(client: Int)
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
    }

    /// The application number `get_appnum` reports to `client`: that of the rank it named in
    /// `initack`, else that of the rank with its index.
    public func appnum(client: Int) -> Int {
        let rank = rankOfClient[client] ?? client
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
            // Connection i is rank i's own socket: no connection may speak for another rank.
            guard id == client, rankOfClient[client] == nil else {
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
            guard barrierArrivals.count >= size else { return [] }
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
        if let old = store[key], old.owner != client {
            keysOfClient[old.owner, default: 0] -= 1
            bytesOfClient[old.owner, default: 0] -= key.utf8.count + old.value.utf8.count
        }
        keysOfClient[client] = keys
        bytesOfClient[client] = used
        store[key] = (value, client)
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
