// `ferry cc` / `mpicc` and `ferry c++` / `mpicxx`: the compiler wrappers. They run the system C
// or C++ compiler with Ferry's `mpi.h` on the include path and, when the command links, Ferry's
// `libmpi` on the library path (with an rpath, so the program finds it without LD_LIBRARY_PATH).
// Also `InstallLayout`, which finds the header and the library from where `ferry` itself is;
// `ferry info` uses it too. Called by FerryCommand (subcommands `cc`, `c++`; argv[0] `mpicc`, `mpicxx`).
//
// The options the wrapper itself understands follow MPICH's (`-show`, `-compile_info`,
// `-link_info`, `-show-compile-info`, `-show-link-info`, `-cc=`, `-v`) and Open MPI's
// (`-showme`, `-showme:compile`, `-showme:link`); everything else goes to the compiler unchanged.
#if canImport(Glibc)
import Glibc
#endif

/// Where Ferry's `mpi.h` and `libmpi.so.12` are, found from the path of the running `ferry`.
///
/// Installed (`scripts/install PREFIX`): `PREFIX/bin/ferry` (or a symlink to it named `mpicc`, ...),
/// `PREFIX/include/mpi.h`, `PREFIX/lib/libmpi.so.12`. The prefix is the parent of the directory of
/// the executable, tried first as invoked (argv[0], so a prefix made of symlinks works) and then
/// as `/proc/self/exe` resolves it. `FERRY_PREFIX` in the environment overrides both.
///
/// Build tree (no install): `ferry` sits in `<package>/.build*/<configuration>/` next to
/// `libmpi.so`; the header is `<package>/Sources/CMPI/include/mpi.h`.
struct InstallLayout: Equatable {
    /// The installation prefix, or nil when running from the build tree.
    var prefix: String?
    /// Directory holding `mpi.h` (and `mpio.h`).
    var includeDirectory: String
    /// Directory holding `libmpi.so.12` (and, installed, the `libmpi.so` / `libmpich.so*` links).
    var libraryDirectory: String

    var header: String { includeDirectory + "/mpi.h" }

    /// The library a program linked by the wrapper loads at run time.
    var library: String { libraryDirectory + "/libmpi.so.12" }

    /// The layout for this process, or nil (with the reason) when neither an installation nor a
    /// build tree can be found around the executable.
    static func locate(argv0: String? = CommandLine.arguments.first,
                       environment: (String) -> String? = InstallLayout.environmentValue) -> Result<InstallLayout, LayoutError> {
        if let forced = environment("FERRY_PREFIX"), !forced.isEmpty {
            let layout = installed(prefix: forced)
            guard Files.exists(layout.header) else {
                return .failure(LayoutError(message: "FERRY_PREFIX=\(forced) has no include/mpi.h"))
            }
            return .success(layout)
        }
        var binDirectories: [String] = []
        if let argv0, let invoked = invokedPath(argv0, path: environment("PATH")) {
            binDirectories.append(Files.directory(of: invoked))
        }
        let executable = Files.readLink("/proc/self/exe")
        if let executable { binDirectories.append(Files.directory(of: executable)) }
        for bin in binDirectories {
            // All three, so that a directory of another MPI next to a `ferry` symlink is not taken.
            let layout = installed(prefix: Files.directory(of: bin))
            if Files.exists(layout.header) && Files.exists(layout.library) && Files.exists(bin + "/ferry") {
                return .success(layout)
            }
        }
        // Build tree: walk up from the real executable to the package root.
        if let executable {
            let bin = Files.directory(of: executable)
            var directory = bin
            while directory != "/" && !directory.isEmpty {
                let include = directory + "/Sources/CMPI/include"
                if Files.exists(directory + "/Package.swift") && Files.exists(include + "/mpi.h") {
                    return .success(InstallLayout(prefix: nil, includeDirectory: include, libraryDirectory: bin))
                }
                directory = Files.directory(of: directory)
            }
        }
        return .failure(LayoutError(message: "cannot find Ferry's mpi.h next to \(executable ?? argv0 ?? "ferry") "
            + "(expected PREFIX/bin/ferry with PREFIX/include/mpi.h, or a build tree); run scripts/install or set FERRY_PREFIX"))
    }

    static func installed(prefix: String) -> InstallLayout {
        let p = prefix.count > 1 && prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        return InstallLayout(prefix: p, includeDirectory: p + "/include", libraryDirectory: p + "/lib")
    }

    /// In the build tree the linker finds `libmpi.so`, but the program records the soname
    /// `libmpi.so.12`: make sure that name exists next to it (a symlink, created once).
    func ensureSonameLink() {
        guard prefix == nil else { return }
        let soname = libraryDirectory + "/libmpi.so.12"
        if !Files.exists(soname) && Files.exists(libraryDirectory + "/libmpi.so") {
            _ = symlink("libmpi.so", soname)
        }
    }

    /// The absolute path `argv0` was run as: as given (made absolute) when it contains a `/`,
    /// otherwise its first match in PATH. Symlinks are not resolved.
    static func invokedPath(_ argv0: String, path: String?) -> String? {
        if argv0.contains("/") { return Files.absolute(argv0) }
        guard let found = ProgramResolver.resolve(argv0, path: path) else { return nil }
        return Files.absolute(found)
    }

    static func environmentValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

struct LayoutError: Error {
    var message: String
}

/// Path helpers over plain syscalls (FerryLaunch does not use Foundation).
enum Files {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "/a/b" for "/a/b/c"; "/" for "/c"; "." for "c".
    static func directory(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        return slash == p.startIndex ? "/" : String(p[..<slash])
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return normalized(path) }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return normalized(cwd + "/" + path)
    }

    /// Removes `.` components, empty components and `x/..` pairs (textually: symlinks stay).
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func readText(_ path: String, limitBytes: Int = 1 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < limitBytes {
            switch POSIX.read(fd, into: &chunk) {
            case .data(let n): result.append(contentsOf: chunk[0..<n])
            case .wouldBlock, .endOfFile: return String(decoding: result, as: UTF8.self)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}

/// The compiler wrappers.
enum CompileCommand {
    enum Language: Sendable {
        case c, cxx

        var wrapperName: String { self == .c ? "mpicc" : "mpicxx" }
        var defaultCompiler: String { self == .c ? "cc" : "c++" }
        /// Environment variables naming the compiler, first match wins: Ferry's, MPICH's, Open MPI's.
        var compilerVariables: [String] {
            self == .c ? ["FERRY_CC", "MPICH_CC", "OMPI_CC"] : ["FERRY_CXX", "MPICH_CXX", "OMPI_CXX"]
        }
    }

    /// What the wrapper was asked to do with the command it builds.
    enum Mode: Equatable {
        /// Run the compiler.
        case run
        /// Print the command instead of running it (`-show`, `-showme`).
        case show
        /// Print the command without the link flags (`-compile_info`).
        case showCompileCommand
        /// Print the command with the link flags, linking or not (`-link_info`).
        case showLinkCommand
        /// Print only the flags the wrapper adds for compiling (`-show-compile-info`, `-showme:compile`).
        case showCompileFlags
        /// Print only the flags the wrapper adds for linking (`-show-link-info`, `-showme:link`).
        case showLinkFlags
        /// Print the wrapper's own help (`-help`).
        case help
    }

    /// The decoded command line of one wrapper invocation.
    struct Plan: Equatable {
        var mode: Mode = .run
        /// The compiler command (may be several words, e.g. "ccache gcc").
        var compiler: [String]
        /// The user's arguments minus the wrapper's own options.
        var arguments: [String] = []
        /// False for -c, -S, -E, -M, -MM (and `-v` alone): no link flags.
        var linking = true
        /// `-v` was given: print the wrapper's version line before running the compiler.
        var printVersion = false

        func compileFlags(_ layout: InstallLayout) -> [String] { ["-I" + layout.includeDirectory] }

        func linkFlags(_ layout: InstallLayout) -> [String] {
            ["-L" + layout.libraryDirectory, "-Wl,-rpath," + layout.libraryDirectory, "-lmpi"]
        }

        /// The full compiler command line. Ferry's include directory goes first, so a program
        /// built with another MPI's `-I` still gets Ferry's `mpi.h`; the libraries go last.
        func command(_ layout: InstallLayout, link: Bool) -> [String] {
            compiler + compileFlags(layout) + arguments + (link ? linkFlags(layout) : [])
        }
    }

    /// Splits the wrapper's options from the compiler's.
    static func plan(_ arguments: [String], language: Language, environment: (String) -> String?) -> Plan {
        var chosen: String?
        for variable in language.compilerVariables {
            if let value = environment(variable), !value.isEmpty { chosen = value; break }
        }
        var plan = Plan(compiler: words(chosen ?? language.defaultCompiler))
        for argument in arguments {
            switch argument {
            case "-show", "-showme": plan.mode = .show
            case "-compile_info", "-compile-info": plan.mode = .showCompileCommand
            case "-link_info", "-link-info": plan.mode = .showLinkCommand
            case "-show-compile-info", "-showme:compile", "-showme:incdirs": plan.mode = .showCompileFlags
            case "-show-link-info", "-showme:link", "-showme:libdirs", "-showme:libs": plan.mode = .showLinkFlags
            case "-help": plan.mode = .help
            case _ where argument.hasPrefix("-cc=") && language == .c:
                plan.compiler = words(String(argument.dropFirst(4)))
            case _ where argument.hasPrefix("-cxx=") && language == .cxx:
                plan.compiler = words(String(argument.dropFirst(5)))
            case "-c", "-S", "-E", "-M", "-MM":
                plan.linking = false
                plan.arguments.append(argument)
            case "-v":
                plan.printVersion = true
                plan.arguments.append(argument)
            default:
                plan.arguments.append(argument)
            }
        }
        // `mpicc -v` alone asks for versions: the compiler's, without linking.
        if plan.arguments == ["-v"] { plan.linking = false }
        return plan
    }

    /// Entry point: `arguments` excludes the command name.
    static func main(_ language: Language, _ arguments: [String]) -> Int32 {
        let name = language.wrapperName
        if arguments.isEmpty {
            POSIX.writeAll(2, "\(name): no arguments (try '\(name) -help')\n")
            return 1
        }
        // FERRY_CC=mpicc would call us forever; one level is all a wrapper ever needs.
        if getenv("FERRY_WRAPPER_ACTIVE") != nil {
            POSIX.writeAll(2, "\(name): called recursively: the compiler named by "
                + "\(language.compilerVariables.joined(separator: "/")) must not be a Ferry wrapper\n")
            return 1
        }
        let plan = plan(arguments, language: language, environment: InstallLayout.environmentValue)
        if plan.mode == .help {
            POSIX.writeAll(1, help(language))
            return 0
        }
        let layout: InstallLayout
        switch InstallLayout.locate() {
        case .success(let found): layout = found
        case .failure(let error):
            POSIX.writeAll(2, "\(name): \(error.message)\n")
            return 1
        }
        switch plan.mode {
        case .help: return 0
        case .show:
            POSIX.writeAll(1, shellLine(plan.command(layout, link: plan.linking)) + "\n")
            return 0
        case .showCompileCommand:
            POSIX.writeAll(1, shellLine(plan.command(layout, link: false)) + "\n")
            return 0
        case .showLinkCommand:
            POSIX.writeAll(1, shellLine(plan.command(layout, link: true)) + "\n")
            return 0
        case .showCompileFlags:
            POSIX.writeAll(1, shellLine(plan.compileFlags(layout)) + "\n")
            return 0
        case .showLinkFlags:
            POSIX.writeAll(1, shellLine(plan.linkFlags(layout)) + "\n")
            return 0
        case .run:
            break
        }
        if plan.printVersion { POSIX.writeAll(1, "\(name) for Ferry version \(ferryVersion)\n") }
        if plan.linking { layout.ensureSonameLink() }
        return execute(plan.command(layout, link: plan.linking), name: name)
    }

    /// Replaces this process with the compiler, so its exit status is the wrapper's.
    static func execute(_ command: [String], name: String) -> Int32 {
        guard let program = command.first, !program.isEmpty else {
            POSIX.writeAll(2, "\(name): empty compiler command\n")
            return 1
        }
        setenv("FERRY_WRAPPER_ACTIVE", "1", 1)
        var cArguments: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) }
        cArguments.append(nil)
        execvp(program, &cArguments)
        let reason = String(cString: strerror(errno))
        POSIX.writeAll(2, "\(name): cannot run '\(program)': \(reason)\n")
        for pointer in cArguments { free(pointer) }
        return 127
    }

    /// `words("ccache gcc")` == ["ccache", "gcc"]: compiler variables may hold a command.
    static func words(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// The command as one shell line, single-quoting words a shell would split or expand.
    static func shellLine(_ words: [String]) -> String {
        words.map { word -> String in
            let plain = !word.isEmpty && word.allSatisfy { c in
                c.isLetter || c.isNumber || "-_./=+,:@%".contains(c)
            }
            return plain ? word : "'" + word.replacingAll("'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }

    static func help(_ language: Language) -> String {
        let name = language.wrapperName
        let variables = language.compilerVariables.joined(separator: ", ")
        return """
            usage: \(name) [wrapper options] [compiler arguments...]

            Runs the \(language == .c ? "C" : "C++") compiler with Ferry's mpi.h and, when linking, libmpi.
            The compiler is '\(language.defaultCompiler)' unless \(variables) (first set wins) names another.

            wrapper options:
              -show, -showme         print the compiler command instead of running it
              -compile_info          print the command without the link flags
              -link_info             print the command with the link flags
              -show-compile-info     print only the flags added for compiling (also -showme:compile)
              -show-link-info        print only the flags added for linking (also -showme:link)
              -\(language == .c ? "cc" : "cxx")=COMPILER          use COMPILER
              -help                  this help

            """
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation here).
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for c in self { if c == target { result += replacement } else { result.append(c) } }
        return result
    }
}
