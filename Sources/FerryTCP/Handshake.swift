// The handshake that opens every connection of the TCP transport, as bytes and checks (no I/O;
// `TCPTransport` moves the bytes). The connector (the lower index) sends a hello; the acceptor
// checks it and answers with an acknowledgement, or closes the connection without a word and
// logs why. After the acknowledgement both directions carry frames.
//
// Hello, 88 bytes, little-endian:
//   0  magic "FERRYTCP"      8  version (1)       12 connector index   16 acceptor index
//   20 cookie length (16-64) 24 cookie, zero-padded to 64 bytes
// Acknowledgement, 16 bytes: 0 magic "FERRYACK", 8 version, 12 acceptor index.

enum Handshake {
    static let helloBytes = 88
    static let ackBytes = 16
    static let version: UInt32 = 1
    static let maxCookieBytes = 64
    static let minCookieBytes = 16
    /// "FERRYTCP" and "FERRYACK" read as little-endian words.
    static let helloMagic: UInt64 = 0x5043_5459_5252_4546
    static let ackMagic: UInt64 = 0x4B43_4159_5252_4546

    /// The hello of connector `from` to acceptor `to`.
    static func hello(from: Int, to: Int, cookie: [UInt8]) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: helloBytes)
        put(helloMagic, at: 0, in: &b)
        put(UInt64(version) | UInt64(UInt32(from)) << 32, at: 8, in: &b)
        put(UInt64(UInt32(to)) | UInt64(UInt32(cookie.count)) << 32, at: 16, in: &b)
        for (i, c) in cookie.prefix(maxCookieBytes).enumerated() { b[24 + i] = c }
        return b
    }

    static func ack(acceptor: Int) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: ackBytes)
        put(ackMagic, at: 0, in: &b)
        put(UInt64(version) | UInt64(UInt32(acceptor)) << 32, at: 8, in: &b)
        return b
    }

    /// What the acceptor does with a complete hello.
    enum Verdict: Equatable {
        case accept(peer: Int)
        case refuse(String)
    }

    /// Checks a hello received by acceptor `me` of `peerCount`: magic, version, the cookie
    /// (compared in constant time), the indices, and whether `isExpected(peer)` (the peer has a
    /// card, has a lower index and is not connected yet; nil: accepted, else the reason).
    static func check(_ b: [UInt8], cookie: [UInt8], me: Int, peerCount: Int,
                      isExpected: (Int) -> String?) -> Verdict {
        guard b.count == helloBytes, word(b, 0) == helloMagic else { return .refuse("not a Ferry handshake") }
        let v = UInt32(truncatingIfNeeded: word(b, 8))
        guard v == version else { return .refuse("handshake version \(v), expected \(version)") }
        let length = Int(UInt32(truncatingIfNeeded: word(b, 16) >> 32))
        // Constant time: every byte of the padded field is compared, whatever the lengths.
        var diff = UInt8(truncatingIfNeeded: length ^ cookie.count)
        for i in 0..<maxCookieBytes {
            diff |= b[24 + i] ^ (i < cookie.count ? cookie[i] : 0)
        }
        guard diff == 0 else { return .refuse("wrong job cookie") }
        let from = Int(UInt32(truncatingIfNeeded: word(b, 8) >> 32))
        let to = Int(UInt32(truncatingIfNeeded: word(b, 16)))
        guard to == me else { return .refuse("handshake addressed to rank \(to), this is rank \(me)") }
        guard from < peerCount else { return .refuse("connector index \(from) out of range (\(peerCount) peers)") }
        if let why = isExpected(from) { return .refuse(why) }
        return .accept(peer: from)
    }

    /// True if `b` is the acknowledgement of acceptor `peer`.
    static func isAck(_ b: [UInt8], from peer: Int) -> Bool {
        b.count == ackBytes && word(b, 0) == ackMagic && word(b, 8) == UInt64(version) | UInt64(UInt32(peer)) << 32
    }

    private static func put(_ v: UInt64, at offset: Int, in b: inout [UInt8]) {
        for i in 0..<8 { b[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
    }

    private static func word(_ b: [UInt8], _ offset: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(b[offset + i]) << (8 * UInt64(i)) }
        return v
    }
}
