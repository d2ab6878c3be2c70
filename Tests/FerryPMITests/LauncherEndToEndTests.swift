// `ferry run` end to end: the built launcher starts Python ranks that speak PMI-1 over PMI_FD.
// Serialized (2 cores), and every run is bounded in time (LauncherHarness.run kills by pid).
import Foundation
import Glibc
import Testing

@Suite(.serialized) struct LauncherEndToEndTests {
    typealias H = LauncherHarness

    @Test func threeRanksExchangeBusinessCards() throws {
        let r = try H.run(["run", "-n", "3", "python3", H.rankScript])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        let expected = (0..<3).map { "rank \($0)/3 peer \(($0 + 1) % 3) got addr-\(($0 + 1) % 3) mapping (vector,(0,1,3)) missing rc=-1" }
        #expect(Set(r.stdoutLines) == Set(expected))
    }

    @Test func tagOutputPrefixesEveryLineWithItsRank() throws {
        for flag in ["--tag-output", "-l", "-prepend-rank"] {
            let r = try H.run(["run", "-n", "2", flag, "python3", H.rankScript])
            #expect(r.status == 0)
            #expect(Set(r.stdoutLines) == ["[0] rank 0/2 peer 1 got addr-1 mapping (vector,(0,1,2)) missing rc=-1",
                                           "[1] rank 1/2 peer 0 got addr-0 mapping (vector,(0,1,2)) missing rc=-1"])
        }
    }

    @Test func linesOfDifferentRanksNeverInterleave() throws {
        let r = try H.run(["run", "-n", "3", "-l", "python3", H.rankScript, "chatter"])
        #expect(r.status == 0)
        let chatter = r.stdoutLines.filter { $0.contains("chatter") }
        #expect(chatter.count == 900)
        for line in chatter {
            let rank = line.dropFirst().prefix { $0 != "]" }
            let ok = line.hasPrefix("[\(rank)] chatter rank=\(rank) i=") && line.hasSuffix(" end")
            #expect(ok, "mixed line: \(line)")
        }
        // A last line without newline is flushed at the end, with its prefix.
        #expect(Set(r.stderr.split(separator: "\n").map(String.init))
                == Set((0..<3).map { "[\($0)] tail-without-newline-\($0)" }))
    }

    @Test func rankKilledBySignalTearsTheJobDownWithinOneSecond() throws {
        let r = try H.run(["run", "-n", "3", "python3", H.rankScript, "kill"])
        #expect(r.status == 137)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        let death = try #require(lines.first { $0.hasPrefix("dying at ") }.flatMap { Double($0.dropFirst(9)) })
        #expect(r.endedAt - death < 1.0, "launcher ended \(r.endedAt - death) s after the death")
        let message = try #require(lines.last)
        #expect(message.hasPrefix("ferry run: rank 1 (pid "))
        #expect(message.hasSuffix(" was killed by signal 9 (SIGKILL); job terminated"))
        #expect(lines.filter { $0.hasPrefix("ferry run:") }.count == 1)
    }

    /// Item 5 of the hardening issue: a rank that closed its PMI socket before finalize (and
    /// kept running) was not treated as failed; the job ran on until its other ranks ended.
    @Test func rankClosingItsPMISocketBeforeFinalizeFailsTheJob() throws {
        let r = try H.run(["run", "-n", "2", "python3", H.rankScript, "close-pmi"], limit: 20)
        #expect(!r.timedOut && r.status == 1, "\(r.stderr)")
        let closed = try #require(r.stdoutLines.first { $0.hasPrefix("closed ") }.flatMap { Double($0.dropFirst(7)) })
        #expect(r.endedAt - closed < 1.5, "launcher ended \(r.endedAt - closed) s after the close")
        #expect(r.stderr.contains("ferry run: rank 1 (pid "))
        #expect(r.stderr.hasSuffix(" closed its PMI connection before MPI_Finalize; job terminated\n"), "\(r.stderr)")
    }

    /// Item 9 of the hardening issue: a rank flooding PMI requests without reading the replies
    /// froze the launcher (each reply waited up to 1 s for room); its replies are now queued,
    /// and past the bound the rank fails the job with a message.
    @Test func rankFloodingPMIWithoutReadingFailsTheJob() throws {
        let r = try H.run(["run", "-n", "2", "python3", H.rankScript, "flood-pmi"], limit: 20)
        #expect(!r.timedOut && r.status == 1, "\(r.stderr)")
        #expect(r.seconds < 10, "took \(r.seconds) s")
        #expect(r.stderr.contains("ferry run: rank 0 (pid "), "\(r.stderr)")
        #expect(r.stderr.contains(" does not read its PMI replies ("), "\(r.stderr)")
    }

    @Test func rankExitingBeforeFinalizeFailsTheJobWithItsCode() throws {
        let r = try H.run(["run", "-n", "3", "python3", H.rankScript, "exit-early"])
        #expect(r.status == 3)
        #expect(r.seconds < 5)
        #expect(r.stderr.contains("ferry run: rank 2 (pid "))
        #expect(r.stderr.hasSuffix(" exited with code 3 before MPI_Finalize; job terminated\n"))
    }

    @Test func abortPropagatesItsErrorCode() throws {
        let r = try H.run(["run", "-n", "3", "python3", H.rankScript, "abort"])
        #expect(r.status == 5)
        #expect(r.seconds < 5)
        #expect(r.stderr.contains("ferry run: rank 0 (pid "))
        #expect(r.stderr.hasSuffix(" called MPI_Abort with error code 5; job terminated\n"))
    }

    @Test func nonZeroExitAfterFinalizeIsTheJobStatusWithoutTeardown() throws {
        let r = try H.run(["run", "-n", "3", "python3", H.rankScript, "exit-after-finalize"])
        #expect(r.status == 4)
        #expect(r.stdoutLines.count == 3)
        #expect(!r.stderr.contains("job terminated"))
    }

    @Test func programsThatNeverSpeakPMI() throws {
        let ok = try H.run(["run", "-n", "2", "echo", "plain"])
        #expect(ok.status == 0)
        #expect(ok.stdoutLines == ["plain", "plain"])
        let bad = try H.run(["run", "-n", "2", "python3", H.rankScript, "noinit-exit", "7"])
        #expect(bad.status == 7)
        #expect(bad.stderr.contains("exited with code 7; job terminated"))
    }

    @Test func ranksSeeTheJobEnvironment() throws {
        setenv("FERRY_TEST_X", "from-launcher", 1)
        defer { unsetenv("FERRY_TEST_X") }
        var launcherPid: Int32 = 0
        let r = try H.run(["run", "-n", "2", "-genv", "FERRY_TEST_GENV", "a b", "-x", "FERRY_TEST_X",
                           "python3", H.rankScript, "env"], whileRunning: { launcherPid = $0 })
        #expect(r.status == 0)
        let envLines = r.stdoutLines.filter { $0.hasPrefix("env ") }.sorted()
        #expect(envLines.count == 2)
        for (rank, line) in envLines.enumerated() {
            let fields = Dictionary(line.split(separator: " ").dropFirst(2).compactMap { w -> (String, String)? in
                let p = w.split(separator: "=", maxSplits: 1).map(String.init)
                return p.count == 2 ? (p[0], p[1]) : nil
            }, uniquingKeysWith: { a, _ in a })
            let jobID = try #require(fields["FERRY_JOBID"])
            #expect(jobID.hasPrefix("\(launcherPid)-"))
            #expect(fields["kvs"] == jobID && fields["PMI_JOBID"] == jobID)
            #expect(fields["ppid"] == "\(launcherPid)" && fields["FERRY_LAUNCHER_PID"] == "\(launcherPid)")
            #expect(fields["FERRY_LOCAL_RANK"] == "\(rank)")
            #expect(fields["FERRY_LOCAL_SIZE"] == "2")
            #expect(fields["FERRY_UNIVERSE_SIZE"].flatMap { Int($0) }.map { $0 >= 2 } == true)
            #expect(fields["FERRY_TEST_GENV"] == "a")  // the value has a space: the rank prints "a b"
            #expect(line.contains("FERRY_TEST_GENV=a b "))
            #expect(fields["FERRY_TEST_X"] == "from-launcher")
        }
    }

    @Test func leftoverSharedMemorySegmentIsRemoved() throws {
        let r = try H.run(["run", "-n", "2", "python3", H.rankScript, "shm"])
        #expect(r.status == 137)
        let path = try #require(r.stdoutLines.first { $0.hasPrefix("segment ") }).dropFirst(8)
        #expect(path.hasPrefix("/dev/shm/ferry-"))
        #expect(!FileManager.default.fileExists(atPath: String(path)))
    }

    @Test func timeoutKillsTheJobWithStatus124() throws {
        let r = try H.run(["run", "-n", "2", "--timeout", "1", "python3", H.rankScript, "wait"])
        #expect(r.status == 124)
        #expect(r.seconds < 3)
        #expect(r.stderr == "ferry run: job did not finish within --timeout 1 seconds; job terminated\n")
    }

    @Test func sigtermToTheLauncherIsRelayedToTheRanks() throws {
        let r = try H.run(["run", "-n", "2", "python3", H.rankScript, "wait"]) { pid in
            Thread.detachNewThread {
                usleep(1_500_000)
                kill(pid, SIGTERM)
            }
        }
        #expect(r.status == 128 + SIGTERM)
        #expect(r.seconds < 4)
        #expect(Set(r.stdoutLines.filter { $0.hasPrefix("ready") }) == ["ready 0", "ready 1"])
        #expect(r.stderr == "ferry run: received SIGTERM, relayed to all ranks; job terminated\n")
    }

    @Test func usageErrorsAndSubcommands() throws {
        let bogus = try H.run(["run", "-n", "2", "--bogus", "python3"])
        #expect(bogus.status == 2)
        #expect(bogus.stderr == "ferry run: unknown option '--bogus' (see 'ferry run --help')\n")
        let noProgram = try H.run(["run", "-n", "2", "no-such-program-xyz"])
        #expect(noProgram.status == 127)
        #expect(noProgram.stderr.contains("no-such-program-xyz"))
        let usage = try H.run([])
        #expect(usage.status == 0 && usage.stdout.hasPrefix("usage: ferry <command>"))
        let help = try H.run(["run", "--help"])
        #expect(help.status == 0 && help.stdout.hasPrefix("usage: ferry run [options]"))
        #expect(help.stdout.contains(" : [-n N] [context options] program") && help.stdout.contains("-wdir DIR"))
        let version = try H.run(["version"])
        #expect(version.stdout.hasPrefix("ferry "))
    }

    @Test func mpiexecSymlinkBehavesAsFerryRun() throws {
        let ferry = try #require(H.ferryPath)
        let link = H.directory.appendingPathComponent("mpiexec").path
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: ferry)
        let r = try H.run(["-np", "2", "python3", H.rankScript], executable: link)
        #expect(r.status == 0)
        #expect(r.stdoutLines.count == 2)
    }

    // MARK: MPMD (`a : b`) and working directories

    /// A fresh directory with two working directories and the two rank programs of the MPMD
    /// tests: a Python one and a POSIX shell one, both asking the PMI server for their appnum.
    static func mpmdFixture() throws -> (root: URL, python: String, shell: String) {
        let root = H.directory.appendingPathComponent("mpmd-\(UUID().uuidString)")
        for sub in ["dirA", "dirB"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let python = H.pmiPrelude + "\n" + #"""
        assert pmi("cmd=init pmi_version=1 pmi_subversion=1")["rc"] == "0"
        appnum = pmi("cmd=get_appnum")["appnum"]
        e = os.environ
        print(f"py rank={e['PMI_RANK']} size={e['PMI_SIZE']} appnum={appnum} cwd={os.getcwd()} "
              f"args={','.join(sys.argv[1:])} ctx={e.get('CTX', '-')} glob={e.get('GLOB', '-')} "
              f"launcher={e.get('FERRY_LAUNCHER', '-')}", flush=True)
        pmi("cmd=finalize")
        """#
        // The same in sh, reading replies from the PMI socket with `read` (one byte at a time).
        let shell = #"""
        pmi() { printf '%s\n' "$1" >&3; IFS= read -r reply <&3; }
        pmi "cmd=init pmi_version=1 pmi_subversion=1"
        pmi "cmd=get_appnum"; appnum=${reply#*appnum=}; appnum=${appnum%% *}
        echo "sh rank=$PMI_RANK size=$PMI_SIZE appnum=$appnum cwd=$(pwd -P) args=$(IFS=,; echo "$*")" \
             "ctx=${CTX:--} glob=${GLOB:--} launcher=${FERRY_LAUNCHER:--}"
        pmi "cmd=finalize"
        """#
        let pythonPath = root.appendingPathComponent("rank-a.py").path
        let shellPath = root.appendingPathComponent("rank-b.sh").path
        try python.write(toFile: pythonPath, atomically: true, encoding: .utf8)
        try shell.write(toFile: shellPath, atomically: true, encoding: .utf8)
        return (root, pythonPath, shellPath)
    }

    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    @Test func mpmdRanksAreConsecutiveAcrossContextsWithTheirOwnAppnumEnvironmentAndDirectory() throws {
        let f = try Self.mpmdFixture()
        defer { try? FileManager.default.removeItem(at: f.root) }
        let dirA = f.root.appendingPathComponent("dirA").path, dirB = f.root.appendingPathComponent("dirB").path
        let r = try H.run(["run", "-genv", "GLOB", "g", "-n", "2", "-env", "CTX", "a", "-wdir", dirA,
                           "python3", f.python, "p", "q",
                           ":", "-n", "2", "-x", "CTX=b", "-wd", dirB, "sh", f.shell, "r",
                           ":", "sh", f.shell, "s"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        let launcher = Self.realPath(try #require(H.ferryPath))
        let (a, b) = (Self.realPath(dirA), Self.realPath(dirB))
        let expected = [
            "py rank=0 size=5 appnum=0 cwd=\(a) args=p,q ctx=a glob=g launcher=\(launcher)",
            "py rank=1 size=5 appnum=0 cwd=\(a) args=p,q ctx=a glob=g launcher=\(launcher)",
            "sh rank=2 size=5 appnum=1 cwd=\(b) args=r ctx=b glob=g launcher=\(launcher)",
            "sh rank=3 size=5 appnum=1 cwd=\(b) args=r ctx=b glob=g launcher=\(launcher)",
            // No -wdir of its own: the one given before the first ':'; no -env: no CTX.
            "sh rank=4 size=5 appnum=2 cwd=\(a) args=s ctx=- glob=g launcher=\(launcher)",
        ]
        #expect(r.stdoutLines.sorted { $0.dropFirst(3) < $1.dropFirst(3) } == expected)
        #expect(access(launcher, X_OK) == 0)
    }

    @Test func shellPwdInAWorkingDirectoryNamesIt() throws {
        let f = try Self.mpmdFixture()
        defer { try? FileManager.default.removeItem(at: f.root) }
        let dirB = f.root.appendingPathComponent("dirB").path
        // PWD is set to the directory as given, so a shell's logical `pwd` agrees with `pwd -P`.
        let r = try H.run(["run", "-n", "2", "--wdir", dirB, "sh", "-c", "echo \"$PMI_RANK $(pwd) $PWD\""])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutLines.sorted() == ["0 \(dirB) \(dirB)", "1 \(dirB) \(dirB)"])
    }

    @Test func unusableContextFailsTheLaunchBeforeAnyRankStarts() throws {
        let missing = try H.run(["run", "-n", "2", "sh", "-c", "echo started", ":", "no-such-program-mpmd"])
        #expect(missing.status == 127)
        #expect(missing.stdout.isEmpty)
        #expect(missing.stderr == "ferry run: no-such-program-mpmd: command not found or not executable (application context 2)\n")
        let noDir = try H.run(["run", "sh", "-c", "echo started", ":", "-wdir", "/no/such/ferry-dir", "sh", "-c", "echo x"])
        #expect(noDir.status == 2)
        #expect(noDir.stdout.isEmpty)
        #expect(noDir.stderr == "ferry run: cannot use working directory '/no/such/ferry-dir' (application context 2): "
                + "No such file or directory\n")
        let empty = try H.run(["run", "-n", "2", ":", "-n", "1", "sh", "-c", "echo started"])
        #expect(empty.status == 2 && empty.stdout.isEmpty)
        #expect(empty.stderr.hasPrefix("ferry run: application context 1 has no program before ':'"))
        let trailing = try H.run(["run", "sh", "-c", "echo started", ":"])
        #expect(trailing.status == 2 && trailing.stdout.isEmpty)
    }
}
