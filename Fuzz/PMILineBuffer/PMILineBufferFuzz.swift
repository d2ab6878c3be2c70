// Fuzz target for PMILineBuffer (Sources/FerryPMI/PMILineBuffer.swift): a byte stream from a PMI
// peer, cut into reads at points the fuzzer chooses. The events it hands out must be those of
// the whole stream split at newlines, however the stream was cut: each complete line as
// `.line` when it fits in `maxLineBytes`, else one `.overlong`; one `.overlong` for an
// unterminated tail that is already too long. No line is ever longer than `maxLineBytes`.
//
// Input layout: byte 0 picks `maxLineBytes` (0...63, or the default 8192 for 0xFF); byte 1 says
// how many cut bytes follow (0...15); each cut byte is a read: bits 0-5 its length, bit 6
// `append(UnsafeRawBufferPointer)` instead of `append([UInt8])`, bit 7 drain `nextLine()` after
// it. The rest is the stream; what the cuts leave is the last read.
import FerryPMI
import FuzzSupport

@main enum PMILineBufferFuzz {
    static func main() { fuzzMain("fuzz-pmi-line-buffer", seeds: pmiLineBufferSeeds, fuzzPMILineBuffer) }
}

#if FUZZING
/// libFuzzer's classic entry point. `fuzzMain` does not need it, but a debug build does: SwiftPM
/// defines our `main` there with `--defsym main=<module>_main`, after the linker has searched
/// libFuzzer's archive for a `main` and taken its one, which calls this. Ours still runs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzPMILineBuffer(fuzzBytes(data, size))
    return 0
}
#endif

func fuzzPMILineBuffer(_ input: [UInt8]) {
    var reader = FuzzReader(input)
    let limitChoice = reader.byte() ?? 0xFF
    var buffer = limitChoice == 0xFF ? PMILineBuffer() : PMILineBuffer(maxLineBytes: Int(limitChoice % 64))
    let maxLineBytes = buffer.maxLineBytes
    let cuts = reader.take(Int((reader.byte() ?? 0) % 16))
    let stream = reader.rest()

    var events: [PMILineEvent] = []
    func drain() {
        while let event = buffer.nextLine() {
            if case .line(let line) = event {
                fuzzCheck(line.count <= maxLineBytes, "a line of \(line.count) bytes with maxLineBytes \(maxLineBytes)")
                fuzzCheck(!line.contains(0x0A), "a line holds a newline: \(show(line))")
            }
            events.append(event)
        }
    }
    var offset = 0
    for cut in cuts {
        let count = min(Int(cut & 0x3F), stream.count - offset)
        let read = Array(stream[offset..<(offset + count)])
        offset += count
        if cut & 0x40 != 0 { read.withUnsafeBytes { buffer.append($0) } } else { buffer.append(read) }
        if cut & 0x80 != 0 { drain() }
    }
    buffer.append(Array(stream[offset...]))
    drain()

    // The same stream split at once.
    let pieces = stream.split(separator: 0x0A, omittingEmptySubsequences: false)
    var expected: [PMILineEvent] = pieces.dropLast().map { $0.count > maxLineBytes ? .overlong : .line(Array($0)) }
    let tail = pieces.last!
    if tail.count > maxLineBytes { expected.append(.overlong) }
    fuzzCheck(events == expected, "events \(describe(events)) for \(show(stream)) cut by \(cuts), expected \(describe(expected))")
    if tail.isEmpty { fuzzCheck(buffer.isEmpty, "bytes left over after a stream ending in a newline") }
    if tail.count <= maxLineBytes { fuzzCheck(buffer.isEmpty == tail.isEmpty, "isEmpty is \(buffer.isEmpty) with a tail of \(tail.count) bytes") }
}

private func describe(_ events: [PMILineEvent]) -> String {
    "[" + events.map { event -> String in
        switch event {
        case .line(let bytes): return "line(\(show(bytes)))"
        case .overlong: return "overlong"
        }
    }.joined(separator: ", ") + "]"
}

/// What a client reads from Ferry's launcher and a launcher from a client, cut as reads may cut it.
func pmiLineBufferSeeds() -> [(name: String, bytes: [UInt8])] {
    let replies = "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n"
        + "cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024 rc=0\n"
        + "cmd=my_kvsname kvsname=kvs_4242_0 rc=0\ncmd=appnum appnum=0 rc=0\ncmd=universe_size size=4 rc=0\n"
    let requests = "cmd=init pmi_version=1 pmi_subversion=1\ncmd=get_maxes\n"
        + "cmd=put kvsname=kvs_4242_0 key=ferry-token value=9f86d081884c7d65\ncmd=barrier_in\n"
    let initack = "cmd=initack rc=0\ncmd=set size=4\ncmd=set rank=2\ncmd=set debug=0\n"
    func seed(_ limit: UInt8, _ cuts: [UInt8], _ stream: String) -> [UInt8] {
        [limit, UInt8(cuts.count)] + cuts + Array(stream.utf8)
    }
    return [
        (name: "replies-whole", bytes: seed(0xFF, [], replies)),
        (name: "replies-cut", bytes: seed(0xFF, [0x80 | 7, 0x80 | 0x40 | 50, 3, 0x80 | 63, 0x80 | 1], replies)),
        (name: "requests-cut", bytes: seed(0xFF, [0x80 | 10, 0x80 | 10, 0x40 | 20], requests)),
        (name: "initack-small-limit", bytes: seed(20, [0x80 | 5, 0x80 | 30, 0x80 | 2], initack)),
        (name: "overlong-then-line", bytes: seed(8, [0x80 | 12, 0x80 | 4, 0x80 | 4], "abcdefghijklmnop\nshort\nlonger-than-8\ntail")),
        (name: "crlf-and-empty", bytes: seed(0xFF, [0x80 | 1, 0x80 | 1], "cmd=barrier_out rc=0\r\n\n\ncmd=finalize_ack rc=0\r\n")),
        (name: "zero-limit", bytes: seed(0, [0x80 | 2], "\n\nx\n")),
    ]
}
