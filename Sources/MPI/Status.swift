// Status of completed receives and probes, and the source/tag specifiers with their wildcards.
import FerryCore
import FerryRuntime

/// Which sender a receive or probe accepts: a rank (integer literals work), `.any`
/// (`MPI_ANY_SOURCE`) or `.none` (`MPI_PROC_NULL`: completes at once, receives nothing).
public struct Source: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The runtime's value (a rank or a special constant).
    public let rawValue: Int32
    /// Messages from rank `r` of the communicator (of the remote group for intercommunicators).
    public static func rank(_ r: Int) -> Source { Source(rawValue: Int32(clamping: r)) }
    /// `MPI_ANY_SOURCE`.
    public static let any = Source(rawValue: MPIConstant.anySource)
    /// `MPI_PROC_NULL`.
    public static let none = Source(rawValue: MPIConstant.procNull)
    /// A rank given as a literal.
    public init(integerLiteral value: Int) { rawValue = Int32(clamping: value) }
    init(rawValue: Int32) { self.rawValue = rawValue }
    /// "any", "none" or the rank.
    public var description: String {
        rawValue == MPIConstant.anySource ? "any" : rawValue == MPIConstant.procNull ? "none" : "\(rawValue)"
    }
}

/// Which tag a receive or probe accepts: a value (integer literals work) or `.any` (`MPI_ANY_TAG`).
public struct Tag: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The runtime's value.
    public let rawValue: Int32
    /// Exactly tag `t`.
    public static func value(_ t: Int) -> Tag { Tag(rawValue: Int32(clamping: t)) }
    /// `MPI_ANY_TAG`.
    public static let any = Tag(rawValue: MPIConstant.anyTag)
    /// A tag given as a literal.
    public init(integerLiteral value: Int) { rawValue = Int32(clamping: value) }
    init(rawValue: Int32) { self.rawValue = rawValue }
    /// "any" or the tag.
    public var description: String { rawValue == MPIConstant.anyTag ? "any" : "\(rawValue)" }
}

/// The rank of a point-to-point peer, as the standard allows it in sends (`MPI_PROC_NULL` is
/// spelled `Communicator.noProcess`).
extension Communicator {
    /// `MPI_PROC_NULL` as a destination rank: sends to it complete at once and do nothing.
    public static let noProcess = Int(MPIConstant.procNull)
}

/// What a completed receive or probe reports.
public struct Status: Sendable, Equatable, CustomStringConvertible {
    /// The runtime's status.
    public let raw: FerryRuntime.Status
    /// Wraps a runtime status.
    public init(_ raw: FerryRuntime.Status) { self.raw = raw }

    /// Rank of the sender (`Communicator.noProcess` for a receive from `.none`).
    public var source: Int { Int(raw.source) }
    /// Tag of the message.
    public var tag: Int { Int(raw.tag) }
    /// Bytes received.
    public var byteCount: Int { raw.byteCount }
    /// `MPI_Test_cancelled`: the operation was cancelled.
    public var isCancelled: Bool { raw.cancelled }
    /// The error of this operation (multi-request calls), or nil.
    public var error: MPIError? { raw.error == 0 ? nil : MPIError(code: raw.error) }

    /// `MPI_Get_count`: number of `T` received, or nil (`MPI_UNDEFINED`) if the bytes are not
    /// a whole number of elements.
    public func count<T: MPIElement>(of type: T.Type) -> Int? { count(of: T.mpiDatatype) }

    /// `MPI_Get_count` for a datatype.
    public func count(of datatype: Datatype) -> Int? {
        let size = datatype.size
        if size == 0 { return raw.byteCount == 0 ? 0 : nil }
        return raw.byteCount % size == 0 ? raw.byteCount / size : nil
    }

    /// `MPI_Get_elements`: basic elements received (pair types count two), or nil.
    public func elements(of datatype: Datatype) -> Int? { datatype.raw.basicElements(inBytes: raw.byteCount) }

    /// "source 1, tag 7, 12 bytes".
    public var description: String {
        "source \(raw.source), tag \(raw.tag), \(raw.byteCount) bytes\(raw.cancelled ? ", cancelled" : "")"
    }
}
