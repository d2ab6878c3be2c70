// MPI_Alloc_mem and MPI_Free_mem (MPI-3.1 §8.2): ordinary heap memory (the info hints are
// accepted and ignored). Memory for shared windows is allocated by the window calls.
import FerryCore
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `baseptr` is declared `void *` but is really `void **`: it receives the address.
@_cdecl("PMPI_Alloc_mem")
public func PMPI_Alloc_mem(_ size: Int, _ info: Int32, _ baseptr: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Alloc_mem") else { return notInitialized }
    guard size >= 0 else { return fail(ErrorClass.size.rawValue, rt, nil, "MPI_Alloc_mem") }
    guard infoEntries(info) != nil else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Alloc_mem") }
    guard let baseptr else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Alloc_mem") }
    // 16-byte alignment, like malloc; size 0 still gets a unique pointer to free later.
    guard let p = malloc(max(size, 1)) else { return fail(ErrorClass.noMem.rawValue, rt, nil, "MPI_Alloc_mem") }
    baseptr.assumingMemoryBound(to: UnsafeMutableRawPointer?.self).pointee = p
    return 0
}

@_cdecl("PMPI_Free_mem")
public func PMPI_Free_mem(_ base: UnsafeMutableRawPointer?) -> Int32 {
    guard runtime("MPI_Free_mem") != nil else { return notInitialized }
    free(base)
    return 0
}
