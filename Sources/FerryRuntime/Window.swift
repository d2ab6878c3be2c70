// One-sided communication windows (MPI-3.1 chapter 11): creation, the window's shared segment,
// attributes, info, name and MPI_Win_free. Synchronization is in WindowSync.swift, the data
// movement operations in WindowOps.swift. Called by the C ABI (FerryABI/Windows.swift).
//
// Every window has ONE shared segment `/ferry-<job>-win<root world rank>.<random hex>` (mode 0600,
// unlinked once every member mapped it, so a crash leaves nothing in /dev/shm) holding:
//   - a control block per member: the passive-target lock word, the accumulate mutex, the
//     attach table's mutex and length, the PSCW completion counter, the counts of processes
//     asleep on those words, and (member 0's) the fence barrier;
//   - the PSCW post matrix (posts[origin][target]);
//   - dynamic windows: each member's table of attached regions (the first 256; more live in
//     the member's own memory, published by address and read by single copy);
//   - MPI_Win_allocate / MPI_Win_allocate_shared: every member's window memory, so that put,
//     get and accumulate are plain memory operations on the target's part in this mapping.
// MPI_Win_create and MPI_Win_create_dynamic windows keep user memory private to its process;
// other members reach it by single copy (process_vm_readv / process_vm_writev), probed at
// creation so that a kernel that refuses fails the creation with a clear message.
import FerryCore
import FerrySys
import FerryDatatype
import FerryReduce
import FerryCollectives
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// A one-sided communication window.
/// - Note: epoch state is changed by the synchronization calls under the runtime's lock; MPI
///   requires the user not to free the window while another thread uses it.
public final class Window: @unchecked Sendable {
    /// MPI_WIN_CREATE_FLAVOR values (MPICH ABI).
    public enum Flavor: Int32, Sendable { case create = 1, allocate = 2, dynamic = 3, shared = 4 }
    /// MPI_LOCK_EXCLUSIVE / MPI_LOCK_SHARED (MPICH ABI).
    public enum LockType: Int32, Sendable { case exclusive = 234, shared = 235 }
    /// MPI_WIN_UNIFIED: every update is visible in the one copy of window memory.
    public static let unifiedModel: Int32 = 2

    /// Assertion bits (MPI_MODE_*).
    public enum Mode {
        public static let noCheck: Int32 = 1024
        public static let noStore: Int32 = 2048
        public static let noPut: Int32 = 4096
        public static let noPrecede: Int32 = 8192
        public static let noSucceed: Int32 = 16384
        public static let all: Int32 = noCheck | noStore | noPut | noPrecede | noSucceed
    }

    /// What every member knows about every other member's window memory.
    struct Member {
        /// Process id (single copy target for `.create` and `.dynamic`).
        var pid: Int32
        /// Window base in the owner's address space (`.create`), 0 otherwise.
        var base: UInt
        var size: Int
        var dispUnit: Int
        /// Offset of the member's memory in the segment (`.allocate`, `.shared`), else -1.
        var dataOffset: Int
    }

    public let flavor: Flavor
    /// A private communicator over the window's group (barriers of fence and free).
    public let comm: Communicator
    public var rank: Int32 { comm.rank }
    public var size: Int { comm.size }
    public var group: Group { comm.group }
    @exclusivity(unchecked) public var name = ""
    /// The error handler, as the API layer represents it; nil means MPI_ERRORS_ARE_FATAL.
    @exclusivity(unchecked) public var errorHandler: AnyObject?
    /// Info hints (MPI_Win_set_info / the creation info), in insertion order.
    @exclusivity(unchecked) public var hints: [(key: String, value: String)] = []
    @exclusivity(unchecked) var attributes: [Int32: UnsafeMutableRawPointer?] = [:]
    let members: [Member]
    /// The mapping of the window's segment (kept for its lifetime; nil once freed).
    @exclusivity(unchecked) private var segment: SharedSegment?
    let mapBase: UnsafeMutableRawPointer
    let layout: WindowLayout
    /// This process's window memory (nil for dynamic windows and zero-size private windows).
    public let base: UnsafeMutableRawPointer?
    /// Values of MPI_WIN_SIZE (MPI_Aint), MPI_WIN_DISP_UNIT, MPI_WIN_CREATE_FLAVOR, MPI_WIN_MODEL
    /// (ints): the C API hands out pointers to them.
    let predefinedValues: UnsafeMutableRawPointer
    /// Read from FerryABI on every call: an inlinable getter over storage of this module (see
    /// `Runtime.world`).
    @usableFromInline @exclusivity(unchecked) var _isFreed = false
    @inlinable public var isFreed: Bool { _isFreed }

    // Epoch state (this process's view).
    /// A fence was called without MPI_MODE_NOSUCCEED: accesses are allowed until the next fence.
    @exclusivity(unchecked) var fenceEpoch = false
    /// Targets of the access epoch opened by MPI_Win_start (window ranks), nil outside one.
    @exclusivity(unchecked) var accessGroup: [Int32]?
    /// Posts consumed from each target by MPI_Win_start (pairs with the post matrix).
    @exclusivity(unchecked) var consumedPosts: [UInt64]
    /// Completions this process must have received when its exposure epoch ends.
    @exclusivity(unchecked) var expectedCompletions: UInt64 = 0
    @exclusivity(unchecked) var exposureActive = false
    /// Passive-target locks held: target → (type, lock word actually taken).
    @exclusivity(unchecked) var locks: [Int32: (type: LockType, taken: Bool)] = [:]
    /// MPI_Win_lock_all is active (and whether the shared locks were taken).
    @exclusivity(unchecked) var lockAll: (active: Bool, taken: Bool) = (false, false)
    /// Regions this process attached (dynamic windows): base address → size.
    @exclusivity(unchecked) var attached: [UInt: Int] = [:]
    /// Attach-table entries past `WindowLayout.maxAttached` (dynamic windows), in this process's
    /// memory: (base, size) UInt64 pairs; its address is published at control +56 under the
    /// attach mutex, and other members read it by single copy while holding that mutex.
    @exclusivity(unchecked) var attachOverflow: UnsafeMutablePointer<UInt64>?
    @exclusivity(unchecked) var attachOverflowCapacity = 0
    /// Fences this process completed (the fence barrier's generation it last saw).
    @exclusivity(unchecked) var fenceGeneration: UInt32 = 0
    /// Spins a synchronization wait makes before it yields when ranks outnumber cores: adapts
    /// between `Window.minimumSpins` and the runtime's spinsBeforeYield (see `windowWait`).
    /// A word of its own, read and written with relaxed atomics: threads of one process may
    /// wait on the same window at once (MPI_THREAD_MULTIPLE), and it is only a hint.
    let spinLimit: UnsafeMutablePointer<UInt32> = .allocate(capacity: 1)
    /// Windows whose members are on several nodes: no shared segment; every access to another
    /// member and every synchronization travels as an active message (WindowRemote.swift).
    let remote: RemoteWindow?

    init(flavor: Flavor, comm: Communicator, members: [Member], segment: consuming SharedSegment,
         layout: WindowLayout, base: UnsafeMutableRawPointer?) {
        self.flavor = flavor
        self.comm = comm
        self.members = members
        self.mapBase = segment.base
        self.segment = consume segment
        self.layout = layout
        self.base = base
        remote = nil
        consumedPosts = Array(repeating: 0, count: members.count)
        predefinedValues = Window.predefinedValues(members[Int(comm.rank)], flavor)
        spinLimit.initialize(to: UInt32(Window.minimumSpins))
    }

    /// A window over several nodes. `mapBase` is zeroed private memory in the segment's layout,
    /// so that no path can reach another process through it; the synchronization calls go to
    /// `remote` before they would read it.
    init(flavor: Flavor, comm: Communicator, members: [Member], base: UnsafeMutableRawPointer?,
         remote: RemoteWindow) {
        self.flavor = flavor
        self.comm = comm
        self.members = members
        let layout = WindowLayout(members: members.count, flavor: .create, sizes: members.map(\.size))
        self.layout = layout
        mapBase = .allocate(byteCount: layout.totalBytes, alignment: WindowLayout.pageBytes)
        mapBase.initializeMemory(as: UInt8.self, repeating: 0, count: layout.totalBytes)
        segment = nil
        self.base = base
        self.remote = remote
        consumedPosts = Array(repeating: 0, count: members.count)
        predefinedValues = Window.predefinedValues(members[Int(comm.rank)], flavor)
        spinLimit.initialize(to: UInt32(Window.minimumSpins))
    }

    /// The values behind MPI_WIN_SIZE, MPI_WIN_DISP_UNIT, MPI_WIN_CREATE_FLAVOR, MPI_WIN_MODEL.
    private static func predefinedValues(_ me: Member, _ flavor: Flavor) -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 8)
        p.storeBytes(of: me.size, toByteOffset: 0, as: Int.self)
        p.storeBytes(of: Int32(truncatingIfNeeded: me.dispUnit), toByteOffset: 8, as: Int32.self)
        p.storeBytes(of: flavor.rawValue, toByteOffset: 12, as: Int32.self)
        p.storeBytes(of: Window.unifiedModel, toByteOffset: 16, as: Int32.self)
        return p
    }

    deinit {
        predefinedValues.deallocate()
        spinLimit.deallocate()
        if remote != nil { mapBase.deallocate() }
    }

    /// MPI_WIN_SIZE of this process (pointer to an MPI_Aint), MPI_WIN_DISP_UNIT,
    /// MPI_WIN_CREATE_FLAVOR and MPI_WIN_MODEL (pointers to ints).
    public var sizeAttribute: UnsafeMutableRawPointer { predefinedValues }
    public var dispUnitAttribute: UnsafeMutableRawPointer { predefinedValues + 8 }
    public var flavorAttribute: UnsafeMutableRawPointer { predefinedValues + 12 }
    public var modelAttribute: UnsafeMutableRawPointer { predefinedValues + 16 }

    /// Size and displacement unit of member `r`'s window memory.
    public func memberSize(_ r: Int32) -> Int { members[Int(r)].size }
    public func memberDispUnit(_ r: Int32) -> Int { members[Int(r)].dispUnit }

    /// Member `r`'s window memory in this process's mapping (`.allocate` and `.shared` only).
    public func mappedBase(of r: Int32) -> UnsafeMutableRawPointer? {
        let off = members[Int(r)].dataOffset
        return off < 0 ? nil : mapBase + off
    }

    // MARK: control words in the segment

    /// Member `r`'s control block. Layout (each word written and read by any member):
    /// +0 lock word (UInt32: reader count, or `exclusiveBit`), +4 accumulate mutex (UInt32),
    /// +8 attach-table mutex (UInt32), +12 attach-table length (UInt32), +16 PSCW completions
    /// received (UInt64: incremented by origins in MPI_Win_complete, read by MPI_Win_wait).
    /// Sleepers (UInt32 counts of processes blocked on a futex, checked by whoever changes the
    /// word they sleep on): +24 on `r`'s lock word, +28 on posts made to origin `r`, +32 on
    /// `r`'s completion counter. Fence barrier (member 0's block only): +40 arrivals (UInt32),
    /// +44 generation (UInt32, the futex word), +48 sleepers on the generation. Dynamic windows:
    /// +56 address in `r`'s memory of its attach-table entries past the 256th (UInt64; written
    /// by `r` holding the attach mutex, read by any member holding it).
    @inline(__always) func control(_ r: Int32) -> UnsafeMutableRawPointer { mapBase + Int(r) * WindowLayout.controlBytes }
    @inline(__always) func lockWord(_ r: Int32) -> UnsafeMutablePointer<UInt32> {
        control(r).assumingMemoryBound(to: UInt32.self)
    }
    @inline(__always) func accumulateMutex(_ r: Int32) -> UnsafeMutablePointer<UInt32> {
        (control(r) + 4).assumingMemoryBound(to: UInt32.self)
    }
    @inline(__always) func attachMutex(_ r: Int32) -> UnsafeMutablePointer<UInt32> {
        (control(r) + 8).assumingMemoryBound(to: UInt32.self)
    }
    @inline(__always) func attachCount(_ r: Int32) -> UnsafeMutablePointer<UInt32> {
        (control(r) + 12).assumingMemoryBound(to: UInt32.self)
    }
    @inline(__always) func completions(_ r: Int32) -> UnsafeMutablePointer<UInt64> {
        (control(r) + 16).assumingMemoryBound(to: UInt64.self)
    }
    @inline(__always) func word(_ r: Int32, _ offset: Int) -> UnsafeMutablePointer<UInt32> {
        (control(r) + offset).assumingMemoryBound(to: UInt32.self)
    }
    @inline(__always) func lockSleepers(_ r: Int32) -> UnsafeMutablePointer<UInt32> { word(r, 24) }
    @inline(__always) func postSleepers(_ origin: Int32) -> UnsafeMutablePointer<UInt32> { word(origin, 28) }
    @inline(__always) func completionSleepers(_ r: Int32) -> UnsafeMutablePointer<UInt32> { word(r, 32) }
    @inline(__always) var fenceArrivals: UnsafeMutablePointer<UInt32> { word(0, 40) }
    @inline(__always) var fenceGenerationWord: UnsafeMutablePointer<UInt32> { word(0, 44) }
    @inline(__always) var fenceSleepers: UnsafeMutablePointer<UInt32> { word(0, 48) }
    /// Posts target `target` made to origin `origin` (incremented by the target in MPI_Win_post,
    /// read by the origin in MPI_Win_start).
    @inline(__always) func posts(origin: Int32, target: Int32) -> UnsafeMutablePointer<UInt64> {
        (mapBase + layout.postsOffset + (Int(origin) * size + Int(target)) * 8).assumingMemoryBound(to: UInt64.self)
    }
    @inline(__always) func attachOverflowAddress(_ r: Int32) -> UnsafeMutablePointer<UInt64> {
        (control(r) + 56).assumingMemoryBound(to: UInt64.self)
    }
    /// Entry `i` (below `WindowLayout.maxAttached`) of member `r`'s attach table in the
    /// segment: (base address, size), both UInt64.
    @inline(__always) func attachEntry(_ r: Int32, _ i: Int) -> UnsafeMutablePointer<UInt64> {
        (mapBase + layout.attachOffset + (Int(r) * WindowLayout.maxAttached + i) * 16).assumingMemoryBound(to: UInt64.self)
    }

    func releaseMapping() { segment = nil }
}

/// Where things are in a window's segment.
struct WindowLayout {
    static let controlBytes = 128
    /// Attached regions of one member kept in the segment; more live in the member's memory.
    static let maxAttached = 256
    static let pageBytes = 4096
    let postsOffset: Int
    let attachOffset: Int
    let dataOffset: Int
    /// Offset of each member's memory (-1: not in the segment).
    let memberOffsets: [Int]
    let totalBytes: Int

    init(members n: Int, flavor: Window.Flavor, sizes: [Int]) {
        postsOffset = n * WindowLayout.controlBytes
        attachOffset = postsOffset + n * n * 8
        let attachBytes = flavor == .dynamic ? n * WindowLayout.maxAttached * 16 : 0
        dataOffset = (attachOffset + attachBytes + WindowLayout.pageBytes - 1) / WindowLayout.pageBytes * WindowLayout.pageBytes
        var offs: [Int] = []
        var at = dataOffset
        switch flavor {
        case .allocate:
            // Each part starts on a 64-byte boundary (cache line, and enough for any C type).
            for s in sizes { offs.append(at); at += (s + 63) / 64 * 64 }
        case .shared:
            // Contiguous across ranks (MPI-3.1 §11.2.3): part i+1 starts right after part i.
            for s in sizes { offs.append(at); at += s }
        case .create, .dynamic:
            offs = Array(repeating: -1, count: n)
        }
        memberOffsets = offs
        totalBytes = max(at, dataOffset)
    }
}

/// Attribute keys of windows (MPI_Win_create_keyval): a registry of their own, since windows
/// are never copied and delete callbacks take a window.
public struct WindowKeyvalTable {
    public typealias Delete = (Window, Int32, UnsafeMutableRawPointer?) -> Int32
    struct Entry {
        var delete: Delete?
        var freed = false
        var uses = 0
    }
    var entries: [Int32: Entry] = [:]
    var next: Int32 = 0x6680_0100
}

/// Predefined window attribute keys (MPICH ABI values).
public enum WindowKeyval {
    public static let base: Int32 = 0x6600_0001
    public static let size: Int32 = 0x6600_0003
    public static let dispUnit: Int32 = 0x6600_0005
    public static let createFlavor: Int32 = 0x6600_0007
    public static let model: Int32 = 0x6600_0009
    public static let all: [Int32] = [base, size, dispUnit, createFlavor, model]
}

/// The value a process contributes to the creation exchange (allgather).
private struct CreationRecord {
    var pid: Int64
    var base: UInt64
    var size: Int64
    var dispUnit: Int64
    /// Address of this process's probe word (single copy check).
    var probe: UInt64
    /// Serial of the window on this process (rank 0's names the segment).
    var serial: UInt64
}

/// A word every process holds, read by peers at window creation to check that the kernel
/// allows single copy between them.
@exclusivity(unchecked) nonisolated(unsafe) private var singleCopyProbeWord: UInt64 = 0x4665_7272_7957_696e
@exclusivity(unchecked) nonisolated(unsafe) var windowKeyvals = WindowKeyvalTable()

extension Runtime {
    // MARK: creation

    /// `MPI_Win_allocate` (`shared: false`) and `MPI_Win_allocate_shared` (`shared: true`).
    public func windowAllocate(size: Int, dispUnit: Int, comm: Communicator?, shared: Bool,
                               hints: [(key: String, value: String)] = []) throws(MPIError) -> Window {
        try createWindow(flavor: shared ? .shared : .allocate, base: nil, size: size, dispUnit: dispUnit,
                         comm: comm, hints: hints)
    }

    /// `MPI_Win_create`: `base` is this process's memory, `size` bytes.
    public func windowCreate(base: UnsafeMutableRawPointer?, size: Int, dispUnit: Int, comm: Communicator?,
                             hints: [(key: String, value: String)] = []) throws(MPIError) -> Window {
        try createWindow(flavor: .create, base: base, size: size, dispUnit: dispUnit, comm: comm, hints: hints)
    }

    /// `MPI_Win_create_dynamic`: no memory until MPI_Win_attach.
    public func windowCreateDynamic(comm: Communicator?, hints: [(key: String, value: String)] = []) throws(MPIError) -> Window {
        try createWindow(flavor: .dynamic, base: nil, size: 0, dispUnit: 1, comm: comm, hints: hints)
    }

    private func createWindow(flavor: Window.Flavor, base: UnsafeMutableRawPointer?, size: Int, dispUnit: Int,
                              comm: Communicator?, hints: [(key: String, value: String)]) throws(MPIError) -> Window {
        guard let comm, !comm.isFreed else { throw MPIError(.comm, "invalid or freed communicator") }
        if comm.isInter { throw MPIError(.comm, "windows need an intracommunicator") }
        if size < 0 { throw MPIError(.size, "window size \(size) is negative") }
        if dispUnit <= 0 { throw MPIError(.disp, "displacement unit \(dispUnit) must be positive") }
        if flavor == .create && base == nil && size > 0 { throw MPIError(.base, "MPI_Win_create with a NULL base and size \(size)") }

        // Windows live in shared memory and single copy: every member must be on this node.
        // Every member of this job sees the same placement, so all refuse alike.
        let spread = comm.group.worldRanks.contains { $0 < Int32(worldSize) && Int(nodes.nodeOfRank[Int($0)]) != nodes.myNode }
        if spread && flavor == .shared {
            // The ABI layer names the function in the message.
            throw MPIError(.rmaShared, "the communicator's processes are on several nodes, which share no memory "
                           + "(split it with MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) first)")
        }
        // A private communicator: the window's barriers never meet the user's traffic.
        let id = try agreeContextID(comm)
        let wcomm = Communicator(contextID: id, group: comm.group, name: "window of \(comm.name)")
        if spread {
            return try createSpreadWindow(flavor: flavor, base: base, size: size, dispUnit: dispUnit, comm: wcomm,
                                          hints: hints)
        }
        let t = CommTransport(self, wcomm)
        let n = wcomm.size, me = Int(wcomm.rank)

        // Random, so that no other user can take the segment's name first.
        var generator = SystemRandomNumberGenerator()
        var mine = CreationRecord(pid: Int64(getpid()), base: UInt64(UInt(bitPattern: base)), size: Int64(size),
                                  dispUnit: Int64(dispUnit),
                                  probe: withUnsafeMutablePointer(to: &singleCopyProbeWord) { UInt64(UInt(bitPattern: $0)) },
                                  serial: generator.next())
        var records = [CreationRecord](repeating: mine, count: n)
        let stride = MemoryLayout<CreationRecord>.stride
        var rc = withUnsafeBytes(of: &mine) { s in records.withUnsafeMutableBytes { r in
            Collectives.allgather(t, send: s.baseAddress, recv: r.baseAddress!, blockBytes: stride)
        } }
        if rc != 0 { releaseContextID(id); throw MPIError(code: rc, "window creation exchange") }

        if (flavor == .create || flavor == .dynamic) && n > 1 {
            // Every member reads every other member's probe word; all agree on the outcome.
            var worst: Int32 = 0
            for r in 0..<n where r != me {
                var value: UInt64 = 0
                let got = withUnsafeMutableBytes(of: &value) { v in
                    ferry_vm_read(Int32(records[r].pid), v.baseAddress!, 8, records[r].probe)
                }
                if got != 8 || value != singleCopyProbeWord { worst = max(worst, got < 0 ? Int32(-got) : 1_000_000) }
            }
            rc = withUnsafeMutableBytes(of: &worst) { w in
                Collectives.allreduce(t, send: nil, recv: w.baseAddress!, count: 1, .predefined(.max, .int32))
            }
            if rc != 0 { releaseContextID(id); throw MPIError(code: rc, "window creation exchange") }
            if worst != 0 {
                releaseContextID(id)
                let why = worst == 1_000_000 ? "the probe read wrong data" : String(cString: strerror(worst))
                throw MPIError(.unsupportedOperation,
                               "windows on user memory need single copy (process_vm_readv/process_vm_writev) between the window's processes, and the kernel refuses it here (\(why)); check /proc/sys/kernel/yama/ptrace_scope, the CAP_SYS_PTRACE capability and seccomp settings, or use MPI_Win_allocate, whose memory is shared")
            }
        }

        let sizes = records.map { Int($0.size) }
        let layout = WindowLayout(members: n, flavor: flavor, sizes: sizes)
        // Named after member 0's identity (job and rank), which every member sees alike.
        let first = identity(ofPeer: wcomm.group.worldRanks[0]).split(separator: "/")
        let name = "/ferry-\(first[0])-win\(first[1]).\(String(records[0].serial, radix: 16))"
        var segment: SharedSegment? = nil
        var failure: MPIError? = nil
        // Rank 0 creates the segment and tells the others whether that worked (same error everywhere).
        var status: Int32 = 0
        if me == 0 {
            if let free = SharedSegment.freeBytes(), free < layout.totalBytes {
                failure = MPIError(.noMem, "/dev/shm has \(free / 1024) KiB free but the window needs \(layout.totalBytes / 1024) KiB (segment \(name))")
            } else {
                do { segment = try SharedSegment.create(name: name, byteCount: layout.totalBytes) } catch { failure = error }
            }
            status = failure?.code ?? 0
        }
        rc = withUnsafeMutableBytes(of: &status) { s in Collectives.bcast(t, buffer: s.baseAddress, bytes: 4, root: 0) }
        if rc == 0 && status == 0 && me != 0 {
            do { segment = try SharedSegment.open(name: name, byteCount: layout.totalBytes) } catch { failure = error }
        }
        // Everyone mapped it (or failed): agree, then rank 0 removes the name.
        var agreed: Int32 = failure?.code ?? (rc != 0 ? rc : status)
        let rc2 = withUnsafeMutableBytes(of: &agreed) { w in
            Collectives.allreduce(t, send: nil, recv: w.baseAddress!, count: 1, .predefined(.max, .int32))
        }
        if me == 0 && status == 0 { shm_unlink(name) }
        if let failure { releaseContextID(id); throw failure }
        if rc != 0 || rc2 != 0 || agreed != 0 {
            releaseContextID(id)
            throw MPIError(code: rc != 0 ? rc : rc2 != 0 ? rc2 : agreed,
                           "another rank could not create or map the window's shared segment")
        }

        var members: [Window.Member] = []
        for r in 0..<n {
            members.append(Window.Member(pid: Int32(records[r].pid), base: UInt(records[r].base), size: sizes[r],
                                         dispUnit: Int(records[r].dispUnit), dataOffset: layout.memberOffsets[r]))
        }
        guard let mapped = segment.take() else { releaseContextID(id); throw MPIError(.intern, "window segment missing") }
        let mapBase = mapped.base
        let myBase: UnsafeMutableRawPointer?
        switch flavor {
        case .allocate, .shared: myBase = mapBase + layout.memberOffsets[me]
        case .create: myBase = base
        case .dynamic: myBase = nil
        }
        let w = Window(flavor: flavor, comm: wcomm, members: members, segment: mapped, layout: layout, base: myBase)
        w.spinLimit.pointee = UInt32(clamping: tunables.spinsBeforeYield)
        w.hints = defaultWindowHints(flavor)
        for (k, v) in hints { w.setHint(k, v) }
        return w
    }

    func defaultWindowHints(_ flavor: Window.Flavor) -> [(key: String, value: String)] {
        var h: [(key: String, value: String)] = [
            ("no_locks", "false"), ("accumulate_ordering", "rar,raw,war,waw"),
            ("accumulate_ops", "same_op_no_op"), ("same_size", "false"), ("same_disp_unit", "false"),
        ]
        if flavor == .shared { h.append(("alloc_shared_noncontig", "false")) }
        return h
    }

    // MARK: free

    /// `MPI_Win_free`: collective; fails with MPI_ERR_RMA_SYNC while an epoch is open.
    public func windowFree(_ w: Window) throws(MPIError) {
        if w.isFreed { throw MPIError(.win, "window already freed") }
        if !w.locks.isEmpty || w.lockAll.active { throw MPIError(.rmaSync, "MPI_Win_free with a passive-target epoch open (call MPI_Win_unlock first)") }
        if w.accessGroup != nil { throw MPIError(.rmaSync, "MPI_Win_free with an access epoch open (call MPI_Win_complete first)") }
        if w.exposureActive { throw MPIError(.rmaSync, "MPI_Win_free with an exposure epoch open (call MPI_Win_wait first)") }
        // Nobody may still be reading or writing our memory once we return (the fence's
        // barrier in the segment: no messages; across nodes, every active message served).
        if w.remote != nil { try quiesceSpreadWindow(w) } else { fenceBarrier(w) }
        lock()
        let keys = w.attributes.keys.sorted(by: >)
        unlock()
        for k in keys {
            let drc = windowDeleteAttribute(w, k)
            if drc != 0 { throw MPIError(code: drc, "attribute delete callback failed") }
        }
        w._isFreed = true
        releaseContextID(w.comm.contextID)
        w.comm._isFreed = true
        w.attached = [:]
        w.attachOverflow?.deallocate()
        w.attachOverflow = nil
        w.releaseMapping()
        w.remote?.releaseMemory()
    }

    // MARK: attach / detach (dynamic windows)

    /// This process's attach-table entry `i` (in the segment, or past the 256th in its memory).
    private func ownAttachEntry(_ w: Window, _ i: Int) -> UnsafeMutablePointer<UInt64> {
        i < WindowLayout.maxAttached ? w.attachEntry(w.rank, i) : w.attachOverflow! + 2 * (i - WindowLayout.maxAttached)
    }

    /// `MPI_Win_attach`: publishes [base, base + size) in this process's attach table. Any
    /// number of regions; they may not overlap (MPI-3.1 §11.2.4).
    public func windowAttach(_ w: Window, base: UnsafeMutableRawPointer?, size: Int) -> Int32 {
        if w.flavor != .dynamic { return ErrorClass.rmaFlavor.rawValue }
        if size < 0 { return ErrorClass.size.rawValue }
        guard let base else { return size == 0 ? 0 : ErrorClass.base.rawValue }
        let start = UInt(bitPattern: base)
        if size == 0 { return 0 }
        for (b, s) in w.attached where start < b + UInt(s) && b < start + UInt(size) { return ErrorClass.rmaAttach.rawValue }
        if w.remote != nil {
            // Across nodes the table is this process's own: targets check accesses themselves.
            lock(); defer { unlock() }
            w.attached[start] = size
            return 0
        }
        let me = w.rank
        w.lockMutex(w.attachMutex(me)); defer { w.unlockMutex(w.attachMutex(me)) }
        let n = Int(w.attachCount(me).pointee)
        if n >= WindowLayout.maxAttached {
            let need = n - WindowLayout.maxAttached + 1
            if need > w.attachOverflowCapacity {
                // Readers hold the mutex we hold now: none is reading the old table.
                let capacity = max(256, w.attachOverflowCapacity * 2)
                let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * capacity)
                if let old = w.attachOverflow {
                    grown.update(from: old, count: 2 * w.attachOverflowCapacity)
                    old.deallocate()
                }
                w.attachOverflow = grown
                w.attachOverflowCapacity = capacity
                w.attachOverflowAddress(me).pointee = UInt64(UInt(bitPattern: grown))
            }
        }
        let e = ownAttachEntry(w, n)
        e[0] = UInt64(start); e[1] = UInt64(size)
        w.attachCount(me).pointee = UInt32(n + 1)
        w.attached[start] = size
        return 0
    }

    /// `MPI_Win_detach`: `base` must be the base of an attached region.
    public func windowDetach(_ w: Window, base: UnsafeRawPointer?) -> Int32 {
        if w.flavor != .dynamic { return ErrorClass.rmaFlavor.rawValue }
        let start = UInt(bitPattern: base)
        guard w.attached[start] != nil else { return ErrorClass.rmaAttach.rawValue }
        if w.remote != nil {
            lock(); defer { unlock() }
            w.attached[start] = nil
            return 0
        }
        let me = w.rank
        w.lockMutex(w.attachMutex(me)); defer { w.unlockMutex(w.attachMutex(me)) }
        let n = Int(w.attachCount(me).pointee)
        for i in 0..<n where UInt(ownAttachEntry(w, i)[0]) == start {
            let last = ownAttachEntry(w, n - 1), e = ownAttachEntry(w, i)
            e[0] = last[0]; e[1] = last[1]
            w.attachCount(me).pointee = UInt32(n - 1)
            break
        }
        w.attached[start] = nil
        return 0
    }

    /// Whether [lo, hi) lies in regions member `target` of dynamic window `w` has attached: in
    /// one region, or across regions that follow each other without a gap (MPICH allows an
    /// access to span adjacent attachments; its rma/win_dynamic_rma_flush_get does it).
    func attachedRegionsCover(_ w: Window, target: Int32, lo: UInt, hi: UInt) -> Bool {
        guard lo <= hi else { return false }
        if w.remote != nil {
            // Only this process's own regions are known here (the target checks the others).
            guard target == w.rank else { return false }
            return regionsCover(w.attached.map { ($0.key, $0.key + UInt($0.value)) }, lo: lo, hi: hi)
        }
        w.lockMutex(w.attachMutex(target)); defer { w.unlockMutex(w.attachMutex(target)) }
        let n = Int(w.attachCount(target).pointee)
        let inline = min(n, WindowLayout.maxAttached)
        // The common case: one region of the segment's table holds it all.
        for i in 0..<inline {
            let e = w.attachEntry(target, i)
            let b = UInt(e[0]), s = UInt(e[1])
            if lo >= b && hi <= b + s { return true }
        }
        var regions: [(UInt, UInt)] = (0..<inline).map { i in
            let e = w.attachEntry(target, i)
            return (UInt(e[0]), UInt(e[0] + e[1]))
        }
        if n > inline {
            let extra = n - inline
            var table = [UInt64](repeating: 0, count: 2 * extra)
            let address = w.attachOverflowAddress(target).pointee
            if target == w.rank {
                table.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: w.attachOverflow!, count: 2 * extra) }
            } else {
                let got = table.withUnsafeMutableBytes { t in
                    ferry_vm_read(Int32(w.members[Int(target)].pid), t.baseAddress!, t.count, address)
                }
                if got != 16 * extra { return false }
            }
            for k in 0..<extra { regions.append((UInt(table[2 * k]), UInt(table[2 * k] + table[2 * k + 1]))) }
        }
        return regionsCover(regions, lo: lo, hi: hi)
    }

    /// Whether the regions [start, end), sorted here, cover [lo, hi) without a gap.
    private func regionsCover(_ regions: [(UInt, UInt)], lo: UInt, hi: UInt) -> Bool {
        if regions.contains(where: { lo >= $0.0 && hi <= $0.1 }) { return true }
        var covered = lo
        for (b, end) in regions.sorted(by: { $0.0 < $1.0 }) where b <= covered && end > covered {
            covered = end
            if covered >= hi { return true }
        }
        return false
    }

    // MARK: attributes

    public func windowCreateKeyval(delete: WindowKeyvalTable.Delete?) -> Int32 {
        lock(); defer { unlock() }
        let k = windowKeyvals.next
        windowKeyvals.next += 1
        windowKeyvals.entries[k] = WindowKeyvalTable.Entry(delete: delete)
        return k
    }

    /// `MPI_Win_free_keyval`: the key disappears once no window uses it.
    public func windowFreeKeyval(_ k: Int32) -> Int32 {
        lock(); defer { unlock() }
        guard var e = windowKeyvals.entries[k], !e.freed else { return ErrorClass.keyval.rawValue }
        e.freed = true
        windowKeyvals.entries[k] = e.uses == 0 ? nil : e
        return 0
    }

    /// `MPI_Win_set_attr`: replaces (deleting the old value through the callback).
    /// Bookkeeping under the lock, the user's callbacks outside it (see `setAttribute`).
    public func windowSetAttribute(_ w: Window, _ k: Int32, _ v: UnsafeMutableRawPointer?) -> Int32 {
        lock()
        guard let e = windowKeyvals.entries[k], !e.freed else { unlock(); return ErrorClass.keyval.rawValue }
        let old = w.attributes[k]
        unlock()
        if let old, let d = e.delete { let rc = d(w, k, old); if rc != 0 { return rc } }
        lock(); defer { unlock() }
        if w.attributes.index(forKey: k) == nil { windowKeyvals.entries[k]?.uses += 1 }
        w.attributes[k] = v
        return 0
    }

    /// `MPI_Win_get_attr`: (error, found, value). Predefined keys give the values the C API
    /// expects: the base address itself, pointers to the size, disp unit, flavor and model.
    public func windowGetAttribute(_ w: Window, _ k: Int32) -> (Int32, Bool, UnsafeMutableRawPointer?) {
        switch k {
        case WindowKeyval.base: return (0, true, w.base)
        case WindowKeyval.size: return (0, true, w.sizeAttribute)
        case WindowKeyval.dispUnit: return (0, true, w.dispUnitAttribute)
        case WindowKeyval.createFlavor: return (0, true, w.flavorAttribute)
        case WindowKeyval.model: return (0, true, w.modelAttribute)
        default: break
        }
        lock(); defer { unlock() }
        guard windowKeyvals.entries[k] != nil else { return (ErrorClass.keyval.rawValue, false, nil) }
        if let v = w.attributes[k] { return (0, true, v) }
        return (0, false, nil)
    }

    /// `MPI_Win_delete_attr`.
    public func windowDeleteAttribute(_ w: Window, _ k: Int32) -> Int32 {
        lock()
        guard let e = windowKeyvals.entries[k], let old = w.attributes[k] else { unlock(); return ErrorClass.keyval.rawValue }
        unlock()
        if let d = e.delete { let rc = d(w, k, old); if rc != 0 { return rc } }
        lock(); defer { unlock() }
        guard w.attributes.removeValue(forKey: k) != nil else { return 0 }   // another thread deleted it meanwhile
        if var e2 = windowKeyvals.entries[k] {
            e2.uses -= 1
            windowKeyvals.entries[k] = e2.freed && e2.uses == 0 ? nil : e2
        }
        return 0
    }
}

extension Window {
    /// Sets one info hint (MPI_Win_set_info; the creation info). Keys keep their first position.
    public func setHint(_ key: String, _ value: String) {
        if let i = hints.firstIndex(where: { $0.key == key }) { hints[i].value = value } else { hints.append((key, value)) }
    }
}
