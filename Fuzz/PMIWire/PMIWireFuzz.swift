// Fuzz target for the PMI-1 wire codec (Sources/FerryPMI/PMIWire.swift): the bytes of one line,
// as a client or a foreign PMI server could send them. Checks that parsing never traps, that
// errors match the input, that every parsed message prints as clean PMI-1 (one line, printable
// ASCII words) and that printing then parsing gives back the same message, byte for byte.
import FerryPMI
import FuzzSupport

@main enum PMIWireFuzz {
    static func main() { fuzzMain("fuzz-pmi-wire", seeds: pmiWireSeeds, fuzzPMIWire) }
}

#if FUZZING
/// libFuzzer's classic entry point. `fuzzMain` does not need it, but a debug build does: SwiftPM
/// defines our `main` there with `--defsym main=<module>_main`, after the linker has searched
/// libFuzzer's archive for a `main` and taken its one, which calls this. Ours still runs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzPMIWire(fuzzBytes(data, size))
    return 0
}
#endif

func fuzzPMIWire(_ input: [UInt8]) {
    let message: PMIMessage
    do {
        message = try PMIWire.parse(input)
    } catch {
        if case .lineTooLong(let seen) = error {
            fuzzCheck(seen == input.count && seen > PMILimits.maxLineBytes, "lineTooLong(\(seen)) for \(input.count) bytes")
        } else {
            fuzzCheck(input.count <= PMILimits.maxLineBytes, "\(error) instead of lineTooLong for \(input.count) bytes")
        }
        return
    }
    fuzzCheck(input.count <= PMILimits.maxLineBytes, "a line of \(input.count) bytes parsed")
    let fields = message.fields
    fuzzCheck(!fields.isEmpty && (fields[0].key == "cmd" || fields[0].key == "mcmd") && !message.command.isEmpty,
              "parsed without a command: \(message)")
    fuzzCheck(fields.allSatisfy { !$0.key.isEmpty }, "a field with an empty key: \(message)")
    // The String overload agrees with the bytes one.
    if let text = String(validating: input, as: UTF8.self) {
        fuzzCheck(sameFields((try? PMIWire.parse(text))?.fields, fields), "parse(String) differs for \(show(input))")
    }

    let line = PMIWire.encode(message)
    let encoded = Array(line.utf8)
    fuzzCheck(message.line == line && message.description == String(line.dropLast()), "line/description differ from encode")
    // Clean PMI-1: one line of printable-ASCII words separated by single spaces, one word per field.
    fuzzCheck(encoded.last == 0x0A, "encoded line does not end in a newline: \(show(encoded))")
    let body = encoded.dropLast()
    fuzzCheck(body.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "encoded line has unescaped bytes: \(show(encoded))")
    let words = body.split(separator: 0x20, omittingEmptySubsequences: false)
    fuzzCheck(words.count == fields.count && words.allSatisfy { $0.filter { $0 == UInt8(ascii: "=") }.count == 1 },
              "encoded words do not match the fields: \(show(encoded))")

    guard encoded.count <= PMILimits.maxLineBytes else {
        // Known limit, not a failure: decoding is lenient and takes raw control and non-ASCII
        // bytes, which encoding escapes as three bytes each, so a parsed line near the limit can
        // print longer than the limit. Parsing the printed line must then refuse it cleanly.
        if case .lineTooLong(let seen)? = parseError(encoded) {
            fuzzCheck(seen == encoded.count, "lineTooLong(\(seen)) for \(encoded.count) bytes")
        } else {
            fuzzCheck(false, "a printed line of \(encoded.count) bytes was not refused as too long")
        }
        return
    }
    do {
        let again = try PMIWire.parse(encoded)
        fuzzCheck(sameFields(again.fields, fields), "round trip changed \(show(input)) into \(show(encoded))")
        fuzzCheck(PMIWire.encode(again) == line, "printing is not stable for \(show(input))")
        // Without its newline, and with CRLF, the line parses the same.
        fuzzCheck(sameFields((try? PMIWire.parse(body))?.fields, fields), "no-newline form differs: \(show(encoded))")
        fuzzCheck(encoded.count == PMILimits.maxLineBytes
                  || sameFields((try? PMIWire.parse(body + [0x0D, 0x0A]))?.fields, fields),
                  "CRLF form differs: \(show(encoded))")
    } catch {
        fuzzCheck(false, "the printed form of \(show(input)) does not parse: \(error); printed \(show(encoded))")
    }
    // Lookups never trap and find every key.
    for field in fields {
        fuzzCheck(message[field.key] != nil, "no value for key \(show(Array(field.key.utf8)))")
        _ = message.int(field.key)
    }
}

private func parseError(_ bytes: [UInt8]) -> PMIWireError? {
    do { _ = try PMIWire.parse(bytes); return nil } catch { return error }
}

/// Field lists equal byte for byte (`String ==` would also accept canonically equivalent text).
func sameFields(_ a: [PMIField]?, _ b: [PMIField]) -> Bool {
    guard let a, a.count == b.count else { return false }
    return zip(a, b).allSatisfy { Array($0.key.utf8) == Array($1.key.utf8) && Array($0.value.utf8) == Array($1.value.utf8) }
}

/// Lines as Ferry's client (PMIClient), Ferry's launcher (PMIServerState), MPICH's Hydra and
/// Slurm send them, plus escaping and whitespace cases.
func pmiWireSeeds() -> [(name: String, bytes: [UInt8])] {
    let messages: [(String, PMIMessage)] = [
        ("init", PMIMessage("init", ["pmi_version": "1", "pmi_subversion": "1"])),
        ("get_maxes", PMIMessage("get_maxes")),
        ("get_my_kvsname", PMIMessage("get_my_kvsname")),
        ("get_appnum", PMIMessage("get_appnum")),
        ("get_universe_size", PMIMessage("get_universe_size")),
        ("initack", PMIMessage("initack", ["pmiid": "3"])),
        ("put-token", PMIMessage("put", ["kvsname": "kvs_4242_0", "key": "ferry-token", "value": "9f86d081884c7d65"])),
        ("put-shm-fail", PMIMessage("put", ["kvsname": "kvs_4242_0", "key": "ferry-shm",
                                            "value": "fail:" + "cannot create /dev/shm/ferry-1234".utf8.map { String($0, radix: 16) }.joined()])),
        ("get", PMIMessage("get", ["kvsname": "kvs_4242_0", "key": "ferry-token"])),
        ("get-mapping", PMIMessage("get", ["kvsname": "kvs_4242_0", "key": "PMI_process_mapping"])),
        ("barrier_in", PMIMessage("barrier_in")),
        ("finalize", PMIMessage("finalize")),
        ("abort", PMIMessage("abort", ["exitcode": "5"])),
        ("response_to_init", PMIMessage("response_to_init", ["pmi_version": "1", "pmi_subversion": "1", "rc": "0"])),
        ("maxes", PMIMessage("maxes", ["kvsname_max": "256", "keylen_max": "64", "vallen_max": "1024", "rc": "0"])),
        ("my_kvsname", PMIMessage("my_kvsname", ["kvsname": "kvs_4242_0", "rc": "0"])),
        ("appnum", PMIMessage("appnum", ["appnum": "1", "rc": "0"])),
        ("universe_size", PMIMessage("universe_size", ["size": "4", "rc": "0"])),
        ("put_result", PMIMessage("put_result", ["rc": "0", "msg": "success"])),
        ("get_result", PMIMessage("get_result", ["rc": "0", "msg": "success", "value": "(vector,(0,1,4))"])),
        ("get_result-missing", PMIMessage("get_result", ["rc": "-1", "msg": "key_not_found"])),
        ("barrier_out", PMIMessage("barrier_out", ["rc": "0"])),
        ("finalize_ack", PMIMessage("finalize_ack", ["rc": "0"])),
        ("initack-reply", PMIMessage("initack", ["rc": "0"])),
        ("set-size", PMIMessage("set", ["size": "4"])),
        ("set-rank", PMIMessage("set", ["rank": "2"])),
        ("set-debug", PMIMessage("set", ["debug": "0"])),
        ("error", PMIMessage("error", ["rc": "-1", "msg": "malformed_line"])),
        ("unknown_result", PMIMessage("spawn_result", ["rc": "-1", "msg": "unknown_command"])),
        ("escaped", PMIMessage("put", ["kvsname": "k", "key": "a b=c%", "value": "line\none\ttab é \u{7F}"])),
    ]
    var seeds = messages.map { (name: $0.0, bytes: Array($0.1.line.utf8)) }
    let raw: [(String, String)] = [
        ("crlf-spaces", "  cmd=set   size=4 \r\n"),
        ("tabs", "cmd=get\tkvsname=k\tkey=x"),
        ("equals-in-value", "cmd=x value=a=b=c\n"),
        ("lenient-percent", "cmd=put kvsname=k key=%zz value=50%\n"),
        ("mcmd-spawn", "mcmd=spawn nprocs=2 execname=./worker totspawns=1 spawnssofar=1 argcnt=0 preput_num=0 info_num=0 endcmd\n"),
        ("no-command", "key=value\n"),
        ("empty-command", "cmd= x=1\n"),
        ("bare-word", "cmd=init pmi_version\n"),
        ("empty", "\n"),
    ]
    seeds += raw.map { (name: $0.0, bytes: Array($0.1.utf8)) }
    seeds.append((name: "not-utf8", bytes: Array("cmd=put value=".utf8) + [0xFF, 0xC3]))
    seeds.append((name: "escaped-not-utf8", bytes: Array("cmd=put value=%FF%C3\n".utf8)))
    seeds.append((name: "too-long", bytes: Array("cmd=put value=".utf8) + [UInt8](repeating: 0x61, count: 8200) + [0x0A]))
    return seeds
}
