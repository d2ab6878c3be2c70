// MPI_Init and friends: start-up, shut-down, queries about the environment.
import FerryCore
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

private func initialize(_ level: ThreadLevel) -> Int32 {
    prepareBorrowedTypes()
    do {
        try Runtime.initialize(threadLevel: level)
        return 0
    } catch {
        // Fatal, as in MPICH: MPI_COMM_WORLD's handler is MPI_ERRORS_ARE_FATAL, and a program
        // carrying on without MPI would print results it never computed.
        complain("ferry: MPI_Init failed: \(error)")
        fflush(nil)
        _exit(error.code == 0 ? 1 : min(max(error.code, 1), 255))
    }
}

@_cdecl("PMPI_Init")
public func PMPI_Init(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    initialize(.single)
}

@_cdecl("PMPI_Init_thread")
public func PMPI_Init_thread(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?,
                             _ required: Int32, _ provided: UnsafeMutablePointer<Int32>?) -> Int32 {
    let level = ThreadLevel(rawValue: max(0, min(required, 3))) ?? .single
    let rc = initialize(level)
    provided?.pointee = level.rawValue
    return rc
}

@_cdecl("PMPI_Finalize")
public func PMPI_Finalize() -> Int32 {
    guard let rt = runtime("MPI_Finalize") else { return notInitialized }
    do { try rt.finalize() } catch { return fail(error.code, rt, nil, "MPI_Finalize") }
    return 0
}

@_cdecl("PMPI_Initialized")
public func PMPI_Initialized(_ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    flag?.pointee = (Runtime.shared != nil || Runtime.wasFinalized) ? 1 : 0
    return 0
}

@_cdecl("PMPI_Finalized")
public func PMPI_Finalized(_ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    flag?.pointee = Runtime.wasFinalized ? 1 : 0
    return 0
}

@_cdecl("PMPI_Abort")
public func PMPI_Abort(_ comm: Int32, _ code: Int32) -> Int32 {
    guard let rt = Runtime.shared else { _exit(code == 0 ? 1 : code) }
    let name = borrowComm(comm, rt).map { $0.takeUnretainedValue().name } ?? "comm \(comm)"
    rt.abort(code: code, message: "application called MPI_Abort(\(name), \(code))")
}

@_cdecl("PMPI_Query_thread")
public func PMPI_Query_thread(_ provided: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Query_thread") else { return notInitialized }
    provided?.pointee = rt.threadLevel.rawValue
    return 0
}

@_cdecl("PMPI_Is_thread_main")
public func PMPI_Is_thread_main(_ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Is_thread_main") else { return notInitialized }
    flag?.pointee = rt.isMainThread ? 1 : 0
    return 0
}

@_cdecl("PMPI_Wtime")
public func PMPI_Wtime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

@_cdecl("PMPI_Wtick")
public func PMPI_Wtick() -> Double { 1e-9 }

@_cdecl("PMPI_Get_version")
public func PMPI_Get_version(_ version: UnsafeMutablePointer<Int32>?, _ subversion: UnsafeMutablePointer<Int32>?) -> Int32 {
    version?.pointee = ferryMPIVersion.0
    subversion?.pointee = ferryMPIVersion.1
    return 0
}

/// The MPI version `mpi.h` claims (MPI_VERSION, MPI_SUBVERSION).
let ferryMPIVersion: (Int32, Int32) = (3, 1)

@_cdecl("PMPI_Get_library_version")
public func PMPI_Get_library_version(_ out: UnsafeMutablePointer<CChar>?, _ len: UnsafeMutablePointer<Int32>?) -> Int32 {
    let n = copyString("Ferry 0.1 (MPI \(ferryMPIVersion.0).\(ferryMPIVersion.1), MPICH ABI), shared memory and TCP transports",
                       out, max: 8192)
    len?.pointee = n
    return 0
}

@_cdecl("PMPI_Get_processor_name")
public func PMPI_Get_processor_name(_ out: UnsafeMutablePointer<CChar>?, _ len: UnsafeMutablePointer<Int32>?) -> Int32 {
    var host = [CChar](repeating: 0, count: 256)
    gethostname(&host, 255)
    len?.pointee = copyString(String(cString: host), out, max: 128)
    return 0
}
