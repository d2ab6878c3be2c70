// The Swift multi-process suites across network namespaces: every `mpitests` case (values
// checked by the program) and the Swift API test, on 2 namespaces x 2 ranks and on 3 namespaces
// of 2, 1 and 2 ranks (shared memory and TCP in one job), started by `ferry run --hosts ...
// --launch-exec "ip netns exec {host}"`. One topology (prefix flx0, 10.90.x.0/24) for the whole
// test, removed in its defer. Needs root and iproute2.
import Foundation
import Testing

extension FerryIntegration {
/// Inside the serialized integration suite: its mpitests runs must not overlap the one-node
/// cases (which check that no mpitests process of theirs is left).
@Suite("Swift suites across network namespaces")
struct MultiNodeSwiftTests {
    /// The mpitests cases that run across nodes: all but the ones that need windows (none of
    /// mpitests' cases do) — every case at 4 and 5 ranks.
    static let cases = ["p2p", "wildcard", "datatypes", "comms", "errors", "cancel", "persistent", "probe", "bsend",
                        "attributes", "collectives", "edge", "intercomm", "sizes", "threads"]

    @Test("mpitests and swift-api-test on 2x2 and 2+1+2 namespaces", .timeLimit(.minutes(10)))
    func acrossNamespaces() throws {
        if let missing = Harness.missingBinaries { Issue.record(Comment(rawValue: missing)); return }
        let ns = try Namespaces(0, nodes: 3)
        defer { ns.down() }
        let layouts = [(4, "\(ns.name(1)):2,\(ns.name(2)):2"), (5, "\(ns.name(1)):2,\(ns.name(2)):1,\(ns.name(3)):2")]
        for (ranks, hosts) in layouts {
            for name in Self.cases {
                let o = try Harness.run(name, ranks: ranks, hosts: hosts)
                #expect(o.status == 0 && !o.timedOut, "\(name) -n \(ranks) on \(hosts): \(o.summary)")
                let lines = o.stdout.split(separator: "\n").map(String.init)
                #expect(lines.filter { $0 == "\(name): OK" }.count == 1, "\(name) on \(hosts): no single OK line: \(o.summary)")
                print("mpitests \(name) -n \(ranks) [\(hosts)]: exit \(o.status) in \(String(format: "%.2f", o.seconds)) s")
            }
            let api = try Harness.run("", ranks: ranks, program: "swift-api-test", hosts: hosts)
            #expect(api.status == 0 && !api.timedOut, "swift-api-test -n \(ranks) on \(hosts): \(api.summary)")
            #expect(api.stdout.split(separator: "\n").contains("swift-api: OK"), "\(api.summary)")
            print("swift-api-test -n \(ranks) [\(hosts)]: exit \(api.status) in \(String(format: "%.2f", api.seconds)) s")
        }
    }
}
}
