// Runs the `mpitests` program under the `ferry` launcher and reports what happened.
//
// Where the binaries come from: the directory named by the environment variable
// FERRY_BIN_DIR if set (for example `FERRY_BIN_DIR=$PWD/.build-it/debug` when building with
// `--scratch-path .build-it`), otherwise `<package root>/.build/debug`. Build them first:
//     swift build --product mpitests && swift build --product ferry
// Every run has a hard time bound: past it the launcher gets SIGTERM (which it relays to
// the ranks), then SIGKILL, so no test leaves processes behind.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

enum Harness {
    /// Directory holding `ferry` and `mpitests`.
    static var binDir: URL {
        if let d = ProcessInfo.processInfo.environment["FERRY_BIN_DIR"], !d.isEmpty {
            return URL(fileURLWithPath: d)
        }
        // #filePath = <root>/Tests/FerryIntegrationTests/Harness.swift
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug")
    }

    static var ferry: URL { binDir.appendingPathComponent("ferry") }
    static var mpitests: URL { binDir.appendingPathComponent("mpitests") }

    /// Nil when both binaries exist, otherwise what to do about it.
    static var missingBinaries: String? {
        let fm = FileManager.default
        let missing = [ferry, mpitests].filter { !fm.isExecutableFile(atPath: $0.path) }
        if missing.isEmpty { return nil }
        return "missing \(missing.map(\.path).joined(separator: ", ")); build with `swift build --product mpitests --product ferry` "
            + "or set FERRY_BIN_DIR to the directory that holds them"
    }

    struct Outcome: Sendable {
        var status: Int32          // exit status, or 128 + signal
        var stdout: String
        var stderr: String
        var seconds: Double
        var timedOut: Bool
        var launcherPID: Int32
        var summary: String { "exit \(status)\(timedOut ? " (TIMED OUT)" : "") after \(String(format: "%.1f", seconds)) s\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
    }

    /// `ferry run -n <ranks> --timeout <launcherTimeout> mpitests <name>`, killed after `bound` seconds.
    /// Runs `ferry run -n ranks <program> [name]`; `program` defaults to `mpitests`, whose
    /// subcommand is `name`. Other programs (the Swift API test, the examples) take no argument.
    /// `hosts`: `--hosts hosts --launch-exec "ip netns exec {host}"` (ranks in network namespaces).
    static func run(_ name: String, ranks: Int, program: String = "mpitests", environment: [String: String] = [:],
                    hosts: String? = nil, launcherTimeout: Int = 120, bound: Double = 150) throws -> Outcome {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-it-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = ferry
        let env = environment.sorted { $0.key < $1.key }.flatMap { ["-genv", $0.key, $0.value] }
        p.arguments = ["run", "-n", "\(ranks)", "--timeout", "\(launcherTimeout)"] + env
            + (hosts.map { ["--hosts", $0, "--launch-exec", "ip netns exec {host}"] } ?? [])
            + (program == "mpitests" ? [mpitests.path, name] : [binDir.appendingPathComponent(program).path])
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
                       seconds: seconds, timedOut: timedOut, launcherPID: pid)
    }

    /// Names of /dev/shm entries that start with `prefix`.
    static func shmEntries(prefix: String = "ferry-") -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []
        return Set(names.filter { $0.hasPrefix(prefix) })
    }
}
