// The hand-written `ferry run` / mpiexec command-line parser and the failure messages.
import Testing
@testable import FerryLaunch
import FerryPMI

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
        #expect(dict["FERRY_LOCAL_RANK"] == "3" && dict["FERRY_LOCAL_SIZE"] == "4")
        #expect(dict["FERRY_UNIVERSE_SIZE"] == "\(JobSupervisor.universeSize(o))")
        #expect(dict["FERRY_LAUNCHER_PID"] != nil)
    }
}

// MPMD launches (`a : b`), working directories, and what the launcher derives from them.
@Suite struct MPMDRunOptionsTests {
    typealias App = RunOptions.Application

    func options(_ args: [String], env: [String: String] = [:]) -> RunOptions? {
        if case .run(let o) = RunOptions.parse(args, environment: { env[$0] }) { return o }
        return nil
    }

    func error(_ args: [String]) -> String? {
        if case .error(let message) = RunOptions.parse(args) { return message }
        return nil
    }

    @Test func colonSeparatesContextsEachWithItsOwnCountProgramArgumentsEnvironmentAndDirectory() throws {
        let o = try #require(options(["-genv", "G", "g", "-n", "2", "-env", "A", "1", "-wdir", "/w", "p1", "x", "-y",
                                      ":", "-n", "3", "-x", "B=2", "-x", "H", "--wdir=/v", "p2", "z",
                                      ":", "p3"], env: ["H": "/h"]))
        #expect(o.applications == [
            App(rankCount: 2, program: "p1", arguments: ["x", "-y"], environment: [.init("A", "1")]),
            App(rankCount: 3, program: "p2", arguments: ["z"], environment: [.init("B", "2"), .init("H", "/h")],
                workingDirectory: "/v"),
            App(rankCount: 1, program: "p3"),
        ])
        #expect(o.globalEnvironment == [.init("G", "g")])
        #expect(o.workingDirectory == "/w")
        #expect(o.rankCount == 6)
        #expect(o.applicationOfEachRank == [0, 0, 1, 1, 1, 2])
        #expect((0..<7).map { o.application(ofRank: $0) } == [0, 0, 1, 1, 1, 2, 0])
        // Global settings first, the context's own after them (so they win).
        #expect(o.environment(ofApplication: 0) == [.init("G", "g"), .init("A", "1")])
        #expect(o.environment(ofApplication: 1) == [.init("G", "g"), .init("B", "2"), .init("H", "/h")])
        #expect(o.environment(ofApplication: 2) == [.init("G", "g")])
        // -wdir before the first ':' is every context's default; after a ':' it is that context's.
        #expect(o.workingDirectory(ofApplication: 0) == "/w")
        #expect(o.workingDirectory(ofApplication: 1) == "/v")
        #expect(o.workingDirectory(ofApplication: 2) == "/w")
        // The single-program accessors show the first context.
        #expect(o.program == "p1" && o.arguments == ["x", "-y"])
        #expect(o.environment == [.init("G", "g"), .init("A", "1")])
    }

    @Test func globalOptionsAreAcceptedInAnyContextAndColonAlwaysEndsTheArguments() throws {
        let o = try #require(options(["p", "-n", "5", ":", "-l", "-genv", "A", "1", "--timeout", "3", "q", ":", "--", "-r"]))
        #expect(o.applications.map(\.program) == ["p", "q", "-r"])
        #expect(o.applications[0].arguments == ["-n", "5"])
        #expect(o.applications.map(\.rankCount) == [1, 1, 1])
        #expect(o.tagOutput && o.timeoutSeconds == 3)
        #expect(o.globalEnvironment == [.init("A", "1")])
        #expect(o.environment(ofApplication: 0) == [.init("A", "1")])
    }

    @Test func nargsTakesExactlyThatManyArgumentsColonsIncluded() throws {
        // How MPI_Comm_spawn passes arguments that look like launcher syntax.
        let o = try #require(options(["-n", "1", "--nargs", "4", "--", "p", ":", "-n", "--", "",
                                      ":", "--nargs", "0", "q", ":", "r", "s"]))
        #expect(o.applications.map(\.program) == ["p", "q", "r"])
        #expect(o.applications[0].arguments == [":", "-n", "--", ""])
        #expect(o.applications[1].arguments == [] && o.applications[2].arguments == ["s"])
        #expect(error(["--nargs", "2", "p", "a"])?.hasPrefix("--nargs 2: application context 1 needs exactly 2") == true)
        #expect(error(["--nargs", "1", "p", "a", "b"])?.hasPrefix("--nargs 1:") == true)
        #expect(error(["--nargs", "-1", "p"]) == "--nargs needs a number of arguments (0 or more)")
    }

    @Test(arguments: [["-wdir", "/d"], ["--wdir", "/d"], ["-wd", "/d"], ["--wdir=/d"], ["-wdir=/d"]])
    func workingDirectorySpellings(spelling: [String]) {
        #expect(options(spelling + ["p"])?.workingDirectory(ofApplication: 0) == "/d")
        #expect(options(["p", ":"] + spelling + ["q"])?.applications[1].workingDirectory == "/d")
        #expect(options(["p", ":"] + spelling + ["q"])?.workingDirectory(ofApplication: 0) == nil)
    }

    @Test func emptyContextsAndMissingValuesAreUsageErrors() {
        #expect(error(["-n", "2", ":", "-n", "1", "b"])
                == "application context 1 has no program before ':' (each context is [options] program [arguments])")
        #expect(error([":", "a"])?.hasPrefix("application context 1 has no program before ':'") == true)
        #expect(error(["a", ":", ":", "b"])?.hasPrefix("application context 2 has no program before ':'") == true)
        #expect(error(["-n", "2", "a", ":"]) == "nothing after the last ':' (each context is [options] program [arguments])")
        #expect(error(["a", ":", "-n", "2"]) == "application context 2 has no program (see 'ferry run --help')")
        #expect(error(["a", ":", "-n", "0", "b"]) == "-n: '0' is not a positive number")
        #expect(error(["a", ":", "--bogus", "b"]) == "unknown option '--bogus' (see 'ferry run --help')")
        #expect(error(["-wdir"]) == "-wdir needs a directory")
        #expect(error(["--wdir=", "a"]) == "--wdir needs a directory")
        #expect(RunOptions.parse(["a", ":", "--help"]) == .help)
    }

    @Test func singleProgramSettersKeepWorkingOnTheFirstContext() {
        var o = RunOptions()
        o.rankCount = 3
        o.program = "p"
        o.arguments = ["a"]
        o.environment = [.init("A", "1")]
        #expect(o.applications == [App(rankCount: 3, program: "p", arguments: ["a"])])
        #expect(o.globalEnvironment == [.init("A", "1")] && o.environment == [.init("A", "1")])
        #expect(o.applicationOfEachRank == [0, 0, 0])
    }

    func dictionary(_ env: [String]) -> [String: String] {
        Dictionary(env.map { e -> (String, String) in
            let p = e.split(separator: "=", maxSplits: 1).map(String.init)
            return (p[0], p.count > 1 ? p[1] : "")
        }, uniquingKeysWith: { _, b in b })
    }

    @Test func rankEnvironmentFollowsItsContext() {
        var o = RunOptions()
        o.applications = [App(rankCount: 2, program: "a", environment: [.init("C", "a")]),
                          App(rankCount: 3, program: "b", environment: [.init("C", "b"), .init("G", "mine")],
                              workingDirectory: "/tmp/b")]
        o.globalEnvironment = [.init("G", "g")]
        let base = ["PATH=/bin", "PWD=/old", "FERRY_LAUNCHER=/stale/ferry"]
        let r1 = dictionary(JobSupervisor.environment(base: base, options: o, jobID: "j", rank: 1,
                                                      launcherPath: "/opt/ferry/bin/ferry"))
        #expect(r1["C"] == "a" && r1["G"] == "g" && r1["PWD"] == "/old")
        #expect(r1["PMI_RANK"] == "1" && r1["PMI_SIZE"] == "5" && r1["FERRY_UNIVERSE_SIZE"] == "\(JobSupervisor.universeSize(o))")
        #expect(r1["FERRY_LAUNCHER"] == "/opt/ferry/bin/ferry")
        let r4 = dictionary(JobSupervisor.environment(base: base, options: o, jobID: "j", rank: 4,
                                                      launcherPath: "/opt/ferry/bin/ferry"))
        #expect(r4["C"] == "b" && r4["G"] == "mine" && r4["PWD"] == "/tmp/b")
        #expect(r4["PMI_RANK"] == "4" && r4["PMI_SIZE"] == "5" && r4["FERRY_LOCAL_RANK"] == "4")
        // Without a known launcher path, an inherited FERRY_LAUNCHER is not passed on.
        #expect(dictionary(JobSupervisor.environment(base: base, options: o, jobID: "j", rank: 0))["FERRY_LAUNCHER"] == nil)
    }

    @Test func serverAnswersGetAppnumWithTheRanksContext() throws {
        var o = RunOptions()
        o.applications = [App(rankCount: 2, program: "a"), App(rankCount: 1, program: "b"), App(rankCount: 2, program: "c")]
        let server = JobSupervisor.makeServer(options: o, jobID: "j")
        #expect(server.size == 5)
        for (client, expected) in [0, 0, 1, 2, 2].enumerated() {
            #expect(server.handle(client: client, line: "cmd=get_appnum")
                    == [.send(client: client, line: "cmd=appnum appnum=\(expected) rc=0\n")])
        }
        // A connection that names its rank in initack gets that rank's context.
        _ = server.handle(client: 3, line: "cmd=initack pmiid=3")
        #expect(server.handle(client: 3, line: "cmd=get_appnum") == [.send(client: 3, line: "cmd=appnum appnum=2 rc=0\n")])
        #expect(PMIServerState(size: 2, kvsName: "k", appnum: 4).appnum(client: 1) == 4)
    }

    @Test func launchChecksEveryContextBeforeAnyRankStarts() throws {
        var o = try #require(options(["-n", "2", "sh", ":", "-wdir", "/", "echo", ":", "no-such-program-mpmd"]))
        #expect(RunCommand.prepare(&o, path: "/usr/bin:/bin")
                == .failure(.init(message: "no-such-program-mpmd: command not found or not executable (application context 3)",
                                  status: 127)))
        o = try #require(options(["sh", ":", "-wdir", "/no/such/dir", "echo"]))
        #expect(RunCommand.prepare(&o, path: "/usr/bin:/bin")
                == .failure(.init(message: "cannot use working directory '/no/such/dir' (application context 2): "
                                  + "No such file or directory", status: 2)))
        o = try #require(options(["-wdir", "/etc/passwd", "sh"]))
        #expect(RunCommand.prepare(&o, path: "/bin")
                == .failure(.init(message: "cannot use working directory '/etc/passwd': Not a directory", status: 2)))
    }

    @Test func launchMakesProgramsAndDirectoriesAbsolute() throws {
        let cwd = try #require(ProgramResolver.currentDirectory())
        var o = try #require(options(["-wdir", ".", "sh", ":", "-wdir", "/tmp", "sh", ":", "sh"]))
        let paths = try RunCommand.prepare(&o, path: "/bin").get()
        #expect(paths == ["/bin/sh", "/bin/sh", "/bin/sh"])
        #expect((0..<3).map { o.workingDirectory(ofApplication: $0) } == [cwd, "/tmp", cwd])
        #expect(ProgramResolver.absolute("./x") == (cwd == "/" ? "/x" : cwd + "/x"))
        #expect(ProgramResolver.absolute("/a/b") == "/a/b")
        #expect(RunCommand.launcherPath()?.hasPrefix("/") == true)
    }
}

@Suite("ferry run placement")
struct PlacementTests {
    private func options(_ args: [String]) -> RunOptions? {
        if case .run(let o) = RunOptions.parse(args + ["prog"]) { return o }
        return nil
    }

    @Test func bindToAndCpuSetParse() {
        #expect(options(["--bind-to", "core"])?.bindToCore == true)
        #expect(options(["-bind-to", "none"])?.bindToCore == false)
        #expect(options([])?.bindToCore == nil)
        #expect(options(["--cpu-set", "0,2,4"])?.cpuSet == [0, 2, 4])
        #expect(RunOptions.parse(["--bind-to", "socket", "p"]) == .error("--bind-to: 'socket' is not core or none"))
        #expect(RunOptions.parse(["--cpu-set", "0,x", "p"]) == .error("--cpu-set: '0,x' is not a list of CPU numbers"))
    }

    /// Rank i gets the i-th allowed CPU when the ranks fit, nothing otherwise (or with
    /// --bind-to none); --bind-to core binds round robin even when oversubscribed. The choice
    /// reaches the rank as FERRY_BIND_CPU (the runtime binds itself in MPI_Init).
    @Test func placementFollowsThePolicy() throws {
        var o = try #require(options(["-n", "1"]))
        let cpus = try #require(JobSupervisor.placement(o), "one rank always fits")
        #expect(!cpus.isEmpty)
        o.rankCount = cpus.count + 1
        #expect(JobSupervisor.placement(o) == nil, "more ranks than CPUs: unbound by default")
        o.bindToCore = true
        #expect(JobSupervisor.placement(o) == cpus)
        o.rankCount = 1
        o.bindToCore = false
        #expect(JobSupervisor.placement(o) == nil)
        let env = JobSupervisor.environment(base: ["FERRY_BIND_CPU=9"], options: o, jobID: "j", rank: 0, cpu: 3)
        #expect(env.filter { $0.hasPrefix("FERRY_BIND_CPU=") } == ["FERRY_BIND_CPU=3"])
        let unbound = JobSupervisor.environment(base: ["FERRY_BIND_CPU=9"], options: o, jobID: "j", rank: 0)
        #expect(!unbound.contains { $0.hasPrefix("FERRY_BIND_CPU=") }, "an inherited binding is never passed on")
    }
}

/// Issue 11, item 10: MPI_UNIVERSE_SIZE was the number of launched ranks, so MPICH's spawn tests
/// concluded that spawning was impossible and passed without spawning.
@Suite struct UniverseSizeTests {
    @Test("MPI_UNIVERSE_SIZE: --universe-size / -usize, else FERRY_UNIVERSE_SIZE, else the CPUs; never below the job")
    func universeSize() {
        func parsed(_ a: [String]) -> RunOptions? {
            if case .run(let o) = RunOptions.parse(a) { return o }
            return nil
        }
        let none: (String) -> String? = { _ in nil }
        #expect(parsed(["-usize", "64", "-n", "2", "p"]).map { JobSupervisor.universeSize($0, environment: none) } == 64)
        #expect(parsed(["--universe-size=9", "p"])?.universeSize == 9)
        #expect(RunOptions.parse(["-usize", "0", "p"]) == .error("-usize: '0' is not a positive number"))
        // The parent job's universe reaches a job it spawns through FERRY_UNIVERSE_SIZE.
        let inherited: (String) -> String? = { $0 == "FERRY_UNIVERSE_SIZE" ? "12" : nil }
        #expect(parsed(["-n", "2", "p"]).map { JobSupervisor.universeSize($0, environment: inherited) } == 12)
        // Else the CPUs of --cpu-set, at least the rank count.
        #expect(parsed(["--cpu-set", "0,1,2", "-n", "1", "p"]).map { JobSupervisor.universeSize($0, environment: none) } == 3)
        #expect(parsed(["--cpu-set", "0", "-n", "5", "p"]).map { JobSupervisor.universeSize($0, environment: none) } == 5)
        #expect(parsed(["-usize", "3", "-n", "5", "p"]).map { JobSupervisor.universeSize($0, environment: none) } == 5)
    }
}
