// IPv4 addresses, subnets and business cards of the TCP transport, and the choice of local
// interfaces (FERRY_TCP_IF). Value types and parsers, no sockets: `TCPTransport` calls them at
// start-up, the tests call them directly.
//
// A business card is "v1;" followed by comma-separated "a.b.c.d:port" entries, one per address
// the process listens on: printable ASCII without spaces or '=', so it travels as a PMI value.
import FerryCore
import CFerryShims

/// An IPv4 address in host byte order.
struct IPv4Address: Equatable, Hashable, Sendable, CustomStringConvertible {
    var value: UInt32

    init(_ value: UInt32) { self.value = value }

    /// Strict dotted quad: four decimal numbers 0-255 of 1-3 digits.
    init?(parsing text: Substring) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard (1...3).contains(p.utf8.count), p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        value = v
    }

    var description: String {
        "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }
}

/// An IPv4 subnet, "10.0.0.0/8".
struct IPv4Subnet: Equatable, Sendable {
    var address: IPv4Address
    var prefixLength: Int

    init(address: IPv4Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = IPv4Address(parsing: parts[0]),
              (1...2).contains(parts[1].utf8.count), parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let n = Int(parts[1]), n <= 32 else { return nil }
        address = a
        prefixLength = n
    }

    var mask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength) }

    func contains(_ a: IPv4Address) -> Bool { a.value & mask == address.value & mask }
}

/// An address and a port: one entry of a business card.
struct IPv4Endpoint: Equatable, Hashable, Sendable, CustomStringConvertible {
    var address: IPv4Address
    var port: UInt16

    var description: String { "\(address):\(port)" }
}

/// One IPv4 address of a local interface.
struct LocalInterface: Equatable, Sendable {
    var name: String
    var address: IPv4Address
    var netmask: UInt32
    var isUp: Bool
    var isLoopback: Bool

    func sameSubnet(_ a: IPv4Address) -> Bool { a.value & netmask == address.value & netmask }

    /// Every IPv4 address of every local interface (getifaddrs).
    static func all() throws(MPIError) -> [LocalInterface] {
        var entries = [ferry_tcp_interface](repeating: ferry_tcp_interface(), count: 64)
        var n = ferry_tcp_ipv4_interfaces(&entries, Int32(entries.count))
        if n > Int32(entries.count) {
            entries = [ferry_tcp_interface](repeating: ferry_tcp_interface(), count: Int(n))
            n = ferry_tcp_ipv4_interfaces(&entries, n)
        }
        if n < 0 { throw MPIError(.other, "TCP transport: cannot list the network interfaces: \(errnoText(-n))") }
        return entries.prefix(min(Int(n), entries.count)).map { e in
            var copy = e
            let name = withUnsafeBytes(of: &copy.name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            return LocalInterface(name: name, address: IPv4Address(e.address), netmask: e.netmask,
                                  isUp: e.up != 0, isLoopback: e.loopback != 0)
        }
    }
}

/// The local interfaces `selection` (FERRY_TCP_IF entries, nil = automatic) picks among
/// `available`, without duplicate addresses, in the order of the selection.
/// - Throws: `.arg` naming the entry that matches nothing and listing the interfaces that exist.
func chooseInterfaces(_ selection: [String]?, among available: [LocalInterface]) throws(MPIError) -> [LocalInterface] {
    var chosen: [LocalInterface] = []
    func add(_ i: LocalInterface) { if !chosen.contains(where: { $0.address == i.address }) { chosen.append(i) } }
    guard let selection else {
        available.filter { $0.isUp && !$0.isLoopback }.forEach(add)
        if chosen.isEmpty { available.filter { $0.isUp && $0.isLoopback }.forEach(add) }
        if chosen.isEmpty {
            throw MPIError(.other, "TCP transport: no network interface is up with an IPv4 address (interfaces: \(describe(available)))")
        }
        return chosen
    }
    for entry in selection {
        let matches: [LocalInterface]
        if let subnet = IPv4Subnet(parsing: entry) {
            matches = available.filter { $0.isUp && subnet.contains($0.address) }
            if matches.isEmpty {
                throw MPIError(.arg, "FERRY_TCP_IF: no interface that is up has an IPv4 address in \(entry) (interfaces: \(describe(available)))")
            }
        } else {
            matches = available.filter { $0.name == entry }
            if matches.isEmpty {
                throw MPIError(.arg, "FERRY_TCP_IF: no interface '\(entry)' with an IPv4 address (interfaces: \(describe(available)))")
            }
            if !matches.contains(where: \.isUp) {
                throw MPIError(.arg, "FERRY_TCP_IF: interface '\(entry)' is down (interfaces: \(describe(available)))")
            }
        }
        matches.filter(\.isUp).forEach(add)
    }
    return chosen
}

/// "lo 127.0.0.1, eth0 10.0.0.2 (down)" for error messages.
func describe(_ interfaces: [LocalInterface]) -> String {
    interfaces.isEmpty ? "none"
        : interfaces.map { "\($0.name) \($0.address)\($0.isUp ? "" : " (down)")" }.joined(separator: ", ")
}

/// Business cards: "v1;a.b.c.d:port,...".
enum BusinessCard {
    static let prefix = "v1;"
    static let maxBytes = 1000

    static func format(_ endpoints: [IPv4Endpoint]) -> String {
        prefix + endpoints.map(\.description).joined(separator: ",")
    }

    /// The endpoints of `card`, or nil when it is not a well-formed card (at least one entry,
    /// ports 1-65535, under `maxBytes` bytes).
    static func parse(_ card: String) -> [IPv4Endpoint]? {
        guard card.utf8.count < maxBytes, card.hasPrefix(prefix) else { return nil }
        let body = card.dropFirst(prefix.count)
        var out: [IPv4Endpoint] = []
        for entry in body.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let a = IPv4Address(parsing: parts[0]),
                  (1...5).contains(parts[1].utf8.count), parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let port = Int(parts[1]), port >= 1, port <= 65535 else { return nil }
            out.append(IPv4Endpoint(address: a, port: UInt16(port)))
        }
        return out.isEmpty ? nil : out
    }
}

/// `endpoints` in the order a connector tries them: those inside the subnet of one of `local`
/// first, the others after, each group in the card's order.
func connectionOrder(_ endpoints: [IPv4Endpoint], local: [LocalInterface]) -> [IPv4Endpoint] {
    let near = endpoints.filter { e in local.contains { $0.sameSubnet(e.address) } }
    return near + endpoints.filter { !near.contains($0) }
}
