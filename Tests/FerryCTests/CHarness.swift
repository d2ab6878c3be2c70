// The C programs of tests/c and the tools to build and run them: an install layout made in a
// temporary prefix from Ferry's build (scripts/install --symlink), compilation with Debian's
// `mpicc.mpich` (MPICH's header and libmpich: the drop-in case) or with `ferry cc` (our
// header), and `ferry run` with LD_LIBRARY_PATH=<prefix>/lib under a hard time bound.
//
// Where Ferry's build is: FERRY_BIN_DIR if set, otherwise <package>/.build/debug; it must hold
// `ferry` and `libmpi.so` (`swift build --product ferry` and `swift build --product mpi`).
// Binaries and the prefix go to one temporary directory per test process.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One C test program: tests/c/<group>/<stem>.c.
struct CProgram: Sendable, CustomStringConvertible {
    /// Absolute path of the source.
    let source: String
    /// "p2p/p2p_modes" (path under tests/c without ".c").
    let name: String
    /// Rank counts from a `ranks: 1 2 4` comment near the top, else [1, 2, 4].
    let ranks: [Int]
    /// Names the program may report as "<name>: OK": its file stem and the string literals of
    /// the source (a program may call itself something else than its file, e.g. "rma-fence").
    let literals: Set<String>

    var stem: String { String(name.split(separator: "/").last ?? Substring(name)) }
    var group: String { String(name.split(separator: "/").first ?? "") }
    var description: String { name }

    /// The rank counts a `ranks:` comment in the first 30 lines asks for, or nil.
    static func declaredRanks(_ text: String) -> [Int]? {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(30) {
            guard let colon = line.range(of: "ranks:") else { continue }
            let before = line[..<colon.lowerBound].trimmingCharacters(in: .whitespaces)
            guard before.hasPrefix("//") || before.hasPrefix("/*") || before.hasPrefix("*") else { continue }
            let counts = line[colon.upperBound...].split(whereSeparator: { " \t,*/".contains($0) }).compactMap { Int($0) }
            if !counts.isEmpty { return counts }
        }
        return nil
    }
}

/// One run: a program at a rank count.
struct CJob: Sendable, CustomTestStringConvertible {
    let program: CProgram
    let ranks: Int
    var testDescription: String { "\(program.name) -n \(ranks)" }
}

enum CHarness {
    /// <package root>, from #filePath = <root>/Tests/FerryCTests/CHarness.swift.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binDir: URL {
        if let d = ProcessInfo.processInfo.environment["FERRY_BIN_DIR"], !d.isEmpty {
            return URL(fileURLWithPath: d)
        }
        return root.appendingPathComponent(".build/debug")
    }

    /// Debian's MPICH compiler wrapper (package libmpich-dev), used for the drop-in case.
    static let mpichCompiler = "/usr/bin/mpicc.mpich"
    static var mpichAvailable: Bool { FileManager.default.isExecutableFile(atPath: mpichCompiler) }
    static let mpichMissing = "mpicc.mpich is not installed (apt-get install libmpich-dev mpich; scripts/test does it)"

    /// Every tests/c/**/*.c, sorted by name. Headers and other files are ignored.
    static let programs: [CProgram] = {
        let base = root.appendingPathComponent("tests/c")
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return [] }
        var found: [CProgram] = []
        for case let relative as String in walker where relative.hasSuffix(".c") {
            let path = base.appendingPathComponent(relative).path
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let literals = Set(text.matches(of: /"([A-Za-z0-9_.\-]+)"/).map { String($0.1) })
            found.append(CProgram(source: path, name: String(relative.dropLast(2)),
                                  ranks: CProgram.declaredRanks(text) ?? [1, 2, 4], literals: literals))
        }
        return found.sorted { $0.name < $1.name }
    }()

    /// Every program at each of its rank counts.
    static let jobs: [CJob] = programs.flatMap { p in p.ranks.map { CJob(program: p, ranks: $0) } }

    /// The subset built a second time with `ferry cc` and run: the first program of each group
    /// (p2p, comm, coll, rma, ...) at its largest rank count up to 4.
    static let ferryCCJobs: [CJob] = {
        var seen = Set<String>()
        var jobs: [CJob] = []
        for p in programs where !seen.contains(p.group) {
            seen.insert(p.group)
            jobs.append(CJob(program: p, ranks: p.ranks.filter { $0 <= 4 }.max() ?? p.ranks.min() ?? 2))
        }
        return jobs
    }()

    /// This process's scratch directory (binaries, the prefix); stale ones of dead test
    /// processes are removed the first time.
    static let workDirectory: URL = {
        let tmp = FileManager.default.temporaryDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? []
        where name.hasPrefix("ferry-ctests-") {
            if let pid = Int32(name.dropFirst("ferry-ctests-".count)), kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(at: tmp.appendingPathComponent(name))
            }
        }
        let dir = tmp.appendingPathComponent("ferry-ctests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Nil when the build holds ferry and libmpi.so, otherwise what to do about it.
    static var missingBuild: String? {
        let missing = ["ferry", "libmpi.so"].map { binDir.appendingPathComponent($0).path }
            .filter { !FileManager.default.fileExists(atPath: $0) }
        if missing.isEmpty { return nil }
        return "missing \(missing.joined(separator: ", ")); build with `swift build --product ferry` and "
            + "`swift build --product mpi`, or set FERRY_BIN_DIR to the directory that holds them"
    }

    /// The install layout (made once by scripts/install --symlink from the build), or nil
    /// after recording why not.
    static func prefix() -> URL? {
        if let missing = missingBuild { Issue.record(Comment(rawValue: missing)); return nil }
        switch installedPrefix {
        case .success(let url): return url
        case .failure(let error): Issue.record(Comment(rawValue: error.text)); return nil
        }
    }

    struct Failure: Error { let text: String }

    private static let installedPrefix: Result<URL, Failure> = {
        let prefix = workDirectory.appendingPathComponent("prefix")
        do {
            let o = try run(root.appendingPathComponent("scripts/install").path,
                            ["--bin-dir", binDir.path, "--symlink", prefix.path], bound: 60)
            guard o.status == 0 else { return .failure(Failure(text: "scripts/install failed: \(o.summary)")) }
            return .success(prefix)
        } catch {
            return .failure(Failure(text: "scripts/install did not start: \(error)"))
        }
    }()

    enum Compiler: String, Sendable { case mpich, ferry }

    /// Compiled binaries by "<compiler>/<program>": built once per test process.
    private static let built = Locked<[String: Result<URL, Failure>]>([:])

    /// The binary of `program` built by `compiler`, compiling it the first time.
    static func binary(_ program: CProgram, _ compiler: Compiler, prefix: URL) -> Result<URL, Failure> {
        let key = "\(compiler.rawValue)/\(program.name)"
        if let done = built.withLock({ $0[key] }) { return done }
        let output = workDirectory.appendingPathComponent(compiler.rawValue)
            .appendingPathComponent(program.name.replacingOccurrences(of: "/", with: "__"))
        try? FileManager.default.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tool = compiler == .mpich ? mpichCompiler : prefix.appendingPathComponent("bin/ferry").path
        let arguments = (compiler == .mpich ? [] : ["cc"]) + ["-O1", "-g", "-o", output.path, program.source, "-lm"]
        let result: Result<URL, Failure>
        do {
            let o = try run(tool, arguments, bound: 120)
            result = o.status == 0 ? .success(output)
                : .failure(Failure(text: "\(tool) \(arguments.joined(separator: " ")) failed: \(o.summary)"))
        } catch {
            result = .failure(Failure(text: "\(tool) did not start: \(error)"))
        }
        built.withLock { $0[key] = result }
        return result
    }

    struct Outcome: Sendable {
        var status: Int32          // exit status, or 128 + signal
        var stdout: String
        var stderr: String
        var seconds: Double
        var timedOut: Bool
        var summary: String {
            "exit \(status)\(timedOut ? " (TIMED OUT)" : "") after \(String(format: "%.1f", seconds)) s\n"
                + "--- stdout\n\(Self.tail(stdout))--- stderr\n\(Self.tail(stderr))"
        }
        /// The last 25 lines (failing programs can print thousands).
        static func tail(_ text: String, lines: Int = 25) -> String {
            let all = text.split(separator: "\n", omittingEmptySubsequences: false)
            guard all.count > lines + 1 else { return text }
            return "[\(all.count - lines - 1) lines cut]\n" + all.suffix(lines + 1).joined(separator: "\n")
        }
    }

    /// `ferry run -n ranks --timeout <bound - 10> binary` with LD_LIBRARY_PATH=<prefix>/lib.
    static func runProgram(_ binary: URL, ranks: Int, prefix: URL, bound: Double = 70) throws -> Outcome {
        let ferry = prefix.appendingPathComponent("bin/ferry").path
        return try run(ferry, ["run", "-n", "\(ranks)", "--timeout", "\(Int(bound) - 10)", binary.path],
                       environment: ["LD_LIBRARY_PATH": prefix.appendingPathComponent("lib").path],
                       directory: workDirectory, bound: bound)
    }

    /// Runs `tool arguments` with stdin from /dev/null; after `bound` seconds it gets SIGTERM,
    /// then SIGKILL (by its pid). Output goes through files, so a full pipe never blocks it.
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: URL? = nil, bound: Double) throws -> Outcome {
        let dir = workDirectory.appendingPathComponent("run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { p.currentDirectoryURL = directory }
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let start = Date()
        try p.run()
        let pid = p.processIdentifier
        var timedOut = false
        while p.isRunning {
            if Date().timeIntervalSince(start) > bound {
                timedOut = true
                kill(pid, SIGTERM)
                let grace = Date()
                while p.isRunning && Date().timeIntervalSince(grace) < 3 { usleep(20_000) }
                if p.isRunning { kill(pid, SIGKILL) }
                break
            }
            usleep(10_000)
        }
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        try? out.close(); try? err.close()
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return Outcome(status: status,
                       stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
                       seconds: seconds, timedOut: timedOut)
    }

    /// The "<name>: OK" lines of a run that `program` may print.
    static func okLines(_ stdout: String, of program: CProgram) -> [String] {
        stdout.split(separator: "\n").map(String.init).filter { line in
            guard line.hasSuffix(": OK") else { return false }
            let name = String(line.dropLast(4))
            return name == program.stem || program.literals.contains(name)
        }
    }
}

/// A value behind a lock (the suite is serialized, but the static caches must still be Sendable).
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
