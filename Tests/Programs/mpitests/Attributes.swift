// attributes: keyvals with copy/delete callbacks; dup calls copy (and keeps or drops the
// attribute as the callback says), free and delete_attr and replacement call delete;
// predefined attributes on MPI_COMM_WORLD.
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) var copies = 0
nonisolated(unsafe) var deletes: [Int] = []

func runAttributes(_ t: T) throws {
    let w = t.w
    let (rc0, f0, tagUB) = t.rt.getAttribute(w, PredefinedKeyval.tagUB)
    checkRC(rc0, "get TAG_UB")
    check(f0 && tagUB!.load(as: Int32.self) == MPIConstant.tagUpperBound, "TAG_UB")
    let keep = t.rt.createKeyval(copy: { _, _, v in
        copies += 1
        let nv = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        nv.pointee = v!.load(as: Int.self) + 1
        return (0, true, UnsafeMutableRawPointer(nv))
    }, delete: { _, _, v in deletes.append(v!.load(as: Int.self)); return 0 })
    let drop = t.rt.createKeyval(copy: { _, _, _ in copies += 100; return (0, false, nil) }, delete: { _, _, _ in deletes.append(-1); return 0 })
    let plain = t.rt.createKeyval(copy: nil, delete: nil)
    let c = try t.rt.commDup(w)
    let v1 = UnsafeMutablePointer<Int>.allocate(capacity: 1); v1.pointee = 10
    let v2 = UnsafeMutablePointer<Int>.allocate(capacity: 1); v2.pointee = 20
    checkRC(t.rt.setAttribute(c, keep, v1), "set keep")
    checkRC(t.rt.setAttribute(c, drop, v2), "set drop")
    checkRC(t.rt.setAttribute(c, plain, v2), "set plain")
    var (rc, found, v) = t.rt.getAttribute(c, keep)
    check(rc == 0 && found && v!.load(as: Int.self) == 10, "get keep")
    // dup: copy callbacks run once each
    let c2 = try t.rt.commDup(c)
    check(copies == 101, "copy callbacks counted \(copies), expected 101")
    (rc, found, v) = t.rt.getAttribute(c2, keep)
    check(found && v!.load(as: Int.self) == 11, "copied attribute \(found) \(String(describing: v?.load(as: Int.self)))")
    (rc, found, _) = t.rt.getAttribute(c2, drop)
    check(!found, "attribute kept although the copy callback said no")
    (rc, found, _) = t.rt.getAttribute(c2, plain)
    check(!found, "attribute without copy callback was copied")
    // replace: delete called on the old value
    let v3 = UnsafeMutablePointer<Int>.allocate(capacity: 1); v3.pointee = 30
    checkRC(t.rt.setAttribute(c, keep, v3), "replace keep")
    check(deletes == [10], "delete on replace: \(deletes)")
    // delete_attr
    checkRC(t.rt.deleteAttribute(c, drop), "delete_attr")
    check(deletes == [10, -1], "delete_attr callback: \(deletes)")
    (rc, found, _) = t.rt.getAttribute(c, drop)
    check(!found, "attribute present after delete_attr")
    check(t.rt.deleteAttribute(c, drop) != 0, "second delete_attr succeeded")
    // free: delete called for the remaining attributes
    try t.rt.commFree(c2)
    check(deletes == [10, -1, 11], "delete on free of the dup: \(deletes)")
    try t.rt.commFree(c)
    check(deletes.sorted() == [-1, 10, 11, 30], "delete on free: \(deletes)")
    // freed keyval: existing uses still work, new sets fail
    let c3 = try t.rt.commDup(w)
    checkRC(t.rt.setAttribute(c3, keep, v1), "set before free_keyval")
    checkRC(t.rt.freeKeyval(keep), "free_keyval")
    check(t.rt.setAttribute(c3, keep, v1) != 0, "set_attr with a freed keyval succeeded")
    try t.rt.commFree(c3)
    check(deletes.last == 10, "delete after free_keyval: \(deletes)")
    check(t.rt.freeKeyval(PredefinedKeyval.tagUB) != 0, "freeing a predefined keyval succeeded")
    checkRC(t.rt.freeKeyval(drop), "free drop")
    checkRC(t.rt.freeKeyval(plain), "free plain")
    // MPI_COMM_SELF's attributes are deleted at the start of MPI_Finalize.
    let selfKey = t.rt.createKeyval(copy: nil, delete: { c, _, v in
        selfDeleted += 1
        if v?.load(as: Int.self) != 4711 { selfDeleted += 100 }
        _ = c
        return 0
    })
    let sv = UnsafeMutablePointer<Int>.allocate(capacity: 1); sv.pointee = 4711
    checkRC(t.rt.setAttribute(t.rt.selfComm, selfKey, sv), "set on MPI_COMM_SELF")
    afterFinalize.append { check(selfDeleted == 1, "MPI_COMM_SELF attribute delete callback: count \(selfDeleted), expected 1") }
}

nonisolated(unsafe) var selfDeleted = 0
