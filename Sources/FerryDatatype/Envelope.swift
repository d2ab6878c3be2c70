// The construction record of a datatype as MPI_Type_get_envelope / MPI_Type_get_contents
// report it (MPI-3.1 §4.1.13), and the enum constants the constructors take. Raw values are the
// MPICH ABI constants so the C layer passes them through unchanged.
import FerryCore

/// MPI_COMBINER_* (MPICH ABI values).
public enum Combiner: Int32, Sendable, CaseIterable {
    case named = 1, dup = 2, contiguous = 3, vector = 4, hvectorInteger = 5, hvector = 6
    case indexed = 7, hindexedInteger = 8, hindexed = 9, indexedBlock = 10
    case structInteger = 11, structure = 12, subarray = 13, darray = 14
    case f90Real = 15, f90Complex = 16, f90Integer = 17, resized = 18, hindexedBlock = 19
}

/// MPI_ORDER_C / MPI_ORDER_FORTRAN (MPICH ABI values).
public enum ArrayOrder: Int, Sendable {
    case c = 56, fortran = 57
}

/// MPI_DISTRIBUTE_BLOCK / _CYCLIC / _NONE (MPICH ABI values).
public enum Distribution: Int, Sendable {
    case block = 121, cyclic = 122, none = 123
    /// MPI_DISTRIBUTE_DFLT_DARG: the default distribution argument.
    public static let defaultArgument = -49767
}

extension Datatype {
    /// MPI_Type_get_envelope: lengths of the three contents arrays and the combiner.
    public func envelope() -> (integers: Int, addresses: Int, datatypes: Int, combiner: Combiner) {
        (contentIntegers.count, contentAddresses.count, contentTypes.count, combiner)
    }

    /// MPI_Type_get_contents: the arguments of the constructor call, as the standard lays them
    /// out per combiner. Throws `.arg` for predefined types (MPI forbids the call on them).
    public func contents() throws(MPIError) -> (integers: [Int], addresses: [Int], datatypes: [Datatype]) {
        if combiner == .named {
            throw MPIError(.arg, "MPI_Type_get_contents called on a predefined datatype")
        }
        return (contentIntegers, contentAddresses, contentTypes)
    }
}
