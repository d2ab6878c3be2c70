// Attribute caching (MPI-3.1 §6.7): keyvals with copy and delete callbacks, attributes on
// communicators, and the predefined attributes of MPI_COMM_WORLD.
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

/// Copy callback: (old communicator, keyval, value) -> (error code, keep in the new one, new value).
public typealias AttributeCopy = (Communicator, Int32, UnsafeMutableRawPointer?) -> (Int32, Bool, UnsafeMutableRawPointer?)
/// Delete callback: (communicator, keyval, value) -> error code.
public typealias AttributeDelete = (Communicator, Int32, UnsafeMutableRawPointer?) -> Int32

/// Predefined attribute keys (MPICH ABI values).
public enum PredefinedKeyval {
    public static let tagUB: Int32 = 0x6440_0001
    public static let host: Int32 = 0x6440_0003
    public static let io: Int32 = 0x6440_0005
    public static let wtimeIsGlobal: Int32 = 0x6440_0007
    public static let universeSize: Int32 = 0x6440_0009
    public static let lastUsedCode: Int32 = 0x6440_000b
    public static let appnum: Int32 = 0x6440_000d
    public static let all: [Int32] = [tagUB, host, io, wtimeIsGlobal, universeSize, lastUsedCode, appnum]
}

/// The keyval registry.
public struct KeyvalTable {
    struct Entry {
        var copy: AttributeCopy?
        var delete: AttributeDelete?
        var freed = false
        var uses = 0
    }
    var entries: [Int32: Entry] = [:]
    var next: Int32 = 0x6440_0100
    /// Storage of the predefined attribute values (the C API hands out pointers to ints).
    var predefinedValues: [Int32: UnsafeMutablePointer<Int32>] = [:]

    public mutating func create(copy: AttributeCopy?, delete: AttributeDelete?) -> Int32 {
        let k = next
        next += 1
        entries[k] = Entry(copy: copy, delete: delete)
        return k
    }

    /// `MPI_Comm_free_keyval`: the key disappears once no communicator uses it.
    public mutating func free(_ k: Int32) -> Int32 {
        guard var e = entries[k], !e.freed else { return ErrorClass.keyval.rawValue }
        e.freed = true
        entries[k] = e.uses == 0 ? nil : e
        return 0
    }
}

extension Runtime {
    func predefinedAttribute(_ k: Int32) -> UnsafeMutableRawPointer? {
        if let p = keyvals.predefinedValues[k] { return UnsafeMutableRawPointer(p) }
        let value: Int32
        switch k {
        case PredefinedKeyval.tagUB: value = MPIConstant.tagUpperBound
        case PredefinedKeyval.host: value = MPIConstant.procNull
        case PredefinedKeyval.io: value = worldRank
        case PredefinedKeyval.wtimeIsGlobal: value = 0
        case PredefinedKeyval.universeSize: value = Int32(max(pmi.universeSize, worldSize))
        case PredefinedKeyval.lastUsedCode: value = errorClasses.lastUsed
        case PredefinedKeyval.appnum: value = Int32(pmi.appnum)
        default: return nil
        }
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        p.pointee = value
        keyvals.predefinedValues[k] = p
        return UnsafeMutableRawPointer(p)
    }

    public func createKeyval(copy: AttributeCopy?, delete: AttributeDelete?) -> Int32 {
        lock(); defer { unlock() }
        return keyvals.create(copy: copy, delete: delete)
    }

    public func freeKeyval(_ k: Int32) -> Int32 {
        lock(); defer { unlock() }
        if PredefinedKeyval.all.contains(k) { return ErrorClass.keyval.rawValue }
        return keyvals.free(k)
    }

    // Attribute bookkeeping (the keyval table, a communicator's values and their order) is done
    // under the runtime's lock, so threads of an MPI_THREAD_MULTIPLE program may set, get, copy
    // and delete attributes at once; the user's copy and delete callbacks run outside it, since
    // they may call MPI themselves (the lock is not recursive).

    /// `MPI_Comm_set_attr`: replaces (deleting the old value through the callback).
    public func setAttribute(_ comm: Communicator, _ k: Int32, _ v: UnsafeMutableRawPointer?) -> Int32 {
        if PredefinedKeyval.all.contains(k) { return ErrorClass.keyval.rawValue }
        lock()
        guard let e = keyvals.entries[k], !e.freed else { unlock(); return ErrorClass.keyval.rawValue }
        let old = comm.attributes[k]
        unlock()
        if let old, let d = e.delete { let rc = d(comm, k, old); if rc != 0 { return rc } }
        lock(); defer { unlock() }
        if comm.attributes.index(forKey: k) == nil {
            keyvals.entries[k]?.uses += 1
            comm.attributeOrder.append(k)
        }
        comm.attributes[k] = v
        return 0
    }

    /// `MPI_Comm_get_attr`: (found, value).
    public func getAttribute(_ comm: Communicator, _ k: Int32) -> (Int32, Bool, UnsafeMutableRawPointer?) {
        lock(); defer { unlock() }
        if PredefinedKeyval.all.contains(k) {
            guard comm === world || comm.isPredefined else { return (0, false, nil) }
            if k == PredefinedKeyval.appnum && pmi.appnum < 0 { return (0, false, nil) }
            return (0, true, predefinedAttribute(k))
        }
        guard keyvals.entries[k] != nil else { return (ErrorClass.keyval.rawValue, false, nil) }
        if let v = comm.attributes[k] { return (0, true, v) }
        return (0, false, nil)
    }

    /// `MPI_Comm_delete_attr`.
    public func deleteAttribute(_ comm: Communicator, _ k: Int32) -> Int32 {
        lock()
        guard let e = keyvals.entries[k], let old = comm.attributes[k] else { unlock(); return ErrorClass.keyval.rawValue }
        unlock()
        if let d = e.delete { let rc = d(comm, k, old); if rc != 0 { return rc } }
        lock(); defer { unlock() }
        guard comm.attributes.removeValue(forKey: k) != nil else { return 0 }   // another thread deleted it meanwhile
        comm.attributeOrder.removeAll { $0 == k }
        releaseKeyvalUse(k)
        return 0
    }

    /// Caller holds the lock.
    func releaseKeyvalUse(_ k: Int32) {
        guard var e = keyvals.entries[k] else { return }
        e.uses -= 1
        keyvals.entries[k] = e.freed && e.uses == 0 ? nil : e
    }

    /// Copies attributes into a duplicate (MPI_Comm_dup), as the copy callbacks decide.
    func copyAttributes(from old: Communicator, to new: Communicator) throws(MPIError) {
        lock()
        let order = old.attributeOrder
        unlock()
        for k in order {
            lock()
            let found = old.attributes[k].map { ($0, keyvals.entries[k]) }
            unlock()
            guard let (v, entry) = found, let e = entry, let copy = e.copy else { continue }
            let (rc, keep, nv) = copy(old, k, v)
            if rc != 0 { throw MPIError(code: rc, "attribute copy callback failed") }
            if keep {
                lock()
                new.attributes[k] = nv
                new.attributeOrder.append(k)
                keyvals.entries[k]?.uses += 1
                unlock()
            }
        }
    }

    /// Deletes every attribute (MPI_Comm_free, and MPI_COMM_SELF at finalize), in the reverse
    /// of the order in which they were set (MPI-3.1 §8.7.1 asks it for MPI_COMM_SELF).
    func deleteAllAttributes(_ comm: Communicator) throws(MPIError) {
        lock()
        let order = comm.attributeOrder
        unlock()
        for k in order.reversed() {
            let rc = deleteAttribute(comm, k)
            if rc != 0 { throw MPIError(code: rc, "attribute delete callback failed") }
        }
    }
}

/// User-defined error classes, codes and strings (MPI_Add_error_class and friends).
struct ErrorClassRegistry {
    // User classes and codes start above MPI_ERR_LASTCODE (0x3fffffff), as in MPICH.
    var lastUsed: Int32 = 0x3fff_ffff
    /// class of each user code; classes map to themselves.
    var classOf: [Int32: Int32] = [:]
    var strings: [Int32: String] = [:]

    mutating func addClass() -> Int32 {
        lastUsed += 1
        classOf[lastUsed] = lastUsed
        return lastUsed
    }
    mutating func addCode(errorClass: Int32) -> Int32? {
        guard errorClass <= ErrorClass.lastPredefined || classOf[errorClass] == errorClass else { return nil }
        lastUsed += 1
        classOf[lastUsed] = errorClass
        return lastUsed
    }
}

extension Runtime {
    /// `MPI_Error_class`.
    public func errorClass(of code: Int32) -> Int32? {
        if code >= 0 && code <= ErrorClass.lastPredefined { return ErrorClass(rawValue: code) != nil ? code : ErrorClass.unknown.rawValue }
        return errorClasses.classOf[code]
    }
    /// `MPI_Error_string`.
    public func errorString(of code: Int32) -> String? {
        if let s = errorClasses.strings[code] { return s }
        if let c = ErrorClass(rawValue: code) { return c.message }
        return errorClasses.classOf[code] != nil ? "" : nil
    }
    public func addErrorClass() -> Int32 { lock(); defer { unlock() }; return errorClasses.addClass() }
    public func addErrorCode(errorClass: Int32) -> Int32? { lock(); defer { unlock() }; return errorClasses.addCode(errorClass: errorClass) }
    public func addErrorString(code: Int32, _ s: String) -> Int32 {
        lock(); defer { unlock() }
        guard code > ErrorClass.lastPredefined, errorClasses.classOf[code] != nil else { return ErrorClass.arg.rawValue }
        errorClasses.strings[code] = s
        return 0
    }

    /// Applies `comm`'s error handler to a failed call's code and returns what the call returns.
    /// `MPI_ERRORS_ARE_FATAL` prints the error and aborts the job.
    public func handleError(_ code: Int32, comm: Communicator?, function: String) -> Int32 {
        if code == 0 { return 0 }
        let handler = comm?.errorHandler ?? world?.errorHandler ?? .fatal
        switch handler {
        case .returnCodes:
            return code
        case .user(let f):
            f(comm ?? world, code)
            return code
        case .fatal:
            let msg = "ferry: rank \(worldRank): fatal error in \(function): \(errorString(of: code) ?? "error \(code)") (error class \(errorClass(of: code) ?? code))\n"
            _ = msg.withCString { write(2, $0, strlen($0)) }
            abort(code: code, message: "")   // said just above
        }
    }
}
