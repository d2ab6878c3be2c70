// The PMI-1 wire codec: a message is one line of space-separated `key=value` words whose first
// word is `cmd=<command>`. Pure value code, no I/O. Used by `PMIClient` (rank side) and
// `PMIServerState` (launcher side); both sides of a Ferry job therefore agree on escaping.
//
// Escaping: PMI-1 has no escape syntax, so plain MPICH/Hydra/Slurm only carry values without
// spaces. We percent-encode (`%XX`) every byte that would break a line or a word: bytes
// <= 0x20, >= 0x7F, `%` and `=`. Text that needs none of this (hex strings, `(vector,(0,1,4))`)
// is sent verbatim, so foreign PMI servers see exactly what they expect. Decoding is lenient for
// interoperability: a `%` not followed by two hex digits stays a literal `%`.

/// One `key=value` word of a PMI-1 line, decoded.
public struct PMIField: Sendable, Equatable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// Why a line could not be parsed. Parsing never traps: every malformed input ends up here.
public enum PMIWireError: Error, Sendable, Equatable {
    /// The line exceeds `PMILimits.maxLineBytes` (the payload is the length seen).
    case lineTooLong(Int)
    /// The line (or a decoded field) is not valid UTF-8.
    case notUTF8
    /// The line holds no words at all.
    case empty
    /// A word has no `=`, or an empty key.
    case malformedWord(String)
    /// The first word is not `cmd=<non-empty>`.
    case missingCommand
}

/// One PMI-1 message: an ordered list of fields, the first of which is `cmd`.
public struct PMIMessage: Sendable, Equatable, CustomStringConvertible {
    /// All fields in wire order, `cmd` first.
    public var fields: [PMIField]

    /// A message `cmd=<command>` followed by `fields` in order.
    public init(_ command: String, _ fields: KeyValuePairs<String, String> = [:]) {
        self.fields = [PMIField("cmd", command)]
        for (k, v) in fields { self.fields.append(PMIField(k, v)) }
    }

    init(fields: [PMIField]) { self.fields = fields }

    /// The value of `cmd` (empty only for a hand-built message without fields).
    public var command: String { fields.first?.value ?? "" }

    /// The value of the first field named `key`, or nil.
    public subscript(key: String) -> String? {
        fields.first { $0.key == key }?.value
    }

    /// The value of `key` as an integer, or nil when absent or not a number.
    public func int(_ key: String) -> Int? { self[key].flatMap { Int($0) } }

    /// The encoded line, including the trailing newline.
    public var line: String { PMIWire.encode(self) }

    public var description: String { String(line.dropLast()) }
}

/// Encoding and decoding of PMI-1 lines.
public enum PMIWire {
    /// Encodes `message` as one line ending in `\n`, escaping keys and values (see file header).
    public static func encode(_ message: PMIMessage) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for (i, field) in message.fields.enumerated() {
            if i > 0 { out.append(0x20) }
            escape(field.key, into: &out)
            out.append(UInt8(ascii: "="))
            escape(field.value, into: &out)
        }
        out.append(0x0A)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes one line (with or without its trailing `\n` / `\r\n`).
    /// - Throws: `PMIWireError` for anything that is not a well-formed PMI-1 message.
    public static func parse<Bytes: Collection>(_ line: Bytes) throws(PMIWireError) -> PMIMessage
    where Bytes.Element == UInt8 {
        var bytes = Array(line)
        if bytes.count > PMILimits.maxLineBytes { throw .lineTooLong(bytes.count) }
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        var fields: [PMIField] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1; continue }
            var end = index
            while end < bytes.count, bytes[end] != 0x20, bytes[end] != 0x09 { end += 1 }
            let word = bytes[index..<end]
            index = end
            guard let eq = word.firstIndex(of: UInt8(ascii: "=")), eq > word.startIndex else {
                throw .malformedWord(String(decoding: word.prefix(64), as: UTF8.self))
            }
            let key = try unescape(word[word.startIndex..<eq])
            let value = try unescape(word[(eq + 1)..<word.endIndex])
            fields.append(PMIField(key, value))
        }
        guard let first = fields.first else { throw .empty }
        guard first.key == "cmd" || first.key == "mcmd", !first.value.isEmpty else { throw .missingCommand }
        return PMIMessage(fields: fields)
    }

    /// Decodes a line given as a `String` (convenience for tests and the server).
    public static func parse(_ line: String) throws(PMIWireError) -> PMIMessage {
        try parse(Array(line.utf8))
    }

    static func needsEscape(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "=")
    }

    static func escape(_ text: String, into out: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            if needsEscape(byte) {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            } else {
                out.append(byte)
            }
        }
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func unescape(_ bytes: ArraySlice<UInt8>) throws(PMIWireError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let byte = bytes[i]
            if byte == UInt8(ascii: "%"), i + 2 < bytes.endIndex,
               let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(byte)
                i += 1
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw .notUTF8 }
        return text
    }
}
