// Every tunable of Ferry, declared once: environment variable, default, meaning.
// Read once at start-up (`Tunables.current`); `ferry info` prints them.
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// One documented tunable: its variable, default, meaning and the values it accepts.
public struct TunableDescription: Sendable {
    public let variable: String
    public let defaultValue: Int
    public let meaning: String
    /// Accepted values (also `zeroMeansAutomatic`'s 0).
    public let range: ClosedRange<Int>
    /// Accepted values are multiples of this.
    public let multipleOf: Int
    /// 0 is accepted besides `range` (it asks for the automatic choice).
    public let zeroMeansAutomatic: Bool

    init(variable: String, defaultValue: Int, meaning: String, range: ClosedRange<Int>,
         multipleOf: Int = 1, zeroMeansAutomatic: Bool = false) {
        self.variable = variable; self.defaultValue = defaultValue; self.meaning = meaning
        self.range = range; self.multipleOf = multipleOf; self.zeroMeansAutomatic = zeroMeansAutomatic
    }

    /// The accepted values in words, for error messages and `ferry info`.
    public var accepted: String {
        var text = range.lowerBound == range.upperBound - 1 && range.lowerBound == 0 ? "0 or 1"
            : "an integer from \(range.lowerBound) to \(range.upperBound)"
        if multipleOf > 1 { text += ", a multiple of \(multipleOf)" }
        if zeroMeansAutomatic { text = "0 (automatic) or " + text }
        return text
    }

    /// The value of `text`, or the error naming the variable, the value and what is accepted.
    /// Strict: decimal digits only (an optional sign), no spaces, no units, nothing clamped.
    public func parse(_ text: String) throws(MPIError) -> Int {
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        if !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let v = Int(text),
           (zeroMeansAutomatic && v == 0) || (range.contains(v) && v % multipleOf == 0) {
            return v
        }
        throw MPIError(.arg, "\(variable)='\(text)' is not valid: expected \(accepted)")
    }
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
              meaning: "bytes of one shared-memory ring cell, header included",
              range: 256...(1 << 31), multipleOf: 64),
        .init(variable: "FERRY_SHM_RING_CELLS", defaultValue: 0,
              meaning: "cells in each per-pair shared-memory ring; 0: 16 when the job has at most 16 ranks on the node, 8 above, and 8 in rings between jobs (dynamic processes)",
              range: 2...1024, zeroMeansAutomatic: true),
        .init(variable: "FERRY_EAGER_LIMIT", defaultValue: 65536,
              meaning: "messages up to this many bytes are sent eagerly; larger ones use rendezvous",
              range: 0...(1 << 30)),
        .init(variable: "FERRY_PIPELINE_CHUNK", defaultValue: 16320,
              meaning: "bytes per chunk of the pipelined rendezvous copy (used up to the cell payload, cell bytes - 64)",
              range: 64...(1 << 31)),
        .init(variable: "FERRY_SINGLE_COPY", defaultValue: 1,
              meaning: "1: large messages by process_vm_readv single copy when the kernel allows; 0: pipelined copy",
              range: 0...1),
        .init(variable: "FERRY_SINGLE_COPY_MIN", defaultValue: 64 << 20,
              meaning: "rendezvous messages of at least this many bytes use single copy; smaller ones the pipelined copy (faster where page pinning is slow, as in VMs)",
              range: 0...(1 << 50)),
        .init(variable: "FERRY_SPINS_BEFORE_YIELD", defaultValue: 100,
              meaning: "wait-loop spins before yielding the core, when ranks outnumber cores",
              range: 0...(1 << 30)),
        .init(variable: "FERRY_YIELDS_BEFORE_BLOCK", defaultValue: 50,
              meaning: "yields before a waiting rank blocks on its doorbell, when ranks outnumber cores",
              range: 0...(1 << 30)),
        .init(variable: "FERRY_BUSY_POLL", defaultValue: 0,
              meaning: "1: waits always spin, even when ranks outnumber cores",
              range: 0...1),
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

    /// The value of tunable `name` in `environment`, or its default when unset.
    /// - Throws: the variable, its value and the accepted range, when the value is not valid.
    public static func value(_ name: String, in environment: (String) -> String?) throws(MPIError) -> Int {
        let d = descriptions.first { $0.variable == name }!
        guard let text = environment(name) else { return d.defaultValue }
        return try d.parse(text)
    }

    /// The process environment, as `fromEnvironment` reads it.
    public static func processEnvironment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// Reads every tunable from `environment` (the process's by default). Nothing is clamped
    /// or replaced: an invalid value is an error naming the variable, the value and the range.
    public static func fromEnvironment(_ environment: (String) -> String? = processEnvironment) throws(MPIError) -> Tunables {
        func v(_ name: String) throws(MPIError) -> Int { try value(name, in: environment) }
        var t = Tunables(
            shmCellBytes: try v("FERRY_SHM_CELL_BYTES"), shmRingCells: try v("FERRY_SHM_RING_CELLS"),
            eagerLimitBytes: try v("FERRY_EAGER_LIMIT"), pipelineChunkBytes: try v("FERRY_PIPELINE_CHUNK"),
            singleCopy: try v("FERRY_SINGLE_COPY"), singleCopyMinBytes: try v("FERRY_SINGLE_COPY_MIN"),
            spinsBeforeYield: try v("FERRY_SPINS_BEFORE_YIELD"),
            yieldsBeforeBlock: try v("FERRY_YIELDS_BEFORE_BLOCK"), busyPoll: try v("FERRY_BUSY_POLL"))
        // A chunk travels in one cell: the documented cap, not a correction of a bad value.
        t.pipelineChunkBytes = min(t.pipelineChunkBytes, t.shmCellBytes - 64)
        return t
    }
}
