// RMA communication calls (MPI-3.1 §11.3): put, get, accumulate, get_accumulate,
// fetch_and_op and compare_and_swap. Each one completes before it returns:
//   - target memory in this process's mapping (allocate/shared windows, and our own memory in
//     create/dynamic windows): pack/unpack straight between the origin buffer and the target;
//   - another process's private memory (create/dynamic windows): process_vm_writev/readv with
//     one remote iovec per contiguous block of the target datatype, so bytes between the
//     blocks are never touched (concurrent puts to interleaved elements stay correct).
// Accumulate-type calls hold the target's accumulate mutex (in the window's segment) around
// their read-modify-write, which gives the element-wise atomicity MPI requires among them.
import FerryCore
import FerryDatatype
import FerryReduce
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// Where a target's window memory is, as seen from this process.
enum TargetMemory {
    /// Addressable here (the shared mapping, or our own memory).
    case mapped(UnsafeMutableRawPointer)
    /// Private memory of process `pid` at `address` (single copy).
    case remote(pid: Int32, address: UInt)
}

/// Remote iovecs of one single-copy call, built block by block in packed-stream order.
private struct IovecBatch {
    static let maxIovecs = 1024   // IOV_MAX on Linux
    var iovecs: [iovec] = []
    var bytes = 0

    /// Appends a block; returns false when the batch is full (flush, then append again).
    mutating func append(_ address: UInt, _ length: Int) -> Bool {
        if length == 0 { return true }
        if let last = iovecs.last, UInt(bitPattern: last.iov_base) &+ UInt(last.iov_len) == address {
            iovecs[iovecs.count - 1].iov_len += length
            bytes += length
            return true
        }
        if iovecs.count == IovecBatch.maxIovecs { return false }
        iovecs.append(iovec(iov_base: UnsafeMutableRawPointer(bitPattern: address), iov_len: length))
        bytes += length
        return true
    }
}

/// Scratch memory for one call.
final class RMAScratch {
    let base: UnsafeMutableRawPointer
    init(_ bytes: Int) { base = .allocate(byteCount: max(bytes, 1), alignment: 64) }
    deinit { base.deallocate() }
}

@inline(__always)
func advanced(_ p: UnsafeRawPointer?, _ by: Int) -> UnsafeRawPointer {
    // SAFETY: MPI_BOTTOM (nil) plus an absolute displacement is the data's address.
    UnsafeRawPointer(bitPattern: Int(bitPattern: p) &+ by)!
}

extension Runtime {
    // MARK: argument checks and target resolution

    /// Checks common to every RMA call; `nil` means "go ahead", otherwise the error code
    /// (0 for MPI_PROC_NULL targets: nothing to do).
    private func rmaCheck(_ w: Window, target: Int32) -> Int32? {
        if w.isFreed { return ErrorClass.win.rawValue }
        if target == MPIConstant.procNull { return 0 }
        guard target >= 0 && Int(target) < w.size else { return ErrorClass.rank.rawValue }
        guard w.mayAccess(target) else { return ErrorClass.rmaSync.rawValue }
        return nil
    }

    private func dataCheck(_ count: Int, _ t: Datatype?) -> Int32 {
        guard count >= 0 else { return ErrorClass.count.rawValue }
        guard let t, t.isCommitted else { return ErrorClass.type.rawValue }
        return 0
    }

    /// Lowest and highest-plus-one byte offsets `count` elements of `t` touch, or nil if none.
    private func touchedSpan(_ t: Datatype, _ count: Int) -> (lo: Int, hi: Int)? {
        if count == 0 || t.size == 0 { return nil }
        let last = (count - 1) * t.extent
        return (t.trueLowerBound + min(0, last), t.trueLowerBound + t.trueExtent + max(0, last))
    }

    /// The memory of `target` at `disp`, after checking that `count` elements of `type` lie
    /// inside its window (MPI_ERR_RMA_RANGE otherwise).
    func windowTarget(_ w: Window, _ target: Int32, disp: Int, count: Int, type: Datatype) -> (TargetMemory?, Int32) {
        let m = w.members[Int(target)]
        let span = touchedSpan(type, count)
        switch w.flavor {
        case .allocate, .shared, .create:
            guard disp >= 0 else { return (nil, ErrorClass.disp.rawValue) }
            let (off, overflow) = disp.multipliedReportingOverflow(by: m.dispUnit)
            if overflow { return (nil, ErrorClass.rmaRange.rawValue) }
            if let span, off + span.lo < 0 || off + span.hi > m.size { return (nil, ErrorClass.rmaRange.rawValue) }
            if m.dataOffset >= 0 { return (.mapped(w.mapBase + m.dataOffset + off), 0) }
            let address = m.base &+ UInt(off)
            if target == w.rank {
                guard let p = UnsafeMutableRawPointer(bitPattern: address) else { return (nil, span == nil ? 0 : ErrorClass.rmaRange.rawValue) }
                return (.mapped(p), 0)
            }
            return (.remote(pid: m.pid, address: address), 0)
        case .dynamic:
            // target_disp is an absolute address in the target (relative to MPI_BOTTOM).
            let address = UInt(bitPattern: disp)
            if let span {
                let lo = address &+ UInt(bitPattern: span.lo), hi = address &+ UInt(bitPattern: span.hi)
                if !attachedRegionsCover(w, target: target, lo: lo, hi: hi) { return (nil, ErrorClass.rmaRange.rawValue) }
            }
            if target == w.rank {
                guard let p = UnsafeMutableRawPointer(bitPattern: address) else { return (nil, span == nil ? 0 : ErrorClass.rmaRange.rawValue) }
                return (.mapped(p), 0)
            }
            return (.remote(pid: m.pid, address: address), 0)
        }
    }

    // MARK: moving packed data to and from target memory

    /// Copies the packed stream of `count` elements of `type` (`bytes` long, at `packed`) into
    /// target memory (`write`) or out of it.
    func windowTransfer(_ mem: TargetMemory, type: Datatype, count: Int, packed: UnsafeMutableRawPointer,
                        bytes: Int, write: Bool) -> Int32 {
        if bytes == 0 { return 0 }
        switch mem {
        case .mapped(let p):
            if write { type.unpack(from: packed, bytes: bytes, into: p, count: count, packedOffset: 0) }
            else { type.pack(from: p, count: count, packedOffset: 0, into: packed, bytes: bytes) }
            return 0
        case .remote(let pid, let address):
            var batch = IovecBatch()
            batch.iovecs.reserveCapacity(16)
            var done = 0
            func flush(_ batch: inout IovecBatch) -> Int32 {
                let rc = vmTransfer(pid: pid, write: write, local: packed + done, batch: &batch)
                done += batch.bytes
                batch.iovecs.removeAll(keepingCapacity: true)
                batch.bytes = 0
                return rc
            }
            if type.isContiguous {
                _ = batch.append(address &+ UInt(bitPattern: type.trueLowerBound), bytes)
                return flush(&batch)
            }
            let runs = type.typeRuns
            let extent = type.extent
            for k in 0..<count {
                let element = address &+ UInt(bitPattern: k * extent)
                for run in runs {
                    let t = run.type
                    let start = element &+ UInt(bitPattern: run.displacement)
                    if t.size == t.extent {
                        if !batch.append(start, run.count * t.size) {
                            let rc = flush(&batch); if rc != 0 { return rc }
                            _ = batch.append(start, run.count * t.size)
                        }
                    } else {
                        for j in 0..<run.count {
                            let a = start &+ UInt(j * t.extent)
                            if !batch.append(a, t.size) {
                                let rc = flush(&batch); if rc != 0 { return rc }
                                _ = batch.append(a, t.size)
                            }
                        }
                    }
                }
            }
            return batch.bytes > 0 ? flush(&batch) : 0
        }
    }

    /// One process_vm_writev/readv batch, resumed after partial transfers.
    private func vmTransfer(pid: Int32, write: Bool, local: UnsafeMutableRawPointer, batch: inout IovecBatch) -> Int32 {
        var done = 0, first = 0
        while done < batch.bytes {
            var l = iovec(iov_base: local + done, iov_len: batch.bytes - done)
            let n = batch.iovecs.withUnsafeBufferPointer { r in
                ferry_vm_transfer(pid, write ? 1 : 0, &l, 1, r.baseAddress! + first, UInt(r.count - first))
            }
            if n <= 0 {
                if n == -Int(EFAULT) || n == 0 { return ErrorClass.rmaRange.rawValue }
                let msg = "ferry: rank \(worldRank): single copy \(write ? "to" : "from") process \(pid) failed: \(String(cString: strerror(Int32(-n))))\n"
                _ = msg.withCString { Glibc.write(2, $0, strlen($0)) }
                return ErrorClass.other.rawValue
            }
            done += n
            var left = n
            while left > 0 {
                let len = batch.iovecs[first].iov_len
                if left >= len { left -= len; first += 1 } else {
                    batch.iovecs[first].iov_base += left
                    batch.iovecs[first].iov_len -= left
                    left = 0
                }
            }
        }
        return 0
    }

    // MARK: put and get

    /// `MPI_Put` (and MPI_Rput, whose request is complete at once).
    public func windowPut(_ w: Window, origin: UnsafeRawPointer?, originCount: Int, originType: Datatype?,
                          target: Int32, targetDisp: Int, targetCount: Int, targetType: Datatype?) -> Int32 {
        if let rc = rmaCheck(w, target: target) { return rc }
        var rc = dataCheck(originCount, originType)
        if rc == 0 { rc = dataCheck(targetCount, targetType) }
        if rc != 0 { return rc }
        let ot = originType!, tt = targetType!
        let bytes = originCount * ot.size
        guard bytes == targetCount * tt.size else { return ErrorClass.type.rawValue }
        if w.remote != nil && target != w.rank {
            if let rc = spreadRangeCheck(w, target, disp: targetDisp, count: targetCount, type: tt) { return rc }
            if bytes == 0 { return 0 }
            return spreadWrite(w, .put, origin: origin, originCount: originCount, originType: ot, target: target,
                               targetDisp: targetDisp, targetCount: targetCount, targetType: tt, op: nil)
        }
        let (mem, r) = windowTarget(w, target, disp: targetDisp, count: targetCount, type: tt)
        guard let mem else { return r }
        if bytes == 0 { return 0 }
        if case .mapped(let p) = mem {
            if ot.isContiguous {
                tt.unpack(from: advanced(origin, ot.trueLowerBound), bytes: bytes, into: p, count: targetCount, packedOffset: 0)
            } else if tt.isContiguous {
                ot.pack(from: origin, count: originCount, packedOffset: 0, into: p + tt.trueLowerBound, bytes: bytes)
            } else {
                let s = RMAScratch(bytes)
                ot.pack(from: origin, count: originCount, packedOffset: 0, into: s.base, bytes: bytes)
                tt.unpack(from: s.base, bytes: bytes, into: p, count: targetCount, packedOffset: 0)
            }
            return 0
        }
        if ot.isContiguous {
            return windowTransfer(mem, type: tt, count: targetCount,
                                  packed: UnsafeMutableRawPointer(mutating: advanced(origin, ot.trueLowerBound)),
                                  bytes: bytes, write: true)
        }
        let s = RMAScratch(bytes)
        ot.pack(from: origin, count: originCount, packedOffset: 0, into: s.base, bytes: bytes)
        return windowTransfer(mem, type: tt, count: targetCount, packed: s.base, bytes: bytes, write: true)
    }

    /// `MPI_Get` (and MPI_Rget).
    public func windowGet(_ w: Window, origin: UnsafeMutableRawPointer?, originCount: Int, originType: Datatype?,
                          target: Int32, targetDisp: Int, targetCount: Int, targetType: Datatype?) -> Int32 {
        if let rc = rmaCheck(w, target: target) { return rc }
        var rc = dataCheck(originCount, originType)
        if rc == 0 { rc = dataCheck(targetCount, targetType) }
        if rc != 0 { return rc }
        let ot = originType!, tt = targetType!
        let bytes = originCount * ot.size
        guard bytes == targetCount * tt.size else { return ErrorClass.type.rawValue }
        if w.remote != nil && target != w.rank {
            if let rc = spreadRangeCheck(w, target, disp: targetDisp, count: targetCount, type: tt) { return rc }
            if bytes == 0 { return 0 }
            return spreadRead(w, .get, into: origin, count: originCount, type: ot, input: nil, inputCount: 0,
                              inputType: nil, target: target, targetDisp: targetDisp, targetCount: targetCount,
                              targetType: tt, op: nil)
        }
        let (mem, r) = windowTarget(w, target, disp: targetDisp, count: targetCount, type: tt)
        guard let mem else { return r }
        if bytes == 0 { return 0 }
        let originAt = UnsafeMutableRawPointer(mutating: advanced(origin, ot.trueLowerBound))
        if case .mapped(let p) = mem {
            if ot.isContiguous {
                tt.pack(from: p, count: targetCount, packedOffset: 0, into: originAt, bytes: bytes)
            } else if tt.isContiguous {
                ot.unpack(from: p + tt.trueLowerBound, bytes: bytes, into: origin,
                          count: originCount, packedOffset: 0)
            } else {
                let s = RMAScratch(bytes)
                tt.pack(from: p, count: targetCount, packedOffset: 0, into: s.base, bytes: bytes)
                ot.unpack(from: s.base, bytes: bytes, into: origin, count: originCount, packedOffset: 0)
            }
            return 0
        }
        if ot.isContiguous {
            return windowTransfer(mem, type: tt, count: targetCount, packed: originAt, bytes: bytes, write: false)
        }
        let s = RMAScratch(bytes)
        rc = windowTransfer(mem, type: tt, count: targetCount, packed: s.base, bytes: bytes, write: false)
        if rc == 0 { ot.unpack(from: s.base, bytes: bytes, into: origin, count: originCount, packedOffset: 0) }
        return rc
    }

    // MARK: accumulate family

    /// The basic type an accumulate works on: `type` must be made of one predefined type only
    /// and `op` defined on it.
    private func accumulateType(_ t: Datatype, _ op: PredefinedOp) -> (BasicType?, Int32) {
        guard let b = t.uniformBasicType else { return (nil, ErrorClass.type.rawValue) }
        guard Reduction.isDefined(op, on: b) else { return (nil, ErrorClass.op.rawValue) }
        return (b, 0)
    }

    /// `MPI_Accumulate` (and MPI_Raccumulate).
    public func windowAccumulate(_ w: Window, origin: UnsafeRawPointer?, originCount: Int, originType: Datatype?,
                                 target: Int32, targetDisp: Int, targetCount: Int, targetType: Datatype?,
                                 op: Operation?) -> Int32 {
        windowGetAccumulate(w, origin: origin, originCount: originCount, originType: originType, result: nil,
                            resultCount: 0, resultType: nil, target: target, targetDisp: targetDisp,
                            targetCount: targetCount, targetType: targetType, op: op, fetch: false)
    }

    /// `MPI_Get_accumulate` (`fetch`, and MPI_Rget_accumulate) and `MPI_Accumulate` (`!fetch`):
    /// under the target's accumulate mutex, fetch the old target data into `result`, then
    /// combine the origin data into the target.
    public func windowGetAccumulate(_ w: Window, origin: UnsafeRawPointer?, originCount: Int, originType: Datatype?,
                                    result: UnsafeMutableRawPointer?, resultCount: Int, resultType: Datatype?,
                                    target: Int32, targetDisp: Int, targetCount: Int, targetType: Datatype?,
                                    op: Operation?, fetch: Bool = true) -> Int32 {
        if w.isFreed { return ErrorClass.win.rawValue }
        guard case .predefined(let pop)? = op else { return ErrorClass.op.rawValue }
        if !fetch && pop == .noOp { /* MPI_NO_OP is for get_accumulate only */ return ErrorClass.op.rawValue }
        if let rc = rmaCheck(w, target: target) { return rc }
        var rc = dataCheck(targetCount, targetType)
        if rc != 0 { return rc }
        let tt = targetType!
        let bytes = targetCount * tt.size
        if bytes == 0 { return 0 }
        let (basic, brc) = accumulateType(tt, pop)
        guard let basic else { return brc }
        // The origin is ignored for MPI_NO_OP (MPI-3.1 §11.3.4).
        let usesOrigin = pop != .noOp
        if usesOrigin {
            rc = dataCheck(originCount, originType)
            if rc != 0 { return rc }
            let (ob, orc) = accumulateType(originType!, pop)
            guard let ob else { return orc }
            if ob != basic { return ErrorClass.type.rawValue }
            guard originCount * originType!.size == bytes else { return ErrorClass.type.rawValue }
        }
        if fetch {
            rc = dataCheck(resultCount, resultType)
            if rc != 0 { return rc }
            guard resultCount * resultType!.size == bytes else { return ErrorClass.type.rawValue }
            if resultType!.uniformBasicType != basic { return ErrorClass.type.rawValue }
        }
        if w.remote != nil && target != w.rank {
            if let rc = spreadRangeCheck(w, target, disp: targetDisp, count: targetCount, type: tt) { return rc }
            if !fetch {
                return spreadWrite(w, .accumulate, origin: origin, originCount: originCount, originType: originType!,
                                   target: target, targetDisp: targetDisp, targetCount: targetCount, targetType: tt,
                                   op: pop)
            }
            return spreadRead(w, .getAccumulate, into: result, count: resultCount, type: resultType!,
                              input: usesOrigin ? origin : nil, inputCount: usesOrigin ? originCount : 0,
                              inputType: usesOrigin ? originType : nil, target: target, targetDisp: targetDisp,
                              targetCount: targetCount, targetType: tt, op: pop)
        }
        let (mem, r) = windowTarget(w, target, disp: targetDisp, count: targetCount, type: tt)
        guard let mem else { return r }
        if bytes == 0 { return 0 }

        // The origin's packed data (outside the mutex).
        var originScratch: RMAScratch? = nil
        var input: UnsafeRawPointer? = nil
        if usesOrigin {
            let ot = originType!
            if ot.isContiguous {
                input = advanced(origin, ot.trueLowerBound)
            } else {
                let s = RMAScratch(bytes)
                ot.pack(from: origin, count: originCount, packedOffset: 0, into: s.base, bytes: bytes)
                originScratch = s
                input = UnsafeRawPointer(s.base)
            }
        }
        // Across nodes this process's own memory is also updated by the active-message service,
        // which runs under the runtime's lock.
        let spread = w.remote != nil
        let mutex = w.accumulateMutex(target)
        if spread { lock() } else { w.lockMutex(mutex) }
        defer { if spread { unlock() } else { w.unlockMutex(mutex) } }
        rc = accumulateCore(mem, tt, targetCount, basic, pop, input: input, bytes: bytes, fetch: fetch) { old in
            if fetch { resultType!.unpack(from: old, bytes: bytes, into: result, count: resultCount, packedOffset: 0) }
        }
        withExtendedLifetime(originScratch) {}
        return rc
    }

    /// The read-modify-write of an accumulate on target memory `mem` (`count` elements of `tt`,
    /// `bytes` packed bytes of `basic`): `fetched` sees the old data, packed, before `input` is
    /// combined in (MPI_NO_OP: nothing is written; without `fetch` it is not called). The
    /// caller provides the atomicity.
    func accumulateCore(_ mem: TargetMemory, _ tt: Datatype, _ targetCount: Int, _ basic: BasicType,
                        _ pop: PredefinedOp, input: UnsafeRawPointer?, bytes: Int, fetch: Bool,
                        fetched: (UnsafeRawPointer) -> Void) -> Int32 {
        let elements = bytes / basic.size
        // Fast path: our mapping, contiguous target, kernels on the target in place.
        if case .mapped(let p) = mem, tt.isContiguous, basic.size == basic.extent, let input {
            let at = p + tt.trueLowerBound
            if fetch { fetched(UnsafeRawPointer(at)) }
            if pop == .replace { at.copyMemory(from: input, byteCount: bytes) }
            else { Reduction.apply(pop, basic, input: input, `inout`: at, count: elements) }
            return 0
        }
        if !fetch && pop == .replace, let input {
            return windowTransfer(mem, type: tt, count: targetCount, packed: UnsafeMutableRawPointer(mutating: input),
                                  bytes: bytes, write: true)
        }
        // Read-modify-write through a packed copy of the target data.
        let old = RMAScratch(bytes)
        var rc = windowTransfer(mem, type: tt, count: targetCount, packed: old.base, bytes: bytes, write: false)
        if rc != 0 { return rc }
        if fetch { fetched(UnsafeRawPointer(old.base)) }
        guard pop != .noOp, let input else { return 0 }
        if pop == .replace {
            return windowTransfer(mem, type: tt, count: targetCount, packed: UnsafeMutableRawPointer(mutating: input),
                                  bytes: bytes, write: true)
        }
        if basic.size == basic.extent {
            Reduction.apply(pop, basic, input: input, `inout`: old.base, count: elements)
        } else {
            // Pair types: the kernels want the C layout (extent stride), the stream is packed.
            let a = RMAScratch(elements * basic.extent), b = RMAScratch(elements * basic.extent)
            for i in 0..<elements {
                (a.base + i * basic.extent).copyMemory(from: input + i * basic.size, byteCount: basic.size)
                (b.base + i * basic.extent).copyMemory(from: old.base + i * basic.size, byteCount: basic.size)
            }
            Reduction.apply(pop, basic, input: a.base, `inout`: b.base, count: elements)
            for i in 0..<elements {
                (old.base + i * basic.size).copyMemory(from: b.base + i * basic.extent, byteCount: basic.size)
            }
        }
        rc = windowTransfer(mem, type: tt, count: targetCount, packed: old.base, bytes: bytes, write: true)
        return rc
    }

    /// `MPI_Fetch_and_op`: one element of a predefined type.
    public func windowFetchAndOp(_ w: Window, origin: UnsafeRawPointer?, result: UnsafeMutableRawPointer?,
                                 type: Datatype?, target: Int32, targetDisp: Int, op: Operation?) -> Int32 {
        guard let type, type.basicType != nil else { return ErrorClass.type.rawValue }
        return windowGetAccumulate(w, origin: origin, originCount: 1, originType: type, result: result, resultCount: 1,
                                   resultType: type, target: target, targetDisp: targetDisp, targetCount: 1,
                                   targetType: type, op: op)
    }

    /// `MPI_Compare_and_swap`: if the target element equals `compare`, replace it by `origin`;
    /// `result` receives the old value. Integer, logical and byte types only.
    public func windowCompareAndSwap(_ w: Window, origin: UnsafeRawPointer?, compare: UnsafeRawPointer?,
                                     result: UnsafeMutableRawPointer?, type: Datatype?, target: Int32,
                                     targetDisp: Int) -> Int32 {
        guard let type, let b = type.basicType, Reduction.isDefined(.band, on: b) || b == .bool else {
            return ErrorClass.type.rawValue
        }
        if let rc = rmaCheck(w, target: target) { return rc }
        guard let origin, let compare, let result else { return ErrorClass.buffer.rawValue }
        if w.remote != nil && target != w.rank {
            if let rc = spreadRangeCheck(w, target, disp: targetDisp, count: 1, type: type) { return rc }
            return spreadCompareAndSwap(w, origin: origin, compare: compare, result: result, type: type,
                                        target: target, targetDisp: targetDisp)
        }
        let (mem, r) = windowTarget(w, target, disp: targetDisp, count: 1, type: type)
        guard let mem else { return r }
        let spread = w.remote != nil
        let mutex = w.accumulateMutex(target)
        if spread { lock() } else { w.lockMutex(mutex) }
        defer { if spread { unlock() } else { w.unlockMutex(mutex) } }
        return compareAndSwapCore(mem, type, origin: origin, compare: compare, result: result)
    }

    /// The compare-and-swap of one element of predefined type `type` at `mem`; the old value
    /// goes to `result`. The caller provides the atomicity.
    func compareAndSwapCore(_ mem: TargetMemory, _ type: Datatype, origin: UnsafeRawPointer,
                            compare: UnsafeRawPointer, result: UnsafeMutableRawPointer) -> Int32 {
        let n = type.size
        var old = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &old) { o -> Int32 in
            var rc = windowTransfer(mem, type: type, count: 1, packed: o.baseAddress!, bytes: n, write: false)
            if rc != 0 { return rc }
            result.copyMemory(from: o.baseAddress!, byteCount: n)
            if memcmp(o.baseAddress!, compare, n) == 0 {
                rc = windowTransfer(mem, type: type, count: 1, packed: UnsafeMutableRawPointer(mutating: origin),
                                    bytes: n, write: true)
            }
            return rc
        }
    }
}
