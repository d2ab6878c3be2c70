// Every tunable of Ferry, declared once: environment variable, default, meaning.
// Read once at start-up (`Tunables.current`); `ferry info` prints them.
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// One documented tunable.
public struct TunableDescription: Sendable {
    public let variable: String
    public let defaultValue: Int
    public let meaning: String
}

/// The values in force for this process.
public struct Tunables: Sendable {
    /// Bytes of one shared-memory cell including its 64-byte header.
    public var shmCellBytes: Int
    /// Cells in each per-pair ring; 0: automatic (`ringCells(localSize:)`, `linkRingCells`).
    public var shmRingCells: Int
    /// Messages up to this many bytes travel eagerly through the rings; larger ones use rendezvous.
    public var eagerLimitBytes: Int
    /// Bytes of a chunk in the pipelined (no single copy) rendezvous fallback.
    public var pipelineChunkBytes: Int
    /// 1: allow single copy through process_vm_readv; 0: always use the pipelined copy.
    public var singleCopy: Int
    /// Rendezvous messages of at least this many bytes use single copy (when allowed); smaller
    /// ones the pipelined copy through the rings.
    public var singleCopyMinBytes: Int
    /// Spins of a wait loop before it starts yielding the core (when ranks outnumber cores).
    public var spinsBeforeYield: Int
    /// Yields before a waiting rank blocks on its futex doorbell.
    public var yieldsBeforeBlock: Int
    /// 1: always spin (never block) even when oversubscribed; 0: automatic.
    public var busyPoll: Int

    public static let descriptions: [TunableDescription] = [
        .init(variable: "FERRY_SHM_CELL_BYTES", defaultValue: 16384,
              meaning: "bytes of one shared-memory ring cell, header included (multiple of 64, >= 256)"),
        .init(variable: "FERRY_SHM_RING_CELLS", defaultValue: 0,
              meaning: "cells in each per-pair shared-memory ring (>= 2); 0: 16 when the job has at most 16 ranks on the node, 8 above, and 8 in rings between jobs (dynamic processes)"),
        .init(variable: "FERRY_EAGER_LIMIT", defaultValue: 65536,
              meaning: "messages up to this many bytes are sent eagerly; larger ones use rendezvous"),
        .init(variable: "FERRY_PIPELINE_CHUNK", defaultValue: 16320,
              meaning: "bytes per chunk of the pipelined rendezvous copy (capped at the cell payload)"),
        .init(variable: "FERRY_SINGLE_COPY", defaultValue: 1,
              meaning: "1: large messages by process_vm_readv single copy when the kernel allows; 0: pipelined copy"),
        .init(variable: "FERRY_SINGLE_COPY_MIN", defaultValue: 64 << 20,
              meaning: "rendezvous messages of at least this many bytes use single copy; smaller ones the pipelined copy (faster where page pinning is slow, as in VMs)"),
        .init(variable: "FERRY_SPINS_BEFORE_YIELD", defaultValue: 100,
              meaning: "wait-loop spins before yielding the core, when ranks outnumber cores"),
        .init(variable: "FERRY_YIELDS_BEFORE_BLOCK", defaultValue: 50,
              meaning: "yields before a waiting rank blocks on its doorbell, when ranks outnumber cores"),
        .init(variable: "FERRY_BUSY_POLL", defaultValue: 0,
              meaning: "1: waits always spin, even when ranks outnumber cores"),
    ]

    /// Cells of the rings between the `localSize` ranks of a job on one node. Deeper rings keep
    /// more small messages in flight (bidirectional 4 KiB streams: +5–10 %, docs/PERFORMANCE.md)
    /// but rings are per ordered pair, so the memory grows as localSize²: small jobs get 16.
    public func ringCells(localSize: Int) -> Int {
        shmRingCells != 0 ? shmRingCells : (localSize <= 16 ? 16 : 8)
    }

    /// Cells of the rings between processes of two jobs (link segments): the same in every job
    /// whatever its size, since both sides must agree (checked when they connect).
    public var linkRingCells: Int { shmRingCells != 0 ? shmRingCells : 8 }

    public static func environmentInt(_ name: String, _ fallback: Int) -> Int {
        guard let raw = getenv(name), let value = Int(String(cString: raw)) else { return fallback }
        return value
    }

    public static func value(_ name: String) -> Int {
        let d = descriptions.first { $0.variable == name }!
        return environmentInt(name, d.defaultValue)
    }

    /// Reads the environment, then clamps each value into its valid range.
    public static func fromEnvironment() -> Tunables {
        var t = Tunables(
            shmCellBytes: value("FERRY_SHM_CELL_BYTES"), shmRingCells: value("FERRY_SHM_RING_CELLS"),
            eagerLimitBytes: value("FERRY_EAGER_LIMIT"), pipelineChunkBytes: value("FERRY_PIPELINE_CHUNK"),
            singleCopy: value("FERRY_SINGLE_COPY"), singleCopyMinBytes: value("FERRY_SINGLE_COPY_MIN"),
            spinsBeforeYield: value("FERRY_SPINS_BEFORE_YIELD"),
            yieldsBeforeBlock: value("FERRY_YIELDS_BEFORE_BLOCK"), busyPoll: value("FERRY_BUSY_POLL"))
        t.shmCellBytes = max(256, (t.shmCellBytes + 63) & ~63)
        t.shmRingCells = t.shmRingCells == 0 ? 0 : max(2, t.shmRingCells)
        t.eagerLimitBytes = max(0, t.eagerLimitBytes)
        t.singleCopyMinBytes = max(0, t.singleCopyMinBytes)
        t.pipelineChunkBytes = max(64, min(t.pipelineChunkBytes, t.shmCellBytes - 64))
        return t
    }
}
