// errors: with MPI_ERRORS_RETURN every bad argument gives its error class and nothing hangs:
// rank, tag, count, root, type (uncommitted / null), comm (freed / null), op (band on double).
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func expectClass(_ rc: Int32, _ want: ErrorClass, _ what: String) {
    let got = Runtime.shared!.errorClass(of: rc) ?? rc
    check(got == want.rawValue, "\(what): error \(rc) (class \(got)), expected \(want) (\(want.rawValue))")
}

func runErrors(_ t: T) throws {
    let me = t.me, n = t.n, w = t.w
    w.errorHandler = .returnCodes
    let buf = alloc(16, Int32(0))
    var r = RequestID(index: -1, generation: 0)
    expectClass(t.rt.isend(buf, count: 1, datatype: tInt, dest: n, tag: 0, comm: w, request: &r), .rank, "isend to rank n")
    expectClass(t.rt.isend(buf, count: 1, datatype: tInt, dest: -7, tag: 0, comm: w, request: &r), .rank, "isend to rank -7")
    expectClass(t.rt.isend(buf, count: 1, datatype: tInt, dest: MPIConstant.anySource, tag: 0, comm: w, request: &r), .rank, "isend to ANY_SOURCE")
    expectClass(t.rt.irecv(buf, count: 1, datatype: tInt, source: n + 3, tag: 0, comm: w, request: &r), .rank, "irecv from rank n+3")
    expectClass(t.rt.isend(buf, count: 1, datatype: tInt, dest: 0, tag: -5, comm: w, request: &r), .tag, "isend tag -5")
    expectClass(t.rt.isend(buf, count: 1, datatype: tInt, dest: 0, tag: MPIConstant.anyTag, comm: w, request: &r), .tag, "isend tag ANY_TAG")
    expectClass(t.rt.irecv(buf, count: 1, datatype: tInt, source: 0, tag: -5, comm: w, request: &r), .tag, "irecv tag -5")
    expectClass(t.rt.isend(buf, count: -1, datatype: tInt, dest: 0, tag: 0, comm: w, request: &r), .count, "isend count -1")
    expectClass(t.rt.irecv(buf, count: -1, datatype: tInt, source: 0, tag: 0, comm: w, request: &r), .count, "irecv count -1")
    expectClass(t.rt.bcast(buf, count: 1, datatype: tInt, root: n, comm: w), .root, "bcast root n")
    expectClass(t.rt.reduce(buf, buf + 4, count: 1, datatype: tInt, op: .predefined(.sum), root: -2, comm: w), .root, "reduce root -2")
    expectClass(t.rt.gather(buf, sendCount: 1, sendType: tInt, buf + 4, recvCount: 1, recvType: tInt, root: n + 1, comm: w), .root, "gather root n+1")
    expectClass(t.rt.bcast(buf, count: -2, datatype: tInt, root: 0, comm: w), .count, "bcast count -2")
    let unc = try Datatype.vector(2, blockLength: 1, stride: 2, tInt)
    expectClass(t.rt.isend(buf, count: 1, datatype: unc, dest: 0, tag: 0, comm: w, request: &r), .type, "isend uncommitted type")
    expectClass(t.rt.isend(buf, count: 1, datatype: nil, dest: 0, tag: 0, comm: w, request: &r), .type, "isend nil type")
    expectClass(t.rt.irecv(buf, count: 1, datatype: nil, source: 0, tag: 0, comm: w, request: &r), .type, "irecv nil type")
    expectClass(t.rt.bcast(buf, count: 1, datatype: unc, root: 0, comm: w), .type, "bcast uncommitted type")
    expectClass(t.rt.allreduce(buf, buf + 4, count: 1, datatype: nil, op: .predefined(.sum), comm: w), .type, "allreduce nil type")
    expectClass(t.rt.allreduce(tDouble === tDouble ? UnsafeRawPointer(buf) : nil, buf + 4, count: 1, datatype: tDouble,
                               op: .predefined(.band), comm: w), .op, "allreduce band on double")
    expectClass(t.rt.reduce(buf, buf + 4, count: 1, datatype: tDouble, op: .predefined(.bxor), root: 0, comm: w), .op, "reduce bxor on double")
    expectClass(t.rt.reduce(buf, buf + 4, count: 1, datatype: tInt, op: nil, root: 0, comm: w), .op, "reduce nil op")
    expectClass(t.rt.reduceLocal(buf, buf + 4, count: 1, datatype: tDouble, op: .predefined(.lor)), .op, "reduce_local lor on double")
    expectClass(t.rt.iprobe(source: n, tag: 0, comm: w).0, .rank, "iprobe rank n")
    // freed and null communicators
    let d = try t.rt.commDup(w)
    try t.rt.commFree(d)
    expectClass(t.rt.isend(buf, count: 1, datatype: tInt, dest: 0, tag: 0, comm: d, request: &r), .comm, "isend on freed comm")
    expectClass(t.rt.irecv(buf, count: 1, datatype: tInt, source: 0, tag: 0, comm: d, request: &r), .comm, "irecv on freed comm")
    expectClass(t.rt.isend(buf, count: 1, datatype: tInt, dest: 0, tag: 0, comm: nil, request: &r), .comm, "isend on null comm")
    expectClass(t.rt.allreduce(buf, buf + 4, count: 1, datatype: tInt, op: .predefined(.sum), comm: d), .comm, "allreduce on freed comm")
    do { try t.rt.barrier(d); fail("barrier on a freed comm succeeded") } catch { expectClass(error.code, .comm, "barrier on freed comm") }
    do { _ = try t.rt.commDup(d); fail("dup of a freed comm succeeded") } catch { expectClass(error.code, .comm, "dup of freed comm") }
    do { try t.rt.commFree(w); fail("freeing MPI_COMM_WORLD succeeded") } catch { expectClass(error.code, .comm, "free of world") }
    // error handlers: return codes pass through; a user handler sees the code
    check(t.rt.handleError(ErrorClass.tag.rawValue, comm: w, function: "test") == ErrorClass.tag.rawValue, "handleError with returnCodes")
    nonisolated(unsafe) var seen: Int32 = 0
    let d2 = try t.rt.commDup(w)
    check({ if case .returnCodes = d2.errorHandler { return true }; return false }(), "dup did not inherit MPI_ERRORS_RETURN")
    d2.errorHandler = .user { _, code in seen = code }
    check(t.rt.handleError(ErrorClass.rank.rawValue, comm: d2, function: "test") == ErrorClass.rank.rawValue && seen == ErrorClass.rank.rawValue,
          "user error handler saw \(seen)")
    try t.rt.commFree(d2)
    check(t.rt.errorString(of: ErrorClass.truncate.rawValue) != nil, "no error string for truncate")
    // user error classes and codes
    let cls = t.rt.addErrorClass()
    check(cls > ErrorClass.lastPredefined, "add_error_class gave \(cls)")
    if let code = t.rt.addErrorCode(errorClass: cls) {
        check(t.rt.errorClass(of: code) == cls, "class of the new code")
        checkRC(t.rt.addErrorString(code: code, "my error"), "add_error_string")
        check(t.rt.errorString(of: code) == "my error", "error string \(String(describing: t.rt.errorString(of: code)))")
    } else { fail("add_error_code returned nil") }
    // everything still works afterwards (nothing hung, no stray messages)
    let s = alloc(1, me + 1), sum = alloc(1, Int32(0))
    checkRC(t.rt.allreduce(s, sum, count: 1, datatype: tInt, op: .predefined(.sum), comm: w), "allreduce after errors")
    check(sum.pointee == n * (n + 1) / 2, "allreduce after errors: \(sum.pointee)")
    let (_, found, _) = t.rt.iprobe(source: MPIConstant.anySource, tag: MPIConstant.anyTag, comm: w)
    check(!found, "a stray message is pending after the failed calls")
    // initializing twice fails (before and after finalize)
    do { _ = try Runtime.initialize(); fail("second MPI_Init succeeded") } catch { check(error.code != 0, "second init") }
    afterFinalize.append {
        do { _ = try Runtime.initialize(); fail("MPI_Init after MPI_Finalize succeeded") } catch { }
        check(Runtime.shared == nil && Runtime.wasFinalized, "runtime state after finalize")
    }
}
