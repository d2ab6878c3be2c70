// Hosts, hostfiles and rank mapping (Sources/FerryLaunch/HostPlan.swift), and what `ferry run`
// refuses before anything starts.
import Testing
@testable import FerryLaunch
#if canImport(Glibc)
import Glibc
#endif

@Suite("hosts and mapping") struct HostPlanTests {
    private func hostfile(_ text: String) throws -> [HostSlots] { try HostList.parse(hostfile: text, path: "hf") }

    private func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch let e as HostList.ParseError { return e.description } catch { return "\(error)" }
        return nil
    }

    @Test("--hosts: host and host:slots entries; a host named again adds its slots")
    func hostsArgument() throws {
        #expect(try HostList.parse(hostsArgument: "a,b:4,c") == [HostSlots("a", slots: 1), HostSlots("b", slots: 4), HostSlots("c", slots: 1)])
        #expect(try HostList.parse(hostsArgument: "10.0.0.1:2,10.0.0.1:3") == [HostSlots("10.0.0.1", slots: 5)])
        #expect(message { _ = try HostList.parse(hostsArgument: "a,,b") } == "--hosts 'a,,b': entry 2 is empty")
        #expect(message { _ = try HostList.parse(hostsArgument: "a:0") }?.contains("'0' is not a positive number") == true)
        #expect(message { _ = try HostList.parse(hostsArgument: "a:x") }?.contains("'x' is not a positive number") == true)
        #expect(message { _ = try HostList.parse(hostsArgument: ":3") }?.contains("has no host name") == true)
        #expect(message { _ = try HostList.parse(hostsArgument: "a b") }?.contains("is not a host name") == true)
    }

    @Test("hostfiles in MPICH and Open MPI syntax, comments, blank lines")
    func hostfiles() throws {
        let text = """
            # cluster A
            node1            # one slot
            node2:4

            node3 slots=2 max_slots=8
            \tnode1 slots=3
            """
        #expect(try hostfile(text) == [HostSlots("node1", slots: 4), HostSlots("node2", slots: 4), HostSlots("node3", slots: 2)])
        #expect(message { _ = try hostfile("a\nb slots=two\n") } == "hf:2: slots='two' is not a positive number")
        #expect(message { _ = try hostfile("a colour=red") } == "hf:1: unknown keyword 'colour' (known: slots, max_slots)")
        #expect(message { _ = try hostfile("a:2 slots=3") } == "hf:1: slots given twice for a")
        #expect(message { _ = try hostfile("a slots=4 max_slots=2") } == "hf:1: max_slots=2 is below slots=4 for a")
        #expect(message { _ = try hostfile("a extra") }?.hasPrefix("hf:1: 'extra' is not key=value") == true)
        #expect(message { _ = try hostfile("# nothing\n\n") } == "hf: no hosts in the hostfile")
    }

    @Test("map by slot fills each host in turn; by node deals one per host, skipping full hosts")
    func mapping() throws {
        let hosts = [HostSlots("a", slots: 2), HostSlots("b", slots: 3)]
        #expect(try HostPlan(ranks: 5, hosts: hosts).hostOfRank == [0, 0, 1, 1, 1])
        #expect(try HostPlan(ranks: 3, hosts: hosts).hostOfRank == [0, 0, 1])
        #expect(try HostPlan(ranks: 5, hosts: hosts, mapBy: .node).hostOfRank == [0, 1, 0, 1, 1])
        #expect(try HostPlan(ranks: 4, hosts: hosts, ranksPerHost: 2).hostOfRank == [0, 0, 1, 1])
        #expect(try HostPlan(ranks: 4, hosts: hosts, ranksPerHost: 2).ranks(onHost: 1) == [2, 3])
        // Oversubscribed: further laps in the same order.
        #expect(try HostPlan(ranks: 7, hosts: hosts, oversubscribe: true).hostOfRank == [0, 0, 1, 1, 1, 0, 0])
        #expect(try HostPlan(ranks: 7, hosts: hosts, mapBy: .node, oversubscribe: true).hostOfRank == [0, 1, 0, 1, 1, 0, 1])
        #expect(try HostPlan(ranks: 7, hosts: hosts, oversubscribe: true).ranksPerHost == [4, 3])
    }

    @Test("more ranks than slots is refused, naming the counts, unless --oversubscribe")
    func tooFewSlots() {
        let hosts = [HostSlots("a", slots: 2), HostSlots("b", slots: 1)]
        #expect(message { _ = try HostPlan(ranks: 4, hosts: hosts) }
                == "4 ranks but only 3 slots on a (2), b (1); give more slots or hosts, or --oversubscribe")
        #expect(message { _ = try HostPlan(ranks: 3, hosts: hosts, ranksPerHost: 1) }?.hasPrefix("3 ranks but only 2 slots") == true)
        #expect(message { _ = try HostPlan(ranks: 1, hosts: []) } == "no hosts to place the ranks on")
    }

    @Test("PMI_process_mapping in MPICH's syntax")
    func processMapping() throws {
        let two = [HostSlots("a", slots: 2), HostSlots("b", slots: 2)]
        #expect(try HostPlan(ranks: 4, hosts: two).processMapping == "(vector,(0,2,2))")
        #expect(try HostPlan(ranks: 4, hosts: two, mapBy: .node).processMapping == "(vector,(0,2,1),(0,2,1))")
        #expect(try HostPlan(ranks: 3, hosts: two).processMapping == "(vector,(0,1,2),(1,1,1))")
        #expect(try HostPlan(ranks: 5, hosts: [HostSlots("x", slots: 5)]).processMapping == "(vector,(0,1,5))")
        // Node ids follow the hosts that have ranks, in the order of their first rank.
        let three = [HostSlots("a", slots: 1), HostSlots("b", slots: 0 + 1), HostSlots("c", slots: 1)]
        #expect(try HostPlan(ranks: 2, hosts: three).processMapping == "(vector,(0,2,1))")
    }

    @Test("ferry run: host options parse; bad ones stop the launch before anything starts")
    func runOptions() throws {
        guard case .run(let o) = RunOptions.parse(["-hosts", "a:2,b", "--map-by", "node", "-ppn", "2",
                                                   "--oversubscribe", "--launch-exec", "ip netns exec {host}", "-n", "3", "p"])
        else { Issue.record("did not parse"); return }
        #expect(o.hosts == [HostSlots("a", slots: 2), HostSlots("b", slots: 1)])
        #expect(o.mapBy == .node && o.ranksPerHost == 2 && o.oversubscribe && o.launchExec == "ip netns exec {host}")
        #expect(RunOptions.parse(["--map-by", "socket", "p"]) == .error("--map-by: 'socket' is not slot or node"))
        #expect(RunOptions.parse(["-ppn", "0", "p"]) == .error("-ppn: '0' is not a positive number"))
        #expect(RunOptions.parse(["-H", "a,,b", "p"]) == .error("--hosts 'a,,b': entry 2 is empty"))

        func problem(_ args: [String]) -> String? {
            guard case .run(var o) = RunOptions.parse(args + ["true"]) else { return "did not parse" }
            if case .failure(let e) = RunCommand.prepare(&o, path: "/usr/bin:/bin") { return e.message }
            return nil
        }
        #expect(problem(["-n", "2", "--hosts", "localhost:2"]) == nil, "this host alone runs as before")
        #expect(problem(["-n", "4", "-ppn", "2"]) == nil, "-ppn without hosts is this host")
        #expect(problem(["-n", "3", "--hosts", "localhost:2"])?.hasPrefix("3 ranks but only 2 slots") == true)
        #expect(problem(["-n", "3", "--hosts", "localhost:2", "--oversubscribe"]) == nil)
        // Another host: with the default `ssh {host}` its name must resolve; with a template of
        // its own, the start of its proxy is the check.
        #expect(problem(["-n", "2", "--hosts", "localhost,elsewhere.invalid"])?.hasPrefix("unknown host 'elsewhere.invalid': cannot resolve it") == true)
        #expect(problem(["-n", "2", "--hosts", "localhost,elsewhere.invalid", "--launch-exec", "ip netns exec {host}"]) == nil)
        #expect(problem(["-n", "3", "--hosts", "localhost,elsewhere.invalid", "--launch-exec", "x"])?.hasPrefix("3 ranks but only 2 slots") == true)
        #expect(problem(["-n", "1", "--hostfile", "/nonexistent/hosts"]) == "cannot read hostfile '/nonexistent/hosts'")
        // A hostfile on disk, with a syntax error on its second line.
        var template = Array("/tmp/ferry-hostfile-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        #expect(fd >= 0)
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        let text = "localhost:2\nlocalhost slots=x\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        #expect(problem(["-n", "1", "-f", path]) == "\(path):2: slots='x' is not a positive number")
    }
}
