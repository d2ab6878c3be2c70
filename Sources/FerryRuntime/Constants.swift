// Special values of MPI, with the MPICH ABI's numbers so the C layer passes them through.

/// Special ranks, tags and counts.
public enum MPIConstant {
    public static let anySource: Int32 = -2
    public static let procNull: Int32 = -1
    public static let root: Int32 = -3
    public static let anyTag: Int32 = -1
    public static let undefined: Int32 = -32766
    /// Largest tag value (`MPI_TAG_UB`); tags 0...tagUpperBound are valid.
    public static let tagUpperBound: Int32 = 0x7fff_ffff
    /// Bytes of bookkeeping per buffered send in the attached buffer (`MPI_BSEND_OVERHEAD`).
    public static let bsendOverhead = 96
    public static let maxProcessorName = 128
    public static let maxObjectName = 128
    public static let maxErrorString = 512
}

/// Results of comparing groups and communicators (MPICH ABI values).
public enum Comparison: Int32, Sendable {
    case identical = 0, congruent = 1, similar = 2, unequal = 3
}

/// Thread support levels.
public enum ThreadLevel: Int32, Sendable, Comparable {
    case single = 0, funneled = 1, serialized = 2, multiple = 3
    public static func < (a: ThreadLevel, b: ThreadLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Send modes.
public enum SendMode: UInt8, Sendable {
    case standard, synchronous, ready, buffered
}
