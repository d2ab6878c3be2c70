// Connection set-up of the TCP transport: peers' business cards, `establish()` (connect to the
// higher indices, accept from the lower ones, with the handshake of Handshake.swift), and the
// refusal of connections that are not the job's. Slow paths: allocation and syscalls per
// connection are fine here. The data path is in TCPTransport.swift.
//
// The connector tries a peer's addresses in order (those inside a subnet of its own chosen
// interfaces first), starting the next one if the previous has not connected within 250 ms
// while keeping the earlier attempts running. It sends its hello on one connected attempt at a
// time, so the acceptor never sees two hellos from one peer; the first acknowledged attempt
// wins and the others are closed before they send anything, which the acceptor drops silently.
// When every address has failed it starts over after 500 ms, until `connectTimeoutSeconds`.
import FerryCore
import FerrySys
import FerryTransport
import CFerryShims
#if canImport(Glibc)
import Glibc
#endif

/// An accepted connection whose hello has not fully arrived.
struct Inbound {
    var fd: Int32
    var from: IPv4Endpoint
    var hello: [UInt8]
    var filled: Int
    var since: Double
}

/// One connection attempt towards a peer's address.
struct Attempt {
    enum Phase { case connecting, connected, helloSent }
    var endpointIndex: Int
    var fd: Int32
    var phase: Phase
    var ack = [UInt8](repeating: 0, count: Handshake.ackBytes)
    var filled = 0
}

/// How the connector reaches one peer.
struct ConnectPlan {
    var peer: Int
    var order: [IPv4Endpoint]
    /// Why each address failed last (nil: not tried, or not failed).
    var reasons: [String?]
    var next = 0
    var lastStart = -Double.infinity
    var retryAt: Double? = nil
    var attempts: [Attempt] = []
    var done = false
}

/// The state of one `establish()`.
final class Setup {
    let deadline: Double
    var plans: [ConnectPlan]
    /// Lower indices this process accepts from.
    let awaited: [Int]

    init(deadline: Double, plans: [ConnectPlan], awaited: [Int]) {
        self.deadline = deadline
        self.plans = plans
        self.awaited = awaited
    }

    func closeAttempts() {
        for k in plans.indices {
            for a in plans[k].attempts { Glibc.close(a.fd) }
            plans[k].attempts.removeAll()
        }
    }
}

extension TCPTransport {
    /// Seconds between the starts of two attempts towards one peer (earlier ones keep going).
    static let staggerSeconds = 0.25
    /// Seconds before a new round of attempts when every address of a peer failed.
    static let retrySeconds = 0.5
    /// Refusals written to stderr per process; the rest are counted.
    static let refusalsLogged = 5

    /// Records peer `peer`'s business card and host name (for messages). Peers without a card
    /// are not reached through TCP.
    /// - Throws: `.rank` for an index out of range or this process's own, `.other` naming the
    ///   peer when its card is malformed or it is already connected.
    public func setPeer(_ peer: Int, card: String, hostName: String) throws(MPIError) {
        guard peer >= 0, peer < peerCount, peer != index else {
            throw MPIError(.rank, "TCP transport: no peer \(peer) (peers 0 to \(peerCount - 1), this process is \(index))")
        }
        guard let endpoints = BusinessCard.parse(card) else {
            let shown = String(decoding: card.utf8.prefix(200).map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x3F }, as: UTF8.self)
            throw MPIError(.other, "rank \(index) (host \(self.hostName)): rank \(peer) (host \(hostName)) has a malformed TCP business card '\(shown)': expected 'v1;' then comma-separated IPv4 a.b.c.d:port entries")
        }
        guard links[peer].state == .none || links[peer].state == .expected else {
            throw MPIError(.other, "rank \(index) (host \(self.hostName)): rank \(peer) (host \(hostName)) is already connected (or lost); its card cannot change")
        }
        peerEndpoints[peer] = connectionOrder(endpoints, local: interfaces)
        peerHosts[peer] = hostName
        links[peer].state = .expected
    }

    /// Connects to every peer whose card was set: this process CONNECTS to each such peer
    /// with a HIGHER index and ACCEPTS from each with a LOWER index (collective among the
    /// processes that use TCP). Blocks until every connection is up and authenticated.
    /// - Throws: after `connectTimeoutSeconds`, an error naming both indices, both hosts and
    ///   every address tried with the reason it failed.
    public func establish() throws(MPIError) {
        while try !establishStep(timeoutMilliseconds: 100) {}
    }

    /// One round of `establish()`: starts, checks and completes connections, waiting at most
    /// `timeoutMilliseconds` for something to happen. True when every connection is up (the
    /// next call starts a new set-up for cards set since). Lets one thread set up several
    /// transports (tests) or do other work meanwhile.
    /// - Throws: as `establish()`, once the set-up's deadline has passed.
    public func establishStep(timeoutMilliseconds: Int32) throws(MPIError) -> Bool {
        guard !isClosed else { throw MPIError(.other, "rank \(index) (host \(hostName)): TCP transport used after close") }
        let s: Setup
        if let current = setup {
            s = current
        } else {
            let plans = ((index + 1)..<peerCount).filter { links[$0].state == .expected }.map { p in
                ConnectPlan(peer: p, order: peerEndpoints[p], reasons: Array(repeating: nil, count: peerEndpoints[p].count))
            }
            let awaited = (0..<index).filter { links[$0].state == .expected }
            s = Setup(deadline: monotonicSeconds() + options.connectTimeoutSeconds, plans: plans, awaited: awaited)
            setup = s
        }
        var now = monotonicSeconds()
        for k in s.plans.indices where !s.plans[k].done { startAttempts(&s.plans[k], now: now) }
        if isDone(s) { setup = nil; return true }

        // Wait for any socket of the set-up, or the next stagger, retry or the deadline.
        var wake = s.deadline
        for p in s.plans where !p.done {
            if p.next < p.order.count { wake = min(wake, p.lastStart + Self.staggerSeconds) }
            if let r = p.retryAt { wake = min(wake, r) }
        }
        let waitMs = max(0, min(Double(timeoutMilliseconds), (wake - now) * 1000 + 1))
        var fds = listeners.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        fds += inbound.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        for p in s.plans where !p.done {
            for a in p.attempts {
                fds.append(pollfd(fd: a.fd, events: Int16(a.phase == .connecting ? POLLOUT : POLLIN), revents: 0))
            }
        }
        _ = Glibc.poll(&fds, nfds_t(fds.count), Int32(waitMs))
        now = monotonicSeconds()

        _ = serviceListeners(now: now)
        for k in s.plans.indices where !s.plans[k].done { advanceAttempts(&s.plans[k]) }
        if isDone(s) { setup = nil; return true }
        if now >= s.deadline {
            let error = timeoutError(s)
            s.closeAttempts()
            setup = nil
            throw error
        }
        return false
    }

    private func isDone(_ s: Setup) -> Bool {
        s.plans.allSatisfy(\.done) && s.awaited.allSatisfy { links[$0].state == .connected }
    }

    /// Starts the next attempts of `plan` that are due: the first at once, the next when the
    /// last started 250 ms ago or every attempt failed, a new round after a pause.
    private func startAttempts(_ plan: inout ConnectPlan, now: Double) {
        if plan.next >= plan.order.count && plan.attempts.isEmpty {
            if let r = plan.retryAt {
                guard now >= r else { return }
                plan.retryAt = nil
                plan.next = 0
            } else {
                plan.retryAt = now + Self.retrySeconds
                return
            }
        }
        while plan.next < plan.order.count && (plan.attempts.isEmpty || now - plan.lastStart >= Self.staggerSeconds) {
            let k = plan.next
            plan.next += 1
            plan.lastStart = now
            switch startConnect(plan.order[k]) {
            case .success(let fd):
                plan.attempts.append(Attempt(endpointIndex: k, fd: fd, phase: .connecting))
                return
            case .failure(let e):
                plan.reasons[k] = errnoText(e.errno)
            }
        }
    }

    /// Moves `plan`'s attempts on: finished connects, the hello on one connected attempt,
    /// the acknowledgement; the first acknowledged attempt becomes the peer's connection.
    private func advanceAttempts(_ plan: inout ConnectPlan) {
        var j = 0
        while j < plan.attempts.count {
            var a = plan.attempts[j]
            var failed: String? = nil
            switch a.phase {
            case .connecting:
                var p = pollfd(fd: a.fd, events: Int16(POLLOUT), revents: 0)
                if Glibc.poll(&p, 1, 0) > 0 {
                    let e = socketError(a.fd)
                    if e != 0 { failed = errnoText(e) } else { a.phase = .connected }
                }
            case .connected:
                break
            case .helloSent:
                switch readSome(a.fd, into: &a.ack, filled: &a.filled) {
                case .open:
                    if a.filled == Handshake.ackBytes {
                        if Handshake.isAck(a.ack, from: plan.peer) {
                            installConnection(plan.peer, fd: a.fd, address: plan.order[a.endpointIndex])
                            plan.attempts.remove(at: j)
                            for other in plan.attempts { Glibc.close(other.fd) }   // silent: they sent nothing
                            plan.attempts.removeAll()
                            plan.done = true
                            return
                        }
                        failed = "answered something other than a Ferry handshake acknowledgement"
                    }
                case .closed:
                    failed = "closed by the peer during the handshake (wrong job cookie or rank? see the peer's log)"
                case .failed(let e):
                    failed = "during the handshake: \(errnoText(e))"
                }
            }
            if let why = failed {
                plan.reasons[a.endpointIndex] = why
                Glibc.close(a.fd)
                plan.attempts.remove(at: j)
            } else {
                plan.attempts[j] = a
                j += 1
            }
        }
        // One hello at a time: on the earliest connected attempt, if none is in flight.
        guard !plan.attempts.contains(where: { $0.phase == .helloSent }),
              let k = plan.attempts.firstIndex(where: { $0.phase == .connected }) else { return }
        let e = writeAll(plan.attempts[k].fd, Handshake.hello(from: index, to: plan.peer, cookie: cookie))
        if e == 0 {
            plan.attempts[k].phase = .helloSent
        } else {
            plan.reasons[plan.attempts[k].endpointIndex] = "sending the handshake: \(errnoText(e))"
            Glibc.close(plan.attempts[k].fd)
            plan.attempts.remove(at: k)
        }
    }

    private func timeoutError(_ s: Setup) -> MPIError {
        let t = options.connectTimeoutSeconds
        let seconds = t == t.rounded() && t < 1e9 ? String(Int(t)) : String(t)
        var parts: [String] = []
        for p in s.plans where !p.done {
            let tried = p.order.indices.map { k -> String in
                var why = p.reasons[k] ?? "not tried"
                if let a = p.attempts.first(where: { $0.endpointIndex == k }) {
                    switch a.phase {
                    case .connecting: why = "no answer"
                    case .connected: why = "connected, waiting for the handshake on another address"
                    case .helloSent: why = "connected, no handshake answer"
                    }
                }
                return "\(p.order[k]) (\(why))"
            }
            parts.append("rank \(index) (host \(hostName)) cannot reach rank \(p.peer) (host \(peerHostName(p.peer))) within \(seconds) s: tried \(tried.joined(separator: ", "))")
        }
        for p in s.awaited where links[p].state != .connected {
            parts.append("rank \(index) (host \(hostName)) was not reached by rank \(p) (host \(peerHostName(p))) within \(seconds) s: it should connect to \(listeners.map(\.endpoint.description).joined(separator: ", "))")
        }
        let shown = parts.prefix(4).joined(separator: "; ")
        return MPIError(.other, parts.count > 4 ? shown + "; and \(parts.count - 4) more" : shown)
    }

    /// Accepts pending connections and moves half-open ones on (their hellos), refusing those
    /// that are not the job's. True if anything happened.
    func serviceListeners(now: Double? = nil) -> Bool {
        var did = false
        let now = now ?? monotonicSeconds()
        for l in listeners {
            while let (fd, from) = acceptOne(l.fd) {
                inbound.append(Inbound(fd: fd, from: from, hello: [UInt8](repeating: 0, count: Handshake.helloBytes),
                                       filled: 0, since: now))
                _ = ferry_tcp_epoll_add(epollFD, fd, ferry_tcp_epollin, Tag.inbound(fd: fd))
                did = true
            }
        }
        var i = 0
        while i < inbound.count {
            var c = inbound[i]
            var refusal: String? = nil
            var finished = false
            let before = c.filled
            let status = readSome(c.fd, into: &c.hello, filled: &c.filled)
            if c.filled > before { did = true }
            switch status {
            case .open:
                if c.filled == Handshake.helloBytes {
                    finished = true
                    switch Handshake.check(c.hello, cookie: cookie, me: index, peerCount: peerCount, isExpected: expectation) {
                    case .accept(let peer):
                        let e = writeAll(c.fd, Handshake.ack(acceptor: index))
                        if e == 0 {
                            _ = ferry_tcp_epoll_remove(epollFD, c.fd)
                            installConnection(peer, fd: c.fd, address: c.from)
                            inbound.remove(at: i)
                            continue
                        }
                        refusal = "cannot answer the handshake of rank \(peer): \(errnoText(e))"
                    case .refuse(let why):
                        refusal = why
                    }
                } else if !startsLikeHello(c) {
                    finished = true
                    refusal = "not a Ferry handshake"
                } else if now - c.since > options.handshakeTimeoutSeconds {
                    finished = true
                    refusal = c.filled == 0 ? "no handshake within \(options.handshakeTimeoutSeconds) s"
                        : "incomplete handshake (\(c.filled) of \(Handshake.helloBytes) bytes) within \(options.handshakeTimeoutSeconds) s"
                }
            case .closed, .failed:
                // Closed before a byte: the loser of a connector's staggered attempts. Silent.
                finished = true
                if c.filled > 0 {
                    refusal = startsLikeHello(c) ? "closed after \(c.filled) bytes of a handshake" : "not a Ferry handshake"
                }
            }
            if finished {
                Glibc.close(c.fd)
                inbound.remove(at: i)
                did = true
                if let why = refusal { logRefusal(from: c.from, why) }
            } else {
                inbound[i] = c
                i += 1
            }
        }
        return did
    }

    /// Whether the bytes received so far agree with a hello's magic.
    private func startsLikeHello(_ c: Inbound) -> Bool {
        for k in 0..<min(c.filled, 8) where c.hello[k] != UInt8(truncatingIfNeeded: Handshake.helloMagic >> (8 * UInt64(k))) {
            return false
        }
        return true
    }

    /// nil if a hello from `peer` is acceptable now, else why not.
    private func expectation(_ peer: Int) -> String? {
        if peer == index { return "the connector claims this process's own index \(peer)" }
        if peer > index { return "rank \(peer) has a higher index: it accepts from this process, it does not connect" }
        switch links[peer].state {
        case .none: return "rank \(peer) is not expected over TCP (no card)"
        case .expected: return nil
        case .connected: return "rank \(peer) is already connected"
        case .failed: return "rank \(peer)'s connection was lost; no reconnection"
        }
    }

    /// Makes `fd` the connection to `peer`: buffers (allocated once per peer), epoll, the list
    /// `poll` reads.
    func installConnection(_ peer: Int, fd: Int32, address: IPv4Endpoint) {
        configureConnected(fd)
        let l = links + peer
        if l.pointee.sendBuffer == nil {
            l.pointee.sendBuffer = .allocate(byteCount: sendCapacity, alignment: 64)
            l.pointee.receiveBuffer = .allocate(byteCount: receiveCapacity, alignment: 64)
        }
        l.pointee.fd = fd
        l.pointee.state = .connected
        l.pointee.sendStart = 0; l.pointee.sendEnd = 0
        l.pointee.receiveStart = 0; l.pointee.receiveScan = 0; l.pointee.receiveEnd = 0
        l.pointee.sendSequence = 0; l.pointee.receiveSequence = 0
        l.pointee.resetStreams()
        peerAddress[peer] = address
        _ = ferry_tcp_epoll_add(epollFD, fd, ferry_tcp_epollin, Tag.peer(peer))
        active[activeCount] = Int32(peer)
        activeCount += 1
    }

    /// Logs a refused connection on stderr (the first few per process) and keeps it in
    /// `refusals` (the first 16).
    func logRefusal(from: IPv4Endpoint, _ why: String) {
        refusalCount += 1
        let line = "ferry: rank \(index): refused a TCP connection from \(from): \(why)"
        if refusals.count < 16 { refusals.append(line) }
        if refusalCount <= Self.refusalsLogged {
            writeToStandardError(line + "\n")
        } else if refusalCount == Self.refusalsLogged + 1 {
            writeToStandardError("ferry: rank \(index): further refused TCP connections are not logged\n")
        }
    }
}

func writeToStandardError(_ text: String) {
    var t = text
    t.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
}
