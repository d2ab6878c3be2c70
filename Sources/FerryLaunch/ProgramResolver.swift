// Finds the program to run the way a shell does: a name containing `/` is used as given,
// anything else is looked up in the directories of PATH. Called once per job by RunCommand.
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

    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
