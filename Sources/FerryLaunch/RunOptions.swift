// The command line of `ferry run` / `mpiexec` / `mpirun`, parsed by hand because mpiexec's
// spellings (`-np`, `-genv K V`, `-x K=V`, single-dash long options, `:` between the
// application contexts of an MPMD launch) fit no argument library.
// Pure: takes the arguments and an environment lookup, returns what to do.
//
// Grammar (MPICH Hydra's, with Open MPI's spellings accepted):
//
//     ferry run [options] program [args] [: [options] program [args]]...
//
// A lone `:` argument separates application contexts; each context starts its own program
// on its own `-n` ranks, and ranks are numbered consecutively across contexts (context 0
// holds ranks 0..<n0, context 1 the next n1, ...). Options are global (`-genv`, `-l`,
// `--timeout`, `--oversubscribe`; accepted in any context) or belong to the context they are
// written in (`-n`, `-env`, `-x`). `-wdir` is the one option whose place matters: in the
// first context (where the global options are written too) it sets the directory of every
// context that gives none of its own; after a `:` it sets that context's only.

/// Everything `ferry run` needs to start a job.
public struct RunOptions: Equatable, Sendable {
    /// The application contexts, in command-line order (at least one). The index of a context
    /// is its ranks' `MPI_APPNUM`.
    public var applications: [Application] = [Application()]
    /// Variables to set in the ranks of every context, in command-line order (`-genv`). A
    /// context's own settings of the same name win.
    public var globalEnvironment: [EnvironmentSetting] = []
    /// Working directory of every context that has none of its own (`-wdir` before the first
    /// `:`); nil: the launcher's.
    public var workingDirectory: String?
    /// Prefix each forwarded output line with `[rank] ` (`--tag-output`, `-prepend-rank`, `-l`).
    public var tagOutput = false
    /// Kill the job and exit 124 after this many seconds (`--timeout`).
    public var timeoutSeconds: Double?
    /// Rank placement (`--bind-to core|none`): nil binds rank i to the i-th allowed CPU when
    /// the ranks fit on the CPUs (as Open MPI does for small jobs), and leaves them free otherwise.
    public var bindToCore: Bool?
    /// The CPUs to place ranks on (`--cpu-set 0,2,4`); nil: the launcher's own affinity.
    public var cpuSet: [Int]?
    /// MPI_UNIVERSE_SIZE (`--universe-size N`, `-usize N` as in Hydra); nil: FERRY_UNIVERSE_SIZE
    /// from the launcher's environment (a job spawned by a rank inherits its parent's), else
    /// the CPUs the job may use, and at least the job's rank count.
    public var universeSize: Int?
    /// Hosts from `--hosts a,b:2` (`-hosts`, `-H`, `--host`), in order; nil when not given.
    public var hosts: [HostSlots]?
    /// `--hostfile F` (`-f`, `-hostfile`, `--machinefile`, `-machinefile`): read at launch.
    public var hostfile: String?
    /// `--map-by slot|node` (`-map-by`); slot (block) by default, as MPICH and Open MPI.
    public var mapBy: MapBy = .slot
    /// `-ppn N` (`--ppn`, `-perhost`, `--npernode`): ranks per host instead of its slots.
    public var ranksPerHost: Int?
    /// `--oversubscribe`: more ranks than the hosts' slots. On this host alone ranks may
    /// always outnumber cores.
    public var oversubscribe = false
    /// `--launch-exec TEMPLATE` (`-launcher-exec`): the command that starts a host's proxy,
    /// `{host}` standing for the host (default `ssh {host}`).
    public var launchExec: String?
    /// `-launcher ssh|fork` (Hydra's spelling): fork starts every host's proxy on this machine,
    /// without the template (a multi-"host" job on one machine); nil or ssh: the template.
    public var launcher: Launcher?

    /// How the proxies of a multi-node job are started.
    public enum Launcher: String, Equatable, Sendable {
        case ssh, fork
    }

    public init() {}

    /// One application context: a program started on `rankCount` consecutive ranks.
    public struct Application: Equatable, Sendable {
        /// Ranks to start (`-n`, `-np`, `--np`, `-c`); 1 when not given.
        public var rankCount = 1
        /// The program as given (resolved through PATH at launch).
        public var program = ""
        /// The program's arguments.
        public var arguments: [String] = []
        /// This context's own variables, in command-line order (`-env`, `-x`).
        public var environment: [EnvironmentSetting] = []
        /// This context's working directory (`-wdir` after a `:`); nil: the global one.
        public var workingDirectory: String?

        public init(rankCount: Int = 1, program: String = "", arguments: [String] = [],
                    environment: [EnvironmentSetting] = [], workingDirectory: String? = nil) {
            self.rankCount = rankCount
            self.program = program
            self.arguments = arguments
            self.environment = environment
            self.workingDirectory = workingDirectory
        }
    }

    /// One `NAME=value` to set in the ranks' environment.
    public struct EnvironmentSetting: Equatable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) { self.name = name; self.value = value }
    }

    // MARK: The job as a whole

    /// Ranks in the job: the sum over the contexts (the size of MPI_COMM_WORLD).
    /// Setting it sets the first context's count (the single-program case).
    public var rankCount: Int {
        get { applications.reduce(0) { $0 + $1.rankCount } }
        set { applications[0].rankCount = newValue }
    }

    /// The first context's program (the only one of a single-program job).
    public var program: String {
        get { applications[0].program }
        set { applications[0].program = newValue }
    }

    /// The first context's arguments.
    public var arguments: [String] {
        get { applications[0].arguments }
        set { applications[0].arguments = newValue }
    }

    /// The first context's variables: the global ones, then its own. Setting it makes these
    /// the variables of every rank (global) and drops every context's own settings.
    public var environment: [EnvironmentSetting] {
        get { environment(ofApplication: 0) }
        set {
            globalEnvironment = newValue
            for index in applications.indices { applications[index].environment = [] }
        }
    }

    /// The variables of context `index`, in the order they are applied (later ones win):
    /// the global settings, then the context's own.
    public func environment(ofApplication index: Int) -> [EnvironmentSetting] {
        globalEnvironment + applications[index].environment
    }

    /// The directory the ranks of context `index` start in; nil: the launcher's.
    public func workingDirectory(ofApplication index: Int) -> String? {
        applications[index].workingDirectory ?? workingDirectory
    }

    /// The context of each rank, indexed by rank: its `MPI_APPNUM`.
    public var applicationOfEachRank: [Int] {
        applications.indices.flatMap { Array(repeating: $0, count: applications[$0].rankCount) }
    }

    /// The context of rank `rank` (its `MPI_APPNUM`); 0 for a rank outside the job.
    public func application(ofRank rank: Int) -> Int {
        var first = 0
        for (index, application) in applications.enumerated() {
            if rank >= first && rank < first + application.rankCount { return index }
            first += application.rankCount
        }
        return 0
    }

    // MARK: Parsing

    /// The outcome of parsing.
    public enum Parsed: Equatable, Sendable {
        case run(RunOptions)
        case help
        /// A usage error, with the message to print (exit status 2).
        case error(String)
    }

    /// The argument that separates application contexts.
    public static let contextSeparator = ":"

    /// Parses the arguments after `run` (or after `mpiexec`).
    public static func parse(_ arguments: [String],
                             environment lookup: (String) -> String? = { _ in nil }) -> Parsed {
        var options = RunOptions()
        options.applications = []
        var index = 0
        while true {
            // One context: its options, its program, the program's arguments up to `:`.
            let isFirst = options.applications.isEmpty
            let number = options.applications.count + 1
            var application = Application()
            var argumentCount: Int? = nil
            if let stop = parseOptions(arguments, at: &index, into: &application, global: &options,
                                       isFirstContext: isFirst, argumentCount: &argumentCount, lookup: lookup) {
                return stop
            }
            guard index < arguments.count else {
                if isFirst { return .error("no program given (see 'ferry run --help')") }
                return .error("application context \(number) has no program (see 'ferry run --help')")
            }
            guard arguments[index] != contextSeparator else {
                return .error("application context \(number) has no program before ':' "
                              + "(each context is [options] program [arguments])")
            }
            application.program = arguments[index]
            index += 1
            let end: Int
            if let n = argumentCount {
                // `--nargs N`: exactly N arguments, whatever they look like (':' included).
                end = index + n
                guard end <= arguments.count, end == arguments.count || arguments[end] == contextSeparator else {
                    return .error("--nargs \(n): application context \(number) needs exactly \(n) arguments before ':' or the end")
                }
            } else {
                end = arguments[index...].firstIndex(of: contextSeparator) ?? arguments.count
            }
            application.arguments = Array(arguments[index..<end])
            options.applications.append(application)
            guard end < arguments.count else { return .run(options) }
            index = end + 1
            guard index < arguments.count else {
                return .error("nothing after the last ':' (each context is [options] program [arguments])")
            }
        }
    }

    /// Parses the options at the start of one context, leaving `index` at its program (or at
    /// `:` / the end when it has none). Returns nil, or `.help` / `.error` to stop parsing.
    private static func parseOptions(_ arguments: [String], at index: inout Int,
                                     into application: inout Application, global options: inout RunOptions,
                                     isFirstContext: Bool, argumentCount: inout Int?,
                                     lookup: (String) -> String?) -> Parsed? {
        func value() -> String? {
            guard index + 1 < arguments.count else { return nil }
            index += 1
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { index += 1; return nil }
            guard argument.hasPrefix("-"), argument.count > 1 else { return nil }
            // `--np=4` style: split an attached value off the option name.
            var name = argument
            var attached: String?
            if let eq = argument.firstIndex(of: "=") {
                name = String(argument[..<eq])
                attached = String(argument[argument.index(after: eq)...])
            }
            func required() -> String? { attached ?? value() }
            switch name {
            case "-n", "-np", "--np", "-c", "--n":
                guard let text = required() else { return .error("\(name) needs a number of processes") }
                guard let n = Int(text), n > 0 else { return .error("\(name): '\(text)' is not a positive number") }
                application.rankCount = n
            case "-genv", "--genv", "-env", "--env":
                guard attached == nil, let key = value(), let val = value() else {
                    return .error("\(name) needs a variable name and a value: \(name) NAME VALUE")
                }
                if name.hasSuffix("genv") {
                    options.globalEnvironment.append(.init(key, val))
                } else {
                    application.environment.append(.init(key, val))
                }
            case "-x":
                guard let spec = required() else { return .error("-x needs NAME=VALUE or NAME") }
                if let eq = spec.firstIndex(of: "=") {
                    let key = String(spec[..<eq])
                    guard !key.isEmpty else { return .error("-x '\(spec)': empty variable name") }
                    application.environment.append(.init(key, String(spec[spec.index(after: eq)...])))
                } else if let current = lookup(spec) {
                    application.environment.append(.init(spec, current))
                }
            case "-wdir", "--wdir", "-wd", "--wd":
                guard let directory = required(), !directory.isEmpty else { return .error("\(name) needs a directory") }
                if isFirstContext {
                    options.workingDirectory = directory
                } else {
                    application.workingDirectory = directory
                }
            case "--nargs":
                guard let text = required(), let n = Int(text), n >= 0 else {
                    return .error("--nargs needs a number of arguments (0 or more)")
                }
                argumentCount = n
            case "--oversubscribe", "-oversubscribe":
                options.oversubscribe = true
            case "--hosts", "-hosts", "-H", "--host", "-host":
                guard let text = required() else { return .error("\(name) needs a list of hosts such as a,b:2") }
                do throws(HostList.ParseError) {
                    options.hosts = (options.hosts ?? []) + (try HostList.parse(hostsArgument: text))
                } catch { return .error(error.description) }
            case "--hostfile", "-hostfile", "-f", "--machinefile", "-machinefile", "--machine-file":
                guard let file = required(), !file.isEmpty else { return .error("\(name) needs a file") }
                guard options.hostfile == nil else { return .error("\(name): one hostfile only") }
                options.hostfile = file
            case "--map-by", "-map-by":
                guard let text = required() else { return .error("\(name) needs slot or node") }
                guard let m = MapBy(rawValue: text.lowercased()) else { return .error("\(name): '\(text)' is not slot or node") }
                options.mapBy = m
            case "-ppn", "--ppn", "-perhost", "--perhost", "--npernode", "-npernode":
                guard let text = required() else { return .error("\(name) needs a number of ranks per host") }
                guard let n = Int(text), n > 0 else { return .error("\(name): '\(text)' is not a positive number") }
                options.ranksPerHost = n
            case "--launch-exec", "-launcher-exec", "--launcher-exec":
                guard let text = required(), !text.isEmpty else { return .error("\(name) needs a command such as 'ssh {host}'") }
                options.launchExec = text
            case "-launcher", "--launcher":
                guard let text = required() else { return .error("\(name) needs ssh or fork") }
                guard let l = Launcher(rawValue: text.lowercased()) else { return .error("\(name): '\(text)' is not ssh or fork") }
                options.launcher = l
            case "--tag-output", "-tag-output", "-prepend-rank", "--prepend-rank", "-l":
                options.tagOutput = true
            case "--bind-to", "-bind-to", "-binding":
                guard let text = required() else { return .error("\(name) needs core or none") }
                switch text {
                case "core", "hwthread", "cpu": options.bindToCore = true
                case "none": options.bindToCore = false
                default: return .error("\(name): '\(text)' is not core or none")
                }
            case "--cpu-set", "-cpu-set":
                guard let text = required() else { return .error("\(name) needs a list of CPUs such as 0,2,4") }
                let cpus = text.split(separator: ",").compactMap { Int($0) }
                guard !cpus.isEmpty, cpus.count == text.split(separator: ",").count, cpus.allSatisfy({ $0 >= 0 }) else {
                    return .error("\(name): '\(text)' is not a list of CPU numbers")
                }
                options.cpuSet = cpus
            case "--universe-size", "-universe-size", "-usize", "--usize":
                guard let text = required() else { return .error("\(name) needs a number of processes") }
                guard let n = Int(text), n > 0 else { return .error("\(name): '\(text)' is not a positive number") }
                options.universeSize = n
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
        return nil
    }

    /// The help text of `ferry run`.
    public static let usage = """
        usage: ferry run [options] program [arguments...]
               ferry run [global options] [-n N] [context options] program [arguments...] \\
                         : [-n N] [context options] program [arguments...] : ...
               (also installed as mpiexec and mpirun)

        A lone ':' separates application contexts (MPMD): each context starts its own program
        with its own arguments on its own ranks. Ranks are numbered consecutively across the
        contexts and share one MPI_COMM_WORLD; MPI_APPNUM is the context's index (0, 1, ...).

        context options (apply to the context they are written in):
          -n N, -np N, --np N, -c N   number of ranks of this context (default 1)
          -env NAME VALUE             set NAME=VALUE in this context's ranks
          -x NAME=VALUE, -x NAME      set a variable, or pass the current value of NAME
          -wdir DIR, --wdir DIR, -wd DIR
                                      start the ranks in DIR; before the first ':' it applies
                                      to every context that gives no -wdir of its own
          --nargs N                   the program takes exactly N arguments, even ':' ones
                                      (how MPI_Comm_spawn passes arguments through)
        global options (apply to every context, accepted anywhere):
          -genv NAME VALUE            set NAME=VALUE in every rank (a context's -env/-x wins)
          --tag-output, -prepend-rank, -l
                                      prefix each output line with "[rank] "
          --timeout SECONDS           kill the job and exit 124 after SECONDS
          --bind-to core|none         pin rank i to the i-th CPU (default when the ranks fit
                                      on the CPUs), or leave ranks free (default otherwise)
          --cpu-set 0,2,4             the CPUs to place ranks on (default: ferry's affinity)
          --universe-size N, -usize N MPI_UNIVERSE_SIZE, the processes the job may have with
                                      those it spawns (default: FERRY_UNIVERSE_SIZE if set,
                                      else the CPUs the job may use, at least its rank count)
          --hosts a,b:2,c, -hosts, -H hosts (MPICH host:slots; a host without :N has 1 slot)
          --hostfile F, -f F, -machinefile F
                                      hosts from a file: 'host', 'host:slots' (MPICH) or
                                      'host slots=N' (Open MPI) per line, '#' comments
          --map-by slot|node          fill each host's slots in turn (slot, the default) or
                                      deal ranks one per host in turn (node)
          -ppn N, -perhost N          N ranks per host (instead of each host's slots)
          --oversubscribe             allow more ranks than the hosts' slots (on this host alone
                                      ranks may always outnumber cores)
          --launch-exec TEMPLATE, -launcher-exec TEMPLATE
                                      how the proxy of a host other than this one is started:
                                      words split on whitespace (no quoting), {host} replaced by
                                      the host (appended when absent), then '<this ferry> proxy'
                                      ('ssh {host}' by default; e.g. 'ip netns exec {host}')
          -launcher ssh|fork          fork: start every host's proxy here, without the template
          -h, --help                  show this help

        Example: ferry run -genv OMP_NUM_THREADS 1 -n 2 ./master in.dat : -n 6 -wdir /scratch ./worker

        Each program is looked up in PATH (a name with '/' is taken relative to the launcher's
        directory, not -wdir). An unknown program or a missing -wdir directory in any context
        stops the launch before any rank starts. Every rank gets FERRY_LAUNCHER, the absolute
        path of this ferry executable, and PWD when it runs in a -wdir directory.

        Ranks run with stdin from /dev/null; their stdout and stderr are forwarded line by line.
        With hosts other than this one, each host with ranks gets one 'ferry proxy' (see
        docs/LAUNCH-MULTINODE.md); ferry must be at the same path there. The job is torn down
        as soon as one rank dies, calls MPI_Abort, or exits before MPI_Finalize; the exit
        status is the first failing rank's.
        """
}
