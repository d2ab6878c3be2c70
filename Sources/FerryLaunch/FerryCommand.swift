// The `ferry` command line: picks a subcommand and runs it. Invoked as `mpiexec` or `mpirun`
// (symlinks to `ferry`), it behaves as `ferry run`; as `mpicc` or `mpicxx`, as `ferry cc` or
// `ferry c++`. Called by Sources/ferry/main.swift.
//
// Extension point: a new subcommand (`ferry cc`, `ferry info`) is one more entry in
// `FerryCommand.subcommands` with a `main(_ arguments: [String]) -> Int32` of its own.

/// Ferry's version, as `ferry version` prints it.
public let ferryVersion = "0.1.0"

/// Entry point of the `ferry` executable.
public enum FerryCommand {
    /// One subcommand: its name, one line of help, and its entry point.
    struct Subcommand: Sendable {
        let name: String
        let summary: String
        let main: @Sendable ([String]) -> Int32
    }

    static let subcommands: [Subcommand] = [
        Subcommand(name: "run", summary: "start an MPI job on this node or on several hosts (also: mpiexec, mpirun)",
                   main: RunCommand.main),
        Subcommand(name: "cc", summary: "compile and link a C program with Ferry's mpi.h and libmpi (also: mpicc)",
                   main: { CompileCommand.main(.c, $0) }),
        Subcommand(name: "c++", summary: "the same for C++ (also: mpicxx)", main: { CompileCommand.main(.cxx, $0) }),
        Subcommand(name: "proxy", summary: "one host's part of a multi-node job (started by 'ferry run')",
                   main: ProxyCommand.main),
        Subcommand(name: "info", summary: "print the version, paths, transports and tunables", main: InfoCommand.main),
        Subcommand(name: "version", summary: "print the version", main: { _ in
            POSIX.writeAll(1, "ferry \(ferryVersion)\n")
            return 0
        }),
        Subcommand(name: "help", summary: "show this help", main: { _ in
            POSIX.writeAll(1, usage)
            return 0
        }),
    ]

    static var usage: String {
        let lines = subcommands.map { "  " + $0.name.padding(8) + $0.summary }
        return "usage: ferry <command> [arguments...]\n\ncommands:\n" + lines.joined(separator: "\n")
            + "\n\nRun 'ferry run --help' for the options of 'ferry run'.\n"
    }

    /// Runs the command line `argv` (including argv[0]) and returns the exit status.
    public static func main(_ argv: [String]) -> Int32 {
        let invokedAs = argv.first.map { String($0.split(separator: "/").last ?? "") } ?? "ferry"
        let rest = Array(argv.dropFirst())
        if invokedAs == "mpiexec" || invokedAs == "mpirun" { return RunCommand.main(rest) }
        if invokedAs == "mpicc" { return CompileCommand.main(.c, rest) }
        if invokedAs == "mpicxx" || invokedAs == "mpic++" || invokedAs == "mpiCC" { return CompileCommand.main(.cxx, rest) }
        guard let name = rest.first else {
            POSIX.writeAll(1, usage)
            return 0
        }
        if name == "-h" || name == "--help" {
            POSIX.writeAll(1, usage)
            return 0
        }
        if name == "--version" || name == "-V" { return main([argv.first ?? "ferry", "version"]) }
        guard let command = subcommands.first(where: { $0.name == name }) else {
            POSIX.writeAll(2, "ferry: unknown command '\(name)'\n\n" + usage)
            return 2
        }
        return command.main(Array(rest.dropFirst()))
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
