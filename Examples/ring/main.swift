// Ring: rank 0 sends a token around the ring (each rank adds its rank and passes it on),
// then every rank contributes `rank + 1` to an allreduce. Rank 0 prints the verified
// results; any mismatch exits non-zero.
//   swift build --product ring && ferry run -n 4 .build/debug/ring
import MPI
#if canImport(Glibc)
import Glibc
#endif

let world = try MPI.initialize()
let rank = world.rank, size = world.size
var ok = true

// 1. The token: rank 0 starts it at 0; each rank adds its own rank and counts the visit.
struct Token: MPIElement {        // a plain struct travels as bytes
    var sum: Int
    var visits: Int
}
let next = (rank + 1) % size, previous = (rank - 1 + size) % size
var token = Token(sum: 0, visits: 0)
if size == 1 {
    token = Token(sum: 0, visits: 1)
} else if rank == 0 {
    try world.send(Token(sum: 0, visits: 1), to: next, tag: 1)
    (token, _) = try world.receive(Token.self, from: .rank(previous), tag: 1)
} else {
    let (t, _) = try world.receive(Token.self, from: .rank(previous), tag: 1)
    try world.send(Token(sum: t.sum + rank, visits: t.visits + 1), to: next, tag: 1)
}
let expectedSum = size * (size - 1) / 2
if rank == 0 && (token.visits != size || token.sum != expectedSum) {
    print("ring: token visited \(token.visits) ranks with sum \(token.sum) (expected \(size) and \(expectedSum))")
    ok = false
}

// 2. Allreduce of rank + 1: every rank checks 1 + 2 + ... + size.
let total = try world.allReduce(rank + 1, .sum)
let expectedTotal = size * (size + 1) / 2
if total != expectedTotal {
    print("ring: rank \(rank): allreduce sum = \(total) (expected \(expectedTotal))")
    ok = false
}

// 3. Every rank's verdict reaches rank 0.
let allOK = try world.allReduce(ok, .logicalAnd)
if rank == 0 {
    print("ring: token visited \(token.visits) ranks; allreduce sum = \(total) (expected \(expectedTotal))")
}
try MPI.finalize()
exit(allOK ? 0 : 1)
