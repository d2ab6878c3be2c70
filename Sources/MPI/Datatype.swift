// A thin value wrapper over FerryDatatype's datatypes: the predefined ones, the derived-type
// constructors, commit, sizes, and pack/unpack. Communicators accept a `Datatype` together with
// raw buffers for the cases `MPIElement` arrays cannot express (strided columns, structs with
// gaps, subarrays).
import FerryCore
import FerryDatatype

/// Array order of subarray types: `.c` (row-major) or `.fortran` (column-major).
public typealias ArrayOrder = FerryDatatype.ArrayOrder
/// The predefined basic types (`.int`, `.double`, `.doubleInt`, ...).
public typealias BasicType = FerryCore.BasicType

/// An MPI datatype: a predefined type or a derived one built with the constructors below.
/// Derived types must be `commit()`ted before they are used in communication.
public struct Datatype: @unchecked Sendable {
    /// The runtime's datatype object.
    public let raw: FerryDatatype.Datatype

    /// Wraps a runtime datatype.
    public init(raw: FerryDatatype.Datatype) { self.raw = raw }

    /// The predefined type `basic` (always committed).
    public init(_ basic: BasicType) { raw = .predefined(basic) }

    /// The datatype that describes one `T`.
    public static func of<T: MPIElement>(_ type: T.Type) -> Datatype { T.mpiDatatype }

    /// `MPI_Type_contiguous`: `count` consecutive copies of `old`.
    public static func contiguous(_ count: Int, of old: Datatype) throws(MPIError) -> Datatype {
        Datatype(raw: try .contiguous(count, old.raw))
    }

    /// `MPI_Type_vector`: `count` blocks of `blockLength` elements, `stride` elements apart.
    public static func vector(count: Int, blockLength: Int, stride: Int, of old: Datatype) throws(MPIError) -> Datatype {
        Datatype(raw: try .vector(count, blockLength: blockLength, stride: stride, old.raw))
    }

    /// `MPI_Type_create_hvector`: like `vector` with the stride in bytes.
    public static func hvector(count: Int, blockLength: Int, strideBytes: Int, of old: Datatype) throws(MPIError) -> Datatype {
        Datatype(raw: try .hvector(count, blockLength: blockLength, strideBytes: strideBytes, old.raw))
    }

    /// `MPI_Type_indexed`: blocks at displacements counted in elements of `old`.
    public static func indexed(blockLengths: [Int], displacements: [Int], of old: Datatype) throws(MPIError) -> Datatype {
        Datatype(raw: try .indexed(blockLengths: blockLengths, displacements: displacements, old.raw))
    }

    /// `MPI_Type_create_hindexed`: blocks at byte displacements.
    public static func hindexed(blockLengths: [Int], byteDisplacements: [Int], of old: Datatype) throws(MPIError) -> Datatype {
        Datatype(raw: try .hindexed(blockLengths: blockLengths, byteDisplacements: byteDisplacements, old.raw))
    }

    /// `MPI_Type_create_indexed_block`: equal blocks at element displacements.
    public static func indexedBlock(blockLength: Int, displacements: [Int], of old: Datatype) throws(MPIError) -> Datatype {
        Datatype(raw: try .indexedBlock(blockLength: blockLength, displacements: displacements, old.raw))
    }

    /// `MPI_Type_create_struct`: blocks of different types at byte displacements. Use
    /// `MemoryLayout<S>.offset(of:)` for the displacements of a Swift struct's fields.
    public static func structure(blockLengths: [Int], byteDisplacements: [Int], types: [Datatype]) throws(MPIError) -> Datatype {
        Datatype(raw: try .structure(blockLengths: blockLengths, byteDisplacements: byteDisplacements,
                                     types: types.map(\.raw)))
    }

    /// `MPI_Type_create_resized`: the same data with a new lower bound and extent.
    public static func resized(_ old: Datatype, lowerBound: Int, extent: Int) throws(MPIError) -> Datatype {
        Datatype(raw: try .resized(old.raw, lowerBound: lowerBound, extent: extent))
    }

    /// `MPI_Type_create_subarray`: a block `subsizes` at `starts` of an array of `sizes`.
    public static func subarray(sizes: [Int], subsizes: [Int], starts: [Int], order: ArrayOrder = .c,
                                of old: Datatype) throws(MPIError) -> Datatype {
        Datatype(raw: try .subarray(sizes: sizes, subsizes: subsizes, starts: starts, order: order, old.raw))
    }

    /// `MPI_Type_dup`.
    public func duplicate() -> Datatype { Datatype(raw: raw.duplicate()) }

    /// `MPI_Type_commit`; returns the type so that construction chains read well.
    @discardableResult
    public func commit() -> Datatype {
        raw.commit()
        return self
    }

    /// True once committed (always for predefined types).
    public var isCommitted: Bool { raw.isCommitted }
    /// `MPI_Type_size`: bytes of data in one element.
    public var size: Int { raw.size }
    /// `MPI_Type_get_extent`: lower bound and extent (the stride between elements).
    public var extent: (lowerBound: Int, extent: Int) { raw.extentPair }
    /// `MPI_Type_get_true_extent`: where the data bytes really lie.
    public var trueExtent: (lowerBound: Int, extent: Int) { raw.trueExtentPair }
    /// `MPI_Type_get_name` / `MPI_Type_set_name`.
    public var name: String {
        get { raw.name }
        nonmutating set { raw.name = newValue }
    }

    /// `MPI_Pack_size` (exact for this implementation): bytes of `count` packed elements.
    public func packedSize(count: Int) -> Int { raw.packedSize(count: count) }

    /// `MPI_Pack`: the data of `count` elements of this type laid out at `base`, packed.
    public func pack(from base: UnsafeRawPointer, count: Int) -> [UInt8] {
        let n = raw.packedSize(count: count)
        return [UInt8](unsafeUninitializedCapacity: n) { buf, initialized in
            if n > 0 { raw.pack(from: base, count: count, packedOffset: 0, into: buf.baseAddress!, bytes: n) }
            initialized = n
        }
    }

    /// `MPI_Unpack`: scatters `packed` (from `pack`) into `count` elements at `base`.
    public func unpack(_ packed: [UInt8], into base: UnsafeMutableRawPointer, count: Int) throws(MPIError) {
        let n = raw.packedSize(count: count)
        guard packed.count >= n else { throw MPIError(.truncate, "\(packed.count) packed bytes, \(n) needed") }
        if n == 0 { return }
        packed.withUnsafeBytes { raw.unpack(from: $0.baseAddress!, bytes: n, into: base, count: count, packedOffset: 0) }
    }
}

extension MPI {
    /// `MPI_Pack` of an array of elements.
    public static func pack<T: MPIElement>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { b in
            T.mpiDatatype.pack(from: b.baseAddress ?? UnsafeRawPointer(bitPattern: 16)!, count: values.count)
        }
    }

    /// `MPI_Unpack` into `count` elements of `T`.
    public static func unpack<T: MPIElement>(_ packed: [UInt8], as type: T.Type = T.self, count: Int) throws(MPIError) -> [T] {
        let storage = UnsafeMutableBufferPointer<T>.allocate(capacity: max(count, 1))
        defer { storage.deallocate() }
        try T.mpiDatatype.unpack(packed, into: UnsafeMutableRawPointer(storage.baseAddress!), count: count)
        return Array(storage.prefix(count))
    }
}
