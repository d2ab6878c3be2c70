// `ferry run` across network namespaces (scripts/netns): one `ferry proxy` per namespace started
// through `--launch-exec "ip netns exec {host}"`, ranks that are shell commands or a small C
// program speaking PMI-1, and the failures that must end the whole job. Needs root and iproute2
// (the namespaces are the test's subject: without them the tests fail, they do not skip).
//
// Every test builds its own topology (prefix flx1..flx9, subnet 10.9N.0.0/24 or, if another test
// network routes that, 10.9N.16k.0/24) and removes it in a defer, checking `ip netns list`
// afterwards; every run is bounded in time and killed by pid; every process a job starts carries FLX_TEST_TOKEN=<uuid> in its environment (the
// launcher's environment reaches proxies and ranks), which is how "nothing left" is checked.
// The `ferry` binary comes from Harness.binDir (FERRY_BIN_DIR or <package>/.build/debug).
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A netns topology for one test: `up` in init, `down()` in the test's defer.
struct Namespaces {
    let prefix: String
    let nodes: Int
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/netns").path
    }

    init(_ number: Int, nodes: Int) throws {
        prefix = "flx\(number)"
        self.nodes = nodes
        // 10.9<number>.0.0/24, or the next free 10.9<number>.k.0/24 when another test network
        // already routes it (netns refuses a routed subnet).
        var (status, output) = (Int32(-1), "")
        for k in 0..<16 {
            (status, output) = MultiNode.shell([Self.script, "up", "--replace", "--nodes", "\(nodes)", "--prefix", prefix,
                                                "--subnet", "10.9\(number).\(k * 16).0/24"])
            if status == 0 || !output.contains("already routed") { break }
        }
        try #require(status == 0, "scripts/netns up failed (root and iproute2 are needed): \(output)")
    }

    func name(_ i: Int) -> String { "\(prefix)-n\(i)" }

    /// The inode of namespace i's network namespace, as a process inside it sees /proc/self/ns/net.
    func inode(_ i: Int) -> String {
        var st = stat()
        return stat("/run/netns/\(name(i))", &st) == 0 ? "\(st.st_ino)" : "?"
    }

    func down() {
        let (status, output) = MultiNode.shell([Self.script, "down", "--prefix", prefix])
        #expect(status == 0, "scripts/netns down: \(output)")
        let (_, list) = MultiNode.shell(["/usr/sbin/ip", "netns", "list"])
        #expect(!list.contains(prefix + "-"), "namespaces left: \(list)")
    }
}

enum MultiNode {
    static var ferry: String { Harness.ferry.path }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        var seconds: Double
        var timedOut: Bool
        var token: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
        var summary: String { "exit \(status) after \(String(format: "%.2f", seconds)) s\(timedOut ? " TIMED OUT" : "")\n--- stderr\n\(stderr)" }
    }

    /// Runs a command to completion (setup helpers); returns its status and combined output.
    static func shell(_ argv: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `ferry run <arguments>` with FLX_TEST_TOKEN set, stdout and stderr to files; SIGTERM past
    /// `limit` seconds, SIGKILL 2 s later. `whileRunning(pid, stdoutPath, token)` runs once it started.
    static func run(_ arguments: [String], limit: Double = 30, environment: [String: String] = [:],
                    whileRunning: ((Int32, String, String) -> Void)? = nil) throws -> Outcome {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-mn-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let token = UUID().uuidString
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ferry)
        p.arguments = ["run"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["FLX_TEST_TOKEN"] = token
        env.merge(environment) { $1 }
        p.environment = env
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let start = Date()
        try p.run()
        whileRunning?(p.processIdentifier, outURL.path, token)
        var timedOut = false
        while p.isRunning {
            if Date().timeIntervalSince(start) > limit && !timedOut {
                timedOut = true
                kill(p.processIdentifier, SIGTERM)
                let grace = Date()
                while p.isRunning && Date().timeIntervalSince(grace) < 2 { usleep(10_000) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            }
            usleep(2_000)
        }
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        try out.close(); try err.close()
        let status = p.terminationReason == .exit ? p.terminationStatus : 128 + p.terminationStatus
        return Outcome(status: status, stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
                       seconds: seconds, timedOut: timedOut, token: token)
    }

    /// Pids of live processes whose environment holds FLX_TEST_TOKEN=`token` (zombies excluded).
    static func processes(token: String) -> [Int32] {
        let needle = Array("FLX_TEST_TOKEN=\(token)".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard pid != getpid(),
                  let status = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = status.lastIndex(of: ")"),
                  status[status.index(close, offsetBy: 2)] != "Z",
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return environ.split(separator: 0).contains { Array($0) == needle }
        }
    }

    /// Waits up to `seconds` for every process of the job to be gone; returns those left.
    static func leftovers(token: String, within seconds: Double = 2) -> [Int32] {
        let end = Date().addingTimeInterval(seconds)
        var left = processes(token: token)
        while !left.isEmpty && Date() < end { usleep(20_000); left = processes(token: token) }
        return left
    }

    /// /dev/shm entries starting with `prefix`.
    static func shm(_ prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []).filter { $0.hasPrefix(prefix) }
    }

    /// An executable script with `text` in the temporary directory (a stand-in launch template).
    static func script(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-mn-\(UUID().uuidString).sh").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// Waits until the file at `path` has a line with `marker` at least `count` times (or 10 s).
    static func waitForLines(_ path: String, containing marker: String, count: Int) -> String {
        let end = Date().addingTimeInterval(10)
        var text = ""
        while Date() < end {
            text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if text.split(separator: "\n").filter({ $0.contains(marker) }).count >= count { break }
            usleep(10_000)
        }
        return text
    }

    /// A rank program (for `sh -c`) that creates a segment-like file for its job and its host's
    /// keeper in /dev/shm (which teardown must remove), prints `ready`, then does `then`.
    static func withSegments(_ then: String) -> String {
        #"touch /dev/shm/ferry-$FERRY_JOBID-r$PMI_RANK /dev/shm/ferry-$FERRY_NODE_KEEPER_PID-r$PMI_RANK; "#
            + #"echo "ready $PMI_RANK $FERRY_JOBID $FERRY_NODE_KEEPER_PID"; "# + then
    }

    /// The C rank: PMI-1 over PMI_FD (init, kvsname, universe, appnum; `rounds` times put k<rank>-<round>,
    /// barrier, get every rank's key; the mapping; finalize). Prints one line per value it got.
    static let pmiProgram = #"""
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <unistd.h>
    static int fd;
    static char line[8192];
    static void say(const char *s) {
        size_t n = strlen(s);
        while (n) { ssize_t w = write(fd, s, n); if (w <= 0) exit(90); s += w; n -= (size_t)w; }
    }
    static const char *hear(void) {
        size_t n = 0;
        for (;;) {
            char c; ssize_t r = read(fd, &c, 1);
            if (r <= 0) exit(91);
            if (c == '\n') { line[n] = 0; return line; }
            if (n < sizeof line - 1) line[n++] = c;
        }
    }
    /* The value of `key` in a reply line, copied to `out`; empty when absent. */
    static char *field(const char *reply, const char *key, char *out, size_t size) {
        size_t k = strlen(key); out[0] = 0;
        for (const char *p = reply; *p; p++) {
            if ((p == reply || p[-1] == ' ') && !strncmp(p, key, k) && p[k] == '=') {
                size_t i = 0; const char *v = p + k + 1;
                while (v[i] && v[i] != ' ' && i < size - 1) { out[i] = v[i]; i++; }
                out[i] = 0; break;
            }
        }
        return out;
    }
    int main(int argc, char **argv) {
        fd = atoi(getenv("PMI_FD"));
        int rank = atoi(getenv("PMI_RANK")), size = atoi(getenv("PMI_SIZE"));
        int rounds = argc > 1 ? atoi(argv[1]) : 1;
        char kvs[256], v[2048], request[4096];
        say("cmd=init pmi_version=1 pmi_subversion=1\n");
        if (strcmp(field(hear(), "rc", v, sizeof v), "0")) return 10;
        say("cmd=get_my_kvsname\n"); field(hear(), "kvsname", kvs, sizeof kvs);
        say("cmd=get_universe_size\n"); printf("rank %d universe %s\n", rank, field(hear(), "size", v, sizeof v));
        say("cmd=get_appnum\n"); printf("rank %d appnum %s\n", rank, field(hear(), "appnum", v, sizeof v));
        printf("rank %d kvs %s\n", rank, kvs);
        for (int r = 0; r < rounds; r++) {
            snprintf(request, sizeof request, "cmd=put kvsname=%s key=k%d-%d value=v%d-%d-%s\n", kvs, rank, r, rank, r,
                     getenv("FERRY_NODE_NAME"));
            say(request);
            if (strcmp(field(hear(), "rc", v, sizeof v), "0")) return 11;
            say("cmd=barrier_in\n");
            if (strcmp(field(hear(), "cmd", v, sizeof v), "barrier_out")) return 12;
            for (int j = 0; j < size; j++) {
                snprintf(request, sizeof request, "cmd=get kvsname=%s key=k%d-%d\n", kvs, j, r);
                say(request);
                printf("rank %d round %d k%d-%d=%s\n", rank, r, j, r, field(hear(), "value", v, sizeof v));
            }
        }
        snprintf(request, sizeof request, "cmd=get kvsname=%s key=PMI_process_mapping\n", kvs);
        say(request);
        printf("rank %d mapping %s\n", rank, field(hear(), "value", v, sizeof v));
        say("cmd=finalize\n");
        if (strcmp(field(hear(), "cmd", v, sizeof v), "finalize_ack")) return 13;
        return 0;
    }
    """#

    /// Compiles `pmiProgram` once per test process; returns the executable's path.
    static let pmiExecutable: String? = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-mn-pmi-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let source = dir.appendingPathComponent("pmi.c"), exe = dir.appendingPathComponent("pmi-rank")
        guard (try? pmiProgram.write(to: source, atomically: true, encoding: .utf8)) != nil else { return nil }
        let (status, _) = shell(["/usr/bin/cc", "-O1", "-o", exe.path, source.path])
        return status == 0 ? exe.path : nil
    }()
}

@Suite(.serialized) struct MultiNodeLaunchTests {
    typealias M = MultiNode
    let exec = ["--launch-exec", "ip netns exec {host}"]

    /// The rank line of the placement tests: rank, node index, node name, local rank, netns inode.
    let placementScript = #"echo $PMI_RANK $FERRY_NODE_INDEX $FERRY_NODE_NAME $FERRY_LOCAL_RANK $FERRY_LOCAL_SIZE $FERRY_NODE_COUNT $(stat -L -c %i /proc/self/ns/net)"#

    @Test("2 namespaces x 2 ranks, by slot: every rank runs in its host's namespace with the right identity")
    func placementBySlot() throws {
        let ns = try Namespaces(1, nodes: 2)
        defer { ns.down() }
        let r = try M.run(["-n", "4", "--hosts", "\(ns.name(1)):2,\(ns.name(2)):2"] + exec + ["-l", "sh", "-c", placementScript], limit: 20)
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.summary)")
        let expected = [(0, 1, 0), (1, 1, 1), (2, 2, 0), (3, 2, 1)].map { rank, node, local in
            "[\(rank)] \(rank) \(node - 1) \(ns.name(node)) \(local) 2 2 \(ns.inode(node))"
        }
        #expect(r.lines.sorted() == expected)
        #expect(ns.inode(1) != ns.inode(2))
        #expect(M.leftovers(token: r.token).isEmpty)
    }

    @Test("--map-by node deals ranks round robin; FERRY_NODE_INDEX follows the mapping")
    func placementByNode() throws {
        let ns = try Namespaces(2, nodes: 2)
        defer { ns.down() }
        let r = try M.run(["-n", "4", "--hosts", "\(ns.name(1)):2,\(ns.name(2)):2", "--map-by", "node"] + exec
                          + ["-l", "sh", "-c", placementScript], limit: 20)
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.summary)")
        let expected = [(0, 1, 0), (1, 2, 0), (2, 1, 1), (3, 2, 1)].map { rank, node, local in
            "[\(rank)] \(rank) \(node - 1) \(ns.name(node)) \(local) 2 2 \(ns.inode(node))"
        }
        #expect(r.lines.sorted() == expected)
    }

    @Test("PMI-1 across 3 namespaces (MPMD, 2 fences): every put is seen everywhere; one message per proxy per fence")
    func pmiExchange() throws {
        let program = try #require(M.pmiExecutable, "cc could not build the PMI rank program")
        let ns = try Namespaces(3, nodes: 3)
        defer { ns.down() }
        // n1: ranks 0,1; n2: rank 2; n3: ranks 3,4. Context 0 = ranks 0..2, context 1 = ranks 3,4.
        let r = try M.run(["--hosts", "\(ns.name(1)):2,\(ns.name(2)):1,\(ns.name(3)):2"] + exec
                          + ["-n", "3", program, "2", ":", "-n", "2", program, "2"],
                          limit: 30, environment: ["FERRY_DEBUG_PROXY": "1"])
        #expect(r.status == 0, "\(r.summary)")
        let node = [1, 1, 2, 3, 3]
        var expected: [String] = []
        for rank in 0..<5 {
            expected.append("rank \(rank) universe 5")
            expected.append("rank \(rank) appnum \(rank < 3 ? 0 : 1)")
            for round in 0..<2 {
                for j in 0..<5 { expected.append("rank \(rank) round \(round) k\(j)-\(round)=v\(j)-\(round)-\(ns.name(node[j]))") }
            }
            expected.append("rank \(rank) mapping (vector,(0,1,2),(1,1,1),(2,1,2))")
        }
        let got = r.lines.filter { !$0.contains(" kvs ") }
        #expect(got.sorted() == expected.sorted())
        // One key-value space name for the job, on every host.
        #expect(Set(r.lines.filter { $0.contains(" kvs ") }.map { $0.split(separator: " ").last! }).count == 1)
        // The launcher's count: fence 1 after 3 messages, fence 2 after 6 (a second message
        // from one proxy in a fence would have failed the job).
        let fences = r.stderr.split(separator: "\n").filter { $0.hasPrefix("ferry run: fence ") }
        #expect(fences == ["ferry run: fence 1: 3 proxies, 3 messages so far, 5 entries",
                           "ferry run: fence 2: 3 proxies, 6 messages so far, 5 entries"])
    }

    @Test("a rank exiting 3 before finalize ends the job on every host: message, status 3, < 2 s, nothing left")
    func rankExitsEarly() throws {
        let ns = try Namespaces(4, nodes: 2)
        defer { ns.down() }
        // Each rank leaves segment files, then rank 3 exits 3; the others sleep.
        let script = M.withSegments(#"if [ $PMI_RANK = 3 ]; then sleep 0.3; exit 3; fi; sleep 30"#)
        let r = try M.run(["-n", "4", "--hosts", "\(ns.name(1)):2,\(ns.name(2)):2"] + exec + ["sh", "-c", script], limit: 20)
        #expect(r.status == 3, "\(r.summary)")
        #expect(r.seconds < 2.0, "\(r.summary)")
        let failures = r.stderr.split(separator: "\n").filter { $0.hasPrefix("ferry run:") }
        #expect(failures.count == 1 && failures[0].hasPrefix("ferry run: rank 3 (pid ")
                && failures[0].hasSuffix(" on host \(ns.name(2)) exited with code 3; job terminated"), "\(r.stderr)")
        try expectNothingLeft(r)
    }

    @Test("a rank killed by SIGKILL: status 137, message names rank, host and signal")
    func rankKilled() throws {
        let ns = try Namespaces(5, nodes: 2)
        defer { ns.down() }
        let script = M.withSegments(#"if [ $PMI_RANK = 1 ]; then sleep 0.3; kill -9 $$; fi; sleep 30"#)
        let r = try M.run(["-n", "4", "--hosts", "\(ns.name(1)):2,\(ns.name(2)):2"] + exec + ["sh", "-c", script], limit: 20)
        #expect(r.status == 137, "\(r.summary)")
        #expect(r.seconds < 2.0)
        #expect(r.stderr.contains("ferry run: rank 1 (pid ") && r.stderr.contains(" on host \(ns.name(1)) was killed by signal 9 (SIGKILL); job terminated"),
                "\(r.stderr)")
        try expectNothingLeft(r)
    }

    @Test("a proxy killed with SIGKILL: 'proxy on host ... ended', job over in < 2 s, its ranks gone too")
    func proxyKilled() throws {
        let ns = try Namespaces(6, nodes: 2)
        defer { ns.down() }
        var killedAt = Date()
        var keeper = ""
        let r = try M.run(["-n", "4", "--hosts", "\(ns.name(1)):2,\(ns.name(2)):2"] + exec + ["sh", "-c", M.withSegments("sleep 30")],
                          limit: 20) { _, out, token in
            let text = M.waitForLines(out, containing: "ready", count: 4)
            // The launcher, 2 proxies, 2 watchdogs and 4 ranks carry the token: the check below sees them.
            #expect(M.processes(token: token).count >= 9)
            // Rank 3 runs on n2: its FERRY_NODE_KEEPER_PID is the n2 proxy's pid.
            keeper = text.split(separator: "\n").first { $0.hasPrefix("ready 3 ") }.map { String($0.split(separator: " ")[3]) } ?? ""
            if let pid = Int32(keeper) { killedAt = Date(); kill(pid, SIGKILL) }
        }
        #expect(!keeper.isEmpty, "no ready line from rank 3: \(r.summary)")
        #expect(r.status == 1, "\(r.summary)")
        #expect(Date().timeIntervalSince(killedAt) < 2.5)
        #expect(r.stderr.contains("ferry run: proxy on host \(ns.name(2)) (pid \(keeper)) ended unexpectedly (killed by signal 9 (SIGKILL)); job terminated"),
                "\(r.stderr)")
        try expectNothingLeft(r)
    }

    @Test("the launcher killed with SIGKILL: ranks on every host gone within 2 s, segments removed")
    func launcherKilled() throws {
        let ns = try Namespaces(7, nodes: 2)
        defer { ns.down() }
        var killedAt = Date()
        let r = try M.run(["-n", "4", "--hosts", "\(ns.name(1)):2,\(ns.name(2)):2"] + exec + ["sh", "-c", M.withSegments("sleep 30")],
                          limit: 20) { pid, out, token in
            let text = M.waitForLines(out, containing: "ready", count: 4)
            #expect(M.processes(token: token).count >= 9)
            // Each rank made one file of its job and one of its host's keeper: 8 to remove.
            let job = text.split(separator: "\n").first { $0.hasPrefix("ready ") }.map { String($0.split(separator: " ")[2]) } ?? "?"
            #expect(M.shm("ferry-\(job)-r").count == 4)
            killedAt = Date()
            kill(pid, SIGKILL)
        }
        #expect(r.status == 137)
        #expect(r.lines.filter { $0.hasPrefix("ready ") }.count == 4, "\(r.summary)")
        #expect(M.leftovers(token: r.token, within: 2).isEmpty, "processes left 2 s after the launcher died")
        #expect(Date().timeIntervalSince(killedAt) < 3)
        try expectNoSegments(r)
    }

    @Test("SIGTERM to the launcher reaches the ranks on every host; status 143")
    func signalRelay() throws {
        let ns = try Namespaces(8, nodes: 2)
        defer { ns.down() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-mn-term-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = #"trap "touch \#(dir.path)/term-\$PMI_RANK; exit 0" TERM; echo "ready $PMI_RANK"; sleep 30 & wait"#
        let r = try M.run(["-n", "4", "--hosts", "\(ns.name(1)):2,\(ns.name(2)):2"] + exec + ["sh", "-c", script], limit: 20) { pid, out, _ in
            _ = M.waitForLines(out, containing: "ready", count: 4)
            kill(pid, SIGTERM)
        }
        #expect(r.status == 143, "\(r.summary)")
        #expect(r.stderr.contains("ferry run: received SIGTERM, relayed to all ranks; job terminated"))
        let marks = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        #expect(Set(marks) == ["term-0", "term-1", "term-2", "term-3"])
        #expect(M.leftovers(token: r.token).isEmpty)
    }

    @Test("an unknown namespace: a clear error naming it and the command's complaint, nothing left")
    func unknownNamespace() throws {
        let ns = try Namespaces(9, nodes: 2)
        defer { ns.down() }
        let r = try M.run(["-n", "2", "--hosts", "\(ns.name(1)),flx9-nowhere"] + exec + ["sh", "-c", "sleep 30"], limit: 20)
        #expect(r.status == 1, "\(r.summary)")
        #expect(r.seconds < 3)
        #expect(r.stderr.contains("ferry run: could not start the proxy for host flx9-nowhere (ip netns exec flx9-nowhere ")
                && r.stderr.contains("exit status 255: Cannot open network namespace \"flx9-nowhere\""), "\(r.stderr)")
        #expect(M.leftovers(token: r.token).isEmpty)
    }

    @Test("a proxy that never answers (a hung ssh): FERRY_PROXY_START_SECONDS, then a clear error; --timeout ends a job: 124")
    func hungStartAndTimeout() throws {
        let ns = try Namespaces(2, nodes: 2)
        defer { ns.down() }
        let hang = try M.script("#!/bin/sh\necho connecting to $1 >&2\nexec sleep 30\n")
        defer { unlink(hang) }
        let r = try M.run(["-n", "2", "--hosts", "\(ns.name(1)),\(ns.name(2))", "--launch-exec", "\(hang) {host}", "sh", "-c", "sleep 30"],
                          limit: 20, environment: ["FERRY_PROXY_START_SECONDS": "1"])
        #expect(r.status == 1 && r.seconds < 2.5, "\(r.summary)")
        #expect(r.stderr.contains("ferry run: could not start the proxy for host \(ns.name(1)) (\(hang) \(ns.name(1)) ")
                && r.stderr.contains("proxy): no answer within 1 s: connecting to \(ns.name(1)); job terminated"), "\(r.stderr)")
        #expect(M.leftovers(token: r.token).isEmpty)

        let t = try M.run(["-n", "4", "--timeout", "1", "--hosts", "\(ns.name(1)):2,\(ns.name(2)):2"] + exec
                          + ["sh", "-c", M.withSegments("sleep 30")], limit: 20)
        #expect(t.status == 124 && t.seconds < 2.5, "\(t.summary)")
        #expect(t.stderr.hasSuffix("ferry run: job did not finish within --timeout 1 seconds; job terminated\n"), "\(t.stderr)")
        try expectNothingLeft(t)
    }

    @Test("-launcher fork: two named hosts, both proxies on this machine, no template")
    func forkLauncher() throws {
        let r = try M.run(["-n", "3", "--hosts", "flx0-a:2,flx0-b", "-launcher", "fork", "-l", "sh", "-c",
                           #"echo $PMI_RANK $FERRY_NODE_NAME $FERRY_LOCAL_RANK/$FERRY_LOCAL_SIZE $FERRY_NODE_INDEX/$FERRY_NODE_COUNT"#],
                          limit: 20)
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.summary)")
        #expect(r.lines.sorted() == ["[0] 0 flx0-a 0/2 0/2", "[1] 1 flx0-a 1/2 0/2", "[2] 2 flx0-b 0/1 1/2"])
    }

    @Test("garbage on a proxy's channel (not a ferry proxy at the other end) fails the job with the reason, nothing left")
    func garbageChannel() throws {
        // Says "hello world" where a frame length belongs, then waits.
        let fake = try M.script("#!/bin/sh\necho hello world\nexec sleep 30\n")
        defer { unlink(fake) }
        let r = try M.run(["-n", "2", "--hosts", "flx0-a,flx0-b", "--launch-exec", "\(fake) {host}", "sh", "-c", "sleep 30"], limit: 20)
        #expect(r.status == 1 && r.seconds < 2, "\(r.summary)")
        #expect(r.stderr.contains("ferry run: invalid message from the proxy on host flx0-") && r.stderr.contains("frame length 1751477356 outside 1...67108864"),
                "\(r.stderr)")
        #expect(M.leftovers(token: r.token).isEmpty)
    }

    @Test("more ranks than slots, an unresolvable host, a bad hostfile: exit 2 before anything starts")
    func refusedBeforeStart() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-mn-ran-\(UUID().uuidString)").path
        let r = try M.run(["-n", "5", "--hosts", "flx0-a:2,flx0-b:2"] + exec + ["touch", marker], limit: 10)
        #expect(r.status == 2 && r.stderr == "ferry run: 5 ranks but only 4 slots on flx0-a (2), flx0-b (2); give more slots or hosts, or --oversubscribe\n")
        let unknown = try M.run(["-n", "2", "--hosts", "localhost,flx0-no-such-host.invalid", "touch", marker], limit: 10)
        #expect(unknown.status == 2 && unknown.stderr.hasPrefix("ferry run: unknown host 'flx0-no-such-host.invalid': cannot resolve it"),
                "\(unknown.summary)")
        let hostfile = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-mn-hosts-\(UUID().uuidString)").path
        try "flx0-a:2\nflx0-b slots=many\n".write(toFile: hostfile, atomically: true, encoding: .utf8)
        defer { unlink(hostfile) }
        let bad = try M.run(["-n", "2", "--hostfile", hostfile] + exec + ["touch", marker], limit: 10)
        #expect(bad.status == 2 && bad.stderr == "ferry run: \(hostfile):2: slots='many' is not a positive number\n")
        #expect(!FileManager.default.fileExists(atPath: marker), "a rank ran")
    }

    @Test("20000 lines from each of 2 ranks on 2 namespaces arrive whole, in order, tagged")
    func outputVolume() throws {
        let ns = try Namespaces(1, nodes: 2)
        defer { ns.down() }
        let script = #"seq -f "line %g of rank $PMI_RANK on $FERRY_NODE_NAME ................................................" 20000"#
        let r = try M.run(["-n", "2", "--hosts", "\(ns.name(1)),\(ns.name(2))"] + exec + ["-l", "sh", "-c", script], limit: 60)
        #expect(r.status == 0, "\(r.summary)")
        for rank in 0..<2 {
            let prefix = "[\(rank)] "
            let mine = r.lines.filter { $0.hasPrefix(prefix) }
            #expect(mine.count == 20000)
            let expected = (1...20000).map { "[\(rank)] line \($0) of rank \(rank) on \(ns.name(rank + 1)) ................................................" }
            #expect(mine == expected, "rank \(rank)'s lines differ")
        }
        #expect(r.lines.count == 40000, "stray or broken lines")
    }

    /// No process of the job, and no /dev/shm file of its job id or of its hosts' keepers.
    private func expectNothingLeft(_ r: MultiNode.Outcome) throws {
        #expect(MultiNode.leftovers(token: r.token).isEmpty, "processes of the job left")
        try expectNoSegments(r)
    }

    private func expectNoSegments(_ r: MultiNode.Outcome) throws {
        let ready = r.lines.filter { $0.hasPrefix("ready ") }.map { $0.split(separator: " ").map(String.init) }
        try #require(!ready.isEmpty, "no rank said ready: \(r.summary)")
        let job = ready[0][2]
        let keepers = Set(ready.map { $0[3] })
        #expect(keepers.count == 2, "one keeper per host")
        // The launcher may have been SIGKILLed: give the proxies and watchdogs their moment.
        let end = Date().addingTimeInterval(2)
        var left = MultiNode.shm("ferry-\(job)") + keepers.flatMap { MultiNode.shm("ferry-\($0)-") }
        while !left.isEmpty && Date() < end {
            usleep(20_000)
            left = MultiNode.shm("ferry-\(job)") + keepers.flatMap { MultiNode.shm("ferry-\($0)-") }
        }
        #expect(left.isEmpty, "left in /dev/shm: \(left)")
    }
}
