// Which algorithm each collective runs for a given size: one pure function per collective, so
// the choice is tested without running anything and the entry points stay a plain switch.

import FerryCore

/// Algorithm choices, from message size, process count and commutativity.
enum Algorithm {
    enum Bcast: Equatable { case binomial, scatterRingAllgather }
    enum Reduce: Equatable { case binomial, orderedBinomial, rabenseifner }
    enum Allreduce: Equatable { case recursiveDoubling, rabenseifner }
    enum Allgather: Equatable { case recursiveDoubling, bruck, ring }
    enum Alltoall: Equatable { case bruck, pairwise }
    enum ReduceScatterBlock: Equatable { case recursiveHalving, orderedReduceThenScatter }

    static func bcast(bytes: Int, size: Int) -> Bcast {
        bytes >= CollectiveThresholds.bcastScatterAllgatherMinBytes
            && size >= CollectiveThresholds.bcastScatterAllgatherMinRanks ? .scatterRingAllgather : .binomial
    }

    static func reduce(count: Int, elementSize: Int, size: Int, commutative: Bool) -> Reduce {
        guard commutative else { return .orderedBinomial }
        return count * elementSize >= CollectiveThresholds.reduceRabenseifnerMinBytes
            && count >= floorPowerOfTwo(size) && size > 1 ? .rabenseifner : .binomial
    }

    static func allreduce(count: Int, elementSize: Int, size: Int, commutative: Bool) -> Allreduce {
        commutative && count * elementSize >= CollectiveThresholds.allreduceRabenseifnerMinBytes
            && count >= floorPowerOfTwo(size) && size > 1 ? .rabenseifner : .recursiveDoubling
    }

    static func allgather(blockBytes: Int, size: Int) -> Allgather {
        if blockBytes * size >= CollectiveThresholds.allgatherRingMinTotalBytes { return .ring }
        return size & (size - 1) == 0 ? .recursiveDoubling : .bruck
    }

    static func alltoall(blockBytes: Int, size: Int) -> Alltoall {
        blockBytes <= CollectiveThresholds.alltoallBruckMaxBlockBytes
            && size >= CollectiveThresholds.alltoallBruckMinRanks ? .bruck : .pairwise
    }

    static func reduceScatterBlock(commutative: Bool) -> ReduceScatterBlock {
        commutative ? .recursiveHalving : .orderedReduceThenScatter
    }
}
