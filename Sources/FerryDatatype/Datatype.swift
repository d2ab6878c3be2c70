// MPI datatypes: the predefined ones and every derived-type constructor of MPI-3.1 chapter 4.
// A `Datatype` owns its construction record (combiner and contents, for get_envelope /
// get_contents), its bounds (size, lb, ub, true lb/ub, computed eagerly at construction), and,
// once committed, its flattened layout (`FlatLayout`) that pack/unpack, external32 and
// MPI_Get_elements walk. Callers: FerryRuntime (transports pack/unpack through it, reductions
// use `uniformBasicType` and `typeRuns`) and the C ABI layer (handles wrap these objects).
import FerryCore

/// A run of `count` basic elements of one type, the i-th at `displacement + i * type.extent`
/// (relative to the start of one element of the datatype). Pair types are one element each.
public struct TypeRun: Sendable, Equatable {
    public var displacement: Int
    public var type: BasicType
    public var count: Int
    public init(displacement: Int, type: BasicType, count: Int) {
        self.displacement = displacement
        self.type = type
        self.count = count
    }
}

/// Bounds of a type map (MPI-3.1 §4.1.6–4.1.8), computed when a type is constructed.
struct TypeBounds: Sendable {
    var lb = 0, ub = 0
    var trueLB = 0, trueUB = 0
    /// lb/ub come from explicit markers (a resized type somewhere below): they win over data
    /// bounds in an enclosing struct, and suppress the struct's alignment padding.
    var stickyLB = false, stickyUB = false
    var size = 0
    /// Largest alignment of any basic type in the map (for the struct padding "epsilon").
    var alignment = 1
    /// The type map has at least one entry (data or marker). An empty map contributes nothing.
    var hasMap = false

    static func basic(_ t: BasicType) -> TypeBounds {
        let trueUB = t.pairParts.map { $0.intOffset + BasicType.int.size } ?? t.size
        return TypeBounds(lb: 0, ub: t.extent, trueLB: 0, trueUB: trueUB, stickyLB: false,
                          stickyUB: false, size: t.size, alignment: t.alignment, hasMap: true)
    }
}

/// Accumulates the bounds of copies of child types placed at displacements.
struct BoundsBuilder {
    private var plainLB = Int.max, plainUB = Int.min
    private var markerLB = Int.max, markerUB = Int.min
    private var hasMarkerLB = false, hasMarkerUB = false
    private var trueLB = Int.max, trueUB = Int.min, hasData = false
    private var size = 0, alignment = 1, any = false
    private(set) var uniform: BasicType? = nil
    private var uniformBroken = false

    /// `copies` copies of `child`, whose displacements range over [minShift, maxShift].
    mutating func add(_ child: Datatype, copies: Int, minShift: Int, maxShift: Int) {
        let c = child.bounds
        guard copies > 0, c.hasMap else { return }
        any = true
        size += c.size * copies
        alignment = max(alignment, c.alignment)
        if c.stickyLB { hasMarkerLB = true; markerLB = min(markerLB, c.lb + minShift) }
        else { plainLB = min(plainLB, c.lb + minShift) }
        if c.stickyUB { hasMarkerUB = true; markerUB = max(markerUB, c.ub + maxShift) }
        else { plainUB = max(plainUB, c.ub + maxShift) }
        if c.size > 0 {
            hasData = true
            trueLB = min(trueLB, c.trueLB + minShift)
            trueUB = max(trueUB, c.trueUB + maxShift)
            if !uniformBroken {
                if let u = child.uniformBasicType, uniform == nil || uniform == u { uniform = u }
                else { uniformBroken = true; uniform = nil }
            }
        }
    }

    /// `blockLength` consecutive copies of `child` starting at byte displacement `at`.
    mutating func addBlock(_ child: Datatype, blockLength: Int, at displacement: Int) {
        let span = (blockLength - 1) * child.extent
        add(child, copies: blockLength, minShift: displacement + min(0, span),
            maxShift: displacement + max(0, span))
    }

    /// `padToAlignment`: MPI_Type_create_struct rounds the extent up to the largest member
    /// alignment (the standard's epsilon) unless an explicit ub marker fixes it. Like MPICH, the
    /// other constructors do not pad (their children's extents are already padded).
    func finish(padToAlignment: Bool) -> TypeBounds {
        guard any else { return TypeBounds() }
        var b = TypeBounds()
        b.hasMap = true
        b.stickyLB = hasMarkerLB
        b.stickyUB = hasMarkerUB
        b.lb = hasMarkerLB ? markerLB : plainLB
        b.ub = hasMarkerUB ? markerUB : plainUB
        b.size = size
        b.alignment = alignment
        if hasData { b.trueLB = trueLB; b.trueUB = trueUB }
        if padToAlignment && !hasMarkerUB && alignment > 1 {
            let extent = b.ub - b.lb
            if extent > 0 && extent % alignment != 0 { b.ub += alignment - extent % alignment }
        }
        return b
    }
}

/// An MPI datatype: predefined (shared, committed) or derived (built by the constructors).
/// - Note: immutable after construction except `commit()` and `name`; MPI requires the user not
///   to commit or rename a type while another thread uses it, hence `@unchecked Sendable`.
public final class Datatype: @unchecked Sendable {
    /// How the type map is built from children (the flattening recipe).
    enum Layout {
        case basic(BasicType)
        /// `count` blocks of `blockLength` copies of the child, block i at i * strideBytes.
        case hvector(count: Int, blockLength: Int, strideBytes: Int, Datatype)
        case hindexed(blockLengths: [Int], byteDisplacements: [Int], Datatype)
        case structure(blockLengths: [Int], byteDisplacements: [Int], [Datatype])
        /// Same type map as the child (dup, resized, and the composed subarray/darray types).
        case alias(Datatype)
    }

    let layout: Layout
    let bounds: TypeBounds
    /// The constructor used (MPI_Type_get_envelope).
    public let combiner: Combiner
    let contentIntegers: [Int]
    let contentAddresses: [Int]
    let contentTypes: [Datatype]
    /// If every basic element in the type map is the same basic type, that type (pair types count
    /// as one type, e.g. `.doubleInt`); nil for mixed or empty maps.
    public let uniformBasicType: BasicType?
    /// Non-nil for the predefined types.
    public let basicType: BasicType?
    /// The flattened layout; set by `commit()` (predefined: at creation).
    @exclusivity(unchecked) private var committedFlat: FlatLayout?
    /// MPI_Type_get_name / MPI_Type_set_name.
    @exclusivity(unchecked) public var name: String

    init(layout: Layout, bounds: TypeBounds, combiner: Combiner, integers: [Int] = [],
         addresses: [Int] = [], types: [Datatype] = [], uniform: BasicType?) {
        self.layout = layout
        self.bounds = bounds
        self.combiner = combiner
        self.contentIntegers = integers
        self.contentAddresses = addresses
        self.contentTypes = types
        self.uniformBasicType = uniform
        if case .basic(let t) = layout {
            basicType = t
            name = t.mpiName
        } else {
            basicType = nil
            name = ""
        }
        committedFlat = nil
        if basicType != nil {
            committedFlat = FlatLayout(runs: buildRuns(), bounds: bounds)
            contiguousCache = computeContiguous()
        }
    }

    private static let predefinedTable: [Datatype] = BasicType.allCases.map { t in
        Datatype(layout: .basic(t), bounds: .basic(t), combiner: .named, uniform: t)
    }

    /// The shared, committed instance for a predefined type.
    public static func predefined(_ t: BasicType) -> Datatype {
        predefinedTable[Int(t.rawValue)]
    }

    /// A predefined (named) type made of `count` consecutive `t`, for the Fortran pair types
    /// MPI_2REAL / MPI_2DOUBLE_PRECISION and the 16-byte real and 32-byte complex types,
    /// which have no C basic type here (moved as bytes; not reducible by predefined ops).
    public static func predefinedComposite(of t: BasicType, count: Int, name: String) -> Datatype {
        let child = predefined(t)
        let inner = Datatype(layout: .hvector(count: 1, blockLength: count, strideBytes: 0, child),
                             bounds: TypeBounds(lb: 0, ub: t.extent * count, trueLB: 0, trueUB: t.extent * count,
                                                stickyLB: false, stickyUB: false, size: t.size * count,
                                                alignment: t.alignment, hasMap: true),
                             combiner: .named, uniform: nil)
        inner.name = name
        inner.commit()
        return inner
    }

    /// The type MPI_Type_create_f90_integer/real/complex returns: the layout of the matching
    /// sized type, combiner `.f90Integer`/`.f90Real`/`.f90Complex`, contents `integers`
    /// ([r] or [p, r]). Committed; predefined in the standard's sense (never freed).
    public static func f90(_ base: Datatype, combiner: Combiner, integers: [Int]) -> Datatype {
        let d = Datatype(layout: .alias(base), bounds: base.bounds, combiner: combiner, integers: integers,
                         uniform: base.uniformBasicType)
        d.commit()
        return d
    }

    /// Another predefined (named) type with the layout of `t` under its own name, e.g.
    /// MPI_INTEGER (Fortran) as `.int`, MPI_CXX_BOOL as `.bool`. Committed, combiner `.named`.
    public static func predefinedAlias(of t: BasicType, name: String) -> Datatype {
        let d = Datatype(layout: .basic(t), bounds: .basic(t), combiner: .named, uniform: t)
        d.name = name
        return d
    }

    /// MPI_Type_size: bytes of data in one element.
    public var size: Int { bounds.size }
    /// lb of the type map.
    public var lowerBound: Int { bounds.lb }
    /// ub of the type map.
    public var upperBound: Int { bounds.ub }
    /// ub - lb: the stride between consecutive elements.
    public var extent: Int { bounds.ub - bounds.lb }
    /// Lowest byte of data (ignoring lb markers): MPI_Type_get_true_extent's true_lb.
    public var trueLowerBound: Int { bounds.trueLB }
    /// Span of the data bytes (0 for a type without data).
    public var trueExtent: Int { bounds.trueUB - bounds.trueLB }
    /// MPI_Type_get_true_extent as a pair.
    public var trueExtentPair: (lowerBound: Int, extent: Int) { (trueLowerBound, trueExtent) }
    /// MPI_Type_get_extent as a pair.
    public var extentPair: (lowerBound: Int, extent: Int) { (lowerBound, extent) }
    /// Bytes of `count` elements when packed (MPI_Pack_size without the bound slack).
    public func packedSize(count: Int) -> Int { size * count }

    /// True once `commit()` ran (always for predefined types).
    public var isCommitted: Bool { committedFlat != nil }

    /// MPI_Type_commit: builds the flattened representation. Idempotent.
    public func commit() {
        if committedFlat == nil { committedFlat = FlatLayout(runs: buildRuns(), bounds: bounds) }
        contiguousCache = computeContiguous()
    }

    /// The flattened layout: the committed one, or one built now (uncommitted types, slow).
    var flat: FlatLayout {
        if let f = committedFlat { return f }
        return FlatLayout(runs: buildRuns(), bounds: bounds)
    }

    /// The type map of one element as merged runs, in type-map order (for reductions over
    /// non-contiguous data and for tools). Built on demand if the type is not committed.
    public var typeRuns: [TypeRun] { flat.runs }

    /// Number of basic elements in one element (pair types count 2, as MPI_Get_elements).
    public var basicElementsPerItem: Int { flat.elementsPerItem }

    /// `count` elements are one contiguous run of bytes starting at base + trueLowerBound
    /// (size == extent == trueExtent and one block in type-map order). Fast path for transports.
    public var isContiguous: Bool {
        if let c = contiguousCache { return c }
        return computeContiguous()
    }

    private func computeContiguous() -> Bool {
        if size == 0 { return true }
        return size == extent && size == trueExtent && flat.blockCount == 1
    }

    /// `isContiguous`, fixed once the layout is committed (the transports ask per message).
    @exclusivity(unchecked) private var contiguousCache: Bool?

    /// MPI_Type_dup: same type map, combiner `.dup`; committed if the original is.
    public func duplicate() -> Datatype {
        let d = Datatype(layout: .alias(self), bounds: bounds, combiner: .dup, types: [self],
                         uniform: uniformBasicType)
        d.committedFlat = committedFlat
        d.contiguousCache = contiguousCache
        return d
    }

    /// Runs of one element in type-map order (children's committed layouts reused).
    func buildRuns() -> [TypeRun] {
        var rb = RunBuilder()
        switch layout {
        case .basic(let t):
            return [TypeRun(displacement: 0, type: t, count: 1)]
        case .alias(let child):
            return child.flat.runs
        case .hvector(let count, let blockLength, let stride, let child):
            let c = child.flat.runs
            for i in 0..<count {
                rb.appendCopies(c, childExtent: child.extent, at: i * stride, copies: blockLength)
            }
        case .hindexed(let lengths, let displacements, let child):
            let c = child.flat.runs
            for k in lengths.indices {
                rb.appendCopies(c, childExtent: child.extent, at: displacements[k],
                                copies: lengths[k])
            }
        case .structure(let lengths, let displacements, let types):
            for k in lengths.indices where lengths[k] > 0 {
                rb.appendCopies(types[k].flat.runs, childExtent: types[k].extent,
                                at: displacements[k], copies: lengths[k])
            }
        }
        return rb.runs
    }
}
