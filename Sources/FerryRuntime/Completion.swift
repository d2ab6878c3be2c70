// Completion: wait, test and their any/all/some forms, request free, get_status, generalized
// requests, and the waiting policy (spin while a core is free; when ranks outnumber cores,
// yield and then block on the doorbell so the core goes to a rank that has work).
import FerryCore
import FerryTCP
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// `nil` stands for MPI_REQUEST_NULL.
public typealias RequestHandle = RequestID?

extension Runtime {
    // MARK: waiting policy

    /// One step of a wait loop that found nothing to do, `idle` steps in a row.
    @inline(__always)
    func backoff(_ idle: Int) {
        if ferry_load_relaxed_u32(backgroundWorkers) != 0 && idle >= 16
            && !(oversubscribed && idle >= tunables.spinsBeforeYield + tunables.yieldsBeforeBlock) {
            // A worker thread of this process needs the core and the lock.
            sched_yield()
            return
        }
        if !oversubscribed {
            // (Not under MPI_THREAD_MULTIPLE: the transport is used under the lock only.)
            if streamsActive && !locking && idle >= 64, let tcp = tcpRef {
                // A large transfer over TCP is under way: the kernel's network stack needs the
                // cores to move it (on one machine the receiving side's processing runs on
                // them too), so wait in epoll instead of spinning (measured: 3-4x the latency
                // of 256 KiB-1 MiB messages when spinning).
                tcp._withUnsafeGuaranteedRef { $0.wait(timeoutMilliseconds: 1) }
                return
            }
            // Cores are ours, but not only ours: other programs may share them. A yield every
            // 1024 idle polls (tens of microseconds) costs nothing on an idle core and lets a
            // descheduled peer run when something else competes for it.
            if idle & 1023 == 1023 { sched_yield() } else { ferry_cpu_relax() }
            return
        }
        if idle < tunables.spinsBeforeYield {
            ferry_cpu_relax()
            return
        }
        if idle < tunables.spinsBeforeYield + tunables.yieldsBeforeBlock || (node == nil && tcp == nil) {
            sched_yield()
            return
        }
        guard let node else {
            // Only peers on other nodes: sleep until one of their connections has data (the
            // transport is used under the lock only: with other threads, yield instead).
            if locking { sched_yield() } else { tcp!.wait(timeoutMilliseconds: 2) }
            return
        }
        // With peers on other nodes, the network waker (Network.swift) rings the doorbell for
        // their arrivals; reading the connections first closes the window before the sleep.
        node.sleep(timeoutNanoseconds: 2_000_000) {
            lock(); defer { unlock() }
            if let tcp, tcp.poll() || tcp.hasFrames { return false }
            return !node.anyIncoming()
        }
    }

    /// Polls until `done()` (evaluated under the lock) is true.
    @inline(__always)
    func pollUntil(_ done: () -> Bool) {
        var idle = 0
        while true {
            lock()
            if done() { unlock(); return }
            let moved = progress()
            let finished = moved && done()
            unlock()
            if finished { return }
            if moved { idle = 0 } else { idle += 1; backoff(idle) }
        }
    }

    // MARK: completing one request

    /// Takes the status out of a completed request and frees (or deactivates) it.
    /// Caller holds the lock.
    func retire(_ i: Int32) -> Status {
        var st = requests.slots[Int(i)].status
        if requests.slots[Int(i)].kind == .generalized {
            if let cb = requests.callbacks[i] {
                let rc = cb.query(&st)
                if rc != 0 { st.error = rc }
                let frc = cb.free()
                if frc != 0 && st.error == 0 { st.error = frc }
            }
        }
        if requests.slots[Int(i)].isPersistent {
            requests.slots[Int(i)].isActive = false
        } else {
            requests.release(i)
        }
        return st
    }

    @inline(__always)
    func isDone(_ r: RequestID) -> Bool {
        guard let i = requests.validate(r) else { return true }
        return requests.slots[Int(i)].isComplete
    }

    /// True if the handle names an inactive persistent request (waits on it return at once).
    @inline(__always)
    func isInactive(_ i: Int32) -> Bool {
        requests.slots[Int(i)].isPersistent && !requests.slots[Int(i)].isActive
    }

    /// `MPI_Wait`. Sets `request` to nil unless it is persistent. Returns the status's error.
    public func wait(_ request: inout RequestHandle, status: inout Status) -> Int32 {
        guard let r = request else { status = .empty; return 0 }
        pollUntil { isDone(r) }
        lock(); defer { unlock() }
        guard let i = requests.validate(r) else { request = nil; return ErrorClass.request.rawValue }
        if isInactive(i) { status = .empty; return 0 }
        status = retire(i)
        if !requests.slots[Int(i)].isPersistent || !requests.slots[Int(i)].inUse { request = nil }
        return status.error
    }

    /// `MPI_Test`.
    public func test(_ request: inout RequestHandle, flag: inout Bool, status: inout Status) -> Int32 {
        guard let r = request else { flag = true; status = .empty; return 0 }
        lock(); defer { unlock() }
        guard let i = requests.validate(r) else { request = nil; return ErrorClass.request.rawValue }
        if isInactive(i) { flag = true; status = .empty; return 0 }
        if !requests.slots[Int(i)].isComplete { progress() }
        flag = requests.slots[Int(i)].isComplete
        guard flag else { return 0 }
        status = retire(i)
        if !requests.slots[Int(i)].isPersistent { request = nil }
        return status.error
    }

    /// `MPI_Waitall`. Returns MPI_ERR_IN_STATUS if any status carries an error.
    public func waitAll(_ reqs: inout [RequestHandle], statuses: inout [Status]) -> Int32 {
        if statuses.count < reqs.count { statuses = Array(repeating: .empty, count: reqs.count) }
        // Requests stay complete until retired below: a cursor past the leading completed ones
        // keeps each poll from rechecking them.
        var pending = 0
        pollUntil {
            while pending < reqs.count, reqs[pending] == nil || isDone(reqs[pending]!) { pending += 1 }
            return pending == reqs.count
        }
        lock(); defer { unlock() }
        var anyError = false
        for k in reqs.indices {
            guard let r = reqs[k] else { statuses[k] = .empty; continue }
            guard let i = requests.validate(r) else { reqs[k] = nil; statuses[k].error = ErrorClass.request.rawValue; anyError = true; continue }
            if isInactive(i) { statuses[k] = .empty; continue }
            statuses[k] = retire(i)
            if !requests.slots[Int(i)].isPersistent { reqs[k] = nil }
            if statuses[k].error != 0 { anyError = true }
        }
        return anyError ? ErrorClass.inStatus.rawValue : 0
    }

    /// `MPI_Testall`: completes all or none.
    public func testAll(_ reqs: inout [RequestHandle], flag: inout Bool, statuses: inout [Status]) -> Int32 {
        lock()
        progress()
        let all = reqs.allSatisfy { $0 == nil || isDone($0!) }
        unlock()
        flag = all
        guard all else { return 0 }
        return waitAll(&reqs, statuses: &statuses)
    }

    /// Index of an active (non-null, not inactive-persistent) request, or whether none is active.
    private func activeIndices(_ reqs: [RequestHandle]) -> [Int] {
        reqs.indices.filter { k in
            guard let r = reqs[k], let i = requests.validate(r) else { return false }
            return !isInactive(i)
        }
    }

    /// `MPI_Waitany`: index of the completed request, or `undefined` if none is active.
    public func waitAny(_ reqs: inout [RequestHandle], index: inout Int, status: inout Status) -> Int32 {
        lock(); let active = activeIndices(reqs); unlock()
        if active.isEmpty { index = Int(MPIConstant.undefined); status = .empty; return 0 }
        var found = -1
        pollUntil {
            for k in active where isDone(reqs[k]!) { found = k; return true }
            return false
        }
        index = found
        var h = reqs[found]
        let rc = wait(&h, status: &status)
        reqs[found] = h
        return rc
    }

    /// `MPI_Testany`.
    public func testAny(_ reqs: inout [RequestHandle], index: inout Int, flag: inout Bool, status: inout Status) -> Int32 {
        lock()
        let active = activeIndices(reqs)
        progress()
        let found = active.first { isDone(reqs[$0]!) }
        unlock()
        if active.isEmpty { flag = true; index = Int(MPIConstant.undefined); status = .empty; return 0 }
        guard let found else { flag = false; index = Int(MPIConstant.undefined); return 0 }
        flag = true
        index = found
        var h = reqs[found]
        let rc = wait(&h, status: &status)
        reqs[found] = h
        return rc
    }

    /// `MPI_Waitsome` / `MPI_Testsome` (with `blocking` false). `indices` empty and
    /// `outcount == undefined` when no request is active.
    public func someCompleted(_ reqs: inout [RequestHandle], blocking: Bool, indices: inout [Int],
                              statuses: inout [Status]) -> (Int32, Int) {
        lock(); let active = activeIndices(reqs); unlock()
        indices = []
        statuses = []
        if active.isEmpty { return (0, Int(MPIConstant.undefined)) }
        if blocking {
            pollUntil { active.contains { isDone(reqs[$0]!) } }
        } else {
            lock(); progress(); unlock()
        }
        var anyError = false
        lock()
        let done = active.filter { isDone(reqs[$0]!) }
        unlock()
        for k in done {
            var h = reqs[k]
            var st = Status()
            if wait(&h, status: &st) != 0 { anyError = true }
            reqs[k] = h
            indices.append(k)
            statuses.append(st)
        }
        return (anyError ? ErrorClass.inStatus.rawValue : 0, done.count)
    }

    /// `MPI_Request_free`: an active request is released when it completes.
    public func requestFree(_ request: inout RequestHandle) -> Int32 {
        guard let r = request else { return ErrorClass.request.rawValue }
        lock(); defer { unlock() }
        guard let i = requests.validate(r) else { return ErrorClass.request.rawValue }
        request = nil
        if requests.slots[Int(i)].isComplete || isInactive(i) {
            if requests.slots[Int(i)].kind == .generalized { _ = requests.callbacks[i]?.free() }
            requests.release(i)
        } else {
            requests.slots[Int(i)].freeWhenDone = true
        }
        return 0
    }

    /// `MPI_Request_get_status`: like test, but leaves the request alone.
    public func requestGetStatus(_ request: RequestHandle, flag: inout Bool, status: inout Status) -> Int32 {
        guard let r = request else { flag = true; status = .empty; return 0 }
        lock(); defer { unlock() }
        guard let i = requests.validate(r) else { return ErrorClass.request.rawValue }
        if isInactive(i) { flag = true; status = .empty; return 0 }
        if !requests.slots[Int(i)].isComplete { progress() }
        flag = requests.slots[Int(i)].isComplete
        if flag {
            status = requests.slots[Int(i)].status
            if requests.slots[Int(i)].kind == .generalized, let cb = requests.callbacks[i] {
                _ = cb.query(&status)
            }
        }
        return 0
    }

    /// The live handle of slot `index` (the C layer encodes requests as slot indices), or nil.
    public func requestID(atIndex index: Int32) -> RequestID? {
        lock(); defer { unlock() }
        guard index >= 0, Int(index) < requests.slots.count, requests.slots[Int(index)].inUse else { return nil }
        return requests.id(index)
    }

    // MARK: generalized requests

    /// `MPI_Grequest_start`.
    public func generalizedStart(_ callbacks: GeneralizedCallbacks) -> RequestID {
        lock(); defer { unlock() }
        let i = requests.allocate(.generalized)
        requests.callbacks[i] = callbacks
        requests.slots[Int(i)].isActive = true
        return requests.id(i)
    }

    /// `MPI_Grequest_complete`.
    public func generalizedComplete(_ r: RequestID) -> Int32 {
        lock(); defer { unlock() }
        guard let i = requests.validate(r), requests.slots[Int(i)].kind == .generalized else {
            return ErrorClass.request.rawValue
        }
        // Freed with MPI_Request_free before completing: the slot is released now, so free_fn
        // runs here (MPI-3.1 §12.2).
        if requests.slots[Int(i)].freeWhenDone { _ = requests.callbacks[i]?.free() }
        complete(i)
        return 0
    }

    // MARK: blocking conveniences used by collectives and the APIs

    @inline(__always)
    func waitInternal(_ r: RequestID) -> Status {
        var h: RequestHandle = r
        var st = Status()
        _ = wait(&h, status: &st)
        return st
    }
}
