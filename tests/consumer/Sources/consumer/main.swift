// A user's program built against Ferry fetched by version: every rank sends its rank to rank 0,
// and an allreduce checks the sum; rank 0 prints one line the test compares.
import MPI
#if canImport(Glibc)
import Glibc
#endif

let world = try MPI.initialize()
let rank = world.rank, size = world.size
var ok = true
if rank == 0 {
    var got = 0
    for source in 1..<max(size, 1) {
        let (value, _) = try world.receive(Int.self, from: .rank(source), tag: 7)
        got += value
    }
    ok = got == (size - 1) * size / 2
} else {
    try world.send(rank, to: 0, tag: 7)
}
let total = try world.allReduce(rank + 1, .sum)
ok = ok && total == size * (size + 1) / 2
let allOK = try world.allReduce(ok, .logicalAnd)
if rank == 0 { print("consumer: \(size) ranks, allreduce \(total), \(allOK ? "ok" : "WRONG")") }
try MPI.finalize()
exit(allOK ? 0 : 1)
