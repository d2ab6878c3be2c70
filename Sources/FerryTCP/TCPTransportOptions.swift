// The TCP transport's settings: which interfaces to use, how long set-up may take, and the
// sizes of frames and buffers. Parsed once at start-up by the runtime (`fromEnvironment`) and
// handed to `TCPTransport.init`. Strict parsing, as in `Tunables`: an invalid value is an error
// naming the variable, the value and what is accepted; nothing is clamped.
import FerryCore
import FerryTransport

/// Settings of a `TCPTransport`.
public struct TCPTransportOptions: Sendable, Equatable {
    /// `FERRY_TCP_IF`: the interfaces to listen on and to advertise, each an interface name
    /// ("eth0") or an IPv4 subnet in CIDR notation ("10.0.0.0/8": every local address inside it).
    /// nil (the default): every interface that is up, has an IPv4 address and is not a loopback;
    /// the loopback if there is no other.
    public var interfaces: [String]?
    /// `FERRY_CONNECT_TIMEOUT`: seconds `establish()` waits for every connection (default 30).
    public var connectTimeoutSeconds: Double
    /// Payload bytes a frame can carry after its header (default 64 KiB; a multiple of 8).
    public var maxInlinePayload: Int
    /// Per-peer bound on bytes queued for sending and not yet taken by the kernel: `reserve`
    /// returns nil when a frame of the maximum size would not fit under it (default 256 KiB; at
    /// least one maximum frame, 64 + `maxInlinePayload`).
    public var sendBufferBytes: Int
    /// Per-peer receive buffer: bytes received and not yet released. The transport reads no
    /// more than this, so a peer that floods is held back by TCP (default 256 KiB; at least one
    /// maximum frame).
    public var receiveBufferBytes: Int
    /// Seconds an incoming connection may take to send its handshake before it is refused
    /// (default 10).
    public var handshakeTimeoutSeconds: Double
    /// Largest payload of a streamed frame (`publishStreamed`) this transport sends or accepts;
    /// a peer announcing more is malformed data (default and maximum 2^32 - 1 bytes: the
    /// header's `length` is 32 bits). Streamed payloads never pass through the buffers above.
    public var maxStreamedPayload: Int

    public init(interfaces: [String]? = nil, connectTimeoutSeconds: Double = 30,
                maxInlinePayload: Int = 64 << 10, sendBufferBytes: Int = 256 << 10,
                receiveBufferBytes: Int = 256 << 10, handshakeTimeoutSeconds: Double = 10,
                maxStreamedPayload: Int = Int(UInt32.max)) {
        self.interfaces = interfaces
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.maxInlinePayload = maxInlinePayload
        self.sendBufferBytes = sendBufferBytes
        self.receiveBufferBytes = receiveBufferBytes
        self.handshakeTimeoutSeconds = handshakeTimeoutSeconds
        self.maxStreamedPayload = maxStreamedPayload
    }

    /// Bytes of the largest frame on the wire: header and the maximum payload.
    public var maxFrameBytes: Int { frameHeaderBytes + maxInlinePayload }

    /// The options given by `FERRY_TCP_IF` and `FERRY_CONNECT_TIMEOUT` in `lookup` (the
    /// defaults for unset variables).
    /// - Throws: `.arg` naming the variable, its value and what is accepted.
    public static func fromEnvironment(_ lookup: (String) -> String?) throws(MPIError) -> TCPTransportOptions {
        var o = TCPTransportOptions()
        if let text = lookup("FERRY_TCP_IF") { o.interfaces = try parseInterfaceList(text) }
        if let text = lookup("FERRY_CONNECT_TIMEOUT") { o.connectTimeoutSeconds = try parseTimeout(text) }
        return o
    }

    /// Checks the sizes and times (a programming error or a bad tunable upstream).
    func validate() throws(MPIError) {
        if maxInlinePayload < 8 || maxInlinePayload % 8 != 0 || maxInlinePayload > (1 << 30) {
            throw MPIError(.arg, "TCP transport: maxInlinePayload \(maxInlinePayload) must be a multiple of 8 from 8 to 2^30")
        }
        if sendBufferBytes < maxFrameBytes || receiveBufferBytes < maxFrameBytes {
            throw MPIError(.arg, "TCP transport: send and receive buffers (\(sendBufferBytes), \(receiveBufferBytes) bytes) must each hold one frame of \(maxFrameBytes) bytes")
        }
        if !(connectTimeoutSeconds > 0 && connectTimeoutSeconds.isFinite) || !(handshakeTimeoutSeconds > 0 && handshakeTimeoutSeconds.isFinite) {
            throw MPIError(.arg, "TCP transport: timeouts must be positive numbers of seconds")
        }
        if maxStreamedPayload < 0 || maxStreamedPayload > Int(UInt32.max) {
            throw MPIError(.arg, "TCP transport: maxStreamedPayload \(maxStreamedPayload) must be from 0 to 2^32 - 1")
        }
    }

    static let interfaceListAccepted = "a comma-separated list of interface names (eth0) or IPv4 subnets (10.0.0.0/8)"

    /// `FERRY_TCP_IF`: names (letters, digits, '.', '_', '-', ':', '@'; at most 15 characters)
    /// and CIDR subnets, separated by commas, no spaces, no empty entries.
    static func parseInterfaceList(_ text: String) throws(MPIError) -> [String] {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for e in entries {
            if e.isEmpty {
                throw MPIError(.arg, "FERRY_TCP_IF='\(text)' is not valid: an empty entry; expected \(interfaceListAccepted)")
            }
            if e.contains("/") {
                if IPv4Subnet(parsing: e) == nil {
                    throw MPIError(.arg, "FERRY_TCP_IF='\(text)' is not valid: '\(e)' is not an IPv4 subnet (a.b.c.d/0-32); expected \(interfaceListAccepted)")
                }
            } else if e.utf8.count > 15 || !e.utf8.allSatisfy(isInterfaceNameByte) {
                throw MPIError(.arg, "FERRY_TCP_IF='\(text)' is not valid: '\(e)' is not an interface name (at most 15 letters, digits, '.', '_', '-', ':', '@'); expected \(interfaceListAccepted)")
            }
        }
        return entries
    }

    private static func isInterfaceNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == 0x2E || b == 0x5F || b == 0x2D || b == 0x3A || b == 0x40
    }

    /// `FERRY_CONNECT_TIMEOUT`: seconds as decimal digits with an optional fraction ("30",
    /// "0.5"), greater than 0, at most one day.
    static func parseTimeout(_ text: String) throws(MPIError) -> Double {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digitsOnly = { (s: Substring) in !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        if parts.count >= 1, digitsOnly(parts[0]), parts.count == 1 || digitsOnly(parts[1]),
           let v = Double(text), v > 0, v <= 86400 {
            return v
        }
        throw MPIError(.arg, "FERRY_CONNECT_TIMEOUT='\(text)' is not valid: expected a number of seconds greater than 0 and at most 86400, such as 30 or 0.5")
    }
}
