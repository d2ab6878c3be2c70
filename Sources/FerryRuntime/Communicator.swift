// Communicators: a group (and for intercommunicators a remote group), a context id agreed by
// all members, a name, attributes, an error handler and an optional topology.
import FerryCore

/// What happens when an MPI call on a communicator fails.
public enum ErrorHandler: @unchecked Sendable {
    case fatal
    case returnCodes
    /// A user handler; receives the communicator and the error code.
    case user((Communicator, Int32) -> Void)
}

/// A communication context.
public final class Communicator: @unchecked Sendable {
    /// Context id: point-to-point messages carry `contextID * 4`, collectives `contextID * 4 + 1`.
    public let contextID: UInt32
    public let group: Group
    /// The remote group of an intercommunicator; nil for intracommunicators.
    public let remoteGroup: Group?
    @exclusivity(unchecked) public var name: String
    @exclusivity(unchecked) public var errorHandler: ErrorHandler = .fatal
    /// Attribute values by keyval.
    @exclusivity(unchecked) var attributes: [Int32: UnsafeMutableRawPointer?] = [:]
    /// The keyvals of `attributes` in the order their values were first set (MPI_COMM_SELF's
    /// are deleted at MPI_Finalize in the reverse of it, MPI-3.1 §8.7.1).
    @exclusivity(unchecked) var attributeOrder: [Int32] = []
    /// Cartesian / graph / dist-graph topology, if any (later issue).
    @exclusivity(unchecked) public var topology: AnyObject?
    /// True for MPI_COMM_WORLD and MPI_COMM_SELF (never freed).
    public let isPredefined: Bool
    /// Hint for intercomm merge and similar: true for the group that passed `high`.
    /// Read from FerryABI on every call: an inlinable getter over storage of this module (see
    /// `Runtime.world`).
    @usableFromInline @exclusivity(unchecked) var _isFreed = false
    @inlinable public var isFreed: Bool { _isFreed }

    @inline(__always) public var pointToPointContext: UInt32 { contextID &* 4 }
    /// Collective traffic; a temporary communicator built inside a communicator-creating call
    /// uses its parent's third context (`contextID * 4 + 2`) instead.
    public let collectiveContext: UInt32
    /// An intercommunicator's local group as an intracommunicator (for its collectives).
    @exclusivity(unchecked) var localComm: Communicator?
    /// Its members grouped by node, for the node-aware collectives (Hierarchy.swift).
    @exclusivity(unchecked) var hierarchyState: HierarchyState = .unknown
    /// Nonblocking collectives waiting or running on this communicator (see Nonblocking.swift).
    @exclusivity(unchecked) var background: BackgroundQueue?

    init(contextID: UInt32, group: Group, remoteGroup: Group? = nil, name: String = "", isPredefined: Bool = false,
         collectiveContext: UInt32? = nil) {
        self.contextID = contextID
        self.collectiveContext = collectiveContext ?? contextID &* 4 &+ 1
        self.group = group
        self.remoteGroup = remoteGroup
        self.name = name
        self.isPredefined = isPredefined
        rank = group.rank
        isInter = remoteGroup != nil
        let peers = (remoteGroup ?? group).worldRanks
        peerCount = peers.count
        peerTable = .allocate(capacity: max(peers.count, 1))
        peerTable.initialize(from: peers, count: peers.count)
    }

    deinit { peerTable.deallocate() }

    /// This process's rank in the (local) group.
    public let rank: Int32
    /// Size of the group that point-to-point ranks refer to.
    public let peerCount: Int
    /// World rank of each point-to-point peer: a flat copy of the group's list, read on every
    /// message without touching reference counts.
    private let peerTable: UnsafeMutablePointer<Int32>
    public var size: Int { group.size }
    /// True for intercommunicators (stored: read on every collective call).
    public let isInter: Bool
    /// World rank of point-to-point peer `r` (remote group for intercommunicators).
    @inline(__always) public func worldRank(ofPeer r: Int32) -> Int32 {
        peerTable[Int(r)]
    }
}
