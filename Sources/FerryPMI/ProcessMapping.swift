// `PMI_process_mapping`, the reserved PMI key through which MPICH's Hydra, Slurm and Ferry's own
// launcher say which ranks share a node: `(vector,(node,count,perNode),...)`. Each triple gives
// the next `count * perNode` ranks to nodes `node ..< node + count`, `perNode` consecutive ranks
// on each; when the triples cover fewer ranks than the job has, the pattern starts again from the
// first triple (as MPICH reads it: `(vector,(0,2,1))` deals 1 rank to each of 2 nodes in turn,
// for any number of ranks). Node identity comes from here, never from gethostname: nodes that
// are network namespaces of one machine share the hostname.

/// The node of every rank, from a `PMI_process_mapping` value.
public struct ProcessMapping: Equatable, Sendable {
    /// One `(node, count, perNode)` triple.
    public struct Block: Equatable, Sendable {
        public var node: Int
        public var count: Int
        public var perNode: Int
    }

    public let blocks: [Block]

    /// A malformed value, quoted.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `(vector,(0,2,2),(2,1,3))` (spaces allowed anywhere).
    public init(_ text: String) throws(ParseError) {
        func fail(_ why: String) -> ParseError { ParseError(description: "PMI_process_mapping '\(text)': \(why)") }
        let s = text.filter { !$0.isWhitespace }
        guard s.hasPrefix("(vector,"), s.hasSuffix(")") else { throw fail("not (vector,...)") }
        var rest = Substring(s.dropFirst("(vector,".count).dropLast())
        var blocks: [Block] = []
        while !rest.isEmpty {
            guard rest.first == "(", let close = rest.firstIndex(of: ")") else { throw fail("expected (node,count,perNode)") }
            let fields = rest[rest.index(after: rest.startIndex)..<close].split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 3, let node = Int(fields[0]), let count = Int(fields[1]), let perNode = Int(fields[2]),
                  node >= 0, count > 0, perNode > 0 else {
                throw fail("'\(rest[...close])' is not (node>=0,count>0,perNode>0)")
            }
            blocks.append(Block(node: node, count: count, perNode: perNode))
            rest = rest[rest.index(after: close)...]
            if rest.first == "," {
                rest = rest.dropFirst()
                guard !rest.isEmpty else { throw fail("trailing ','") }
            } else if !rest.isEmpty {
                throw fail("expected ',' after '\(blocks.count)' blocks")
            }
        }
        guard !blocks.isEmpty else { throw fail("no (node,count,perNode) blocks") }
        self.blocks = blocks
    }

    /// The node id of each of `size` ranks.
    public func nodeOfRank(size: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(size)
        while out.count < size {
            for b in blocks {
                for n in b.node..<(b.node + b.count) {
                    for _ in 0..<b.perNode where out.count < size { out.append(n) }
                }
            }
        }
        return out
    }

    /// The number of distinct nodes among `size` ranks.
    public func nodeCount(size: Int) -> Int { Set(nodeOfRank(size: size)).count }
}
