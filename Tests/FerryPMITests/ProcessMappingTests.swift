// PMI_process_mapping as Hydra, Slurm and Ferry's launcher write it (Sources/FerryPMI/ProcessMapping.swift),
// and the launcher's HostPlan read back through it.
import Testing
import FerryPMI
@testable import FerryLaunch

@Suite("PMI_process_mapping") struct ProcessMappingTests {
    @Test("block, cyclic and mixed layouts; the pattern repeats past its end, as MPICH reads it")
    func layouts() throws {
        #expect(try ProcessMapping("(vector,(0,1,4))").nodeOfRank(size: 4) == [0, 0, 0, 0])
        #expect(try ProcessMapping("(vector,(0,2,2))").nodeOfRank(size: 4) == [0, 0, 1, 1])
        #expect(try ProcessMapping("(vector,(0,2,1))").nodeOfRank(size: 5) == [0, 1, 0, 1, 0])
        #expect(try ProcessMapping("(vector,(0,1,2),(1,1,1))").nodeOfRank(size: 3) == [0, 0, 1])
        #expect(try ProcessMapping(" ( vector, (0,2,3) ) ").nodeOfRank(size: 6) == [0, 0, 0, 1, 1, 1])
        #expect(try ProcessMapping("(vector,(0,1,4))").nodeCount(size: 4) == 1)
        #expect(try ProcessMapping("(vector,(0,2,1))").nodeCount(size: 1) == 1, "a one-rank job is on one node")
        #expect(try ProcessMapping("(vector,(0,4,1))").nodeCount(size: 3) == 3)
    }

    @Test("malformed values are refused with the value quoted")
    func malformed() {
        for bad in ["", "(vector)", "(vector,)", "(list,(0,1,1))", "(vector,(0,1))", "(vector,(0,0,1))",
                    "(vector,(0,1,-2))", "(vector,(0,1,1),)", "(vector,(0,1,1)(1,1,1))", "(vector,(a,1,1))"] {
            #expect(throws: ProcessMapping.ParseError.self, "\(bad)") { _ = try ProcessMapping(bad) }
        }
        do { _ = try ProcessMapping("(vector,(0,0,1))") } catch {
            #expect(error.description == "PMI_process_mapping '(vector,(0,0,1))': '(0,0,1)' is not (node>=0,count>0,perNode>0)")
        }
    }

    @Test("the launcher's host plans read back to the same nodes", arguments: [
        (5, MapBy.slot, nil as Int?), (5, .node, nil), (7, .slot, 2), (3, .node, 1), (9, .node, nil),
    ])
    func roundTrip(ranks: Int, mapBy: MapBy, ppn: Int?) throws {
        let hosts = [HostSlots("a", slots: 2), HostSlots("b", slots: 3), HostSlots("c", slots: 1)]
        let plan = try HostPlan(ranks: ranks, hosts: hosts, mapBy: mapBy, ranksPerHost: ppn, oversubscribe: true)
        let nodes = try ProcessMapping(plan.processMapping).nodeOfRank(size: ranks)
        // Same partition of the ranks (node ids are numbered by first rank, host indices by order).
        for i in 0..<ranks { for j in 0..<ranks {
            #expect((nodes[i] == nodes[j]) == (plan.hostOfRank[i] == plan.hostOfRank[j]), "ranks \(i), \(j)")
        } }
    }
}
