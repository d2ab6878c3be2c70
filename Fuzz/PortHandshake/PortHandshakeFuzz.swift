// Fuzz target for the port handshake of MPI_Comm_accept / MPI_Comm_connect / spawn
// (Sources/FerryRuntime/PortHandshake.swift). Each input is one frame's payload as it arrives on
// the port's socket, which any local process of the same user can reach; it goes to all three
// parsers (the acceptor's `parseRequest`, the connector's `parseAnswer`, every member's
// `parseRecord`). Whatever parses must be within the documented bounds, print with `encode`,
// and parse back to the same value, printed the same bytes.
import FerryRuntime
import FuzzSupport

@main enum PortHandshakeFuzz {
    static func main() { fuzzMain("fuzz-port-handshake", seeds: portHandshakeSeeds, fuzzPortHandshake) }
}

#if FUZZING
/// libFuzzer's classic entry point. `fuzzMain` does not need it, but a debug build does: SwiftPM
/// defines our `main` there with `--defsym main=<module>_main`, after the linker has searched
/// libFuzzer's archive for a `main` and taken its one, which calls this. Ours still runs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzPortHandshake(fuzzBytes(data, size))
    return 0
}
#endif

func fuzzPortHandshake(_ input: [UInt8]) {
    if let request = try? PortHandshake.parseRequest(input) {
        fuzzCheck(!request.members.isEmpty && request.members.count <= PortHandshake.maxMembers && request.mask.count <= 64
                  && request.members.allSatisfy { $0.pid >= 0 && $0.identity.contains("/") },
                  "request out of bounds: \(request)")
        let printed = PortHandshake.encode(request)
        do {
            let again = try PortHandshake.parseRequest(printed)
            fuzzCheck(again == request, "request round trip changed \(request) into \(again)")
            fuzzCheck(PortHandshake.encode(again) == printed, "request printing is not stable: \(show(printed))")
        } catch {
            fuzzCheck(false, "printed request does not parse (\(error.reason)): \(show(printed)); from \(show(input))")
        }
    }
    if let answer = try? PortHandshake.parseAnswer(input) {
        if case .accepted(let record) = answer { checkBounds(record) }
        let printed = PortHandshake.encode(answer)
        do {
            let again = try PortHandshake.parseAnswer(printed)
            fuzzCheck(again == answer, "answer round trip changed \(answer) into \(again); from \(show(input))")
            fuzzCheck(PortHandshake.encode(again) == printed, "answer printing is not stable: \(show(printed))")
        } catch {
            fuzzCheck(false, "printed answer does not parse (\(error.reason)): \(show(printed)); from \(show(input))")
        }
    }
    if let record = try? PortHandshake.parseRecord(input) {
        checkBounds(record)
        let printed = PortHandshake.encode(record)
        do {
            let again = try PortHandshake.parseRecord(printed)
            fuzzCheck(again == record, "record round trip changed \(record) into \(again)")
            fuzzCheck(PortHandshake.encode(again) == printed, "record printing is not stable: \(show(printed))")
            // What the connector's root receives wrapped in an answer is the same record.
            fuzzCheck((try? PortHandshake.parseAnswer(PortHandshake.encode(.accepted(record)))) == .accepted(record),
                      "the record does not survive the answer: \(show(printed))")
        } catch {
            fuzzCheck(false, "printed record does not parse (\(error.reason)): \(show(printed))")
        }
    }
}

/// What Dynamic.swift relies on before it maps segments and adds peers.
private func checkBounds(_ record: JoinRecord) {
    fuzzCheck(record.contextID < 64 * 64 && (1...PortHandshake.maxMembers).contains(record.acceptors)
              && (1...PortHandshake.maxMembers).contains(record.connectors)
              && (record.remote.count == record.acceptors || record.remote.count == record.connectors)
              && (record.segment == "-" || record.segment.hasPrefix("/ferry-"))
              && record.remote.allSatisfy { $0.pid >= 0 && $0.identity.contains("/") },
              "record out of bounds: \(record)")
}

/// Frames as two Ferry jobs exchange them, and refusals. `ConnectRequest` and `JoinRecord` have
/// no public initializer, so the frames are written out in the documented format, parsed, and
/// printed again with the encoders (which also checks that the format here is still current).
func portHandshakeSeeds() -> [(name: String, bytes: [UInt8])] {
    let job = "4242-9f86d081884c7d65", other = "kvs_17_0-2c26b46b68ffc68f"
    let connectors = (0..<3).map { "\(other)/\($0) \(5000 + $0)" }
    let acceptors = (0..<2).map { "\(job)/\($0) \(4300 + $0)" }
    // Context ids 0-2 in use (the world, self, a dup), every other one free.
    let mask = ["fffffffffffffff8"] + [String](repeating: "ffffffffffffffff", count: 63)
    let request = ["ferry-connect 1", "16384 8", mask.joined(separator: " "), "3"] + connectors
    let lone = ["ferry-connect 1", "4096 16", "10", "1", "\(other)/0 1"]
    let record = ["ok", "3", "/ferry-\(job)-link-0123456789abcdef", "2", "3"] + acceptors
    let known = ["ok", "4095", "-", "2", "3"] + connectors
    func frame(_ lines: [String]) -> [UInt8] { Array(lines.joined(separator: "\n").utf8) }
    func reprinted(_ name: String, _ bytes: [UInt8], _ parse: ([UInt8]) -> [UInt8]?) -> (name: String, bytes: [UInt8]) {
        guard let printed = parse(bytes) else {
            fuzzCheck(false, "seed \(name) no longer parses: \(show(bytes))")
            fatalError()
        }
        return (name: name, bytes: printed)
    }
    let asRequest = { (b: [UInt8]) in (try? PortHandshake.parseRequest(b)).map { PortHandshake.encode($0) } }
    let asAnswer = { (b: [UInt8]) in (try? PortHandshake.parseAnswer(b)).map { PortHandshake.encode($0) } }
    let asRecord = { (b: [UInt8]) in (try? PortHandshake.parseRecord(b)).map { PortHandshake.encode($0) } }
    return [
        reprinted("request", frame(request), asRequest),
        reprinted("request-lone", frame(lone), asRequest),
        reprinted("answer-accepted", frame(["ferry-accept 1"] + record), asAnswer),
        (name: "answer-refused", bytes: PortHandshake.encode(AcceptAnswer.refused(
            errorClass: 15, text: "the two jobs use different shared-memory cells (16384 8 vs 4096 16 bytes/cells)"))),
        (name: "answer-out-of-ids", bytes: PortHandshake.encode(AcceptAnswer.refused(errorClass: 15, text: "out of communicator context ids"))),
        reprinted("record", frame(record), asRecord),
        reprinted("record-known", frame(known), asRecord),
        (name: "broadcast-error", bytes: Array("error 38 the other side of the connection went away".utf8)),
    ]
}
