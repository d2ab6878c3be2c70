// The connected sockets of a transport, for a process that wants to learn of arrivals while it
// sleeps on something else (the runtime's network waker: FerryRuntime/Network.swift).

extension TCPTransport {
    /// The sockets of the established connections (fixed once `establish()` returned).
    public var connectionDescriptors: [Int32] {
        (0..<peerCount).compactMap { links[$0].fd >= 0 ? links[$0].fd : nil }
    }
}

extension TCPTransport {
    /// Whether some peer has a complete frame waiting for `peek` (checked before sleeping).
    public var hasFrames: Bool {
        (0..<peerCount).contains { links[$0].receiveStart != links[$0].receiveScan }
    }
}
