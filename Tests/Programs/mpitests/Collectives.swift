// collectives: every collective at the job's rank count, values checked against a local
// computation: bcast, reduce / allreduce / scan / exscan / reduce_scatter(_block) / reduce_local
// with sum, max, min, prod on int, double, int64, minloc on 2int and double_int, a commutative
// and a NON-commutative user op (2x2 matrix product), MPI_IN_PLACE where allowed, gather(v),
// scatter(v), allgather(v), alltoall(v, w).
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

/// Element generator for the reduction tests: small values so that products stay exact.
@inline(__always) func redX(_ r: Int32, _ i: Int) -> Int { (Int(r) * 3 + i * 5) % 4 + 1 }

func reduceCheck<E: BitwiseCopyable & Equatable>(_ t: T, _ name: String, _ type: Datatype, _ op: Operation, count: Int,
                                                 value: (Int32, Int) -> E, combine: (E, E) -> E,
                                                 roots: [Int32], prefix: Bool, comm: Communicator? = nil) {
    let c = comm ?? t.w
    let me = c.rank, n = Int32(c.size)
    let send = alloc(count, value(me, 0)), recv = alloc(count, value(me, 0))
    for i in 0..<count { send[i] = value(me, i) }
    func expectedUpTo(_ last: Int32, _ i: Int) -> E {
        var acc = value(0, i)
        if last >= 1 { for r in 1...last { acc = combine(acc, value(r, i)) } }
        return acc
    }
    let full = (0..<count).map { expectedUpTo(n - 1, $0) }
    for root in roots {
        checkRC(t.rt.reduce(send, recv, count: count, datatype: type, op: op, root: root, comm: c), "\(name) reduce root \(root)")
        if me == root { for i in 0..<count where recv[i] != full[i] { fail("\(name) reduce root \(root) count \(count) [\(i)]: \(recv[i]), expected \(full[i])") } }
        // in place at the root
        if me == root { for i in 0..<count { recv[i] = value(me, i) } }
        checkRC(t.rt.reduce(me == root ? UnsafeRawPointer(Runtime.inPlace) : UnsafeRawPointer(send), me == root ? recv : nil,
                            count: count, datatype: type, op: op, root: root, comm: c), "\(name) reduce in place root \(root)")
        if me == root { for i in 0..<count where recv[i] != full[i] { fail("\(name) reduce IN_PLACE root \(root) [\(i)]: \(recv[i]), expected \(full[i])") } }
    }
    checkRC(t.rt.allreduce(send, recv, count: count, datatype: type, op: op, comm: c), "\(name) allreduce")
    for i in 0..<count where recv[i] != full[i] { fail("\(name) allreduce count \(count) [\(i)]: \(recv[i]), expected \(full[i])") }
    for i in 0..<count { recv[i] = value(me, i) }
    checkRC(t.rt.allreduce(Runtime.inPlace, recv, count: count, datatype: type, op: op, comm: c), "\(name) allreduce in place")
    for i in 0..<count where recv[i] != full[i] { fail("\(name) allreduce IN_PLACE [\(i)]: \(recv[i]), expected \(full[i])") }
    guard prefix else { return }
    checkRC(t.rt.scan(send, recv, count: count, datatype: type, op: op, comm: c), "\(name) scan")
    for i in 0..<count where recv[i] != expectedUpTo(me, i) { fail("\(name) scan [\(i)]: \(recv[i]), expected \(expectedUpTo(me, i))") }
    for i in 0..<count { recv[i] = value(me, i) }
    checkRC(t.rt.scan(Runtime.inPlace, recv, count: count, datatype: type, op: op, comm: c), "\(name) scan in place")
    for i in 0..<count where recv[i] != expectedUpTo(me, i) { fail("\(name) scan IN_PLACE [\(i)]: \(recv[i])") }
    checkRC(t.rt.exscan(send, recv, count: count, datatype: type, op: op, comm: c), "\(name) exscan")
    if me > 0 { for i in 0..<count where recv[i] != expectedUpTo(me - 1, i) { fail("\(name) exscan [\(i)]: \(recv[i]), expected \(expectedUpTo(me - 1, i))") } }
    // reduce_scatter_block: n blocks of `count`; block j of rank r holds value(r, j*count + i)
    let bigSend = alloc(count * Int(n), value(me, 0))
    for k in 0..<(count * Int(n)) { bigSend[k] = value(me, k) }
    checkRC(t.rt.reduceScatterBlock(bigSend, recv, recvCount: count, datatype: type, op: op, comm: c), "\(name) reduce_scatter_block")
    for i in 0..<count {
        let k = Int(me) * count + i
        let e = expectedUpTo(n - 1, k)
        if recv[i] != e { fail("\(name) reduce_scatter_block [\(i)]: \(recv[i]), expected \(e)") }
    }
    // reduce_scatter with counts j+1
    let counts = (0..<Int(n)).map { $0 + 1 }
    let total = counts.reduce(0, +)
    let rsSend = alloc(total, value(me, 0)), rsRecv = alloc(Int(n), value(me, 0))
    for k in 0..<total { rsSend[k] = value(me, k) }
    checkRC(t.rt.reduceScatter(rsSend, rsRecv, recvCounts: counts, datatype: type, op: op, comm: c), "\(name) reduce_scatter")
    let before = counts.prefix(Int(me)).reduce(0, +)
    for i in 0..<counts[Int(me)] where rsRecv[i] != expectedUpTo(n - 1, before + i) {
        fail("\(name) reduce_scatter [\(i)]: \(rsRecv[i]), expected \(expectedUpTo(n - 1, before + i))")
    }
    send.deallocate(); recv.deallocate(); bigSend.deallocate(); rsSend.deallocate(); rsRecv.deallocate()
}

struct Mat: BitwiseCopyable, Equatable { var a, b, c, d: Int64 }
@inline(__always) func matMul(_ x: Mat, _ y: Mat) -> Mat {
    Mat(a: x.a &* y.a &+ x.b &* y.c, b: x.a &* y.b &+ x.b &* y.d, c: x.c &* y.a &+ x.d &* y.c, d: x.c &* y.b &+ x.d &* y.d)
}
struct IntPair: BitwiseCopyable, Equatable { var v: Int32; var i: Int32 }
struct DoubleIntPair: BitwiseCopyable, Equatable { var v: Double; var i: Int32; var pad: Int32 = 0
    static func == (a: DoubleIntPair, b: DoubleIntPair) -> Bool { a.v == b.v && a.i == b.i } }

func runCollectives(_ t: T) throws {
    let me = t.me, n = t.n, w = t.w
    t.barrier()
    // bcast from every root, small ints; 1 MiB bytes from the last root; a vector type from root 0.
    let b5 = alloc(5, Int32(0))
    for root in 0..<n {
        for i in 0..<5 { b5[i] = me == root ? root * 10 + Int32(i) : -1 }
        checkRC(t.rt.bcast(b5, count: 5, datatype: tInt, root: root, comm: w), "bcast root \(root)")
        for i in 0..<5 where b5[i] != root * 10 + Int32(i) { fail("bcast root \(root) [\(i)]: \(b5[i])") }
    }
    let mb = 1 << 20
    let bb = UnsafeMutableRawPointer.allocate(byteCount: mb, alignment: 64)
    if me == n - 1 { fillPattern(bb, bytes: mb, rank: 99) } else { memset(bb, 0, mb) }
    checkRC(t.rt.bcast(bb, count: mb, datatype: tByte, root: n - 1, comm: w), "bcast 1 MiB")
    if let k = firstPatternMismatch(bb, bytes: mb, rank: 99) { fail("bcast 1 MiB byte \(k)") }
    bb.deallocate()
    let vec = try Datatype.vector(4, blockLength: 1, stride: 2, tInt); vec.commit()
    let vb = alloc(8, Int32(-1))
    if me == 0 { for i in 0..<8 { vb[i] = Int32(i) } }
    checkRC(t.rt.bcast(vb, count: 1, datatype: vec, root: 0, comm: w), "bcast vector")
    for i in 0..<8 { check(vb[i] == (i % 2 == 0 || me == 0 ? Int32(i) : -1), "bcast vector [\(i)]: \(vb[i])") }

    // Reductions: predefined ops on int, double, int64.
    let roots: [Int32] = n > 1 ? [0, n - 1] : [0]
    let ops: [(String, PredefinedOp)] = [("sum", .sum), ("max", .max), ("min", .min), ("prod", .prod)]
    for (oname, op) in ops {
        let ci: (Int32, Int32) -> Int32 = { a, b in op == .sum ? a &+ b : op == .max ? max(a, b) : op == .min ? min(a, b) : a &* b }
        let cd: (Double, Double) -> Double = { a, b in op == .sum ? a + b : op == .max ? max(a, b) : op == .min ? min(a, b) : a * b }
        let cl: (Int64, Int64) -> Int64 = { a, b in op == .sum ? a &+ b : op == .max ? max(a, b) : op == .min ? min(a, b) : a &* b }
        let prefix = op == .sum || op == .max
        reduceCheck(t, "\(oname)/int", tInt, .predefined(op), count: 7, value: { r, i in Int32(redX(r, i)) - 2 }, combine: ci, roots: roots, prefix: prefix)
        reduceCheck(t, "\(oname)/double", tDouble, .predefined(op), count: 7, value: { r, i in Double(redX(r, i)) - 2.5 }, combine: cd, roots: roots, prefix: prefix)
        reduceCheck(t, "\(oname)/int64", tInt64, .predefined(op), count: 7,
                    value: { r, i in op == .prod ? Int64(redX(r, i)) : Int64(redX(r, i)) << 36 - Int64(r) }, combine: cl, roots: roots, prefix: prefix)
    }
    // Large counts take the segmented algorithms.
    reduceCheck(t, "sum/int large", tInt, .predefined(.sum), count: 100_000, value: { r, i in Int32(redX(r, i)) * Int32(i % 1000) },
                combine: { $0 &+ $1 }, roots: roots, prefix: false)
    reduceCheck(t, "max/double large", tDouble, .predefined(.max), count: 70_001, value: { r, i in Double(redX(r, i)) + Double(i) },
                combine: { max($0, $1) }, roots: [0], prefix: false)
    // minloc / maxloc on pair types: ties go to the lower index.
    let twoInt = Datatype.predefined(.twoInt), doubleInt = Datatype.predefined(.doubleInt)
    let minloc: (IntPair, IntPair) -> IntPair = { a, b in a.v < b.v || (a.v == b.v && a.i < b.i) ? a : b }
    reduceCheck(t, "minloc/2int", twoInt, .predefined(.minloc), count: 5, value: { r, i in IntPair(v: Int32((Int(r) * 7 + i * 3) % 5), i: r) },
                combine: minloc, roots: roots, prefix: true)
    let maxlocD: (DoubleIntPair, DoubleIntPair) -> DoubleIntPair = { a, b in a.v > b.v || (a.v == b.v && a.i < b.i) ? a : b }
    let minlocD: (DoubleIntPair, DoubleIntPair) -> DoubleIntPair = { a, b in a.v < b.v || (a.v == b.v && a.i < b.i) ? a : b }
    check(MemoryLayout<DoubleIntPair>.stride == doubleInt.extent, "double_int extent \(doubleInt.extent)")
    reduceCheck(t, "minloc/double_int", doubleInt, .predefined(.minloc), count: 5,
                value: { r, i in DoubleIntPair(v: Double((Int(r) * 7 + i * 3) % 5) / 2, i: r + 10) }, combine: minlocD, roots: roots, prefix: false)
    reduceCheck(t, "maxloc/double_int", doubleInt, .predefined(.maxloc), count: 5,
                value: { r, i in DoubleIntPair(v: Double((Int(r) * 7 + i * 3) % 5) / 2, i: r + 10) }, combine: maxlocD, roots: roots, prefix: false)

    // Non-commutative user op: 2x2 matrix product, inout = in x inout (rank order preserved).
    let matType = try Datatype.contiguous(4, tInt64); matType.commit()
    let matOp = UserOperation(commutative: false) { inp, io, count, _ in
        let a = inp.assumingMemoryBound(to: Mat.self), b = io.assumingMemoryBound(to: Mat.self)
        for k in 0..<count { b[k] = matMul(a[k], b[k]) }
    }
    let matValue: (Int32, Int) -> Mat = { r, i in Mat(a: Int64(r) + 1 + Int64(i), b: 1, c: Int64(i % 3) + 1, d: Int64(r) * 2) }
    check(matMul(matValue(0, 0), matValue(1, 0)) != matMul(matValue(1, 0), matValue(0, 0)), "test matrices commute")
    reduceCheck(t, "user non-commutative", matType, .user(matOp), count: 3, value: matValue, combine: matMul, roots: Array(0..<n), prefix: true)
    reduceCheck(t, "user non-commutative large", matType, .user(matOp), count: 20_000, value: matValue, combine: matMul, roots: [0], prefix: false)
    let sumOp = UserOperation(commutative: true) { inp, io, count, _ in
        let a = inp.assumingMemoryBound(to: Int32.self), b = io.assumingMemoryBound(to: Int32.self)
        for k in 0..<count { b[k] = a[k] &+ b[k] }
    }
    reduceCheck(t, "user commutative", tInt, .user(sumOp), count: 9, value: { r, i in Int32(redX(r, i)) }, combine: { $0 &+ $1 }, roots: roots, prefix: true)
    // reduce_local: target = input op target
    let li = alloc(3, matValue(1, 0)), lt = alloc(3, matValue(2, 0))
    for i in 0..<3 { li[i] = matValue(1, i); lt[i] = matValue(2, i) }
    checkRC(t.rt.reduceLocal(li, lt, count: 3, datatype: matType, op: .user(matOp)), "reduce_local")
    for i in 0..<3 { check(lt[i] == matMul(matValue(1, i), matValue(2, i)), "reduce_local [\(i)]") }

    // gather / gatherv / scatter / scatterv / allgather(v) / alltoall(v, w)
    let N = Int(n)
    let g3 = alloc(3, Int32(0)), gAll = alloc(3 * N, Int32(-1))
    for i in 0..<3 { g3[i] = me * 100 + Int32(i) }
    for root in 0..<n {
        for k in 0..<(3 * N) { gAll[k] = me == root && k / 3 == Int(me) ? me * 100 + Int32(k % 3) : -1 }
        checkRC(t.rt.gather(g3, sendCount: 3, sendType: tInt, gAll, recvCount: 3, recvType: tInt, root: root, comm: w), "gather root \(root)")
        if me == root { for k in 0..<(3 * N) where gAll[k] != Int32(k / 3) * 100 + Int32(k % 3) { fail("gather root \(root) [\(k)]: \(gAll[k])") } }
        for k in 0..<(3 * N) { gAll[k] = me == root && k / 3 == Int(me) ? me * 100 + Int32(k % 3) : -1 }
        checkRC(t.rt.gather(me == root ? UnsafeRawPointer(Runtime.inPlace) : UnsafeRawPointer(g3), sendCount: 3, sendType: tInt,
                            gAll, recvCount: 3, recvType: tInt, root: root, comm: w), "gather in place root \(root)")
        if me == root { for k in 0..<(3 * N) where gAll[k] != Int32(k / 3) * 100 + Int32(k % 3) { fail("gather IN_PLACE root \(root) [\(k)]: \(gAll[k])") } }
        // scatter: root's block j = j*1000 + root + i
        for k in 0..<(3 * N) { gAll[k] = me == root ? Int32(k / 3) * 1000 + root + Int32(k % 3) : -1 }
        for i in 0..<3 { g3[i] = -5 }
        checkRC(t.rt.scatter(gAll, sendCount: 3, sendType: tInt, g3, recvCount: 3, recvType: tInt, root: root, comm: w), "scatter root \(root)")
        for i in 0..<3 where g3[i] != me * 1000 + root + Int32(i) { fail("scatter root \(root) [\(i)]: \(g3[i])") }
        checkRC(t.rt.scatter(gAll, sendCount: 3, sendType: tInt, me == root ? Runtime.inPlace : UnsafeMutableRawPointer(g3), recvCount: 3, recvType: tInt, root: root, comm: w),
                "scatter in place root \(root)")
        for i in 0..<3 where g3[i] != me * 1000 + root + Int32(i) { fail("scatter IN_PLACE root \(root) [\(i)]: \(g3[i])") }
        if me == root { for k in 0..<(3 * N) where gAll[k] != Int32(k / 3) * 1000 + root + Int32(k % 3) { fail("scatter IN_PLACE changed root's data") } }
        for i in 0..<3 { g3[i] = me * 100 + Int32(i) }
    }
    // gatherv / scatterv: rank r contributes r+1 ints at displacement r*(n+2) (gaps stay -1)
    let vStride = N + 2
    let vCounts = (0..<N).map { $0 + 1 }, vDispl = (0..<N).map { $0 * vStride }
    let vMine = alloc(N, Int32(0))
    for i in 0..<(Int(me) + 1) { vMine[i] = me * 50 + Int32(i) }
    let vAll = alloc(N * vStride, Int32(-1))
    let root: Int32 = n - 1
    checkRC(t.rt.gatherv(vMine, sendCount: Int(me) + 1, sendType: tInt, vAll, recvCounts: vCounts, displacements: vDispl,
                         recvType: tInt, root: root, comm: w), "gatherv")
    if me == root {
        for k in 0..<(N * vStride) {
            let r = k / vStride, i = k % vStride
            let want: Int32 = i <= r ? Int32(r) * 50 + Int32(i) : -1
            if vAll[k] != want { fail("gatherv [\(k)]: \(vAll[k]), expected \(want)") }
        }
    }
    for i in 0..<N { vMine[i] = -9 }
    checkRC(t.rt.scatterv(vAll, sendCounts: vCounts, displacements: vDispl, sendType: tInt, vMine, recvCount: Int(me) + 1,
                          recvType: tInt, root: root, comm: w), "scatterv")
    for i in 0..<N {
        let want: Int32 = i <= Int(me) ? me * 50 + Int32(i) : -9
        if vMine[i] != want { fail("scatterv [\(i)]: \(vMine[i]), expected \(want)") }
    }
    // allgather (+ in place), allgatherv
    for k in 0..<(3 * N) { gAll[k] = -1 }
    checkRC(t.rt.allgather(g3, sendCount: 3, sendType: tInt, gAll, recvCount: 3, recvType: tInt, comm: w), "allgather")
    for k in 0..<(3 * N) where gAll[k] != Int32(k / 3) * 100 + Int32(k % 3) { fail("allgather [\(k)]: \(gAll[k])") }
    for k in 0..<(3 * N) { gAll[k] = k / 3 == Int(me) ? me * 100 + Int32(k % 3) : -1 }
    checkRC(t.rt.allgather(Runtime.inPlace, sendCount: 0, sendType: tInt, gAll, recvCount: 3, recvType: tInt, comm: w), "allgather in place")
    for k in 0..<(3 * N) where gAll[k] != Int32(k / 3) * 100 + Int32(k % 3) { fail("allgather IN_PLACE [\(k)]: \(gAll[k])") }
    for k in 0..<(N * vStride) { vAll[k] = -1 }
    for i in 0..<(Int(me) + 1) { vMine[i] = me * 50 + Int32(i) }
    checkRC(t.rt.allgatherv(vMine, sendCount: Int(me) + 1, sendType: tInt, vAll, recvCounts: vCounts, displacements: vDispl,
                            recvType: tInt, comm: w), "allgatherv")
    for k in 0..<(N * vStride) {
        let r = k / vStride, i = k % vStride
        let want: Int32 = i <= r ? Int32(r) * 50 + Int32(i) : -1
        if vAll[k] != want { fail("allgatherv [\(k)]: \(vAll[k]), expected \(want)") }
    }
    // alltoall: block j of rank r = r*1000 + j*10 + i
    let aS = alloc(2 * N, Int32(0)), aR = alloc(2 * N, Int32(-1))
    for k in 0..<(2 * N) { aS[k] = me * 1000 + Int32(k / 2) * 10 + Int32(k % 2) }
    checkRC(t.rt.alltoall(aS, sendCount: 2, sendType: tInt, aR, recvCount: 2, recvType: tInt, comm: w), "alltoall")
    for k in 0..<(2 * N) where aR[k] != Int32(k / 2) * 1000 + me * 10 + Int32(k % 2) { fail("alltoall [\(k)]: \(aR[k])") }
    for k in 0..<(2 * N) { aR[k] = aS[k] }
    checkRC(t.rt.alltoall(Runtime.inPlace, sendCount: 0, sendType: tInt, aR, recvCount: 2, recvType: tInt, comm: w), "alltoall in place")
    for k in 0..<(2 * N) where aR[k] != Int32(k / 2) * 1000 + me * 10 + Int32(k % 2) { fail("alltoall IN_PLACE [\(k)]: \(aR[k])") }
    // alltoallv: rank r sends (r + j) % 3 + 1 ints to j, value r*1000 + j*10 + i
    let cnt: (Int, Int) -> Int = { r, j in (r + j) % 3 + 1 }
    let sC = (0..<N).map { cnt(Int(me), $0) }, rC = (0..<N).map { cnt($0, Int(me)) }
    let sD = (0..<N).map { $0 * 4 }, rD = (0..<N).map { $0 * 5 }
    let vS = alloc(4 * N, Int32(0)), vR = alloc(5 * N, Int32(-1))
    for j in 0..<N { for i in 0..<sC[j] { vS[sD[j] + i] = me * 1000 + Int32(j) * 10 + Int32(i) } }
    checkRC(t.rt.alltoallv(vS, sendCounts: sC, sendDisplacements: sD, sendType: tInt, vR, recvCounts: rC, recvDisplacements: rD,
                           recvType: tInt, comm: w), "alltoallv")
    for j in 0..<N { for i in 0..<5 {
        let want: Int32 = i < rC[j] ? Int32(j) * 1000 + me * 10 + Int32(i) : -1
        if vR[rD[j] + i] != want { fail("alltoallv from \(j) [\(i)]: \(vR[rD[j] + i]), expected \(want)") }
    } }
    // alltoallw: same exchange with byte displacements, receiving into a vector type of stride 2
    let stride2 = try Datatype.vector(3, blockLength: 1, stride: 2, tInt); stride2.commit()
    let wR = alloc(6 * N, Int32(-1))
    // receive from j: one stride2 element (3 ints) if rC[j] == 3, otherwise rC[j] ints
    let rTypes: [Datatype?] = rC.map { $0 == 3 ? stride2 : tInt }
    let rCounts = rC.map { $0 == 3 ? 1 : $0 }
    checkRC(t.rt.alltoallw(vS, sendCounts: sC, sendByteDisplacements: sD.map { $0 * 4 }, sendTypes: Array(repeating: tInt, count: N),
                           wR, recvCounts: rCounts, recvByteDisplacements: (0..<N).map { $0 * 24 }, recvTypes: rTypes, comm: w), "alltoallw")
    for j in 0..<N { for i in 0..<6 {
        let v = wR[j * 6 + i]
        let want: Int32
        if rC[j] == 3 { want = i % 2 == 0 ? Int32(j) * 1000 + me * 10 + Int32(i / 2) : -1 }
        else { want = i < rC[j] ? Int32(j) * 1000 + me * 10 + Int32(i) : -1 }
        if v != want { fail("alltoallw from \(j) [\(i)]: \(v), expected \(want)") }
    } }
    t.barrier()
}
