// The PMI-1 codec and line splitter: round trips, escaping, and malformed or random input.
import Testing
@testable import FerryPMI

@Suite struct PMIWireTests {
    @Test func encodesPlainFieldsVerbatim() {
        let m = PMIMessage("put", ["kvsname": "k", "key": "a", "value": "b"])
        #expect(m.line == "cmd=put kvsname=k key=a value=b\n")
        #expect(PMIMessage("barrier_in").line == "cmd=barrier_in\n")
    }

    @Test func parsesAResponseLine() throws {
        let m = try PMIWire.parse("cmd=get_result rc=0 value=xyz\n")
        #expect(m.command == "get_result")
        #expect(m["rc"] == "0")
        #expect(m["value"] == "xyz")
        #expect(m.int("rc") == 0)
        #expect(m["missing"] == nil)
    }

    @Test func toleratesExtraBlanksAndCRLF() throws {
        let m = try PMIWire.parse("  cmd=set   size=4 \r\n")
        #expect(m.fields == [PMIField("cmd", "set"), PMIField("size", "4")])
    }

    @Test func valueMayContainEqualsSigns() throws {
        #expect(try PMIWire.parse("cmd=x value=a=b=c")["value"] == "a=b=c")
    }

    @Test(arguments: ["", "a b", "x=y z", "100%", "%41", "line\nbreak", "tab\tand=eq", "héllo ✓",
                      "(vector,(0,1,4))", String(repeating: " ", count: 1024)])
    func roundTripsArbitraryValues(value: String) throws {
        let m = PMIMessage("put", ["kvsname": "k", "key": "a", "value": value])
        let line = m.line
        #expect(line.utf8.filter { $0 == 0x0A }.count == 1)
        #expect(line.utf8.allSatisfy { $0 < 0x80 })
        let back = try PMIWire.parse(line)
        #expect(back == m)
        #expect(back["value"] == value)
    }

    @Test func hexValuesTravelUnescaped() {
        let hex = "00ff7a3c9e"
        #expect(PMIMessage("put", ["value": hex]).line == "cmd=put value=00ff7a3c9e\n")
    }

    @Test func lonePercentStaysLiteral() throws {
        #expect(try PMIWire.parse("cmd=x v=50% w=%zz u=%4")["v"] == "50%")
        #expect(try PMIWire.parse("cmd=x w=%zz")["w"] == "%zz")
        #expect(try PMIWire.parse("cmd=x u=%4")["u"] == "%4")
    }

    @Test func rejectsMalformedLines() {
        #expect(throws: PMIWireError.empty) { try PMIWire.parse("\n") }
        #expect(throws: PMIWireError.empty) { try PMIWire.parse("   ") }
        #expect(throws: PMIWireError.malformedWord("garbage")) { try PMIWire.parse("garbage") }
        #expect(throws: PMIWireError.malformedWord("=x")) { try PMIWire.parse("cmd=put =x") }
        #expect(throws: PMIWireError.missingCommand) { try PMIWire.parse("key=a cmd=put") }
        #expect(throws: PMIWireError.missingCommand) { try PMIWire.parse("cmd= key=a") }
        #expect(throws: PMIWireError.notUTF8) { try PMIWire.parse([0x63, 0x6d, 0x64, 0x3d, 0xff, 0xfe]) }
        #expect(throws: PMIWireError.notUTF8) { try PMIWire.parse("cmd=x v=%FF") }
        let long = "cmd=put value=" + String(repeating: "a", count: PMILimits.maxLineBytes)
        #expect(throws: PMIWireError.lineTooLong(long.utf8.count)) { try PMIWire.parse(long) }
    }

    @Test func randomGarbageNeverTraps() {
        var rng = SplitMix64(seed: 0x5eed)
        var parsed = 0
        for _ in 0..<20_000 {
            let length = Int(rng.next() % 200)
            // Bias toward the bytes that matter to the grammar.
            let alphabet: [UInt8] = [0x20, 0x3D, 0x25, 0x0A, 0x00, 0xFF, 0xC3, 0x63, 0x6D, 0x64, 0x41, 0x30]
            let bytes = (0..<length).map { _ -> UInt8 in
                rng.next() % 2 == 0 ? alphabet[Int(rng.next() % UInt64(alphabet.count))] : UInt8(truncatingIfNeeded: rng.next())
            }
            if let message = try? PMIWire.parse(bytes) {
                parsed += 1
                #expect(!message.command.isEmpty)
                // Whatever parses re-encodes to a line that parses to the same message.
                #expect((try? PMIWire.parse(message.line)) == message)
            }
        }
        #expect(parsed < 20_000)
    }

    @Test func lineBufferSplitsAcrossChunks() {
        var buffer = PMILineBuffer()
        buffer.append(Array("cmd=a\ncmd=".utf8))
        #expect(buffer.nextLine() == .line(Array("cmd=a".utf8)))
        #expect(buffer.nextLine() == nil)
        buffer.append(Array("b x=1\n\n".utf8))
        #expect(buffer.nextLine() == .line(Array("cmd=b x=1".utf8)))
        #expect(buffer.nextLine() == .line([]))
        #expect(buffer.nextLine() == nil)
        #expect(buffer.isEmpty)
    }

    @Test func lineBufferReportsAnOverlongLineOnceAndRecovers() {
        var buffer = PMILineBuffer(maxLineBytes: 8)
        buffer.append(Array(repeating: UInt8(ascii: "z"), count: 20))
        #expect(buffer.nextLine() == .overlong)
        buffer.append(Array(repeating: UInt8(ascii: "z"), count: 20))
        #expect(buffer.nextLine() == nil)
        buffer.append(Array("zz\ncmd=ok\n".utf8))
        #expect(buffer.nextLine() == .line(Array("cmd=ok".utf8)))
        buffer.append(Array("0123456789\n".utf8))
        #expect(buffer.nextLine() == .overlong)
    }
}

/// A tiny deterministic generator, so a failing fuzz case reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
