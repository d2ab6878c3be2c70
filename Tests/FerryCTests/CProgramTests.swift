// The drop-in proof: every C program of tests/c, compiled with Debian's mpicc.mpich against
// MPICH's own header, runs UNMODIFIED on Ferry (LD_LIBRARY_PATH=<prefix>/lib ferry run -n N)
// and reports "<name>: OK" with exit status 0. Then the same programs compiled with `ferry cc`
// against our header (all compiled, one per group run). Serialized: the machine is small.
import Foundation
import Testing

@Suite("C programs and tools", .serialized)
struct FerryCTests {}

extension FerryCTests {
@Suite("Drop-in: built with mpicc.mpich, run on Ferry")
struct DropInTests {
    @Test("tests/c holds C programs to run")
    func programsFound() {
        #expect(!CHarness.programs.isEmpty, "no tests/c/**/*.c under \(CHarness.root.path)")
    }

    @Test("MPICH-built program passes on Ferry", .enabled(if: CHarness.mpichAvailable, Comment(rawValue: CHarness.mpichMissing)),
          .timeLimit(.minutes(3)), arguments: CHarness.jobs)
    func dropIn(_ job: CJob) throws {
        try check(job, compiler: .mpich)
    }
}

@Suite("Built with ferry cc (our mpi.h)")
struct FerryCCTests {
    @Test("compiles and links with ferry cc", .timeLimit(.minutes(3)), arguments: CHarness.programs)
    func compiles(_ program: CProgram) throws {
        guard let prefix = CHarness.prefix() else { return }
        if case .failure(let f) = CHarness.binary(program, .ferry, prefix: prefix) { Issue.record(Comment(rawValue: f.text)) }
    }

    @Test("ferry-cc-built program passes on Ferry", .timeLimit(.minutes(3)), arguments: CHarness.ferryCCJobs)
    func runs(_ job: CJob) throws {
        try check(job, compiler: .ferry)
    }
}
}

/// Builds `job.program` with `compiler`, runs it at `job.ranks`, and checks the verdict.
private func check(_ job: CJob, compiler: CHarness.Compiler) throws {
    guard let prefix = CHarness.prefix() else { return }
    let binary: URL
    switch CHarness.binary(job.program, compiler, prefix: prefix) {
    case .success(let url): binary = url
    case .failure(let f): Issue.record(Comment(rawValue: f.text)); return
    }
    let o = try CHarness.runProgram(binary, ranks: job.ranks, prefix: prefix)
    let okLines = CHarness.okLines(o.stdout, of: job.program)
    // One issue per failing run, naming the first thing wrong, with the run's output.
    if o.timedOut || o.status == 124 {
        Issue.record(Comment(rawValue: "\(job.testDescription) (\(compiler.rawValue)) hung: \(o.summary)"))
    } else if o.status != 0 {
        Issue.record(Comment(rawValue: "\(job.testDescription) (\(compiler.rawValue)) failed: \(o.summary)"))
    } else {
        #expect(okLines.count == 1, "\(job.testDescription): exit 0 but no single '\(job.program.stem): OK' line: \(o.summary)")
    }
    print("C \(compiler.rawValue) \(job.testDescription): exit \(o.status) in \(String(format: "%.2f", o.seconds)) s")
}
