// `ferry info`: what this installation is and how it is tuned, one `key: value` item per line
// (plain text, for people and for `grep`): version, the MPI version the header claims, where
// the header and the library are, the transports, whether single copy works here, and every
// tunable of `Tunables.descriptions` with its value in force. Called by FerryCommand.
import CFerryShims
import FerryCore
import FerryTCP
#if canImport(Glibc)
import Glibc
#endif

enum InfoCommand {
    static func main(_ arguments: [String]) -> Int32 {
        if let first = arguments.first {
            if first == "-h" || first == "--help" {
                POSIX.writeAll(1, "usage: ferry info\n\nPrints the version, the MPI version claimed, the header and library paths,\n"
                    + "the transports and every tunable (FERRY_*) with its current value.\n")
                return 0
            }
            POSIX.writeAll(2, "ferry info: unexpected argument '\(first)'\n")
            return 2
        }
        POSIX.writeAll(1, lines().joined(separator: "\n") + "\n")
        return 0
    }

    /// The report, one item per line.
    static func lines() -> [String] {
        var out = ["ferry version: \(ferryVersion)"]
        switch InstallLayout.locate() {
        case .success(let layout):
            out.append("prefix: \(layout.prefix ?? "(build tree)")")
            out.append("header: \(layout.header)")
            if let (version, subversion) = claimedMPIVersion(headerText: Files.readText(layout.header) ?? "") {
                out.append("MPI version claimed: \(version).\(subversion)")
            } else {
                out.append("MPI version claimed: unknown (no MPI_VERSION/MPI_SUBVERSION in the header)")
            }
            // The build tree holds libmpi.so; an installation holds libmpi.so.12 and its links.
            let library = Files.exists(layout.library) ? layout.library : layout.libraryDirectory + "/libmpi.so"
            out.append("library: \(library)\(Files.exists(library) ? "" : " (missing)")")
            out.append("compiler wrappers: mpicc, mpicxx (ferry cc, ferry c++)")
        case .failure(let error):
            out.append("prefix: unknown (\(error.message))")
        }
        out.append("transports: self shm tcp")
        out.append("single copy: " + singleCopyReport())
        // The TCP transport's two settings (strings, not integers: checked by their own parser).
        let lookup: (String) -> String? = { name in getenv(name).map { String(cString: $0) } }
        var tcpProblem: String? = nil
        do throws(MPIError) { _ = try TCPTransportOptions.fromEnvironment(lookup) } catch { tcpProblem = error.detail }
        for (name, fallback, accepted, meaning) in [
            ("FERRY_TCP_IF", "automatic", "interface names or IPv4 subnets (a.b.c.d/n), comma-separated",
             "interfaces the TCP transport between nodes uses; automatic: every up, non-loopback IPv4 interface"),
            ("FERRY_CONNECT_TIMEOUT", "30", "seconds, a positive number",
             "time to reach every peer on another node before MPI_Init fails naming them"),
        ] {
            let set = lookup(name)
            let value = set.map { v in tcpProblem.map { $0.contains(name) ? "INVALID (\($0))" : v } ?? v } ?? fallback
            out.append("\(name): \(value) (\(set != nil ? "from the environment; " : "")default \(fallback); \(accepted)) -- \(meaning)")
        }
        let effective = (try? Tunables.fromEnvironment()).map(effectiveValues) ?? [:]
        for d in Tunables.descriptions {
            let source = getenv(d.variable) != nil ? "from the environment; " : ""
            let value: String
            do throws(MPIError) {
                let raw = try Tunables.value(d.variable, in: Tunables.processEnvironment)
                value = "\(effective[d.variable] ?? raw)"
            } catch {
                value = "INVALID (\(error.detail))"
            }
            out.append("\(d.variable): \(value) (\(source)default \(d.defaultValue); \(d.accepted)) -- \(d.meaning)")
        }
        return out
    }

    /// `(3, 1)` from the `#define MPI_VERSION 3` and `#define MPI_SUBVERSION 1` lines of `mpi.h`.
    static func claimedMPIVersion(headerText: String) -> (Int, Int)? {
        var version: Int?, subversion: Int?
        for line in headerText.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 3, words[0] == "#define" else { continue }
            let value = Int(words[2].trimmingParentheses())
            if words[1] == "MPI_VERSION" { version = value }
            if words[1] == "MPI_SUBVERSION" { subversion = value }
        }
        guard let version, let subversion else { return nil }
        return (version, subversion)
    }

    /// The clamped values `Tunables.fromEnvironment` puts in force, by variable. A tunable added
    /// later without an entry here is shown with its raw (unclamped) value.
    static func effectiveValues(_ t: Tunables) -> [String: Int] {
        [
            "FERRY_SHM_CELL_BYTES": t.shmCellBytes, "FERRY_SHM_RING_CELLS": t.shmRingCells,
            "FERRY_EAGER_LIMIT": t.eagerLimitBytes, "FERRY_PIPELINE_CHUNK": t.pipelineChunkBytes,
            "FERRY_SINGLE_COPY": t.singleCopy, "FERRY_SPINS_BEFORE_YIELD": t.spinsBeforeYield,
            "FERRY_YIELDS_BEFORE_BLOCK": t.yieldsBeforeBlock, "FERRY_BUSY_POLL": t.busyPoll,
        ]
    }

    /// Probes process_vm_readv on this process, and reads the Yama ptrace policy that decides
    /// whether ranks (siblings, which allow any tracer with PR_SET_PTRACER) may read each other.
    static func singleCopyReport() -> String {
        var source: UInt64 = 0x4665_7272_7949_6e66
        var target: UInt64 = 0
        let got = withUnsafeMutablePointer(to: &source) { s in
            withUnsafeMutablePointer(to: &target) { t in
                ferry_vm_read(getpid(), t, 8, UInt64(UInt(bitPattern: s)))
            }
        }
        guard got == 8 && target == source else {
            let reason = got < 0 ? String(cString: strerror(Int32(-got))) : "short read (\(got) bytes)"
            return "unavailable (process_vm_readv on this process: \(reason)); large messages use the pipelined copy"
        }
        let scope = Files.readText("/proc/sys/kernel/yama/ptrace_scope").flatMap {
            Int($0.split(separator: "\n").first.map(String.init) ?? "")
        }
        switch scope {
        case nil, 0?, 1?:
            let policy = scope.map { "Yama ptrace_scope \($0)" } ?? "no Yama policy"
            return "available (process_vm_readv works; \(policy): ranks may read each other)"
        case let s?:
            return "probably unavailable between ranks (process_vm_readv works on this process, "
                + "but Yama ptrace_scope \(s) forbids reading other processes)"
        }
    }
}

extension Substring {
    fileprivate func trimmingParentheses() -> Substring {
        var s = self
        while s.first == "(" { s = s.dropFirst() }
        while s.last == ")" { s = s.dropLast() }
        return s
    }
}
