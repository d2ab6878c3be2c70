// Where the ranks of a multi-node job go: the hosts (`--hosts`, `--hostfile`), their slots,
// and the mapping (`--map-by slot|node`, `-ppn N`). Pure: text in, plan or a message out, so
// every bad hostfile and every over-full mapping is refused before anything starts.
//
// Hostfile syntax, both families' (one host per line; comments from '#' to the end of the
// line; blank lines ignored; a host named again adds its slots, in first-named order):
//     node1                 one slot (MPICH's default)
//     node2:4               MPICH: 4 slots
//     node3 slots=4         Open MPI: 4 slots (max_slots=N accepted and checked, not used)
// `--hosts a,b:2,c` (MPICH `-hosts`, Open MPI `-H`) takes the same `host[:slots]` entries.
//
// Mapping, as MPICH and Open MPI do by default: by slot ("block": fill the first host's slots,
// then the next host's); `--map-by node` deals ranks out one per host in turn, skipping full
// hosts; `-ppn N` gives every host N slots instead of its own. More ranks than slots is an
// error unless `--oversubscribe`, which keeps dealing around the hosts in the same order.

/// One host of a job and its slots (the ranks it takes before the job is oversubscribed).
public struct HostSlots: Equatable, Sendable {
    public var name: String
    public var slots: Int
    public init(_ name: String, slots: Int) { self.name = name; self.slots = slots }
}

/// How ranks are laid out over the hosts.
public enum MapBy: String, Equatable, Sendable {
    /// Fill each host's slots before the next (block; the default).
    case slot
    /// One rank per host in turn (round robin).
    case node
}

/// Hosts and their slots from `--hosts` and hostfiles.
public enum HostList {
    /// A problem with a host specification, said the way the user wrote it.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ d: String) { description = d }
    }

    /// `a,b:2,c` (`--hosts`, `-hosts`, `-H`).
    public static func parse(hostsArgument text: String) throws(ParseError) -> [HostSlots] {
        var hosts: [HostSlots] = []
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
        for (k, raw) in entries.enumerated() {
            let entry = raw.trimmingWhitespace()
            guard !entry.isEmpty else { throw ParseError("--hosts '\(text)': entry \(k + 1) is empty") }
            let host = try parseEntry(entry) { "--hosts '\(text)': \($0)" }
            merge(host, into: &hosts)
        }
        return hosts
    }

    /// A hostfile's text; `path` names it in messages.
    public static func parse(hostfile text: String, path: String) throws(ParseError) -> [HostSlots] {
        var hosts: [HostSlots] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = words.first else { continue }
            let at = "\(path):\(lineNumber)"
            var host = try parseEntry(String(first)) { "\(at): \($0)" }
            var slotsGiven = first.contains(":")
            for word in words.dropFirst() {
                guard let eq = word.firstIndex(of: "=") else {
                    throw ParseError("\(at): '\(word)' is not key=value (a hostfile line is 'host', 'host:slots' or 'host slots=N')")
                }
                let key = word[..<eq], value = word[word.index(after: eq)...]
                switch key {
                case "slots", "cpu", "count":
                    guard !slotsGiven else { throw ParseError("\(at): slots given twice for \(host.name)") }
                    host.slots = try positive(value) { "\(at): slots=\($0)" }
                    slotsGiven = true
                case "max_slots", "max-slots":
                    let maximum = try positive(value) { "\(at): max_slots=\($0)" }
                    guard maximum >= host.slots else {
                        throw ParseError("\(at): max_slots=\(maximum) is below slots=\(host.slots) for \(host.name)")
                    }
                default:
                    throw ParseError("\(at): unknown keyword '\(key)' (known: slots, max_slots)")
                }
            }
            merge(host, into: &hosts)
        }
        guard !hosts.isEmpty else { throw ParseError("\(path): no hosts in the hostfile") }
        return hosts
    }

    /// `host` or `host:slots`.
    private static func parseEntry(_ entry: String, _ context: (String) -> String) throws(ParseError) -> HostSlots {
        var name = entry, slots = 1
        if let colon = entry.lastIndex(of: ":") {
            name = String(entry[..<colon])
            slots = try positive(entry[entry.index(after: colon)...]) { context("slots of '\(name)': \($0)") }
        }
        guard !name.isEmpty else { throw ParseError(context("'\(entry)' has no host name")) }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-._".contains($0) }), name.first != "-" else {
            throw ParseError(context("'\(name)' is not a host name or address"))
        }
        return HostSlots(name, slots: slots)
    }

    private static func positive(_ text: Substring, _ context: (String) -> String) throws(ParseError) -> Int {
        guard let n = Int(text), n > 0 else { throw ParseError(context("'\(text)' is not a positive number")) }
        return n
    }

    private static func merge(_ host: HostSlots, into hosts: inout [HostSlots]) {
        if let k = hosts.firstIndex(where: { $0.name == host.name }) {
            hosts[k].slots += host.slots
        } else {
            hosts.append(host)
        }
    }
}

/// The host of every rank, and what the ranks need to know about it.
public struct HostPlan: Equatable, Sendable {
    /// The hosts in the order given, with the slots the plan used for them.
    public let hosts: [HostSlots]
    /// The index in `hosts` of each rank's host.
    public let hostOfRank: [Int]

    /// Lays `ranks` ranks out over `hosts`. Throws when the ranks outnumber the slots and
    /// `oversubscribe` is false, saying how many of each there are.
    public init(ranks: Int, hosts given: [HostSlots], mapBy: MapBy = .slot, ranksPerHost: Int? = nil,
                oversubscribe: Bool = false) throws(HostList.ParseError) {
        guard ranks > 0 else { throw HostList.ParseError("a job needs at least one rank") }
        guard !given.isEmpty else { throw HostList.ParseError("no hosts to place the ranks on") }
        if let ppn = ranksPerHost, ppn <= 0 { throw HostList.ParseError("-ppn \(ppn): not a positive number") }
        let hosts = given.map { HostSlots($0.name, slots: ranksPerHost ?? $0.slots) }
        let slots = hosts.reduce(0) { $0 + $1.slots }
        if ranks > slots && !oversubscribe {
            let list = hosts.map { "\($0.name) (\($0.slots))" }.joined(separator: ", ")
            throw HostList.ParseError("\(ranks) ranks but only \(slots) slot\(slots == 1 ? "" : "s") on \(list); "
                                      + "give more slots or hosts, or --oversubscribe")
        }
        var placed = [Int](repeating: 0, count: hosts.count)
        var hostOfRank: [Int] = []
        hostOfRank.reserveCapacity(ranks)
        switch mapBy {
        case .slot:
            // Lap after lap over the hosts, each taking its slots (later laps oversubscribe).
            while hostOfRank.count < ranks {
                for (h, host) in hosts.enumerated() {
                    let take = min(host.slots, ranks - hostOfRank.count)
                    hostOfRank += Array(repeating: h, count: take)
                    placed[h] += take
                }
            }
        case .node:
            // One rank per host in turn, skipping hosts whose slots are used, until every slot
            // is; then, oversubscribing, one per host in turn.
            var h = 0
            while hostOfRank.count < ranks {
                if hostOfRank.count < slots {
                    while placed[h] >= hosts[h].slots { h = (h + 1) % hosts.count }
                }
                hostOfRank.append(h)
                placed[h] += 1
                h = (h + 1) % hosts.count
            }
        }
        self.hosts = hosts
        self.hostOfRank = hostOfRank
    }

    /// Ranks on each host, indexed like `hosts`.
    public var ranksPerHost: [Int] {
        var n = [Int](repeating: 0, count: hosts.count)
        for h in hostOfRank { n[h] += 1 }
        return n
    }

    /// The ranks on host `h`, in rank order.
    public func ranks(onHost h: Int) -> [Int] { hostOfRank.indices.filter { hostOfRank[$0] == h } }

    /// `PMI_process_mapping` in MPICH's syntax: `(vector,(node,count,perNode),...)`, each
    /// triple giving the next `count * perNode` ranks to nodes `node..<node+count`,
    /// `perNode` consecutive ranks each. Node ids are the hosts that have ranks, numbered in
    /// the order of their first rank (as Hydra numbers them).
    public var processMapping: String {
        // Node id of each rank: hosts renumbered by first appearance.
        var nodeOfHost = [Int](repeating: -1, count: hosts.count)
        var nodes = 0
        let nodeOfRank = hostOfRank.map { h -> Int in
            if nodeOfHost[h] < 0 { nodeOfHost[h] = nodes; nodes += 1 }
            return nodeOfHost[h]
        }
        // Runs of equal node id: (node, length).
        var runs: [(node: Int, length: Int)] = []
        for n in nodeOfRank {
            if let last = runs.last, last.node == n { runs[runs.count - 1].length += 1 } else { runs.append((n, 1)) }
        }
        // Consecutive runs on consecutive nodes with the same length make one triple.
        var triples: [(node: Int, count: Int, perNode: Int)] = []
        for run in runs {
            if let t = triples.last, t.perNode == run.length, t.node + t.count == run.node {
                triples[triples.count - 1].count += 1
            } else {
                triples.append((run.node, 1, run.length))
            }
        }
        return "(vector," + triples.map { "(\($0.node),\($0.count),\($0.perNode))" }.joined(separator: ",") + ")"
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
