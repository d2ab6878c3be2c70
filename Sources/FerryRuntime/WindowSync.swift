// Window synchronization (MPI-3.1 §11.5): fence, general active target (post/start/complete/
// wait/test), passive target (lock/unlock, lock_all/unlock_all), flush and sync.
//
// Every RMA operation is complete when its call returns (a memory copy into the target's part
// of the shared mapping, or a single copy into the target process), so synchronization only has
// to order processes: a barrier for fence, counters in the window's segment for PSCW, and a
// readers-writer lock word per target for passive target. Waits keep the progress engine
// turning (a peer blocked in a send to us must not wait for our lock) and give the core away
// when they spin for long.
import FerryCore
import FerryCollectives
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

extension Window {
    /// Lock word value of an exclusive holder; otherwise the word counts shared holders.
    static let exclusiveBit: UInt32 = 0x8000_0000

    /// Spin mutex in the segment (accumulate atomicity, attach tables). Held for a few copies only.
    func lockMutex(_ m: UnsafeMutablePointer<UInt32>) {
        var spins = 0
        while ferry_cas_u32(m, 0, 1) == 0 {   // acquire; pairs with the release store in unlockMutex
            spins += 1
            if spins < 100 { ferry_cpu_relax() } else { sched_yield() }
        }
    }

    func unlockMutex(_ m: UnsafeMutablePointer<UInt32>) {
        ferry_store_release_u32(m, 0)   // pairs with the acquiring CAS in lockMutex
    }

    /// One attempt at taking target `r`'s lock word.
    func tryLock(_ r: Int32, _ type: LockType) -> Bool {
        let word = lockWord(r)
        switch type {
        case .exclusive:
            return ferry_cas_u32(word, 0, Window.exclusiveBit) != 0
        case .shared:
            let v = ferry_load_acquire_u32(word)
            return v & Window.exclusiveBit == 0 && ferry_cas_u32(word, v, v &+ 1) != 0
        }
    }

    /// Releases target `r`'s lock word (release: our accesses happen before the next holder's).
    func releaseLock(_ r: Int32, _ type: LockType) {
        ferry_fence_seqcst()
        switch type {
        case .exclusive: ferry_store_release_u32(lockWord(r), 0)
        case .shared: _ = ferry_fetch_sub_u32(lockWord(r), 1)
        }
    }

    /// Inside MPI_Win_lock or MPI_Win_lock_all (the request-based calls need one).
    public var inPassiveEpoch: Bool { lockAll.active || !locks.isEmpty }

    /// Whether this process may access target `r` now (inside some access epoch).
    func mayAccess(_ r: Int32) -> Bool {
        fenceEpoch || lockAll.active || locks[r] != nil || (accessGroup?.contains(r) ?? false)
    }
}

extension Runtime {
    /// Polls the progress engine until `done()`; spins briefly, then yields, then naps, so that
    /// a peer that must run first (more ranks than cores) gets the core.
    func windowWait(_ done: () -> Bool) {
        var idle = 0
        while !done() {
            lock()
            let moved = progress()
            unlock()
            if moved { idle = 0; continue }
            idle += 1
            if idle < 64 { ferry_cpu_relax() } else if idle < 4096 { sched_yield() } else { usleep(50) }
        }
    }

    /// Translates a group (MPI_Win_post/start) to window ranks.
    private func windowRanks(_ g: Group, _ w: Window) throws(MPIError) -> [Int32] {
        var out: [Int32] = []
        for wr in g.worldRanks {
            guard let r = w.group.rank(ofWorld: wr) else {
                throw MPIError(.group, "the group holds process \(wr), which is not in the window's group")
            }
            out.append(r)
        }
        return out
    }

    private func checkAssert(_ a: Int32, allowed: Int32) throws(MPIError) {
        if a & ~allowed != 0 { throw MPIError(.assert, "assert \(a) has bits that are not valid here") }
    }

    // MARK: fence

    /// `MPI_Win_fence`: a barrier on the window's communicator (operations are already complete).
    public func windowFence(_ w: Window, assert: Int32) throws(MPIError) {
        try checkAssert(assert, allowed: Window.Mode.noStore | Window.Mode.noPut | Window.Mode.noPrecede | Window.Mode.noSucceed)
        if !w.locks.isEmpty || w.lockAll.active { throw MPIError(.rmaSync, "MPI_Win_fence inside a passive-target epoch") }
        if w.accessGroup != nil || w.exposureActive { throw MPIError(.rmaSync, "MPI_Win_fence inside a post/start epoch") }
        ferry_fence_seqcst()
        // MPI_MODE_NOPRECEDE together with MPI_MODE_NOSUCCEED would allow skipping the barrier
        // only if local stores needed no ordering; they do (unified model), so always synchronize.
        let rc = Collectives.barrier(CommTransport(self, w.comm))
        if rc != 0 { throw MPIError(code: rc, "MPI_Win_fence") }
        w.fenceEpoch = assert & Window.Mode.noSucceed == 0
    }

    // MARK: general active target

    /// `MPI_Win_post`: opens an exposure epoch for the origins in `group`.
    public func windowPost(_ w: Window, group: Group, assert: Int32) throws(MPIError) {
        try checkAssert(assert, allowed: Window.Mode.noCheck | Window.Mode.noStore | Window.Mode.noPut)
        if w.exposureActive { throw MPIError(.rmaSync, "MPI_Win_post while an exposure epoch is open") }
        if !w.locks.isEmpty || w.lockAll.active { throw MPIError(.rmaSync, "MPI_Win_post inside a passive-target epoch") }
        let origins = try windowRanks(group, w)
        w.fenceEpoch = false
        w.exposureActive = true
        w.expectedCompletions &+= UInt64(origins.count)
        ferry_fence_seqcst()   // our earlier stores to window memory precede the post
        for o in origins { _ = ferry_fetch_add_u64(w.posts(origin: o, target: w.rank), 1) }
    }

    /// `MPI_Win_start`: opens an access epoch to the targets in `group`, once each has posted.
    public func windowStart(_ w: Window, group: Group, assert: Int32) throws(MPIError) {
        try checkAssert(assert, allowed: Window.Mode.noCheck)
        if w.accessGroup != nil { throw MPIError(.rmaSync, "MPI_Win_start while an access epoch is open") }
        if !w.locks.isEmpty || w.lockAll.active { throw MPIError(.rmaSync, "MPI_Win_start inside a passive-target epoch") }
        let targets = try windowRanks(group, w)
        w.fenceEpoch = false
        for t in targets {
            let counter = w.posts(origin: w.rank, target: t)
            let want = w.consumedPosts[Int(t)] &+ 1
            windowWait { ferry_load_acquire_u64(counter) >= want }   // pairs with the post's fetch_add
            w.consumedPosts[Int(t)] = want
        }
        w.accessGroup = targets
    }

    /// `MPI_Win_complete`: ends the access epoch; each target counts one completion.
    public func windowComplete(_ w: Window) throws(MPIError) {
        guard let targets = w.accessGroup else { throw MPIError(.rmaSync, "MPI_Win_complete without MPI_Win_start") }
        ferry_fence_seqcst()   // our puts precede the completion the target reads
        for t in targets { _ = ferry_fetch_add_u64(w.completions(t), 1) }
        w.accessGroup = nil
    }

    /// `MPI_Win_wait` (`blocking`) and `MPI_Win_test`: true once every origin of the post group
    /// completed; the exposure epoch then ends.
    public func windowWaitExposure(_ w: Window, blocking: Bool) throws(MPIError) -> Bool {
        guard w.exposureActive else {
            throw MPIError(.rmaSync, "\(blocking ? "MPI_Win_wait" : "MPI_Win_test") without MPI_Win_post")
        }
        let counter = w.completions(w.rank), want = w.expectedCompletions
        if blocking {
            windowWait { ferry_load_acquire_u64(counter) >= want }   // pairs with complete's fetch_add
        } else {
            lock(); progress(); unlock()
            if ferry_load_acquire_u64(counter) < want { return false }
        }
        w.exposureActive = false
        return true
    }

    // MARK: passive target

    /// `MPI_Win_lock`.
    public func windowLock(_ w: Window, type: Int32, rank: Int32, assert: Int32) throws(MPIError) {
        guard let lt = Window.LockType(rawValue: type) else { throw MPIError(.locktype, "lock type \(type)") }
        try checkAssert(assert, allowed: Window.Mode.noCheck)
        if rank == MPIConstant.procNull { return }
        guard rank >= 0 && Int(rank) < w.size else { throw MPIError(.rank, "rank \(rank) in a window of \(w.size)") }
        if w.locks[rank] != nil { throw MPIError(.rmaSync, "MPI_Win_lock: rank \(rank) is already locked by this process") }
        if w.lockAll.active { throw MPIError(.rmaSync, "MPI_Win_lock inside MPI_Win_lock_all") }
        if w.accessGroup != nil { throw MPIError(.rmaSync, "MPI_Win_lock inside a post/start access epoch") }
        w.fenceEpoch = false
        let take = assert & Window.Mode.noCheck == 0
        if take { windowWait { w.tryLock(rank, lt) } }
        w.locks[rank] = (lt, take)
    }

    /// `MPI_Win_unlock`.
    public func windowUnlock(_ w: Window, rank: Int32) throws(MPIError) {
        if rank == MPIConstant.procNull { return }
        guard rank >= 0 && Int(rank) < w.size else { throw MPIError(.rank, "rank \(rank) in a window of \(w.size)") }
        guard let held = w.locks[rank] else { throw MPIError(.rmaSync, "MPI_Win_unlock: rank \(rank) is not locked by this process") }
        if held.taken { w.releaseLock(rank, held.type) } else { ferry_fence_seqcst() }
        w.locks[rank] = nil
    }

    /// `MPI_Win_lock_all`: a shared lock on every member.
    public func windowLockAll(_ w: Window, assert: Int32) throws(MPIError) {
        try checkAssert(assert, allowed: Window.Mode.noCheck)
        if w.lockAll.active || !w.locks.isEmpty { throw MPIError(.rmaSync, "MPI_Win_lock_all inside a passive-target epoch") }
        if w.accessGroup != nil { throw MPIError(.rmaSync, "MPI_Win_lock_all inside a post/start access epoch") }
        w.fenceEpoch = false
        let take = assert & Window.Mode.noCheck == 0
        if take {
            for r in 0..<Int32(w.size) { windowWait { w.tryLock(r, .shared) } }
        }
        w.lockAll = (true, take)
    }

    /// `MPI_Win_unlock_all`.
    public func windowUnlockAll(_ w: Window) throws(MPIError) {
        guard w.lockAll.active else { throw MPIError(.rmaSync, "MPI_Win_unlock_all without MPI_Win_lock_all") }
        if w.lockAll.taken {
            for r in 0..<Int32(w.size) { w.releaseLock(r, .shared) }
        } else {
            ferry_fence_seqcst()
        }
        w.lockAll = (false, false)
    }

    /// `MPI_Win_flush`, `MPI_Win_flush_local` (`rank`) and their `_all` forms (`rank == nil`):
    /// operations are complete already; only a passive-target epoch is required, and a fence
    /// orders our stores before whatever the caller does next.
    public func windowFlush(_ w: Window, rank: Int32?) throws(MPIError) {
        if let rank {
            if rank == MPIConstant.procNull { return }
            guard rank >= 0 && Int(rank) < w.size else { throw MPIError(.rank, "rank \(rank) in a window of \(w.size)") }
            if w.locks[rank] == nil && !w.lockAll.active {
                throw MPIError(.rmaSync, "flush of rank \(rank) outside a passive-target epoch on it")
            }
        } else if w.locks.isEmpty && !w.lockAll.active {
            throw MPIError(.rmaSync, "flush outside a passive-target epoch")
        }
        ferry_fence_seqcst()
    }

    /// `MPI_Win_sync`: a full memory fence (public and private copies are one in the unified model).
    public func windowSync(_ w: Window) throws(MPIError) {
        ferry_fence_seqcst()
    }
}
