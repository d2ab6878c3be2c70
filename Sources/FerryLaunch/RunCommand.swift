// `ferry run` (and `mpiexec` / `mpirun`): parses the command line, resolves the program,
// names the job and hands it to JobSupervisor. Called by FerryCommand.
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
        case .run(let options):
            guard let path = ProgramResolver.resolve(options.program, path: lookup("PATH")) else {
                POSIX.writeAll(2, "ferry run: \(options.program): command not found or not executable\n")
                return 127
            }
            POSIX.ensureStandardDescriptors()
            return JobSupervisor(options: options, programPath: path, jobID: newJobID()).run()
        }
    }

    /// `<launcher pid>-<8 random hex digits>`: unique per job, safe in file names.
    static func newJobID() -> String {
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(getpid())-" + String(repeating: "0", count: 8 - random.count) + random
    }
}
