// Under MPICH's Hydra (mpiexec.mpich) a job whose PMI_process_mapping puts its ranks on several
// nodes runs with shared memory inside each node and TCP between them. Hydra's fork launcher
// starts every "host" on this machine, so the mapping is multi-node while everything stays
// local; FERRY_TCP_IF=lo keeps the connections on the loopback interface. The C programs of
// tests/c run at 4 ranks on 2 nodes (Hydra deals them round-robin, so no node holds a block of
// consecutive ranks) and at 5 ranks on 3 nodes of 2, 1 and 2 ranks (mixed shared memory and TCP).
import Foundation
import Testing

extension FerryCTests {
@Suite("Hydra's node mapping: several nodes over TCP")
struct HydraMappingTests {
    /// Programs left to the one-node runs: regress/handles (10,000 live objects of each kind,
    /// 15-20 s across nodes for nothing the network changes). Everything else of tests/c runs on
    /// several nodes, windows too (their accesses travel as active messages between nodes).
    static let needsOneNode: Set<String> = ["regress/handles"]
    static let groups: Set<String> = ["p2p", "coll", "comm", "inter", "regress", "multinode", "rma"]

    static let jobs: [CJob] = CHarness.programs.filter { groups.contains($0.group) && !needsOneNode.contains($0.name) }
        .flatMap { [CJob(program: $0, ranks: 4), CJob(program: $0, ranks: 5)] }

    static var hydra: Bool { CHarness.mpichAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/mpiexec.mpich") }

    /// Runs `binary` under Hydra on 2 nodes (4 ranks) or 3 nodes (5 ranks).
    static func runAcrossNodes(_ binary: URL, ranks: Int, prefix: URL, extra: [String: String] = [:]) throws -> CHarness.Outcome {
        let hosts = ranks == 4 ? "nodea,nodeb" : "nodea:2,nodeb:1,nodec:2"
        var env = ["LD_LIBRARY_PATH": prefix.appendingPathComponent("lib").path, "MPIEXEC_TIMEOUT": "80",
                   "FERRY_TCP_IF": "lo"]
        env.merge(extra) { $1 }
        return try CHarness.run("/usr/bin/mpiexec.mpich", ["-launcher", "fork", "-hosts", hosts, "-n", "\(ranks)", binary.path],
                                environment: env, directory: CHarness.workDirectory, bound: 100)
    }

    @Test("a tests/c program passes with its ranks on several nodes", .enabled(if: hydra, Comment(rawValue: CHarness.mpichMissing)),
          .timeLimit(.minutes(3)), arguments: jobs)
    func acrossNodes(_ job: CJob) throws {
        guard let prefix = CHarness.prefix() else { return }
        let binary: URL
        switch CHarness.binary(job.program, .mpich, prefix: prefix) {
        case .success(let url): binary = url
        case .failure(let f): Issue.record(Comment(rawValue: f.text)); return
        }
        let o = try Self.runAcrossNodes(binary, ranks: job.ranks, prefix: prefix)
        #expect(o.status == 0 && !o.timedOut, "\(job.testDescription) on \(job.ranks == 4 ? 2 : 3) nodes: \(o.summary)")
        #expect(CHarness.okLines(o.stdout, of: job.program).count == 1, "\(job.testDescription): no single OK line: \(o.summary)")
        print("C across nodes \(job.testDescription): exit \(o.status) in \(String(format: "%.2f", o.seconds)) s")
    }

    @Test("a window across nodes works; a shared-memory window across nodes is refused with MPI_ERR_RMA_SHARED",
          .enabled(if: hydra, Comment(rawValue: CHarness.mpichMissing)), .timeLimit(.minutes(2)))
    func windowAcrossNodes() throws {
        guard let prefix = CHarness.prefix() else { return }
        let dir = CHarness.workDirectory.appendingPathComponent("hydra-window")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let src = dir.appendingPathComponent("window.c"), bin = dir.appendingPathComponent("window")
        try #"""
        #include <mpi.h>
        #include <stdio.h>
        int main(int argc, char **argv) {
            MPI_Init(&argc, &argv);
            int rank, size, buf[4] = {-1, -1, -1, -1};
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            MPI_Comm_size(MPI_COMM_WORLD, &size);
            MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
            MPI_Win win;
            int rc = MPI_Win_create(buf, sizeof buf, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win);
            if (rc == MPI_SUCCESS) {
                MPI_Win_fence(0, win);
                MPI_Put(&rank, 1, MPI_INT, (rank + 1) % size, 2, 1, MPI_INT, win);
                MPI_Win_fence(0, win);
                MPI_Win_free(&win);
            }
            printf("rank %d: create %d value %d\n", rank, rc, buf[2]);
            int *shared = NULL;
            rc = MPI_Win_allocate_shared(64, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &shared, &win);
            int cls = -1;
            MPI_Error_class(rc, &cls);
            char text[MPI_MAX_ERROR_STRING]; int len = 0;
            MPI_Error_string(rc, text, &len);
            printf("rank %d: shared class %d rma_shared %d: %s\n", rank, cls, cls == MPI_ERR_RMA_SHARED, text);
            MPI_Finalize();
            return 0;
        }
        """#.write(to: src, atomically: true, encoding: .utf8)
        let cc = try CHarness.run(CHarness.mpichCompiler, ["-o", bin.path, src.path], bound: 60)
        try #require(cc.status == 0, "\(cc.summary)")
        let o = try Self.runAcrossNodes(bin, ranks: 4, prefix: prefix)
        #expect(o.status == 0 && !o.timedOut, "\(o.summary)")
        for r in 0..<4 {
            #expect(o.stdout.contains("rank \(r): create 0 value \((r + 3) % 4)\n"), "rank \(r) got its neighbour's put: \(o.summary)")
            let line = o.stdout.split(separator: "\n").first { $0.hasPrefix("rank \(r): shared class ") }
            #expect(line?.contains(" rma_shared 1: ") == true, "rank \(r) got MPI_ERR_RMA_SHARED: \(o.summary)")
        }
    }
}
}
