// `ferry run` (and `mpiexec` / `mpirun`): parses the command line, checks every application
// context before any rank starts (its program resolved through PATH, its working directory
// present), names the job and hands it to JobSupervisor. Called by FerryCommand.
#if canImport(Glibc)
import Glibc
#endif

enum RunCommand {
    /// Runs `ferry run <arguments>`; returns the exit status.
    static func main(_ arguments: [String]) -> Int32 {
        let lookup: (String) -> String? = { name in getenv(name).map { String(cString: $0) } }
        switch RunOptions.parse(arguments, environment: lookup) {
        case .help:
            POSIX.writeAll(1, RunOptions.usage + "\n")
            return 0
        case .error(let message):
            POSIX.writeAll(2, "ferry run: \(message)\n")
            return 2
        case .run(var options):
            switch prepare(&options, path: lookup("PATH")) {
            case .failure(let failure):
                POSIX.writeAll(2, "ferry run: \(failure.message)\n")
                return failure.status
            case .success(let programPaths):
                POSIX.ensureStandardDescriptors()
                return JobSupervisor(options: options, programPaths: programPaths, jobID: newJobID(),
                                     launcherPath: launcherPath()).run()
            }
        }
    }

    /// Why a job could not be launched, found before any rank started.
    struct LaunchError: Error, Equatable {
        let message: String
        /// 127 for a program that cannot be found (as a shell), 2 for a working directory.
        let status: Int32
    }

    /// Resolves each context's program to an absolute path and makes each context's working
    /// directory explicit and absolute (so that ranks get it as PWD). Fails on the first context,
    /// in command-line order, whose program or directory is unusable.
    /// - Returns: the executable of each context.
    static func prepare(_ options: inout RunOptions, path: String?) -> Result<[String], LaunchError> {
        var programPaths: [String] = []
        let several = options.applications.count > 1
        for (index, application) in options.applications.enumerated() {
            let context = several ? " (application context \(index + 1))" : ""
            guard let found = ProgramResolver.resolve(application.program, path: path) else {
                return .failure(LaunchError(message: "\(application.program): command not found or not executable\(context)",
                                            status: 127))
            }
            programPaths.append(ProgramResolver.absolute(found))
            if let directory = options.workingDirectory(ofApplication: index) {
                if let problem = ProgramResolver.directoryProblem(directory) {
                    return .failure(LaunchError(message: "cannot use working directory '\(directory)'\(context): \(problem)",
                                                status: 2))
                }
                options.applications[index].workingDirectory = ProgramResolver.absolute(directory)
            }
        }
        return .success(programPaths)
    }

    /// The absolute path of the running executable (the `ferry` binary even when started
    /// through an `mpiexec` symbolic link), from /proc/self/exe; nil if it cannot be read.
    static func launcherPath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `<launcher pid>-<8 random hex digits>`: unique per job, safe in file names.
    static func newJobID() -> String {
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(getpid())-" + String(repeating: "0", count: 8 - random.count) + random
    }
}
