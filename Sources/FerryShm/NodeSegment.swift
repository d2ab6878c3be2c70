// The node's shared segment and the per-pair rings inside it. One segment per node per job,
// created by local rank 0, named after the job id, unlinked by the last rank to map it.
// Layout (offsets, never pointers):
//   [0, 4096)              segment header: magic, mapped-rank counter
//   [4096, +128*n)         one area per local rank: pid, doorbell, sleeping flag
//   [ringsOffset, ...)     n*n rings (pair src->dst at index src*n+dst), each `ringCells` cells
import FerryCore
import FerrySys
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
    public var ringsOffset: Int {
        (NodeLayout.headerBytes + localSize * NodeLayout.rankAreaBytes + 4095) & ~4095
    }
    public var ringBytes: Int { cellBytes * ringCells }
    public var totalBytes: Int { ringsOffset + localSize * localSize * ringBytes }
    public var payloadBytesPerCell: Int { cellBytes - cellHeaderBytes }
}

/// This rank's view of the node segment: reserve/publish on outgoing rings, peek/release on
/// incoming ones, and a futex doorbell per rank for blocking waits.
/// - Note: not thread-safe; the runtime calls it under its progress lock.
public final class NodeSegment {
    public let layout: NodeLayout
    public let localRank: Int
    private let segment: SharedSegment
    private let base: UnsafeMutableRawPointer
    /// Next cell index to fill, per destination (local to this process).
    private var sendHead: [Int]
    /// Next cell index to consume, per source (local to this process).
    private var receiveTail: [Int]
    private let cellMask: Int
    private let cellsPowerOfTwo: Bool

    private static let magic: UInt64 = 0x4645_5252_5953_484D  // "FERRYSHM"

    /// Creates (local rank 0) or opens (others) the segment of job `jobID`.
    public init(jobID: String, localRank: Int, layout: NodeLayout) throws(MPIError) {
        let name = "/ferry-\(jobID)-node0"
        self.layout = layout
        self.localRank = localRank
        if localRank == 0 {
            segment = try SharedSegment.create(name: name, byteCount: layout.totalBytes)
        } else {
            segment = try SharedSegment.open(name: name, byteCount: layout.totalBytes)
        }
        base = segment.base
        sendHead = Array(repeating: 0, count: layout.localSize)
        receiveTail = Array(repeating: 0, count: layout.localSize)
        cellsPowerOfTwo = layout.ringCells & (layout.ringCells - 1) == 0
        cellMask = layout.ringCells - 1
        if localRank == 0 {
            base.storeBytes(of: NodeSegment.magic, as: UInt64.self)
        }
        rankWord(localRank, 0).pointee = UInt32(bitPattern: getpid())
        // The rank that completes the count unlinks the name: from then on a crash can leave
        // nothing in /dev/shm. Pairs with nothing: the counter is its own synchronization.
        let mapped = ferry_fetch_add_u32(counterWord, 1) + 1
        if Int(mapped) == layout.localSize { segment.unlink() }
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

    /// Process id of a local rank (for single copy).
    public func pid(ofLocalRank rank: Int) -> Int32 { Int32(bitPattern: rankWord(rank, 0).pointee) }

    @inline(__always)
    private func slot(_ index: Int) -> Int { cellsPowerOfTwo ? index & cellMask : index % layout.ringCells }

    @inline(__always)
    private func cell(from source: Int, to destination: Int, index: Int) -> UnsafeMutableRawPointer {
        base + layout.ringsOffset + (source * layout.localSize + destination) * layout.ringBytes
            + slot(index) * layout.cellBytes
    }

    // MARK: sending side

    /// The next free cell towards `destination`, or nil if the ring is full ("no resource").
    @inline(__always)
    public func reserve(to destination: Int) -> UnsafeMutablePointer<CellHeader>? {
        let c = cell(from: localRank, to: destination, index: sendHead[destination])
        let flag = c.assumingMemoryBound(to: UInt32.self)
        // Acquire pairs with the receiver's release in `release(from:)`: its reads of the old
        // payload are done before we overwrite it.
        guard ferry_load_acquire_u32(flag) == 0 else { return nil }
        return c.assumingMemoryBound(to: CellHeader.self)
    }

    /// Publishes the cell returned by the last `reserve(to:)` and rings the peer's doorbell
    /// if it is asleep.
    @inline(__always)
    public func publish(to destination: Int, _ header: UnsafeMutablePointer<CellHeader>) {
        // Release pairs with the acquire in `peek(from:)`: header and payload are visible first.
        ferry_store_release_u32(UnsafeMutableRawPointer(header).assumingMemoryBound(to: UInt32.self), 1)
        sendHead[destination] &+= 1
        wakeIfSleeping(destination)
    }

    // MARK: receiving side

    /// The oldest unconsumed cell from `source`, or nil.
    @inline(__always)
    public func peek(from source: Int) -> UnsafeMutablePointer<CellHeader>? {
        let c = cell(from: source, to: localRank, index: receiveTail[source])
        // Acquire pairs with the sender's release in `publish(to:_:)`.
        guard ferry_load_acquire_u32(c.assumingMemoryBound(to: UInt32.self)) == 1 else { return nil }
        return c.assumingMemoryBound(to: CellHeader.self)
    }

    /// Hands the cell from `peek(from:)` back to its sender.
    @inline(__always)
    public func release(from source: Int, _ header: UnsafeMutablePointer<CellHeader>) {
        // Release pairs with the acquire in the sender's `reserve(to:)`.
        ferry_store_release_u32(UnsafeMutableRawPointer(header).assumingMemoryBound(to: UInt32.self), 0)
        receiveTail[source] &+= 1
        wakeIfSleeping(source)
    }

    /// True if any incoming ring holds a cell (used before going to sleep).
    public func anyIncoming() -> Bool {
        for s in 0..<layout.localSize where s != localRank {
            if peek(from: s) != nil { return true }
        }
        return false
    }

    // MARK: doorbell (blocking waits when ranks outnumber cores)

    @inline(__always)
    private func wakeIfSleeping(_ rank: Int) {
        // Dekker pairing with `sleep`: we published (seq_cst fence) then read `sleeping`; the
        // sleeper set `sleeping` (seq_cst) then re-checks the rings. One of us sees the other.
        ferry_fence_seqcst()
        if ferry_load_relaxed_u32(rankWord(rank, 17)) != 0 {
            _ = ferry_fetch_add_u32(rankWord(rank, 16), 1)
            _ = ferry_futex_wake(rankWord(rank, 16), Int32.max)
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
            _ = ferry_futex_wait(bell, seen, timeoutNanoseconds)
        }
        _ = ferry_fetch_add_u32(sleeping, UInt32.max)   // -1
    }

    /// Wakes this rank's own sleepers (another thread of this process has work for them).
    public func wakeSelf() { 
        _ = ferry_fetch_add_u32(rankWord(localRank, 16), 1)
        _ = ferry_futex_wake(rankWord(localRank, 16), Int32.max)
    }
}
