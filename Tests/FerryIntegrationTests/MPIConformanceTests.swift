// End-to-end MPI cases: each runs `mpitests <case>` at several rank counts under the launcher
// and expects exit status 0 and the exact line "<case>: OK" (the program checks values itself
// and prints "FAIL <case>: ..." on stderr on any mismatch). Serialized: the machine is small.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

struct Job: Sendable, CustomTestStringConvertible {
    let name: String
    let ranks: Int
    var testDescription: String { "\(name) -n \(ranks)" }
}

private func jobs(_ names: [String], _ ranks: [Int]) -> [Job] {
    names.flatMap { n in ranks.map { Job(name: n, ranks: $0) } }
}

/// Every case with the rank counts it runs at.
let conformanceJobs: [Job] =
    jobs(["p2p", "wildcard", "datatypes", "comms", "errors", "cancel", "persistent", "probe", "bsend", "attributes"], [1, 2, 3, 4])
    + jobs(["collectives", "edge"], [1, 2, 3, 4, 8])
    + jobs(["intercomm"], [2, 3, 4])      // needs two non-empty groups
    + jobs(["sizes"], [2])                 // includes the 256 MiB message
    + jobs(["threads"], [2])               // MPI_THREAD_MULTIPLE, 4 threads per rank

/// One serialized parent so that no two jobs ever run at once (2 cores).
@Suite("Ferry integration", .serialized)
struct FerryIntegration {}

extension FerryIntegration {
@Suite("MPI conformance through ferry run")
struct MPIConformanceTests {
    @Test("case passes with values checked", .timeLimit(.minutes(3)), arguments: conformanceJobs)
    func runCase(_ job: Job) throws {
        if let missing = Harness.missingBinaries { Issue.record(Comment(rawValue: missing)); return }
        let o = try Harness.run(job.name, ranks: job.ranks)
        #expect(!o.timedOut, "hung: \(o.summary)")
        #expect(o.status == 0, "\(o.summary)")
        let lines = o.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        #expect(lines.filter { $0 == "\(job.name): OK" }.count == 1, "no single '\(job.name): OK' line: \(o.summary)")
        #expect(!o.stderr.contains("FAIL "), "\(o.summary)")
        #expect(rankProcesses(named: "mpitests", argument: job.name).isEmpty, "rank processes left running after \(job)")
        print("mpitests \(job.testDescription): exit \(o.status) in \(String(format: "%.2f", o.seconds)) s")
    }
}

@Suite("Rendezvous paths")
struct RendezvousPathTests {
    /// Single copy is used only from FERRY_SINGLE_COPY_MIN (64 MiB) by default: the sizes case
    /// (0 B to 256 MiB, values checked) again with single copy for every rendezvous message,
    /// and with the pipelined copy for all of them.
    @Test("sizes with single copy everywhere and nowhere", .timeLimit(.minutes(3)),
          arguments: [["FERRY_SINGLE_COPY_MIN": "0"], ["FERRY_SINGLE_COPY": "0"]])
    func sizes(_ environment: [String: String]) throws {
        if let missing = Harness.missingBinaries { Issue.record(Comment(rawValue: missing)); return }
        let o = try Harness.run("sizes", ranks: 2, environment: environment)
        #expect(o.status == 0 && !o.timedOut, "\(environment): \(o.summary)")
        #expect(o.stdout.split(separator: "\n").contains("sizes: OK"), "\(environment): \(o.summary)")
    }
}

@Suite("Launcher teardown")
struct TeardownTests {
    /// A rank killed by SIGKILL while the others block in a receive: the launcher ends the
    /// job quickly, names rank 1 and the signal, exits non-zero, and leaves no /dev/shm segment.
    @Test("killed rank ends the job and cleans /dev/shm", .timeLimit(.minutes(1)))
    func killedRank() throws {
        if let missing = Harness.missingBinaries { Issue.record(Comment(rawValue: missing)); return }
        let before = Harness.shmEntries()
        let o = try Harness.run("killed", ranks: 3, launcherTimeout: 60, bound: 30)
        #expect(!o.timedOut, "launcher did not end the job: \(o.summary)")
        #expect(o.status != 0, "\(o.summary)")
        #expect(o.seconds < 10, "took \(o.seconds) s to end the job: \(o.summary)")
        #expect(o.stderr.contains("rank 1"), "stderr does not name rank 1: \(o.summary)")
        #expect(o.stderr.contains("SIGKILL") || o.stderr.contains("signal 9"), "stderr does not name the signal: \(o.summary)")
        #expect(!o.stdout.contains("killed: OK"), "\(o.summary)")
        // This job's segments are named ferry-<launcher pid>-...; none may remain. Entries that
        // other jobs (other users of the machine) create meanwhile are not ours to judge, so the
        // before/after difference is restricted to names of this launcher.
        let leftover = Harness.shmEntries().subtracting(before).filter { $0.hasPrefix("ferry-\(o.launcherPID)-") }
        #expect(leftover.isEmpty, "left in /dev/shm: \(leftover.sorted())")
        // No rank process survives the job (they would keep the pid's children alive).
        usleep(200_000)
        let survivors = rankProcesses(named: "mpitests", argument: "killed")
        #expect(survivors.isEmpty, "rank processes still running: \(survivors)")
        print("mpitests killed -n 3: exit \(o.status) in \(String(format: "%.2f", o.seconds)) s")
    }
}
}

/// Pids of running processes whose command line is `<...>/name ... argument` (from /proc).
func rankProcesses(named name: String, argument: String) -> [Int32] {
    let fm = FileManager.default
    guard let entries = try? fm.contentsOfDirectory(atPath: "/proc") else { return [] }
    var pids: [Int32] = []
    for e in entries {
        guard let pid = Int32(e), let data = fm.contents(atPath: "/proc/\(e)/cmdline") else { continue }
        let parts = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let exe = parts.first, exe.hasSuffix("/" + name), parts.contains(argument) else { continue }
        // zombies have an empty cmdline, so anything listed here is alive
        pids.append(pid)
    }
    return pids
}
