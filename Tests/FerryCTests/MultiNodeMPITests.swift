// MPI across network namespaces (scripts/netns), started by Ferry's own launcher: one `ferry
// proxy` per namespace through `--launch-exec "ip netns exec {host}"`, shared memory inside each
// namespace and TCP between them. The C programs of tests/c (built with mpicc.mpich) run on
// 2 namespaces x 2 ranks and on 3 namespaces of 2, 1 and 2 ranks (mixed shared memory and TCP in
// one job; bigmsg moves messages up to 256 MiB, every byte checked); a stranger's connection to a
// rank's listener is refused while the job goes on; a node with two interfaces of which only one
// reaches the peer still connects; a rank killed mid-job ends the job on every node.
//
// Needs root and iproute2 (scripts/test runs as root in CI): without them the tests fail, they do
// not skip. Each test builds its own topology (prefix fcm<k>, subnets 10.82-10.86.0.0/24, apart
// from the launcher tests' 10.91-10.99) and removes it in a defer.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A topology of `nodes` namespaces for one test; `down()` in the test's defer.
private struct Topology {
    let prefix: String
    static var script: String { CHarness.root.appendingPathComponent("scripts/netns").path }

    init(_ number: Int, nodes: Int, secondInterface: Bool = false) throws {
        prefix = "fcm\(number)"
        var args = ["up", "--replace", "--nodes", "\(nodes)", "--prefix", prefix, "--subnet", "10.8\(number).0.0/24"]
        if secondInterface { args += ["--second-if", "--subnet2", "10.8\(number + 1).0.0/24"] }
        let o = try CHarness.run(Self.script, args, bound: 60)
        try #require(o.status == 0, "scripts/netns up (root and iproute2 are needed): \(o.summary)")
    }

    func host(_ i: Int) -> String { "\(prefix)-n\(i)" }

    func down() {
        let o = try? CHarness.run(Self.script, ["down", "--prefix", prefix], bound: 60)
        #expect(o?.status == 0, "scripts/netns down: \(o?.summary ?? "did not run")")
        let list = try? CHarness.run("/usr/sbin/ip", ["netns", "list"], bound: 10)
        #expect(!(list?.stdout.contains(prefix + "-") ?? true), "namespaces left: \(list?.stdout ?? "")")
    }
}

extension FerryCTests {
@Suite("MPI across network namespaces (ferry run --hosts, TCP between nodes)")
struct MultiNodeMPITests {
    /// Same selection as the Hydra runs: everything but the programs that start processes
    /// across nodes (tests/c/rma runs with its windows spread over the nodes).
    static let programs = CHarness.programs.filter {
        HydraMappingTests.groups.contains($0.group) && !HydraMappingTests.needsOneNode.contains($0.name)
    }

    /// `ferry run -n ranks --hosts hosts --launch-exec "ip netns exec {host}" binary`.
    static func run(_ binary: URL, ranks: Int, hosts: String, prefix: URL, environment: [String: String] = [:],
                    bound: Double = 120) throws -> CHarness.Outcome {
        var env = ["LD_LIBRARY_PATH": prefix.appendingPathComponent("lib").path]
        env.merge(environment) { $1 }
        return try CHarness.run(prefix.appendingPathComponent("bin/ferry").path,
                                ["run", "-n", "\(ranks)", "--timeout", "\(Int(bound) - 15)", "--hosts", hosts,
                                 "--launch-exec", "ip netns exec {host}", binary.path],
                                environment: env, directory: CHarness.workDirectory, bound: bound)
    }

    static func build(_ program: CProgram, prefix: URL) -> URL? {
        switch CHarness.binary(program, .mpich, prefix: prefix) {
        case .success(let url): return url
        case .failure(let f): Issue.record(Comment(rawValue: f.text)); return nil
        }
    }

    /// Every program of the selection on one topology; one issue per failing program.
    func suite(nodes: Int, slots: [Int], number: Int) throws {
        guard let prefix = CHarness.prefix() else { return }
        let topology = try Topology(number, nodes: nodes)
        defer { topology.down() }
        let hosts = slots.enumerated().map { "\(topology.host($0.offset + 1)):\($0.element)" }.joined(separator: ",")
        let ranks = slots.reduce(0, +)
        for program in Self.programs {
            guard let binary = Self.build(program, prefix: prefix) else { continue }
            let o = try Self.run(binary, ranks: ranks, hosts: hosts, prefix: prefix)
            #expect(o.status == 0 && !o.timedOut, "\(program.name) -n \(ranks) on \(hosts): \(o.summary)")
            #expect(CHarness.okLines(o.stdout, of: program).count == 1, "\(program.name) on \(hosts): no single OK line: \(o.summary)")
            print("C across namespaces \(program.name) -n \(ranks) [\(hosts)]: exit \(o.status) in \(String(format: "%.2f", o.seconds)) s")
        }
    }

    @Test("tests/c on 2 namespaces x 2 ranks", .timeLimit(.minutes(10)))
    func twoByTwo() throws { try suite(nodes: 2, slots: [2, 2], number: 2) }

    @Test("tests/c on 3 namespaces of 2, 1 and 2 ranks (shared memory and TCP in one job)", .timeLimit(.minutes(10)))
    func threeMixed() throws { try suite(nodes: 3, slots: [2, 1, 2], number: 3) }

    static let bigmsg = CHarness.programs.first { $0.name == "multinode/bigmsg" }

    @Test("a stranger's connection to a rank's listener is refused and logged; the job goes on", .timeLimit(.minutes(3)))
    func stranger() throws {
        guard let prefix = CHarness.prefix(), let program = Self.bigmsg, let binary = Self.build(program, prefix: prefix) else { return }
        let topology = try Topology(4, nodes: 2)
        defer { topology.down() }
        // The job runs long enough (a slow ring of 256 MiB messages) for the stranger to call.
        let out = CHarness.workDirectory.appendingPathComponent("stranger-\(UUID().uuidString).out")
        let err = CHarness.workDirectory.appendingPathComponent("stranger-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        let job = Process()
        job.executableURL = prefix.appendingPathComponent("bin/ferry")
        job.arguments = ["run", "-n", "2", "--timeout", "100", "--hosts", "\(topology.host(1)),\(topology.host(2))",
                         "--launch-exec", "ip netns exec {host}", binary.path]
        job.environment = ProcessInfo.processInfo.environment.merging(
            ["LD_LIBRARY_PATH": prefix.appendingPathComponent("lib").path, "FERRY_BIGMSG_MAX": "\(256 << 20)"]) { $1 }
        job.standardOutput = try FileHandle(forWritingTo: out)
        job.standardError = try FileHandle(forWritingTo: err)
        job.standardInput = FileHandle.nullDevice
        try job.run()
        defer { if job.isRunning { kill(job.processIdentifier, SIGKILL) } }
        // Rank 1 (node 2) listens on 10.84.0.12: find its port while the job runs.
        var port: String? = nil
        let start = Date()
        while port == nil && Date().timeIntervalSince(start) < 30 && job.isRunning {
            let ss = try CHarness.run("/usr/sbin/ip", ["netns", "exec", topology.host(2), "ss", "-Htln", "src", "10.84.0.12"], bound: 10)
            port = ss.stdout.split(separator: "\n").compactMap { line in
                line.split(separator: " ", omittingEmptySubsequences: true).first { $0.hasPrefix("10.84.0.12:") }
                    .map { String($0.dropFirst("10.84.0.12:".count)) }
            }.first
            if port == nil { usleep(50_000) }
        }
        try #require(port != nil, "no listener of rank 1 found")
        // From the host (10.84.0.1): garbage, then a connection that says nothing and closes.
        let garbage = try CHarness.run("/bin/bash", ["-c", "exec 3<>/dev/tcp/10.84.0.12/\(port!); printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; sleep 0.3; exec 3>&-"], bound: 10)
        #expect(garbage.status == 0, "the stranger could not even connect: \(garbage.summary)")
        while job.isRunning && Date().timeIntervalSince(start) < 110 { usleep(50_000) }
        job.waitUntilExit()
        let stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        #expect(job.terminationStatus == 0, "the job goes on: \(stdout)\n\(stderr)")
        #expect(stdout.contains("bigmsg: OK"), "\(stdout)\n\(stderr)")
        #expect(stderr.contains("refused a TCP connection from 10.84.0.1:"), "logged: \(stderr)")
        #expect(stderr.components(separatedBy: "refused a TCP connection").count - 1 <= 6, "logged a bounded number of times: \(stderr)")
    }

    @Test("a node with two interfaces of which only one reaches the peer connects over that one", .timeLimit(.minutes(3)))
    func twoInterfaces() throws {
        guard let prefix = CHarness.prefix(), let program = Self.bigmsg, let binary = Self.build(program, prefix: prefix) else { return }
        // n1's eth1 (10.86.0.11) is alone on its bridge: the peer's second address (10.86.0.12)
        // cannot be reached from n1, which connects to the higher rank.
        let topology = try Topology(5, nodes: 2, secondInterface: true)
        defer { topology.down() }
        let hosts = "\(topology.host(1)):2,\(topology.host(2)):2"
        let o = try Self.run(binary, ranks: 4, hosts: hosts, prefix: prefix, environment: ["FERRY_BIGMSG_MAX": "\(1 << 20)"])
        #expect(o.status == 0 && o.stdout.contains("bigmsg: OK"), "\(o.summary)")
        #expect(o.seconds < 20, "no long hang on the dead interface: \(o.seconds) s")
        // Naming only the dead interface on every node: a clear error naming the ranks, the
        // hosts and the addresses tried, within FERRY_CONNECT_TIMEOUT.
        let dead = try Self.run(binary, ranks: 2, hosts: "\(topology.host(1)),\(topology.host(2))", prefix: prefix,
                                environment: ["FERRY_TCP_IF": "eth1", "FERRY_CONNECT_TIMEOUT": "2", "FERRY_BIGMSG_MAX": "8"])
        #expect(dead.status != 0 && !dead.timedOut, "\(dead.summary)")
        #expect(dead.stderr.contains("10.86.0.12"), "the address tried is named: \(dead.summary)")
        #expect(dead.seconds < 15, "fails within the connect timeout: \(dead.seconds) s")
    }

    @Test("accept/connect with a side on several nodes fails on both sides with MPI_ERR_UNSUPPORTED_OPERATION, no hang",
          .timeLimit(.minutes(2)))
    func acceptConnectAcrossNodes() throws {
        guard let prefix = CHarness.prefix() else { return }
        let topology = try Topology(6, nodes: 2)
        defer { topology.down() }
        let dir = CHarness.workDirectory.appendingPathComponent("multinode-accept")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let src = dir.appendingPathComponent("accept.c"), bin = dir.appendingPathComponent("accept")
        // Rank 0 accepts on MPI_COMM_SELF; ranks 1-3 (on both nodes) connect together.
        try #"""
        #include <mpi.h>
        #include <stdio.h>
        int main(int argc, char **argv) {
            MPI_Init(&argc, &argv);
            int rank, zero = 0, rc, cls;
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
            MPI_Group world, rest;
            MPI_Comm_group(MPI_COMM_WORLD, &world);
            MPI_Group_excl(world, 1, &zero, &rest);
            MPI_Comm others, inter;
            MPI_Comm_create(MPI_COMM_WORLD, rest, &others);
            char port[MPI_MAX_PORT_NAME] = "";
            if (rank == 0) {
                MPI_Open_port(MPI_INFO_NULL, port);
                MPI_Send(port, MPI_MAX_PORT_NAME, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
                rc = MPI_Comm_accept(port, MPI_INFO_NULL, 0, MPI_COMM_SELF, &inter);
            } else {
                MPI_Comm_set_errhandler(others, MPI_ERRORS_RETURN);
                if (rank == 1) MPI_Recv(port, MPI_MAX_PORT_NAME, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                rc = MPI_Comm_connect(port, MPI_INFO_NULL, 0, others, &inter);
            }
            MPI_Error_class(rc, &cls);
            printf("rank %d: unsupported %d\n", rank, cls == MPI_ERR_UNSUPPORTED_OPERATION);
            MPI_Finalize();
            return 0;
        }
        """#.write(to: src, atomically: true, encoding: .utf8)
        let cc = try CHarness.run(CHarness.mpichCompiler, ["-o", bin.path, src.path], bound: 60)
        try #require(cc.status == 0, "\(cc.summary)")
        let o = try Self.run(bin, ranks: 4, hosts: "\(topology.host(1)):2,\(topology.host(2)):2", prefix: prefix, bound: 60)
        #expect(o.status == 0 && !o.timedOut && o.seconds < 20, "\(o.summary)")
        for r in 0..<4 { #expect(o.stdout.contains("rank \(r): unsupported 1"), "rank \(r): \(o.summary)") }
    }

    @Test("a rank killed by a signal mid-job ends the job on every node, nothing left", .timeLimit(.minutes(3)))
    func rankKilled() throws {
        guard let prefix = CHarness.prefix() else { return }
        let topology = try Topology(6, nodes: 2)
        defer { topology.down() }
        let dir = CHarness.workDirectory.appendingPathComponent("multinode-kill")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let src = dir.appendingPathComponent("killed.c"), bin = dir.appendingPathComponent("killed")
        try #"""
        #include <mpi.h>
        #include <signal.h>
        #include <stdio.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            MPI_Init(&argc, &argv);
            int rank, x = 0;
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            for (int i = 0; i < 200; i++) MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
            printf("rank %d pid %d running\n", rank, (int)getpid());
            fflush(stdout);
            if (rank == 3) { usleep(200000); raise(SIGKILL); }
            for (;;) MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        }
        """#.write(to: src, atomically: true, encoding: .utf8)
        let cc = try CHarness.run(CHarness.mpichCompiler, ["-o", bin.path, src.path], bound: 60)
        try #require(cc.status == 0, "\(cc.summary)")
        let o = try Self.run(bin, ranks: 4, hosts: "\(topology.host(1)):2,\(topology.host(2)):2", prefix: prefix, bound: 60)
        #expect(o.status == 128 + 9 || o.status == 137, "status: \(o.summary)")
        #expect(o.stderr.contains("rank 3") && o.stderr.contains(topology.host(2)), "names rank and host: \(o.summary)")
        #expect(o.seconds < 10, "ends at once: \(o.summary)")
        let pids = o.stdout.split(separator: "\n").compactMap { line -> Int32? in
            guard let r = line.range(of: " pid ") else { return nil }
            return Int32(line[r.upperBound...].prefix { $0.isNumber })
        }
        #expect(pids.count == 4, "\(o.summary)")
        usleep(500_000)
        for pid in pids { #expect(kill(pid, 0) != 0, "rank process \(pid) is still alive") }
        let shm = ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []).filter { name in
            pids.contains { name.hasPrefix("ferry-\($0)-") }
        }
        #expect(shm.isEmpty, "segments left: \(shm)")
    }
}
}
