// Multi-process test of the Swift API (`import MPI`): point-to-point (wildcards, modes,
// nonblocking, probes, persistent), async receive, collectives with value checks, split/dup,
// attributes, errors-return. Rank 0 prints "swift-api: OK"; any mismatch exits 1.
//   ferry run -n 4 .build/debug/swift-api-test
import MPI
#if canImport(Glibc)
import Glibc
#endif

let world = try MPI.initialize(threading: .multiple)
let rank = world.rank, size = world.size

// Started by the spawn section below: answer the parents and leave.
if let parent = Communicator.parent {
    let token: Int64 = try parent.receive(Int64.self, from: .rank(0), tag: .value(70)).0
    try parent.send(token * 100 + Int64(rank) + Int64(size) * 10, to: 0, tag: 71)
    let merged = try parent.merge(high: true)
    let total = try merged.allReduce(Int64(1), .sum)
    try parent.send(total, to: 0, tag: 72)
    try merged.free()
    try parent.disconnect()
    if Communicator.parent != nil { print("swift-api child: parent still set after disconnect") }
    try MPI.finalize()
    exit(0)
}

/// Fails the job with a message naming the check.
func expect(_ condition: @autoclosure () throws -> Bool, _ what: @autoclosure () -> String,
            line: Int = #line) rethrows {
    if try !condition() {
        print("swift-api: rank \(rank): FAILED at line \(line): \(what())")
        fflush(nil)
        MPI.abort(code: 1, message: "swift-api check failed")
    }
}

expect(size >= 2, "needs at least 2 ranks, got \(size)")
expect(MPI.isInitialized && !MPI.isFinalized, "initialized flags")
expect(MPI.threadLevel == .multiple, "thread level \(String(describing: MPI.threadLevel))")
expect(MPI.wtick() > 0 && MPI.wtime() >= 0, "clocks")
/// Section marker on stderr when SWIFT_API_TRACE is set (to locate a hang).
func section(_ name: String) {
    if getenv("SWIFT_API_TRACE") != nil { print("swift-api: rank \(rank): \(name)"); fflush(nil) }
}
let right = (rank + 1) % size, left = (rank - 1 + size) % size

// Point-to-point: a blocking ring exchange with sendReceive, checked by value.
section("Point-to-point")
do {
    let (got, st) = try world.sendReceive([Int32(rank), Int32(rank * 10)], to: right, sendTag: 3,
                                          receiving: Int32.self, count: 2, from: .rank(left), receiveTag: 3)
    expect(got == [Int32(left), Int32(left * 10)], "sendReceive got \(got)")
    expect(st.source == left && st.tag == 3 && st.count(of: Int32.self) == 2, "sendReceive status \(st)")
    var replace = [Double(rank), 0.5]
    try world.sendReceiveReplace(&replace, to: right, sendTag: 4, from: .rank(left), receiveTag: 4)
    expect(replace == [Double(left), 0.5], "sendReceiveReplace got \(replace)")
}

// Wildcards, modes, probe-sized receive and matched probe: every rank sends to rank 0.
section("Wildcards, modes, probe-sized receive an")
if rank == 0 {
    var seen = Set<Int>()
    for _ in 1..<size {
        let (values, st) = try world.receive(Int64.self, count: 8, from: .any, tag: .any)
        expect(st.tag == 100 + st.source && values == [Int64](repeating: Int64(st.source), count: st.source),
               "wildcard receive \(values) \(st)")
        seen.insert(st.source)
    }
    expect(seen.count == size - 1, "sources \(seen)")
    try world.barrier()   // the senders' later messages must not match the wildcards above
    for _ in 1..<size {
        let st = try world.probe(from: .any, tag: 7)
        let (values, st2) = try world.receive(arrayOf: Float.self, from: .rank(st.source), tag: 7)
        expect(st2.source == st.source && values.count == st.source + 1 && values.allSatisfy { $0 == Float(st.source) },
               "probe-sized receive \(values)")
    }
    for _ in 1..<size {
        let m = try world.mprobe(from: .any, tag: 8)
        expect(m.count(of: UInt16.self) == 3, "mprobe count \(String(describing: m.count(of: UInt16.self)))")
        let (values, st) = try m.receive(UInt16.self)
        expect(values == [1, 2, UInt16(st.source)], "mrecv got \(values)")
    }
    // Synchronous sends from every rank, received here in rank order.
    for r in 1..<size {
        let (v, st) = try world.receive(Bool.self, from: .rank(r), tag: 9)
        expect(v == (r % 2 == 0) && st.source == r, "ssend bool \(v)")
    }
} else {
    try world.send([Int64](repeating: Int64(rank), count: rank), to: 0, tag: 100 + rank)
    try world.barrier()
    try world.send([Float](repeating: Float(rank), count: rank + 1), to: 0, tag: 7)
    try world.send([1, 2, UInt16(rank)], to: 0, tag: 8)
    try world.ssend([rank % 2 == 0], to: 0, tag: 9)
}

// Nonblocking: isend/ireceive around the ring, waitAll, then typed results.
section("Nonblocking")
do {
    let recv = try world.ireceive(Double.self, count: 4, from: .rank(left), tag: 11)
    let send = try world.isend([Double](repeating: Double(rank) + 0.25, count: 4), to: right, tag: 11)
    let statuses = try Request.waitAll([send, recv.request])
    expect(statuses[1].source == left, "waitAll status \(statuses[1])")
    expect(recv.result?.values == [Double](repeating: Double(left) + 0.25, count: 4), "ireceive values")
    // waitAny over two receives (one from each neighbour when size > 2).
    let a = try world.ireceive(Int.self, count: 1, from: .rank(left), tag: 12)
    let b = try world.ireceive(Int.self, count: 1, from: .rank(right), tag: 13)
    try world.send(rank, to: right, tag: 12)
    try world.send(rank, to: left, tag: 13)
    var pending = [a.request, b.request]
    var got = 0
    while let (i, _) = try Request.waitAny(pending) { got += 1; pending[i] = pending[i]; if got == 2 { break } }
    expect(a.result?.values == [left] && b.result?.values == [right], "waitAny \(String(describing: a.result?.values)) \(String(describing: b.result?.values))")
    // Cancel a receive nobody matches.
    let never = try world.ireceive(Int32.self, count: 1, from: .any, tag: 999)
    try never.cancel()
    let (_, cst) = try never.wait()
    expect(cst.isCancelled, "cancelled receive")
}

// Persistent requests: three rounds around the ring.
section("Persistent requests")
do {
    let ps = try world.sendInit(Int32.self, count: 2, to: right, tag: 20)
    let pr = try world.receiveInit(Int32.self, count: 2, from: .rank(left), tag: 20)
    for round in 0..<3 {
        ps.buffer[0] = Int32(rank); ps.buffer[1] = Int32(round)
        try pr.start(); try ps.start()
        try ps.wait(); try pr.wait()
        expect(pr.values == [Int32(left), Int32(round)], "persistent round \(round): \(pr.values)")
    }
    try ps.free(); try pr.free()
}

// Buffered send.
section("Buffered send.")
do {
    try MPI.attachBuffer(bytes: 1024)
    try world.bsend([Int8(rank)], to: right, tag: 21)
    let (v, _) = try world.receive(Int8.self, from: .rank(left), tag: 21)
    expect(v == Int8(left), "bsend \(v)")
    try MPI.detachBuffer()
}

// Async receive: the receive is awaited while the send is posted afterwards by this task.
section("Async receive")
do {
    async let incoming = world.receiveAsync(Int32.self, count: 3, from: .rank(left), tag: 30)
    try await world.sendAsync([Int32(rank), 1, 2], to: right, tag: 30)
    let (values, st) = try await incoming
    expect(values == [Int32(left), 1, 2] && st.source == left, "async receive \(values)")
    try world.send([Int8(rank)], to: right, tag: 31)
    let (any, _) = try await world.receiveAsync(arrayOf: Int8.self, from: .any, tag: 31)
    expect(any == [Int8(left)], "async probed receive \(any)")
}

// Collectives, checked by value.
section("Collectives, checked by value.")
do {
    var b = rank == 1 ? [7, 8, 9] : [0, 0, 0]
    try world.broadcast(&b, from: 1)
    expect(b == [7, 8, 9], "broadcast \(b)")
    let arr = try world.broadcast(array: rank == 0 ? ["x".utf8.first!, 1, 2, 3, 4] : [], from: 0)
    expect(arr.count == 5 && arr[4] == 4, "broadcast(array:) \(arr)")

    let n = size
    try expect(try world.allReduce(rank, .sum) == n * (n - 1) / 2, "allReduce sum")
    try expect(try world.allReduce([Double(rank), 1.0], .max) == [Double(n - 1), 1.0], "allReduce max array")
    var inPlace = [Int32(rank + 1), 2]
    try world.allReduce(inPlace: &inPlace, .product)
    expect(inPlace[1] == Int32(1 << n), "allReduce in place product \(inPlace)")
    let r0 = try world.reduce(UInt32(rank), .max, to: 0)
    expect(rank == 0 ? r0 == UInt32(n - 1) : r0 == nil, "reduce max")
    let loc = try world.allReduce(ValueIndex(Double((rank * 7) % n), Int32(rank)), .maxLoc)
    var bestValue = -1.0, bestIndex: Int32 = -1
    for r in 0..<n where Double((r * 7) % n) > bestValue { bestValue = Double((r * 7) % n); bestIndex = Int32(r) }
    expect(loc.value == bestValue && loc.index == bestIndex, "maxLoc \(loc)")
    let minl = try world.allReduce(ValueIndex(Int32(10 - rank), Int32(rank)), .minLoc)
    expect(minl == ValueIndex(Int32(10 - (n - 1)), Int32(n - 1)), "minLoc \(minl)")
    let custom = try world.allReduce(Int64(rank + 1), .custom(Int64.self) { a, b in a &* b })
    expect(custom == Int64((1...n).reduce(1, *)), "custom product \(custom)")
    // Digit concatenation: associative, not commutative, on a struct sent as bytes.
    struct Digits: MPIElement { var value: Int64; var scale: Int64 }
    let concat = Operation.custom(Digits.self, commutative: false) { a, b in
        Digits(value: a.value * b.scale + b.value, scale: a.scale * b.scale)
    }
    let ordered = try world.allReduce(Digits(value: Int64(rank + 1), scale: 10), concat)
    let expectedOrdered = (1...n).reduce(Int64(0)) { $0 * 10 + Int64($1) }
    expect(ordered.value == expectedOrdered, "non-commutative custom op \(ordered.value) (expected \(expectedOrdered))")
    try expect(try world.allReduce(rank == 0, .logicalOr), "logicalOr")

    let g = try world.gather(Int16(rank * 2), to: n - 1)
    expect(rank == n - 1 ? g == (0..<n).map { Int16($0 * 2) } : g == nil, "gather \(String(describing: g))")
    let gv = try world.gather(varying: [Int](repeating: rank, count: rank), to: 0)
    if rank == 0 { expect(gv! == (0..<n).map { [Int](repeating: $0, count: $0) }, "gather varying") }
    let s = try world.scatter(rank == 0 ? (0..<n).map { Float($0) * 1.5 } : nil, from: 0)
    expect(s == Float(rank) * 1.5, "scatter \(s)")
    let sv = try world.scatter(varying: rank == 1 ? (0..<n).map { [UInt64](repeating: UInt64($0), count: $0 + 1) } : nil, from: 1)
    expect(sv == [UInt64](repeating: UInt64(rank), count: rank + 1), "scatter varying \(sv)")
    try expect(try world.allGather(Int8(rank)) == (0..<n).map { Int8($0) }, "allGather")
    var ag = [Int](repeating: -1, count: 2 * n)
    ag[2 * rank] = rank; ag[2 * rank + 1] = rank * rank
    try world.allGather(inPlace: &ag)
    expect(ag == (0..<n).flatMap { [$0, $0 * $0] }, "allGather in place \(ag)")
    let agv = try world.allGather(varying: [Int32](repeating: 5, count: rank % 3))
    expect(agv.map(\.count) == (0..<n).map { $0 % 3 }, "allGather varying")
    let a2a = try world.allToAll((0..<n).map { rank * 100 + $0 })
    expect(a2a == (0..<n).map { $0 * 100 + rank }, "allToAll \(a2a)")
    let a2av = try world.allToAll(varying: (0..<n).map { [Int](repeating: rank, count: $0) })
    expect(a2av == (0..<n).map { [Int](repeating: $0, count: rank) }, "allToAll varying")
    try expect(try world.scan(rank + 1, .sum) == (rank + 1) * (rank + 2) / 2, "scan")
    let ex = try world.exclusiveScan(rank + 1, .sum)
    expect(rank == 0 ? ex == nil : ex == rank * (rank + 1) / 2, "exclusiveScan \(String(describing: ex))")
    let rsb = try world.reduceScatterBlock([Int](repeating: 1, count: 2 * n), .sum)
    expect(rsb == [n, n], "reduceScatterBlock \(rsb)")
    let counts = (0..<n).map { $0 + 1 }
    let rs = try world.reduceScatter([Int](repeating: rank, count: counts.reduce(0, +)), counts: counts, .sum)
    expect(rs == [Int](repeating: n * (n - 1) / 2, count: rank + 1), "reduceScatter \(rs)")
    try world.barrier()
}

// Communicators: split, dup, compare, create, attributes, names.
section("Communicators")
do {
    let half = try world.split(color: rank % 2, key: -rank)!
    let members = (0..<size).filter { $0 % 2 == rank % 2 }
    expect(half.size == members.count, "split size \(half.size)")
    expect(half.rank == members.count - 1 - members.firstIndex(of: rank)!, "split rank (key reverses order)")
    try expect(try half.allReduce(1, .sum) == members.count, "allReduce on split")
    section("split-undefined")
    let none = try world.split(color: rank == 0 ? nil : 1)
    expect((none == nil) == (rank == 0), "split with undefined color")
    try none?.free()
    section("dup")
    let copy = try world.dup()
    expect(world.compare(copy) == .congruent && world.compare(world) == .identical, "compare dup")
    copy.name = "copy"
    expect(copy.name == "copy" && world.name == "MPI_COMM_WORLD", "names")
    section("keyval")
    let key = try Keyval<String>()
    try copy.setAttribute(key, "hello \(rank)")
    let copy2 = try copy.dup()
    try expect(try copy2.attribute(key) == "hello \(rank)", "attribute copied on dup")
    try copy2.deleteAttribute(key)
    try expect(try copy2.attribute(key) == nil, "attribute deleted")
    section("create")
    let evens = try world.create(group: world.group.including((0..<size).filter { $0 % 2 == 0 }.map(Int32.init)))
    expect((evens != nil) == (rank % 2 == 0), "create(group:)")
    if let evens { try expect(try evens.allGather(rank) == (0..<size).filter { $0 % 2 == 0 }, "create(group:) members") }
    section("intercomm")
    // Intercommunicator between the even and odd halves, then merged back.
    if size >= 2 {
        // `half` orders ranks by -rank, so each side's leader (rank 0) is its highest world rank.
        let others = (0..<size).filter { $0 % 2 != rank % 2 }
        let inter = try half.intercommCreate(localLeader: 0, peer: world, remoteLeader: others.last!, tag: 40)
        expect(inter.isIntercommunicator && inter.remoteSize == size - members.count, "intercomm remote size")
        let merged = try inter.merge(high: rank % 2 == 1)
        try expect(merged.size == size && (try merged.allReduce(rank, .sum)) == size * (size - 1) / 2, "merged")
        try merged.free(); try inter.free()
    }
    section("frees")
    try copy2.free(); try copy.free(); try half.free(); try evens?.free()
    try key.free()
}

// Errors: with .returnErrors, an invalid rank throws an error whose class is MPI_ERR_RANK;
section("Errors")
// a custom handler sees it first.
do {
    world.errorHandler = .returnErrors
    do {
        try world.send([1] as [Int32], to: size + 5, tag: 0)
        expect(false, "send to an invalid rank did not throw")
    } catch {
        expect(error.errorClass == .rank, "error class \(error.errorClass)")
    }
    do {
        _ = try world.receive(Int32.self, count: 1, from: .rank(-7), tag: 0)
        expect(false, "receive from an invalid rank did not throw")
    } catch {
        expect(error.errorClass == .rank, "receive error class \(error.errorClass)")
    }
    nonisolated(unsafe) var seen: ErrorClass? = nil
    world.errorHandler = .custom { _, e in seen = e.errorClass }
    do { try world.send(1 as Int32, to: 0, tag: -3) } catch { expect(error.errorClass == .tag, "tag error") }
    expect(seen == .tag, "custom handler saw \(String(describing: seen))")
    world.errorHandler = .fatal
}

// Datatypes: a strided column, pack/unpack.
section("Datatypes")
do {
    let column = try Datatype.vector(count: 3, blockLength: 1, stride: 4, of: .of(Double.self)).commit()
    var matrix = (0..<12).map { Double($0) }       // 3 x 4, row-major
    var column1 = [Double](repeating: 0, count: 3)
    if rank == 0 {
        // Column 1 starts at element 1 (byte 8) of the row-major matrix.
        try matrix.withUnsafeBytes { b in
            Result { () throws(MPIError) in try world.send(b.baseAddress! + 8, count: 1, datatype: column, to: 1, tag: 50) }
        }.get()
    } else if rank == 1 {
        try world.receive(into: &column1, from: 0, tag: 50)
        expect(column1 == [1, 5, 9], "column type \(column1)")
    }
    let packed = MPI.pack([Int32(1), 2, 3])
    try expect(packed.count == 12 && (try MPI.unpack(packed, as: Int32.self, count: 3)) == [1, 2, 3], "pack/unpack")
    matrix[0] = column1[0]
}

// Dynamic processes: spawn two copies of this program, talk to them, merge, disconnect. The
// spawning communicator is the ranks of this node (all of MPI_COMM_WORLD on one node): Ferry
// spawns from processes of one node only.
section("Spawn")
do {
    let program = CommandLine.arguments[0]
    let node = try world.splitShared()
    let (rank, size) = (node.rank, node.size)
    let children = try node.spawn([SpawnCommand(program, processes: 2)], root: 0)
    expect(children.remoteSize == 2, "spawned \(children.remoteSize) children")
    if rank == 0 {
        for c in 0..<2 { try children.send(Int64(7 + c), to: c, tag: 70) }
        var replies: [Int64] = []
        for c in 0..<2 { replies.append(try children.receive(Int64.self, from: .rank(c), tag: .value(71)).0) }
        expect(replies == [700 + 0 + 20, 800 + 1 + 20], "children replied \(replies)")
    }
    let merged = try children.merge(high: false)
    let total = try merged.allReduce(Int64(1), .sum)
    expect(total == Int64(size + 2) && merged.size == size + 2 && merged.rank == rank, "merged \(merged.rank)/\(merged.size) total \(total)")
    if rank == 0 {
        for c in 0..<2 { try expect(children.receive(Int64.self, from: .rank(c), tag: .value(72)).0 == Int64(size + 2), "child total") }
    }
    try merged.free()
    try children.disconnect()
    try node.free()
}

try world.barrier()
if rank == 0 { print("swift-api: OK") }
try MPI.finalize()
