// Reduction operations: the predefined ones and user-defined ones written as Swift closures.
import FerryCore
import FerryDatatype
import FerryRuntime

/// A reduction operation (`MPI_Op`) for `reduce`, `allReduce`, `scan`, `reduceScatter`.
public struct Operation: @unchecked Sendable {
    /// The runtime's operation.
    public let raw: FerryRuntime.Operation

    /// Wraps a runtime operation.
    public init(raw: FerryRuntime.Operation) { self.raw = raw }

    /// `MPI_SUM`.
    public static var sum: Operation { Operation(raw: .predefined(.sum)) }
    /// `MPI_PROD`.
    public static var product: Operation { Operation(raw: .predefined(.prod)) }
    /// `MPI_MAX`.
    public static var max: Operation { Operation(raw: .predefined(.max)) }
    /// `MPI_MIN`.
    public static var min: Operation { Operation(raw: .predefined(.min)) }
    /// `MPI_LAND` (integers and `Bool`).
    public static var logicalAnd: Operation { Operation(raw: .predefined(.land)) }
    /// `MPI_LOR`.
    public static var logicalOr: Operation { Operation(raw: .predefined(.lor)) }
    /// `MPI_LXOR`.
    public static var logicalXor: Operation { Operation(raw: .predefined(.lxor)) }
    /// `MPI_BAND` (integers).
    public static var bitwiseAnd: Operation { Operation(raw: .predefined(.band)) }
    /// `MPI_BOR`.
    public static var bitwiseOr: Operation { Operation(raw: .predefined(.bor)) }
    /// `MPI_BXOR`.
    public static var bitwiseXor: Operation { Operation(raw: .predefined(.bxor)) }
    /// `MPI_MINLOC` on `ValueIndex` elements: smallest value, and the smallest index among ties.
    public static var minLoc: Operation { Operation(raw: .predefined(.minloc)) }
    /// `MPI_MAXLOC` on `ValueIndex` elements: largest value, and the smallest index among ties.
    public static var maxLoc: Operation { Operation(raw: .predefined(.maxloc)) }
    /// `MPI_REPLACE`.
    public static var replace: Operation { Operation(raw: .predefined(.replace)) }
    /// `MPI_NO_OP`.
    public static var noOperation: Operation { Operation(raw: .predefined(.noOp)) }

    /// `MPI_Op_create` from an element-wise combine: `combine(a, b)` where `a` comes from a
    /// lower rank than `b`. Must be associative; say `commutative: false` if it is not
    /// commutative, and the ranks' contributions are then combined in rank order.
    public static func custom<T: MPIElement>(_ type: T.Type = T.self, commutative: Bool = true,
                                             _ combine: @escaping (T, T) -> T) -> Operation {
        Operation(raw: .user(UserOperation(commutative: commutative) { input, target, count, _ in
            // SAFETY: the runtime calls this with `count` elements of the datatype this
            // operation is used with, which is `T.mpiDatatype` for the typed collectives.
            let a = input.assumingMemoryBound(to: T.self)
            let b = target.assumingMemoryBound(to: T.self)
            for i in 0..<count { b[i] = combine(a[i], b[i]) }
        }))
    }

    /// `MPI_Op_create` from a vector function: `body(input, inout)` must set
    /// `inout[i] = input[i] ⊕ inout[i]` for every i (input from the lower ranks).
    public static func customVector<T: MPIElement>(_ type: T.Type = T.self, commutative: Bool = true,
                                                   _ body: @escaping (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) -> Void) -> Operation {
        Operation(raw: .user(UserOperation(commutative: commutative) { input, target, count, _ in
            body(UnsafeBufferPointer(start: input.assumingMemoryBound(to: T.self), count: count),
                 UnsafeMutableBufferPointer(start: target.assumingMemoryBound(to: T.self), count: count))
        }))
    }

    /// `MPI_Op_commutative`.
    public var isCommutative: Bool {
        if case .user(let u) = raw { return u.isCommutative }
        return true
    }

    /// `MPI_Reduce_local`: `inout[i] = input[i] ⊕ inout[i]`.
    public func reduceLocal<T: MPIElement>(_ input: [T], into target: inout [T]) throws(MPIError) {
        let rt = try runtime()
        guard input.count == target.count else { throw MPIError(.count, "reduceLocal: \(input.count) vs \(target.count) elements") }
        let n = input.count
        let rc = input.withUnsafeBytes { i in
            target.withUnsafeMutableBytes { o in
                rt.reduceLocal(i.baseAddress, o.baseAddress, count: n, datatype: T.mpiDatatype.raw, op: raw)
            }
        }
        try rt.check(rc, nil, "MPI_Reduce_local")
    }
}
