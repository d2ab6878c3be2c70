// The transport-neutral wire header: 64 bytes at the start of every frame, whichever transport
// carries it (a shared-memory ring cell, a TCP stream). The protocol layer above the transports
// (matching, eager, rendezvous) reads and writes every field but `flag`, which belongs to the
// transport: in shared memory the sender fills the header, then publishes the cell by storing
// `flag = 1` (release); the receiver reads `flag` (acquire), consumes the cell, and hands it back
// with `flag = 0` (release), which the sender's next reserve loads (acquire). Only `flag` is
// accessed atomically; every other field is plain data ordered by it.

/// What a frame carries. The runtime's protocol layer gives these their meaning.
public enum FrameKind: UInt8 {
    /// First (or only) fragment of an eager message: envelope + `total` bytes in all.
    case eager = 1
    /// Next fragment of the eager message this sender started last.
    case eagerContinuation = 2
    /// Rendezvous request to send: envelope, `total`, sender request, sender `address` (0 if
    /// the data is not one contiguous run, so single copy is impossible).
    case requestToSend = 3
    /// Receiver to sender: matched; stream the data through the transport to `receiverRequest`.
    case clearToSend = 4
    /// A chunk of a pipelined rendezvous transfer at byte `offset` for `receiverRequest`.
    case data = 5
    /// Receiver to sender: done with your buffer (rendezvous finished, or synchronous-send
    /// match acknowledged). Completes `senderRequest`.
    case finish = 6
}

/// Flag bits in `FrameHeader.flags`.
public enum FrameFlags {
    /// Synchronous mode: the receiver acknowledges the match with `.finish`.
    public static let synchronous: UInt8 = 1
}

/// Header of one frame. Writer: the sending rank. Reader: the receiving rank.
@frozen public struct FrameHeader {
    /// The transport's own word. Shared memory: 1 = full (sender stores last, release), 0 = free
    /// (receiver stores last, release).
    public var flag: UInt32
    /// A `FrameKind` raw value.
    public var kind: UInt8
    /// `FrameFlags` bits.
    public var flags: UInt8
    public var reserved: UInt16
    /// Matching envelope: context id, source rank in that context, tag.
    public var context: UInt32
    public var source: Int32
    public var tag: Int32
    /// Payload bytes that follow this header in the frame.
    public var length: UInt32
    /// Whole message size in bytes (eager, request to send).
    public var total: UInt64
    /// Request handles of the two sides, echoed back in control cells.
    public var senderRequest: UInt64
    public var receiverRequest: UInt64
    /// Sender's buffer address for single copy (request to send); 0 when not possible.
    public var address: UInt64
    /// Byte offset of this chunk in the message (data).
    public var offset: UInt64

    /// A header with every field zero (kind 0 is no kind: fill it in).
    @inlinable public init() {
        flag = 0; kind = 0; flags = 0; reserved = 0; context = 0; source = 0; tag = 0; length = 0
        total = 0; senderRequest = 0; receiverRequest = 0; address = 0; offset = 0
    }
}

/// Bytes reserved for the header at the start of each frame.
public let frameHeaderBytes = 64
