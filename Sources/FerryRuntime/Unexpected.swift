// Messages that arrived before a matching receive was posted, and matched-probe messages.
import FerryCore

/// An arrived but unmatched message: its envelope, and either its eager bytes (possibly still
/// arriving) or the rendezvous offer of its sender.
struct UnexpectedMessage {
    var context: UInt32
    var source: Int32
    var tag: Int32
    /// World rank of the sender.
    var fromWorld: Int32
    var total: Int
    /// Eager: a copy of the bytes (nil for rendezvous).
    var data: UnsafeMutableRawPointer?
    var received: Int
    var isRendezvous: Bool
    var synchronous: Bool
    var senderRequest: UInt64
    var address: UInt64
    /// A receive that matched before all eager fragments arrived.
    var waitingRequest: Int32 = -1
}

/// Where the continuation cells from one sender go.
enum Inflight {
    case none
    case request(Int32)
    case unexpected(Int)
}

/// Storage for unexpected eager messages, recycled: a message that arrives before its receive
/// borrows a buffer and gives it back when delivered, so steady traffic allocates nothing.
/// Buckets of power-of-two sizes from 64 B to 128 KiB, a few buffers each; larger messages
/// (an eager limit raised past 128 KiB) use the allocator directly.
struct BufferPool {
    private static let minShift = 6, maxShift = 17, keep = 8
    private var buckets: [ContiguousArray<UnsafeMutableRawPointer>]

    init() {
        buckets = (BufferPool.minShift...BufferPool.maxShift).map { shift in
            var b = ContiguousArray<UnsafeMutableRawPointer>()
            b.reserveCapacity(BufferPool.keep)
            // One buffer of each size up to 16 KiB from the start (32 KiB in all): the first
            // unexpected message of a size does not allocate either.
            if shift <= 14 { b.append(.allocate(byteCount: 1 << shift, alignment: 16)) }
            return b
        }
    }

    @inline(__always)
    private static func shift(_ bytes: Int) -> Int {
        let n = max(bytes, 1 << minShift)
        return Int.bitWidth - (n - 1).leadingZeroBitCount
    }

    /// A buffer of at least `bytes` bytes (16-byte aligned).
    mutating func take(_ bytes: Int) -> UnsafeMutableRawPointer {
        let s = BufferPool.shift(bytes)
        guard s <= BufferPool.maxShift else { return .allocate(byteCount: max(bytes, 1), alignment: 16) }
        if let p = buckets[s - BufferPool.minShift].popLast() { return p }
        return .allocate(byteCount: 1 << s, alignment: 16)
    }

    /// Returns a buffer from `take(bytes)` (same `bytes`).
    mutating func give(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
        let s = BufferPool.shift(bytes)
        guard s <= BufferPool.maxShift, buckets[s - BufferPool.minShift].count < BufferPool.keep else {
            p.deallocate()
            return
        }
        buckets[s - BufferPool.minShift].append(p)
    }
}
