// comms: dup (context isolation), split (colors, keys, MPI_UNDEFINED), create, create_group,
// compare, free, collectives on the new communicators; group union / intersection /
// difference / incl / excl / range incl / translate / compare.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func sumOfWorldRanks(_ t: T, _ c: Communicator) -> Int32 {
    let s = alloc(1, t.me), r = alloc(1, Int32(0))
    checkRC(t.rt.allreduce(s, r, count: 1, datatype: tInt, op: .predefined(.sum), comm: c), "allreduce on \(c.name)")
    return r.pointee
}

func runComms(_ t: T) throws {
    let me = t.me, n = t.n, w = t.w, p = t.partner
    // dup: congruent, separate context (a message on the dup does not match a receive on world).
    let d = try t.rt.commDup(w)
    check(d.size == w.size && d.rank == me, "dup rank/size")
    check(t.rt.commCompare(w, d) == .congruent, "compare(world, dup) = \(t.rt.commCompare(w, d))")
    check(t.rt.commCompare(w, w) == .identical, "compare(world, world)")
    let a = alloc(1, Int32(0)), b = alloc(1, Int32(0)), sa = alloc(1, me + 1000), sb = alloc(1, me + 2000)
    var rw = t.irecv(a, 1, tInt, from: MPIConstant.anySource, tag: 0, comm: w)
    var rd = t.irecv(b, 1, tInt, from: MPIConstant.anySource, tag: 0, comm: d)
    t.send(sb, 1, tInt, to: p, tag: 0, comm: d)   // the dup's message first
    t.send(sa, 1, tInt, to: p, tag: 0, comm: w)
    t.wait(&rw); t.wait(&rd)
    check(a.pointee == p + 1000 && b.pointee == p + 2000, "context isolation: world got \(a.pointee), dup got \(b.pointee)")
    check(sumOfWorldRanks(t, d) == n * (n - 1) / 2, "allreduce on dup")

    // split by parity, key reversing the order
    let s = try t.rt.commSplit(w, color: me % 2, key: -me)!
    let members = (0..<n).filter { $0 % 2 == me % 2 }
    check(s.size == members.count, "split size \(s.size), expected \(members.count)")
    check(s.group.worldRanks == members.reversed(), "split order \(s.group.worldRanks), expected \(Array(members.reversed()))")
    check(s.rank == Int32(members.count - 1 - members.firstIndex(of: me)!), "split rank \(s.rank)")
    check(sumOfWorldRanks(t, s) == members.reduce(0, +), "allreduce on split: \(sumOfWorldRanks(t, s))")
    check(t.rt.commCompare(w, s) == (n == 1 ? .congruent : .unequal), "compare(world, split) = \(t.rt.commCompare(w, s))")
    // split with MPI_UNDEFINED for the last rank; same key everywhere -> order by old rank
    let u = try t.rt.commSplit(w, color: me == n - 1 ? MPIConstant.undefined : 3, key: 0)
    if me == n - 1 { check(u == nil, "MPI_UNDEFINED color gave a communicator") } else {
        check(u!.size == Int(n) - 1 && u!.rank == me, "split undefined: size \(u!.size) rank \(u!.rank)")
        check(sumOfWorldRanks(t, u!) == (n - 1) * (n - 2) / 2, "allreduce on split without the last rank")
        try t.rt.commFree(u!)
    }
    // similar: same members, different order
    let rev = try t.rt.commSplit(w, color: 0, key: n - me)!
    check(t.rt.commCompare(w, rev) == (n == 1 ? .congruent : .similar), "compare(world, reversed) = \(t.rt.commCompare(w, rev))")
    check(rev.rank == n - 1 - me, "reversed rank \(rev.rank)")
    // split_type shared: the ranks of this node, in world order (the launcher says how many
    // share it and this rank's place among them; everyone when it does not)
    let sh = try t.rt.commSplitTypeShared(w, key: 0)
    let localSize = getenv("FERRY_LOCAL_SIZE").flatMap { Int(String(cString: $0)) } ?? Int(n)
    let localRank = getenv("FERRY_LOCAL_RANK").flatMap { Int32(String(cString: $0)) } ?? me
    check(sh.size == localSize && sh.rank == localRank, "split_type shared size \(sh.size) rank \(sh.rank), expected \(localSize) \(localRank)")

    // groups
    let wg = w.group
    let evens = try wg.including((0..<n).filter { $0 % 2 == 0 })
    let odds = try wg.excluding((0..<n).filter { $0 % 2 == 0 })
    check(evens.size == Int((n + 1) / 2) && odds.size == Int(n / 2), "incl/excl sizes \(evens.size) \(odds.size)")
    check(evens.union(odds).size == Int(n) && evens.union(odds).compare(wg) == (n > 2 ? .similar : .identical),
          "union compare \(evens.union(odds).compare(wg))")
    check(evens.intersection(odds).size == 0, "intersection size")
    check(wg.difference(odds).compare(evens) == .identical, "difference != evens")
    check(evens.rank == (me % 2 == 0 ? me / 2 : MPIConstant.undefined), "evens rank \(evens.rank)")
    let tr = try evens.translate((0..<Int32(evens.size)).map { $0 }, to: wg)
    check(tr == (0..<n).filter { $0 % 2 == 0 }, "translate \(tr)")
    let tr2 = try wg.translate([0, MPIConstant.procNull], to: odds)
    check(tr2 == [MPIConstant.undefined, MPIConstant.procNull], "translate to odds \(tr2)")
    let rng = try wg.includingRanges([(0, n - 1, 2)])
    check(rng.compare(evens) == .identical, "range incl")
    let rev2 = try wg.including((0..<n).reversed())
    check(rev2.compare(wg) == (n == 1 ? .identical : .similar), "reversed group compare")

    // create (all call; evens get a communicator) and create_group (only evens call)
    let ce = try t.rt.commCreate(w, group: evens)
    if me % 2 == 0 {
        check(ce != nil && ce!.size == evens.size && ce!.rank == me / 2, "comm_create rank/size")
        check(sumOfWorldRanks(t, ce!) == (0..<n).filter { $0 % 2 == 0 }.reduce(0, +), "allreduce on created comm")
        let cg = try t.rt.commCreateGroup(w, group: evens, tag: 7)!
        check(cg.size == evens.size && cg.rank == me / 2, "comm_create_group rank/size")
        check(t.rt.commCompare(ce!, cg) == .congruent, "compare(create, create_group)")
        t.barrier(cg)
        try t.rt.commFree(cg)
        try t.rt.commFree(ce!)
    } else {
        check(ce == nil, "comm_create gave a communicator to a non-member")
    }
    // many dup/free cycles do not run out of context ids
    for _ in 0..<50 { let x = try t.rt.commDup(w); try t.rt.commFree(x) }
    try t.rt.commFree(d); try t.rt.commFree(s); try t.rt.commFree(rev); try t.rt.commFree(sh)
    t.barrier()
}
