// The hand-written `ferry run` / mpiexec command-line parser and the failure messages.
import Testing
@testable import FerryLaunch

@Suite struct RunOptionsTests {
    func options(_ args: [String], env: [String: String] = [:]) -> RunOptions? {
        if case .run(let o) = RunOptions.parse(args, environment: { env[$0] }) { return o }
        return nil
    }

    @Test(arguments: [["-n", "4"], ["-np", "4"], ["--np", "4"], ["-c", "4"], ["--np=4"]])
    func rankCountSpellings(spelling: [String]) {
        #expect(options(spelling + ["prog"])?.rankCount == 4)
    }

    @Test func programAndItsArgumentsStopOptionParsing() {
        let o = options(["-n", "2", "prog", "-n", "7", "--tag-output"])
        #expect(o?.program == "prog")
        #expect(o?.arguments == ["-n", "7", "--tag-output"])
        #expect(o?.rankCount == 2)
        #expect(options(["--", "-weird"])?.program == "-weird")
        #expect(options(["p"])?.rankCount == 1)
    }

    @Test func environmentOptions() {
        let o = options(["-genv", "A", "1", "-env", "B", "2 3", "-x", "C=4", "-x", "HOME", "-x", "UNSET", "p"],
                        env: ["HOME": "/h"])
        #expect(o?.environment == [.init("A", "1"), .init("B", "2 3"), .init("C", "4"), .init("HOME", "/h")])
    }

    @Test func flags() {
        let o = options(["--oversubscribe", "-oversubscribe", "-l", "--timeout", "2.5", "p"])
        #expect(o?.tagOutput == true)
        #expect(o?.timeoutSeconds == 2.5)
        #expect(options(["-prepend-rank", "p"])?.tagOutput == true)
        #expect(options(["--tag-output", "p"])?.tagOutput == true)
    }

    @Test func helpAndErrors() {
        #expect(RunOptions.parse(["-h"]) == .help)
        #expect(RunOptions.parse(["--help", "p"]) == .help)
        for bad in [["--bogus", "p"], ["-n"], ["-n", "0", "p"], ["-n", "x", "p"], ["-genv", "A"], ["--timeout", "-1", "p"], [], ["-n", "2"]] {
            guard case .error(let message) = RunOptions.parse(bad) else {
                Issue.record("\(bad) should be a usage error")
                continue
            }
            #expect(!message.isEmpty)
        }
    }

    @Test func failureLinesAndStatuses() {
        let killed = JobFailure.signaled(rank: 2, pid: 1234, signal: 9)
        #expect(killed.message(host: "h") == "ferry run: rank 2 (pid 1234) on host h was killed by signal 9 (SIGKILL); job terminated")
        #expect(killed.exitStatus == 137)
        let early = JobFailure.exitedEarly(rank: 1, pid: 5, code: 3, initialized: true)
        #expect(early.message(host: "h") == "ferry run: rank 1 (pid 5) on host h exited with code 3 before MPI_Finalize; job terminated")
        #expect(early.exitStatus == 3)
        #expect(JobFailure.exitedEarly(rank: 1, pid: 5, code: 0, initialized: true).exitStatus == 1)
        let aborted = JobFailure.aborted(rank: 0, pid: 9, code: 5)
        #expect(aborted.message(host: "h") == "ferry run: rank 0 (pid 9) on host h called MPI_Abort with error code 5; job terminated")
        #expect(aborted.exitStatus == 5)
        #expect(JobFailure.aborted(rank: 0, pid: 9, code: 256).exitStatus == 1)
        #expect(JobFailure.timedOut(seconds: 3).exitStatus == 124)
    }

    @Test func rankEnvironmentOverridesInheritedJobVariables() {
        var o = RunOptions()
        o.rankCount = 4
        o.environment = [.init("A", "user"), .init("PMI_RANK", "ignored")]
        let env = JobSupervisor.environment(base: ["PATH=/bin", "PMI_PORT=x:1", "A=old", "FERRY_JOBID=stale"],
                                            options: o, jobID: "77-abc", rank: 3)
        let dict = Dictionary(env.map { e -> (String, String) in
            let p = e.split(separator: "=", maxSplits: 1).map(String.init)
            return (p[0], p.count > 1 ? p[1] : "")
        }, uniquingKeysWith: { _, b in b })
        #expect(env.count == dict.count)
        #expect(dict["PATH"] == "/bin" && dict["A"] == "user" && dict["PMI_PORT"] == nil)
        #expect(dict["PMI_FD"] == "3" && dict["PMI_RANK"] == "3" && dict["PMI_SIZE"] == "4")
        #expect(dict["PMI_JOBID"] == "77-abc" && dict["FERRY_JOBID"] == "77-abc")
        #expect(dict["FERRY_LOCAL_RANK"] == "3" && dict["FERRY_LOCAL_SIZE"] == "4" && dict["FERRY_UNIVERSE_SIZE"] == "4")
        #expect(dict["FERRY_LAUNCHER_PID"] != nil)
    }
}
