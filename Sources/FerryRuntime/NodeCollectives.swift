// Collectives of MPI_COMM_WORLD through shared memory, for small data (barrier, allreduce,
// allgather, alltoall; a small bcast goes cell by cell down a tree, FastPath.swift). Each rank has two
// 64-byte mailboxes (alternate calls use alternate ones) holding an arrival word and up to
// 56 bytes of data, and two slots of 8 KiB for more. A call writes its contribution, then
// stores its arrival word (release); it is complete for a rank when it has seen every other
// rank's arrival word (acquire), after which it reads what it needs: a reduction is computed
// by every rank itself, in rank order, so all get the same bits. With 2 ranks that is one
// cache-line transfer each way, in parallel, with the data riding in the same line as the
// arrival word when it fits.
//
// When ranks outnumber cores, a waiter sleeps on a release word instead of spinning; whichever
// rank sees every arrival stores the call number there and wakes the sleepers, so one
// scheduling of each rank per call suffices instead of a chain of partner exchanges.
//
// Reuse: a rank writes mailbox/slot set k+1 only after call k is complete for it, i.e. after
// every rank arrived at call k, so after every rank finished reading call k-1's set, the one
// k+1 reuses. Which calls come here depends only on the communicator and byte counts, which
// all ranks pass alike.
import FerryCore
import FerryShm
import FerryDatatype
import FerryCollectives
import FerryReduce
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

extension Runtime {
    /// The node segment when `comm` is MPI_COMM_WORLD of a multi-rank job on one node, else nil.
    @inline(__always)
    func nodeArea(_ comm: Communicator) -> NodeSegment? {
        guard comm === world, let ref = worldAreaRef else { return nil }
        return ref.takeUnretainedValue()
    }

    static let slotBytes = NodeLayout.collectiveSlotBytes
    /// Data bytes that travel inside a mailbox, with the arrival word.
    static let mailboxBytes = 56

    @inline(__always)
    private func mailbox(_ area: UnsafeMutableRawPointer, _ rank: Int, _ parity: Int) -> UnsafeMutableRawPointer {
        area + 128 + (rank * 2 + parity) * 64
    }

    @inline(__always)
    private func slot(_ node: NodeSegment, _ rank: Int, _ parity: Int) -> UnsafeMutableRawPointer {
        node.collectiveArea + node.layout.collectiveSlotsOffset + (rank * 2 + parity) * Runtime.slotBytes
    }

    /// Where `bytes` of rank `r`'s contribution to the current call live.
    @inline(__always)
    private func buffer(_ node: NodeSegment, _ r: Int, _ parity: Int, _ bytes: Int) -> UnsafeMutableRawPointer {
        bytes <= Runtime.mailboxBytes ? mailbox(node.collectiveArea, r, parity) + 8 : slot(node, r, parity)
    }

    /// Publishes this rank's arrival at the current call and waits for every rank's.
    private func arrive(_ node: NodeSegment) {
        let area = node.collectiveArea
        let parity = Int(nodeGeneration & 1), me = Int(worldRank), n = worldSize
        nodeGeneration &+= 1
        let call = nodeGeneration
        let release = area.assumingMemoryBound(to: UInt32.self)
        let sleepers = (area + 64).assumingMemoryBound(to: UInt32.self)
        @inline(__always) func word(_ r: Int) -> UnsafeMutablePointer<UInt32> {
            mailbox(area, r, parity).assumingMemoryBound(to: UInt32.self)
        }
        @inline(__always) func allArrived() -> Bool {
            for r in 0..<n where r != me && ferry_load_acquire_u32(word(r)) != call { return false }
            return true
        }
        if !oversubscribed {
            ferry_store_release_u32(word(me), call)
            var polls = 0
            for r in 0..<n where r != me {
                while ferry_load_acquire_u32(word(r)) != call {
                    polls &+= 1
                    // Keep point-to-point traffic moving (a rank that has not arrived may be
                    // blocked sending to this one), and give the core away now and then.
                    if polls & 63 == 0 { lock(); _ = progress(); unlock() }
                    if polls & 1023 == 1023 { sched_yield() } else { ferry_cpu_relax() }
                }
            }
            return
        }
        ferry_store_seqcst_u32(word(me), call)
        var polls = 0
        while true {
            if allArrived() {
                ferry_store_seqcst_u32(release, call)
                if ferry_load_seqcst_u32(sleepers) != 0 { _ = ferry_futex_wake(release, Int32.max) }
                return
            }
            let seen = ferry_load_seqcst_u32(release)
            if seen == call { return }
            polls &+= 1
            if polls & 15 == 0 { lock(); _ = progress(); unlock() }
            // Yield first: with every rank runnable, one pass through the run queue lets all of
            // them arrive, cheaper than a futex sleep and wake-up per rank. Sleep only when
            // the wait is long (a rank busy computing, or blocked elsewhere).
            if polls < 2000 { sched_yield(); continue }
            _ = ferry_fetch_add_u32(sleepers, 1)
            if !allArrived() { _ = ferry_futex_wait(release, seen, 2_000_000) }
            _ = ferry_fetch_add_u32(sleepers, UInt32.max)
        }
    }

    /// MPI_Barrier on the world.
    func nodeBarrier(_ node: NodeSegment) {
        arrive(node)
    }

    /// MPI_Allreduce of `count` elements of `elementSize` bytes (`bytes` ≤ slot); `input` nil
    /// means in place. `combine(input, inout, count)` as `Reducer.combine`.
    func nodeAllreduce(_ node: NodeSegment, input: UnsafeRawPointer?, output: UnsafeMutableRawPointer,
                       count: Int, bytes: Int, elementSize: Int,
                       _ combine: (UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void) {
        let parity = Int(nodeGeneration & 1), n = worldSize
        // Mailbox data sits 8 bytes into a line: elements wider than that (long double,
        // complex) go through the 64-byte aligned slots.
        let placement = elementSize > 8 ? Runtime.mailboxBytes + 1 : bytes
        copyInline(buffer(node, Int(worldRank), parity, placement), input ?? UnsafeRawPointer(output), bytes)
        arrive(node)
        // s0 op (s1 op (... op s(n-1))): MPI's rank order, computed alike by every rank.
        copyInline(output, UnsafeRawPointer(buffer(node, n - 1, parity, placement)), bytes)
        var i = n - 2
        while i >= 0 {
            combine(UnsafeRawPointer(buffer(node, i, parity, placement)), output, count)
            i -= 1
        }
    }

    /// True if `comm` is MPI_COMM_WORLD (compared without reference counting).
    @inline(__always)
    func isWorld(_ comm: Communicator) -> Bool {
        Unmanaged.passUnretained(comm).toOpaque() == worldRef.toOpaque()
    }

    /// MPI_Barrier on MPI_COMM_WORLD through the node area, or nil (no node area: the caller
    /// takes the general path).
    @inline(__always)
    public func worldBarrierFast() -> Int32? {
        guard let ref = worldAreaRef else { return nil }
        ref._withUnsafeGuaranteedRef { arrive($0) }
        return 0
    }

    /// MPI_Allreduce of a predefined operation on a predefined type over MPI_COMM_WORLD, small
    /// enough for the node area: straight to `nodeAllreduce`, without the general entry's layout
    /// and scratch bookkeeping or any reference counting. Nil when any of that does not hold (or
    /// an argument is wrong): the caller then takes the general path, which chooses the same
    /// algorithm for the same arguments and reports errors.
    @inline(__always)
    public func allreduceFast(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, count: Int,
                              datatype t: Datatype, op: PredefinedOp, comm: Communicator) -> Int32? {
        guard isWorld(comm), let b = t.basicType, count > 0, let recv, let ref = worldAreaRef,
              count * b.extent <= Runtime.slotBytes, Reduction.isDefined(op, on: b) else { return nil }
        let inPlace = Runtime.isInPlace(send)
        guard inPlace || send != nil else { return nil }
        ref._withUnsafeGuaranteedRef { node in
            nodeAllreduce(node, input: inPlace ? nil : send, output: recv, count: count, bytes: count * b.extent,
                          elementSize: b.extent) { Reduction.apply(op, b, input: $0, `inout`: $1, count: $2) }
        }
        return 0
    }

    /// The arguments of an allgather or alltoall on MPI_COMM_WORLD that the node area can take
    /// directly: predefined contiguous types, matching block sizes, `blocks` blocks fitting a slot.
    /// Returns the block size in bytes and the node, or nil (general path).
    @inline(__always)
    private func directBlocks(_ send: UnsafeRawPointer?, _ sendCount: Int, _ sendType: Datatype,
                              _ recv: UnsafeMutableRawPointer?, _ recvCount: Int, _ recvType: Datatype,
                              _ comm: Communicator, blocks: Int) -> (Int, Unmanaged<NodeSegment>)? {
        guard isWorld(comm), let ref = worldAreaRef, recv != nil, recvType.basicType != nil, recvType.isContiguous,
              recvCount > 0 else { return nil }
        let blockBytes = recvCount &* recvType.size
        guard blocks &* blockBytes <= Runtime.slotBytes else { return nil }
        if !Runtime.isInPlace(send) {
            guard send != nil, sendType.basicType != nil, sendType.isContiguous,
                  sendCount &* sendType.size == blockBytes else { return nil }
        }
        return (blockBytes, ref)
    }

    /// The node-area allgather takes blocks up to slot / this. With two ranks, a block of more
    /// than half a slot goes faster as an eager exchange, whose two copies (in on one core, out
    /// on the other) overlap, than through the slot, where they follow each other (8 KiB:
    /// 0.58 against 0.83 µs, measured); with more ranks the node area also saves the rounds of
    /// exchanges, so it takes a whole slot.
    var allgatherSlotShare: Int { worldSize == 2 ? 2 : 1 }

    /// The block collectives that `blockCollectiveFast` runs through the node area.
    public enum BlockCollective { case allgather, alltoall }

    /// MPI_Allgather or MPI_Alltoall on MPI_COMM_WORLD through the node area when
    /// `directBlocks` allows (the general entry's choice for the same arguments), else nil.
    @inline(__always)
    public func blockCollectiveFast(_ which: BlockCollective, _ send: UnsafeRawPointer?, sendCount: Int,
                                    sendType: Datatype, _ recv: UnsafeMutableRawPointer?, recvCount: Int,
                                    recvType: Datatype, comm: Communicator) -> Int32? {
        // The slot holds one block of an allgather, all of a rank's blocks of an alltoall.
        let blocks = which == .allgather ? allgatherSlotShare : worldSize
        guard let (blockBytes, ref) = directBlocks(send, sendCount, sendType, recv, recvCount, recvType, comm,
                                                    blocks: blocks)
        else { return nil }
        let input = Runtime.isInPlace(send) ? nil : send
        ref._withUnsafeGuaranteedRef { node in
            switch which {
            case .allgather: nodeAllgather(node, input: input, output: recv!, blockBytes: blockBytes)
            case .alltoall: nodeAlltoall(node, input: input, output: recv!, blockBytes: blockBytes)
            }
        }
        return 0
    }

    /// MPI_Allgather of blocks of `blockBytes` (≤ slot) into `output`; `input` nil: in place.
    func nodeAllgather(_ node: NodeSegment, input: UnsafeRawPointer?, output: UnsafeMutableRawPointer, blockBytes: Int) {
        assert(blockBytes <= Runtime.slotBytes, "allgather block larger than a node slot")
        let parity = Int(nodeGeneration & 1), me = Int(worldRank)
        copyInline(buffer(node, me, parity, blockBytes), input ?? UnsafeRawPointer(output + me * blockBytes), blockBytes)
        arrive(node)
        for i in 0..<worldSize where i != me || input != nil {
            copyInline(output + i * blockBytes, UnsafeRawPointer(buffer(node, i, parity, blockBytes)), blockBytes)
        }
    }

    /// MPI_Alltoall of blocks of `blockBytes` (n blocks ≤ slot); `input` nil means in place.
    func nodeAlltoall(_ node: NodeSegment, input: UnsafeRawPointer?, output: UnsafeMutableRawPointer, blockBytes: Int) {
        assert(worldSize * blockBytes <= Runtime.slotBytes, "alltoall input larger than a node slot")
        let parity = Int(nodeGeneration & 1), me = Int(worldRank), n = worldSize
        copyInline(buffer(node, me, parity, n * blockBytes), input ?? UnsafeRawPointer(output), n * blockBytes)
        arrive(node)
        for i in 0..<n {
            copyInline(output + i * blockBytes, UnsafeRawPointer(buffer(node, i, parity, n * blockBytes) + me * blockBytes), blockBytes)
        }
    }
}
