// The predefined (basic) datatypes of MPI-3.1 for C, with their sizes, alignments and extents
// on this platform (LP64 Linux). Derived datatypes are built from these by FerryDatatype;
// reductions (FerryReduce) dispatch on them.

/// One predefined MPI datatype. Pair types (`floatInt` ...) are the MINLOC/MAXLOC structs.
public enum BasicType: UInt8, Sendable, CaseIterable {
    case char, signedChar, unsignedChar, byte, wchar
    case short, unsignedShort, int, unsigned, long, unsignedLong, longLong, unsignedLongLong
    case float, double, longDouble
    case int8, int16, int32, int64, uint8, uint16, uint32, uint64
    case bool
    case floatComplex, doubleComplex, longDoubleComplex
    case aint, offset, count
    case packed
    /// struct { float; int }, struct { double; int }, struct { long; int }, struct { short; int },
    /// struct { int; int }, struct { long double; int }.
    case floatInt, doubleInt, longInt, shortInt, twoInt, longDoubleInt

    /// Bytes of data in one element (what `MPI_Type_size` reports).
    public var size: Int {
        switch self {
        case .char, .signedChar, .unsignedChar, .byte, .int8, .uint8, .bool, .packed: return 1
        case .short, .unsignedShort, .int16, .uint16: return 2
        case .wchar, .int, .unsigned, .float, .int32, .uint32: return 4
        case .long, .unsignedLong, .longLong, .unsignedLongLong, .double, .int64, .uint64,
             .aint, .offset, .count, .floatComplex: return 8
        case .longDouble: return 16   // x87 80-bit value stored in 16 bytes, as C's sizeof
        case .doubleComplex: return 16
        case .longDoubleComplex: return 32
        case .floatInt, .twoInt: return 8
        case .doubleInt, .longInt: return 12
        case .shortInt: return 6
        case .longDoubleInt: return 20
        }
    }

    /// Distance between consecutive elements in an array (`MPI_Type_get_extent`).
    public var extent: Int {
        switch self {
        case .doubleInt, .longInt: return 16
        case .shortInt: return 8
        case .longDoubleInt: return 32
        default: return size
        }
    }

    /// C alignment of the type (used by struct constructors to pad extents, as compilers do).
    public var alignment: Int {
        switch self {
        case .floatComplex: return 4
        case .doubleComplex: return 8
        case .longDouble, .longDoubleComplex, .longDoubleInt: return 16
        case .floatInt, .twoInt: return 4
        case .doubleInt, .longInt: return 8
        case .shortInt: return 4
        default: return size
        }
    }

    /// Pair types are made of two basic parts; `MPI_Get_elements` counts both.
    public var isPair: Bool {
        switch self {
        case .floatInt, .doubleInt, .longInt, .shortInt, .twoInt, .longDoubleInt: return true
        default: return false
        }
    }

    /// The two parts of a pair type: (value type, offset of the int). `nil` otherwise.
    public var pairParts: (value: BasicType, intOffset: Int)? {
        switch self {
        case .floatInt: return (.float, 4)
        case .doubleInt: return (.double, 8)
        case .longInt: return (.long, 8)
        case .shortInt: return (.short, 4)
        case .twoInt: return (.int, 4)
        case .longDoubleInt: return (.longDouble, 16)
        default: return nil
        }
    }

    /// The name `MPI_Type_get_name` reports.
    public var mpiName: String {
        switch self {
        case .char: return "MPI_CHAR"
        case .signedChar: return "MPI_SIGNED_CHAR"
        case .unsignedChar: return "MPI_UNSIGNED_CHAR"
        case .byte: return "MPI_BYTE"
        case .wchar: return "MPI_WCHAR"
        case .short: return "MPI_SHORT"
        case .unsignedShort: return "MPI_UNSIGNED_SHORT"
        case .int: return "MPI_INT"
        case .unsigned: return "MPI_UNSIGNED"
        case .long: return "MPI_LONG"
        case .unsignedLong: return "MPI_UNSIGNED_LONG"
        case .longLong: return "MPI_LONG_LONG"
        case .unsignedLongLong: return "MPI_UNSIGNED_LONG_LONG"
        case .float: return "MPI_FLOAT"
        case .double: return "MPI_DOUBLE"
        case .longDouble: return "MPI_LONG_DOUBLE"
        case .int8: return "MPI_INT8_T"
        case .int16: return "MPI_INT16_T"
        case .int32: return "MPI_INT32_T"
        case .int64: return "MPI_INT64_T"
        case .uint8: return "MPI_UINT8_T"
        case .uint16: return "MPI_UINT16_T"
        case .uint32: return "MPI_UINT32_T"
        case .uint64: return "MPI_UINT64_T"
        case .bool: return "MPI_C_BOOL"
        case .floatComplex: return "MPI_C_FLOAT_COMPLEX"
        case .doubleComplex: return "MPI_C_DOUBLE_COMPLEX"
        case .longDoubleComplex: return "MPI_C_LONG_DOUBLE_COMPLEX"
        case .aint: return "MPI_AINT"
        case .offset: return "MPI_OFFSET"
        case .count: return "MPI_COUNT"
        case .packed: return "MPI_PACKED"
        case .floatInt: return "MPI_FLOAT_INT"
        case .doubleInt: return "MPI_DOUBLE_INT"
        case .longInt: return "MPI_LONG_INT"
        case .shortInt: return "MPI_SHORT_INT"
        case .twoInt: return "MPI_2INT"
        case .longDoubleInt: return "MPI_LONG_DOUBLE_INT"
        }
    }
}

/// The predefined reduction operations.
public enum PredefinedOp: UInt8, Sendable, CaseIterable {
    case max, min, sum, prod, land, band, lor, bor, lxor, bxor, minloc, maxloc, replace, noOp

    public var mpiName: String {
        switch self {
        case .max: return "MPI_MAX"
        case .min: return "MPI_MIN"
        case .sum: return "MPI_SUM"
        case .prod: return "MPI_PROD"
        case .land: return "MPI_LAND"
        case .band: return "MPI_BAND"
        case .lor: return "MPI_LOR"
        case .bor: return "MPI_BOR"
        case .lxor: return "MPI_LXOR"
        case .bxor: return "MPI_BXOR"
        case .minloc: return "MPI_MINLOC"
        case .maxloc: return "MPI_MAXLOC"
        case .replace: return "MPI_REPLACE"
        case .noOp: return "MPI_NO_OP"
        }
    }
}
