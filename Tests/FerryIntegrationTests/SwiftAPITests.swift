// The Swift API (`import MPI`) end to end: the API test program and the README's ring example,
// each under the launcher at several rank counts, with the values they print checked.
import Foundation
import Testing

extension FerryIntegration {
@Suite("Swift API through ferry run")
struct SwiftAPITests {
    @Test("swift-api-test checks every API area by value", .timeLimit(.minutes(3)), arguments: [2, 3, 4, 5])   // the program needs two ranks
    func apiProgram(ranks: Int) throws {
        let o = try Harness.run("", ranks: ranks, program: "swift-api-test")
        #expect(!o.timedOut && o.status == 0, "\(o.summary)")
        #expect(o.stdout.split(separator: "\n").contains("swift-api: OK"), "\(o.summary)")
    }

    @Test("the README's ring example passes the token and reduces correctly", .timeLimit(.minutes(2)), arguments: [1, 4, 8])
    func ringExample(ranks: Int) throws {
        let o = try Harness.run("", ranks: ranks, program: "ring")
        #expect(!o.timedOut && o.status == 0, "\(o.summary)")
        let sum = ranks * (ranks + 1) / 2
        #expect(o.stdout.contains("token visited \(ranks) ranks; allreduce sum = \(sum) (expected \(sum))"), "\(o.summary)")
    }
}
}

extension FerryIntegration {
@Suite("Start-up failures")
struct StartupFailureTests {
    /// A shared segment larger than /dev/shm's free space: every rank fails MPI_Init with the
    /// same clear message, the job ends non-zero, and nothing is left in /dev/shm.
    @Test("a /dev/shm too small for the segment fails every rank with a clear message", .timeLimit(.minutes(1)))
    func devShmTooSmall() throws {
        let before = Harness.shmEntries()
        let o = try Harness.run("p2p", ranks: 2, environment: ["FERRY_SHM_CELL_BYTES": "2000000000"], bound: 30)
        #expect(!o.timedOut && o.status != 0, "\(o.summary)")
        #expect(o.stderr.contains("/dev/shm has"), "\(o.summary)")
        #expect(!o.stderr.contains("Out of memory: Out of memory"), "\(o.summary)")
        let leftover = Harness.shmEntries().subtracting(before).filter { $0.hasPrefix("ferry-\(o.launcherPID)-") }
        #expect(leftover.isEmpty, "left in /dev/shm: \(leftover.sorted())")
    }
}
}
