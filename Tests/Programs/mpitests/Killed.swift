// killed: rank 1 sends itself SIGKILL after a barrier while the others block in a receive
// that is never matched; the launcher must end the job (used by the teardown test).
import FerryRuntime
import FerryDatatype
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

func runKilled(_ t: T) throws {
    t.barrier()
    if t.me == 1 { raise(SIGKILL) }
    let v = alloc(1, Int32(0))
    t.recv(v, 1, tInt, from: 1, tag: 999)
    fail("received from a killed rank")
}
