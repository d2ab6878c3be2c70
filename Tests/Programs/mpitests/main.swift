// mpitests: value-checking MPI conformance cases over FerryRuntime, one subcommand per case.
// Usage: ferry run -n N mpitests <case>. Rank 0 prints "<case>: OK" on success; any mismatch
// prints "FAIL <case>: <what>" to stderr and exits 1. See Tests/FerryIntegrationTests.
#if canImport(Glibc)
import Glibc
#endif

let cases: [String: (T) throws -> Void] = [
    "p2p": runP2P,
    "wildcard": runWildcard,
    "sizes": runSizes,
    "datatypes": runDatatypes,
    "collectives": runCollectives,
    "comms": runComms,
    "errors": runErrors,
    "threads": runThreads,
    "cancel": runCancel,
    "persistent": runPersistent,
    "probe": runProbe,
    "bsend": runBsend,
    "intercomm": runIntercomm,
    "attributes": runAttributes,
    "edge": runEdge,
    "killed": runKilled,
]

let args = CommandLine.arguments
guard args.count >= 2, let body = cases[args[1]] else {
    writeFD(2, "usage: mpitests <\(cases.keys.sorted().joined(separator: "|"))>\n")
    exit(2)
}
testName = args[1]
do {
    let t = try T(threadLevel: testName == "threads" ? .multiple : .single)
    try body(t)
    try t.rt.barrier(t.w)
    try t.rt.finalize()
    for check in afterFinalize { check() }
    if t.me == 0 { writeFD(1, "\(testName): OK\n") }
} catch {
    fail("threw \(error)")
}
exit(0)
