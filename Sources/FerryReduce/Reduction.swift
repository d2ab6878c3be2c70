// The predefined reduction operations of MPI-3.1 §5.9.2 on the predefined C datatypes: which
// (op, type) pairs the standard defines, and the element-wise kernels that apply them.
// Called by FerryCollectives (through `Reducer.predefined`) and by the runtime for
// MPI_Reduce_local and MPI_Accumulate. No Foundation: this goes into libmpi.so.
import FerryCore

/// Predefined reduction kernels.
public enum Reduction {
    /// Whether `op` applies to `type`: MPI-3.1's table (§5.9.2 and §5.9.4) plus two extensions
    /// MPICH has, which binaries built against MPICH rely on:
    /// - MAX, MIN: C integer, floating point, multi-language types (AINT, OFFSET, COUNT);
    /// - SUM, PROD: C integer, floating point, complex, multi-language types;
    /// - LAND, LOR, LXOR: C integer, logical (C_BOOL), and (extension) multi-language types;
    /// - BAND, BOR, BXOR: C integer, byte, multi-language types;
    /// - MINLOC, MAXLOC: the pair types;
    /// - REPLACE, NO_OP (MPI_Accumulate only): every type.
    ///
    /// "C integer" is the standard's group: signed/unsigned char, short, int, long, long long
    /// (signed and unsigned) and the fixed-width types. The standard says MPI_CHAR "cannot be
    /// used in reduction operations" (§5.9.3) and leaves the multi-language types out of the
    /// logical ops: a program doing either is erroneous, so an implementation may define it.
    /// MPICH does (MPI_CHAR as a signed char; its coll/allred and rma/fetch_and_op_char test
    /// it), and so do we. MPI_WCHAR and MPI_PACKED accept only REPLACE and NO_OP.
    public static func isDefined(_ op: PredefinedOp, on type: BasicType) -> Bool {
        let group = type == .char ? TypeGroup.cInteger : TypeGroup(type)
        switch op {
        case .replace, .noOp: return true
        case .max, .min: return group == .cInteger || group == .floating || group == .multiLanguage
        case .sum, .prod:
            return group == .cInteger || group == .floating || group == .complex || group == .multiLanguage
        case .land, .lor, .lxor: return group == .cInteger || group == .logical || group == .multiLanguage
        case .band, .bor, .bxor: return group == .cInteger || group == .byte || group == .multiLanguage
        case .minloc, .maxloc: return group == .pair
        }
    }

    /// `inout[i] = input[i] op inout[i]` for `count` elements laid out at `type.extent` stride.
    ///
    /// Integer SUM and PROD wrap; logical ops return 0 or 1; MINLOC/MAXLOC keep the smaller index
    /// on ties; complex PROD is the complex product. Buffers need no particular alignment.
    /// One switch per call picks a loop specialized for the (op, type) pair; nothing dispatches
    /// per element.
    /// - Precondition: `isDefined(op, on: type)`; an undefined pair leaves `inout` unchanged.
    public static func apply(_ op: PredefinedOp, _ type: BasicType, input: UnsafeRawPointer,
                             `inout` target: UnsafeMutableRawPointer, count: Int) {
        guard count > 0 else { return }
        assert(isDefined(op, on: type), "\(op.mpiName) is not defined on \(type.mpiName)")
        switch op {
        case .noOp: return
        case .replace:
            target.copyMemory(from: input, byteCount: count * type.extent)
            return
        default: break
        }
        let a = input, b = target, n = count
        switch type {
        case .signedChar, .int8, .char: Kernels.integer(op, Int8.self, a, b, n)
        case .unsignedChar, .uint8, .byte: Kernels.integer(op, UInt8.self, a, b, n)
        case .bool: Kernels.integer(op, UInt8.self, a, b, n)   // C _Bool: one byte, 0 or 1
        case .short, .int16: Kernels.integer(op, Int16.self, a, b, n)
        case .unsignedShort, .uint16: Kernels.integer(op, UInt16.self, a, b, n)
        case .int, .int32: Kernels.integer(op, Int32.self, a, b, n)
        case .unsigned, .uint32: Kernels.integer(op, UInt32.self, a, b, n)
        case .long, .longLong, .int64, .aint, .offset, .count: Kernels.integer(op, Int64.self, a, b, n)
        case .unsignedLong, .unsignedLongLong, .uint64: Kernels.integer(op, UInt64.self, a, b, n)
        case .float: Kernels.floating(op, Float.self, a, b, n)
        case .double: Kernels.floating(op, Double.self, a, b, n)
        case .longDouble:
            #if arch(x86_64) || arch(i386)
            Kernels.floating(op, Float80.self, a, b, n)
            #endif
        case .floatComplex: Kernels.complex(op, Float.self, a, b, n)
        case .doubleComplex: Kernels.complex(op, Double.self, a, b, n)
        case .longDoubleComplex:
            #if arch(x86_64) || arch(i386)
            Kernels.complex(op, Float80.self, a, b, n)
            #endif
        case .floatInt: Kernels.location(op, Float.self, type, a, b, n)
        case .doubleInt: Kernels.location(op, Double.self, type, a, b, n)
        case .longInt: Kernels.location(op, Int64.self, type, a, b, n)
        case .shortInt: Kernels.location(op, Int16.self, type, a, b, n)
        case .twoInt: Kernels.location(op, Int32.self, type, a, b, n)
        case .longDoubleInt:
            #if arch(x86_64) || arch(i386)
            Kernels.location(op, Float80.self, type, a, b, n)
            #endif
        case .wchar, .packed: break   // only REPLACE / NO_OP, handled above
        }
    }
}

/// The standard's datatype groups of §5.9.2 (plus the pair types of §5.9.4).
enum TypeGroup {
    case cInteger, floating, logical, complex, byte, multiLanguage, pair, none

    init(_ type: BasicType) {
        switch type {
        case .signedChar, .unsignedChar, .short, .unsignedShort, .int, .unsigned, .long, .unsignedLong,
             .longLong, .unsignedLongLong, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
            self = .cInteger
        case .float, .double, .longDouble: self = .floating
        case .bool: self = .logical
        case .floatComplex, .doubleComplex, .longDoubleComplex: self = .complex
        case .byte: self = .byte
        case .aint, .offset, .count: self = .multiLanguage
        case .floatInt, .doubleInt, .longInt, .shortInt, .twoInt, .longDoubleInt: self = .pair
        case .char, .wchar, .packed: self = .none
        }
    }
}
