// A transport between endpoints in one process, over rings in ordinary memory: what the protocol
// layer's unit tests run on, without processes, segments or sockets. One `InMemoryFabric` holds
// a ring of frames for every ordered pair of endpoints; `endpoint(_:)` is endpoint i's view of
// it (peer j's frames to i arrive on ring j->i). Single-threaded by design: a test drives every
// endpoint from one thread, so there are no atomics; the frame word `flag` is 1 for a published
// frame and 0 for a free one, as in the shared-memory rings.
import FerryCore

/// The rings between `endpoints` endpoints, `framesPerRing` frames of `frameBytes` bytes each.
public final class InMemoryFabric {
    public let endpoints: Int
    public let framesPerRing: Int
    public let frameBytes: Int
    /// rings[from * endpoints + to]
    fileprivate let rings: UnsafeMutableRawPointer
    /// Next frame each sender writes, and each receiver reads, per ring.
    fileprivate var sendHead: [Int]
    fileprivate var receiveTail: [Int]
    private var views: [InMemoryTransport?]

    /// - Precondition: `endpoints >= 1`, `framesPerRing >= 1`, `frameBytes` a multiple of 64
    ///   above the header.
    public init(endpoints: Int, framesPerRing: Int = 8, frameBytes: Int = 256) {
        precondition(endpoints >= 1 && framesPerRing >= 1, "in-memory fabric: endpoints and frames must be positive")
        precondition(frameBytes > frameHeaderBytes && frameBytes % 64 == 0,
                     "in-memory fabric: a frame is a multiple of 64 bytes with room after the header")
        self.endpoints = endpoints
        self.framesPerRing = framesPerRing
        self.frameBytes = frameBytes
        let bytes = endpoints * endpoints * framesPerRing * frameBytes
        rings = .allocate(byteCount: bytes, alignment: 64)
        rings.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        sendHead = Array(repeating: 0, count: endpoints * endpoints)
        receiveTail = Array(repeating: 0, count: endpoints * endpoints)
        views = Array(repeating: nil, count: endpoints)
    }

    deinit { rings.deallocate() }

    /// Endpoint `index`'s transport (the same object on every call).
    public func endpoint(_ index: Int) -> InMemoryTransport {
        precondition(index >= 0 && index < endpoints, "in-memory fabric: no endpoint \(index)")
        if let v = views[index] { return v }
        let v = InMemoryTransport(fabric: self, index: index)
        views[index] = v
        return v
    }

    fileprivate func frame(ring: Int, slot: Int) -> UnsafeMutablePointer<FrameHeader> {
        (rings + (ring * framesPerRing + slot) * frameBytes).assumingMemoryBound(to: FrameHeader.self)
    }

    /// Frames published and not yet released on the ring `from` -> `to`.
    public func framesInFlight(from: Int, to: Int) -> Int {
        let ring = from * endpoints + to
        var n = 0
        for slot in 0..<framesPerRing where frame(ring: ring, slot: slot).pointee.flag == 1 { n += 1 }
        return n
    }
}

/// One endpoint of an `InMemoryFabric`.
public final class InMemoryTransport: FrameTransport {
    // Unowned: the fabric owns its views (a view never outlives its test's fabric).
    private unowned let fabric: InMemoryFabric
    /// This endpoint's index in the fabric.
    public let index: Int

    fileprivate init(fabric: InMemoryFabric, index: Int) {
        self.fabric = fabric
        self.index = index
    }

    public var capabilities: TransportCapabilities {
        TransportCapabilities(maxInlinePayload: fabric.frameBytes - frameHeaderBytes, singleCopy: false,
                              ordered: true, sharesMemory: true)
    }

    public var peerCount: Int { fabric.endpoints }

    public func frameCapacity(ofPeer peer: Int) -> Int { fabric.framesPerRing }

    private func ring(from: Int, to: Int) -> Int {
        precondition(from >= 0 && from < fabric.endpoints && to >= 0 && to < fabric.endpoints && from != to,
                     "in-memory transport: no ring \(from) -> \(to)")
        return from * fabric.endpoints + to
    }

    public func reserve(to peer: Int) -> UnsafeMutablePointer<FrameHeader>? {
        let r = ring(from: index, to: peer)
        let f = fabric.frame(ring: r, slot: fabric.sendHead[r])
        return f.pointee.flag == 0 ? f : nil
    }

    public func hasRoom(to peer: Int, frames: Int) -> Bool {
        let r = ring(from: index, to: peer)
        let k = (fabric.sendHead[r] + min(max(frames, 1), fabric.framesPerRing) - 1) % fabric.framesPerRing
        return fabric.frame(ring: r, slot: k).pointee.flag == 0
    }

    public func publish(to peer: Int, _ frame: UnsafeMutablePointer<FrameHeader>) {
        let r = ring(from: index, to: peer)
        precondition(frame == fabric.frame(ring: r, slot: fabric.sendHead[r]) && frame.pointee.flag == 0,
                     "in-memory transport: publish of a frame that is not the one reserved")
        frame.pointee.flag = 1
        fabric.sendHead[r] = (fabric.sendHead[r] + 1) % fabric.framesPerRing
    }

    public func peek(from peer: Int) -> UnsafeMutablePointer<FrameHeader>? {
        let r = ring(from: peer, to: index)
        let f = fabric.frame(ring: r, slot: fabric.receiveTail[r])
        return f.pointee.flag == 1 ? f : nil
    }

    public func release(from peer: Int, _ frame: UnsafeMutablePointer<FrameHeader>) {
        let r = ring(from: peer, to: index)
        precondition(frame == fabric.frame(ring: r, slot: fabric.receiveTail[r]) && frame.pointee.flag == 1,
                     "in-memory transport: release of a frame that is not the oldest received")
        frame.pointee.flag = 0
        fabric.receiveTail[r] = (fabric.receiveTail[r] + 1) % fabric.framesPerRing
    }
}
