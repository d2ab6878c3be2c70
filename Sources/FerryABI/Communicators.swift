// Communicator entry points.
import FerryCore
import FerryRuntime

@_cdecl("PMPI_Comm_rank")
public func PMPI_Comm_rank(_ comm: Int32, _ rank: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_rank") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_rank") }
    guard let rank else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_rank") }
    rank.pointee = c.rank
    return 0
}

@_cdecl("PMPI_Comm_size")
public func PMPI_Comm_size(_ comm: Int32, _ size: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_size") else { return notInitialized }
    guard let c = decodeComm(comm, rt), !c.isFreed else { return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_size") }
    guard let size else { return fail(ErrorClass.arg.rawValue, rt, c, "MPI_Comm_size") }
    size.pointee = Int32(c.size)
    return 0
}
