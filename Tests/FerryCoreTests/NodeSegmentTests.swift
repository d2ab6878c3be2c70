// The shared-memory transport with real segments: two ranks' views of one node segment live in
// this process, so ring order, back-pressure and clean-up are checked without processes.
import Testing
import FerryCore
import FerrySys
import FerryShm
import FerryTransport
#if canImport(Glibc)
import Glibc
#endif

private func jobID(_ tag: String) -> String { "test-\(getpid())-\(tag)" }

private func shmEntries(containing s: String) -> [String] {
    guard let d = opendir("/dev/shm") else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name.contains(s) { out.append(name) }
    }
    return out
}

@Suite("shared-memory rings") struct NodeSegmentTests {
    @Test("cells arrive in order, a full ring says no resource, and released cells are reused")
    func ringOrderAndBackPressure() throws {
        let layout = NodeLayout(localSize: 2, cellBytes: 256, ringCells: 4)
        let id = jobID("ring")
        let a = try NodeSegment(jobID: id, localRank: 0, layout: layout)
        let b = try NodeSegment(jobID: id, localRank: 1, layout: layout)
        for k in 0..<4 {
            let h = try #require(a.reserve(to: 1))
            h.pointee.tag = Int32(100 + k)
            h.pointee.length = 8
            (UnsafeMutableRawPointer(h) + frameHeaderBytes).storeBytes(of: UInt64(k * 7), as: UInt64.self)
            a.publish(to: 1, h)
        }
        #expect(a.reserve(to: 1) == nil, "a ring of 4 cells holds 4 messages")
        for k in 0..<4 {
            let h = try #require(b.peek(from: 0))
            #expect(h.pointee.tag == Int32(100 + k))
            #expect((UnsafeRawPointer(h) + frameHeaderBytes).load(as: UInt64.self) == UInt64(k * 7))
            b.release(from: 0, h)
            if k == 1 { #expect(a.reserve(to: 1) != nil, "a released cell is free again") }
        }
        #expect(b.peek(from: 0) == nil)
        #expect(b.anyIncoming() == false)
        #expect(a.pid(ofLocalRank: 1) == getpid())
    }

    @Test("a linked peer's rings may have another cell count: order, wrap-around and room hold per peer")
    func linkedPeerWithOwnRingSize() throws {
        // Node rings of 4 cells; a linked peer reached through rings of 3 cells (not a power of
        // two) carved out of plain memory: both views of that pair live in this process.
        let layout = NodeLayout(localSize: 1, cellBytes: 256, ringCells: 4)
        let id = jobID("link")
        let a = try NodeSegment(jobID: id, localRank: 0, layout: layout, standalone: true)
        let b = try NodeSegment(jobID: id + "b", localRank: 0, layout: layout, standalone: true)
        let ringBytes = 3 * 256
        let mem = UnsafeMutableRawPointer.allocate(byteCount: 2 * ringBytes, alignment: 64)
        defer { mem.deallocate() }
        memset(mem, 0, 2 * ringBytes)
        let pa = a.addPeer(outgoing: mem, incoming: mem + ringBytes, pid: getpid(), ringCells: 3)
        let pb = b.addPeer(outgoing: mem + ringBytes, incoming: mem, pid: getpid(), ringCells: 3)
        #expect(a.frameCapacity(ofPeer: pa) == 3 && a.frameCapacity(ofPeer: 0) == 4)
        var sent = 0, received = 0
        for round in 0..<5 {   // 5 rounds of 3 cross the end of the ring several times
            #expect(a.hasRoom(to: pa, frames: 4), "room for the whole ring (3 of the 4 asked)")
            for _ in 0..<3 {
                let h = try #require(a.reserve(to: pa))
                h.pointee.tag = Int32(sent)
                a.publish(to: pa, h)
                sent += 1
            }
            #expect(a.reserve(to: pa) == nil, "round \(round): 3 cells hold 3 messages")
            #expect(!a.hasRoom(to: pa, frames: 1))
            for _ in 0..<3 {
                let h = try #require(b.peek(from: pb))
                #expect(h.pointee.tag == Int32(received))
                b.release(from: pb, h)
                received += 1
            }
            #expect(b.peek(from: pb) == nil)
        }
        #expect(received == 15)
    }

    @Test("the segment name is unlinked once every local rank has mapped it")
    func unlinkedAfterAllMapped() throws {
        let id = jobID("unlink")
        let layout = NodeLayout(localSize: 2, cellBytes: 256, ringCells: 2)
        let a = try NodeSegment(jobID: id, localRank: 0, layout: layout)
        #expect(shmEntries(containing: id).count == 1, "visible while rank 1 has not mapped it")
        let b = try NodeSegment(jobID: id, localRank: 1, layout: layout)
        #expect(shmEntries(containing: id).isEmpty, "nothing left in /dev/shm")
        _ = (a, b)
    }

    @Test("a segment larger than /dev/shm fails with a clear message and leaves nothing behind")
    func tooLargeForDevShm() {
        let free = SharedSegment.freeBytes() ?? 0
        let name = "/ferry-\(jobID("huge"))"
        do {
            _ = try SharedSegment.create(name: name, byteCount: free + (1 << 40))
            Issue.record("creating a segment larger than /dev/shm succeeded")
        } catch {
            #expect(error.errorClass == .noMem)
            #expect(error.description.contains("/dev/shm"))
        }
        #expect(shmEntries(containing: jobID("huge")).isEmpty)
    }

    @Test("opening a segment nobody creates times out with an error, not a hang")
    func openTimesOut() {
        #expect(throws: MPIError.self) {
            _ = try SharedSegment.open(name: "/ferry-\(jobID("absent"))", byteCount: 4096, timeoutSeconds: 0.2)
        }
    }

    @Test("a sleeping rank is woken by a publish to it")
    func doorbellWakes() throws {
        let layout = NodeLayout(localSize: 2, cellBytes: 256, ringCells: 2)
        let id = jobID("bell")
        let a = try NodeSegment(jobID: id, localRank: 0, layout: layout)
        let b = try NodeSegment(jobID: id, localRank: 1, layout: layout)
        let t0 = monotonicSeconds()
        // No publish: the sleep ends at its 50 ms time-out.
        b.sleep(timeoutNanoseconds: 50_000_000) { true }
        #expect(monotonicSeconds() - t0 >= 0.04)
        // A publish before sleeping: stillIdle sees the cell and the sleep returns at once.
        let h = try #require(a.reserve(to: 1))
        a.publish(to: 1, h)
        let t1 = monotonicSeconds()
        b.sleep(timeoutNanoseconds: 2_000_000_000) { !b.anyIncoming() }
        #expect(monotonicSeconds() - t1 < 0.5)
    }
}

@Suite("tunables", .serialized) struct TunableTests {
    /// Item 12 of the hardening issue: values were clamped or replaced silently, and values of
    /// 2^62 and more trapped on overflow in every rank.
    @Test("invalid values are errors naming the variable, the value and the accepted range; nothing is clamped")
    func strictParsing() throws {
        func parse(_ name: String, _ value: String) -> Result<Tunables, MPIError> {
            Result { () throws(MPIError) in try Tunables.fromEnvironment { $0 == name ? value : nil } }
        }
        let cases: [(String, String, String)] = [
            ("FERRY_SHM_CELL_BYTES", "100", "an integer from 256 to 2147483648, a multiple of 64"),
            ("FERRY_SHM_CELL_BYTES", "1000", "a multiple of 64"),
            ("FERRY_SHM_CELL_BYTES", "4611686018427387904", "an integer from 256"),   // 2^62
            ("FERRY_SHM_CELL_BYTES", "99999999999999999999999", "an integer from 256"), // beyond Int
            ("FERRY_SHM_RING_CELLS", "1", "0 (automatic) or an integer from 2 to 1024"),
            ("FERRY_EAGER_LIMIT", "-1", "an integer from 0 to"),
            ("FERRY_EAGER_LIMIT", "64k", "an integer from 0 to"),
            ("FERRY_EAGER_LIMIT", " 4096", "an integer from 0 to"),
            ("FERRY_EAGER_LIMIT", "", "an integer from 0 to"),
            ("FERRY_SINGLE_COPY", "2", "0 or 1"),
            ("FERRY_BUSY_POLL", "yes", "0 or 1"),
            ("FERRY_SINGLE_COPY_MIN", "9223372036854775807", "an integer from 0 to"),
        ]
        for (name, value, accepted) in cases {
            guard case .failure(let e) = parse(name, value) else {
                Issue.record("\(name)='\(value)' was accepted"); continue
            }
            #expect(e.errorClass == .arg)
            #expect(e.detail.hasPrefix("\(name)='\(value)' is not valid: expected "), "\(e.detail)")
            #expect(e.detail.contains(accepted), "\(e.detail)")
        }
        let ok = try parse("FERRY_SHM_CELL_BYTES", "256").get()
        #expect(ok.shmCellBytes == 256)
        #expect(ok.pipelineChunkBytes == 256 - 64, "the chunk is documented to be used up to the cell payload")
        #expect(try parse("FERRY_SHM_RING_CELLS", "0").get().shmRingCells == 0)
        #expect(try parse("FERRY_EAGER_LIMIT", "+4096").get().eagerLimitBytes == 4096)
        #expect(try Tunables.fromEnvironment { _ in nil }.eagerLimitBytes == 65536, "defaults when unset")
    }

    @Test("ring depth: 16 cells for jobs of up to 16 ranks on the node, 8 above and between jobs; a set value everywhere")
    func ringCellsByJobSize() throws {
        unsetenv("FERRY_SHM_RING_CELLS")
        let auto = try Tunables.fromEnvironment()
        #expect(auto.shmRingCells == 0)
        #expect(auto.ringCells(localSize: 2) == 16)
        #expect(auto.ringCells(localSize: 16) == 16)
        #expect(auto.ringCells(localSize: 17) == 8)
        #expect(auto.linkRingCells == 8)
        setenv("FERRY_SHM_RING_CELLS", "5", 1)
        defer { unsetenv("FERRY_SHM_RING_CELLS") }
        let set = try Tunables.fromEnvironment()
        #expect(set.ringCells(localSize: 2) == 5)
        #expect(set.ringCells(localSize: 64) == 5)
        #expect(set.linkRingCells == 5)
    }

    @Test("every tunable is documented")
    func documented() {
        #expect(Tunables.descriptions.count == 9)
        #expect(Tunables.descriptions.allSatisfy { $0.variable.hasPrefix("FERRY_") && !$0.meaning.isEmpty })
    }
}
