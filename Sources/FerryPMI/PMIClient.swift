// The rank side of PMI-1: how a Ferry process learns its rank, size and job, and exchanges
// business cards with its peers through the launcher's key-value space. Works under Ferry's own
// launcher (`PMI_FD`), MPICH Hydra (`PMI_FD` or `PMI_PORT`+`PMI_ID`), Slurm (`PMI_FD`), and
// with no launcher at all (a singleton with an in-memory key-value space).
// Called by FerryRuntime during MPI_Init / MPI_Finalize / MPI_Abort.
#if canImport(Glibc)
import Glibc
#endif
import FerryCore
import Synchronization

/// A connection to the job's PMI-1 server (or a singleton stand-in).
/// - Note: Thread-safe: every request/reply exchange holds one lock, so calls from several
///   threads are serialized. `abort(code:message:)` deliberately does not take the lock.
public final class PMIClient: Sendable {
    /// This process's rank in the job (`MPI_COMM_WORLD` rank).
    public let rank: Int
    /// Number of ranks in the job.
    public let size: Int
    /// Application number (0 unless started as part of an MPMD job).
    public let appnum: Int
    /// Universe size reported by the server (at least `size`).
    public let universeSize: Int
    /// Name of the job's key-value space.
    public let kvsName: String
    /// True when no launcher was found: rank 0 of 1, with a local in-memory key-value space.
    public let isSingleton: Bool
    /// Longest key the server accepts, in bytes.
    public let keyMaxBytes: Int
    /// Longest value the server accepts, in bytes (before escaping).
    public let valueMaxBytes: Int

    private struct State {
        /// The server connection; nil for a singleton or after `finalize()`.
        var channel: PMIChannel?
        /// The singleton's key-value space.
        var localStore: [String: String] = [:]
        var finalized = false
    }

    private let state: Mutex<State>
    /// The raw descriptor, read without the lock by `abort` (-1 for a singleton).
    private let abortFD: Int32
    /// The socket to the launcher (-1 for a singleton), for watching it close: only poll it,
    /// never read or write it outside this class.
    public var launcherFD: Int32 { abortFD }

    private init(rank: Int, size: Int, appnum: Int, universeSize: Int, kvsName: String,
                 keyMaxBytes: Int, valueMaxBytes: Int, channel: PMIChannel?) {
        self.rank = rank
        self.size = size
        self.appnum = appnum
        self.universeSize = max(universeSize, size)
        self.kvsName = kvsName
        self.isSingleton = channel == nil
        self.keyMaxBytes = keyMaxBytes
        self.valueMaxBytes = valueMaxBytes
        self.abortFD = channel?.fd ?? -1
        self.state = Mutex(State(channel: channel))
    }

    /// Connects to the PMI server named by the environment and performs the PMI-1 start-up
    /// exchange (`init`, `get_maxes`, `get_my_kvsname`, `get_appnum`, `get_universe_size`).
    ///
    /// Uses `PMI_FD` (with `PMI_RANK`, `PMI_SIZE`) if set, else `PMI_PORT=host:port` (with
    /// `PMI_ID`, and the `initack` handshake that tells us rank and size), else returns a singleton.
    /// - Throws: `MPIError` when the variables are inconsistent or the server misbehaves.
    public static func connect() throws(MPIError) -> PMIClient {
        try connect { name in getenv(name).map { String(cString: $0) } }
    }

    /// `connect()` with an injectable environment (for tests).
    static func connect(environment: (String) -> String?) throws(MPIError) -> PMIClient {
        if let fdText = environment("PMI_FD") {
            guard let fd = Int32(fdText), fd >= 0 else { throw MPIError(.other, "PMI_FD='\(fdText)' is not a descriptor") }
            guard let rank = environment("PMI_RANK").flatMap({ Int($0) }),
                  let size = environment("PMI_SIZE").flatMap({ Int($0) }), size > 0, (0..<size).contains(rank) else {
                throw MPIError(.other, "PMI_FD is set but PMI_RANK/PMI_SIZE are missing or invalid")
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            return try handshake(PMIChannel(fd: fd), rank: rank, size: size)
        }
        if let port = environment("PMI_PORT") {
            guard let id = environment("PMI_ID").flatMap({ Int($0) }) else {
                throw MPIError(.other, "PMI_PORT is set but PMI_ID is missing or invalid")
            }
            var channel = PMIChannel(fd: try PMISocket.connect(port))
            do throws(MPIError) {
                let ack = try channel.exchange(PMIMessage("initack", ["pmiid": "\(id)"]), expecting: "initack")
                guard ack["rc"] == nil || ack["rc"] == "0" else {
                    throw MPIError(.other, "the PMI server refused PMI_ID=\(id): \(ack["msg"] ?? "no reason given")")
                }
                var rank: Int?, size: Int?
                while rank == nil || size == nil {
                    let set = try channel.expect("set")
                    if let v = set.int("size") { size = v }
                    if let v = set.int("rank") { rank = v }
                }
                _ = try channel.expect("set")  // debug=N: always sent last by Hydra; value unused
                guard let rank, let size, size > 0, (0..<size).contains(rank) else {
                    throw MPIError(.intern, "PMI initack gave an invalid rank or size")
                }
                return try handshake(channel, rank: rank, size: size)
            } catch {
                channel.close()
                throw error
            }
        }
        return PMIClient(rank: 0, size: 1, appnum: 0, universeSize: 1, kvsName: "singleton_kvs",
                         keyMaxBytes: PMILimits.keyMaxBytes, valueMaxBytes: PMILimits.valueMaxBytes,
                         channel: nil)
    }

    private static func handshake(_ channel: PMIChannel, rank: Int, size: Int) throws(MPIError) -> PMIClient {
        var channel = channel
        func checked(_ reply: PMIMessage) throws(MPIError) -> PMIMessage {
            guard reply["rc"] == nil || reply["rc"] == "0" else {
                throw MPIError(.other, "PMI server refused: \(reply)")
            }
            return reply
        }
        _ = try checked(channel.exchange(
            PMIMessage("init", ["pmi_version": "1", "pmi_subversion": "1"]), expecting: "response_to_init"))
        let maxes = try checked(channel.exchange(PMIMessage("get_maxes"), expecting: "maxes"))
        let kvs = try checked(channel.exchange(PMIMessage("get_my_kvsname"), expecting: "my_kvsname"))
        guard let kvsName = kvs["kvsname"], !kvsName.isEmpty else {
            throw MPIError(.intern, "PMI server gave no kvsname")
        }
        let appnum = try checked(channel.exchange(PMIMessage("get_appnum"), expecting: "appnum")).int("appnum") ?? 0
        let universe = try checked(channel.exchange(PMIMessage("get_universe_size"),
                                                    expecting: "universe_size")).int("size") ?? size
        return PMIClient(rank: rank, size: size, appnum: appnum, universeSize: universe, kvsName: kvsName,
                         keyMaxBytes: min(maxes.int("keylen_max") ?? PMILimits.keyMaxBytes, PMILimits.keyMaxBytes),
                         valueMaxBytes: min(maxes.int("vallen_max") ?? PMILimits.valueMaxBytes, PMILimits.valueMaxBytes),
                         channel: channel)
    }

    /// Publishes `value` under `key` in the job's key-value space. Visible to other ranks after
    /// the next `barrier()`.
    /// - Throws: `MPIError` (`.arg`) for an empty or over-long key or value, or on server failure.
    public func put(key: String, value: String) throws(MPIError) {
        guard !key.isEmpty, key.utf8.count <= keyMaxBytes else {
            throw MPIError(.arg, "PMI key '\(key)' is empty or longer than \(keyMaxBytes) bytes")
        }
        guard value.utf8.count <= valueMaxBytes else {
            throw MPIError(.arg, "PMI value for '\(key)' is longer than \(valueMaxBytes) bytes")
        }
        try state.withLock { (s: inout State) throws(MPIError) in
            guard !s.finalized else { throw MPIError(.other, "PMI put after finalize") }
            guard var channel = s.channel else {
                s.localStore[key] = value
                return
            }
            defer { s.channel = channel }
            let reply = try channel.exchange(
                PMIMessage("put", ["kvsname": kvsName, "key": key, "value": value]), expecting: "put_result")
            guard reply["rc"] == "0" else { throw MPIError(.other, "PMI put '\(key)' failed: \(reply)") }
        }
    }

    /// Reads `key` from the job's key-value space; nil when no rank has put it.
    /// - Throws: `MPIError` on I/O or protocol failure (not for a missing key).
    public func get(key: String) throws(MPIError) -> String? {
        try state.withLock { (s: inout State) throws(MPIError) -> String? in
            guard !s.finalized else { throw MPIError(.other, "PMI get after finalize") }
            guard var channel = s.channel else {
                return key == "PMI_process_mapping" ? "(vector,(0,1,1))" : s.localStore[key]
            }
            defer { s.channel = channel }
            let reply = try channel.exchange(PMIMessage("get", ["kvsname": kvsName, "key": key]),
                                             expecting: "get_result")
            guard reply["rc"] == "0" else { return nil }
            return reply["value"] ?? ""
        }
    }

    /// Waits until every rank has entered the barrier (`barrier_in` / `barrier_out`); also makes
    /// all earlier `put`s of every rank visible to `get`.
    public func barrier() throws(MPIError) {
        try state.withLock { (s: inout State) throws(MPIError) in
            guard !s.finalized else { throw MPIError(.other, "PMI barrier after finalize") }
            guard var channel = s.channel else { return }
            defer { s.channel = channel }
            let reply = try channel.exchange(PMIMessage("barrier_in"), expecting: "barrier_out")
            guard reply["rc"] == nil || reply["rc"] == "0" else {
                throw MPIError(.other, "PMI barrier failed: \(reply)")
            }
        }
    }

    /// The reserved key `PMI_process_mapping`, e.g. `(vector,(0,1,4))` for 4 ranks on one node;
    /// nil if the server does not provide it.
    public func processMapping() -> String? {
        (try? get(key: "PMI_process_mapping")) ?? nil
    }

    /// Tells the server this rank is done (`finalize` / `finalize_ack`) and closes the
    /// connection. Idempotent; errors are ignored (the job is ending anyway).
    public func finalize() {
        state.withLock { (s: inout State) in
            guard !s.finalized else { return }
            s.finalized = true
            guard var channel = s.channel else { return }
            _ = try? channel.exchange(PMIMessage("finalize"), expecting: "finalize_ack")
            channel.close()
            s.channel = nil
        }
    }

    /// Aborts the job: writes `message` (if not empty) to stderr, sends `cmd=abort exitcode=code`,
    /// and waits up to one second for the launcher to kill us before calling `_exit(code)`.
    /// Does not take the lock, so it works while another thread is blocked in `barrier()`.
    public func abort(code: Int32, message: String) -> Never {
        if !message.isEmpty {
            try? PMIChannel.writeAll(fd: 2, "ferry: rank \(rank) aborting (code \(code)): \(message)\n")
        }
        // After finalize the descriptor is closed (and its number may be reused): skip the send.
        // If the lock is busy, another thread is mid-exchange, so the connection is still open.
        let connected = state.withLockIfAvailable { $0.channel != nil } ?? true
        if abortFD >= 0 && connected {
            // Unlocked write: a concurrent request line from another thread could interleave
            // with ours only if that thread is mid-write, which is accepted at abort time.
            try? PMIChannel.writeAll(fd: abortFD, PMIMessage("abort", ["exitcode": "\(code)"]).line)
            var request = timespec(tv_sec: 1, tv_nsec: 0), remaining = timespec()
            while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
        }
        _exit(code)
    }
}
