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
            #expect(fields["FERRY_LOCAL_SIZE"] == "2" && fields["FERRY_UNIVERSE_SIZE"] == "2")
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
}
