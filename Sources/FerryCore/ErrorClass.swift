// MPI error classes, with the numeric values of the MPICH ABI so that the C layer passes them
// through unchanged. Every layer returns these as `Int32` codes on fast paths (0 = success).

/// An MPI error class (MPICH ABI values). `rawValue` is what the C API returns.
public enum ErrorClass: Int32, Sendable, CaseIterable {
    case success = 0, buffer = 1, count = 2, type = 3, tag = 4, comm = 5, rank = 6, root = 7
    case group = 8, op = 9, topology = 10, dims = 11, arg = 12, unknown = 13, truncate = 14
    case other = 15, intern = 16, inStatus = 17, pending = 18, request = 19, access = 20
    case amode = 21, badFile = 22, conversion = 23, dupDatarep = 24, fileExists = 25
    case fileInUse = 26, file = 27, info = 28, infoKey = 29, infoValue = 30, infoNokey = 31
    case io = 32, name = 33, noMem = 34, notSame = 35, noSpace = 36, noSuchFile = 37
    case port = 38, quota = 39, readOnly = 40, service = 41, spawn = 42
    case unsupportedDatarep = 43, unsupportedOperation = 44, win = 45, base = 46
    case locktype = 47, keyval = 48, rmaConflict = 49, rmaSync = 50, size = 51, disp = 52
    case assert = 53, rmaRange = 55, rmaAttach = 56, rmaShared = 57, rmaFlavor = 58
    case procAborted = 76, valueTooLarge = 77

    /// The last predefined class; user classes from `MPI_Add_error_class` start above it.
    public static let lastPredefined: Int32 = 78   // MPICH: MPI_T_ERR_NOT_SUPPORTED

    /// The standard's short description, as `MPI_Error_string` prints it.
    public var message: String {
        switch self {
        case .success: return "No MPI error"
        case .buffer: return "Invalid buffer pointer"
        case .count: return "Invalid count argument"
        case .type: return "Invalid datatype argument"
        case .tag: return "Invalid tag argument"
        case .comm: return "Invalid communicator"
        case .rank: return "Invalid rank"
        case .root: return "Invalid root"
        case .group: return "Invalid group"
        case .op: return "Invalid operation"
        case .topology: return "Invalid topology"
        case .dims: return "Invalid dimension argument"
        case .arg: return "Invalid argument"
        case .unknown: return "Unknown error"
        case .truncate: return "Message truncated on receive"
        case .other: return "Other error"
        case .intern: return "Internal error"
        case .inStatus: return "Error code is in status"
        case .pending: return "Pending request"
        case .request: return "Invalid request"
        case .access: return "Permission denied"
        case .amode: return "Invalid file access mode"
        case .badFile: return "Invalid file name"
        case .conversion: return "Data conversion error"
        case .dupDatarep: return "Data representation already registered"
        case .fileExists: return "File exists"
        case .fileInUse: return "File in use"
        case .file: return "Invalid file handle"
        case .info: return "Invalid info object"
        case .infoKey: return "Info key too long"
        case .infoValue: return "Info value too long"
        case .infoNokey: return "Info key not defined"
        case .io: return "I/O error"
        case .name: return "Service name not published"
        case .noMem: return "Out of memory"
        case .notSame: return "Collective argument not identical on all processes"
        case .noSpace: return "Not enough space"
        case .noSuchFile: return "File does not exist"
        case .port: return "Invalid port name"
        case .quota: return "Quota exceeded"
        case .readOnly: return "Read-only file or file system"
        case .service: return "Invalid service name"
        case .spawn: return "Error spawning processes"
        case .unsupportedDatarep: return "Unsupported data representation"
        case .unsupportedOperation: return "Operation not supported"
        case .win: return "Invalid window"
        case .base: return "Invalid base address"
        case .locktype: return "Invalid lock type"
        case .keyval: return "Invalid attribute key"
        case .rmaConflict: return "Conflicting accesses to window"
        case .rmaSync: return "Wrong synchronization of RMA calls"
        case .size: return "Invalid size argument"
        case .disp: return "Invalid displacement argument"
        case .assert: return "Invalid assert argument"
        case .rmaRange: return "Target memory is not part of the window"
        case .rmaAttach: return "Memory cannot be attached"
        case .rmaShared: return "Memory cannot be shared"
        case .rmaFlavor: return "Passed window has the wrong flavor"
        case .procAborted: return "Peer process aborted"
        case .valueTooLarge: return "Value too large to store"
        }
    }
}

/// The success code, spelled once.
public let mpiSuccess: Int32 = 0

/// A thrown MPI error on slow paths: the class plus a message naming what was wrong.
public struct MPIError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let detail: String
    public init(_ errorClass: ErrorClass, _ detail: String = "") {
        self.code = errorClass.rawValue
        self.detail = detail
    }
    public init(code: Int32, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }
    public var errorClass: ErrorClass { ErrorClass(rawValue: code) ?? .unknown }
    public var description: String {
        detail.isEmpty ? errorClass.message : "\(errorClass.message): \(detail)"
    }
}
