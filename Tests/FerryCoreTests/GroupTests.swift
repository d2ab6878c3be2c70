// Group algebra (MPI-3.1 §6.3) on world-rank lists, with the standard's error classes.
import Testing
import FerryCore
import FerryRuntime

@Suite("groups") struct GroupTests {
    let g = Group(worldRanks: [0, 1, 2, 3, 4, 5], myWorldRank: 2)

    @Test("union, intersection and difference keep the first group's order")
    func setOperations() {
        let h = Group(worldRanks: [5, 3, 7], myWorldRank: 2)
        #expect(g.union(h).worldRanks == [0, 1, 2, 3, 4, 5, 7])
        #expect(h.union(g).worldRanks == [5, 3, 7, 0, 1, 2, 4])
        #expect(g.intersection(h).worldRanks == [3, 5])
        #expect(g.difference(h).worldRanks == [0, 1, 2, 4])
        #expect(g.rank == 2 && h.rank == -32766)
    }

    @Test("incl, excl, range incl and range excl")
    func inclusion() throws {
        #expect(try g.including([4, 0]).worldRanks == [4, 0])
        #expect(try g.excluding([0, 5]).worldRanks == [1, 2, 3, 4])
        #expect(try g.includingRanges([(5, 0, -2)]).worldRanks == [5, 3, 1])
        #expect(try g.excludingRanges([(0, 4, 2)]).worldRanks == [1, 3, 5])
    }

    @Test("invalid ranks get MPI_ERR_RANK, a zero stride MPI_ERR_ARG")
    func errors() {
        #expect(throws: MPIError.self) { try g.including([6]) }
        #expect(throws: MPIError.self) { try g.including([1, 1]) }
        do { _ = try g.excluding([-1]) } catch { #expect(error.errorClass == .rank) }
        do { _ = try g.includingRanges([(0, 3, 0)]) } catch { #expect(error.errorClass == .arg) }
    }

    @Test("translate and compare")
    func translateCompare() throws {
        let h = Group(worldRanks: [3, 2, 1, 0], myWorldRank: 2)
        #expect(try g.translate([0, 3, 5, -1], to: h) == [3, 0, -32766, -1])
        #expect(g.compare(g) == .identical)
        #expect(h.compare(Group(worldRanks: [0, 1, 2, 3], myWorldRank: 0)) == .similar)
        #expect(h.compare(g) == .unequal)
    }
}
