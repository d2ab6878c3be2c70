// The MPI functions Ferry does not implement: MPI-IO (chapter 13). Each is exported so that
// programs using them link and run up to the call, which says on stderr why it cannot work
// and returns MPI_ERR_UNSUPPORTED_OPERATION.
// The parameter lists follow include/mpi.h and include/mpio.h (laid out by a one-off run of
// the header parser in scripts/gen-entry-points); MPI_File is a pointer, so file handles are
// raw pointers here.
import FerryCore
import FerryRuntime

// MARK: - MPI-IO

private let ioWhy = "MPI-IO is not implemented in Ferry yet"

/// The failure of every MPI-IO call. Errors in file operations go to the file's error handler,
/// and the handler of MPI_FILE_NULL (used before a file is open) is MPI_ERRORS_RETURN by
/// default (MPI 3.1 section 13.7); with no file ever open, that is the one that applies, so the
/// code is returned to the caller instead of going through MPI_COMM_WORLD's handler.
private func fileUnsupported(_ function: StaticString) -> Int32 {
    complain("ferry: \(function) is not supported: \(ioWhy)")
    return ErrorClass.unsupportedOperation.rawValue
}

@_cdecl("PMPI_File_open")
public func PMPI_File_open(_ comm: Int32, _ filename: UnsafeRawPointer?, _ amode: Int32,
                           _ info: Int32,
                           _ fh: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    fh?.pointee = nil // MPI_FILE_NULL
    return fileUnsupported("MPI_File_open")
}

@_cdecl("PMPI_File_close")
public func PMPI_File_close(_ fh: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_close")
}

@_cdecl("PMPI_File_delete")
public func PMPI_File_delete(_ filename: UnsafeRawPointer?, _ info: Int32) -> Int32 {
    fileUnsupported("MPI_File_delete")
}

@_cdecl("PMPI_File_set_size")
public func PMPI_File_set_size(_ fh: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    fileUnsupported("MPI_File_set_size")
}

@_cdecl("PMPI_File_preallocate")
public func PMPI_File_preallocate(_ fh: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    fileUnsupported("MPI_File_preallocate")
}

@_cdecl("PMPI_File_get_size")
public func PMPI_File_get_size(_ fh: UnsafeMutableRawPointer?,
                               _ size: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_size")
}

@_cdecl("PMPI_File_get_group")
public func PMPI_File_get_group(_ fh: UnsafeMutableRawPointer?,
                                _ group: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_group")
}

@_cdecl("PMPI_File_get_amode")
public func PMPI_File_get_amode(_ fh: UnsafeMutableRawPointer?,
                                _ amode: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_amode")
}

@_cdecl("PMPI_File_set_info")
public func PMPI_File_set_info(_ fh: UnsafeMutableRawPointer?, _ info: Int32) -> Int32 {
    fileUnsupported("MPI_File_set_info")
}

@_cdecl("PMPI_File_get_info")
public func PMPI_File_get_info(_ fh: UnsafeMutableRawPointer?,
                               _ infoUsed: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_info")
}

@_cdecl("PMPI_File_set_view")
public func PMPI_File_set_view(_ fh: UnsafeMutableRawPointer?, _ disp: Int, _ etype: Int32,
                               _ filetype: Int32, _ datarep: UnsafeRawPointer?,
                               _ info: Int32) -> Int32 {
    fileUnsupported("MPI_File_set_view")
}

@_cdecl("PMPI_File_get_view")
public func PMPI_File_get_view(_ fh: UnsafeMutableRawPointer?, _ disp: UnsafeMutableRawPointer?,
                               _ etype: UnsafeMutableRawPointer?,
                               _ filetype: UnsafeMutableRawPointer?,
                               _ datarep: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_view")
}

@_cdecl("PMPI_File_read_at")
public func PMPI_File_read_at(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                              _ buf: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32,
                              _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_read_at")
}

@_cdecl("PMPI_File_read_at_all")
public func PMPI_File_read_at_all(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                                  _ buf: UnsafeMutableRawPointer?, _ count: Int32,
                                  _ datatype: Int32, _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_read_at_all")
}

@_cdecl("PMPI_File_write_at")
public func PMPI_File_write_at(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                               _ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32,
                               _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_write_at")
}

@_cdecl("PMPI_File_write_at_all")
public func PMPI_File_write_at_all(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                                   _ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32,
                                   _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_write_at_all")
}

@_cdecl("PMPI_File_iread_at")
public func PMPI_File_iread_at(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                               _ buf: UnsafeMutableRawPointer?, _ count: Int32, _ datatype: Int32,
                               _ request: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_iread_at")
}

@_cdecl("PMPI_File_iread_at_all")
public func PMPI_File_iread_at_all(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                                   _ buf: UnsafeMutableRawPointer?, _ count: Int32,
                                   _ datatype: Int32,
                                   _ request: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_iread_at_all")
}

@_cdecl("PMPI_File_iwrite_at")
public func PMPI_File_iwrite_at(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                                _ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32,
                                _ request: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_iwrite_at")
}

@_cdecl("PMPI_File_iwrite_at_all")
public func PMPI_File_iwrite_at_all(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                                    _ buf: UnsafeRawPointer?, _ count: Int32, _ datatype: Int32,
                                    _ request: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_iwrite_at_all")
}

@_cdecl("PMPI_File_read")
public func PMPI_File_read(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeMutableRawPointer?,
                           _ count: Int32, _ datatype: Int32,
                           _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_read")
}

@_cdecl("PMPI_File_read_all")
public func PMPI_File_read_all(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeMutableRawPointer?,
                               _ count: Int32, _ datatype: Int32,
                               _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_read_all")
}

@_cdecl("PMPI_File_write")
public func PMPI_File_write(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                            _ count: Int32, _ datatype: Int32,
                            _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_write")
}

@_cdecl("PMPI_File_write_all")
public func PMPI_File_write_all(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                                _ count: Int32, _ datatype: Int32,
                                _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_write_all")
}

@_cdecl("PMPI_File_iread")
public func PMPI_File_iread(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeMutableRawPointer?,
                            _ count: Int32, _ datatype: Int32,
                            _ request: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_iread")
}

@_cdecl("PMPI_File_iread_all")
public func PMPI_File_iread_all(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeMutableRawPointer?,
                                _ count: Int32, _ datatype: Int32,
                                _ request: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_iread_all")
}

@_cdecl("PMPI_File_iwrite")
public func PMPI_File_iwrite(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                             _ count: Int32, _ datatype: Int32,
                             _ request: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_iwrite")
}

@_cdecl("PMPI_File_iwrite_all")
public func PMPI_File_iwrite_all(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                                 _ count: Int32, _ datatype: Int32,
                                 _ request: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_iwrite_all")
}

@_cdecl("PMPI_File_seek")
public func PMPI_File_seek(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                           _ whence: Int32) -> Int32 {
    fileUnsupported("MPI_File_seek")
}

@_cdecl("PMPI_File_get_position")
public func PMPI_File_get_position(_ fh: UnsafeMutableRawPointer?,
                                   _ offset: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_position")
}

@_cdecl("PMPI_File_get_byte_offset")
public func PMPI_File_get_byte_offset(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                                      _ disp: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_byte_offset")
}

@_cdecl("PMPI_File_read_shared")
public func PMPI_File_read_shared(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeMutableRawPointer?,
                                  _ count: Int32, _ datatype: Int32,
                                  _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_read_shared")
}

@_cdecl("PMPI_File_write_shared")
public func PMPI_File_write_shared(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                                   _ count: Int32, _ datatype: Int32,
                                   _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_write_shared")
}

@_cdecl("PMPI_File_iread_shared")
public func PMPI_File_iread_shared(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeMutableRawPointer?,
                                   _ count: Int32, _ datatype: Int32,
                                   _ request: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_iread_shared")
}

@_cdecl("PMPI_File_iwrite_shared")
public func PMPI_File_iwrite_shared(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                                    _ count: Int32, _ datatype: Int32,
                                    _ request: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_iwrite_shared")
}

@_cdecl("PMPI_File_read_ordered")
public func PMPI_File_read_ordered(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeMutableRawPointer?,
                                   _ count: Int32, _ datatype: Int32,
                                   _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_read_ordered")
}

@_cdecl("PMPI_File_write_ordered")
public func PMPI_File_write_ordered(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                                    _ count: Int32, _ datatype: Int32,
                                    _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_write_ordered")
}

@_cdecl("PMPI_File_seek_shared")
public func PMPI_File_seek_shared(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                                  _ whence: Int32) -> Int32 {
    fileUnsupported("MPI_File_seek_shared")
}

@_cdecl("PMPI_File_get_position_shared")
public func PMPI_File_get_position_shared(_ fh: UnsafeMutableRawPointer?,
                                          _ offset: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_position_shared")
}

@_cdecl("PMPI_File_read_at_all_begin")
public func PMPI_File_read_at_all_begin(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                                        _ buf: UnsafeMutableRawPointer?, _ count: Int32,
                                        _ datatype: Int32) -> Int32 {
    fileUnsupported("MPI_File_read_at_all_begin")
}

@_cdecl("PMPI_File_read_at_all_end")
public func PMPI_File_read_at_all_end(_ fh: UnsafeMutableRawPointer?,
                                      _ buf: UnsafeMutableRawPointer?,
                                      _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_read_at_all_end")
}

@_cdecl("PMPI_File_write_at_all_begin")
public func PMPI_File_write_at_all_begin(_ fh: UnsafeMutableRawPointer?, _ offset: Int,
                                         _ buf: UnsafeRawPointer?, _ count: Int32,
                                         _ datatype: Int32) -> Int32 {
    fileUnsupported("MPI_File_write_at_all_begin")
}

@_cdecl("PMPI_File_write_at_all_end")
public func PMPI_File_write_at_all_end(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                                       _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_write_at_all_end")
}

@_cdecl("PMPI_File_read_all_begin")
public func PMPI_File_read_all_begin(_ fh: UnsafeMutableRawPointer?,
                                     _ buf: UnsafeMutableRawPointer?, _ count: Int32,
                                     _ datatype: Int32) -> Int32 {
    fileUnsupported("MPI_File_read_all_begin")
}

@_cdecl("PMPI_File_read_all_end")
public func PMPI_File_read_all_end(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeMutableRawPointer?,
                                   _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_read_all_end")
}

@_cdecl("PMPI_File_write_all_begin")
public func PMPI_File_write_all_begin(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                                      _ count: Int32, _ datatype: Int32) -> Int32 {
    fileUnsupported("MPI_File_write_all_begin")
}

@_cdecl("PMPI_File_write_all_end")
public func PMPI_File_write_all_end(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                                    _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_write_all_end")
}

@_cdecl("PMPI_File_read_ordered_begin")
public func PMPI_File_read_ordered_begin(_ fh: UnsafeMutableRawPointer?,
                                         _ buf: UnsafeMutableRawPointer?, _ count: Int32,
                                         _ datatype: Int32) -> Int32 {
    fileUnsupported("MPI_File_read_ordered_begin")
}

@_cdecl("PMPI_File_read_ordered_end")
public func PMPI_File_read_ordered_end(_ fh: UnsafeMutableRawPointer?,
                                       _ buf: UnsafeMutableRawPointer?,
                                       _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_read_ordered_end")
}

@_cdecl("PMPI_File_write_ordered_begin")
public func PMPI_File_write_ordered_begin(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                                          _ count: Int32, _ datatype: Int32) -> Int32 {
    fileUnsupported("MPI_File_write_ordered_begin")
}

@_cdecl("PMPI_File_write_ordered_end")
public func PMPI_File_write_ordered_end(_ fh: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?,
                                        _ status: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_write_ordered_end")
}

@_cdecl("PMPI_File_get_type_extent")
public func PMPI_File_get_type_extent(_ fh: UnsafeMutableRawPointer?, _ datatype: Int32,
                                      _ extent: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_type_extent")
}

@_cdecl("PMPI_Register_datarep")
public func PMPI_Register_datarep(_ datarep: UnsafeRawPointer?,
                                  _ readConversionFn: UnsafeMutableRawPointer?,
                                  _ writeConversionFn: UnsafeMutableRawPointer?,
                                  _ dtypeFileExtentFn: UnsafeMutableRawPointer?,
                                  _ extraState: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_Register_datarep")
}

@_cdecl("PMPI_File_set_atomicity")
public func PMPI_File_set_atomicity(_ fh: UnsafeMutableRawPointer?, _ flag: Int32) -> Int32 {
    fileUnsupported("MPI_File_set_atomicity")
}

@_cdecl("PMPI_File_get_atomicity")
public func PMPI_File_get_atomicity(_ fh: UnsafeMutableRawPointer?,
                                    _ flag: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_atomicity")
}

@_cdecl("PMPI_File_sync")
public func PMPI_File_sync(_ fh: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_sync")
}

@_cdecl("PMPI_File_create_errhandler")
public func PMPI_File_create_errhandler(_ fileErrhandlerFn: UnsafeMutableRawPointer?,
                                        _ errhandler: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_create_errhandler")
}

@_cdecl("PMPI_File_set_errhandler")
public func PMPI_File_set_errhandler(_ file: UnsafeMutableRawPointer?,
                                     _ errhandler: Int32) -> Int32 {
    fileUnsupported("MPI_File_set_errhandler")
}

@_cdecl("PMPI_File_get_errhandler")
public func PMPI_File_get_errhandler(_ file: UnsafeMutableRawPointer?,
                                     _ errhandler: UnsafeMutableRawPointer?) -> Int32 {
    fileUnsupported("MPI_File_get_errhandler")
}

@_cdecl("PMPI_File_call_errhandler")
public func PMPI_File_call_errhandler(_ fh: UnsafeMutableRawPointer?, _ errorcode: Int32) -> Int32 {
    fileUnsupported("MPI_File_call_errhandler")
}
