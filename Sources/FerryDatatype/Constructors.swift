// The derived-datatype constructors of MPI-3.1 §4.1.2–4.1.7: argument checks (error classes as
// MPICH returns them), bounds, and the construction record. Subarray and darray are composed
// from hindexed and resized types internally and report their own combiner.
import FerryCore

extension Datatype {
    static func checkCount(_ count: Int, _ what: String) throws(MPIError) {
        if count < 0 { throw MPIError(.count, "negative \(what) \(count)") }
    }

    static func checkBlockLength(_ b: Int) throws(MPIError) {
        if b < 0 { throw MPIError(.arg, "negative block length \(b)") }
    }

    /// MPI_Type_contiguous.
    public static func contiguous(_ count: Int, _ old: Datatype) throws(MPIError) -> Datatype {
        try checkCount(count, "count")
        let t = try makeHvector(count: 1, blockLength: count, strideBytes: 0, old)
        return Datatype(layout: t.layout, bounds: t.bounds, combiner: .contiguous,
                        integers: [count], types: [old], uniform: t.uniformBasicType)
    }

    /// MPI_Type_vector: stride in extents of `old`.
    public static func vector(_ count: Int, blockLength: Int, stride: Int,
                              _ old: Datatype) throws(MPIError) -> Datatype {
        try checkCount(count, "count")
        try checkBlockLength(blockLength)
        let t = try makeHvector(count: count, blockLength: blockLength,
                                strideBytes: stride * old.extent, old)
        return Datatype(layout: t.layout, bounds: t.bounds, combiner: .vector,
                        integers: [count, blockLength, stride], types: [old],
                        uniform: t.uniformBasicType)
    }

    /// MPI_Type_create_hvector: stride in bytes.
    public static func hvector(_ count: Int, blockLength: Int, strideBytes: Int,
                               _ old: Datatype) throws(MPIError) -> Datatype {
        try checkCount(count, "count")
        try checkBlockLength(blockLength)
        let t = try makeHvector(count: count, blockLength: blockLength, strideBytes: strideBytes, old)
        return Datatype(layout: t.layout, bounds: t.bounds, combiner: .hvector,
                        integers: [count, blockLength], addresses: [strideBytes], types: [old],
                        uniform: t.uniformBasicType)
    }

    static func makeHvector(count: Int, blockLength: Int, strideBytes: Int,
                            _ old: Datatype) throws(MPIError) -> Datatype {
        var b = BoundsBuilder()
        if count > 0 && blockLength > 0 {
            let span = (count - 1) * strideBytes
            let inner = (blockLength - 1) * old.extent
            b.add(old, copies: count * blockLength, minShift: min(0, span) + min(0, inner),
                  maxShift: max(0, span) + max(0, inner))
        }
        return Datatype(layout: .hvector(count: count, blockLength: blockLength,
                                         strideBytes: strideBytes, old),
                        bounds: b.finish(padToAlignment: false), combiner: .hvector,
                        uniform: b.uniform)
    }

    static func makeHindexed(_ lengths: [Int], _ displacements: [Int],
                             _ old: Datatype) -> Datatype {
        var b = BoundsBuilder()
        for k in lengths.indices { b.addBlock(old, blockLength: lengths[k], at: displacements[k]) }
        return Datatype(layout: .hindexed(blockLengths: lengths, byteDisplacements: displacements, old),
                        bounds: b.finish(padToAlignment: false), combiner: .hindexed,
                        uniform: b.uniform)
    }

    static func checkIndexed(_ lengths: [Int], _ displacements: [Int]) throws(MPIError) {
        if lengths.count != displacements.count {
            throw MPIError(.arg, "\(lengths.count) block lengths but \(displacements.count) displacements")
        }
        for b in lengths { try checkBlockLength(b) }
    }

    /// MPI_Type_indexed: displacements in extents of `old`.
    public static func indexed(blockLengths: [Int], displacements: [Int],
                               _ old: Datatype) throws(MPIError) -> Datatype {
        try checkIndexed(blockLengths, displacements)
        let e = old.extent
        let t = makeHindexed(blockLengths, displacements.map { $0 * e }, old)
        return Datatype(layout: t.layout, bounds: t.bounds, combiner: .indexed,
                        integers: [blockLengths.count] + blockLengths + displacements,
                        types: [old], uniform: t.uniformBasicType)
    }

    /// MPI_Type_create_hindexed: displacements in bytes.
    public static func hindexed(blockLengths: [Int], byteDisplacements: [Int],
                                _ old: Datatype) throws(MPIError) -> Datatype {
        try checkIndexed(blockLengths, byteDisplacements)
        let t = makeHindexed(blockLengths, byteDisplacements, old)
        return Datatype(layout: t.layout, bounds: t.bounds, combiner: .hindexed,
                        integers: [blockLengths.count] + blockLengths,
                        addresses: byteDisplacements, types: [old], uniform: t.uniformBasicType)
    }

    /// MPI_Type_create_indexed_block: displacements in extents of `old`.
    public static func indexedBlock(blockLength: Int, displacements: [Int],
                                    _ old: Datatype) throws(MPIError) -> Datatype {
        try checkBlockLength(blockLength)
        let e = old.extent
        let t = makeHindexed([Int](repeating: blockLength, count: displacements.count),
                             displacements.map { $0 * e }, old)
        return Datatype(layout: t.layout, bounds: t.bounds, combiner: .indexedBlock,
                        integers: [displacements.count, blockLength] + displacements,
                        types: [old], uniform: t.uniformBasicType)
    }

    /// MPI_Type_create_hindexed_block: displacements in bytes.
    public static func hindexedBlock(blockLength: Int, byteDisplacements: [Int],
                                     _ old: Datatype) throws(MPIError) -> Datatype {
        try checkBlockLength(blockLength)
        let t = makeHindexed([Int](repeating: blockLength, count: byteDisplacements.count),
                             byteDisplacements, old)
        return Datatype(layout: t.layout, bounds: t.bounds, combiner: .hindexedBlock,
                        integers: [byteDisplacements.count, blockLength],
                        addresses: byteDisplacements, types: [old], uniform: t.uniformBasicType)
    }

    /// MPI_Type_create_struct. The extent is padded to the largest member alignment unless a
    /// member carries an explicit ub (a resized type).
    public static func structure(blockLengths: [Int], byteDisplacements: [Int],
                                 types: [Datatype]) throws(MPIError) -> Datatype {
        try checkIndexed(blockLengths, byteDisplacements)
        if types.count != blockLengths.count {
            throw MPIError(.arg, "\(blockLengths.count) block lengths but \(types.count) types")
        }
        var b = BoundsBuilder()
        for k in types.indices {
            b.addBlock(types[k], blockLength: blockLengths[k], at: byteDisplacements[k])
        }
        return Datatype(layout: .structure(blockLengths: blockLengths,
                                           byteDisplacements: byteDisplacements, types),
                        bounds: b.finish(padToAlignment: true), combiner: .structure,
                        integers: [blockLengths.count] + blockLengths,
                        addresses: byteDisplacements, types: types, uniform: b.uniform)
    }

    /// MPI_Type_create_resized: explicit lb and extent (markers that enclosing types honour).
    public static func resized(_ old: Datatype, lowerBound: Int,
                               extent: Int) throws(MPIError) -> Datatype {
        try makeResized(old, lowerBound: lowerBound, extent: extent, combiner: .resized,
                        addresses: [lowerBound, extent], types: [old])
    }

    static func makeResized(_ old: Datatype, lowerBound: Int, extent: Int, combiner: Combiner,
                            integers: [Int] = [], addresses: [Int] = [],
                            types: [Datatype]) throws(MPIError) -> Datatype {
        var b = old.bounds
        b.lb = lowerBound
        b.ub = lowerBound + extent
        b.stickyLB = true
        b.stickyUB = true
        b.hasMap = true
        return Datatype(layout: .alias(old), bounds: b, combiner: combiner, integers: integers,
                        addresses: addresses, types: types, uniform: old.uniformBasicType)
    }

    /// A multi-dimensional array of `old` with `sizes` elements per dimension, of which this
    /// type selects, in each dimension d, the index runs `runs[d]` (start, length), in
    /// increasing order. Elements are in array order; lb 0 and extent of the whole array.
    /// Shared by subarray and darray.
    static func gridType(sizes: [Int], runs: [[(start: Int, length: Int)]], order: ArrayOrder,
                         _ old: Datatype, combiner: Combiner, integers: [Int]) throws(MPIError) -> Datatype {
        let n = sizes.count
        // Dimensions from fastest-varying to slowest.
        let dims: [Int] = order == .c ? Array((0..<n).reversed()) : Array(0..<n)
        var t = old
        var stride = old.extent            // bytes between consecutive indices of dims[i]
        for (i, d) in dims.enumerated() {
            if i > 0 { t = try makeResized(t, lowerBound: 0, extent: stride, combiner: .resized, types: [t]) }
            let r = runs[d]
            t = makeHindexed(r.map { $0.length }, r.map { $0.start * stride }, t)
            stride *= sizes[d]
        }
        return try makeResized(t, lowerBound: 0, extent: stride, combiner: combiner,
                               integers: integers, types: [old])
    }

    /// MPI_Type_create_subarray.
    public static func subarray(sizes: [Int], subsizes: [Int], starts: [Int], order: ArrayOrder,
                                _ old: Datatype) throws(MPIError) -> Datatype {
        let n = sizes.count
        if n <= 0 { throw MPIError(.arg, "subarray needs at least one dimension") }
        if subsizes.count != n || starts.count != n {
            throw MPIError(.arg, "sizes, subsizes and starts must have the same length")
        }
        for d in 0..<n {
            if sizes[d] <= 0 { throw MPIError(.arg, "sizes[\(d)] = \(sizes[d]) must be positive") }
            if subsizes[d] < 0 || subsizes[d] > sizes[d] {
                throw MPIError(.arg, "subsizes[\(d)] = \(subsizes[d]) out of range 0...\(sizes[d])")
            }
            if starts[d] < 0 || starts[d] > sizes[d] - subsizes[d] {
                throw MPIError(.arg, "starts[\(d)] = \(starts[d]) out of range 0...\(sizes[d] - subsizes[d])")
            }
        }
        let runs = (0..<n).map { d in [(start: starts[d], length: subsizes[d])] }
        return try gridType(sizes: sizes, runs: runs, order: order, old, combiner: .subarray,
                            integers: [n] + sizes + subsizes + starts + [order.rawValue])
    }

    /// MPI_Type_create_darray. The process grid is row-major (the standard's rule, whatever
    /// `order`); `distributionArgs[d]` may be `Distribution.defaultArgument`.
    public static func darray(size: Int, rank: Int, globalSizes: [Int],
                              distributions: [Distribution], distributionArgs: [Int],
                              processGrid: [Int], order: ArrayOrder,
                              _ old: Datatype) throws(MPIError) -> Datatype {
        let n = globalSizes.count
        if size <= 0 { throw MPIError(.arg, "size \(size) must be positive") }
        if rank < 0 || rank >= size { throw MPIError(.rank, "rank \(rank) not in 0..<\(size)") }
        if n <= 0 { throw MPIError(.dims, "darray needs at least one dimension") }
        if distributions.count != n || distributionArgs.count != n || processGrid.count != n {
            throw MPIError(.arg, "darray argument arrays must all have ndims entries")
        }
        var gridProduct = 1
        for d in 0..<n {
            if globalSizes[d] <= 0 { throw MPIError(.arg, "gsizes[\(d)] must be positive") }
            if processGrid[d] <= 0 { throw MPIError(.arg, "psizes[\(d)] must be positive") }
            let a = distributionArgs[d]
            if a != Distribution.defaultArgument && a <= 0 {
                throw MPIError(.arg, "dargs[\(d)] = \(a) must be positive or MPI_DISTRIBUTE_DFLT_DARG")
            }
            if distributions[d] == .none && processGrid[d] != 1 {
                throw MPIError(.arg, "dimension \(d) is not distributed but psizes[\(d)] = \(processGrid[d])")
            }
            if distributions[d] == .block && a != Distribution.defaultArgument
                && a * processGrid[d] < globalSizes[d] {
                throw MPIError(.arg, "block size \(a) x \(processGrid[d]) processes < gsizes[\(d)] = \(globalSizes[d])")
            }
            gridProduct *= processGrid[d]
        }
        if gridProduct != size {
            throw MPIError(.arg, "product of psizes \(gridProduct) != size \(size)")
        }
        // Row-major coordinates of `rank` in the process grid.
        var coords = [Int](repeating: 0, count: n)
        var procs = size, r = rank
        for d in 0..<n {
            procs /= processGrid[d]
            coords[d] = r / procs
            r %= procs
        }
        var runs: [[(start: Int, length: Int)]] = []
        for d in 0..<n {
            let g = globalSizes[d], p = processGrid[d], c = coords[d], a = distributionArgs[d]
            switch distributions[d] {
            case .none:
                runs.append([(0, g)])
            case .block:
                let blk = a == Distribution.defaultArgument ? (g + p - 1) / p : a
                let start = blk * c
                let len = max(0, min(blk, g - start))
                runs.append(len > 0 ? [(start, len)] : [])
            case .cyclic:
                let blk = a == Distribution.defaultArgument ? 1 : a
                var list: [(start: Int, length: Int)] = []
                var s = c * blk
                while s < g {
                    list.append((s, min(blk, g - s)))
                    s += p * blk
                }
                runs.append(list)
            }
        }
        let ints = [size, rank, n] + globalSizes + distributions.map { $0.rawValue }
            + distributionArgs + processGrid + [order.rawValue]
        return try gridType(sizes: globalSizes, runs: runs, order: order, old, combiner: .darray,
                            integers: ints)
    }
}
