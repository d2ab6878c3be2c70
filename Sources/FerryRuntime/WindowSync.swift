// Window synchronization (MPI-3.1 §11.5): fence, general active target (post/start/complete/
// wait/test), passive target (lock/unlock, lock_all/unlock_all), flush and sync.
//
// Every RMA operation is complete when its call returns (a memory copy into the target's part
// of the shared mapping, or a single copy into the target process), so synchronization only has
// to order processes: a barrier in the window's segment for fence (one atomic add per process,
// no messages), counters in the segment for PSCW, and a readers-writer lock word per target for
// passive target. Waits keep the progress engine turning (a peer blocked in a send to us must
// not wait for our lock) and follow the runtime's waiting policy: spin while a core is free;
// when ranks outnumber cores, yield, then block on a futex on the very word being waited for,
// which whoever changes it wakes (the node doorbell only rings for messages).
import FerryCore
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

extension Window {
    /// Lock word value of an exclusive holder; otherwise the word counts shared holders.
    static let exclusiveBit: UInt32 = 0x8000_0000
    /// Fewest spins of an oversubscribed synchronization wait (enough to notice when spinning
    /// would pay off again).
    static let minimumSpins = 32

    /// Mutex in the segment (accumulate atomicity, attach tables), held for a few copies only:
    /// 0 free, 1 held, 2 held with processes asleep on it (a futex mutex). Waiters spin a
    /// little, then sleep, so that a holder preempted while ranks outnumber cores gets the core.
    func lockMutex(_ m: UnsafeMutablePointer<UInt32>) {
        // Acquire (the CAS); pairs with the release in unlockMutex.
        if ferry_cas_u32(m, 0, 1) != 0 { return }
        for _ in 0..<100 {
            ferry_cpu_relax()
            if ferry_load_relaxed_u32(m) == 0 && ferry_cas_u32(m, 0, 1) != 0 { return }
        }
        while true {
            let v = ferry_load_relaxed_u32(m)
            // Taken after sleeping: mark it contended, since others may still be asleep.
            if v == 0 { if ferry_cas_u32(m, 0, 2) != 0 { return }; continue }
            if v == 1 && ferry_cas_u32(m, 1, 2) == 0 { continue }
            _ = ferry_futex_wait(m, 2, -1)
        }
    }

    func unlockMutex(_ m: UnsafeMutablePointer<UInt32>) {
        // Release; pairs with the acquiring CAS in lockMutex.
        if ferry_fetch_sub_u32(m, 1) != 1 {
            ferry_store_release_u32(m, 0)
            _ = ferry_futex_wake(m, 1)
        }
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

    /// Releases target `r`'s lock word (release: our accesses happen before the next holder's)
    /// and wakes the processes asleep on it.
    func releaseLock(_ r: Int32, _ type: LockType) {
        ferry_fence_seqcst()
        switch type {
        case .exclusive: ferry_store_release_u32(lockWord(r), 0)
        case .shared: _ = ferry_fetch_sub_u32(lockWord(r), 1)
        }
        Window.wake(lockWord(r), sleepers: lockSleepers(r))
    }

    /// Wakes the processes blocked on `word` (after the caller changed it). Dekker pairing with
    /// `Runtime.windowWait`: we changed the word, then read `sleepers` after a seq_cst fence; a
    /// sleeper counted itself (seq_cst) before reading the word it passes to futex_wait. One of
    /// us sees the other, so no wake-up is lost.
    static func wake(_ word: UnsafeMutablePointer<UInt32>, sleepers: UnsafeMutablePointer<UInt32>) {
        ferry_fence_seqcst()
        if ferry_load_relaxed_u32(sleepers) != 0 { _ = ferry_futex_wake(word, Int32.max) }
    }

    /// The futex word of a 64-bit counter: its low half, which changes on every increment.
    static func futexWord(_ counter: UnsafeMutablePointer<UInt64>) -> UnsafeMutablePointer<UInt32> {
        #if _endian(little)
        return UnsafeMutableRawPointer(counter).assumingMemoryBound(to: UInt32.self)
        #else
        return (UnsafeMutableRawPointer(counter) + 4).assumingMemoryBound(to: UInt32.self)
        #endif
    }

    /// Inside MPI_Win_lock or MPI_Win_lock_all (the request-based calls need one).
    public var inPassiveEpoch: Bool { lockAll.active || !locks.isEmpty }

    /// Whether this process may access target `r` now (inside some access epoch).
    func mayAccess(_ r: Int32) -> Bool {
        fenceEpoch || lockAll.active || locks[r] != nil || (accessGroup?.contains(r) ?? false)
    }
}

/// Longest a window wait sleeps on its futex before it turns the progress engine again: a
/// message that arrives meanwhile (it rings the node doorbell, not the window's word) waits at
/// most this long for us.
private let windowSleepNanoseconds = 1_000_000

extension Runtime {
    /// Waits until `done()` is true (called once per check: it may take a lock), keeping the
    /// progress engine turning. The runtime's waiting policy (`backoff`): spin while a core is
    /// free (the progress engine every 16 spins, a spin being a cheap check of `done()`); when
    /// ranks outnumber cores, yield, then block on the futex `word` (which whoever may make
    /// `done()` true changes, then wakes the `sleepers` it counts; see `Window.wake`).
    ///
    /// When ranks outnumber cores, spinning only pays if the process we wait for is running on
    /// another core; otherwise it holds a core that process needs (a fence at 5 ranks on 2
    /// cores took ~0.7 ms with 2000 spins, ~15 us with none). So the spin budget adapts per
    /// window, as adaptive mutexes do: halved (down to `Window.minimumSpins`) each time a wait
    /// had to yield, doubled (up to spinsBeforeYield) each time spinning paid off.
    func windowWait(_ w: Window, on word: UnsafeMutablePointer<UInt32>, sleepers: UnsafeMutablePointer<UInt32>,
                    _ done: () -> Bool) {
        var idle = 0
        let cap = tunables.spinsBeforeYield
        let spins = oversubscribed ? Int(ferry_load_relaxed_u32(w.spinLimit)) : cap
        defer {
            if oversubscribed && idle > 0 {
                let next = idle < spins ? min(cap, spins * 2) : max(min(Window.minimumSpins, cap), spins / 2)
                ferry_store_relaxed_u32(w.spinLimit, UInt32(clamping: next))
            }
        }
        while true {
            if done() { return }
            if idle >= spins || idle & 15 == 0 {
                lock()
                let moved = progress()
                unlock()
                if moved { idle = 1; continue }
            }
            idle += 1
            if !oversubscribed {
                backoff(idle)   // spins (yields only for a background worker of ours)
                continue
            }
            if idle < spins { ferry_cpu_relax(); continue }
            if idle < spins + tunables.yieldsBeforeBlock { sched_yield(); continue }
            _ = ferry_fetch_add_u32(sleepers, 1)
            let seen = ferry_load_seqcst_u32(word)
            if done() { _ = ferry_fetch_add_u32(sleepers, UInt32.max); return }
            var quiet = true
            if let node { lock(); quiet = !node.anyIncoming(); unlock() }
            if quiet { _ = ferry_futex_wait(word, seen, windowSleepNanoseconds) }
            _ = ferry_fetch_add_u32(sleepers, UInt32.max)   // -1
        }
    }

    /// The fence barrier: a counter and a generation word in member 0's control block. The
    /// last process to arrive resets the counter and publishes the next generation; the others
    /// wait for it. The arrivals' seq_cst add and the generation's release/acquire order every
    /// process's accesses before the fence ahead of every process's accesses after it.
    func fenceBarrier(_ w: Window) {
        let gen = w.fenceGeneration
        w.fenceGeneration = gen &+ 1
        if w.size == 1 { return }
        let word = w.fenceGenerationWord
        if ferry_fetch_add_u32(w.fenceArrivals, 1) == UInt32(w.size - 1) {
            ferry_store_relaxed_u32(w.fenceArrivals, 0)     // published by the release below
            ferry_store_release_u32(word, gen &+ 1)
            Window.wake(word, sleepers: w.fenceSleepers)
        } else {
            windowWait(w, on: word, sleepers: w.fenceSleepers) { ferry_load_acquire_u32(word) != gen }
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

    /// `MPI_Win_fence`: a barrier among the window's members (operations are already complete).
    public func windowFence(_ w: Window, assert: Int32) throws(MPIError) {
        try checkAssert(assert, allowed: Window.Mode.noStore | Window.Mode.noPut | Window.Mode.noPrecede | Window.Mode.noSucceed)
        if !w.locks.isEmpty || w.lockAll.active { throw MPIError(.rmaSync, "MPI_Win_fence inside a passive-target epoch") }
        if w.accessGroup != nil || w.exposureActive { throw MPIError(.rmaSync, "MPI_Win_fence inside a post/start epoch") }
        ferry_fence_seqcst()
        // MPI_MODE_NOPRECEDE together with MPI_MODE_NOSUCCEED would allow skipping the barrier
        // only if local stores needed no ordering; they do (unified model), so always synchronize.
        if w.remote != nil { try spreadFence(w) } else { fenceBarrier(w) }
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
        if w.remote != nil { spreadPost(w, origins); return }
        for o in origins {
            let counter = w.posts(origin: o, target: w.rank)
            _ = ferry_fetch_add_u64(counter, 1)
            Window.wake(Window.futexWord(counter), sleepers: w.postSleepers(o))
        }
    }

    /// `MPI_Win_start`: opens an access epoch to the targets in `group`, once each has posted.
    public func windowStart(_ w: Window, group: Group, assert: Int32) throws(MPIError) {
        try checkAssert(assert, allowed: Window.Mode.noCheck)
        if w.accessGroup != nil { throw MPIError(.rmaSync, "MPI_Win_start while an access epoch is open") }
        if !w.locks.isEmpty || w.lockAll.active { throw MPIError(.rmaSync, "MPI_Win_start inside a passive-target epoch") }
        let targets = try windowRanks(group, w)
        w.fenceEpoch = false
        if w.remote != nil { spreadStart(w, targets) }
        for t in targets where w.remote == nil {
            let counter = w.posts(origin: w.rank, target: t)
            let want = w.consumedPosts[Int(t)] &+ 1
            windowWait(w, on: Window.futexWord(counter), sleepers: w.postSleepers(w.rank)) {
                ferry_load_acquire_u64(counter) >= want   // pairs with the post's fetch_add
            }
            w.consumedPosts[Int(t)] = want
        }
        w.accessGroup = targets
    }

    /// `MPI_Win_complete`: ends the access epoch; each target counts one completion.
    public func windowComplete(_ w: Window) throws(MPIError) {
        guard let targets = w.accessGroup else { throw MPIError(.rmaSync, "MPI_Win_complete without MPI_Win_start") }
        ferry_fence_seqcst()   // our puts precede the completion the target reads
        if w.remote != nil { try spreadComplete(w, targets) }
        for t in targets where w.remote == nil {
            _ = ferry_fetch_add_u64(w.completions(t), 1)
            Window.wake(Window.futexWord(w.completions(t)), sleepers: w.completionSleepers(t))
        }
        w.accessGroup = nil
    }

    /// `MPI_Win_wait` (`blocking`) and `MPI_Win_test`: true once every origin of the post group
    /// completed; the exposure epoch then ends.
    public func windowWaitExposure(_ w: Window, blocking: Bool) throws(MPIError) -> Bool {
        guard w.exposureActive else {
            throw MPIError(.rmaSync, "\(blocking ? "MPI_Win_wait" : "MPI_Win_test") without MPI_Win_post")
        }
        if w.remote != nil {
            if !spreadExposureDone(w, blocking: blocking) { return false }
            w.exposureActive = false
            return true
        }
        let counter = w.completions(w.rank), want = w.expectedCompletions
        if blocking {
            windowWait(w, on: Window.futexWord(counter), sleepers: w.completionSleepers(w.rank)) {
                ferry_load_acquire_u64(counter) >= want   // pairs with complete's fetch_add
            }
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
        if take && w.remote != nil { spreadLock(w, [rank], lt) }
        else if take { windowWait(w, on: w.lockWord(rank), sleepers: w.lockSleepers(rank)) { w.tryLock(rank, lt) } }
        w.locks[rank] = (lt, take)
    }

    /// `MPI_Win_unlock`.
    public func windowUnlock(_ w: Window, rank: Int32) throws(MPIError) {
        if rank == MPIConstant.procNull { return }
        guard rank >= 0 && Int(rank) < w.size else { throw MPIError(.rank, "rank \(rank) in a window of \(w.size)") }
        guard let held = w.locks[rank] else { throw MPIError(.rmaSync, "MPI_Win_unlock: rank \(rank) is not locked by this process") }
        if w.remote != nil {
            w.locks[rank] = nil
            try spreadUnlock(w, [rank], held.taken ? held.type : nil)
            return
        }
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
        if take && w.remote != nil { spreadLock(w, Array(0..<Int32(w.size)), .shared) }
        else if take {
            for r in 0..<Int32(w.size) {
                windowWait(w, on: w.lockWord(r), sleepers: w.lockSleepers(r)) { w.tryLock(r, .shared) }
            }
        }
        w.lockAll = (true, take)
    }

    /// `MPI_Win_unlock_all`.
    public func windowUnlockAll(_ w: Window) throws(MPIError) {
        guard w.lockAll.active else { throw MPIError(.rmaSync, "MPI_Win_unlock_all without MPI_Win_lock_all") }
        if w.remote != nil {
            let taken = w.lockAll.taken
            w.lockAll = (false, false)
            try spreadUnlock(w, Array(0..<Int32(w.size)), taken ? .shared : nil)
            return
        }
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
        if w.remote != nil { try spreadFlush(w, rank.map { [$0] } ?? Array(0..<Int32(w.size))) }
        ferry_fence_seqcst()
    }

    /// `MPI_Win_sync`: a full memory fence (public and private copies are one in the unified model).
    public func windowSync(_ w: Window) throws(MPIError) {
        ferry_fence_seqcst()
    }
}
