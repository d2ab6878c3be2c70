// `ferry run` (and `mpiexec` / `mpirun`): parses the command line, checks every application
// context before any rank starts (its program resolved through PATH, its working directory
// present), names the job and hands it to JobSupervisor. Called by FerryCommand.
#if canImport(Glibc)
import Glibc
#endif
import CFerryShims
import FerryCore
import FerryTCP
import Foundation

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
                if case .success(let plan?) = hostPlan(options), needsProxies(plan, options) {
                    guard let ferry = launcherPath() else {
                        POSIX.writeAll(2, "ferry run: cannot find this ferry executable (/proc/self/exe) to start the proxies\n")
                        return 1
                    }
                    return MultiNodeSupervisor(options: options, programPaths: programPaths, plan: plan, jobID: newJobID(),
                                               launcherPath: ferry).run()
                }
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
            // The ranks would each stop in MPI_Init on an invalid tunable: say it once, now.
            let settings = options.environment(ofApplication: index)
            let lookup: (String) -> String? = { name in
                settings.last { $0.name == name }?.value ?? getenv(name).map { String(cString: $0) }
            }
            do throws(MPIError) {
                _ = try Tunables.fromEnvironment(lookup)
                _ = try TCPTransportOptions.fromEnvironment(lookup)
            } catch {
                return .failure(LaunchError(message: "\(error.detail)\(context)", status: 2))
            }
            if let directory = options.workingDirectory(ofApplication: index) {
                if let problem = ProgramResolver.directoryProblem(directory) {
                    return .failure(LaunchError(message: "cannot use working directory '\(directory)'\(context): \(problem)",
                                                status: 2))
                }
                options.applications[index].workingDirectory = ProgramResolver.absolute(directory)
            }
        }
        if let wanted = options.cpuSet, let problem = cpuSetProblem(wanted) {
            return .failure(LaunchError(message: problem, status: 2))
        }
        if let problem = hostProblem(options) {
            return .failure(LaunchError(message: problem, status: 2))
        }
        return .success(programPaths)
    }

    /// Why the hosts (`--hosts`, `--hostfile`, `--map-by`, `-ppn`) cannot be used, or nil: a
    /// hostfile that cannot be read or parsed, more ranks than slots without --oversubscribe,
    /// or (with the default `ssh {host}` template only) a host name that does not resolve.
    /// With a template of its own the start of that host's proxy tells (MultiNodeSupervisor).
    static func hostProblem(_ options: RunOptions) -> String? {
        switch hostPlan(options) {
        case .failure(let error): return error.message
        case .success(nil): return nil
        case .success(let plan?):
            guard needsProxies(plan, options), options.launchExec == nil, options.launcher != .fork else { return nil }
            for (h, host) in plan.hosts.enumerated() where plan.ranksPerHost[h] > 0 && !isThisHost(host.name, POSIX.hostName()) {
                if let problem = resolveProblem(host.name) { return "unknown host '\(host.name)': \(problem)" }
            }
            return nil
        }
    }

    /// Where the ranks go, from `--hosts` and `--hostfile`; nil when neither is given (this
    /// host only), or the message that says why the hosts cannot be used.
    static func hostPlan(_ options: RunOptions) -> Result<HostPlan?, LaunchError> {
        // -ppn alone changes nothing on one host (as in MPICH: no hosts means this one).
        guard options.hosts != nil || options.hostfile != nil else { return .success(nil) }
        func fail(_ m: String) -> Result<HostPlan?, LaunchError> { .failure(LaunchError(message: m, status: 2)) }
        var hosts = options.hosts ?? []
        if let file = options.hostfile {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                return fail("cannot read hostfile '\(file)'")
            }
            do throws(HostList.ParseError) { hosts += try HostList.parse(hostfile: text, path: file) } catch {
                return fail(error.description)
            }
        }
        if hosts.isEmpty { hosts = [HostSlots("localhost", slots: options.ranksPerHost ?? options.rankCount)] }
        do throws(HostList.ParseError) {
            return .success(try HostPlan(ranks: options.rankCount, hosts: hosts, mapBy: options.mapBy,
                                         ranksPerHost: options.ranksPerHost, oversubscribe: options.oversubscribe))
        } catch { return fail(error.description) }
    }

    /// Whether the job needs proxies: a host with ranks is not this host (or `-launcher fork`
    /// names more than one host). A job on this host alone runs as without hosts.
    static func needsProxies(_ plan: HostPlan, _ options: RunOptions) -> Bool {
        let me = POSIX.hostName()
        let used = plan.hosts.indices.filter { plan.ranksPerHost[$0] > 0 }
        return used.contains { !isThisHost(plan.hosts[$0].name, me) }
    }

    /// Nil if `name` resolves (getaddrinfo), else why not.
    static func resolveProblem(_ name: String) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(name, nil, &hints, &list)
        if rc == 0 { freeaddrinfo(list); return nil }
        return "cannot resolve it (\(String(cString: gai_strerror(rc))))"
    }

    /// Whether `name` names the host the launcher runs on.
    static func isThisHost(_ name: String, _ me: String) -> Bool {
        let short = me.split(separator: ".").first.map(String.init) ?? me
        return ["localhost", "127.0.0.1", "::1", me, short].contains(name)
    }

    /// Why `--cpu-set` cannot be used as given, or nil: the set becomes this launcher's
    /// affinity (as the job's placement does), and every CPU it names must then be in it — a
    /// CPU that does not exist, is offline or is outside our cgroup's cpuset is not.
    static func cpuSetProblem(_ wanted: [Int]) -> String? {
        let c = wanted.map { Int32(clamping: $0) }
        let rc = ferry_set_cpus(c, Int32(c.count))
        let allowed = Set(POSIX.allowedCPUs())
        let missing = wanted.filter { !allowed.contains($0) }
        guard rc != 0 || !missing.isEmpty else { return nil }
        let online = (try? String(contentsOfFile: "/sys/devices/system/cpu/online", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        let bad = (missing.isEmpty ? wanted : missing).map(String.init).joined(separator: ",")
        return "--cpu-set: CPU \(bad) cannot be used (no such CPU, offline, or not allowed to this process); CPUs online: \(online)"
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
