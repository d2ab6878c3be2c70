// The 64-byte header at the start of every ring cell. The sender fills it, then publishes the
// cell by storing `flag = 1` (release); the receiver reads `flag` (acquire), consumes the
// cell, and hands it back with `flag = 0` (release), which the sender's next reserve loads
// (acquire). Only `flag` is accessed atomically; every other field is plain data ordered by it.

/// What a cell carries. The runtime's protocol layer gives these their meaning.
public enum CellKind: UInt8 {
    /// First (or only) fragment of an eager message: envelope + `total` bytes in all.
    case eager = 1
    /// Next fragment of the eager message this sender started last.
    case eagerContinuation = 2
    /// Rendezvous request to send: envelope, `total`, sender request, sender `address` (0 if
    /// the data is not one contiguous run, so single copy is impossible).
    case requestToSend = 3
    /// Receiver to sender: matched; stream the data through the rings to `receiverRequest`.
    case clearToSend = 4
    /// A chunk of a pipelined rendezvous transfer at byte `offset` for `receiverRequest`.
    case data = 5
    /// Receiver to sender: done with your buffer (rendezvous finished, or synchronous-send
    /// match acknowledged). Completes `senderRequest`.
    case finish = 6
}

/// Flag bits in `CellHeader.flags`.
public enum CellFlags {
    /// Synchronous mode: the receiver acknowledges the match with `.finish`.
    public static let synchronous: UInt8 = 1
}

/// Header of one cell. Writer: the sending rank. Reader: the receiving rank.
@frozen public struct CellHeader {
    /// 1 = full (sender stores last, release), 0 = free (receiver stores last, release).
    public var flag: UInt32
    /// A `CellKind` raw value.
    public var kind: UInt8
    /// `CellFlags` bits.
    public var flags: UInt8
    public var reserved: UInt16
    /// Matching envelope: context id, source rank in that context, tag.
    public var context: UInt32
    public var source: Int32
    public var tag: Int32
    /// Payload bytes that follow this header in the cell.
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
}

/// Bytes reserved for the header at the start of each cell.
public let cellHeaderBytes = 64
