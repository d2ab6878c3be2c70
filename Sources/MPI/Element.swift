// Swift element types and the MPI datatypes that describe them. Built-in numbers map to the
// predefined types (so reductions work on them); any other `BitwiseCopyable` type can conform
// with an empty extension and then travels as raw bytes.
import FerryCore
import FerryDatatype
import Synchronization

/// A value that can be sent, received and (for the predefined mappings) reduced.
///
/// Built-in conformances: `Int8`...`Int64`, `UInt8`...`UInt64`, `Int` (`MPI_LONG`), `UInt`,
/// `Float`, `Double`, `Float80` (`MPI_LONG_DOUBLE`, x86 only), `Bool` (`MPI_C_BOOL`) and
/// `ValueIndex` (the MINLOC/MAXLOC pairs). Your own plain structs can conform with an empty
/// extension (`extension Point: MPIElement {}`): they are sent as `MemoryLayout.stride` bytes
/// and may be reduced only with `.custom` operations.
public protocol MPIElement: BitwiseCopyable {
    /// The datatype of one value.
    static var mpiDatatype: Datatype { get }
}

extension MPIElement {
    /// Default: the value's bytes (`MemoryLayout<Self>.stride` of them).
    public static var mpiDatatype: Datatype { Datatype.bytes(MemoryLayout<Self>.stride) }
}

extension Int8: MPIElement { /// `MPI_INT8_T`.
    public static var mpiDatatype: Datatype { Datatype(.int8) } }
extension Int16: MPIElement { /// `MPI_INT16_T`.
    public static var mpiDatatype: Datatype { Datatype(.int16) } }
extension Int32: MPIElement { /// `MPI_INT32_T`.
    public static var mpiDatatype: Datatype { Datatype(.int32) } }
extension Int64: MPIElement { /// `MPI_INT64_T`.
    public static var mpiDatatype: Datatype { Datatype(.int64) } }
extension UInt8: MPIElement { /// `MPI_UINT8_T`.
    public static var mpiDatatype: Datatype { Datatype(.uint8) } }
extension UInt16: MPIElement { /// `MPI_UINT16_T`.
    public static var mpiDatatype: Datatype { Datatype(.uint16) } }
extension UInt32: MPIElement { /// `MPI_UINT32_T`.
    public static var mpiDatatype: Datatype { Datatype(.uint32) } }
extension UInt64: MPIElement { /// `MPI_UINT64_T`.
    public static var mpiDatatype: Datatype { Datatype(.uint64) } }
extension Int: MPIElement { /// `MPI_LONG` (64 bits on LP64 Linux).
    public static var mpiDatatype: Datatype { Datatype(.long) } }
extension UInt: MPIElement { /// `MPI_UNSIGNED_LONG`.
    public static var mpiDatatype: Datatype { Datatype(.unsignedLong) } }
extension Float: MPIElement { /// `MPI_FLOAT`.
    public static var mpiDatatype: Datatype { Datatype(.float) } }
extension Double: MPIElement { /// `MPI_DOUBLE`.
    public static var mpiDatatype: Datatype { Datatype(.double) } }
extension Bool: MPIElement { /// `MPI_C_BOOL`.
    public static var mpiDatatype: Datatype { Datatype(.bool) } }
#if arch(x86_64) || arch(i386)
extension Float80: MPIElement { /// `MPI_LONG_DOUBLE`.
    public static var mpiDatatype: Datatype { Datatype(.longDouble) } }
#endif

/// A value type that has a MINLOC/MAXLOC pair type with an `Int32` index.
public protocol MPIPairValue: MPIElement, Equatable {
    /// The predefined pair type of `{ Self; int }`.
    static var pairBasicType: BasicType { get }
}
extension Float: MPIPairValue { /// `MPI_FLOAT_INT`.
    public static var pairBasicType: BasicType { .floatInt } }
extension Double: MPIPairValue { /// `MPI_DOUBLE_INT`.
    public static var pairBasicType: BasicType { .doubleInt } }
extension Int: MPIPairValue { /// `MPI_LONG_INT`.
    public static var pairBasicType: BasicType { .longInt } }
extension Int16: MPIPairValue { /// `MPI_SHORT_INT`.
    public static var pairBasicType: BasicType { .shortInt } }
extension Int32: MPIPairValue { /// `MPI_2INT`.
    public static var pairBasicType: BasicType { .twoInt } }
#if arch(x86_64) || arch(i386)
extension Float80: MPIPairValue { /// `MPI_LONG_DOUBLE_INT`.
    public static var pairBasicType: BasicType { .longDoubleInt } }
#endif

/// A value and an index, the element of `.minLoc` / `.maxLoc` reductions. Its layout is C's
/// `struct { Value value; int index; }` (for example `ValueIndex<Double>` is `MPI_DOUBLE_INT`).
@frozen public struct ValueIndex<Value: MPIPairValue>: MPIElement, Equatable {
    /// The compared value.
    public var value: Value
    /// The index carried along (typically a rank); ties keep the smaller index.
    public var index: Int32
    /// A pair of `value` and `index`.
    public init(_ value: Value, _ index: Int32) {
        self.value = value
        self.index = index
    }
    /// The predefined pair type.
    public static var mpiDatatype: Datatype { Datatype(Value.pairBasicType) }
}

/// Contiguous-bytes datatypes by element size, committed once and shared.
private let byteTypes = Mutex<[Int: FerryDatatype.Datatype]>([:])

extension Datatype {
    /// A committed datatype of `count` contiguous bytes (how non-numeric elements travel).
    public static func bytes(_ count: Int) -> Datatype {
        let raw = byteTypes.withLock { table -> FerryDatatype.Datatype in
            if let t = table[count] { return t }
            // SAFETY of `try!`: contiguous only throws for a negative count; strides are >= 0.
            let t = try! FerryDatatype.Datatype.contiguous(count, .predefined(.byte))
            t.commit()
            table[count] = t
            return t
        }
        return Datatype(raw: raw)
    }
}
