// Support for the end-to-end tests: finds the built `ferry` executable, runs it with a time
// bound, and provides the Python rank program that speaks PMI-1 over PMI_FD.
//
// Locating `ferry`: $FERRY_BIN if set; else the directory of the running test executable
// (/proc/self/exe, i.e. `<scratch>/debug/FerryPackageTests.xctest`), where SwiftPM also puts
// `ferry`; else `<package>/.build-pmi/debug/ferry` or `<package>/.build/debug/ferry` derived
// from #filePath.
import Foundation
import Glibc
import Testing

enum LauncherHarness {
    static let ferryPath: String? = {
        let fm = FileManager.default
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["FERRY_BIN"] { candidates.append(explicit) }
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ferry").path)
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates += [".build-pmi", ".build"].map { root.appendingPathComponent("\($0)/debug/ferry").path }
        return candidates.first { fm.isExecutableFile(atPath: $0) }
    }()

    /// A scratch directory holding the rank program, created once.
    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-pmi-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? rankProgram.write(to: dir.appendingPathComponent("rank.py"), atomically: true, encoding: .utf8)
        return dir
    }()

    static var rankScript: String { directory.appendingPathComponent("rank.py").path }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        var seconds: Double
        /// Wall-clock time (seconds since 1970) at which the launcher was seen to exit.
        var endedAt: Double
        var timedOut: Bool
        var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// Runs `ferry <arguments>` (or `executable`) and waits at most `limit` seconds; past that
    /// the launcher gets SIGTERM (which tears its ranks down), then SIGKILL, by pid.
    static func run(_ arguments: [String], executable: String? = nil, limit: Double = 15,
                    whileRunning: ((Int32) -> Void)? = nil) throws -> Outcome {
        let path = try #require(executable ?? ferryPath, "ferry executable not found; build it first")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let tag = UUID().uuidString
        let outURL = directory.appendingPathComponent("\(tag).out"), errURL = directory.appendingPathComponent("\(tag).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        whileRunning?(process.processIdentifier)
        var timedOut = false
        while process.isRunning {
            if Date().timeIntervalSince(start) > limit && !timedOut {
                timedOut = true
                kill(process.processIdentifier, SIGTERM)
                let grace = Date()
                while process.isRunning && Date().timeIntervalSince(grace) < 2 { usleep(10_000) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
            usleep(2_000)
        }
        let end = Date()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
        let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        return Outcome(status: status, stdout: stdout, stderr: stderr, seconds: end.timeIntervalSince(start),
                       endedAt: end.timeIntervalSince1970, timedOut: timedOut)
    }

    /// Python that opens the PMI_FD socket and defines `pmi(line, reply=True)`: one PMI-1
    /// command, answered by a dict of the reply's fields.
    static let pmiPrelude = #"""
    import os, sys, socket, time, signal
    sock = socket.socket(fileno=int(os.environ["PMI_FD"]))
    def pmi(line, reply=True):
        sock.sendall((line + "\n").encode())
        if not reply:
            return None
        buf = b""
        while not buf.endswith(b"\n"):
            c = sock.recv(1)
            if not c:
                sys.exit("PMI connection closed")
            buf += c
        return dict(w.split("=", 1) for w in buf.decode().split())
    """#

    /// A rank speaking raw PMI-1 over PMI_FD. `argv[1]` picks a behaviour after the exchange.
    static let rankProgram = pmiPrelude + "\n" + #"""
    rank = int(os.environ["PMI_RANK"]); size = int(os.environ["PMI_SIZE"])
    mode = sys.argv[1] if len(sys.argv) > 1 else "exchange"
    if mode == "noinit-exit":
        sys.exit(int(sys.argv[2]))
    assert pmi("cmd=init pmi_version=1 pmi_subversion=1")["rc"] == "0"
    kvs = pmi("cmd=get_my_kvsname")["kvsname"]
    pmi(f"cmd=put kvsname={kvs} key=card{rank} value=addr-{rank}-{os.getpid()}")
    assert pmi("cmd=barrier_in")["cmd"] == "barrier_out"
    peer = (rank + 1) % size
    got = pmi(f"cmd=get kvsname={kvs} key=card{peer}")["value"]
    mapping = pmi(f"cmd=get kvsname={kvs} key=PMI_process_mapping")["value"]
    missing = pmi(f"cmd=get kvsname={kvs} key=nothing")
    print(f"rank {rank}/{size} peer {peer} got {got.rsplit('-', 1)[0]} mapping {mapping} missing rc={missing['rc']}", flush=True)
    if mode == "env":
        names = ["PMI_JOBID", "FERRY_JOBID", "FERRY_LAUNCHER_PID", "FERRY_LOCAL_RANK", "FERRY_LOCAL_SIZE",
                 "FERRY_UNIVERSE_SIZE", "FERRY_TEST_GENV", "FERRY_TEST_X"]
        print(f"env {rank} kvs={kvs} ppid={os.getppid()} " + " ".join(f"{n}={os.environ.get(n, '-')}" for n in names), flush=True)
    elif mode == "chatter":
        for i in range(300):
            sys.stdout.write(f"chatter rank={rank} i={i} ")
            sys.stdout.flush()
            sys.stdout.write("x" * (i % 50) + " end\n")
            sys.stdout.flush()
        sys.stderr.write(f"tail-without-newline-{rank}")
    elif mode == "kill":
        if rank == 1:
            sys.stderr.write(f"dying at {time.time():.6f}\n"); sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(30)
    elif mode == "exit-early":
        if rank == 2:
            sys.exit(3)
        time.sleep(30)
    elif mode == "abort":
        if rank == 0:
            pmi("cmd=abort exitcode=5", reply=False)
        time.sleep(30)
    elif mode == "exit-after-finalize":
        pmi("cmd=finalize")
        sys.exit(4 if rank == 1 else 0)
    elif mode == "shm":
        if rank == 0:
            path = f"/dev/shm/ferry-{os.environ['FERRY_JOBID']}-node0"
            open(path, "w").write("x")
            print(f"segment {path}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(30)
    elif mode == "wait":
        print(f"ready {rank}", flush=True)
        time.sleep(30)
    elif mode == "close-pmi":
        if rank == 1:
            sock.close()
            print(f"closed {time.time():.6f}", flush=True)
        time.sleep(30)
    elif mode == "flood-pmi":
        if rank == 0:
            # 2.8 MB of requests, never reading a reply (the launcher tears us down first).
            sock.settimeout(10)
            try:
                sock.sendall(b"cmd=get_maxes\n" * 200000)
            except OSError:
                pass
        time.sleep(30)
    pmi("cmd=finalize")
    """#
}
