// What every fuzz target under Fuzz/ shares: the entry point, checks that fail loudly, and a
// reader that turns the fuzzer's bytes into choices. Used by the executables in Fuzz/PMIWire,
// Fuzz/PMILineBuffer, Fuzz/PMIServerState and Fuzz/PortHandshake; driven by scripts/fuzz.
//
// One source, two builds:
// - fuzzing (`-sanitize=fuzzer -D FUZZING`, what scripts/fuzz does): `fuzzMain` hands the
//   target's function to libFuzzer through `LLVMFuzzerRunDriver`, so the program keeps its own
//   `main` (SwiftPM's executable entry point) and libFuzzer's options work as usual. Each
//   target also exports `LLVMFuzzerTestOneInput`, which only a debug build's link needs;
// - plain (`swift build`): `fuzzMain` replays files and directories given as arguments through
//   the same function, or, with no argument, the target's built-in seeds; `--write-seeds DIR`
//   writes those seeds as files (how Fuzz/corpus/<target>/seed-* was made).
// A failed check prints what failed (and, in a replay, which file) and aborts: libFuzzer reports
// the abort as a crash and saves the input; a replay exits non-zero.
#if canImport(Glibc)
import Glibc
#endif
#if FUZZING
import CFuzzDriver
#endif

/// The target's function; a global because libFuzzer's callback is a C function pointer.
nonisolated(unsafe) private var fuzzBody: (([UInt8]) -> Void)?
/// The file a replay is running, named when a check fails.
nonisolated(unsafe) private var replayInput = ""

/// Runs `body` on inputs, as the build decides (see the file header); never returns.
/// - Parameters:
///   - name: the target's name, for messages.
///   - seeds: named inputs built from real messages (the seed corpus).
///   - body: checks one input; must not keep state from one input to the next.
public func fuzzMain(_ name: String, seeds: () -> [(name: String, bytes: [UInt8])],
                     _ body: @escaping ([UInt8]) -> Void) -> Never {
    fuzzBody = body
    #if FUZZING
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        fuzzBody!(fuzzBytes(data, size))
        return 0
    }
    exit(status)
    #else
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.count == 2 && arguments[0] == "--write-seeds" {
        let dir = arguments[1]
        if mkdir(dir, 0o755) != 0 && errno != EEXIST { die("\(name): cannot create \(dir)") }
        for seed in seeds() { writeFile("\(dir)/seed-\(seed.name)", seed.bytes) }
        print("\(name): wrote \(seeds().count) seeds to \(dir)")
        exit(0)
    }
    if arguments.contains(where: { $0.hasPrefix("-") }) {
        die("usage: \(name) [FILE|DIR]...  (replays inputs; none: the built-in seeds)\n"
            + "       \(name) --write-seeds DIR\n"
            + "libFuzzer options need the fuzzing build: scripts/fuzz")
    }
    var count = 0
    if arguments.isEmpty {
        for seed in seeds() {
            replayInput = "built-in seed \(seed.name)"
            body(seed.bytes)
            count += 1
        }
    } else {
        for path in arguments.flatMap(inputFiles) {
            replayInput = path
            body(readFile(path))
            count += 1
        }
    }
    print("\(name): \(count) inputs replayed, every check passed")
    exit(0)
    #endif
}

/// The input libFuzzer passes, as an array (it may pass a null pointer for the empty input).
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Fails the run when `condition` is false: prints `message` (with the replayed file, if any)
/// and aborts, which libFuzzer reports as a crash.
public func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    if condition { return }
    let input = replayInput.isEmpty ? "" : "\n  input: \(replayInput)"
    printError("fuzz check failed at \(file):\(line): \(message())\(input)")
    abort()
}

/// Bytes as text for messages: printable ASCII as is, anything else as `\xNN`, cut at 300 bytes.
public func show<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    var out = ""
    for b in bytes.prefix(300) {
        if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\\") { out.unicodeScalars.append(Unicode.Scalar(b)) }
        else { out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16) }
    }
    return bytes.count > 300 ? out + "... (\(bytes.count) bytes)" : out
}

/// Takes the fuzzer's bytes front to back as choices and data.
public struct FuzzReader {
    private var remaining: ArraySlice<UInt8>

    public init(_ bytes: [UInt8]) { remaining = bytes[...] }

    /// True when every byte has been taken.
    public var isEmpty: Bool { remaining.isEmpty }

    /// The next byte, or nil at the end.
    public mutating func byte() -> UInt8? { remaining.popFirst() }

    /// The next `count` bytes (fewer at the end).
    public mutating func take(_ count: Int) -> [UInt8] {
        let out = Array(remaining.prefix(count))
        remaining = remaining.dropFirst(count)
        return out
    }

    /// Every byte not taken yet.
    public mutating func rest() -> [UInt8] {
        defer { remaining = [] }
        return Array(remaining)
    }
}

// MARK: files (plain build only)

private func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes[done...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
        done += n
    }
}

private func die(_ text: String) -> Never {
    printError(text)
    exit(2)
}

/// `path` itself, or the regular files in directory `path` (not recursive, dot files skipped),
/// sorted by name.
private func inputFiles(_ path: String) -> [String] {
    var info = stat()
    guard stat(path, &info) == 0 else { die("cannot read \(path)") }
    guard info.st_mode & S_IFMT == S_IFDIR else { return [path] }
    guard let dir = opendir(path) else { die("cannot list \(path)") }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name.hasPrefix(".") { continue }
        var entryInfo = stat()
        if stat("\(path)/\(name)", &entryInfo) == 0 && entryInfo.st_mode & S_IFMT == S_IFREG {
            names.append("\(path)/\(name)")
        }
    }
    return names.sorted()
}

private func readFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { die("cannot open \(path)") }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; die("cannot read \(path)") }
        if n == 0 { return out }
        out += chunk[..<n]
    }
}

private func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { die("cannot create \(path)") }
    defer { close(fd) }
    var done = 0
    while done < bytes.count {
        let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; die("cannot write \(path)") }
        done += n
    }
}
