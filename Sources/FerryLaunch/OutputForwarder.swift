// Forwards one rank's stdout or stderr pipe to the launcher's own stdout or stderr, whole lines
// at a time, so lines of different ranks never interleave mid-line. Optionally prefixes each
// line with `[rank] `. A partial line waits for its newline, for EOF, or for the end of the
// job; a partial line longer than `maxPartialBytes` is forwarded as it is, to bound memory.
// Lines go to a LineSink, which never blocks: the launcher's own stdout or stderr (OutputSink),
// or, in a multi-node job's proxy, output frames on the channel to the launcher
// (ProxyStreamSink).
#if canImport(Glibc)
import Glibc
#endif

/// Where forwarded lines go. `enqueue` takes whole lines (or one forced partial line) and
/// keeps them together: nothing else is put between their bytes.
protocol LineSink: AnyObject {
    func enqueue<C: Collection>(_ bytes: C) where C.Element == UInt8
    /// Above its high-water mark: stop reading the sources that feed it.
    var isAboveHighWater: Bool { get }
}

struct OutputForwarder<Sink: LineSink> {
    /// Read end of the rank's pipe; -1 once closed.
    private(set) var sourceFD: Int32
    /// Where lines go: the launcher's stdout or stderr, or a proxy's channel.
    let sink: Sink
    /// Bytes put before every line (empty unless tagging).
    let prefix: [UInt8]
    private var partial: [UInt8] = []
    static var maxPartialBytes: Int { 65536 }

    init(sourceFD: Int32, sink: Sink, prefix: String) {
        self.sourceFD = sourceFD
        self.sink = sink
        self.prefix = Array(prefix.utf8)
    }

    var isOpen: Bool { sourceFD >= 0 }

    /// Reads what is available (up to `maxReads` reads), forwards complete lines, and closes the
    /// pipe on EOF.
    mutating func pump(maxReads: Int = 16) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<maxReads where sourceFD >= 0 {
            switch POSIX.read(sourceFD, into: &buffer) {
            case .data(let n): forward(buffer[..<n])
            case .wouldBlock: return
            case .endOfFile:
                _ = close(sourceFD)
                sourceFD = -1
                flushPartial()
            }
        }
    }

    /// Reads until the pipe is empty (not until EOF: a rank's children may hold it open), or
    /// until the sink is above its high-water mark (what is left stays in the pipe).
    mutating func drain() {
        while sourceFD >= 0 && !sink.isAboveHighWater {
            var buffer = [UInt8](repeating: 0, count: 65536)
            switch POSIX.read(sourceFD, into: &buffer) {
            case .data(let n): forward(buffer[..<n])
            case .wouldBlock: return
            case .endOfFile:
                _ = close(sourceFD)
                sourceFD = -1
            }
        }
    }

    /// Forwards a trailing partial line, adding the missing newline.
    mutating func flushPartial() {
        guard !partial.isEmpty else { return }
        partial.append(0x0A)
        sink.enqueue(prefix + partial)
        partial.removeAll()
    }

    /// Drains, flushes and closes: the end of this stream.
    mutating func finish() {
        drain()
        flushPartial()
        if sourceFD >= 0 { _ = close(sourceFD); sourceFD = -1 }
    }

    private mutating func forward(_ chunk: ArraySlice<UInt8>) {
        guard let lastNewline = chunk.lastIndex(of: 0x0A) else {
            partial.append(contentsOf: chunk)
            if partial.count > Self.maxPartialBytes { flushPartial() }
            return
        }
        var out: [UInt8] = []
        if prefix.isEmpty {
            out = partial
            out.append(contentsOf: chunk[...lastNewline])
        } else {
            out.reserveCapacity(chunk.count + partial.count + 16 * prefix.count)
            var line = partial
            for byte in chunk[...lastNewline] {
                line.append(byte)
                if byte == 0x0A {
                    out.append(contentsOf: prefix)
                    out.append(contentsOf: line)
                    line.removeAll(keepingCapacity: true)
                }
            }
        }
        partial = Array(chunk[(lastNewline + 1)...])
        sink.enqueue(out)
    }
}
