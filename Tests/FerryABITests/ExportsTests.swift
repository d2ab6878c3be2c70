// Checks the built libmpi.so against our header: every function that mpi.h and mpio.h
// declare is exported under its MPI_ and its PMPI_ name, by a real implementation (not by a
// weak placeholder of Sources/CMPI/pending.c), with the objects the header declares extern;
// and the library carries the MPICH soname and does not pull in Foundation.
//
// Builds nothing: the library comes from FERRY_BIN_DIR if set, else <package>/.build/debug
// (`swift build --product mpi`).
import Foundation
import Testing

enum Library {
    /// <package root>, from #filePath = <root>/Tests/FerryABITests/ExportsTests.swift.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binDir: URL {
        if let dir = ProcessInfo.processInfo.environment["FERRY_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return root.appendingPathComponent(".build/debug")
    }

    /// libmpi.so, or nil after recording how to get it.
    static func path() -> String? {
        let lib = binDir.appendingPathComponent("libmpi.so").path
        if FileManager.default.fileExists(atPath: lib) { return lib }
        Issue.record("missing \(lib): build it with `swift build --product mpi`, or set FERRY_BIN_DIR")
        return nil
    }

    static let headers = ["Sources/CMPI/include/mpi.h", "Sources/CMPI/include/mpio.h"]
        .map { root.appendingPathComponent($0).path }

    /// Runs a tool and returns its standard output (standard error is left to the console).
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(tool) \(arguments.joined(separator: " ")) failed")
        return String(decoding: data, as: UTF8.self)
    }
}

/// What the headers declare: functions (MPI_X; each has a PMPI_X twin) and other symbols the
/// library must define (extern objects, and functions outside the MPI_ namespace).
struct Declarations {
    var functions: [String] = []
    var otherSymbols: [String] = []

    init(headers: [String]) throws {
        for path in headers {
            var text = try String(contentsOfFile: path, encoding: .utf8)
            // Comments and preprocessor lines out; then one declaration per statement.
            text = text.replacing(/\/\*(.|\n)*?\*\//, with: " ")
            text = text.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
                .joined(separator: "\n")
            for statement in text.split(whereSeparator: { ";{}".contains($0) }) {
                let s = statement.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                if s.hasPrefix("typedef") || s.contains("\"") { continue } // typedefs, extern "C"
                if let m = s.wholeMatch(of: /(?:extern )?[A-Za-z_][\w ]*?\**\s*\b(\w+)\s*\(.*\)/) {
                    let name = String(m.1)
                    if name.hasPrefix("MPI_") { functions.append(name) }
                    else if !name.hasPrefix("PMPI_") { otherSymbols.append(name) }
                } else if let m = s.wholeMatch(of: /extern [^()]*?\b(\w+)/) {
                    otherSymbols.append(String(m.1))
                }
            }
        }
    }
}

/// `nm -D --defined-only`: symbol name -> type letter (T text, W weak, D/B/R data).
func exportedSymbols(_ library: String) throws -> [String: Character] {
    var symbols: [String: Character] = [:]
    for line in try Library.run("nm", ["-D", "--defined-only", library]).split(separator: "\n") {
        let fields = line.split(separator: " ")
        guard fields.count >= 3, let kind = fields[1].first else { continue }
        symbols[String(fields[2])] = kind
    }
    return symbols
}

@Suite("libmpi exports")
struct ExportsTests {
    @Test("the header declares the whole MPI 3.1 C interface (417 functions) and its extern objects")
    func headerCoverage() throws {
        let declared = try Declarations(headers: Library.headers)
        #expect(declared.functions.count == 417)
        #expect(Set(declared.functions).count == declared.functions.count)
        for name in ["MPI_Send", "MPI_Ineighbor_alltoallw", "MPI_File_iwrite_at_all", "MPI_T_category_changed",
                     "MPI_Aint_diff", "MPI_Comm_c2f", "MPI_Type_struct", "MPI_Pcontrol"] {
            #expect(declared.functions.contains(name), "\(name) not declared")
        }
        for mpi4 in ["MPI_Isendrecv", "MPI_Session_init", "MPI_Send_c", "MPI_Bcast_init", "MPI_Psend_init"] {
            #expect(!declared.functions.contains(mpi4), "\(mpi4) is MPI 4: not ours to declare")
        }
        #expect(Set(declared.otherSymbols) == ["MPI_UNWEIGHTED", "MPI_WEIGHTS_EMPTY", "MPI_F_STATUS_IGNORE",
                                                "MPI_F_STATUSES_IGNORE", "MPIR_Dup_fn", "MPI_T_PVAR_ALL_HANDLES"])
    }

    @Test("every declared function is exported as MPI_X and PMPI_X, none by a pending placeholder")
    func everyFunctionExported() throws {
        guard let library = Library.path() else { return }
        let declared = try Declarations(headers: Library.headers)
        let symbols = try exportedSymbols(library)
        var missing: [String] = [], placeholders: [String] = []
        for name in declared.functions {
            for symbol in [name, "P" + name] {
                switch symbols[symbol] {
                case nil: missing.append(symbol)
                case "W": placeholders.append(symbol) // pending.c: declared, not implemented
                default: break
                }
            }
        }
        let missingObjects = declared.otherSymbols.filter { symbols[$0] == nil }
        #expect(missing.isEmpty, "\(missing.count) not exported: \(missing.joined(separator: " "))")
        let pending = "\(placeholders.count) only exported by the weak placeholders of Sources/CMPI/pending.c "
            + "(not implemented yet): \(placeholders.joined(separator: " "))"
        #expect(placeholders.isEmpty, Comment(rawValue: pending))
        #expect(missingObjects.isEmpty, "not exported: \(missingObjects.joined(separator: " "))")
    }

    @Test("soname libmpi.so.12, and no Foundation among the needed libraries")
    func sonameAndDependencies() throws {
        guard let library = Library.path() else { return }
        let dynamic = try Library.run("readelf", ["-d", library])
        #expect(dynamic.contains("Library soname: [libmpi.so.12]"), "\(dynamic)")
        let needed = dynamic.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        #expect(!needed.isEmpty)
        #expect(!needed.contains { $0.contains("Foundation") }, "\(needed.joined(separator: "\n"))")
    }

    @Test("Sources/CMPI/entry_points.c is what scripts/gen-entry-points makes of the headers")
    func entryPointsCurrent() throws {
        let script = Library.root.appendingPathComponent("scripts/gen-entry-points").path
        let out = try Library.run("python3", [script, "--check"])
        #expect(out.contains("up to date"))
    }
}
