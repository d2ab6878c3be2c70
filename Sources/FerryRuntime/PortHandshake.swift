// The wire format of the port handshake (MPI_Comm_accept / MPI_Comm_connect / spawn): the
// connector's request and the acceptor's answer, as pure parsers and printers. No I/O: the
// bytes come from a socket that any local process of the same user can reach, so every count
// and length is bounded before it is used, and anything malformed is a `PortHandshakeError`,
// never a trap. Called by Dynamic.swift; fuzzed by Fuzz/PortHandshake.
//
//   request:  "ferry-connect 1" / "<cell bytes> <ring cells>" / "<mask words, hex, space-separated>"
//             / "<member count>" / one "<job id>/<rank> <pid>" line per member
//   answer:   "ferry-accept 1" / then either "error <class> <text>" or
//             "ok" / "<context id>" / "<segment name or ->" / "<acceptors>" / "<connectors>"
//             / one member line per acceptor

/// Why a handshake message was refused.
public struct PortHandshakeError: Error, Equatable, Sendable {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// One process named in a handshake: "<job id>/<rank in its job>" and its pid.
public struct HandshakeMember: Equatable, Sendable {
    public var identity: String
    public var pid: Int32
    public init(identity: String, pid: Int32) { self.identity = identity; self.pid = pid }
    var line: String { "\(identity) \(pid)" }
}

/// The connecting root's request.
public struct ConnectRequest: Equatable, Sendable {
    /// "<cell bytes> <ring cells>": both jobs' rings must have the same shape.
    public var geometry: String
    /// The connecting side's free context ids (bit set, `Runtime.maskWords` words at most).
    public var mask: [UInt64]
    public var members: [HandshakeMember]
    public init(geometry: String, mask: [UInt64], members: [HandshakeMember]) {
        self.geometry = geometry; self.mask = mask; self.members = members
    }
}

/// The accepting root's answer, as the connecting side receives it.
public enum AcceptAnswer: Equatable, Sendable {
    case refused(errorClass: Int32, text: String)
    case accepted(JoinRecord)
}

/// The outcome of a join that every member of a side learns: the context id, the link
/// segment ("-" when every pair already has rings), both side sizes, and the remote members.
public struct JoinRecord: Equatable, Sendable {
    public var contextID: UInt32
    public var segment: String
    public var acceptors: Int
    public var connectors: Int
    public var remote: [HandshakeMember]
    public init(contextID: UInt32, segment: String, acceptors: Int, connectors: Int, remote: [HandshakeMember]) {
        self.contextID = contextID; self.segment = segment; self.acceptors = acceptors
        self.connectors = connectors; self.remote = remote
    }
}

public enum PortHandshake {
    /// Largest frame either side reads (a job of a million members fits).
    public static let maxFrameBytes = 1 << 26
    /// Most members one side may announce.
    public static let maxMembers = 1 << 20
    /// Longest identity and segment name.
    static let maxNameBytes = 200
    static let maskWords = 64
    /// Longest refusal text.
    static let maxRefusalBytes = 4096
    static let requestTag = "ferry-connect 1"
    static let answerTag = "ferry-accept 1"

    // MARK: printing

    public static func encode(_ r: ConnectRequest) -> [UInt8] {
        let mask = r.mask.map { String($0, radix: 16) }.joined(separator: " ")
        return Array(([requestTag, r.geometry, mask, "\(r.members.count)"] + r.members.map(\.line))
            .joined(separator: "\n").utf8)
    }

    public static func encode(_ record: JoinRecord) -> [UInt8] {
        Array((["ok", "\(record.contextID)", record.segment, "\(record.acceptors)", "\(record.connectors)"]
               + record.remote.map(\.line)).joined(separator: "\n").utf8)
    }

    public static func encode(_ answer: AcceptAnswer) -> [UInt8] {
        switch answer {
        case let .refused(cls, text):
            // At most `maxRefusalBytes` of text, cut at a character boundary.
            var cut = Substring(text)
            while cut.utf8.count > maxRefusalBytes { cut = cut.dropLast() }
            return Array("\(answerTag)\nerror \(cls) \(cut)".utf8)
        case let .accepted(record): return Array((answerTag + "\n").utf8) + encode(record)
        }
    }

    // MARK: parsing

    public static func parseRequest(_ bytes: [UInt8]) throws(PortHandshakeError) -> ConnectRequest {
        let lines = try splitLines(bytes)
        guard lines.count >= 4, lines[0] == requestTag else { throw PortHandshakeError("not a Ferry connection request") }
        let geometry = lines[1].split(separator: " ")
        guard geometry.count == 2, geometry.allSatisfy({ Int($0).map { $0 > 0 } ?? false }) else {
            throw PortHandshakeError("malformed ring geometry")
        }
        let words = lines[2].split(separator: " ", omittingEmptySubsequences: true)
        guard words.count <= maskWords else { throw PortHandshakeError("context mask too long") }
        var mask: [UInt64] = []
        for w in words {
            guard w.utf8.count <= 16, let v = UInt64(w, radix: 16) else { throw PortHandshakeError("malformed context mask") }
            mask.append(v)
        }
        guard let declared = Int(lines[3]), (1...maxMembers).contains(declared) else { throw PortHandshakeError("bad member count") }
        let members = try parseMembers(lines[4...], declared: declared)
        return ConnectRequest(geometry: lines[1], mask: mask, members: members)
    }

    public static func parseAnswer(_ bytes: [UInt8]) throws(PortHandshakeError) -> AcceptAnswer {
        let tag = Array((answerTag + "\n").utf8)
        guard bytes.count >= tag.count, Array(bytes.prefix(tag.count)) == tag else {
            throw PortHandshakeError("the port's owner is not a Ferry process")
        }
        let rest = Array(bytes.dropFirst(tag.count))
        if rest.starts(with: Array("error ".utf8)) {
            guard let text = String(validating: rest, as: UTF8.self) else { throw PortHandshakeError("refusal not UTF-8") }
            let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, let cls = Int32(parts[1]), cls >= 0, String(cls) == parts[1],
                  parts[2].utf8.count <= maxRefusalBytes else {
                throw PortHandshakeError("malformed refusal")
            }
            return .refused(errorClass: cls, text: parts[2])
        }
        return .accepted(try parseRecord(rest))
    }

    /// The record `encode(_: JoinRecord)` printed (also what a root broadcasts to its side).
    public static func parseRecord(_ bytes: [UInt8]) throws(PortHandshakeError) -> JoinRecord {
        let lines = try splitLines(bytes)
        guard lines.count >= 5, lines[0] == "ok" else { throw PortHandshakeError("malformed connection record") }
        guard let id = UInt32(lines[1]), id < UInt32(maskWords * 64) else { throw PortHandshakeError("bad context id") }
        let segment = lines[2]
        guard segment == "-" || isSegmentName(segment) else { throw PortHandshakeError("bad segment name") }
        guard let a = Int(lines[3]), let c = Int(lines[4]), (1...maxMembers).contains(a), (1...maxMembers).contains(c) else {
            throw PortHandshakeError("bad side sizes")
        }
        let remote = try parseMembers(lines[5...], declared: nil)
        // The remote side is the acceptors for a connector, the connectors for an acceptor:
        // either way one of the two sizes.
        guard remote.count == a || remote.count == c else { throw PortHandshakeError("member count does not match the side sizes") }
        return JoinRecord(contextID: id, segment: segment, acceptors: a, connectors: c, remote: remote)
    }

    // MARK: pieces

    private static func splitLines(_ bytes: [UInt8]) throws(PortHandshakeError) -> [String] {
        guard bytes.count <= maxFrameBytes else { throw PortHandshakeError("message too long") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw PortHandshakeError("not UTF-8") }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// Member lines, `declared` of them when the message gave a count (else as many as there
    /// are, which must still be within bounds).
    private static func parseMembers(_ lines: ArraySlice<String>, declared: Int?) throws(PortHandshakeError) -> [HandshakeMember] {
        let n = declared ?? lines.count
        guard lines.count == n, (1...maxMembers).contains(n) else { throw PortHandshakeError("member count does not match the member lines") }
        var out: [HandshakeMember] = []
        out.reserveCapacity(n)
        for line in lines {
            let f = line.split(separator: " ", omittingEmptySubsequences: false)
            guard f.count == 2, isIdentity(f[0]), let pid = Int32(f[1]), pid >= 0 else {
                throw PortHandshakeError("malformed member line")
            }
            out.append(HandshakeMember(identity: String(f[0]), pid: pid))
        }
        return out
    }

    /// "<job id>/<rank>": a job id of letters, digits, '-', '_' and '.', a non-negative rank.
    static func isIdentity(_ s: Substring) -> Bool {
        guard s.utf8.count <= maxNameBytes, let slash = s.lastIndex(of: "/") else { return false }
        let job = s[..<slash], rank = s[s.index(after: slash)...]
        guard !job.isEmpty, job.utf8.allSatisfy(isNameByte), let r = Int32(rank), r >= 0 else { return false }
        return true
    }

    /// "/ferry-" followed by name characters: a POSIX shared-memory name of ours.
    static func isSegmentName(_ s: String) -> Bool {
        s.utf8.count <= maxNameBytes && s.hasPrefix("/ferry-") && s.utf8.dropFirst().allSatisfy(isNameByte)
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
    }
}
