// PMIClient against a real PMIServerState over a socketpair (PMI_FD) and over TCP (PMI_PORT
// with the initack handshake), served by a thread of the test; and the singleton.
import Foundation
import Glibc
import Testing
@testable import FerryPMI
import FerryCore

/// Serves PMI-1 on `fd` until EOF, as connection `client` of a job of `size`, from a background thread.
private func startServer(fd: Int32, size: Int, kvsName: String = "testkvs", client: Int = 0) {
    Thread.detachNewThread {
        let server = PMIServerState(size: size, kvsName: kvsName)
        var buffer = PMILineBuffer()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            buffer.append(Array(chunk[..<n]))
            while case .line(let line)? = buffer.nextLine() {
                for case let .send(_, reply) in server.handle(client: client, line: line) {
                    _ = reply.withCString { write(fd, $0, strlen($0)) }
                }
            }
        }
        close(fd)
    }
}

/// A TCP socket listening on 127.0.0.1 at a free port, and the port.
private func listenOnLoopback() -> (Int32, UInt16) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            _ = bind(listener, $0, length)
            _ = getsockname(listener, $0, &length)
        }
    }
    #expect(listen(listener, 1) == 0)
    return (listener, UInt16(bigEndian: address.sin_port))
}

@Suite struct PMIClientTests {
    @Test func singletonWithoutLauncher() throws {
        let client = try PMIClient.connect { _ in nil }
        #expect(client.isSingleton)
        #expect(client.rank == 0 && client.size == 1 && client.universeSize == 1)
        try client.put(key: "a", value: "1 2")
        try client.barrier()
        #expect(try client.get(key: "a") == "1 2")
        #expect(try client.get(key: "b") == nil)
        #expect(client.processMapping() == "(vector,(0,1,1))")
        client.finalize()
        client.finalize()
    }

    @Test func talksToTheServerOverPMIFD() throws {
        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        startServer(fd: fds[1], size: 1)
        let env = ["PMI_FD": "\(fds[0])", "PMI_RANK": "0", "PMI_SIZE": "1"]
        let client = try PMIClient.connect { env[$0] }
        #expect(!client.isSingleton)
        #expect(client.kvsName == "testkvs")
        #expect(client.keyMaxBytes == 64 && client.valueMaxBytes == 1024)
        let odd = "spaces and = and % and ünïcode"
        try client.put(key: "card0", value: odd)
        try client.barrier()
        #expect(try client.get(key: "card0") == odd)
        #expect(try client.get(key: "missing") == nil)
        #expect(client.processMapping() == "(vector,(0,1,1))")
        #expect(throws: MPIError.self) { try client.put(key: "", value: "x") }
        #expect(throws: MPIError.self) { try client.put(key: "k", value: String(repeating: "x", count: 1025)) }
        client.finalize()
        #expect(throws: MPIError.self) { try client.get(key: "card0") }
    }

    @Test func concurrentCallersAreSerialized() throws {
        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        startServer(fd: fds[1], size: 1)
        let env = ["PMI_FD": "\(fds[0])", "PMI_RANK": "0", "PMI_SIZE": "1"]
        let client = try PMIClient.connect { env[$0] }
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for j in 0..<25 { try? client.put(key: "k\(i)-\(j)", value: "v\(i * 100 + j)") }
        }
        for i in 0..<8 { #expect(try client.get(key: "k\(i)-24") == "v\(i * 100 + 24)") }
        client.finalize()
    }

    @Test func talksToTheServerOverPMIPortWithInitack() throws {
        let (listener, port) = listenOnLoopback()
        Thread.detachNewThread {
            let fd = accept(listener, nil, nil)
            close(listener)
            // The server says rank 2 of 3 in reply to pmiid=2 (on rank 2's own connection).
            startServer(fd: fd, size: 3, client: 2)
        }
        let env = ["PMI_PORT": "127.0.0.1:\(port)", "PMI_ID": "2"]
        let client = try PMIClient.connect { env[$0] }
        #expect(client.rank == 2 && client.size == 3 && client.universeSize == 3)
        try client.put(key: "x", value: "y")
        #expect(try client.get(key: "x") == "y")
        #expect(client.processMapping() == "(vector,(0,1,3))")
        client.finalize()
    }

    /// Item 5 of the hardening issue: a connection that claims another rank's PMI_ID is refused,
    /// and the client reports the refusal instead of waiting for `set` lines forever.
    @Test(.timeLimit(.minutes(1))) func refusedInitackIsAnError() throws {
        let (listener, port) = listenOnLoopback()
        Thread.detachNewThread {
            let fd = accept(listener, nil, nil)
            close(listener)
            startServer(fd: fd, size: 3, client: 1)   // this connection is rank 1's
        }
        let env = ["PMI_PORT": "127.0.0.1:\(port)", "PMI_ID": "2"]
        do {
            _ = try PMIClient.connect { env[$0] }
            Issue.record("a claim of another rank's PMI_ID was accepted")
        } catch {
            #expect(error.detail.contains("refused PMI_ID=2: pmiid_not_yours"), "\(error)")
        }
    }

    @Test func inconsistentEnvironmentIsAnError() {
        #expect(throws: MPIError.self) { try PMIClient.connect { ["PMI_FD": "x"][$0] } }
        #expect(throws: MPIError.self) { try PMIClient.connect { ["PMI_FD": "5"][$0] } }
        #expect(throws: MPIError.self) { try PMIClient.connect { ["PMI_PORT": "nowhere"][$0] } }
    }
}
