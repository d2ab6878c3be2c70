// Handles of the C API (MPICH ABI): 32-bit integers that name communicators, groups,
// datatypes, ops, requests, messages, error handlers, info objects and windows. Predefined
// objects keep MPICH's values; user objects get `base + index` in a fixed-capacity table that
// never moves, so the hot path reads it without a lock (writers hold `abiLock`).
import FerryCore
import FerryDatatype
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

/// MPICH's handle values for the predefined objects and the null handles.
enum Handle {
    static let commNull: Int32 = 0x0400_0000
    static let commWorld: Int32 = 0x4400_0000
    static let commSelf: Int32 = 0x4400_0001
    static let groupNull: Int32 = 0x0800_0000
    static let groupEmpty: Int32 = 0x4800_0000
    static let datatypeNull: Int32 = 0x0c00_0000
    static let opNull: Int32 = 0x1800_0000
    static let errhandlerNull: Int32 = 0x1400_0000
    static let errorsAreFatal: Int32 = 0x5400_0000
    static let errorsReturn: Int32 = 0x5400_0001
    static let errorsAbort: Int32 = 0x5400_0003
    static let infoNull: Int32 = 0x1c00_0000
    static let infoEnv: Int32 = 0x5c00_0001
    static let requestNull: Int32 = 0x2c00_0000
    static let messageNull: Int32 = 0x2c00_0000
    static let messageNoProc: Int32 = 0x6c00_0000
    static let winNull: Int32 = 0x2000_0000
    /// Bases of user handles (MPICH's "direct" kind bits for each object type).
    static let commBase: Int32 = Int32(bitPattern: 0x8400_0000)
    static let groupBase: Int32 = Int32(bitPattern: 0x8800_0000)
    /// Derived datatypes start after MPICH's five direct pair types (0x8c000000...04).
    static let typeBase: Int32 = Int32(bitPattern: 0x8c00_0100)
    static let opBase: Int32 = Int32(bitPattern: 0x9800_0000)
    static let errhandlerBase: Int32 = Int32(bitPattern: 0x9400_0000)
    static let infoBase: Int32 = Int32(bitPattern: 0x9c00_0000)
    static let winBase: Int32 = Int32(bitPattern: 0xa000_0000)
    static let requestBase: Int32 = Int32(bitPattern: 0xac00_0000)
    static let messageBase: Int32 = Int32(bitPattern: 0xec00_0000)
    /// Low 26 bits of a user handle: the table index.
    static let indexMask: Int32 = 0x03ff_ffff
}

/// Guards every table mutation (object creation and destruction are slow paths).
nonisolated(unsafe) let abiLock: UnsafeMutablePointer<pthread_mutex_t> = {
    let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    pthread_mutex_init(m, nil)
    return m
}()

@inline(__always) func withABILock<T>(_ body: () -> T) -> T {
    pthread_mutex_lock(abiLock); defer { pthread_mutex_unlock(abiLock) }
    return body()
}

/// A table of user objects: `base + index`. Capacity is fixed so that readers never see it move.
final class HandleTable<Object: AnyObject>: @unchecked Sendable {
    let base: Int32
    let capacity: Int
    private let slots: UnsafeMutablePointer<Unmanaged<Object>?>
    @exclusivity(unchecked) private var freeList: [Int32] = []
    @exclusivity(unchecked) private var used = 0
    /// Handle of each live object, for callbacks that hand objects back to C.
    @exclusivity(unchecked) private var reverse: [ObjectIdentifier: Int32] = [:]

    init(base: Int32, capacity: Int = 1 << 16) {
        self.base = base
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
    }

    /// Registers `object` and returns its handle, or nil when the table is full.
    func insert(_ object: Object) -> Int32? {
        withABILock {
            let i: Int32
            if let f = freeList.popLast() { i = f } else {
                guard used < capacity else { return nil }
                i = Int32(used); used += 1
            }
            slots[Int(i)] = Unmanaged.passRetained(object)
            let h = base &+ i
            // An object may have several handles (MPI_Type_get_contents hands out new ones);
            // `handle(of:)` keeps answering with the first live one.
            if reverse[ObjectIdentifier(object)] == nil { reverse[ObjectIdentifier(object)] = h }
            return h
        }
    }

    /// The object of a handle, borrowed (no retain), or nil.
    @inline(__always)
    func borrow(_ h: Int32) -> Unmanaged<Object>? {
        guard h & ~Handle.indexMask == base & ~Handle.indexMask else { return nil }
        let i = Int(h & Handle.indexMask) - Int(base & Handle.indexMask)
        guard i >= 0 && i < capacity else { return nil }
        return slots[i]
    }

    /// The object of a handle, or nil for anything that is not a live handle of this table.
    @inline(__always)
    func lookup(_ h: Int32) -> Object? {
        guard h & ~Handle.indexMask == base & ~Handle.indexMask else { return nil }
        let i = Int(h & Handle.indexMask) - Int(base & Handle.indexMask)
        guard i >= 0 && i < capacity else { return nil }
        return slots[i]?.takeUnretainedValue()
    }

    /// Forgets a handle (the object lives on while Swift code holds it).
    func remove(_ h: Int32) {
        withABILock {
            let i = Int(h & Handle.indexMask) - Int(base & Handle.indexMask)
            guard i >= 0 && i < capacity, let u = slots[i] else { return }
            let key = ObjectIdentifier(u.takeUnretainedValue())
            if reverse[key] == h { reverse[key] = nil }
            slots[i] = nil
            u.release()
            freeList.append(Int32(i))
        }
    }

    /// The handle an object was registered under.
    func handle(of object: Object) -> Int32? {
        withABILock { reverse[ObjectIdentifier(object)] }
    }
}

/// Error handler objects (user handlers wrap a C function).
final class ErrhandlerObject {
    enum Kind { case fatal, returnCodes, abort, comm(CommErrhandlerFunction), win(CommErrhandlerFunction), file(CommErrhandlerFunction) }
    let kind: Kind
    init(_ kind: Kind) { self.kind = kind }
}
/// `void (MPI_Comm *, int *, ...)`: the C error handler signature (variadic part unused).
typealias CommErrhandlerFunction = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Void

/// Op objects: predefined or user (C function).
final class OpObject {
    let operation: Operation
    let isCommutative: Bool
    init(_ operation: Operation, commutative: Bool) {
        self.operation = operation
        isCommutative = commutative
    }
}

/// Every table, plus the predefined datatype objects indexed by the low byte of MPICH's handle.
enum ABI {
    static let comms = HandleTable<Communicator>(base: Handle.commBase)
    static let groups = HandleTable<Group>(base: Handle.groupBase)
    static let types = HandleTable<Datatype>(base: Handle.typeBase)
    static let ops = HandleTable<OpObject>(base: Handle.opBase)
    static let errhandlers = HandleTable<ErrhandlerObject>(base: Handle.errhandlerBase)

    /// Predefined datatypes: `0x4c00SSII` (SS = size, II = index) and the five direct pair
    /// types `0x8c0000II`. Index → object.
    nonisolated(unsafe) static let namedTypes: [Datatype?] = {
        var t = [Datatype?](repeating: nil, count: 256)
        for (index, basic, name) in predefinedTypeTable {
            t[index] = Datatype.predefined(basic).name == name ? Datatype.predefined(basic)
                : Datatype.predefinedAlias(of: basic, name: name)
        }
        for (index, basic, count, name) in compositeTypeTable {
            t[index] = Datatype.predefinedComposite(of: basic, count: count, name: name)
        }
        return t
    }()
    nonisolated(unsafe) static let pairTypes: [Datatype] = [
        Datatype.predefined(.floatInt), Datatype.predefined(.doubleInt), Datatype.predefined(.longInt),
        Datatype.predefined(.shortInt), Datatype.predefined(.longDoubleInt),
    ]
    /// Handle of each predefined type object (for MPI_Type_get_contents and callbacks).
    nonisolated(unsafe) static let predefinedHandles: [ObjectIdentifier: Int32] = {
        var m: [ObjectIdentifier: Int32] = [:]
        for (index, basic, _) in predefinedTypeTable {
            if let d = namedTypes[index] { m[ObjectIdentifier(d)] = 0x4c00_0000 | Int32(basic.size) << 8 | Int32(index) }
        }
        for (index, basic, count, _) in compositeTypeTable {
            if let d = namedTypes[index] { m[ObjectIdentifier(d)] = 0x4c00_0000 | Int32(basic.size * count) << 8 | Int32(index) }
        }
        for (k, d) in pairTypes.enumerated() { m[ObjectIdentifier(d)] = Int32(bitPattern: 0x8c00_0000) | Int32(k) }
        m[ObjectIdentifier(Datatype.predefined(.twoInt))] = 0x4c00_0816
        m[ObjectIdentifier(Datatype.predefined(.longDouble))] = 0x4c00_100c
        return m
    }()
}

/// (low byte of the MPICH handle, layout, name) for every predefined datatype we accept.
/// The size byte of the handle must match the layout's size (checked in decoding).
let predefinedTypeTable: [(Int, BasicType, String)] = [
    (0x01, .char, "MPI_CHAR"), (0x18, .signedChar, "MPI_SIGNED_CHAR"), (0x02, .unsignedChar, "MPI_UNSIGNED_CHAR"),
    (0x0d, .byte, "MPI_BYTE"), (0x0e, .wchar, "MPI_WCHAR"), (0x03, .short, "MPI_SHORT"),
    (0x04, .unsignedShort, "MPI_UNSIGNED_SHORT"), (0x05, .int, "MPI_INT"), (0x06, .unsigned, "MPI_UNSIGNED"),
    (0x07, .long, "MPI_LONG"), (0x08, .unsignedLong, "MPI_UNSIGNED_LONG"), (0x0a, .float, "MPI_FLOAT"),
    (0x0b, .double, "MPI_DOUBLE"), (0x0c, .longDouble, "MPI_LONG_DOUBLE"), (0x09, .longLong, "MPI_LONG_LONG_INT"),
    (0x19, .unsignedLongLong, "MPI_UNSIGNED_LONG_LONG"), (0x0f, .packed, "MPI_PACKED"), (0x16, .twoInt, "MPI_2INT"),
    (0x37, .int8, "MPI_INT8_T"), (0x38, .int16, "MPI_INT16_T"), (0x39, .int32, "MPI_INT32_T"), (0x3a, .int64, "MPI_INT64_T"),
    (0x3b, .uint8, "MPI_UINT8_T"), (0x3c, .uint16, "MPI_UINT16_T"), (0x3d, .uint32, "MPI_UINT32_T"),
    // MPI_C_COMPLEX and MPI_C_FLOAT_COMPLEX are one handle; the standard (§6.8) makes either
    // name its default name, and MPICH reports MPI_C_COMPLEX (its datatype/typename checks it).
    (0x3e, .uint64, "MPI_UINT64_T"), (0x3f, .bool, "MPI_C_BOOL"), (0x40, .floatComplex, "MPI_C_COMPLEX"),
    (0x41, .doubleComplex, "MPI_C_DOUBLE_COMPLEX"), (0x42, .longDoubleComplex, "MPI_C_LONG_DOUBLE_COMPLEX"),
    (0x43, .aint, "MPI_AINT"), (0x44, .offset, "MPI_OFFSET"), (0x45, .count, "MPI_COUNT"),
    // C++ and Fortran predefined types, laid out as their C equivalents on this platform.
    (0x33, .bool, "MPI_CXX_BOOL"), (0x34, .floatComplex, "MPI_CXX_FLOAT_COMPLEX"),
    (0x35, .doubleComplex, "MPI_CXX_DOUBLE_COMPLEX"), (0x36, .longDoubleComplex, "MPI_CXX_LONG_DOUBLE_COMPLEX"),
    (0x1a, .char, "MPI_CHARACTER"), (0x1b, .int, "MPI_INTEGER"), (0x1c, .float, "MPI_REAL"), (0x1d, .int, "MPI_LOGICAL"),
    (0x1e, .floatComplex, "MPI_COMPLEX"), (0x1f, .double, "MPI_DOUBLE_PRECISION"), (0x22, .doubleComplex, "MPI_DOUBLE_COMPLEX"),
    (0x20, .twoInt, "MPI_2INTEGER"), (0x27, .float, "MPI_REAL4"), (0x29, .double, "MPI_REAL8"),
    (0x28, .floatComplex, "MPI_COMPLEX8"), (0x2a, .doubleComplex, "MPI_COMPLEX16"),
    (0x2d, .int8, "MPI_INTEGER1"), (0x2f, .int16, "MPI_INTEGER2"), (0x30, .int32, "MPI_INTEGER4"), (0x31, .int64, "MPI_INTEGER8"),
]

/// Fortran predefined types with no C basic type: (low byte, element, count, name).
/// REAL16 and COMPLEX32 are quad precision: carried as 16 / 32 bytes, not reducible.
let compositeTypeTable: [(Int, BasicType, Int, String)] = [
    (0x21, .float, 2, "MPI_2REAL"), (0x23, .double, 2, "MPI_2DOUBLE_PRECISION"),
    (0x2b, .byte, 16, "MPI_REAL16"), (0x2c, .byte, 32, "MPI_COMPLEX32"),
]

// MARK: decoding

/// Predefined datatypes by handle low byte, borrowed without reference counting (filled in
/// MPI_Init; a plain global, so reading it costs no lazy-initialization check).
@exclusivity(unchecked) nonisolated(unsafe) var namedTypeRefs: UnsafeMutablePointer<Unmanaged<Datatype>?>? = nil

func prepareBorrowedTypes() {
    guard namedTypeRefs == nil else { return }
    let t = UnsafeMutablePointer<Unmanaged<Datatype>?>.allocate(capacity: 256)
    for i in 0..<256 { t[i] = ABI.namedTypes[i].map { Unmanaged.passUnretained($0) } }
    namedTypeRefs = t
}

/// The communicator of a handle, borrowed (no retain): the handle table or the runtime owns it.
@inline(__always)
func borrowComm(_ h: Int32, _ rt: Runtime) -> Unmanaged<Communicator>? {
    if h == Handle.commWorld { return rt.worldRef }
    if h == Handle.commSelf { return Unmanaged.passUnretained(rt.selfComm) }
    return ABI.comms.borrow(h)
}

/// Runs `body` with the runtime, the communicator and the datatype of these handles borrowed
/// (no reference counting: the path of every small message). Nil when MPI is not running or a
/// handle is not valid (the caller's general path then reports it).
@inline(__always)
func withBorrowed<R>(_ comm: Int32, _ datatype: Int32,
                     _ body: (Runtime, Communicator, Datatype) -> R?) -> R? {
    guard let rtRef = Runtime.sharedRef else { return nil }
    return rtRef._withUnsafeGuaranteedRef { rt -> R? in
        guard let cRef = borrowComm(comm, rt), let tRef = borrowType(datatype) else { return nil }
        return cRef._withUnsafeGuaranteedRef { c in tRef._withUnsafeGuaranteedRef { t in body(rt, c, t) } }
    }
}

/// The datatype of a handle, borrowed (no retain).
@inline(__always)
func borrowType(_ h: Int32) -> Unmanaged<Datatype>? {
    if h & Int32(bitPattern: 0xff00_0000) == 0x4c00_0000, let t = namedTypeRefs {
        return t[Int(h & 0xff)]
    }
    if h & Int32(bitPattern: 0xffff_ff00) == Int32(bitPattern: 0x8c00_0000) {
        let i = Int(h & 0xff)
        return i < ABI.pairTypes.count ? Unmanaged.passUnretained(ABI.pairTypes[i]) : nil
    }
    return ABI.types.borrow(h)
}

@inline(__always)
func decodeComm(_ h: Int32, _ rt: Runtime) -> Communicator? {
    if h == Handle.commWorld { return rt.world }
    if h == Handle.commSelf { return rt.selfComm }
    return ABI.comms.lookup(h)
}

@inline(__always)
func decodeType(_ h: Int32) -> Datatype? {
    if h & Int32(bitPattern: 0xff00_0000) == 0x4c00_0000 {
        guard let d = ABI.namedTypes[Int(h & 0xff)], (h >> 8) & 0xff == Int32(d.size) else { return nil }
        return d
    }
    if h & Int32(bitPattern: 0xffff_ff00) == Int32(bitPattern: 0x8c00_0000) {
        let i = Int(h & 0xff)
        return i < ABI.pairTypes.count ? ABI.pairTypes[i] : nil
    }
    return ABI.types.lookup(h)
}

/// Handle of a datatype object (predefined or registered).
func encodeType(_ d: Datatype) -> Int32 {
    if let h = ABI.predefinedHandles[ObjectIdentifier(d)] { return h }
    if let h = ABI.types.handle(of: d) { return h }
    return ABI.types.insert(d) ?? Handle.datatypeNull
}

/// Handle of a communicator object (registering it if new).
func encodeComm(_ c: Communicator, _ rt: Runtime) -> Int32 {
    if c === rt.world { return Handle.commWorld }
    if c === rt.selfComm { return Handle.commSelf }
    if let h = ABI.comms.handle(of: c) { return h }
    return ABI.comms.insert(c) ?? Handle.commNull
}

@inline(__always)
func encodeRequest(_ r: RequestID) -> Int32 { Handle.requestBase | r.index }

@inline(__always)
func decodeRequest(_ h: Int32, _ rt: Runtime) -> RequestID? {
    guard h & ~Handle.indexMask == Handle.requestBase else { return nil }
    return rt.requestID(atIndex: h & Handle.indexMask)
}
