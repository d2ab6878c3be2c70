// Under MPICH's Hydra (mpiexec.mpich) a job whose PMI_process_mapping puts its ranks on several
// nodes stops in MPI_Init with a message naming the mapping (Ferry has no transport between
// nodes yet), instead of timing out on a shared segment the other nodes cannot map; the same
// program on one node runs. Hydra's fork launcher starts every "host" on this machine, so the
// mapping is multi-node while everything stays local.
import Foundation
import Testing

extension FerryCTests {
@Suite("Hydra's node mapping")
struct HydraMappingTests {
    static let source = #"""
    #include <mpi.h>
    #include <stdio.h>
    int main(int argc, char **argv) {
        MPI_Init(&argc, &argv);
        int rank, size, sum = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        if (rank == 0) printf("size %d sum %d\n", size, sum);
        MPI_Finalize();
        return 0;
    }
    """#

    @Test("ranks on two nodes: a clear error from MPI_Init; on one node: the job runs", .timeLimit(.minutes(2)))
    func mapping() throws {
        guard let prefix = CHarness.prefix() else { return }
        guard CHarness.mpichAvailable, FileManager.default.isExecutableFile(atPath: "/usr/bin/mpiexec.mpich") else {
            Issue.record("\(CHarness.mpichMissing)"); return
        }
        let dir = CHarness.workDirectory.appendingPathComponent("hydra-mapping")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let src = dir.appendingPathComponent("mapping.c"), bin = dir.appendingPathComponent("mapping")
        try Self.source.write(to: src, atomically: true, encoding: .utf8)
        let cc = try CHarness.run(CHarness.mpichCompiler, ["-o", bin.path, src.path], bound: 60)
        try #require(cc.status == 0, "\(cc.summary)")
        let lib = ["LD_LIBRARY_PATH": prefix.appendingPathComponent("lib").path, "MPIEXEC_TIMEOUT": "40"]

        let two = try CHarness.run("/usr/bin/mpiexec.mpich", ["-launcher", "fork", "-hosts", "nodea,nodeb", "-n", "2", bin.path],
                                   environment: lib, directory: dir, bound: 60)
        #expect(two.status != 0, "\(two.summary)")
        #expect(!two.timedOut, "refused at once, not after a time-out: \(two.summary)")
        #expect(two.stderr.contains("the launcher placed the 2 ranks on 2 nodes (PMI_process_mapping (vector,(0,2,1)))"),
                "\(two.summary)")
        #expect(!two.stdout.contains("size 2"), "no rank got past MPI_Init: \(two.summary)")

        let one = try CHarness.run("/usr/bin/mpiexec.mpich", ["-launcher", "fork", "-hosts", "nodea", "-n", "2", bin.path],
                                   environment: lib, directory: dir, bound: 60)
        #expect(one.status == 0, "\(one.summary)")
        #expect(one.stdout.contains("size 2 sum 1"), "\(one.summary)")
    }
}
}
