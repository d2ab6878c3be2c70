// The tools around libmpi, driven as a user drives them from an install layout made by
// scripts/install: the compiler wrappers (`ferry cc`, `mpicc`, `mpicxx`: flags, -show forms,
// compiler overrides, exit status, rpath), the layout itself, and `ferry info`.
import Foundation
import Testing

extension FerryCTests {
@Suite("Compiler wrappers and ferry info")
struct ToolTests {
    /// Runs `<prefix>/bin/<tool> arguments` and returns the outcome.
    private func tool(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                      prefix: URL) throws -> CHarness.Outcome {
        try CHarness.run(prefix.appendingPathComponent("bin/\(name)").path, arguments,
                         environment: environment, directory: CHarness.workDirectory, bound: 60)
    }

    private func words(_ text: String) -> [String] {
        text.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    @Test("install layout: bin aliases, libmpi.so.12 with its links, headers")
    func layout() throws {
        guard let prefix = CHarness.prefix() else { return }
        let fm = FileManager.default
        for name in ["bin/ferry", "bin/mpiexec", "bin/mpirun", "bin/mpicc", "bin/mpicxx",
                     "lib/libmpi.so.12", "lib/libmpi.so", "lib/libmpich.so.12", "lib/libmpich.so",
                     "include/mpi.h", "include/mpio.h"] {
            #expect(fm.fileExists(atPath: prefix.appendingPathComponent(name).path), "\(name) missing in the layout")
        }
        for alias in ["libmpi.so", "libmpich.so.12", "libmpich.so"] {
            let target = try? fm.destinationOfSymbolicLink(atPath: prefix.appendingPathComponent("lib/\(alias)").path)
            #expect(target == "libmpi.so.12", "lib/\(alias) -> \(target ?? "nil")")
        }
    }

    @Test("ferry cc -show: compiler, -I<prefix>/include, then the user's words, then -L, rpath, -lmpi")
    func showLinking() throws {
        guard let prefix = CHarness.prefix() else { return }
        let o = try tool("ferry", ["cc", "-show", "x.c", "-o", "x"], environment: ["FERRY_CC": "", "MPICH_CC": "", "OMPI_CC": ""], prefix: prefix)
        #expect(o.status == 0, "\(o.summary)")
        let lib = prefix.appendingPathComponent("lib").path
        #expect(words(o.stdout) == ["cc", "-I" + prefix.appendingPathComponent("include").path, "x.c", "-o", "x",
                                    "-L" + lib, "-Wl,-rpath," + lib, "-lmpi"], "\(o.stdout)")
    }

    @Test("mpicc (argv[0]) -show -c, -E, -S, -M: no link flags")
    func showCompileOnly() throws {
        guard let prefix = CHarness.prefix() else { return }
        for flag in ["-c", "-E", "-S", "-M"] {
            let o = try tool("mpicc", ["-show", flag, "x.c"], prefix: prefix)
            #expect(o.status == 0, "\(o.summary)")
            #expect(!words(o.stdout).contains("-lmpi"), "\(flag): \(o.stdout)")
            #expect(words(o.stdout).contains(flag), "\(flag): \(o.stdout)")
        }
    }

    @Test("compiler choice: FERRY_CC over MPICH_CC over OMPI_CC over cc; mpicxx uses c++ and *_CXX")
    func compilerOverrides() throws {
        guard let prefix = CHarness.prefix() else { return }
        let cases: [(String, [String: String], String)] = [
            ("mpicc", ["OMPI_CC": "clang", "MPICH_CC": "", "FERRY_CC": ""], "clang"),
            ("mpicc", ["OMPI_CC": "clang", "MPICH_CC": "gcc-12", "FERRY_CC": ""], "gcc-12"),
            ("mpicc", ["OMPI_CC": "clang", "MPICH_CC": "gcc-12", "FERRY_CC": "tcc"], "tcc"),
            ("mpicxx", ["FERRY_CXX": "", "MPICH_CXX": "", "OMPI_CXX": "", "FERRY_CC": "tcc"], "c++"),
            ("mpicxx", ["FERRY_CXX": "", "MPICH_CXX": "g++-12", "OMPI_CXX": ""], "g++-12"),
        ]
        for (name, environment, expected) in cases {
            let o = try tool(name, ["-show", "x.c"], environment: environment, prefix: prefix)
            #expect(words(o.stdout).first == expected, "\(name) with \(environment): \(o.stdout)")
        }
        let multiword = try tool("mpicc", ["-show", "x.c"], environment: ["FERRY_CC": "ccache gcc"], prefix: prefix)
        #expect(Array(words(multiword.stdout).prefix(2)) == ["ccache", "gcc"], "\(multiword.stdout)")
    }

    @Test("-compile_info has no link flags, -link_info has them, -show-link-info is the flags alone")
    func infoForms() throws {
        guard let prefix = CHarness.prefix() else { return }
        let compile = try tool("mpicc", ["-compile_info"], environment: ["FERRY_CC": "cc"], prefix: prefix)
        #expect(words(compile.stdout) == ["cc", "-I" + prefix.appendingPathComponent("include").path], "\(compile.stdout)")
        let link = try tool("mpicc", ["-link_info"], environment: ["FERRY_CC": "cc"], prefix: prefix)
        #expect(words(link.stdout).first == "cc" && words(link.stdout).last == "-lmpi", "\(link.stdout)")
        let flags = try tool("mpicc", ["-show-link-info"], prefix: prefix)
        #expect(words(flags.stdout).first == "-L" + prefix.appendingPathComponent("lib").path, "\(flags.stdout)")
    }

    @Test("exit status is the compiler's; no arguments is an error")
    func exitStatus() throws {
        guard let prefix = CHarness.prefix() else { return }
        let broken = CHarness.workDirectory.appendingPathComponent("broken.c")
        try "int main(void) { return undeclared; }\n".write(to: broken, atomically: true, encoding: .utf8)
        let o = try tool("mpicc", ["-c", broken.path, "-o", "/dev/null"], prefix: prefix)
        #expect(o.status == 1, "\(o.summary)")
        #expect(o.stderr.contains("undeclared"), "\(o.summary)")
        let none = try tool("mpicc", [], prefix: prefix)
        #expect(none.status != 0)
        let missing = try tool("mpicc", ["x.c"], environment: ["FERRY_CC": "/nonexistent/cc"], prefix: prefix)
        #expect(missing.status == 127, "\(missing.summary)")
    }

    @Test("mpicc-built C and mpicxx-built C++ programs run without LD_LIBRARY_PATH (rpath)", .timeLimit(.minutes(2)))
    func rpathHello() throws {
        guard let prefix = CHarness.prefix() else { return }
        let source = CHarness.workDirectory.appendingPathComponent("hello.c")
        try """
            #include <mpi.h>
            #include <stdio.h>
            int main(int argc, char **argv) {
                int rank, size, sum = 0;
                MPI_Init(&argc, &argv);
                MPI_Comm_rank(MPI_COMM_WORLD, &rank);
                MPI_Comm_size(MPI_COMM_WORLD, &size);
                if (rank == 0) {
                    for (int r = 1; r < size; r++) { int v; MPI_Recv(&v, 1, MPI_INT, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE); sum += v; }
                    if (sum == size * (size - 1) / 2) printf("hello: OK\\n");
                } else {
                    MPI_Send(&rank, 1, MPI_INT, 0, 0, MPI_COMM_WORLD);
                }
                MPI_Finalize();
                return 0;
            }

            """.write(to: source, atomically: true, encoding: .utf8)
        for (wrapper, extra) in [("mpicc", [String]()), ("mpicxx", ["-x", "c++"])] {
            let binary = CHarness.workDirectory.appendingPathComponent("hello-\(wrapper)")
            let built = try tool(wrapper, extra + [source.path, "-o", binary.path], prefix: prefix)
            #expect(built.status == 0, "\(wrapper): \(built.summary)")
            guard built.status == 0 else { continue }
            let o = try CHarness.run(prefix.appendingPathComponent("bin/mpiexec").path,
                                     ["-n", "3", "--timeout", "50", binary.path],
                                     environment: ["LD_LIBRARY_PATH": ""], directory: CHarness.workDirectory, bound: 60)
            #expect(o.status == 0 && o.stdout.contains("hello: OK"), "\(wrapper)-built hello: \(o.summary)")
        }
    }

    @Test("ferry info: version, prefix, the header's MPI version, transports, every tunable")
    func info() throws {
        guard let prefix = CHarness.prefix() else { return }
        let o = try tool("ferry", ["info"], environment: ["FERRY_EAGER_LIMIT": "4096"], prefix: prefix)
        #expect(o.status == 0, "\(o.summary)")
        let lines = o.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("ferry version: ") })
        #expect(lines.contains("prefix: \(prefix.path)"), "\(o.stdout)")
        #expect(lines.contains("library: \(prefix.appendingPathComponent("lib/libmpi.so.12").path)"), "\(o.stdout)")
        #expect(lines.contains("transports: self shm tcp"), "\(o.stdout)")
        #expect(lines.contains { $0.hasPrefix("FERRY_TCP_IF: automatic (default automatic;") }, "\(o.stdout)")
        #expect(lines.contains { $0.hasPrefix("FERRY_CONNECT_TIMEOUT: 30 (default 30;") }, "\(o.stdout)")
        #expect(lines.contains { $0.hasPrefix("single copy: ") }, "\(o.stdout)")
        let header = try String(contentsOf: CHarness.root.appendingPathComponent("Sources/CMPI/include/mpi.h"), encoding: .utf8)
        if let v = header.firstMatch(of: /#define\s+MPI_VERSION\s+(\d+)/), let s = header.firstMatch(of: /#define\s+MPI_SUBVERSION\s+(\d+)/) {
            #expect(lines.contains("MPI version claimed: \(v.1).\(s.1)"), "\(o.stdout)")
        }
        // Every tunable declared in FerryCore appears with its value; a set one shows the set value.
        let tunables = try String(contentsOf: CHarness.root.appendingPathComponent("Sources/FerryCore/Tunables.swift"), encoding: .utf8)
        let names = tunables.matches(of: /variable: "(FERRY_[A-Z0-9_]+)"/).map { String($0.1) }
        #expect(!names.isEmpty)
        for name in names {
            #expect(lines.contains { $0.hasPrefix("\(name): ") }, "\(name) missing from ferry info")
        }
        #expect(lines.contains { $0.hasPrefix("FERRY_EAGER_LIMIT: 4096 (from the environment") }, "\(o.stdout)")
    }
}
}
