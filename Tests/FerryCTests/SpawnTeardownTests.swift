// A spawned job ends with the process that spawned it: the parent rank aborts while its
// children wait in MPI_Recv for a message that never comes; the children's launcher sees its
// spawner gone and tears them down (no orphans left running).
import Foundation
import Testing

extension FerryCTests {
@Suite("Spawned jobs")
struct SpawnTeardownTests {
    static let source = #"""
    #include <mpi.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <unistd.h>
    int main(int argc, char **argv) {
        MPI_Init(&argc, &argv);
        MPI_Comm parent, inter;
        MPI_Comm_get_parent(&parent);
        if (parent == MPI_COMM_NULL) {
            char *args[] = {argv[1], NULL};
            MPI_Comm_spawn(argv[0], args, 2, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &inter, MPI_ERRCODES_IGNORE);
            int ready = 0;
            for (int c = 0; c < 2; c++) { int x; MPI_Recv(&x, 1, MPI_INT, c, 1, inter, MPI_STATUS_IGNORE); ready += x; }
            printf("children ready %d\n", ready);
            fflush(stdout);
            MPI_Abort(MPI_COMM_WORLD, 3);
        } else {
            int rank; MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            char path[4096]; snprintf(path, sizeof path, "%s.%d", argv[1], rank);
            FILE *f = fopen(path, "w"); fprintf(f, "%d\n", (int)getpid()); fclose(f);
            int one = 1; MPI_Send(&one, 1, MPI_INT, 0, 1, parent);
            int x; MPI_Recv(&x, 1, MPI_INT, 0, 2, parent, MPI_STATUS_IGNORE);   /* never sent */
        }
        MPI_Finalize();
        return 0;
    }
    """#

    @Test("a parent's MPI_Abort also ends the job it spawned", .timeLimit(.minutes(2)))
    func orphansAreTornDown() throws {
        guard let prefix = CHarness.prefix() else { return }
        guard CHarness.mpichAvailable else { Issue.record("\(CHarness.mpichMissing)"); return }
        let dir = CHarness.workDirectory.appendingPathComponent("spawn-teardown")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let src = dir.appendingPathComponent("orphan.c"), bin = dir.appendingPathComponent("orphan")
        try Self.source.write(to: src, atomically: true, encoding: .utf8)
        let cc = try CHarness.run(CHarness.mpichCompiler, ["-o", bin.path, src.path], bound: 60)
        try #require(cc.status == 0, "\(cc.summary)")
        let pidFile = dir.appendingPathComponent("pids").path
        let o = try CHarness.run(prefix.appendingPathComponent("bin/ferry").path,
                                 ["run", "-n", "1", "--timeout", "50", bin.path, pidFile],
                                 environment: ["LD_LIBRARY_PATH": prefix.appendingPathComponent("lib").path],
                                 directory: dir, bound: 60)
        #expect(o.status == 3, "the parent's abort code: \(o.summary)")
        #expect(o.stdout.contains("children ready 2"), "\(o.summary)")
        let pids = (0..<2).compactMap { r in
            (try? String(contentsOfFile: "\(pidFile).\(r)", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        #expect(pids.count == 2, "children wrote their pids")
        // The children's launcher checks its spawner at least every 0.25 s, then SIGTERMs.
        let deadline = Date().addingTimeInterval(10)
        var alive = pids
        while !alive.isEmpty && Date() < deadline {
            alive = alive.filter { kill($0, 0) == 0 }
            if !alive.isEmpty { usleep(50_000) }
        }
        #expect(alive.isEmpty, "children still running after their parent aborted: \(alive)")
        for p in alive { kill(p, SIGKILL) }
    }
}
}
