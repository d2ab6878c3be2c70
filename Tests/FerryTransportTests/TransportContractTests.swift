// The transport contract (Sources/FerryTransport/Transport.swift), checked the same way on every
// transport through the protocol: the in-memory transport and the shared-memory rings (two
// ranks' views of one real node segment in this process).
import Testing
import FerryCore
import FerryTransport
import FerryShm
#if canImport(Glibc)
import Glibc
#endif

/// Two endpoints of one transport, and what closes them.
private struct Pair {
    let a: any FrameTransport     // index 0
    let b: any FrameTransport     // index 1
    let depth: Int
    let keep: [AnyObject]
}

private func inMemoryPair(depth: Int) -> Pair {
    let fabric = InMemoryFabric(endpoints: 2, framesPerRing: depth, frameBytes: 256)
    return Pair(a: fabric.endpoint(0), b: fabric.endpoint(1), depth: depth, keep: [fabric])
}

private func shmPair(depth: Int, _ tag: String) throws -> Pair {
    let layout = NodeLayout(localSize: 2, cellBytes: 256, ringCells: depth)
    let id = "test-\(getpid())-contract-\(tag)"
    let a = try NodeSegment(jobID: id, localRank: 0, layout: layout)
    let b = try NodeSegment(jobID: id, localRank: 1, layout: layout)
    return Pair(a: a, b: b, depth: depth, keep: [])
}

private func send(_ t: any FrameTransport, to peer: Int, tag: Int32, value: UInt64) -> Bool {
    guard let f = t.reserve(to: peer) else { return false }
    f.pointee.kind = FrameKind.eager.rawValue
    f.pointee.tag = tag
    f.pointee.length = 8
    framePayload(f).storeBytes(of: value, as: UInt64.self)
    t.publish(to: peer, f)
    return true
}

private func receive(_ t: any FrameTransport, from peer: Int) -> (tag: Int32, value: UInt64)? {
    guard let f = t.peek(from: peer) else { return nil }
    let r = (f.pointee.tag, UnsafeRawPointer(framePayload(f)).load(as: UInt64.self))
    t.release(from: peer, f)
    return r
}

/// The contract, on one pair.
private func checkContract(_ p: Pair) {
    let caps = p.a.capabilities
    #expect(caps.ordered, "every Ferry transport delivers in order")
    #expect(caps.maxInlinePayload == 256 - frameHeaderBytes)
    #expect(p.a.frameCapacity(ofPeer: 1) == p.depth)
    #expect(p.b.peek(from: 0) == nil, "nothing before the first publish")
    // Fill the queue: exactly `depth` frames fit, then "no resource".
    for k in 0..<p.depth {
        #expect(p.a.hasRoom(to: 1, frames: 1))
        #expect(send(p.a, to: 1, tag: Int32(k), value: UInt64(k) &* 0x9E37_79B9))
    }
    #expect(p.a.reserve(to: 1) == nil, "a full queue says no resource")
    #expect(!p.a.hasRoom(to: 1, frames: 1))
    // The other direction is independent.
    #expect(send(p.b, to: 0, tag: 77, value: 7))
    #expect(receive(p.a, from: 1)?.tag == 77)
    // In order, and a released frame is free again.
    for k in 0..<p.depth {
        let r = receive(p.b, from: 0)
        #expect(r?.tag == Int32(k))
        #expect(r?.value == UInt64(k) &* 0x9E37_79B9)
        if k == 0 { #expect(p.a.hasRoom(to: 1, frames: 1), "the first released frame is free again") }
    }
    #expect(p.b.peek(from: 0) == nil)
    // Wrap-around: several laps of the queue keep the order.
    var next: Int32 = 1000, expected: Int32 = 1000
    for _ in 0..<(3 * p.depth) {
        #expect(send(p.a, to: 1, tag: next, value: UInt64(next)))
        next += 1
        if next - expected == Int32(p.depth) {
            while let r = receive(p.b, from: 0) {
                #expect(r.tag == expected && r.value == UInt64(expected))
                expected += 1
            }
        }
    }
    while let r = receive(p.b, from: 0) {
        #expect(r.tag == expected)
        expected += 1
    }
    #expect(expected == next, "every frame published arrived once")
}

@Suite("transport contract") struct TransportContractTests {
    @Test("in-memory transport", arguments: [1, 3, 8])
    func inMemory(depth: Int) {
        checkContract(inMemoryPair(depth: depth))
    }

    @Test("shared-memory rings", arguments: [1, 3, 8])
    func sharedMemory(depth: Int) throws {
        checkContract(try shmPair(depth: depth, "d\(depth)"))
    }

    @Test("in-memory fabric: every ordered pair has its own ring, counted in flight")
    func fabricPairs() {
        let fabric = InMemoryFabric(endpoints: 3, framesPerRing: 2)
        let e = (0..<3).map { fabric.endpoint($0) }
        #expect(fabric.endpoint(1) === e[1], "one view per endpoint")
        #expect(send(e[0], to: 2, tag: 1, value: 10))
        #expect(send(e[1], to: 2, tag: 2, value: 20))
        #expect(send(e[2], to: 0, tag: 3, value: 30))
        #expect(fabric.framesInFlight(from: 0, to: 2) == 1)
        #expect(fabric.framesInFlight(from: 2, to: 1) == 0)
        #expect(receive(e[2], from: 1)?.value == 20)
        #expect(receive(e[2], from: 0)?.value == 10)
        #expect(receive(e[0], from: 2)?.value == 30)
        #expect(receive(e[1], from: 0) == nil)
        #expect(fabric.framesInFlight(from: 0, to: 2) == 0)
    }

    @Test("the frame header keeps its wire layout: 64 bytes, fields at fixed offsets")
    func headerLayout() {
        #expect(MemoryLayout<FrameHeader>.size <= frameHeaderBytes)
        #expect(frameHeaderBytes == 64)
        #expect(MemoryLayout<FrameHeader>.offset(of: \.flag) == 0)
        #expect(MemoryLayout<FrameHeader>.offset(of: \.kind) == 4)
        #expect(MemoryLayout<FrameHeader>.offset(of: \.context) == 8)
        #expect(MemoryLayout<FrameHeader>.offset(of: \.length) == 20)
        #expect(MemoryLayout<FrameHeader>.offset(of: \.total) == 24)
        #expect(MemoryLayout<FrameHeader>.offset(of: \.offset) == 56)
        #expect(FrameKind(rawValue: 0) == nil && FrameKind(rawValue: 7) == nil, "kinds 1-6 only")
    }
}
