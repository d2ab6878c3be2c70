// The command line of `ferry run` / `mpiexec` / `mpirun`, parsed by hand because mpiexec's
// spellings (`-np`, `-genv K V`, `-x K=V`, single-dash long options) fit no argument library.
// Pure: takes the arguments and an environment lookup, returns what to do.

/// Everything `ferry run` needs to start a job.
public struct RunOptions: Equatable, Sendable {
    /// Ranks to start (`-n`, `-np`, `--np`, `-c`); 1 when not given.
    public var rankCount = 1
    /// Variables to set in every rank, in command-line order (`-genv`, `-env`, `-x`).
    public var environment: [EnvironmentSetting] = []
    /// Prefix each forwarded output line with `[rank] ` (`--tag-output`, `-prepend-rank`, `-l`).
    public var tagOutput = false
    /// Kill the job and exit 124 after this many seconds (`--timeout`).
    public var timeoutSeconds: Double?
    /// The program as given (resolved through PATH at launch).
    public var program = ""
    /// The program's arguments.
    public var arguments: [String] = []

    public init() {}

    /// One `NAME=value` to set in the ranks' environment.
    public struct EnvironmentSetting: Equatable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) { self.name = name; self.value = value }
    }

    /// The outcome of parsing.
    public enum Parsed: Equatable, Sendable {
        case run(RunOptions)
        case help
        /// A usage error, with the message to print (exit status 2).
        case error(String)
    }

    /// Parses the arguments after `run` (or after `mpiexec`).
    public static func parse(_ arguments: [String],
                             environment lookup: (String) -> String? = { _ in nil }) -> Parsed {
        var options = RunOptions()
        var index = 0
        func value(for option: String) -> String? {
            guard index + 1 < arguments.count else { return nil }
            index += 1
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { index += 1; break }
            guard argument.hasPrefix("-"), argument.count > 1 else { break }
            // `--np=4` style: split an attached value off the option name.
            var name = argument
            var attached: String?
            if let eq = argument.firstIndex(of: "=") {
                name = String(argument[..<eq])
                attached = String(argument[argument.index(after: eq)...])
            }
            func required() -> String? {
                if let attached { return attached }
                return value(for: name)
            }
            switch name {
            case "-n", "-np", "--np", "-c", "--n":
                guard let text = required() else { return .error("\(name) needs a number of processes") }
                guard let n = Int(text), n > 0 else { return .error("\(name): '\(text)' is not a positive number") }
                options.rankCount = n
            case "-genv", "-env", "--genv", "--env":
                guard attached == nil, let key = value(for: name), let val = value(for: name) else {
                    return .error("\(name) needs a variable name and a value: \(name) NAME VALUE")
                }
                options.environment.append(.init(key, val))
            case "-x":
                guard let spec = value(for: name) else { return .error("-x needs NAME=VALUE or NAME") }
                if let eq = spec.firstIndex(of: "=") {
                    let key = String(spec[..<eq])
                    guard !key.isEmpty else { return .error("-x '\(spec)': empty variable name") }
                    options.environment.append(.init(key, String(spec[spec.index(after: eq)...])))
                } else if let current = lookup(spec) {
                    options.environment.append(.init(spec, current))
                }
            case "--oversubscribe", "-oversubscribe":
                break
            case "--tag-output", "-tag-output", "-prepend-rank", "--prepend-rank", "-l":
                options.tagOutput = true
            case "--timeout", "-timeout":
                guard let text = required() else { return .error("\(name) needs a number of seconds") }
                guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                    return .error("\(name): '\(text)' is not a positive number of seconds")
                }
                options.timeoutSeconds = seconds
            case "-h", "--help", "-help":
                return .help
            default:
                return .error("unknown option '\(argument)' (see 'ferry run --help')")
            }
            index += 1
        }
        guard index < arguments.count else { return .error("no program given (see 'ferry run --help')") }
        options.program = arguments[index]
        options.arguments = Array(arguments[(index + 1)...])
        return .run(options)
    }

    /// The help text of `ferry run`.
    public static let usage = """
        usage: ferry run [options] program [arguments...]
               (also installed as mpiexec and mpirun)

        options:
          -n N, -np N, --np N, -c N   number of ranks to start (default 1)
          -genv NAME VALUE            set NAME=VALUE in every rank (-env is the same)
          -x NAME=VALUE, -x NAME      set a variable, or pass the current value of NAME
          --tag-output, -prepend-rank, -l
                                      prefix each output line with "[rank] "
          --timeout SECONDS           kill the job and exit 124 after SECONDS
          --oversubscribe             accepted for compatibility (ranks may always outnumber cores)
          -h, --help                  show this help

        Ranks run on this node with stdin from /dev/null; their stdout and stderr are forwarded
        line by line. The job is torn down as soon as one rank dies, calls MPI_Abort, or exits
        before MPI_Finalize; the exit status is the first failing rank's.
        """
}
