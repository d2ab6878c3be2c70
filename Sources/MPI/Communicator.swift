// `Communicator`: the handle applications talk through. This file holds identity, naming,
// groups, error handlers and attributes; point-to-point, collectives and communicator
// management are extensions in their own files.
import FerryCore
import FerryRuntime

/// A group of processes (`MPI_Group`): `union`, `intersection`, `difference`,
/// `including(_:)`, `excluding(_:)`, `translate(_:to:)`, `compare(_:)`, `size`, `rank`.
public typealias Group = FerryRuntime.Group

/// A communication context over a group of processes (`MPI_Comm`). A small value: copies
/// name the same communicator.
public struct Communicator: @unchecked Sendable, Hashable, CustomStringConvertible {
    /// The runtime's communicator.
    public let raw: FerryRuntime.Communicator

    /// Wraps a runtime communicator.
    public init(_ raw: FerryRuntime.Communicator) { self.raw = raw }

    /// Same communicator object.
    public static func == (a: Communicator, b: Communicator) -> Bool { a.raw === b.raw }
    /// Hashes the object identity.
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(raw)) }

    /// `MPI_COMM_WORLD`. - Precondition: MPI is initialized.
    public static var world: Communicator {
        guard let rt = Runtime.shared else { preconditionFailure("MPI is not initialized") }
        return Communicator(rt.world)
    }

    /// `MPI_COMM_SELF`: this process alone. - Precondition: MPI is initialized.
    public static var selfProcess: Communicator {
        guard let rt = Runtime.shared else { preconditionFailure("MPI is not initialized") }
        return Communicator(rt.selfComm)
    }

    /// `MPI_Comm_rank`: this process's rank, 0..<size.
    public var rank: Int { Int(raw.rank) }
    /// `MPI_Comm_size`: number of processes (of the local group for intercommunicators).
    public var size: Int { raw.size }
    /// `MPI_Comm_test_inter`.
    public var isIntercommunicator: Bool { raw.isInter }
    /// `MPI_Comm_remote_size`: size of the remote group; 0 for intracommunicators.
    public var remoteSize: Int { raw.remoteGroup?.size ?? 0 }
    /// `MPI_Comm_group`.
    public var group: Group { raw.group }
    /// `MPI_Comm_remote_group`: nil for intracommunicators.
    public var remoteGroup: Group? { raw.remoteGroup }

    /// `MPI_Comm_get_name` / `MPI_Comm_set_name`.
    public var name: String {
        get { raw.name }
        nonmutating set { raw.name = String(newValue.prefix(MPIConstant.maxObjectName - 1)) }
    }

    /// "MPI_COMM_WORLD (rank 0 of 4)".
    public var description: String { "\(raw.name.isEmpty ? "communicator" : raw.name) (rank \(rank) of \(size))" }

    // MARK: error handling

    /// What happens when a call on a communicator fails.
    public enum ErrorHandler: @unchecked Sendable {
        /// `MPI_ERRORS_ARE_FATAL` (the default): print the error and abort the job.
        case fatal
        /// `MPI_ERRORS_RETURN`: the call throws an `MPIError` with the standard's class.
        case returnErrors
        /// A handler of your own; it runs, then the call throws.
        case custom((Communicator, MPIError) -> Void)
    }

    /// `MPI_Comm_set_errhandler` / `MPI_Comm_get_errhandler`.
    public var errorHandler: ErrorHandler {
        get {
            switch raw.errorHandler {
            case .fatal: return .fatal
            case .returnCodes: return .returnErrors
            case .user(let f):
                return .custom { c, e in f(c.raw, e.code) }
            }
        }
        nonmutating set {
            switch newValue {
            case .fatal: raw.errorHandler = .fatal
            case .returnErrors: raw.errorHandler = .returnCodes
            case .custom(let f):
                raw.errorHandler = .user { c, code in f(Communicator(c), MPIError(code: code)) }
            }
        }
    }

    /// `MPI_Comm_call_errhandler`: runs the handler on `error` as a failed call would.
    public func callErrorHandler(_ error: MPIError) throws(MPIError) {
        let rt = try runtime()
        try rt.check(error.code, raw, "MPI_Comm_call_errhandler")
    }

    // MARK: predefined attributes

    /// `MPI_TAG_UB`.
    public var tagUpperBound: Int { Int(MPIConstant.tagUpperBound) }

    /// `MPI_UNIVERSE_SIZE` (on `world`), or nil.
    public var universeSize: Int? { predefinedAttribute(PredefinedKeyval.universeSize) }

    /// `MPI_APPNUM` (on `world`), or nil.
    public var applicationNumber: Int? { predefinedAttribute(PredefinedKeyval.appnum) }

    private func predefinedAttribute(_ k: Int32) -> Int? {
        guard let rt = Runtime.shared else { return nil }
        let (rc, found, v) = rt.getAttribute(raw, k)
        guard rc == 0, found, let v else { return nil }
        return Int(v.load(as: Int32.self))
    }

    // MARK: attributes

    /// `MPI_Comm_set_attr`: attaches `value` under `key`, replacing (and releasing) any old value.
    public func setAttribute<Value>(_ key: Keyval<Value>, _ value: Value) throws(MPIError) {
        let rt = try runtime()
        let box = Unmanaged.passRetained(AttributeBox(value)).toOpaque()
        let rc = rt.setAttribute(raw, key.id, box)
        if rc != 0 { Unmanaged<AttributeBox<Value>>.fromOpaque(box).release() }
        try rt.check(rc, raw, "MPI_Comm_set_attr")
    }

    /// `MPI_Comm_get_attr`: the value under `key`, or nil.
    public func attribute<Value>(_ key: Keyval<Value>) throws(MPIError) -> Value? {
        let rt = try runtime()
        let (rc, found, v) = rt.getAttribute(raw, key.id)
        try rt.check(rc, raw, "MPI_Comm_get_attr")
        guard found, let v else { return nil }
        return Unmanaged<AttributeBox<Value>>.fromOpaque(v).takeUnretainedValue().value
    }

    /// `MPI_Comm_delete_attr`: removes (and releases) the value under `key`.
    public func deleteAttribute<Value>(_ key: Keyval<Value>) throws(MPIError) {
        let rt = try runtime()
        try rt.check(rt.deleteAttribute(raw, key.id), raw, "MPI_Comm_delete_attr")
    }
}

/// Holds a Swift attribute value; the runtime stores a retained pointer to it.
final class AttributeBox<Value> {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A typed attribute key (`MPI_Comm_create_keyval`). Values are Swift values, retained while
/// attached; `dup()` copies them to the new communicator when `copiedOnDuplicate`.
public struct Keyval<Value>: @unchecked Sendable, Hashable {
    /// The runtime's key.
    public let id: Int32

    /// Creates a key. `copiedOnDuplicate`: whether `Communicator.dup()` carries the value over
    /// (`MPI_COMM_DUP_FN`) or drops it (`MPI_COMM_NULL_COPY_FN`).
    public init(copiedOnDuplicate: Bool = true) throws(MPIError) {
        let rt = try runtime()
        let copy: AttributeCopy = { _, _, v in
            guard copiedOnDuplicate, let v else { return (0, false, nil) }
            _ = Unmanaged<AttributeBox<Value>>.fromOpaque(v).retain()
            return (0, true, v)
        }
        let delete: AttributeDelete = { _, _, v in
            if let v { Unmanaged<AttributeBox<Value>>.fromOpaque(v).release() }
            return 0
        }
        id = rt.createKeyval(copy: copy, delete: delete)
    }

    /// `MPI_Comm_free_keyval`: the key disappears once no communicator holds a value for it.
    public func free() throws(MPIError) {
        let rt = try runtime()
        try rt.check(rt.freeKeyval(id), nil, "MPI_Comm_free_keyval")
    }
}
