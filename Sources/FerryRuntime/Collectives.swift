// Typed collectives: argument checks, then the byte-level algorithms of FerryCollectives on
// either the user's memory (contiguous data) or a packed scratch copy. The v/w variants use
// linear nonblocking exchanges, as MPICH does for them. Intercommunicators go to the forms of
// InterCollectives.swift (checked first in each public collective).
import FerryCore
import FerryDatatype
import FerryReduce
import FerryCollectives
import FerryShm
#if canImport(Glibc)
import Glibc
#endif

/// A reduction operation: predefined or user-defined.
public enum Operation {
    case predefined(PredefinedOp)
    case user(UserOperation)
}

/// A user reduction (MPI_Op_create). The function gets (invec, inoutvec, count, datatype)
/// and must compute inoutvec[i] = invec[i] op inoutvec[i].
public final class UserOperation: @unchecked Sendable {
    public let isCommutative: Bool
    public let function: (UnsafeRawPointer, UnsafeMutableRawPointer, Int, Datatype) -> Void
    public init(commutative: Bool, _ f: @escaping (UnsafeRawPointer, UnsafeMutableRawPointer, Int, Datatype) -> Void) {
        isCommutative = commutative
        function = f
    }
}

/// Scratch memory for one collective call, freed at the end of the call.
final class Scratch {
    let base: UnsafeMutableRawPointer
    init(_ bytes: Int) { base = .allocate(byteCount: max(bytes, 1), alignment: 64) }
    deinit { base.deallocate() }
}

/// How reduction data lies in the buffers the algorithms see.
struct ReduceLayout {
    enum Mode {
        /// The user's memory at this byte offset from the buffer address.
        case direct(Int)
        /// Packed copies (uniform basic type under a predefined op).
        case packed
        /// Raw copies of the span [lb, lb + count*extent) (user op on a non-contiguous type).
        case span(Int)
    }
    let type: Datatype
    let count: Int
    let mode: Mode
    let reducer: Reducer
    var elements: Int
    var bytes: Int { elements * reducer.elementSize }

    /// The algorithm's view of an input buffer (a scratch copy unless direct). A nil buffer is
    /// MPI_BOTTOM: the datatype's displacements are absolute addresses.
    func input(_ p: UnsafeRawPointer?, keep: inout [Scratch]) -> UnsafeRawPointer {
        switch mode {
        case .direct(let off):
            if let a = byteAddress(p, off) { return UnsafeRawPointer(a) }
            let s = Scratch(bytes); keep.append(s)   // NULL with a zero-size layout
            return UnsafeRawPointer(s.base)
        case .packed:
            let s = Scratch(bytes); keep.append(s)
            type.pack(from: p, count: count, packedOffset: 0, into: s.base, bytes: bytes)
            return UnsafeRawPointer(s.base)
        case .span(let lb):
            let s = Scratch(bytes); keep.append(s)
            if let a = byteAddress(p, lb) { memcpy(s.base, a, bytes) }
            return UnsafeRawPointer(s.base)
        }
    }
    /// The algorithm's view of an output buffer; `load` copies the current contents in (in place).
    func output(_ p: UnsafeMutableRawPointer?, load: Bool, keep: inout [Scratch]) -> UnsafeMutableRawPointer {
        switch mode {
        case .direct(let off):
            if let a = byteAddress(p, off) { return a }
            let s = Scratch(bytes); keep.append(s)
            return s.base
        case .packed, .span:
            let s = Scratch(bytes); keep.append(s)
            if load { memcpy(s.base, input(p, keep: &keep), bytes) }
            return s.base
        }
    }
    /// Copies an output view back to the user's buffer.
    func store(_ view: UnsafeRawPointer, to p: UnsafeMutableRawPointer?) {
        switch mode {
        case .direct: break
        case .packed: type.unpack(from: view, bytes: bytes, into: p, count: count, packedOffset: 0)
        case .span(let lb):
            // Only the datatype's own bytes: the gaps inside the span belong to the caller
            // (a raw copy would overwrite them with whatever the input's gaps held).
            let b = count * type.size
            let s = Scratch(b)
            type.pack(from: view - lb, count: count, packedOffset: 0, into: s.base, bytes: b)
            type.unpack(from: s.base, bytes: b, into: p, count: count, packedOffset: 0)
        }
    }
}

extension Runtime {
    /// MPI_IN_PLACE (the MPICH ABI's value, (void *)-1).
    nonisolated(unsafe) public static let inPlace = UnsafeMutableRawPointer(bitPattern: -1)!

    @inline(__always) public static func isInPlace(_ p: UnsafeRawPointer?) -> Bool {
        p == UnsafeRawPointer(Runtime.inPlace)
    }

    // MARK: checks

    func checkIntracomm(_ comm: Communicator?) -> Int32 {
        guard let comm, !comm.isFreed else { return ErrorClass.comm.rawValue }
        if comm.isInter { return ErrorClass.comm.rawValue }
        return 0
    }
    func checkData(_ count: Int, _ t: Datatype?) -> Int32 {
        guard count >= 0 else { return ErrorClass.count.rawValue }
        guard let t, t.isCommitted else { return ErrorClass.type.rawValue }
        return 0
    }
    func checkRoot(_ root: Int32, _ comm: Communicator) -> Int32 {
        root >= 0 && Int(root) < comm.size ? 0 : ErrorClass.root.rawValue
    }

    /// Chooses how reduction data is presented to the algorithms, or returns MPI_ERR_OP.
    func reduceLayout(_ t: Datatype, count: Int, op: Operation) -> (ReduceLayout?, Int32) {
        switch op {
        case .predefined(let o):
            if let b = t.basicType {
                guard Reduction.isDefined(o, on: b) else { return (nil, ErrorClass.op.rawValue) }
                return (ReduceLayout(type: t, count: count, mode: .direct(0), reducer: .predefined(o, b), elements: count), 0)
            }
            guard let b = t.uniformBasicType, Reduction.isDefined(o, on: b) else { return (nil, ErrorClass.op.rawValue) }
            if b.size == b.extent {
                let n = count * t.size / b.size
                let mode: ReduceLayout.Mode = t.isContiguous ? .direct(t.trueLowerBound) : .packed
                return (ReduceLayout(type: t, count: count, mode: mode, reducer: .predefined(o, b), elements: n), 0)
            }
            // Pair types with padding inside a derived type: combine element by element in the
            // C layout, through the raw span.
            guard t.size == t.extent || b.isPair else { return (nil, ErrorClass.op.rawValue) }
            let per = t.extent / b.extent
            let r = Reducer(elementSize: t.extent, isCommutative: true) { i, io, n in
                Reduction.apply(o, b, input: i, `inout`: io, count: n * per)
            }
            return (ReduceLayout(type: t, count: count, mode: .span(t.lowerBound), reducer: r, elements: count), 0)
        case .user(let u):
            let lb = t.lowerBound
            let r = Reducer(elementSize: t.extent, isCommutative: u.isCommutative) { i, io, n in
                u.function(i - lb, io - lb, n, t)
            }
            if t.isContiguous && t.size == t.extent {
                return (ReduceLayout(type: t, count: count, mode: .direct(t.trueLowerBound), reducer: Reducer(elementSize: t.extent, isCommutative: u.isCommutative) { i, io, n in
                    u.function(i - t.trueLowerBound, io - t.trueLowerBound, n, t)
                }, elements: count), 0)
            }
            return (ReduceLayout(type: t, count: count, mode: .span(lb), reducer: r, elements: count), 0)
        }
    }

    /// Packed view of `count` elements at `p` for sending: the user's memory when contiguous.
    func packedInput(_ p: UnsafeRawPointer?, _ count: Int, _ t: Datatype, keep: inout [Scratch]) -> UnsafeRawPointer? {
        if t.isContiguous || count == 0 { return readAddress(p, t.trueLowerBound) }
        let s = Scratch(count * t.size); keep.append(s)
        t.pack(from: p, count: count, packedOffset: 0, into: s.base, bytes: count * t.size)
        return UnsafeRawPointer(s.base)
    }

    // MARK: barrier, bcast

    public func barrier(_ comm: Communicator?) throws(MPIError) {
        if let ic = interTarget(comm) {
            let r = interBarrier(ic)
            if r != 0 { throw MPIError(code: r, "barrier") }
            return
        }
        let rc = checkIntracomm(comm)
        if rc != 0 { throw MPIError(code: rc, "barrier") }
        if let node = nodeArea(comm!) { nodeBarrier(node); return }
        if let h = hierarchy(of: comm!) { try hierarchicalBarrier(h); return }
        let r = Collectives.barrier(CommTransport(self, comm!))
        if r != 0 { throw MPIError(code: r, "barrier") }
    }

    public func bcast(_ buf: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?, root: Int32, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) { return interBcast(buf, count: count, datatype: datatype, root: root, comm: ic) }
        var rc = checkIntracomm(comm)
        if rc == 0 { rc = checkData(count, datatype) }
        if rc == 0 { rc = checkRoot(root, comm!) }
        if rc != 0 { return rc }
        let t = datatype!, bytes = count * t.size
        if bytes > 0, let h = hierarchy(of: comm!) {
            return hierarchicalBcast(h, buf, count: count, datatype: t, root: root, comm: comm!)
        }
        if bytes > 0 && comm!.size > 1 && fitsCellBcast(bytes) {
            // One cell per hop (see fitsCellBcast).
            if t.isContiguous { return cellBcast(byteAddress(buf, t.trueLowerBound)!, bytes: bytes, root: Int(root), comm: comm!) }
            let s = Scratch(bytes)
            if comm!.rank == root { t.pack(from: buf, count: count, packedOffset: 0, into: s.base, bytes: bytes) }
            rc = cellBcast(s.base, bytes: bytes, root: Int(root), comm: comm!)
            if comm!.rank != root { t.unpack(from: s.base, bytes: bytes, into: buf, count: count, packedOffset: 0) }
            return rc
        }
        if t.isContiguous || bytes == 0 {
            return Collectives.bcast(CommTransport(self, comm!), buffer: byteAddress(buf, t.trueLowerBound), bytes: bytes, root: Int(root))
        }
        let s = Scratch(bytes)
        if comm!.rank == root { t.pack(from: buf, count: count, packedOffset: 0, into: s.base, bytes: bytes) }
        rc = Collectives.bcast(CommTransport(self, comm!), buffer: s.base, bytes: bytes, root: Int(root))
        if comm!.rank != root { t.unpack(from: s.base, bytes: bytes, into: buf, count: count, packedOffset: 0) }
        return rc
    }

    // MARK: reductions

    public func reduce(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?,
                       op: Operation?, root: Int32, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interReduce(send, recv, count: count, datatype: datatype, op: op, root: root, comm: ic)
        }
        var rc = checkIntracomm(comm)
        if rc == 0 { rc = checkData(count, datatype) }
        if rc == 0 { rc = checkRoot(root, comm!) }
        guard let op else { return rc != 0 ? rc : ErrorClass.op.rawValue }
        if rc != 0 { return rc }
        let (layout, lrc) = reduceLayout(datatype!, count: count, op: op)
        guard let layout else { return lrc }
        if count == 0 { return 0 }   // every rank passes the same count: nothing to move
        let isRoot = comm!.rank == root
        let inPlace = Runtime.isInPlace(send)
        if isRoot && recv == nil { return ErrorClass.buffer.rawValue }
        if let h = hierarchy(of: comm!), hierarchyFits(h, op: op, datatype: datatype!) {
            return hierarchicalReduce(h, send, recv, count: count, datatype: datatype!, op: op, root: root, comm: comm!)
        }
        var keep: [Scratch] = []
        let inView: UnsafeRawPointer? = inPlace ? nil : layout.input(send, keep: &keep)
        let outView: UnsafeMutableRawPointer? = isRoot ? layout.output(recv, load: inPlace, keep: &keep) : nil
        rc = Collectives.reduce(CommTransport(self, comm!), send: inView, recv: outView, count: layout.elements,
                                layout.reducer, root: Int(root))
        if isRoot, let outView { layout.store(outView, to: recv) }
        return rc
    }

    public func allreduce(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?,
                          op: Operation?, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interAllreduce(send, recv, count: count, datatype: datatype, op: op, comm: ic)
        }
        var rc = checkIntracomm(comm)
        if rc == 0 { rc = checkData(count, datatype) }
        guard let op else { return rc != 0 ? rc : ErrorClass.op.rawValue }
        if rc != 0 { return rc }
        let (layout, lrc) = reduceLayout(datatype!, count: count, op: op)
        guard let layout else { return lrc }
        if count == 0 { return 0 }
        if let h = hierarchy(of: comm!), hierarchyFits(h, op: op, datatype: datatype!) {
            return hierarchicalAllreduce(h, send, recv, count: count, datatype: datatype!, op: op)
        }
        let inPlace = Runtime.isInPlace(send)
        var keep: [Scratch] = []
        let inView: UnsafeRawPointer? = inPlace ? nil : layout.input(send, keep: &keep)
        let outView = layout.output(recv, load: inPlace, keep: &keep)
        if layout.bytes <= Runtime.slotBytes, let node = nodeArea(comm!) {
            nodeAllreduce(node, input: inView, output: outView, count: layout.elements, bytes: layout.bytes,
                          elementSize: layout.reducer.elementSize, layout.reducer.combine)
            layout.store(outView, to: recv)
            return 0
        }
        rc = Collectives.allreduce(CommTransport(self, comm!), send: inView, recv: outView, count: layout.elements, layout.reducer)
        layout.store(outView, to: recv)
        return rc
    }

    public func reduceScatterBlock(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, recvCount: Int,
                                   datatype: Datatype?, op: Operation?, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interReduceScatterBlock(send, recv, recvCount: recvCount, datatype: datatype, op: op, comm: ic)
        }
        var rc = checkIntracomm(comm)
        if rc == 0 { rc = checkData(recvCount, datatype) }
        guard let op else { return rc != 0 ? rc : ErrorClass.op.rawValue }
        if rc != 0 { return rc }
        let n = comm!.size
        let (full, lrc) = reduceLayout(datatype!, count: recvCount * n, op: op)
        guard let full else { return lrc }
        let (mine, _) = reduceLayout(datatype!, count: recvCount, op: op)
        if recvCount == 0 { return 0 }
        let inPlace = Runtime.isInPlace(send)
        var keep: [Scratch] = []
        // In place, the input is the whole of recv (n blocks); the result is its first block.
        let inView: UnsafeRawPointer = inPlace ? full.input(recv, keep: &keep) : full.input(send, keep: &keep)
        let outView = mine!.output(recv, load: false, keep: &keep)
        if inPlace {
            // The algorithm's in-place form wants the input in `recv` itself: give it scratch.
            let s = Scratch(full.bytes); keep.append(s)
            memcpy(s.base, inView, full.bytes)
            rc = Collectives.reduceScatterBlock(CommTransport(self, comm!), send: nil, recv: s.base,
                                                recvCount: mine!.elements, full.reducer)
            memcpy(outView, s.base, mine!.bytes)
        } else {
            rc = Collectives.reduceScatterBlock(CommTransport(self, comm!), send: inView, recv: outView,
                                                recvCount: mine!.elements, full.reducer)
        }
        mine!.store(outView, to: recv)
        return rc
    }

    /// MPI_Reduce_scatter with varying counts: allreduce of the whole vector, then each rank
    /// keeps its part.
    public func reduceScatter(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, recvCounts: [Int],
                              datatype: Datatype?, op: Operation?, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interReduceScatterV(send, recv, recvCounts: recvCounts, datatype: datatype, op: op, comm: ic)
        }
        var rc = checkIntracomm(comm)
        if rc == 0 && recvCounts.count < comm!.size { rc = ErrorClass.count.rawValue }
        if rc == 0 && recvCounts.contains(where: { $0 < 0 }) { rc = ErrorClass.count.rawValue }
        if rc == 0 { rc = checkData(0, datatype) }
        if rc != 0 { return rc }
        let t = datatype!
        let total = recvCounts.prefix(comm!.size).reduce(0, +)
        let me = Int(comm!.rank)
        let before = recvCounts.prefix(me).reduce(0, +)
        let full = Scratch(total * t.extent + max(0, t.trueExtent - t.extent) + 64)
        let base = full.base - t.trueLowerBound + (t.trueLowerBound - min(t.trueLowerBound, t.lowerBound))
        let src: UnsafeRawPointer? = Runtime.isInPlace(send) ? UnsafeRawPointer(recv) : send
        rc = allreduce(src, base, count: total, datatype: t, op: op, comm: comm)
        if rc != 0 { return rc }
        if recvCounts[me] > 0, let recv {
            let bytes = recvCounts[me] * t.size
            let s = Scratch(bytes)
            t.pack(from: base + before * t.extent, count: recvCounts[me], packedOffset: 0, into: s.base, bytes: bytes)
            t.unpack(from: s.base, bytes: bytes, into: recv, count: recvCounts[me], packedOffset: 0)
        }
        return 0
    }

    public func scan(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?,
                     op: Operation?, comm: Communicator?) -> Int32 {
        prefixReduce(send, recv, count: count, datatype: datatype, op: op, comm: comm, inclusive: true)
    }

    public func exscan(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?,
                       op: Operation?, comm: Communicator?) -> Int32 {
        prefixReduce(send, recv, count: count, datatype: datatype, op: op, comm: comm, inclusive: false)
    }

    private func prefixReduce(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, count: Int, datatype: Datatype?,
                              op: Operation?, comm: Communicator?, inclusive: Bool) -> Int32 {
        var rc = checkIntracomm(comm)
        if rc == 0 { rc = checkData(count, datatype) }
        guard let op else { return rc != 0 ? rc : ErrorClass.op.rawValue }
        if rc != 0 { return rc }
        let (layout, lrc) = reduceLayout(datatype!, count: count, op: op)
        guard let layout else { return lrc }
        if count == 0 { return 0 }
        let inPlace = Runtime.isInPlace(send)
        var keep: [Scratch] = []
        let inView: UnsafeRawPointer? = inPlace ? nil : layout.input(send, keep: &keep)
        let outView = layout.output(recv, load: inPlace || !inclusive, keep: &keep)
        let t = CommTransport(self, comm!)
        rc = inclusive
            ? Collectives.scan(t, send: inView, recv: outView, count: layout.elements, layout.reducer)
            : Collectives.exscan(t, send: inView, recv: outView, count: layout.elements, layout.reducer)
        // Exscan leaves rank 0's receive buffer undefined; keep the user's bytes there.
        if inclusive || comm!.rank != 0 { layout.store(outView, to: recv) }
        return rc
    }

    /// `MPI_Reduce_local`: inout = in op inout.
    public func reduceLocal(_ input: UnsafeRawPointer?, _ target: UnsafeMutableRawPointer?, count: Int,
                            datatype: Datatype?, op: Operation?) -> Int32 {
        var rc = checkData(count, datatype)
        guard let op else { return rc != 0 ? rc : ErrorClass.op.rawValue }
        if rc != 0 { return rc }
        let (layout, lrc) = reduceLayout(datatype!, count: count, op: op)
        guard let layout else { return lrc }
        if count == 0 { return 0 }
        guard let input, let target else { return ErrorClass.buffer.rawValue }
        var keep: [Scratch] = []
        let i = layout.input(input, keep: &keep)
        let o = layout.output(target, load: true, keep: &keep)
        layout.reducer.combine(i, o, layout.elements)
        layout.store(o, to: target)
        rc = 0
        return rc
    }

    // MARK: gather / scatter / allgather / alltoall (uniform blocks)

    /// Packs/unpacks block i of an array of `n` blocks of `count` elements (block stride
    /// count * extent) to or from a packed array of blocks.
    private func blocksView(_ p: UnsafeRawPointer?, blocks n: Int, count: Int, _ t: Datatype,
                            keep: inout [Scratch], load: Bool) -> UnsafeMutableRawPointer? {
        guard let p else { return nil }
        if (t.isContiguous && t.size == t.extent) || count == 0 {
            return UnsafeMutableRawPointer(mutating: p) + t.trueLowerBound
        }
        let b = count * t.size
        let s = Scratch(n * b); keep.append(s)
        if load {
            for i in 0..<n { t.pack(from: p + i * count * t.extent, count: count, packedOffset: 0, into: s.base + i * b, bytes: b) }
        }
        return s.base
    }
    private func storeBlocks(_ view: UnsafeRawPointer, to p: UnsafeMutableRawPointer?, blocks n: Int, count: Int, _ t: Datatype,
                             only: Int? = nil) {
        guard let p, !((t.isContiguous && t.size == t.extent) || count == 0) else { return }
        let b = count * t.size
        for i in 0..<n where only == nil || only == i {
            t.unpack(from: view + i * b, bytes: b, into: p + i * count * t.extent, count: count, packedOffset: 0)
        }
    }

    private func checkBlocks(_ comm: Communicator?, _ sc: Int, _ st: Datatype?, _ rc: Int, _ rt: Datatype?,
                             sendUsed: Bool, recvUsed: Bool) -> Int32 {
        var e = checkIntracomm(comm)
        if e == 0 && sendUsed { e = checkData(sc, st) }
        if e == 0 && recvUsed { e = checkData(rc, rt) }
        return e
    }

    public func gather(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                       recvCount: Int, recvType: Datatype?, root: Int32, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interGather(send, sendCount: sendCount, sendType: sendType, recv, recvCount: recvCount,
                               recvType: recvType, root: root, comm: ic)
        }
        let isRoot = comm?.rank == root
        let inPlace = Runtime.isInPlace(send)
        var rc = checkBlocks(comm, sendCount, sendType, recvCount, recvType, sendUsed: !inPlace, recvUsed: isRoot)
        if rc == 0 { rc = checkRoot(root, comm!) }
        if rc != 0 { return rc }
        let n = comm!.size
        let blockBytes = isRoot ? recvCount * recvType!.size : sendCount * sendType!.size
        var keep: [Scratch] = []
        let out = isRoot ? blocksView(recv, blocks: n, count: recvCount, recvType!, keep: &keep, load: inPlace) : nil
        let inp: UnsafeRawPointer? = inPlace ? nil : packedInput(send, sendCount, sendType!, keep: &keep)
        if blockBytes > 0, let h = hierarchy(of: comm!), h.blockOrdered {
            rc = hierarchicalGather(h, input: inp, output: out, blockBytes: blockBytes, root: root, comm: comm!)
        } else {
            rc = Collectives.gather(CommTransport(self, comm!), send: inp, recv: out, blockBytes: blockBytes, root: Int(root))
        }
        if isRoot, let out { storeBlocks(out, to: recv, blocks: n, count: recvCount, recvType!) }
        return rc
    }

    public func scatter(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                        recvCount: Int, recvType: Datatype?, root: Int32, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interScatter(send, sendCount: sendCount, sendType: sendType, recv, recvCount: recvCount,
                                recvType: recvType, root: root, comm: ic)
        }
        let isRoot = comm?.rank == root
        let inPlace = Runtime.isInPlace(recv)
        var rc = checkBlocks(comm, sendCount, sendType, recvCount, recvType, sendUsed: isRoot, recvUsed: !inPlace)
        if rc == 0 { rc = checkRoot(root, comm!) }
        if rc != 0 { return rc }
        let n = comm!.size
        let blockBytes = isRoot ? sendCount * sendType!.size : recvCount * recvType!.size
        var keep: [Scratch] = []
        let inp = isRoot ? blocksView(send, blocks: n, count: sendCount, sendType!, keep: &keep, load: true) : nil
        var out: UnsafeMutableRawPointer? = nil
        var tmp: Scratch? = nil
        if !inPlace {
            if recvType!.isContiguous || recvCount == 0 {
                out = byteAddress(recv, recvType!.trueLowerBound)
            } else {
                tmp = Scratch(blockBytes)
                out = tmp!.base
            }
        }
        if blockBytes > 0, let h = hierarchy(of: comm!), h.blockOrdered {
            rc = hierarchicalScatter(h, input: inp.map { UnsafeRawPointer($0) }, output: out, blockBytes: blockBytes,
                                     root: root, comm: comm!)
        } else {
            rc = Collectives.scatter(CommTransport(self, comm!), send: inp.map { UnsafeRawPointer($0) }, recv: out,
                                     blockBytes: blockBytes, root: Int(root))
        }
        if let tmp { recvType!.unpack(from: tmp.base, bytes: blockBytes, into: recv, count: recvCount, packedOffset: 0) }
        return rc
    }

    public func allgather(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                          recvCount: Int, recvType: Datatype?, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interAllgather(send, sendCount: sendCount, sendType: sendType, recv, recvCount: recvCount,
                                  recvType: recvType, comm: ic)
        }
        let inPlace = Runtime.isInPlace(send)
        var rc = checkBlocks(comm, sendCount, sendType, recvCount, recvType, sendUsed: !inPlace, recvUsed: true)
        if rc != 0 { return rc }
        let n = comm!.size
        let blockBytes = recvCount * recvType!.size
        if blockBytes == 0 { return 0 }
        var keep: [Scratch] = []
        guard let out = blocksView(recv, blocks: n, count: recvCount, recvType!, keep: &keep, load: inPlace) else {
            return ErrorClass.buffer.rawValue
        }
        let inp: UnsafeRawPointer? = inPlace ? nil : packedInput(send, sendCount, sendType!, keep: &keep)
        if allgatherSlotShare * blockBytes <= Runtime.slotBytes, let node = nodeArea(comm!) {
            nodeAllgather(node, input: inp, output: out, blockBytes: blockBytes)
            storeBlocks(out, to: recv, blocks: n, count: recvCount, recvType!)
            return 0
        }
        if let h = hierarchy(of: comm!), h.blockOrdered {
            rc = hierarchicalAllgather(h, input: inp, output: out, blockBytes: blockBytes, comm: comm!)
            storeBlocks(out, to: recv, blocks: n, count: recvCount, recvType!)
            return rc
        }
        rc = Collectives.allgather(CommTransport(self, comm!), send: inp, recv: out, blockBytes: blockBytes)
        storeBlocks(out, to: recv, blocks: n, count: recvCount, recvType!)
        return rc
    }

    public func alltoall(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                         recvCount: Int, recvType: Datatype?, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interAlltoall(send, sendCount: sendCount, sendType: sendType, recv, recvCount: recvCount,
                                 recvType: recvType, comm: ic)
        }
        let inPlace = Runtime.isInPlace(send)
        var rc = checkBlocks(comm, sendCount, sendType, recvCount, recvType, sendUsed: !inPlace, recvUsed: true)
        if rc != 0 { return rc }
        let n = comm!.size
        let blockBytes = recvCount * recvType!.size
        if blockBytes == 0 { return 0 }
        var keep: [Scratch] = []
        guard let out = blocksView(recv, blocks: n, count: recvCount, recvType!, keep: &keep, load: inPlace) else {
            return ErrorClass.buffer.rawValue
        }
        let inp: UnsafeRawPointer? = inPlace ? nil
            : blocksView(send, blocks: n, count: sendCount, sendType!, keep: &keep, load: true).map { UnsafeRawPointer($0) }
        if n * blockBytes <= Runtime.slotBytes, let node = nodeArea(comm!) {
            nodeAlltoall(node, input: inp, output: out, blockBytes: blockBytes)
            storeBlocks(out, to: recv, blocks: n, count: recvCount, recvType!)
            return 0
        }
        rc = Collectives.alltoall(CommTransport(self, comm!), send: inp, recv: out, blockBytes: blockBytes)
        storeBlocks(out, to: recv, blocks: n, count: recvCount, recvType!)
        return rc
    }

    // MARK: vector variants (linear)

    /// Posts typed receives and sends on the collective context, then waits for all of them.
    private func exchange(_ comm: Communicator, tag: Int32,
                          recvs: [(UnsafeMutableRawPointer?, Int, Datatype, Int32)],
                          sends: [(UnsafeRawPointer?, Int, Datatype, Int32)]) -> Int32 {
        var reqs: [RequestHandle] = []
        reqs.reserveCapacity(recvs.count + sends.count)
        for (p, c, t, peer) in recvs {
            reqs.append(irecvInternal(p, count: c, datatype: t, source: peer, tag: tag, comm: comm, context: comm.collectiveContext))
        }
        for (p, c, t, peer) in sends {
            reqs.append(isendInternal(p, count: c, datatype: t, dest: peer, tag: tag, comm: comm, context: comm.collectiveContext))
        }
        var sts: [Status] = []
        let rc = waitAll(&reqs, statuses: &sts)
        if rc == 0 { return 0 }
        return sts.first { $0.error != 0 }?.error ?? rc
    }

    private func checkVector(_ counts: [Int], _ displs: [Int], _ n: Int) -> Int32 {
        guard counts.count >= n, displs.count >= n else { return ErrorClass.arg.rawValue }
        return counts.prefix(n).contains { $0 < 0 } ? ErrorClass.count.rawValue : 0
    }

    public func gatherv(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                        recvCounts: [Int], displacements: [Int], recvType: Datatype?, root: Int32, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interGatherv(send, sendCount: sendCount, sendType: sendType, recv, recvCounts: recvCounts,
                                displacements: displacements, recvType: recvType, root: root, comm: ic)
        }
        let isRoot = comm?.rank == root
        let inPlace = Runtime.isInPlace(send)
        var rc = checkBlocks(comm, sendCount, sendType, 0, recvType, sendUsed: !inPlace, recvUsed: isRoot)
        if rc == 0 { rc = checkRoot(root, comm!) }
        if rc == 0 && isRoot { rc = checkVector(recvCounts, displacements, comm!.size) }
        if rc != 0 { return rc }
        let c = comm!, n = c.size, me = Int(c.rank)
        // Empty blocks are skipped on both sides (the root skips the receive of a zero count, so
        // a zero-byte send would stay unmatched and meet a later gatherv's receive).
        if !isRoot {
            if sendCount * sendType!.size == 0 { return 0 }
            return exchange(c, tag: 20, recvs: [], sends: [(send, sendCount, sendType!, root)])
        }
        let rt = recvType!
        var recvs: [(UnsafeMutableRawPointer?, Int, Datatype, Int32)] = []
        for i in 0..<n where i != me && recvCounts[i] * rt.size > 0 {
            recvs.append((byteAddress(recv, displacements[i] * rt.extent), recvCounts[i], rt, Int32(i)))
        }
        if !inPlace && recvCounts[me] > 0 {
            rc = localCopy(send, sendCount, sendType!, byteAddress(recv, displacements[me] * rt.extent), recvCounts[me], rt)
            if rc != 0 { return rc }
        }
        return exchange(c, tag: 20, recvs: recvs, sends: [])
    }

    public func scatterv(_ send: UnsafeRawPointer?, sendCounts: [Int], displacements: [Int], sendType: Datatype?,
                         _ recv: UnsafeMutableRawPointer?, recvCount: Int, recvType: Datatype?, root: Int32,
                         comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interScatterv(send, sendCounts: sendCounts, displacements: displacements, sendType: sendType,
                                 recv, recvCount: recvCount, recvType: recvType, root: root, comm: ic)
        }
        let isRoot = comm?.rank == root
        let inPlace = Runtime.isInPlace(recv)
        var rc = checkBlocks(comm, 0, sendType, recvCount, recvType, sendUsed: isRoot, recvUsed: !inPlace)
        if rc == 0 { rc = checkRoot(root, comm!) }
        if rc == 0 && isRoot { rc = checkVector(sendCounts, displacements, comm!.size) }
        if rc != 0 { return rc }
        let c = comm!, n = c.size, me = Int(c.rank)
        // Empty blocks are skipped on both sides (the root sends nothing for a zero count).
        if !isRoot {
            if recvCount * recvType!.size == 0 { return 0 }
            return exchange(c, tag: 21, recvs: [(recv, recvCount, recvType!, root)], sends: [])
        }
        let st = sendType!
        var sends: [(UnsafeRawPointer?, Int, Datatype, Int32)] = []
        for i in 0..<n where i != me && sendCounts[i] * st.size > 0 {
            sends.append((UnsafeRawPointer(byteAddress(send, displacements[i] * st.extent)), sendCounts[i], st, Int32(i)))
        }
        if !inPlace && sendCounts[me] > 0 {
            rc = localCopy(byteAddress(send, displacements[me] * st.extent), sendCounts[me], st, recv, recvCount, recvType!)
            if rc != 0 { return rc }
        }
        return exchange(c, tag: 21, recvs: [], sends: sends)
    }

    public func allgatherv(_ send: UnsafeRawPointer?, sendCount: Int, sendType: Datatype?, _ recv: UnsafeMutableRawPointer?,
                           recvCounts: [Int], displacements: [Int], recvType: Datatype?, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interAllgatherv(send, sendCount: sendCount, sendType: sendType, recv, recvCounts: recvCounts,
                                   displacements: displacements, recvType: recvType, comm: ic)
        }
        let inPlace = Runtime.isInPlace(send)
        var rc = checkBlocks(comm, sendCount, sendType, 0, recvType, sendUsed: !inPlace, recvUsed: true)
        if rc == 0 { rc = checkVector(recvCounts, displacements, comm!.size) }
        if rc != 0 { return rc }
        let c = comm!, n = c.size, me = Int(c.rank), rt = recvType!
        if !inPlace && recvCounts[me] > 0 {
            rc = localCopy(send, sendCount, sendType!, byteAddress(recv, displacements[me] * rt.extent), recvCounts[me], rt)
            if rc != 0 { return rc }
        }
        var recvs: [(UnsafeMutableRawPointer?, Int, Datatype, Int32)] = []
        var sends: [(UnsafeRawPointer?, Int, Datatype, Int32)] = []
        let mine = UnsafeRawPointer(byteAddress(recv, (recvCounts[me] > 0 ? displacements[me] * rt.extent : 0)))
        for k in 1..<max(n, 1) {
            let to = (me + k) % n, from = (me - k + n) % n
            if recvCounts[from] > 0 { recvs.append((byteAddress(recv, displacements[from] * rt.extent), recvCounts[from], rt, Int32(from))) }
            if recvCounts[me] > 0 { sends.append((mine, recvCounts[me], rt, Int32(to))) }
        }
        return exchange(c, tag: 22, recvs: recvs, sends: sends)
    }

    public func alltoallv(_ send: UnsafeRawPointer?, sendCounts: [Int], sendDisplacements: [Int], sendType: Datatype?,
                          _ recv: UnsafeMutableRawPointer?, recvCounts: [Int], recvDisplacements: [Int],
                          recvType: Datatype?, comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interAlltoallv(send, sendCounts: sendCounts, sendDisplacements: sendDisplacements, sendType: sendType,
                                  recv, recvCounts: recvCounts, recvDisplacements: recvDisplacements,
                                  recvType: recvType, comm: ic)
        }
        guard let comm, !comm.isFreed, !comm.isInter else { return ErrorClass.comm.rawValue }
        let n = comm.size
        guard let st = Runtime.isInPlace(send) ? recvType : sendType, let rt = recvType else { return ErrorClass.type.rawValue }
        let ss = Runtime.isInPlace(send) ? Array(repeating: rt, count: n) : Array(repeating: st, count: n)
        let sd = (Runtime.isInPlace(send) ? recvDisplacements : sendDisplacements).prefix(n).map { $0 * st.extent }
        return alltoallw(send, sendCounts: Runtime.isInPlace(send) ? recvCounts : sendCounts, sendByteDisplacements: Array(sd),
                         sendTypes: ss, recv, recvCounts: recvCounts,
                         recvByteDisplacements: recvDisplacements.prefix(n).map { $0 * rt.extent },
                         recvTypes: Array(repeating: rt, count: n), comm: comm)
    }

    public func alltoallw(_ send: UnsafeRawPointer?, sendCounts: [Int], sendByteDisplacements: [Int], sendTypes: [Datatype?],
                          _ recv: UnsafeMutableRawPointer?, recvCounts: [Int], recvByteDisplacements: [Int],
                          recvTypes: [Datatype?], comm: Communicator?) -> Int32 {
        if let ic = interTarget(comm) {
            return interAlltoallw(send, sendCounts: sendCounts, sendByteDisplacements: sendByteDisplacements,
                                  sendTypes: sendTypes, recv, recvCounts: recvCounts,
                                  recvByteDisplacements: recvByteDisplacements, recvTypes: recvTypes, comm: ic)
        }
        var rc = checkIntracomm(comm)
        if rc != 0 { return rc }
        let c = comm!, n = c.size, me = Int(c.rank)
        let inPlace = Runtime.isInPlace(send)
        guard recvCounts.count >= n, recvByteDisplacements.count >= n, recvTypes.count >= n else { return ErrorClass.arg.rawValue }
        if !inPlace { guard sendCounts.count >= n, sendByteDisplacements.count >= n, sendTypes.count >= n else { return ErrorClass.arg.rawValue } }
        for i in 0..<n {
            rc = checkData(recvCounts[i], recvTypes[i])
            if rc == 0 && !inPlace { rc = checkData(sendCounts[i], sendTypes[i]) }
            if rc != 0 { return rc }
        }
        var keep: [Scratch] = []
        var sbase = send
        var scounts = sendCounts, sdispl = sendByteDisplacements, stypes = sendTypes
        if inPlace {
            // Snapshot the receive buffer: it is both the input and the output.
            var lo = Int.max, hi = Int.min
            for i in 0..<n where recvCounts[i] > 0 {
                let t = recvTypes[i]!
                lo = min(lo, recvByteDisplacements[i] + t.trueLowerBound)
                hi = max(hi, recvByteDisplacements[i] + (recvCounts[i] - 1) * t.extent + t.trueLowerBound + t.trueExtent)
            }
            if lo > hi { return 0 }
            let s = Scratch(hi - lo); keep.append(s)
            memcpy(s.base, byteAddress(recv, lo)!, hi - lo)
            sbase = UnsafeRawPointer(s.base - lo)
            scounts = recvCounts; sdispl = recvByteDisplacements; stypes = recvTypes
        }
        if scounts[me] > 0 || recvCounts[me] > 0 {
            rc = localCopy(byteAddress(sbase, sdispl[me]), scounts[me], stypes[me]!, byteAddress(recv, recvByteDisplacements[me]),
                           recvCounts[me], recvTypes[me]!)
            if rc != 0 { return rc }
        }
        var recvs: [(UnsafeMutableRawPointer?, Int, Datatype, Int32)] = []
        var sends: [(UnsafeRawPointer?, Int, Datatype, Int32)] = []
        for k in 1..<max(n, 1) {
            let to = (me + k) % n, from = (me - k + n) % n
            // Zero-byte blocks are skipped on both sides: decided by bytes, which the two sides'
            // matching type signatures agree on (counts alone may differ for zero-size types).
            if recvCounts[from] * recvTypes[from]!.size > 0 { recvs.append((byteAddress(recv, recvByteDisplacements[from]), recvCounts[from], recvTypes[from]!, Int32(from))) }
            if scounts[to] * stypes[to]!.size > 0 { sends.append((UnsafeRawPointer(byteAddress(sbase, sdispl[to])), scounts[to], stypes[to]!, Int32(to))) }
        }
        return exchange(c, tag: 23, recvs: recvs, sends: sends)
    }

    /// Copies typed data inside this process (the root's own block), checking truncation.
    func localCopy(_ src: UnsafeRawPointer?, _ sc: Int, _ st: Datatype, _ dst: UnsafeMutableRawPointer?, _ rc: Int,
                   _ rt: Datatype) -> Int32 {
        let bytes = sc * st.size
        if bytes > rc * rt.size { return ErrorClass.truncate.rawValue }
        if bytes == 0 { return 0 }
        let s = Scratch(bytes)
        st.pack(from: src, count: sc, packedOffset: 0, into: s.base, bytes: bytes)
        rt.unpack(from: s.base, bytes: bytes, into: dst, count: rc, packedOffset: 0)
        return 0
    }
}
