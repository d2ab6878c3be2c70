// The node's shared segment and the per-pair rings inside it. One segment per node per job,
// created by local rank 0, named after the job id, unlinked by the last rank to map it.
// Layout (offsets, never pointers):
//   [0, 4096)              segment header: magic, mapped-rank counter
//   [4096, +128*n)         one area per local rank: pid, doorbell, sleeping flag
//   [collectiveOffset, ..) the collective area of MPI_COMM_WORLD (FerryRuntime/NodeCollectives)
//   [ringsOffset, ...)     n*n rings (pair src->dst at index src*n+dst), each `ringCells` cells
import FerryCore
import FerrySys
import FerryTransport
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// Sizes and offsets of the node segment, computed identically by every rank.
public struct NodeLayout: Sendable {
    public let localSize: Int
    public let cellBytes: Int
    public let ringCells: Int
    public static let headerBytes = 4096
    public static let rankAreaBytes = 128

    public init(localSize: Int, cellBytes: Int, ringCells: Int) {
        self.localSize = localSize
        self.cellBytes = cellBytes
        self.ringCells = ringCells
    }
    /// Bytes of one rank's slot in the collective area (two per rank: alternate calls).
    public static let collectiveSlotBytes = 8192
    /// The collective area (NodeCollectives): control words, then two slots per rank.
    public var collectiveOffset: Int {
        (NodeLayout.headerBytes + localSize * NodeLayout.rankAreaBytes + 4095) & ~4095
    }
    public var collectiveBytes: Int {
        (collectiveSlotsOffset + localSize * 2 * NodeLayout.collectiveSlotBytes + 4095) & ~4095
    }
    /// Where the slots start in the area: after 128 bytes of control words and two 64-byte
    /// mailboxes (arrival word + small data) per rank.
    public var collectiveSlotsOffset: Int { 128 + localSize * 2 * 64 }
    public var ringsOffset: Int { collectiveOffset + collectiveBytes }
    public var ringBytes: Int { cellBytes * ringCells }
    public var totalBytes: Int { ringsOffset + localSize * localSize * ringBytes }
    public var payloadBytesPerCell: Int { cellBytes - frameHeaderBytes }
}

/// This rank's view of the node segment: reserve/publish on outgoing rings, peek/release on
/// incoming ones, and a futex doorbell per rank for blocking waits.
///
/// Peers are numbered: the job's local ranks first (0..<localSize, rings in the node segment),
/// then processes of other jobs connected later (MPI_Comm_accept/connect, spawn), whose rings
/// live in link segments (`addPeer`). Per-peer ring addresses are kept in flat tables so the
/// hot path costs the same for both kinds.
/// - Note: not thread-safe; the runtime calls it under its progress lock.
public final class NodeSegment: FrameTransport {
    public let layout: NodeLayout
    public let localRank: Int
    private let segment: SharedSegment
    private let base: UnsafeMutableRawPointer
    /// Number of peers (local ranks, then linked processes); peer indices are dense. Read by
    /// the runtime on every poll: an inlinable getter over this module's storage, because
    /// `@exclusivity(unchecked)` holds only inside the declaring module.
    @usableFromInline @exclusivity(unchecked) var _peerCount: Int
    @inlinable public var peerCount: Int { _peerCount }
    /// True once a peer outside the node segment exists: its sender cannot ring our doorbell,
    /// so sleeps must be short.
    @exclusivity(unchecked) public private(set) var hasLinks = false
    /// Whether any rank of the job may sleep on its doorbell (ranks outnumber cores). When
    /// not, publish and release skip the fence and the sleeper check: the hot path of every
    /// message. A rank that starts sleeping later for another reason (processes of other jobs
    /// connected) sleeps with a short timeout, so nothing waits on a wake-up that never comes.
    @usableFromInline @exclusivity(unchecked) var _sleepersPossible = true
    @inlinable public var sleepersPossible: Bool {
        get { _sleepersPossible }
        set { _sleepersPossible = newValue }
    }
    @exclusivity(unchecked) private var capacity: Int
    /// Ring this process writes towards each peer, and the ring it reads from each peer.
    @exclusivity(unchecked) private var outRing: UnsafeMutablePointer<UnsafeMutableRawPointer>
    @exclusivity(unchecked) private var inRing: UnsafeMutablePointer<UnsafeMutableRawPointer>
    /// Next cell to fill, per destination; next to consume, per source (process-local), each
    /// in [0, cells of that peer's rings).
    @exclusivity(unchecked) private var sendHead: UnsafeMutablePointer<Int>
    @exclusivity(unchecked) private var receiveTail: UnsafeMutablePointer<Int>
    /// Cells of the rings to and from each peer: the node layout's for local ranks, the link
    /// segment's for processes of other jobs (the two may differ).
    @exclusivity(unchecked) private var cells: UnsafeMutablePointer<Int>
    /// Each peer's rank area (doorbell words), nil for linked peers.
    @exclusivity(unchecked) private var area: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    @exclusivity(unchecked) private var pids: UnsafeMutablePointer<Int32>
    /// Link segments kept mapped for the life of the process.
    @exclusivity(unchecked) private var linkMappings: [LinkMapping] = []

    private static let magic: UInt64 = 0x4645_5252_5953_484D  // "FERRYSHM"

    /// Creates (local rank 0) or opens (others) the segment of job `jobID` on node `node` (its
    /// index in the job: nodes that share /dev/shm, as network namespaces of one machine do,
    /// never open each other's). `standalone` creates a one-rank segment that no one else
    /// opens (a singleton that may connect later).
    public init(jobID: String, localRank: Int, layout: NodeLayout, node: Int = 0, standalone: Bool = false) throws(MPIError) {
        let name = standalone ? "/ferry-\(jobID)-solo-\(randomHex(16))" : "/ferry-\(jobID)-node\(node)"
        self.layout = layout
        self.localRank = localRank
        if localRank == 0 {
            SharedSegment.removeOrphans()
            segment = try SharedSegment.create(name: name, byteCount: layout.totalBytes)
        } else {
            segment = try SharedSegment.open(name: name, byteCount: layout.totalBytes)
        }
        base = segment.base
        let n = layout.localSize
        _peerCount = n
        capacity = max(n, 4)
        outRing = .allocate(capacity: capacity)
        inRing = .allocate(capacity: capacity)
        sendHead = .allocate(capacity: capacity)
        receiveTail = .allocate(capacity: capacity)
        cells = .allocate(capacity: capacity)
        area = .allocate(capacity: capacity)
        pids = .allocate(capacity: capacity)
        for p in 0..<n {
            outRing[p] = base + layout.ringsOffset + (localRank * n + p) * layout.ringBytes
            inRing[p] = base + layout.ringsOffset + (p * n + localRank) * layout.ringBytes
            sendHead[p] = 0
            receiveTail[p] = 0
            cells[p] = layout.ringCells
            area[p] = base + NodeLayout.headerBytes + p * NodeLayout.rankAreaBytes
            pids[p] = 0
        }
        if localRank == 0 {
            base.storeBytes(of: NodeSegment.magic, as: UInt64.self)
        }
        rankWord(localRank, 0).pointee = UInt32(bitPattern: getpid())
        // The rank that completes the count unlinks the name: from then on a crash can leave
        // nothing in /dev/shm. Pairs with nothing: the counter is its own synchronization.
        let mapped = ferry_fetch_add_u32(counterWord, 1) + 1
        if Int(mapped) == layout.localSize || standalone { segment.unlink() }
    }

    deinit {
        outRing.deallocate(); inRing.deallocate(); sendHead.deallocate(); receiveTail.deallocate()
        cells.deallocate(); area.deallocate(); pids.deallocate()
    }

    private var counterWord: UnsafeMutablePointer<UInt32> {
        (base + 8).assumingMemoryBound(to: UInt32.self)
    }

    /// Word `index` of a rank's area. 0: pid (written once by the owner at start-up); 16: doorbell
    /// (bumped by any peer that wakes the owner); 17: number of the owner's threads asleep.
    @inline(__always)
    private func rankWord(_ rank: Int, _ index: Int) -> UnsafeMutablePointer<UInt32> {
        (base + NodeLayout.headerBytes + rank * NodeLayout.rankAreaBytes + index * 4)
            .assumingMemoryBound(to: UInt32.self)
    }

    /// Start of the collective area (see NodeLayout).
    public var collectiveArea: UnsafeMutableRawPointer { base + layout.collectiveOffset }

    /// Process id of a peer (for single copy).
    public func pid(ofPeer peer: Int) -> Int32 {
        if peer < layout.localSize { return Int32(bitPattern: rankWord(peer, 0).pointee) }
        return pids[peer]
    }

    /// Process id of a local rank (for single copy).
    public func pid(ofLocalRank rank: Int) -> Int32 { pid(ofPeer: rank) }

    /// Keeps a link segment mapped for the rest of the process's life.
    public func retain(_ mapping: LinkMapping) { linkMappings.append(mapping) }

    /// Adds a peer reached through a link segment: `outgoing` is the ring this process writes,
    /// `incoming` the one it reads (both `ringCells` cells of `layout.cellBytes`).
    /// Returns the new peer index.
    public func addPeer(outgoing: UnsafeMutableRawPointer, incoming: UnsafeMutableRawPointer, pid: Int32,
                        ringCells: Int) -> Int {
        if peerCount == capacity {
            let c = capacity * 2
            func grow<T>(_ p: inout UnsafeMutablePointer<T>) {
                let q = UnsafeMutablePointer<T>.allocate(capacity: c)
                q.moveInitialize(from: p, count: peerCount)
                p.deallocate()
                p = q
            }
            grow(&outRing); grow(&inRing); grow(&sendHead); grow(&receiveTail); grow(&cells); grow(&area)
            grow(&pids)
            capacity = c
        }
        let p = peerCount
        outRing[p] = outgoing
        inRing[p] = incoming
        sendHead[p] = 0
        receiveTail[p] = 0
        cells[p] = ringCells
        area[p] = nil
        pids[p] = pid
        _peerCount += 1
        hasLinks = true
        return p
    }

    /// Frames of the shared-memory rings: a cell's payload; the receiver can read the sender's
    /// memory with process_vm_readv (whether the kernel allows it is probed at the first use).
    public var capabilities: TransportCapabilities {
        TransportCapabilities(maxInlinePayload: layout.payloadBytesPerCell, singleCopy: true, ordered: true,
                              sharesMemory: true)
    }

    /// Cells of the rings to and from `peer`.
    @inline(__always)
    public func frameCapacity(ofPeer peer: Int) -> Int { cells[peer] }

    /// The ring index after `index` in rings of `n` cells.
    @inline(__always)
    private func next(_ index: Int, _ n: Int) -> Int { index &+ 1 == n ? 0 : index &+ 1 }

    // MARK: sending side

    /// The next free cell towards `destination`, or nil if the ring is full ("no resource").
    @inline(__always)
    public func reserve(to destination: Int) -> UnsafeMutablePointer<FrameHeader>? {
        let c = outRing[destination] + sendHead[destination] &* layout.cellBytes
        let flag = c.assumingMemoryBound(to: UInt32.self)
        // Acquire pairs with the receiver's release in `release(from:)`: its reads of the old
        // payload are done before we overwrite it.
        guard ferry_load_acquire_u32(flag) == 0 else { return nil }
        return c.assumingMemoryBound(to: FrameHeader.self)
    }

    /// True if the next `frames` cells towards `destination` are free (all of them if the ring
    /// has fewer).
    /// A sender that found the ring full waits on this with `frames` > 1 rather than on the
    /// next cell alone: the receiver frees cells in order, so the one polled is `frames` - 1
    /// cells away from those it is releasing, and the cache line of the cell being handed
    /// back is not fought over by the two cores once per message.
    @inline(__always)
    public func hasRoom(to destination: Int, frames: Int) -> Bool {
        let n = cells[destination]
        var i = sendHead[destination] &+ min(frames, n) &- 1
        if i >= n { i &-= n }
        let c = outRing[destination] + i &* layout.cellBytes
        return ferry_load_acquire_u32(c.assumingMemoryBound(to: UInt32.self)) == 0
    }

    /// Publishes the cell returned by the last `reserve(to:)` and rings the peer's doorbell
    /// if it is asleep.
    @inline(__always)
    public func publish(to destination: Int, _ header: UnsafeMutablePointer<FrameHeader>) {
        // Release pairs with the acquire in `peek(from:)`: header and payload are visible first.
        ferry_store_release_u32(UnsafeMutableRawPointer(header).assumingMemoryBound(to: UInt32.self), 1)
        sendHead[destination] = next(sendHead[destination], cells[destination])
        if sleepersPossible { wakeIfSleeping(destination) }
    }

    // MARK: receiving side

    /// The oldest unconsumed cell from `source`, or nil.
    @inline(__always)
    public func peek(from source: Int) -> UnsafeMutablePointer<FrameHeader>? {
        let c = inRing[source] + receiveTail[source] &* layout.cellBytes
        // Acquire pairs with the sender's release in `publish(to:_:)`.
        guard ferry_load_acquire_u32(c.assumingMemoryBound(to: UInt32.self)) == 1 else { return nil }
        return c.assumingMemoryBound(to: FrameHeader.self)
    }

    /// Hands the cell from `peek(from:)` back to its sender.
    @inline(__always)
    public func release(from source: Int, _ header: UnsafeMutablePointer<FrameHeader>) {
        // Release pairs with the acquire in the sender's `reserve(to:)`.
        ferry_store_release_u32(UnsafeMutableRawPointer(header).assumingMemoryBound(to: UInt32.self), 0)
        receiveTail[source] = next(receiveTail[source], cells[source])
        if sleepersPossible { wakeIfSleeping(source) }
    }

    /// True if any incoming ring holds a cell (used before going to sleep).
    public func anyIncoming() -> Bool {
        for s in 0..<peerCount where s != localRank {
            if peek(from: s) != nil { return true }
        }
        return false
    }

    // MARK: doorbell (blocking waits when ranks outnumber cores)

    @inline(__always)
    private func wakeIfSleeping(_ peer: Int) {
        guard let a = area[peer] else { return }
        // Dekker pairing with `sleep`: we published (seq_cst fence) then read `sleeping`; the
        // sleeper set `sleeping` (seq_cst) then re-checks the rings. One of us sees the other.
        ferry_fence_seqcst()
        if ferry_load_relaxed_u32((a + 17 * 4).assumingMemoryBound(to: UInt32.self)) != 0 {
            let bell = (a + 16 * 4).assumingMemoryBound(to: UInt32.self)
            _ = ferry_fetch_add_u32(bell, 1)
            _ = ferry_futex_wake(bell, Int32.max)
        }
    }

    /// Blocks until a peer publishes to or releases a cell of this rank, or `timeoutNanoseconds`.
    /// `stillIdle` re-checks for work after announcing sleep (closes the lost-wake-up window).
    public func sleep(timeoutNanoseconds: Int, stillIdle: () -> Bool) {
        let bell = rankWord(localRank, 16)
        let sleeping = rankWord(localRank, 17)
        let seen = ferry_load_seqcst_u32(bell)
        // A count, not a flag: several threads of one rank (MPI_THREAD_MULTIPLE) may sleep.
        _ = ferry_fetch_add_u32(sleeping, 1)
        if stillIdle() {
            // Linked peers cannot ring this doorbell, and without `sleepersPossible` the job's
            // ranks do not try: poll at least every 100 us then.
            let short = hasLinks || !sleepersPossible
            _ = ferry_futex_wait(bell, seen, short ? min(timeoutNanoseconds, 100_000) : timeoutNanoseconds)
        }
        _ = ferry_fetch_add_u32(sleeping, UInt32.max)   // -1
    }

    /// Wakes this rank's own sleepers (another thread of this process has work for them).
    public func wakeSelf() {
        _ = ferry_fetch_add_u32(rankWord(localRank, 16), 1)
        _ = ferry_futex_wake(rankWord(localRank, 16), Int32.max)
    }
}

/// A link segment: the rings between the members of two jobs joined by MPI_Comm_accept /
/// MPI_Comm_connect, created by the accepting root and mapped by every member of both sides.
/// Layout: a 4096-byte header (magic, mapped counter), then `acceptors * connectors` rings
/// from acceptor a to connector c at index a*C + c, then as many from connector c to acceptor
/// a at A*C + c*A + a; every ring has the geometry of `layout` (the same in every job, see
/// `Tunables.linkRingCells`), which may differ from the node rings' depth.
public final class LinkMapping {
    public let acceptors: Int
    public let connectors: Int
    private let segment: SharedSegment
    private let ringBytes: Int

    public static func byteCount(acceptors: Int, connectors: Int, layout: NodeLayout) -> Int {
        4096 + 2 * acceptors * connectors * layout.ringBytes
    }

    /// Creates (`create`) or opens the link segment `name`. Every one of the `acceptors +
    /// connectors` processes maps it once; the last one unlinks the name.
    public init(name: String, acceptors: Int, connectors: Int, layout: NodeLayout, create: Bool) throws(MPIError) {
        self.acceptors = acceptors
        self.connectors = connectors
        ringBytes = layout.ringBytes
        let bytes = LinkMapping.byteCount(acceptors: acceptors, connectors: connectors, layout: layout)
        segment = create ? try SharedSegment.create(name: name, byteCount: bytes)
                         : try SharedSegment.open(name: name, byteCount: bytes, timeoutSeconds: 10)
    }

    /// Removes the name now (the connection failed before anyone else mapped it).
    public func discard() { segment.unlink() }

    /// Counts this process as mapped; the last of `users` removes the name.
    public func mapped(users: Int) {
        let mapped = ferry_fetch_add_u32((segment.base + 8).assumingMemoryBound(to: UInt32.self), 1) + 1
        if Int(mapped) == users { segment.unlink() }
    }

    /// The ring from acceptor `a` to connector `c`.
    public func ring(acceptor a: Int, toConnector c: Int) -> UnsafeMutableRawPointer {
        segment.base + 4096 + (a * connectors + c) * ringBytes
    }

    /// The ring from connector `c` to acceptor `a`.
    public func ring(connector c: Int, toAcceptor a: Int) -> UnsafeMutableRawPointer {
        segment.base + 4096 + (acceptors * connectors + c * acceptors + a) * ringBytes
    }
}
