// Shared pieces of every exported function: the runtime (or the error for calling before
// MPI_Init), MPI_Status in MPICH's layout, the error path through the communicator's handler.
import FerryCore
import FerryDatatype
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

/// MPICH's `MPI_Status`: count split in two words (bit 0 of the second is "cancelled").
@frozen public struct CStatus {
    public var countLow: Int32
    public var countHighAndCancelled: Int32
    public var source: Int32
    public var tag: Int32
    public var error: Int32
}

/// MPI_STATUS_IGNORE / MPI_STATUSES_IGNORE are `(MPI_Status *)1`.
@inline(__always)
func isIgnore(_ p: UnsafeMutableRawPointer?) -> Bool { p == nil || Int(bitPattern: p) == 1 }

/// Writes a runtime status into a C status unless it is MPI_STATUS_IGNORE.
/// `setError`: MPI_ERROR is written only by the multiple-completion calls (MPI-3.1 §3.7.3).
@inline(__always)
func store(_ s: Status, _ out: UnsafeMutableRawPointer?, setError: Bool = false) {
    guard !isIgnore(out) else { return }
    let p = out!.assumingMemoryBound(to: CStatus.self)
    p.pointee.source = s.source
    p.pointee.tag = s.tag
    if setError { p.pointee.error = s.error }
    setCount(p, UInt64(s.byteCount), cancelled: s.cancelled)
}

@inline(__always)
func setCount(_ p: UnsafeMutablePointer<CStatus>, _ bytes: UInt64, cancelled: Bool) {
    p.pointee.countLow = Int32(truncatingIfNeeded: bytes & 0xffff_ffff)
    p.pointee.countHighAndCancelled = Int32(truncatingIfNeeded: (bytes >> 32) << 1) | (cancelled ? 1 : 0)
}

@inline(__always)
func byteCount(_ p: UnsafePointer<CStatus>) -> Int {
    Int(UInt64(UInt32(bitPattern: p.pointee.countLow)) | UInt64(UInt32(bitPattern: p.pointee.countHighAndCancelled) >> 1) << 32)
}

/// Writes a message to stderr (no Foundation in libmpi).
func complain(_ message: String) {
    let line = message.hasSuffix("\n") ? message : message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

/// The runtime, or nil after printing why a call made outside MPI_Init...MPI_Finalize fails.
@inline(__always)
func runtime(_ function: StaticString) -> Runtime? {
    if let rt = Runtime.shared { return rt }
    complain("ferry: \(function) called \(Runtime.wasFinalized ? "after MPI_Finalize" : "before MPI_Init")")
    return nil
}

/// The code returned when there is no runtime to report through.
let notInitialized = ErrorClass.other.rawValue

/// Applies `comm`'s error handler (world's when nil) to a failed call.
@inline(__always)
func fail(_ rc: Int32, _ rt: Runtime, _ comm: Communicator?, _ function: StaticString) -> Int32 {
    rc == 0 ? 0 : rt.handleError(rc, comm: comm, function: "\(function)")
}

/// An MPI_ERR_UNSUPPORTED_OPERATION with a message, for functions Ferry does not implement.
func unsupported(_ function: StaticString, _ why: String) -> Int32 {
    complain("ferry: \(function) is not supported: \(why)")
    guard let rt = Runtime.shared else { return ErrorClass.unsupportedOperation.rawValue }
    return rt.handleError(ErrorClass.unsupportedOperation.rawValue, comm: nil, function: "\(function)")
}

/// Converts C `int` arrays of `n` elements to Swift `[Int]`.
@inline(__always)
func ints(_ p: UnsafePointer<Int32>?, _ n: Int) -> [Int] {
    guard let p, n > 0 else { return [] }
    return (0..<n).map { Int(p[$0]) }
}

/// Copies a Swift string into a C buffer of `max` bytes (NUL-terminated), returning its length.
func copyString(_ s: String, _ out: UnsafeMutablePointer<CChar>?, max: Int) -> Int32 {
    guard let out else { return 0 }
    var n = 0
    for b in s.utf8 where n < max - 1 { out[n] = CChar(bitPattern: b); n += 1 }
    out[n] = 0
    return Int32(n)
}
