// Which node each rank of the job runs on, from the launcher: Ferry's proxies and foreign
// launchers (Hydra, Slurm) say it in PMI_process_mapping; Ferry's one-node launcher and a
// singleton run everything on one node. Never from gethostname(): nodes that are network
// namespaces of one machine share the hostname. Read once at start-up (Runtime.startUp); the
// routes (Routes.swift), the node segment and the collectives' choices follow from it.
import FerryCore
import FerryPMI

/// The nodes of the job's ranks.
struct NodeMap {
    /// Node of each world rank, numbered densely 0..<nodeCount in order of first appearance.
    let nodeOfRank: [Int32]
    /// Each world rank's index among the ranks of its own node (ascending world rank order).
    let localIndex: [Int32]
    /// The world ranks of each node, ascending.
    let ranksOfNode: [[Int32]]
    /// This process's node.
    let myNode: Int

    var nodeCount: Int { ranksOfNode.count }
    /// World ranks on this process's node, ascending.
    var localRanks: [Int32] { ranksOfNode[myNode] }
    /// Whether every rank of the job shares this process's node.
    var isSingleNode: Bool { ranksOfNode.count == 1 }

    /// Every one of `size` ranks on one node.
    static func singleNode(size: Int) -> NodeMap {
        NodeMap(nodeIDs: Array(repeating: 0, count: size), rank: 0)
    }

    /// From a node id per rank (any non-negative ids; renumbered densely in order of first use).
    init(nodeIDs: [Int], rank: Int) {
        var dense: [Int: Int32] = [:]
        var nodes: [Int32] = []
        var ranks: [[Int32]] = []
        var local: [Int32] = []
        nodes.reserveCapacity(nodeIDs.count)
        for (r, id) in nodeIDs.enumerated() {
            let n: Int32
            if let d = dense[id] { n = d } else {
                n = Int32(ranks.count)
                dense[id] = n
                ranks.append([])
            }
            nodes.append(n)
            local.append(Int32(ranks[Int(n)].count))
            ranks[Int(n)].append(Int32(r))
        }
        nodeOfRank = nodes
        localIndex = local
        ranksOfNode = ranks
        myNode = nodeIDs.isEmpty ? 0 : Int(nodes[rank])
    }

    /// From the launcher's `PMI_process_mapping`.
    init(mapping text: String, size: Int, rank: Int) throws(MPIError) {
        let ids: [Int]
        do throws(ProcessMapping.ParseError) { ids = try ProcessMapping(text).nodeOfRank(size: size) } catch {
            throw MPIError(.other, error.description)
        }
        self.init(nodeIDs: ids, rank: rank)
    }
}
