// The channel between `ferry run` and one `ferry proxy` of a multi-node job: the proxy's stdin
// carries launcher→proxy messages, its stdout proxy→launcher messages (its stderr is its own
// diagnostics, forwarded raw). Pure value code: encoding, and a strict incremental decoder that
// turns any byte sequence into messages or a `ProxyWireError`, never a trap (see the random-bytes
// test). Used by MultiNodeSupervisor and ProxyCommand.
//
// Frame:   u32 length L (big-endian; 1 <= L <= maxFrameBytes), then L bytes: u8 kind, payload.
// Payload: a fixed sequence of fields per kind, nothing left over. Field encodings:
//          u8; u32 and i32 big-endian; bool = u8 0 or 1; string = u32 byte count + UTF-8 bytes;
//          bytes = u32 count + raw bytes; list = u32 count + elements.
//
// kind  direction         message and fields
//   1   launcher→proxy    job: ProxyJob (see its fields below, in declaration order)
//   2   launcher→proxy    fenceComplete: list of (key string, value string), the merged puts
//   3   launcher→proxy    signal: i32 signal, relayed to the ranks' process groups
//   4   launcher→proxy    kill: i32 first signal (SIGTERM, or the relayed interrupt); SIGKILL 0.2 s later
//  16   proxy→launcher    hello: i32 proxy pid (sent first, before the job arrives)
//  17   proxy→launcher    rankStarted: u32 rank, i32 pid
//  18   proxy→launcher    spawnFailed: u32 rank, string message
//  19   proxy→launcher    output: u8 stream (1 or 2), bytes (whole lines, already tagged)
//  20   proxy→launcher    fenceEnter: list of (key, value), the puts made on that host since the last fence
//  21   proxy→launcher    rankExited: u32 rank, i32 pid, bool signaled, i32 code or signal, bool initialized, bool finalized
//  22   proxy→launcher    rankProblem: u32 rank, i32 pid, u8 problem (1 abort, 2 PMI closed, 3 PMI flood), i32 value
//  23   proxy→launcher    done: every rank reaped, output sent, shared memory removed; the proxy exits
#if canImport(Glibc)
import Glibc
#endif
import FerryPMI

/// Everything a proxy needs to run its host's part of a job (message kind 1).
struct ProxyJob: Equatable, Sendable {
    /// One application context, as the proxy starts it.
    struct Context: Equatable, Sendable {
        /// The executable's absolute path (resolved by the launcher: same filesystem).
        var path: String
        /// argv, argv[0] being the program as given.
        var argv: [String]
        /// Absolute; the launcher's directory when the context has no -wdir.
        var workingDirectory: String
        /// The context has a -wdir: ranks get PWD set to it (as on one node).
        var setsPWD: Bool
        /// `NAME=VALUE` settings, -genv then the context's -env/-x (a later one wins).
        var settings: [String]
    }
    var jobID: String
    /// FERRY_JOB_COOKIE: 32 random hex digits, never on a command line.
    var cookie: String
    /// This host's index among the hosts with ranks (its node id in the mapping), their number,
    /// and its name as the user gave it.
    var nodeIndex: Int
    var nodeCount: Int
    var nodeName: String
    /// Ranks in the job, MPI_UNIVERSE_SIZE, PMI_process_mapping.
    var size: Int
    var universeSize: Int
    var processMapping: String
    var tagOutput: Bool
    /// --bind-to: nil default (bind when the host's ranks fit its CPUs), true core, false none.
    var bindToCore: Bool?
    /// --cpu-set, empty when not given.
    var cpuSet: [Int]
    /// The launcher's path (FERRY_LAUNCHER for the ranks; the proxy's own path too).
    var launcherPath: String
    /// The launcher's environment (`NAME=value`): the ranks' base environment.
    var environment: [String]
    var contexts: [Context]
    /// The global ranks run on this host, ascending, and the context of each.
    var ranks: [Int]
    var contextOfRank: [Int]
}

/// Why a proxy stopped on its own account (message kind 22).
enum ProxyRankProblem: Equatable, Sendable {
    case aborted(code: Int32)
    case pmiClosed
    case pmiFlood(pendingBytes: Int32)
}

/// One message of the launcher↔proxy channel.
enum ProxyMessage: Equatable, Sendable {
    case job(ProxyJob)
    case fenceComplete(entries: [PMIKeyValue])
    case signal(Int32)
    case kill(firstSignal: Int32)
    case hello(pid: Int32)
    case rankStarted(rank: Int, pid: Int32)
    case spawnFailed(rank: Int, message: String)
    case output(stream: Int32, bytes: [UInt8])
    case fenceEnter(puts: [PMIKeyValue])
    case rankExited(rank: Int, pid: Int32, status: POSIX.ExitStatus, initialized: Bool, finalized: Bool)
    case rankProblem(rank: Int, pid: Int32, problem: ProxyRankProblem)
    case done

    /// True for the messages a proxy sends (the launcher rejects the others, and vice versa).
    var isFromProxy: Bool {
        switch self {
        case .job, .fenceComplete, .signal, .kill: return false
        default: return true
        }
    }
}

/// What is wrong with bytes received on the channel. Any of these ends the job.
enum ProxyWireError: Error, Equatable, CustomStringConvertible {
    case badFrameLength(Int)
    case unknownKind(UInt8)
    /// The payload of `kind` ended inside a field, or a count exceeds what is left.
    case truncated(kind: UInt8)
    case trailingBytes(kind: UInt8, count: Int)
    case invalidUTF8(kind: UInt8)
    case invalidField(kind: UInt8, what: String)

    var description: String {
        switch self {
        case .badFrameLength(let n): return "frame length \(n) outside 1...\(ProxyWire.maxFrameBytes)"
        case .unknownKind(let k): return "unknown message kind \(k)"
        case .truncated(let k): return "message of kind \(k) is truncated"
        case let .trailingBytes(k, n): return "message of kind \(k) has \(n) bytes too many"
        case .invalidUTF8(let k): return "message of kind \(k) holds a string that is not UTF-8"
        case let .invalidField(k, what): return "message of kind \(k): \(what)"
        }
    }
}

enum ProxyWire {
    /// The largest frame either side accepts (a job message carries the launcher's whole
    /// environment; a fence message every put of a host).
    static let maxFrameBytes = 64 << 20
    /// The largest rank number, context count or list length accepted (bounds allocations).
    static let maxRanks = 1 << 24

    /// The frame of `message`: length, kind, payload.
    static func encode(_ message: ProxyMessage) -> [UInt8] {
        var w = Writer()
        w.bytes = [0, 0, 0, 0]
        switch message {
        case .job(let job):
            w.u8(1)
            w.string(job.jobID); w.string(job.cookie)
            w.u32(job.nodeIndex); w.u32(job.nodeCount); w.string(job.nodeName)
            w.u32(job.size); w.u32(job.universeSize); w.string(job.processMapping)
            w.bool(job.tagOutput)
            w.u8(job.bindToCore == nil ? 0 : job.bindToCore! ? 1 : 2)
            w.u32(job.cpuSet.count); job.cpuSet.forEach { w.u32($0) }
            w.string(job.launcherPath)
            w.strings(job.environment)
            w.u32(job.contexts.count)
            for c in job.contexts {
                w.string(c.path); w.strings(c.argv); w.string(c.workingDirectory); w.bool(c.setsPWD); w.strings(c.settings)
            }
            w.u32(job.ranks.count)
            for (r, c) in zip(job.ranks, job.contextOfRank) { w.u32(r); w.u32(c) }
        case .fenceComplete(let entries):
            w.u8(2); w.pairs(entries)
        case .signal(let s):
            w.u8(3); w.i32(s)
        case .kill(let s):
            w.u8(4); w.i32(s)
        case .hello(let pid):
            w.u8(16); w.i32(pid)
        case let .rankStarted(rank, pid):
            w.u8(17); w.u32(rank); w.i32(pid)
        case let .spawnFailed(rank, message):
            w.u8(18); w.u32(rank); w.string(message)
        case let .output(stream, bytes):
            w.u8(19); w.u8(UInt8(truncatingIfNeeded: stream)); w.u32(bytes.count); w.bytes += bytes
        case .fenceEnter(let puts):
            w.u8(20); w.pairs(puts)
        case let .rankExited(rank, pid, status, initialized, finalized):
            w.u8(21); w.u32(rank); w.i32(pid)
            switch status {
            case .exited(let code): w.bool(false); w.i32(code)
            case .signaled(let signal): w.bool(true); w.i32(signal)
            }
            w.bool(initialized); w.bool(finalized)
        case let .rankProblem(rank, pid, problem):
            w.u8(22); w.u32(rank); w.i32(pid)
            switch problem {
            case .aborted(let code): w.u8(1); w.i32(code)
            case .pmiClosed: w.u8(2); w.i32(0)
            case .pmiFlood(let bytes): w.u8(3); w.i32(bytes)
            }
        case .done:
            w.u8(23)
        }
        let length = UInt32(w.bytes.count - 4)
        for i in 0..<4 { w.bytes[i] = UInt8(truncatingIfNeeded: length >> (24 - 8 * UInt32(i))) }
        return w.bytes
    }

    /// Decodes one frame's body (kind and payload, without the length).
    static func decode(_ body: ArraySlice<UInt8>) throws(ProxyWireError) -> ProxyMessage {
        guard let kind = body.first else { throw .badFrameLength(0) }
        var r = Reader(bytes: body.dropFirst(), kind: kind)
        let message: ProxyMessage
        switch kind {
        case 1:
            let jobID = try r.string(), cookie = try r.string()
            let nodeIndex = try r.count(), nodeCount = try r.count(), nodeName = try r.string()
            let size = try r.count(), universe = try r.count(), mapping = try r.string()
            let tag = try r.bool()
            let bind: Bool?
            switch try r.u8() {
            case 0: bind = nil
            case 1: bind = true
            case 2: bind = false
            default: throw .invalidField(kind: kind, what: "bind-to is not 0, 1 or 2")
            }
            var cpus: [Int] = []
            for _ in 0..<(try r.count(elementBytes: 4)) { cpus.append(try r.count()) }
            let launcher = try r.string()
            let environment = try r.strings()
            var contexts: [ProxyJob.Context] = []
            for _ in 0..<(try r.count(elementBytes: 17)) {
                contexts.append(ProxyJob.Context(path: try r.string(), argv: try r.strings(), workingDirectory: try r.string(),
                                                 setsPWD: try r.bool(), settings: try r.strings()))
            }
            var ranks: [Int] = [], contextOfRank: [Int] = []
            for _ in 0..<(try r.count(elementBytes: 8)) {
                let rank = try r.count(), context = try r.count()
                guard (rank < size) && (context < contexts.count) && (rank > (ranks.last ?? -1)) else {
                    throw .invalidField(kind: kind, what: "rank \(rank) of context \(context) does not fit the job")
                }
                ranks.append(rank); contextOfRank.append(context)
            }
            guard nodeIndex < nodeCount, size > 0, !ranks.isEmpty, contexts.allSatisfy({ !$0.argv.isEmpty }) else {
                throw .invalidField(kind: kind, what: "inconsistent job")
            }
            message = .job(ProxyJob(jobID: jobID, cookie: cookie, nodeIndex: nodeIndex, nodeCount: nodeCount,
                                    nodeName: nodeName, size: size, universeSize: universe, processMapping: mapping,
                                    tagOutput: tag, bindToCore: bind, cpuSet: cpus, launcherPath: launcher,
                                    environment: environment, contexts: contexts, ranks: ranks, contextOfRank: contextOfRank))
        case 2: message = .fenceComplete(entries: try r.pairs())
        case 3: message = .signal(try r.signal())
        case 4: message = .kill(firstSignal: try r.signal())
        case 16: message = .hello(pid: try r.pid())
        case 17: message = .rankStarted(rank: try r.count(), pid: try r.pid())
        case 18: message = .spawnFailed(rank: try r.count(), message: try r.string())
        case 19:
            let stream = Int32(try r.u8())
            guard stream == 1 || stream == 2 else { throw .invalidField(kind: kind, what: "stream \(stream) is not 1 or 2") }
            message = .output(stream: stream, bytes: try r.raw())
        case 20: message = .fenceEnter(puts: try r.pairs())
        case 21:
            let rank = try r.count(), pid = try r.pid(), signaled = try r.bool(), value = try r.i32()
            guard signaled ? (1...64).contains(value) : (0...255).contains(value) else {
                throw .invalidField(kind: kind, what: "exit \(signaled ? "signal" : "code") \(value)")
            }
            message = .rankExited(rank: rank, pid: pid, status: signaled ? .signaled(value) : .exited(value),
                                  initialized: try r.bool(), finalized: try r.bool())
        case 22:
            let rank = try r.count(), pid = try r.pid(), problem = try r.u8(), value = try r.i32()
            switch problem {
            case 1: message = .rankProblem(rank: rank, pid: pid, problem: .aborted(code: value))
            case 2: message = .rankProblem(rank: rank, pid: pid, problem: .pmiClosed)
            case 3: message = .rankProblem(rank: rank, pid: pid, problem: .pmiFlood(pendingBytes: value))
            default: throw .invalidField(kind: kind, what: "problem \(problem) is not 1, 2 or 3")
            }
        case 23: message = .done
        default: throw .unknownKind(kind)
        }
        guard r.bytes.isEmpty else { throw .trailingBytes(kind: kind, count: r.bytes.count) }
        return message
    }

    private struct Writer {
        var bytes: [UInt8] = []
        mutating func u8(_ v: UInt8) { bytes.append(v) }
        mutating func u32(_ v: Int) { let x = UInt32(truncatingIfNeeded: v); for s in [24, 16, 8, 0] { bytes.append(UInt8(truncatingIfNeeded: x >> UInt32(s))) } }
        mutating func i32(_ v: Int32) { u32(Int(UInt32(bitPattern: v))) }
        mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
        mutating func string(_ s: String) { u32(s.utf8.count); bytes += s.utf8 }
        mutating func strings(_ list: [String]) { u32(list.count); list.forEach { string($0) } }
        mutating func pairs(_ list: [PMIKeyValue]) { u32(list.count); list.forEach { string($0.key); string($0.value) } }
    }

    private struct Reader {
        var bytes: ArraySlice<UInt8>
        let kind: UInt8

        mutating func take(_ n: Int) throws(ProxyWireError) -> ArraySlice<UInt8> {
            guard n >= 0, bytes.count >= n else { throw .truncated(kind: kind) }
            defer { bytes = bytes.dropFirst(n) }
            return bytes.prefix(n)
        }
        mutating func u8() throws(ProxyWireError) -> UInt8 { try take(1).first! }
        mutating func u32() throws(ProxyWireError) -> UInt32 {
            try take(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
        mutating func i32() throws(ProxyWireError) -> Int32 { Int32(bitPattern: try u32()) }
        mutating func bool() throws(ProxyWireError) -> Bool {
            switch try u8() {
            case 0: return false
            case 1: return true
            default: throw .invalidField(kind: kind, what: "a boolean is not 0 or 1")
            }
        }
        /// A rank, index or count, at most `maxRanks`; as a list length, also at most what the
        /// remaining bytes can hold at `elementBytes` each (no allocation beyond the input).
        mutating func count(elementBytes: Int = 0) throws(ProxyWireError) -> Int {
            let n = Int(try u32())
            guard n <= ProxyWire.maxRanks else { throw .invalidField(kind: kind, what: "number \(n) is too large") }
            guard n * elementBytes <= bytes.count else { throw .truncated(kind: kind) }
            return n
        }
        mutating func pid() throws(ProxyWireError) -> Int32 {
            let p = try i32()
            guard p > 0 else { throw .invalidField(kind: kind, what: "pid \(p)") }
            return p
        }
        mutating func signal() throws(ProxyWireError) -> Int32 {
            let s = try i32()
            guard (1...64).contains(s) else { throw .invalidField(kind: kind, what: "signal \(s)") }
            return s
        }
        mutating func raw() throws(ProxyWireError) -> [UInt8] {
            Array(try take(Int(try u32())))
        }
        mutating func string() throws(ProxyWireError) -> String {
            let raw = try take(Int(try u32()))
            guard let s = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(kind: kind) }
            return s
        }
        mutating func strings() throws(ProxyWireError) -> [String] {
            var list: [String] = []
            for _ in 0..<(try count(elementBytes: 4)) { list.append(try string()) }
            return list
        }
        mutating func pairs() throws(ProxyWireError) -> [PMIKeyValue] {
            var list: [PMIKeyValue] = []
            for _ in 0..<(try count(elementBytes: 8)) { list.append(PMIKeyValue(try string(), try string())) }
            return list
        }
    }
}

/// Splits the channel's byte stream into messages. A bad frame poisons the reader: every
/// later call throws the same error (the stream has no way to resynchronize).
struct ProxyFrameReader {
    private var pending: [UInt8] = []
    private var head = 0
    private var failed: ProxyWireError?

    /// Appends bytes just read.
    mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if head > 0 && head == pending.count { pending.removeAll(keepingCapacity: true); head = 0 }
        pending.append(contentsOf: bytes)
    }

    /// True when no bytes of a started frame are waiting.
    var isEmpty: Bool { head == pending.count }

    /// The next complete message, or nil when more bytes are needed.
    mutating func next() throws(ProxyWireError) -> ProxyMessage? {
        if let failed { throw failed }
        guard pending.count - head >= 4 else { return nil }
        let length = pending[head..<(head + 4)].reduce(0) { $0 << 8 | Int($1) }
        guard length >= 1 && length <= ProxyWire.maxFrameBytes else {
            failed = .badFrameLength(length)
            throw failed!
        }
        guard pending.count - head >= 4 + length else { return nil }
        let body = pending[(head + 4)..<(head + 4 + length)]
        head += 4 + length
        if head > 1 << 16 && head * 2 > pending.count { pending.removeSubrange(0..<head); head = 0 }
        do {
            return try ProxyWire.decode(body)
        } catch {
            failed = error
            throw error
        }
    }
}
