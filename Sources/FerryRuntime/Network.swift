// Start-up of the network between nodes (a job on several nodes): every rank opens its TCP
// listener and puts its address card in the launcher's key-value space before the start-up
// barrier (Runtime.startUp); after it, every rank reads the cards of the ranks on other nodes
// and connects (FerryTCP's rule: the lower world rank connects, the higher accepts). The job's
// cookie, which every connection must present, comes from the launcher (FERRY_JOB_COOKIE,
// in the ranks' environment only) or, under a foreign launcher, from rank 0 through the
// key-value space, which only the job's processes read.
import FerryCore
import FerrySys
import FerryPMI
import FerryTCP
import FerryShm
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

extension Runtime {
    /// Opens this rank's TCP listener and puts what the other nodes need: its card, and (the
    /// first rank of a node) the node's host name and machine identity; rank 0 the cookie when
    /// the launcher gave none. Before the start-up barrier.
    static func openNetwork(pmi: PMIClient, nodes: NodeMap, hostName: String, localRank: Int) throws(MPIError) -> TCPTransport {
        let options = try TCPTransportOptions.fromEnvironment { name in getenv(name).map { String(cString: $0) } }
        let cookie: [UInt8]
        if let c = getenv("FERRY_JOB_COOKIE") {
            cookie = Array(String(cString: c).utf8)
        } else {
            // Every rank draws one; rank 0's is the job's (the others read it after the barrier
            // and give it to the transport before any connection, see connectNetwork).
            cookie = Array(randomHex(32).utf8)
            if pmi.rank == 0 { try pmi.put(key: "ferry-cookie", value: String(decoding: cookie, as: UTF8.self)) }
        }
        guard cookie.count >= 16 && cookie.count <= 64 else {
            throw MPIError(.other, "FERRY_JOB_COOKIE must hold 16 to 64 characters (it has \(cookie.count))")
        }
        let tcp = try TCPTransport(index: pmi.rank, peerCount: pmi.size, cookie: cookie, hostName: hostName, options: options)
        try pmi.put(key: "ferry-tcp-\(pmi.rank)", value: tcp.businessCard)
        if localRank == 0 {
            try pmi.put(key: "ferry-host-\(nodes.myNode)", value: hexEncode(hostName))
            try pmi.put(key: "ferry-boot-\(nodes.myNode)", value: machineIdentity())
        }
        return tcp
    }

    /// After the start-up barrier: reads the cards of the ranks on other nodes and connects to
    /// them (the job's cookie first, when rank 0 chose it). Returns how many of the job's ranks
    /// run on this machine, and this rank's index among them (by world rank): nodes that are
    /// containers or network namespaces of one machine share its cores, which decides whether
    /// waits give the core away and which CPU the rank takes.
    static func connectNetwork(_ tcp: TCPTransport, pmi: PMIClient, nodes: NodeMap) throws(MPIError) -> (ranks: Int, index: Int) {
        if getenv("FERRY_JOB_COOKIE") == nil && pmi.rank != 0 {
            guard let c = try pmi.get(key: "ferry-cookie") else {
                throw MPIError(.other, "PMI: rank 0's cookie is missing from the key-value space")
            }
            tcp.setCookie(Array(c.utf8))
        }
        var hosts: [String] = []
        var sameMachine = Set<Int32>()
        let me = machineIdentity()
        for n in 0..<nodes.nodeCount {
            if n == nodes.myNode {
                hosts.append("")
                sameMachine.insert(Int32(n))
                continue
            }
            let name = try pmi.get(key: "ferry-host-\(n)").map { hexDecode($0) } ?? "node \(n)"
            hosts.append(name)
            if try pmi.get(key: "ferry-boot-\(n)") == me { sameMachine.insert(Int32(n)) }
        }
        let machineRanks = (0..<pmi.size).filter { sameMachine.contains(nodes.nodeOfRank[$0]) }
        let machineIndex = machineRanks.firstIndex(of: pmi.rank) ?? 0
        for p in 0..<pmi.size where Int(nodes.nodeOfRank[p]) != nodes.myNode {
            guard let card = try pmi.get(key: "ferry-tcp-\(p)") else {
                throw MPIError(.other, "PMI: rank \(p)'s network address card is missing from the key-value space")
            }
            try tcp.setPeer(p, card: card, hostName: hosts[Int(nodes.nodeOfRank[p])])
        }
        try tcp.establish()
        return (machineRanks.count, machineIndex)
    }

    /// This machine's identity: the kernel's boot id, the same in every container and
    /// namespace of one running machine, different on any other.
    static func machineIdentity() -> String {
        let fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "unknown-\(randomHex(16))" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, 64)
        guard n > 0 else { return "unknown-\(randomHex(16))" }
        return String(decoding: buffer[..<n].filter { $0 != 10 }, as: UTF8.self)
    }

    /// A lost connection between nodes ends the job. Usually the peer died and its launcher
    /// or proxy is already ending the job, naming that rank and its signal or exit code: give
    /// it 300 ms to stop this process first, so the job's one message names the cause; then
    /// abort the job, naming the connection.
    func networkFailed(_ error: MPIError) -> Never {
        usleep(300_000)
        abort(code: 1, message: error.detail)
    }
}

/// Rings this rank's shared-memory doorbell whenever one of its TCP connections receives data,
/// so that a rank of an oversubscribed node sleeping on the doorbell (Completion.swift) wakes at
/// once for network traffic too (a futex and sockets cannot be waited for together). Runs only
/// while ranks outnumber the machine's cores, on a thread of its own blocked in epoll_wait on
/// the connections (edge-triggered: one wake-up per arrival, never a busy loop); the thread and
/// its descriptors live until the process exits.
enum NetworkWaker {
    /// Starts the waker of `tcp`'s connections, ringing `node`'s doorbell of this rank.
    static func start(_ tcp: TCPTransport, _ node: NodeSegment) {
        let ep = ferry_tcp_epoll_create()
        guard ep >= 0 else { return }
        // EPOLLIN | EPOLLRDHUP | EPOLLET: every new arrival (or the peer's close) is one event.
        let events: UInt32 = ferry_tcp_epollin | 0x2000 | 0x8000_0000
        for fd in tcp.connectionDescriptors { _ = ferry_tcp_epoll_add(ep, fd, events, UInt64(fd)) }
        let box = Unmanaged.passRetained(WakerContext(node: node, epoll: ep)).toOpaque()
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 64 * 1024)
        if pthread_create(&thread, &attributes, { arg in
            let context = Unmanaged<WakerContext>.fromOpaque(arg!).takeUnretainedValue()
            var tags = [UInt64](repeating: 0, count: 16)
            var got = [UInt32](repeating: 0, count: 16)
            while true {
                let n = ferry_tcp_epoll_wait(context.epoll, &tags, &got, 16, -1)
                if n > 0 { context.node.wakeSelf() } else if n < 0 && errno != EINTR { return nil }
            }
        }, box) != 0 {
            Unmanaged<WakerContext>.fromOpaque(box).release()
            close(ep)
        }
        pthread_attr_destroy(&attributes)
    }

    final class WakerContext {
        let node: NodeSegment
        let epoll: Int32
        init(node: NodeSegment, epoll: Int32) {
            self.node = node
            self.epoll = epoll
        }
    }
}
