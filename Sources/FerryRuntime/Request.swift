// Requests live in a slab, addressed by index + generation (`RequestID`), so the hot path
// allocates nothing and a stale handle is detected instead of touching a reused slot.
import FerryCore
import FerryDatatype

/// A handle to a request slot. Wire form: generation << 32 | index.
public struct RequestID: Hashable, Sendable {
    public let index: Int32
    public let generation: UInt32
    @inline(__always) public init(index: Int32, generation: UInt32) {
        self.index = index
        self.generation = generation
    }
    @inline(__always) public init(wire: UInt64) {
        index = Int32(truncatingIfNeeded: wire & 0xffff_ffff)
        generation = UInt32(truncatingIfNeeded: wire >> 32)
    }
    @inline(__always) public var wire: UInt64 { UInt64(generation) << 32 | UInt64(UInt32(bitPattern: index)) }
}

enum RequestKind: UInt8 {
    case send, receive, generalized, collective
}

/// Where a send is in its protocol.
enum SendPhase: UInt8 {
    case idle, queuedEager, awaitingAck, awaitingRendezvous, streaming, done
}

/// Callbacks of a generalized request (MPI_Grequest_start).
public struct GeneralizedCallbacks {
    public var query: (inout Status) -> Int32
    public var free: () -> Int32
    public var cancel: (Bool) -> Int32
    public init(query: @escaping (inout Status) -> Int32, free: @escaping () -> Int32,
                cancel: @escaping (Bool) -> Int32) {
        self.query = query
        self.free = free
        self.cancel = cancel
    }
}

/// One request slot.
struct RequestSlot {
    var generation: UInt32 = 1
    var inUse = false
    var kind: RequestKind = .send
    var isComplete = false
    var isPersistent = false
    /// Persistent requests: started and not yet completed by a wait/test.
    var isActive = false
    var mode: SendMode = .standard
    var phase: SendPhase = .idle
    var buffer: UnsafeMutableRawPointer? = nil
    var count = 0
    /// The datatype and communicator, without reference counting on the hot path: predefined
    /// datatypes and communicators live as long as the runtime, so they are held unretained;
    /// user-created ones (which MPI lets the program free while a request is pending) are
    /// retained by `attach` and released by `RequestTable.release` (`ownsType`, `ownsComm`).
    /// With them, the slot is plain data: creating and recycling one costs no reference counting.
    var typeRef: Unmanaged<Datatype>? = nil
    var commRef: Unmanaged<Communicator>? = nil
    var ownsType = false
    var ownsComm = false
    /// For contiguous data: the first byte (`buffer` + the type's true lower bound); the
    /// transports copy from and to it without touching the datatype. Nil for data to pack.
    var contiguousBase: UnsafeMutableRawPointer? = nil
    var isContiguousData = false
    /// Packed bytes of the user data (count * size).
    var bytes = 0
    /// Peer rank in the communicator (destination or requested source), tag, and context.
    var peer: Int32 = 0
    var tag: Int32 = 0
    var context: UInt32 = 0
    /// For sends: the destination's world rank; for receives: the matched sender's world rank.
    var worldPeer: Int32 = 0
    /// Sends: this process's rank in `comm` (the envelope's source), kept to avoid touching `comm`.
    var sourceRank: Int32 = 0
    /// Bytes moved so far (sent fragments or received bytes).
    var progressBytes = 0
    /// Whole incoming message size (receives).
    var messageBytes = 0
    /// Receiver's request, echoed in data cells of a pipelined rendezvous.
    var remoteRequest: UInt64 = 0
    var status = Status()
    /// Buffered sends: the range in the attached buffer to release at completion.
    var bsendOffset = -1
    /// Collective requests: the work still to run (nonblocking collectives, later issue).
    var nextFree: Int32 = -1
    /// MPI_Request_free on an active request, and internal (buffered) sends: release at completion.
    var freeWhenDone = false

    /// The datatype (slow paths: packing, unpacking); nil for slots without data.
    var datatype: Datatype? { typeRef?.takeUnretainedValue() }
    /// The communicator (slow paths); nil for slots without one.
    var comm: Communicator? { commRef?.takeUnretainedValue() }

    /// Records the data, datatype and communicator of a transfer (see `typeRef`).
    @inline(__always)
    mutating func attach(buffer: UnsafeMutableRawPointer?, count: Int, datatype: Datatype, comm: Communicator) {
        self.buffer = buffer
        self.count = count
        bytes = count &* datatype.size
        isContiguousData = datatype.isContiguous
        contiguousBase = isContiguousData ? byteAddress(buffer, datatype.trueLowerBound) : nil
        ownsType = datatype.basicType == nil
        typeRef = ownsType ? .passRetained(datatype) : .passUnretained(datatype)
        attach(comm: comm)
    }

    @inline(__always)
    mutating func attach(comm: Communicator) {
        ownsComm = !comm.isPredefined
        commRef = ownsComm ? .passRetained(comm) : .passUnretained(comm)
    }

    /// Drops the references `attach` took.
    @inline(__always)
    mutating func detach() {
        if ownsType { typeRef?.release() }
        if ownsComm { commRef?.release() }
        typeRef = nil
        commRef = nil
        ownsType = false
        ownsComm = false
    }
}

/// The slab. - Note: accessed under the engine's lock.
struct RequestTable {
    var slots: InPlaceArray<RequestSlot>
    var freeHead: Int32 = -1
    /// The callbacks of generalized requests, by slot (kept out of the slots, which stay plain data).
    var callbacks: [Int32: GeneralizedCallbacks] = [:]

    /// Slot 0: a send request that is complete from the start and never released, shared by
    /// every send that left in full at its start (`Runtime.isendFast`), as MPICH returns a
    /// prebuilt complete request for such sends. Waiting on it, testing, freeing or cancelling
    /// it behave as for any complete send (the handle becomes MPI_REQUEST_NULL, the status is
    /// empty, nothing is cancelled); only the slot stays.
    static let completedSend: Int32 = 0

    init(capacity: Int) {
        slots = InPlaceArray(capacity: max(capacity, 16))
        var done = RequestSlot()
        done.inUse = true
        done.kind = .send
        done.isComplete = true
        done.isActive = true
        done.phase = .done
        done.status = .empty
        slots.append(done)
    }

    @inline(__always)
    mutating func allocate(_ kind: RequestKind) -> Int32 {
        let i: Int32
        if freeHead >= 0 {
            i = freeHead
            freeHead = slots[Int(i)].nextFree
        } else {
            i = Int32(slots.count)
            slots.append(RequestSlot())
        }
        let s = slots.pointer(i)
        let g = s.pointee.generation
        s.pointee = RequestSlot()
        s.pointee.generation = g
        s.pointee.inUse = true
        s.pointee.kind = kind
        return i
    }

    @inline(__always)
    mutating func release(_ i: Int32) {
        if i == RequestTable.completedSend { return }
        let s = slots.pointer(i)
        s.pointee.generation &+= 1
        s.pointee.inUse = false
        s.pointee.detach()
        if s.pointee.kind == .generalized { callbacks[i] = nil }
        s.pointee.nextFree = freeHead
        freeHead = i
    }

    @inline(__always)
    func id(_ i: Int32) -> RequestID { RequestID(index: i, generation: slots[Int(i)].generation) }

    /// The slot index of a live handle, or nil if stale or out of range (never traps on bad input).
    @inline(__always)
    func validate(_ r: RequestID) -> Int32? {
        guard r.index >= 0, Int(r.index) < slots.count else { return nil }
        let s = slots.pointer(r.index)
        return s.pointee.inUse && s.pointee.generation == r.generation ? r.index : nil
    }
}
