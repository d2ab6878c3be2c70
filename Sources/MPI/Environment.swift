// The process-level part of the Swift API: start-up and shut-down, clocks, the processor name,
// abort, and the attached buffer of buffered sends. Everything else hangs off `Communicator`.
// Callers: applications (`import MPI`). Calls go down to `FerryRuntime.Runtime`.
import FerryCore
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

/// An MPI error: its `code`, its standard `errorClass` (`ErrorClass`) and a description.
public typealias MPIError = FerryCore.MPIError
/// The error classes of the MPI standard (`MPI_ERR_RANK` is `.rank`, ...).
public typealias ErrorClass = FerryCore.ErrorClass
/// Thread support levels: `.single`, `.funneled`, `.serialized`, `.multiple`.
public typealias ThreadLevel = FerryRuntime.ThreadLevel
/// Result of comparing groups or communicators: `.identical`, `.congruent`, `.similar`, `.unequal`.
public typealias Comparison = FerryRuntime.Comparison
/// Send modes: `.standard`, `.synchronous`, `.ready`, `.buffered`.
public typealias SendMode = FerryRuntime.SendMode

/// Process-wide MPI functions: initialization, clocks, abort. Communication goes through
/// `Communicator`.
public enum MPI {
    /// `MPI_Init_thread`: starts MPI and returns `MPI_COMM_WORLD`.
    /// - Parameter threading: the thread support level wanted. Ferry grants every level; with
    ///   `.multiple` every call takes the runtime's lock, which is what the async methods of
    ///   this module need if several tasks communicate at once.
    @discardableResult
    public static func initialize(threading: ThreadLevel = .single) throws(MPIError) -> Communicator {
        let rt = try Runtime.initialize(threadLevel: threading)
        return Communicator(rt.world)
    }

    /// `MPI_Finalize`: deletes the attributes of `Communicator.selfProcess`, synchronizes all
    /// ranks and shuts MPI down. No MPI call is allowed afterwards.
    public static func finalize() throws(MPIError) {
        let rt = try runtime()
        if let buffer = attachedBuffer {
            _ = rt.detachBuffer()
            buffer.deallocate()
            attachedBuffer = nil
        }
        try rt.finalize()
    }

    /// `MPI_Initialized`: true between `initialize` and `finalize`.
    public static var isInitialized: Bool { Runtime.shared != nil || Runtime.wasFinalized }

    /// `MPI_Finalized`: true once `finalize` has run.
    public static var isFinalized: Bool { Runtime.wasFinalized }

    /// `MPI_Query_thread`: the granted thread level, or nil before initialization.
    public static var threadLevel: ThreadLevel? { Runtime.shared?.threadLevel }

    /// `MPI_Is_thread_main` is not tracked; this is the rank in `MPI_COMM_WORLD`, or nil.
    public static var worldRank: Int? { Runtime.shared.map { Int($0.worldRank) } }

    /// `MPI_Wtime`: seconds since an arbitrary time in the past (monotonic, per process).
    public static func wtime() -> Double {
        if let rt = Runtime.shared { return rt.wallTime }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// `MPI_Wtick`: the resolution of `wtime()` in seconds.
    public static func wtick() -> Double {
        var ts = timespec()
        clock_getres(CLOCK_MONOTONIC, &ts)
        return max(Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9, 1e-9)
    }

    /// `MPI_Get_processor_name`: the host name of this process.
    public static var processorName: String {
        var host = [CChar](repeating: 0, count: MPIConstant.maxProcessorName + 1)
        gethostname(&host, MPIConstant.maxProcessorName)
        let bytes = host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `MPI_Abort`: ends every process of the job with `code`; never returns.
    public static func abort(code: Int32 = 1, message: String = "") -> Never {
        if let rt = Runtime.shared { rt.abort(code: code, message: message) }
        exit(code == 0 ? 1 : code)
    }

    /// `MPI_Error_string`: the standard's text for an error code.
    public static func errorString(_ code: Int32) -> String {
        Runtime.shared?.errorString(of: code) ?? ErrorClass(rawValue: code)?.message ?? "error \(code)"
    }

    /// The largest valid tag (`MPI_TAG_UB`).
    public static let tagUpperBound = Int(MPIConstant.tagUpperBound)

    /// Bookkeeping bytes per message in the buffer of buffered sends (`MPI_BSEND_OVERHEAD`).
    public static let bufferedSendOverhead = MPIConstant.bsendOverhead

    nonisolated(unsafe) private static var attachedBuffer: UnsafeMutableRawPointer?

    /// `MPI_Buffer_attach`: gives buffered sends (`bsend`, `ibsend`) `bytes` of buffer space,
    /// allocated and owned by this module. Each message needs its size plus
    /// `bufferedSendOverhead` bytes.
    public static func attachBuffer(bytes: Int) throws(MPIError) {
        let rt = try runtime()
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 16)
        let rc = rt.attachBuffer(p, bytes: bytes)
        if rc != 0 {
            p.deallocate()
            try rt.check(rc, nil, "MPI_Buffer_attach")
        }
        attachedBuffer = p
    }

    /// `MPI_Buffer_detach`: waits until every buffered message has left the buffer, then
    /// releases it.
    public static func detachBuffer() throws(MPIError) {
        let rt = try runtime()
        _ = rt.detachBuffer()
        attachedBuffer?.deallocate()
        attachedBuffer = nil
    }
}

/// The initialized runtime, or the error the standard gives for calls outside init/finalize.
@inline(__always)
func runtime() throws(MPIError) -> Runtime {
    guard let rt = Runtime.shared else {
        throw MPIError(.other, Runtime.wasFinalized ? "MPI was already finalized" : "MPI is not initialized")
    }
    return rt
}

extension Runtime {
    /// Every failing call of this module goes through here: the communicator's error handler
    /// runs (the default aborts the job), then the caller gets the thrown error.
    @inline(__always)
    func check(_ rc: Int32, _ comm: FerryRuntime.Communicator?, _ function: StaticString) throws(MPIError) {
        if rc == 0 { return }
        _ = handleError(rc, comm: comm, function: "\(function)")
        throw MPIError(code: rc, "\(function)")
    }

    /// Runs a throwing runtime entry point, applying the error handler to what it throws.
    @inline(__always)
    func checked<T>(_ comm: FerryRuntime.Communicator?, _ function: StaticString,
                    _ body: () throws(MPIError) -> T) throws(MPIError) -> T {
        do {
            return try body()
        } catch {
            _ = handleError(error.code, comm: comm, function: "\(function)")
            throw error
        }
    }
}
