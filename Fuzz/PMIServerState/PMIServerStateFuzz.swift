// Fuzz target for the launcher's PMI-1 server (Sources/FerryPMI/PMIServerState.swift): a job of
// 4 ranks whose connections send lines in an order the fuzzer chooses. Besides "never traps",
// every reply is checked against a small model of the server: replies are single PMI-1 lines
// that parse, go to the client that asked (barrier releases to every waiter), and carry the
// values the key-value space must hold.
//
// Input layout: lines separated by `\n`; the first byte of each line names the client (its
// value mod 4, so "0cmd=init ..." comes from client 0; bit 2 set sends the line through the
// String overload of `handle`), the rest is the line as received.
import FerryPMI
import FuzzSupport

@main enum PMIServerStateFuzz {
    static func main() { fuzzMain("fuzz-pmi-server", seeds: pmiServerSeeds, fuzzPMIServerState) }
}

#if FUZZING
/// libFuzzer's classic entry point. `fuzzMain` does not need it, but a debug build does: SwiftPM
/// defines our `main` there with `--defsym main=<module>_main`, after the linker has searched
/// libFuzzer's archive for a `main` and taken its one, which calls this. Ours still runs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzPMIServerState(fuzzBytes(data, size))
    return 0
}
#endif

private let jobSize = 4
private let kvsName = "kvs"

func fuzzPMIServerState(_ input: [UInt8]) {
    let server = PMIServerState(size: jobSize, kvsName: kvsName)
    var store: [String: String] = [:]      // the model's key-value space
    var barrier: Set<Int> = []             // the model's barrier arrivals

    for record in input.split(separator: 0x0A, omittingEmptySubsequences: true) {
        let client = Int(record.first! % UInt8(jobSize))
        let line = Array(record.dropFirst())
        var actions: [PMIServerAction]
        if record.first! & 4 != 0, let text = String(validating: line, as: UTF8.self) {
            actions = server.handle(client: client, line: text)
        } else {
            actions = server.handle(client: client, line: line)
        }
        // Built only when a check fails (messages are autoclosures): most inputs pass.
        var context: String { "client \(client) sent \(show(line))" }

        // Every reply is one clean line that parses.
        var replies: [(client: Int, message: PMIMessage)] = []
        for action in actions {
            guard case let .send(to, text) = action else { continue }
            fuzzCheck((0..<jobSize).contains(to), "a reply to client \(to); \(context)")
            let bytes = Array(text.utf8)
            fuzzCheck(bytes.last == 0x0A && bytes.firstIndex(of: 0x0A) == bytes.count - 1,
                      "a reply that is not one line: \(show(bytes)); \(context)")
            do {
                replies.append((to, try PMIWire.parse(bytes)))
            } catch {
                fuzzCheck(false, "the reply \(show(bytes)) does not parse (\(error)); \(context)")
            }
        }

        guard let request = try? PMIWire.parse(line) else {
            fuzzCheck(actions == [.send(client: client, line: "cmd=error rc=-1 msg=malformed_line\n")],
                      "\(actions) for a malformed line; \(context)")
            continue
        }
        // Only barrier_in may answer nobody (or others); everything else answers the sender first.
        if request.command != "barrier_in" && request.command != "abort" {
            fuzzCheck(replies.first?.client == client && replies.allSatisfy { $0.client == client },
                      "\(actions) do not answer the sender; \(context)")
        }
        let reply = replies.first?.message
        switch request.command {
        case "put":
            // A well-formed put may still be refused (the per-rank quotas of PMILimits); one that
            // is not well-formed must be. The model keeps what the server says it stored.
            let key = request["key"], value = request["value"]
            let wellFormed = request["kvsname"] == kvsName
                && key.map { !$0.isEmpty && $0.utf8.count <= PMILimits.keyMaxBytes } == true
                && value.map { $0.utf8.count <= PMILimits.valueMaxBytes } == true
            let rc = reply?["rc"]
            fuzzCheck(actions.count == 1 && reply?.command == "put_result" && (rc == "0" || rc == "-1")
                      && (wellFormed || rc == "-1"), "\(actions) for a put that is \(wellFormed ? "" : "not ")well-formed; \(context)")
            if rc == "0" { store[key!] = value! }
        case "get":
            let key = request["key"]
            let expected = request["kvsname"] != kvsName ? nil
                : key == "PMI_process_mapping" ? "(vector,(0,1,\(jobSize)))" : key.flatMap { store[$0] }
            fuzzCheck(actions.count == 1 && reply?.command == "get_result", "\(actions) for a get; \(context)")
            if let expected {
                fuzzCheck(reply?["rc"] == "0" && reply?["value"].map { Array($0.utf8) } == Array(expected.utf8),
                          "get returned \(actions), expected the value \(show(Array(expected.utf8))); \(context)")
            } else {
                fuzzCheck(reply?["rc"] == "-1" && reply?["value"] == nil, "\(actions) for a get that must fail; \(context)")
            }
        case "barrier_in":
            barrier.insert(client)
            if barrier.count == jobSize {
                fuzzCheck(actions == (0..<jobSize).map { .send(client: $0, line: "cmd=barrier_out rc=0\n") },
                          "\(actions) when the last client entered the barrier; \(context)")
                barrier = []
            } else {
                fuzzCheck(actions.isEmpty, "\(actions) before every client entered the barrier; \(context)")
            }
        case "abort":
            let code = request["exitcode"].flatMap { Int32($0) } ?? 1
            fuzzCheck(actions == [.abort(client: client, exitCode: code)], "\(actions) for an abort; \(context)")
        case "finalize":
            fuzzCheck(actions == [.send(client: client, line: "cmd=finalize_ack rc=0\n"), .finalized(client: client)],
                      "\(actions) for a finalize; \(context)")
            fuzzCheck(server.hasFinalized(client: client), "finalize not recorded; \(context)")
        case "init":
            let ok = request["pmi_version"] == "1"
            fuzzCheck(actions.count == 1 && reply?.command == "response_to_init" && reply?["rc"] == (ok ? "0" : "-1"),
                      "\(actions) for an init; \(context)")
            if ok { fuzzCheck(server.hasInitialized(client: client), "init not recorded; \(context)") }
        case "initack":
            // Accepted: rc=0 then the rank it named and the job size; refused: one rc=-1 line.
            // Only a rank of the job may be named (the server may refuse more, e.g. another's rank).
            let id = request.int("pmiid")
            if actions.count == 4 {
                fuzzCheck(id.map { (0..<jobSize).contains($0) } == true && reply?.command == "initack" && reply?["rc"] == "0"
                          && replies[1].message["size"] == "\(jobSize)" && replies[2].message["rank"] == id.map(String.init),
                          "\(actions) for an initack; \(context)")
            } else {
                fuzzCheck(actions.count == 1 && reply?.command == "initack" && reply?["rc"] == "-1",
                          "\(actions) for an initack; \(context)")
            }
        case "get_maxes", "get_my_kvsname", "get_appnum", "get_universe_size":
            fuzzCheck(actions.count == 1 && reply?["rc"] == "0", "\(actions) for \(request.command); \(context)")
        default:
            // The command is echoed when short (at most 64 bytes), else replaced by "unknown".
            let echoed = request.command.utf8.count <= 64 ? request.command : "unknown"
            fuzzCheck(actions.count == 1 && reply?.command == echoed + "_result" && reply?["rc"] == "-1",
                      "\(actions) for an unknown command; \(context)")
        }
        fuzzCheck(server.barrierWaiters == barrier.count,
                  "\(server.barrierWaiters) barrier waiters, the model has \(barrier.count); \(context)")
    }
}

/// Whole jobs as Ferry's ranks (PMIClient, FerryRuntime's start-up) and Hydra-style clients
/// (`initack`) talk to the launcher, and some misbehaving clients.
func pmiServerSeeds() -> [(name: String, bytes: [UInt8])] {
    func session(_ lines: [(Int, String)]) -> [UInt8] {
        Array(lines.map { "\($0.0)\($0.1)\n" }.joined().utf8)
    }
    var startup: [(Int, String)] = []
    for c in 0..<jobSize {
        startup += ["cmd=init pmi_version=1 pmi_subversion=1", "cmd=get_maxes", "cmd=get_my_kvsname",
                    "cmd=get_appnum", "cmd=get_universe_size"].map { (c, $0) }
    }
    let token = [(0, "cmd=put kvsname=kvs key=ferry-token value=9f86d081884c7d65")]
        + (0..<jobSize).map { ($0, "cmd=barrier_in") }
        + (1..<jobSize).map { ($0, "cmd=get kvsname=kvs key=ferry-token") }
    let shm = [(0, "cmd=put kvsname=kvs key=ferry-shm value=ok")]
        + (0..<jobSize).map { ($0, "cmd=barrier_in") }
        + (1..<jobSize).map { ($0, "cmd=get kvsname=kvs key=ferry-shm") }
        + [(2, "cmd=get kvsname=kvs key=PMI_process_mapping")]
    let finalize = (0..<jobSize).map { ($0, "cmd=finalize") }
    // Hydra's PMI_PORT clients name their rank first; a second initack, or another's rank, is refused.
    let initack = (0..<jobSize).map { ($0, "cmd=initack pmiid=\($0)") }
        + [(1, "cmd=get_appnum"), (2, "cmd=initack pmiid=2"), (3, "cmd=initack pmiid=0")]
    let misbehaving: [(Int, String)] = [
        (0, "cmd=put kvsname=other key=a value=b"), (1, "cmd=put kvsname=kvs key= value=b"),
        (2, "cmd=put kvsname=kvs key=" + String(repeating: "k", count: 65) + " value=b"),
        (3, "cmd=get kvsname=kvs key=never-put"), (0, "cmd=initack pmiid=9"), (1, "cmd=init pmi_version=2"),
        (2, "not a pmi line"), (3, "cmd=spawn_multiple foo=1"), (0, "mcmd=spawn nprocs=1"),
        (1, "cmd=barrier_in"), (1, "cmd=barrier_in"), (2, "cmd=abort exitcode=7"), (3, "cmd=abort"),
    ]
    return [
        (name: "job-startup", bytes: session(startup + token + shm + finalize)),
        (name: "hydra-initack", bytes: session(initack + finalize)),
        (name: "misbehaving", bytes: session(misbehaving)),
        // Client 4+2 = 6: bit 2 sends through handle(client:line: String).
        (name: "string-overload", bytes: Array("6cmd=put kvsname=kvs key=%C3%A9 value=caf%C3%A9\n6cmd=get kvsname=kvs key=%C3%A9\n".utf8)),
    ]
}
