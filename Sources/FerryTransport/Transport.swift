// The one interface every transport implements (shared memory today; TCP, the VM device and
// Madeleine's channels next). A transport moves frames — a `FrameHeader` and up to
// `maxInlinePayload` bytes after it — between this process and its peers, in order per peer,
// and owns the memory they live in. The protocol layer (matching, eager, rendezvous, the
// unexpected queue, the send queues) lives above it, once, in the runtime.
//
// Sending: `reserve(to:)` hands out the next free frame towards a peer or nil ("no resource":
// the caller queues its work and retries after progress); the caller fills header and payload
// and `publish(to:_:)`es it; frames are published in the order they were reserved, one reserved
// frame per peer at a time. Receiving: `peek(from:)` shows the oldest unconsumed frame from a
// peer (nil: none), the caller consumes it and `release(from:_:)`s it.
//
// The runtime does not call transports through this protocol on the message path: it keeps the
// concrete transport of each peer in a route table and switches over a small enum, so no
// existential or closure is paid per message. The protocol states the contract, lets tests run
// the same checks on every transport, and lets generic code (tests, tools) drive any of them.

/// What a transport can do, for the protocol layer's choices.
public struct TransportCapabilities: Equatable, Sendable {
    /// Payload bytes a frame can carry after its header.
    public var maxInlinePayload: Int
    /// Whether the receiver can copy a sender's buffer directly (`FrameHeader.address` is then
    /// meaningful to it): process_vm_readv between processes of one node.
    public var singleCopy: Bool
    /// Whether frames to one peer arrive in the order they were published (every transport of
    /// Ferry is ordered; the protocol layer relies on it for MPI's non-overtaking rule).
    public var ordered: Bool
    /// Whether the peer shares memory with this process (node-local collectives may use it).
    public var sharesMemory: Bool

    public init(maxInlinePayload: Int, singleCopy: Bool, ordered: Bool, sharesMemory: Bool) {
        self.maxInlinePayload = maxInlinePayload
        self.singleCopy = singleCopy
        self.ordered = ordered
        self.sharesMemory = sharesMemory
    }
}

/// A transport between this process and its peers, which it numbers densely from 0.
public protocol FrameTransport: AnyObject {
    /// What frames of this transport can carry.
    var capabilities: TransportCapabilities { get }
    /// Peers this transport reaches (indices `0..<peerCount`; the process's own index, if it
    /// has one, is never used as a destination).
    var peerCount: Int { get }
    /// Frames that may be in flight towards `peer` at once (the depth of its queue).
    func frameCapacity(ofPeer peer: Int) -> Int
    /// The next free frame towards `peer`, or nil when none is free ("no resource").
    func reserve(to peer: Int) -> UnsafeMutablePointer<FrameHeader>?
    /// True if the next `frames` frames towards `peer` are free (all of them if fewer).
    func hasRoom(to peer: Int, frames: Int) -> Bool
    /// Sends the frame the last `reserve(to:)` returned for `peer`.
    func publish(to peer: Int, _ frame: UnsafeMutablePointer<FrameHeader>)
    /// The oldest frame from `peer` not yet released, or nil.
    func peek(from peer: Int) -> UnsafeMutablePointer<FrameHeader>?
    /// Gives the frame `peek(from:)` returned back to the transport.
    func release(from peer: Int, _ frame: UnsafeMutablePointer<FrameHeader>)
}

/// The payload bytes that follow a frame's header.
@inline(__always)
public func framePayload(_ frame: UnsafeMutablePointer<FrameHeader>) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(frame) + frameHeaderBytes
}
