// Splits a byte stream into newline-terminated lines with a bound on line length. Pure value
// code; the client feeds it from blocking reads, the launcher from non-blocking ones.

/// What `PMILineBuffer.nextLine()` found.
public enum PMILineEvent: Sendable, Equatable {
    /// One complete line, without its `\n`.
    case line([UInt8])
    /// A line longer than the bound was seen; its bytes up to the next `\n` are discarded.
    case overlong
}

/// Accumulates bytes and hands out complete lines.
public struct PMILineBuffer: Sendable {
    private var pending: [UInt8] = []
    private var discarding = false
    /// Lines longer than this many bytes (excluding `\n`) are reported as `.overlong`.
    public let maxLineBytes: Int

    public init(maxLineBytes: Int = PMILimits.maxLineBytes) {
        self.maxLineBytes = maxLineBytes
    }

    /// True when no unconsumed bytes are buffered.
    public var isEmpty: Bool { pending.isEmpty }

    /// Appends bytes just read.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        pending.append(contentsOf: bytes)
    }

    /// Appends bytes just read.
    public mutating func append(_ bytes: [UInt8]) {
        pending.append(contentsOf: bytes)
    }

    /// The next complete line, `.overlong` once per over-long line, or nil when more bytes are needed.
    public mutating func nextLine() -> PMILineEvent? {
        while true {
            guard let newline = pending.firstIndex(of: 0x0A) else {
                if pending.count > maxLineBytes {
                    pending.removeAll(keepingCapacity: true)
                    if !discarding {
                        discarding = true
                        return .overlong
                    }
                }
                return nil
            }
            let line = Array(pending[..<newline])
            pending.removeSubrange(...newline)
            if discarding {
                discarding = false
                continue
            }
            if line.count > maxLineBytes { return .overlong }
            return .line(line)
        }
    }
}
