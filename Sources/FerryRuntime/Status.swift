// The status of a completed operation, as the runtime reports it (the C layer copies it into
// MPICH's `MPI_Status` layout).

/// What a completed receive (or probe) tells: source, tag, error, bytes, cancelled.
public struct Status: Sendable, Equatable {
    public var source: Int32
    public var tag: Int32
    public var error: Int32
    /// Bytes received (`MPI_Get_count` divides by the datatype size).
    public var byteCount: Int
    public var cancelled: Bool

    public init(source: Int32 = MPIConstant.anySource, tag: Int32 = MPIConstant.anyTag,
                error: Int32 = 0, byteCount: Int = 0, cancelled: Bool = false) {
        self.source = source
        self.tag = tag
        self.error = error
        self.byteCount = byteCount
        self.cancelled = cancelled
    }

    /// The empty status the standard defines for null and inactive requests.
    public static let empty = Status()
    /// The status of an operation with `MPI_PROC_NULL`.
    public static let procNull = Status(source: MPIConstant.procNull, tag: MPIConstant.anyTag)
}
