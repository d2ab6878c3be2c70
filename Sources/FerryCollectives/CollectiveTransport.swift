// The byte-level point-to-point interface the collective algorithms run on, the reduction
// descriptor they combine with, and the tag plan. The runtime (FerryRuntime) implements the
// transport over shared memory on a communicator's collective context; the tests implement it
// with threads and mailboxes. No Foundation: this goes into libmpi.so.
import FerryCore
import FerryReduce

/// Blocking point-to-point between the ranks of one communicator, as the collectives need it.
///
/// Contract: `send` may block until the matching receive is posted (rendezvous), so the
/// algorithms never rely on buffering: every pairwise exchange goes through `sendRecv`.
/// Messages between one pair with one tag arrive in the order sent. Zero-byte messages are
/// sent and matched like any other. Each call returns 0 or an MPI error code.
/// - Note: called only from the thread that called the collective.
public protocol CollectiveTransport {
    /// This process's rank in the communicator, `0..<size`.
    var rank: Int { get }
    /// Number of ranks in the communicator.
    var size: Int { get }
    /// Blocking; messages between a pair with the same tag arrive in order. Return 0 or an MPI error code.
    func send(_ buffer: UnsafeRawBufferPointer, to dest: Int, tag: Int32) -> Int32
    /// Blocking receive of exactly `buffer.count` bytes.
    func recv(_ buffer: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32) -> Int32
    /// Simultaneous send and receive (deadlock-free pairwise exchange).
    func sendRecv(_ send: UnsafeRawBufferPointer, to dest: Int,
                  _ recv: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32) -> Int32
}

/// How to combine elements: a predefined op or a user function.
///
/// The collectives treat an element as `elementSize` opaque bytes and only ever call `combine`
/// on whole elements at element-aligned offsets of their buffers.
/// - Note: `combine` is called only on the thread that called the collective; `@unchecked
///   Sendable` lets a reducer be built on one thread and used on another, nothing more.
public struct Reducer: @unchecked Sendable {
    /// Bytes of one element as it lies in the collective's buffers (for a predefined reducer:
    /// the type's extent, padding included, because the kernels work on the C layout).
    public let elementSize: Int
    /// Whether `a op b == b op a`; non-commutative reducers get order-preserving algorithms.
    public let isCommutative: Bool
    /// `inout[i] = input[i] op inout[i]` for `count` elements, where `input` holds the
    /// LOWER-ranked operand (MPI order). Arguments: input, inout, count.
    public let combine: (UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void

    public init(elementSize: Int, isCommutative: Bool,
                combine: @escaping (UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void) {
        self.elementSize = elementSize
        self.isCommutative = isCommutative
        self.combine = combine
    }

    /// A reducer applying a predefined op through `Reduction.apply`.
    /// Every predefined op is commutative (MPI-3.1 §5.9.2).
    /// - Precondition: `Reduction.isDefined(op, on: type)` (the runtime checks it first).
    public static func predefined(_ op: PredefinedOp, _ type: BasicType) -> Reducer {
        Reducer(elementSize: type.extent, isCommutative: true) { input, target, count in
            Reduction.apply(op, type, input: input, `inout`: target, count: count)
        }
    }
}

/// Tags of the collective algorithms. Tags 1...64 are reserved for collectives; the runtime
/// sends them on the communicator's collective context, so they never match user messages.
/// One tag per collective (and per phase where a collective chains two algorithms), so a trace
/// shows which algorithm a message belongs to.
public enum CollectiveTag {
    public static let barrier: Int32 = 1
    public static let bcast: Int32 = 2
    /// Scatter phase of the scatter + ring-allgather broadcast.
    public static let bcastScatter: Int32 = 3
    /// Ring-allgather phase of the scatter + ring-allgather broadcast.
    public static let bcastAllgather: Int32 = 4
    public static let reduce: Int32 = 5
    public static let allreduce: Int32 = 6
    public static let gather: Int32 = 7
    public static let scatter: Int32 = 8
    public static let allgather: Int32 = 9
    public static let alltoall: Int32 = 10
    public static let reduceScatterBlock: Int32 = 11
    public static let scan: Int32 = 12
    public static let exscan: Int32 = 13
    /// The first and last tag reserved for collectives.
    public static let reserved: ClosedRange<Int32> = 1...64
}

/// Message-size and process-count thresholds for choosing an algorithm. Sizes are in bytes of the
/// whole local buffer (count * elementSize) unless the name says otherwise.
public enum CollectiveThresholds {
    /// bcast: at least this many bytes AND `bcastScatterAllgatherMinRanks` ranks use scatter +
    /// ring allgather (bandwidth ~2x the message); below, a binomial tree (log p full copies).
    public static let bcastScatterAllgatherMinBytes = 65536
    /// bcast: fewer ranks than this always use the binomial tree (with 2 ranks both are one copy).
    public static let bcastScatterAllgatherMinRanks = 3
    /// reduce (commutative): at least this many bytes, and at least as many elements as the
    /// largest power of two <= p, use Rabenseifner (recursive-halving reduce-scatter + binomial
    /// gather); below, a binomial tree.
    public static let reduceRabenseifnerMinBytes = 32768
    /// allreduce (commutative): at least this many bytes, and at least as many elements as the
    /// largest power of two <= p, use Rabenseifner (reduce-scatter + allgather); below,
    /// recursive doubling. Non-commutative reducers always use recursive doubling.
    public static let allreduceRabenseifnerMinBytes = 16384
    /// allgather: total result bytes (p * block) below this use recursive doubling (p a power
    /// of two) or Bruck (otherwise); at or above it, a ring.
    public static let allgatherRingMinTotalBytes = 65536
    /// alltoall: blocks of at most this many bytes, with at least `alltoallBruckMinRanks` ranks,
    /// use Bruck (log p messages, more copying); otherwise pairwise exchange.
    public static let alltoallBruckMaxBlockBytes = 256
    /// alltoall: fewer ranks than this always use pairwise exchange.
    public static let alltoallBruckMinRanks = 4
}
