// Messages that arrived before a matching receive was posted, and matched-probe messages.
import FerryCore

/// An arrived but unmatched message: its envelope, and either its eager bytes (possibly still
/// arriving) or the rendezvous offer of its sender.
struct UnexpectedMessage {
    var context: UInt32
    var source: Int32
    var tag: Int32
    /// World rank of the sender.
    var fromWorld: Int32
    var total: Int
    /// Eager: a copy of the bytes (nil for rendezvous).
    var data: UnsafeMutableRawPointer?
    var received: Int
    var isRendezvous: Bool
    var synchronous: Bool
    var senderRequest: UInt64
    var address: UInt64
    /// A receive that matched before all eager fragments arrived.
    var waitingRequest: Int32 = -1
}

/// Where the continuation cells from one sender go.
enum Inflight {
    case none
    case request(Int32)
    case unexpected(Int)
}
