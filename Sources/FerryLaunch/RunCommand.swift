// `ferry run` (and `mpiexec` / `mpirun`): parses the command line, checks every application
// context before any rank starts (its program resolved through PATH, its working directory
// present), names the job and hands it to JobSupervisor. Called by FerryCommand.
#if canImport(Glibc)
import Glibc
#endif
import CFerryShims
import FerryCore
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
            do throws(MPIError) { _ = try Tunables.fromEnvironment(lookup) } catch {
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
    /// or ranks mapped to another host (this launcher starts ranks on its own host only, for
    /// now). A job that names only this host runs as without hosts.
    static func hostProblem(_ options: RunOptions) -> String? {
        // -ppn alone changes nothing on one host (as in MPICH: no hosts means this one).
        guard options.hosts != nil || options.hostfile != nil else { return nil }
        var hosts = options.hosts ?? []
        if let file = options.hostfile {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                return "cannot read hostfile '\(file)'"
            }
            do throws(HostList.ParseError) { hosts += try HostList.parse(hostfile: text, path: file) } catch {
                return error.description
            }
        }
        if hosts.isEmpty { hosts = [HostSlots("localhost", slots: options.ranksPerHost ?? options.rankCount)] }
        let plan: HostPlan
        do throws(HostList.ParseError) {
            plan = try HostPlan(ranks: options.rankCount, hosts: hosts, mapBy: options.mapBy,
                                ranksPerHost: options.ranksPerHost, oversubscribe: options.oversubscribe)
        } catch { return error.description }
        let me = POSIX.hostName()
        let remote = plan.hosts.indices.filter { plan.ranksPerHost[$0] > 0 && !isThisHost(plan.hosts[$0].name, me) }
        guard remote.isEmpty else {
            let names = remote.map { plan.hosts[$0].name }.joined(separator: ", ")
            return "ranks mapped to \(names): starting ranks on other hosts is not implemented yet "
                + "(this ferry runs a job's ranks on this host only; name this host as localhost or \(me))"
        }
        return nil
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
