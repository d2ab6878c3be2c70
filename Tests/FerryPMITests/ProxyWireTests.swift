// The launcher↔proxy channel of a multi-node job (Sources/FerryLaunch/ProxyWire.swift), the
// fence coordinator, the proxy-mode PMI server and the proxy command line: no processes.
import Testing
@testable import FerryLaunch
@testable import FerryPMI
#if canImport(Glibc)
import Glibc
#endif

@Suite("launcher-proxy wire") struct ProxyWireTests {
    static let job = ProxyJob(
        jobID: "123-abcdef01", cookie: String(repeating: "0f", count: 16), nodeIndex: 1, nodeCount: 3, nodeName: "n-2",
        size: 5, universeSize: 8, processMapping: "(vector,(0,1,2),(1,1,1),(2,1,2))", tagOutput: true, bindToCore: false,
        cpuSet: [0, 2], launcherPath: "/opt/ferry/bin/ferry", environment: ["PATH=/bin", "EMPTY=", "UTF=é ü"],
        contexts: [.init(path: "/bin/sh", argv: ["sh", "-c", "echo hi"], workingDirectory: "/tmp", setsPWD: false, settings: ["A=1"]),
                   .init(path: "/bin/true", argv: ["true"], workingDirectory: "/", setsPWD: true, settings: [])],
        ranks: [2, 4], contextOfRank: [0, 1])

    static let samples: [ProxyMessage] = [
        .job(job), .job(ProxyJob(jobID: "j", cookie: "c", nodeIndex: 0, nodeCount: 1, nodeName: "h", size: 1, universeSize: 1,
                                 processMapping: "", tagOutput: false, bindToCore: nil, cpuSet: [], launcherPath: "/f",
                                 environment: [], contexts: [.init(path: "/p", argv: ["p"], workingDirectory: "/", setsPWD: false, settings: [])],
                                 ranks: [0], contextOfRank: [0])),
        .fenceComplete(entries: [PMIKeyValue("k0", "v0"), PMIKeyValue("k 1", "")]), .fenceComplete(entries: []),
        .signal(SIGINT), .kill(firstSignal: SIGTERM), .hello(pid: 4242), .rankStarted(rank: 3, pid: 77),
        .spawnFailed(rank: 0, message: "cannot execute '/x': No such file"),
        .output(stream: 1, bytes: Array("[0] hello\n".utf8)), .output(stream: 2, bytes: [0, 255, 10]),
        .fenceEnter(puts: [PMIKeyValue("card0", "tcp://10.0.0.1:5")]),
        .rankExited(rank: 4, pid: 99, status: .exited(3), initialized: true, finalized: false),
        .rankExited(rank: 0, pid: 98, status: .signaled(SIGKILL), initialized: false, finalized: false),
        .rankProblem(rank: 1, pid: 5, problem: .aborted(code: -7)), .rankProblem(rank: 1, pid: 5, problem: .pmiClosed),
        .rankProblem(rank: 1, pid: 5, problem: .pmiFlood(pendingBytes: 1 << 21)), .done,
    ]

    private func decodeAll(_ bytes: [UInt8]) throws(ProxyWireError) -> [ProxyMessage] {
        var reader = ProxyFrameReader()
        reader.append(bytes)
        var out: [ProxyMessage] = []
        while let m = try reader.next() { out.append(m) }
        return out
    }

    @Test("every message kind survives encode and decode, whole and fed one byte at a time")
    func roundTrip() throws {
        let stream = Self.samples.flatMap(ProxyWire.encode)
        #expect(try decodeAll(stream) == Self.samples)
        var reader = ProxyFrameReader()
        var out: [ProxyMessage] = []
        for byte in stream {
            reader.append([byte])
            while let m = try reader.next() { out.append(m) }
        }
        #expect(out == Self.samples)
        #expect(reader.isEmpty)
        // Direction: what each side may receive.
        #expect(Self.samples.filter(\.isFromProxy).count == Self.samples.count - 6)
    }

    @Test("malformed frames are rejected with the reason, and the reader stays failed")
    func rejections() {
        func error(_ bytes: [UInt8]) -> ProxyWireError? {
            do { _ = try decodeAll(bytes); return nil } catch { return error }
        }
        #expect(error([0, 0, 0, 0]) == .badFrameLength(0))
        #expect(error([0x7f, 0xff, 0xff, 0xff]) == .badFrameLength(0x7fff_ffff))
        #expect(error([0, 0, 0, 1, 99]) == .unknownKind(99))
        #expect(error([0, 0, 0, 1, 5]) == .unknownKind(5))
        #expect(error([0, 0, 0, 2, 16, 0]) == .truncated(kind: 16))
        #expect(error([0, 0, 0, 6, 16, 0, 0, 0, 1, 9]) == .trailingBytes(kind: 16, count: 1))
        #expect(error([0, 0, 0, 5, 16, 0, 0, 0, 0]) == .invalidField(kind: 16, what: "pid 0"))
        #expect(error([0, 0, 0, 5, 3, 0, 0, 0, 65]) == .invalidField(kind: 3, what: "signal 65"))
        // Output on stream 3; a string that is not UTF-8; a boolean of 2.
        #expect(error([0, 0, 0, 6, 19, 3, 0, 0, 0, 0]) == .invalidField(kind: 19, what: "stream 3 is not 1 or 2"))
        #expect(error([0, 0, 0, 11, 18, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xfe].prefix(15).map { $0 }) != nil)
        #expect(error([0, 0, 0, 16, 21, 0, 0, 0, 1, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0]) == .invalidField(kind: 21, what: "a boolean is not 0 or 1"))
        // A list count far beyond the bytes present: refused before any allocation.
        #expect(error([0, 0, 0, 5, 20, 0xff, 0xff, 0xff, 0]) == .invalidField(kind: 20, what: "number 4294967040 is too large"))
        #expect(error([0, 0, 0, 5, 20, 0, 0, 1, 0]) == .truncated(kind: 20))
        // A partial frame is not an error, only incomplete.
        #expect(error([0, 0, 0, 9, 16]) == nil)
        var reader = ProxyFrameReader()
        reader.append([0, 0, 0, 1, 99] + ProxyWire.encode(.done))
        #expect(throws: ProxyWireError.unknownKind(99)) { _ = try reader.next() }
        #expect(throws: ProxyWireError.unknownKind(99)) { _ = try reader.next() }
    }

    @Test("random bytes and corrupted frames never trap: each yields messages or an error")
    func randomBytes() {
        var g = SplitMix64(seed: 0x5EED)  // PMIWireTests.swift
        let valid = Self.samples.flatMap(ProxyWire.encode)
        var errors = 0, messages = 0
        for trial in 0..<3000 {
            var bytes: [UInt8]
            if trial % 2 == 0 {
                // Pure noise, with a plausible small length now and then.
                bytes = (0..<Int.random(in: 0...200, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
                if trial % 4 == 0 && bytes.count > 5 { bytes[0] = 0; bytes[1] = 0; bytes[2] = 0; bytes[3] = UInt8(bytes.count - 4) }
            } else {
                // A valid stream with a few bytes flipped, cut short or not.
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &g) {
                    bytes[Int.random(in: 0..<bytes.count, using: &g)] ^= UInt8.random(in: 1...255, using: &g)
                }
                if Bool.random(using: &g) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &g))) }
            }
            do {
                let decoded = try decodeAll(bytes)
                messages += decoded.count
                // What decodes re-encodes to a prefix of the input: nothing was invented.
                let again = decoded.flatMap(ProxyWire.encode)
                #expect(Array(bytes.prefix(again.count)) == again)
            } catch {
                errors += 1
            }
        }
        #expect(errors > 1000, "most corrupted inputs must be rejected")
        #expect(messages > 0)
    }

    @Test("a fence completes when every proxy sent exactly one message; puts merged in proxy order")
    func fenceCoordinator() {
        var f = FenceCoordinator(proxies: 3)
        #expect(f.arrive(proxy: 2, puts: [PMIKeyValue("k4", "v4"), PMIKeyValue("x", "from2")]) == .waiting)
        #expect(f.arrive(proxy: 0, puts: [PMIKeyValue("k0", "v0"), PMIKeyValue("x", "from0")]) == .waiting)
        #expect(f.arrive(proxy: 0, puts: []) == .duplicate)
        #expect(f.arrive(proxy: 1, puts: []) == .complete([PMIKeyValue("k0", "v0"), PMIKeyValue("x", "from2"), PMIKeyValue("k4", "v4")]))
        #expect(f.fencesCompleted == 1 && f.messagesReceived == 3)
        #expect(f.arrive(proxy: 0, puts: []) == .waiting, "a new fence starts")
    }

    @Test("proxy command: template words, {host} replaced or appended, this ferry's proxy last")
    func proxyCommand() {
        typealias M = MultiNodeSupervisor
        #expect(M.proxyCommand(host: "n1", template: nil, ferry: "/f", local: false) == ["ssh", "n1", "/f", "proxy"])
        #expect(M.proxyCommand(host: "ns-1", template: "ip netns exec {host}", ferry: "/f", local: false)
                == ["ip", "netns", "exec", "ns-1", "/f", "proxy"])
        #expect(M.proxyCommand(host: "b", template: "ssh  -p 2222\tuser@{host}", ferry: "/f", local: false)
                == ["ssh", "-p", "2222", "user@b", "/f", "proxy"])
        #expect(M.proxyCommand(host: "b", template: "rsh", ferry: "/f", local: false) == ["rsh", "b", "/f", "proxy"])
        #expect(M.proxyCommand(host: "b", template: "ssh {host}", ferry: "/f", local: true) == ["/f", "proxy"])
        #expect(M.newCookie().count == 32 && M.newCookie().allSatisfy(\.isHexDigit) && M.newCookie() != M.newCookie())
    }

    @Test("-launcher ssh|fork and -launcher-exec parse; remote hosts need proxies, this host does not")
    func launcherOptions() throws {
        guard case .run(let o) = RunOptions.parse(["-launcher", "fork", "-launcher-exec", "ip netns exec {host}", "-n", "2", "--hosts", "a,b", "p"])
        else { Issue.record("did not parse"); return }
        #expect(o.launcher == .fork && o.launchExec == "ip netns exec {host}")
        #expect(RunOptions.parse(["-launcher", "rsh", "p"]) == .error("-launcher: 'rsh' is not ssh or fork"))
        let plan = try HostPlan(ranks: 2, hosts: [HostSlots("a", slots: 1), HostSlots("b", slots: 1)])
        #expect(RunCommand.needsProxies(plan, o))
        let here = try HostPlan(ranks: 2, hosts: [HostSlots("localhost", slots: 2), HostSlots("b", slots: 1)])
        #expect(!RunCommand.needsProxies(here, o), "b gets no rank")
    }
}

@Suite("PMI server, fence mode (a proxy's)") struct PMIServerFenceTests {
    func sends(_ actions: [PMIServerAction]) -> [String] {
        actions.compactMap { if case let .send(_, line) = $0 { return line } else { return nil } }
    }

    /// A proxy running global ranks 1 and 3 of a 4-rank MPMD job on node 1.
    func server() -> PMIServerState {
        PMIServerState(size: 4, kvsName: "job", appnumOfRank: [0, 0, 1, 1], universeSize: 6,
                       processMapping: "(vector,(0,2,1))", rankOfConnection: [1, 3])
    }

    @Test("the barrier becomes one fence of the local puts; completeFence stores remote puts and releases")
    func fence() {
        let s = server()
        #expect(sends(s.handle(client: 0, line: "cmd=put kvsname=job key=k1 value=one")) == ["cmd=put_result rc=0 msg=success\n"])
        #expect(sends(s.handle(client: 1, line: "cmd=put kvsname=job key=k3 value=three")) == ["cmd=put_result rc=0 msg=success\n"])
        _ = s.handle(client: 0, line: "cmd=put kvsname=job key=k1 value=uno")  // replaced in place
        #expect(s.handle(client: 1, line: "cmd=barrier_in") == [])
        #expect(s.handle(client: 0, line: "cmd=barrier_in") == [.fence(puts: [PMIKeyValue("k1", "uno"), PMIKeyValue("k3", "three")])])
        // Waiting for the launcher: a repeated barrier_in makes no second fence.
        #expect(s.handle(client: 0, line: "cmd=barrier_in") == [])
        #expect(s.completeFence(entries: [PMIKeyValue("k0", "zero"), PMIKeyValue("k1", "uno"), PMIKeyValue("k2", "two"),
                                          PMIKeyValue("k3", "three")])
                == [.send(client: 0, line: "cmd=barrier_out rc=0\n"), .send(client: 1, line: "cmd=barrier_out rc=0\n")])
        #expect(s.fencesCompleted == 1)
        #expect(s.completeFence(entries: []) == [], "no fence in flight")
        #expect(sends(s.handle(client: 1, line: "cmd=get kvsname=job key=k0")) == ["cmd=get_result rc=0 msg=success value=zero\n"])
        #expect(sends(s.handle(client: 1, line: "cmd=get kvsname=job key=k1")) == ["cmd=get_result rc=0 msg=success value=uno\n"])
        #expect(sends(s.handle(client: 0, line: "cmd=get kvsname=job key=PMI_process_mapping"))
                == ["cmd=get_result rc=0 msg=success value=(vector,(0,2,1))\n"])
        // The next fence carries only what was put since.
        _ = s.handle(client: 1, line: "cmd=put kvsname=job key=late value=x")
        _ = s.handle(client: 0, line: "cmd=barrier_in")
        #expect(s.handle(client: 1, line: "cmd=barrier_in") == [.fence(puts: [PMIKeyValue("late", "x")])])
    }

    @Test("connections are global ranks: initack, appnum, size")
    func identity() {
        let s = server()
        #expect(sends(s.handle(client: 1, line: "cmd=initack pmiid=3"))
                == ["cmd=initack rc=0\n", "cmd=set size=4\n", "cmd=set rank=3\n", "cmd=set debug=0\n"])
        #expect(sends(s.handle(client: 0, line: "cmd=initack pmiid=0")).first?.contains("pmiid_not_yours") == true)
        #expect(sends(s.handle(client: 0, line: "cmd=get_appnum")) == ["cmd=appnum appnum=0 rc=0\n"])
        #expect(sends(s.handle(client: 1, line: "cmd=get_appnum")) == ["cmd=appnum appnum=1 rc=0\n"])
        #expect(sends(s.handle(client: 0, line: "cmd=get_universe_size")) == ["cmd=universe_size size=6 rc=0\n"])
    }

    @Test("one-node mode is unchanged: the barrier releases by itself, no fence action")
    func oneNode() {
        let s = PMIServerState(size: 2, kvsName: "k")
        #expect(s.handle(client: 0, line: "cmd=barrier_in") == [])
        #expect(sends(s.handle(client: 1, line: "cmd=barrier_in")) == ["cmd=barrier_out rc=0\n", "cmd=barrier_out rc=0\n"])
        #expect(s.completeFence(entries: [PMIKeyValue("a", "b")]) == [])
        #expect(sends(s.handle(client: 1, line: "cmd=get kvsname=k key=a")).first?.contains("key_not_found") == true)
    }
}

@Suite("multi-node mapping") struct MultiNodeMappingTests {
    @Test("mapping strings and node indices for the shapes the netns tests use")
    func shapes() throws {
        let three = [HostSlots("n1", slots: 2), HostSlots("n2", slots: 1), HostSlots("n3", slots: 2)]
        #expect(try HostPlan(ranks: 5, hosts: three).processMapping == "(vector,(0,1,2),(1,1,1),(2,1,2))")
        // n2 is full after one lap: rank 3 goes to n1, rank 4 to n3.
        #expect(try HostPlan(ranks: 5, hosts: three, mapBy: .node).processMapping == "(vector,(0,3,1),(0,1,1),(2,1,1))")
        let two = [HostSlots("n1", slots: 2), HostSlots("n2", slots: 2)]
        #expect(try HostPlan(ranks: 4, hosts: two, mapBy: .node).hostOfRank == [0, 1, 0, 1])
        // The parsed mapping gives back each rank's node.
        let plan = try HostPlan(ranks: 5, hosts: three, mapBy: .node)
        #expect(try ProcessMapping(plan.processMapping).nodeOfRank(size: 5) == plan.hostOfRank)
    }
}
