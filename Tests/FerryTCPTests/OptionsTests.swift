// Parsing of FERRY_TCP_IF and FERRY_CONNECT_TIMEOUT, the choice of interfaces, business cards
// and the handshake's checks: value-level tests, no connections.
import Testing
@testable import FerryTCP
import FerryCore

private func env(_ values: [String: String]) -> (String) -> String? { { values[$0] } }

private func parseError(_ values: [String: String]) -> String? {
    do { _ = try TCPTransportOptions.fromEnvironment(env(values)); return nil } catch { return error.detail }
}

private func iface(_ name: String, _ address: String, _ prefix: Int, up: Bool = true, loopback: Bool = false) -> LocalInterface {
    LocalInterface(name: name, address: IPv4Address(parsing: Substring(address))!,
                   netmask: IPv4Subnet(address: IPv4Address(0), prefixLength: prefix).mask, isUp: up, isLoopback: loopback)
}

@Suite("TCP options, interfaces, cards, handshake") struct OptionsTests {
    @Test("unset variables give the defaults")
    func defaults() throws {
        let o = try TCPTransportOptions.fromEnvironment(env([:]))
        #expect(o.interfaces == nil)
        #expect(o.connectTimeoutSeconds == 30)
        #expect(o.maxInlinePayload == 65536 && o.maxInlinePayload % 8 == 0)
        #expect(o.sendBufferBytes >= o.maxFrameBytes && o.receiveBufferBytes >= o.maxFrameBytes)
    }

    @Test("FERRY_TCP_IF: names and CIDR subnets, in order", arguments: [
        ("eth0", ["eth0"]), ("lo,eth0", ["lo", "eth0"]), ("10.0.0.0/8", ["10.0.0.0/8"]),
        ("ib0,192.168.1.0/24,enp3s0f1.100", ["ib0", "192.168.1.0/24", "enp3s0f1.100"]),
        ("127.0.0.1/32", ["127.0.0.1/32"]), ("0.0.0.0/0", ["0.0.0.0/0"]),
    ])
    func interfaceLists(text: String, expected: [String]) throws {
        #expect(try TCPTransportOptions.fromEnvironment(env(["FERRY_TCP_IF": text])).interfaces == expected)
    }

    @Test("FERRY_TCP_IF: invalid values name the variable, the value and what is accepted", arguments: [
        "", ",", "eth0,", ",eth0", "eth0,,lo", "eth 0", "10.0.0.0/33", "10.0.0/8", "300.1.1.1/8", "10.0.0.0/",
        "10.0.0.0/8/8", "averyveryverylongname0", "eth0;rm", "10.0.0.01x/8", "-1.0.0.0/8",
    ])
    func invalidInterfaceLists(text: String) {
        let e = parseError(["FERRY_TCP_IF": text])
        #expect(e != nil, "'\(text)' must be refused")
        #expect(e?.contains("FERRY_TCP_IF='\(text)'") == true)
        #expect(e?.contains("interface names") == true)
    }

    @Test("FERRY_CONNECT_TIMEOUT: seconds with an optional fraction", arguments: [("30", 30.0), ("0.5", 0.5), ("120", 120), ("2.25", 2.25), ("86400", 86400)])
    func timeouts(text: String, expected: Double) throws {
        #expect(try TCPTransportOptions.fromEnvironment(env(["FERRY_CONNECT_TIMEOUT": text])).connectTimeoutSeconds == expected)
    }

    @Test("FERRY_CONNECT_TIMEOUT: invalid values are refused with the variable and value", arguments: [
        "", "abc", "0", "0.0", "-1", "+5", "1e3", "inf", "nan", " 5", "5 ", "5s", ".5", "5.", "86401", "1.2.3",
    ])
    func invalidTimeouts(text: String) {
        let e = parseError(["FERRY_CONNECT_TIMEOUT": text])
        #expect(e != nil, "'\(text)' must be refused")
        #expect(e?.contains("FERRY_CONNECT_TIMEOUT='\(text)'") == true)
        #expect(e?.contains("seconds") == true)
    }

    @Test("automatic choice: up, non-loopback IPv4 interfaces; the loopback when there is none")
    func automaticInterfaces() throws {
        let lo = iface("lo", "127.0.0.1", 8, loopback: true)
        let eth0 = iface("eth0", "10.77.0.11", 16), ib0 = iface("ib0", "10.78.0.11", 16), down = iface("eth1", "10.1.0.1", 24, up: false)
        #expect(try chooseInterfaces(nil, among: [lo, eth0, down, ib0]).map(\.name) == ["eth0", "ib0"])
        #expect(try chooseInterfaces(nil, among: [lo, down]).map(\.name) == ["lo"])
    }

    @Test("FERRY_TCP_IF picks by name or subnet; unknown names list the interfaces that exist")
    func chosenInterfaces() throws {
        let lo = iface("lo", "127.0.0.1", 8, loopback: true)
        let eth0 = iface("eth0", "10.77.0.11", 16), ib0 = iface("ib0", "10.78.0.11", 16), down = iface("eth1", "10.1.0.1", 24, up: false)
        let all = [lo, eth0, ib0, down]
        #expect(try chooseInterfaces(["ib0"], among: all).map(\.address.description) == ["10.78.0.11"])
        #expect(try chooseInterfaces(["10.0.0.0/8"], among: all).map(\.name) == ["eth0", "ib0"])
        #expect(try chooseInterfaces(["ib0", "10.77.0.0/16", "ib0"], among: all).map(\.name) == ["ib0", "eth0"], "no duplicates")
        #expect(try chooseInterfaces(["lo"], among: all).map(\.name) == ["lo"])
        do { _ = try chooseInterfaces(["eth9"], among: all); Issue.record("eth9 does not exist") } catch {
            #expect(error.detail.contains("FERRY_TCP_IF") && error.detail.contains("'eth9'"))
            #expect(error.detail.contains("lo 127.0.0.1") && error.detail.contains("eth0 10.77.0.11") && error.detail.contains("ib0 10.78.0.11"))
        }
        do { _ = try chooseInterfaces(["192.168.0.0/16"], among: all); Issue.record("no address in that subnet") } catch {
            #expect(error.detail.contains("192.168.0.0/16") && error.detail.contains("eth0 10.77.0.11"))
        }
        do { _ = try chooseInterfaces(["eth1"], among: all); Issue.record("eth1 is down") } catch {
            #expect(error.detail.contains("'eth1' is down"))
        }
    }

    @Test("a transport on a missing interface fails at init, listing the real ones")
    func missingInterface() {
        do {
            _ = try TCPTransport(index: 0, peerCount: 2, cookie: testCookie, hostName: "a", options: loopback(interfaces: ["nosuch0"]))
            Issue.record("nosuch0 does not exist")
        } catch {
            #expect(error.detail.contains("'nosuch0'") && error.detail.contains("lo 127.0.0.1"))
        }
    }

    @Test("a transport on 127.0.0.0/8 listens on 127.0.0.1 and says so in its card")
    func cardOfLoopback() throws {
        let t = try TCPTransport(index: 0, peerCount: 1, cookie: testCookie, hostName: "a", options: loopback(interfaces: ["127.0.0.0/8"]))
        let card = t.businessCard
        #expect(card.hasPrefix("v1;127.0.0.1:"))
        #expect(!card.contains(" ") && !card.contains("=") && card.utf8.count < 1000)
        #expect(BusinessCard.parse(card)?.count == 1)
        #expect(listenerPort(t) > 0)
    }

    @Test("cookies must have 16 to 64 bytes; indices must be in range")
    func initChecks() {
        #expect(throws: MPIError.self) { _ = try TCPTransport(index: 0, peerCount: 2, cookie: Array(repeating: 1, count: 15), hostName: "a", options: loopback()) }
        #expect(throws: MPIError.self) { _ = try TCPTransport(index: 0, peerCount: 2, cookie: Array(repeating: 1, count: 65), hostName: "a", options: loopback()) }
        #expect(throws: MPIError.self) { _ = try TCPTransport(index: 2, peerCount: 2, cookie: testCookie, hostName: "a", options: loopback()) }
        #expect(throws: MPIError.self) { _ = try TCPTransport(index: 0, peerCount: 2, cookie: testCookie, hostName: "a", options: loopback(inline: 100)) }
        #expect(throws: MPIError.self) { _ = try TCPTransport(index: 0, peerCount: 2, cookie: testCookie, hostName: "a", options: loopback(inline: 1024, send: 1000)) }
    }

    @Test("business cards: well-formed ones parse, malformed ones do not")
    func cards() {
        #expect(BusinessCard.parse("v1;10.77.0.11:40123,10.78.0.11:40124")
                == [IPv4Endpoint(address: IPv4Address(0x0A4D_000B), port: 40123), IPv4Endpoint(address: IPv4Address(0x0A4E_000B), port: 40124)])
        for bad in ["", "v1;", "v2;1.2.3.4:5", "1.2.3.4:5", "v1;1.2.3.4", "v1;1.2.3.4:0", "v1;1.2.3.4:65536", "v1;1.2.3:5",
                    "v1;1.2.3.4:5,", "v1;1.2.3.4:5 ", "v1;256.1.1.1:5", "v1;1.2.3.4:-5", "v1;a.b.c.d:5", "v1;1.2.3.4:123456",
                    "v1;" + Array(repeating: "1.2.3.4:5", count: 120).joined(separator: ",")] {
            #expect(BusinessCard.parse(bad) == nil, "'\(bad.prefix(40))' is malformed")
        }
    }

    @Test("setPeer refuses a malformed card, naming the peer and its host")
    func malformedCard() throws {
        let t = try TCPTransport(index: 0, peerCount: 3, cookie: testCookie, hostName: "nodea", options: loopback())
        do { try t.setPeer(2, card: "v1;10.0.0.1", hostName: "nodec"); Issue.record("malformed card accepted") } catch {
            #expect(error.detail.contains("rank 2 (host nodec)") && error.detail.contains("malformed") && error.detail.contains("v1;10.0.0.1"))
        }
        #expect(throws: MPIError.self) { try t.setPeer(0, card: t.businessCard, hostName: "self") }
        #expect(throws: MPIError.self) { try t.setPeer(3, card: t.businessCard, hostName: "none") }
    }

    @Test("connectors try addresses in their own subnets first")
    func connectionOrdering() {
        let card = BusinessCard.parse("v1;192.168.5.2:1,10.78.0.12:2,10.77.0.12:3")!
        let local = [iface("eth0", "10.77.0.11", 16), iface("ib0", "10.78.0.11", 16)]
        #expect(connectionOrder(card, local: local).map(\.port) == [2, 3, 1])
        #expect(connectionOrder(card, local: []).map(\.port) == [1, 2, 3])
    }

    @Test("handshake: the acceptor accepts the right hello and refuses every wrong one")
    func handshakeChecks() {
        let ok: (Int) -> String? = { _ in nil }
        let hello = Handshake.hello(from: 1, to: 3, cookie: testCookie)
        #expect(hello.count == Handshake.helloBytes)
        #expect(Handshake.check(hello, cookie: testCookie, me: 3, peerCount: 4, isExpected: ok) == .accept(peer: 1))
        var wrongCookie = testCookie; wrongCookie[5] ^= 1
        #expect(Handshake.check(Handshake.hello(from: 1, to: 3, cookie: wrongCookie), cookie: testCookie, me: 3, peerCount: 4, isExpected: ok) == .refuse("wrong job cookie"))
        #expect(Handshake.check(Handshake.hello(from: 1, to: 3, cookie: Array(testCookie.prefix(20))), cookie: testCookie, me: 3, peerCount: 4, isExpected: ok) == .refuse("wrong job cookie"), "a prefix of the cookie is not the cookie")
        #expect(Handshake.check(hello, cookie: testCookie, me: 2, peerCount: 4, isExpected: ok) == .refuse("handshake addressed to rank 3, this is rank 2"))
        #expect(Handshake.check(Handshake.hello(from: 9, to: 3, cookie: testCookie), cookie: testCookie, me: 3, peerCount: 4, isExpected: ok) == .refuse("connector index 9 out of range (4 peers)"))
        #expect(Handshake.check(hello, cookie: testCookie, me: 3, peerCount: 4, isExpected: { _ in "busy" }) == .refuse("busy"))
        var garbage = hello; garbage[0] = 0x47
        #expect(Handshake.check(garbage, cookie: testCookie, me: 3, peerCount: 4, isExpected: ok) == .refuse("not a Ferry handshake"))
        var version = hello; version[8] = 2
        #expect(Handshake.check(version, cookie: testCookie, me: 3, peerCount: 4, isExpected: ok) == .refuse("handshake version 2, expected 1"))
        #expect(Handshake.isAck(Handshake.ack(acceptor: 3), from: 3))
        #expect(!Handshake.isAck(Handshake.ack(acceptor: 2), from: 3))
    }
}
