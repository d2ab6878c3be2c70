// Blocking, line-oriented PMI-1 I/O on one file descriptor (a socketpair end from our launcher,
// Hydra or Slurm, or a TCP socket for PMI_PORT). Every syscall retries on EINTR. Owned by
// PMIClient, which serializes access to it with its lock.
#if canImport(Glibc)
import Glibc
#endif
import FerryCore

/// One connection to a PMI server. Not thread-safe by itself.
struct PMIChannel {
    let fd: Int32
    private var buffer = PMILineBuffer()

    init(fd: Int32) { self.fd = fd }

    /// Writes `message` completely.
    func send(_ message: PMIMessage) throws(MPIError) {
        try PMIChannel.writeAll(fd: fd, message.line)
    }

    /// Writes all of `text` to `fd`, retrying on EINTR and short writes.
    static func writeAll(fd: Int32, _ text: String) throws(MPIError) {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw MPIError(.other, "PMI write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    /// Reads until one complete line is available and returns it parsed.
    mutating func receive() throws(MPIError) -> PMIMessage {
        while true {
            switch buffer.nextLine() {
            case .line(let bytes)?:
                do {
                    return try PMIWire.parse(bytes)
                } catch {
                    throw MPIError(.intern, "malformed PMI line from server: \(error)")
                }
            case .overlong?:
                throw MPIError(.intern, "over-long PMI line from server")
            case nil:
                break
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw MPIError(.other, "PMI read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw MPIError(.other, "PMI server closed the connection") }
            chunk.withUnsafeBytes { buffer.append(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        }
    }

    /// Sends `request` and returns the reply, which must be `cmd=<expected>`.
    mutating func exchange(_ request: PMIMessage, expecting expected: String) throws(MPIError) -> PMIMessage {
        try send(request)
        return try expect(expected)
    }

    /// Receives one message, which must be `cmd=<expected>`.
    mutating func expect(_ expected: String) throws(MPIError) -> PMIMessage {
        let reply = try receive()
        guard reply.command == expected else {
            throw MPIError(.intern, "PMI server answered '\(reply)' where cmd=\(expected) was expected")
        }
        return reply
    }

    /// Closes the descriptor.
    func close() {
        _ = Glibc.close(fd)
    }
}
