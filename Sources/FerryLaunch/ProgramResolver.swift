// Finds the program to run the way a shell does: a name containing `/` is used as given,
// anything else is looked up in the directories of PATH. Called by RunCommand once per
// application context (before any rank starts) and by CompileCommand.
#if canImport(Glibc)
import Glibc
#endif

enum ProgramResolver {
    /// The path of an executable regular file for `program`, or nil.
    static func resolve(_ program: String, path: String?) -> String? {
        if program.contains("/") { return isExecutableFile(program) ? program : nil }
        let directories = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false)
        for directory in directories {
            let base = directory.isEmpty ? "." : String(directory)
            let candidate = base + "/" + program
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    /// `path` made absolute against the current directory (the launcher's), so that it still
    /// names the same file after a rank changes to its `-wdir`. Not canonicalized: symbolic
    /// links and `..` stay as written.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = currentDirectory() else { return path }
        var relative = Substring(path)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2).drop { $0 == "/" } }
        if relative.isEmpty || relative == "." { return cwd }
        return (cwd == "/" ? "" : cwd) + "/" + relative
    }

    /// The launcher's current directory, or nil if it cannot be named (removed, too long).
    static func currentDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Nil if `path` is a directory the launcher may enter, else why not ("No such file or directory").
    static func directoryProblem(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return String(cString: strerror(errno)) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return "Not a directory" }
        guard access(path, X_OK) == 0 else { return String(cString: strerror(errno)) }
        return nil
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
