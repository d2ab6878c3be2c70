// Reduction operations of the C API (MPI-3.1 §5.9): the predefined op handles, user ops
// (MPI_Op_create wraps the C function into the runtime's `UserOperation`), MPI_Op_free,
// MPI_Op_commutative and MPI_Reduce_local. `decodeOp` is shared with the collectives and
// with any other caller that takes an MPI_Op (accumulate, for instance).
import FerryCore
import FerryDatatype
import FerryRuntime

/// `void (void *invec, void *inoutvec, int *len, MPI_Datatype *datatype)`: MPI_User_function.
public typealias CUserFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                                          UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Void

extension Handle {
    /// MPI_MAX ... MPI_NO_OP are `0x58000001` ... `0x5800000e`, in `PredefinedOp` order.
    static let predefinedOpBase: Int32 = 0x5800_0000
}

/// The predefined op named by `h`, if it is one.
@inline(__always)
func predefinedOp(_ h: Int32) -> PredefinedOp? {
    guard h & ~0xff == Handle.predefinedOpBase, h & 0xff >= 1 else { return nil }
    return PredefinedOp(rawValue: UInt8(h & 0xff) - 1)
}

/// The operation of an op handle (predefined or user), or nil for MPI_OP_NULL and anything
/// that is not a live op handle.
@inline(__always)
func decodeOp(_ h: Int32) -> Operation? {
    if let p = predefinedOp(h) { return .predefined(p) }
    return ABI.ops.lookup(h)?.operation
}

/// Wraps a C user function: the runtime calls it with (in, inout, count, datatype); C wants
/// `int *len` and `MPI_Datatype *`, so counts above INT_MAX are passed in pieces.
private func wrap(_ f: CUserFunction, commutative: Bool) -> UserOperation {
    UserOperation(commutative: commutative) { input, inout_, count, type in
        var handle = encodeType(type)
        var done = 0
        while done < count {
            let n = min(count - done, Int(Int32.max))
            var len = Int32(n)
            let offset = done * type.extent
            f(UnsafeMutableRawPointer(mutating: input + offset), inout_ + offset, &len, &handle)
            done += n
        }
    }
}

@_cdecl("PMPI_Op_create")
public func PMPI_Op_create(_ function: CUserFunction?, _ commute: Int32, _ op: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Op_create") else { return notInitialized }
    guard let function, let op else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Op_create") }
    let commutative = commute != 0
    let object = OpObject(.user(wrap(function, commutative: commutative)), commutative: commutative)
    guard let h = ABI.ops.insert(object) else {
        complain("ferry: MPI_Op_create: too many user-defined ops (\(ABI.ops.capacity)); free unused ones")
        return fail(ErrorClass.noMem.rawValue, rt, nil, "MPI_Op_create")
    }
    op.pointee = h
    return 0
}

@_cdecl("PMPI_Op_free")
public func PMPI_Op_free(_ op: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Op_free") else { return notInitialized }
    guard let op else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Op_free") }
    // Predefined ops cannot be freed (MPI-3.1 §5.9.5); neither can MPI_OP_NULL.
    guard ABI.ops.lookup(op.pointee) != nil else { return fail(ErrorClass.op.rawValue, rt, nil, "MPI_Op_free") }
    // Reductions already started keep the operation alive (they hold the Swift object).
    ABI.ops.remove(op.pointee)
    op.pointee = Handle.opNull
    return 0
}

@_cdecl("PMPI_Op_commutative")
public func PMPI_Op_commutative(_ op: Int32, _ commute: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Op_commutative") else { return notInitialized }
    guard let commute else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Op_commutative") }
    if let p = predefinedOp(op) {
        // MPI_REPLACE (a op b = b) and MPI_NO_OP (a op b = a) do not commute; MPICH agrees.
        commute.pointee = p == .replace || p == .noOp ? 0 : 1
        return 0
    }
    guard let o = ABI.ops.lookup(op) else { return fail(ErrorClass.op.rawValue, rt, nil, "MPI_Op_commutative") }
    commute.pointee = o.isCommutative ? 1 : 0
    return 0
}

@_cdecl("PMPI_Reduce_local")
public func PMPI_Reduce_local(_ inbuf: UnsafeRawPointer?, _ inoutbuf: UnsafeMutableRawPointer?, _ count: Int32,
                              _ datatype: Int32, _ op: Int32) -> Int32 {
    guard let rt = runtime("MPI_Reduce_local") else { return notInitialized }
    let rc = rt.reduceLocal(inbuf, inoutbuf, count: Int(count), datatype: decodeType(datatype), op: decodeOp(op))
    return fail(rc, rt, nil, "MPI_Reduce_local")
}
