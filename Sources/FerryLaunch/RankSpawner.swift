// Starts one rank with posix_spawn: stdin from the given descriptor, stdout and stderr into
// fresh pipes, one end of a socketpair as descriptor 3 (`PMI_FD=3`), its own process group,
// default signal dispositions, an empty signal mask, and optionally its own working directory
// (the child changes to it between fork and exec). Every descriptor the launcher creates is
// close-on-exec, so a rank inherits only its own four. Called by JobSupervisor.
#if canImport(Glibc)
import Glibc
#endif

/// The launcher's ends of one started rank.
struct SpawnedRank {
    let pid: pid_t
    /// Launcher end of the PMI socketpair (non-blocking).
    let pmiFD: Int32
    /// Read ends of the rank's stdout and stderr pipes (non-blocking).
    let stdoutFD: Int32
    let stderrFD: Int32
}

enum RankSpawner {
    /// The descriptor number at which every rank finds its PMI socket.
    static let childPMIFD: Int32 = 3

    /// Spawns `path` with `argv` and `environment` (`NAME=value` strings), in
    /// `workingDirectory` if given (then `path` should be absolute: exec looks it up after the
    /// change of directory).
    /// Without `pmiSocket` (a multi-node job's proxy) no socketpair is made: `pmiFD` is -1.
    /// - Returns: the launcher's ends, or an error message.
    static func spawn(path: String, argv: [String], environment: [String], workingDirectory: String? = nil,
                      stdinFD: Int32, pmiSocket: Bool = true) -> Result<SpawnedRank, SpawnError> {
        let addChdir = workingDirectory == nil ? nil : addChdirFunction()
        if workingDirectory != nil && addChdir == nil {
            return .failure(SpawnError("-wdir needs posix_spawn_file_actions_addchdir_np (glibc 2.29 or later)"))
        }
        var sockets: [Int32] = [-1, -1]
        guard !pmiSocket || socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &sockets) == 0 else {
            return .failure(SpawnError("socketpair failed: \(String(cString: strerror(errno)))"))
        }
        guard let outPipe = POSIX.makePipe() else {
            closeAll(sockets)
            return .failure(SpawnError("pipe failed: \(String(cString: strerror(errno)))"))
        }
        guard let errPipe = POSIX.makePipe() else {
            closeAll(sockets + [outPipe.read, outPipe.write])
            return .failure(SpawnError("pipe failed: \(String(cString: strerror(errno)))"))
        }
        let out = [outPipe.read, outPipe.write], err = [errPipe.read, errPipe.write]
        // dup2(3, 3) would leave close-on-exec set; move the child end off descriptor 3 first.
        var childSocket = sockets[1]
        if pmiSocket && childSocket == childPMIFD {
            childSocket = fcntl(sockets[1], F_DUPFD_CLOEXEC, childPMIFD + 1)
            _ = close(sockets[1])
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinFD, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        if pmiSocket { posix_spawn_file_actions_adddup2(&actions, childSocket, childPMIFD) }
        if let workingDirectory, let addChdir {
            // Can fail only for lack of memory. The child changes directory after the dup2s and
            // before exec; a relative directory would be taken from the launcher's (RunCommand
            // passes absolute ones), and so would a relative `path`.
            _ = addChdir(&actions, workingDirectory)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group: a terminal's Ctrl-C reaches only the launcher, which relays it.
        posix_spawnattr_setpgroup(&attributes, 0)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, cArgv, cEnv)
        closeAll([childSocket, out[1], err[1]])
        guard rc == 0 else {
            closeAll([sockets[0], out[0], err[0]])
            if let workingDirectory, let problem = ProgramResolver.directoryProblem(workingDirectory) {
                return .failure(SpawnError("cannot change to working directory '\(workingDirectory)': \(problem)"))
            }
            return .failure(SpawnError("cannot execute '\(path)': \(String(cString: strerror(rc)))"))
        }
        for fd in [sockets[0], out[0], err[0]] where fd >= 0 { POSIX.setNonBlocking(fd) }
        return .success(SpawnedRank(pid: pid, pmiFD: sockets[0], stdoutFD: out[0], stderrFD: err[0]))
    }

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+; in the child, after the dup2s).
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?,
                                         UnsafePointer<CChar>?) -> Int32

    /// Looks up `posix_spawn_file_actions_addchdir_np`, which Swift's Glibc module does not
    /// import (spawn.h declares it under _GNU_SOURCE only). The alternative, chdir in the
    /// launcher around posix_spawn, would move the whole launcher; this keeps it where it is.
    static func addChdirFunction() -> AddChdir? {
        // RTLD_DEFAULT is ((void *) 0): search the executable and every library it loaded (libc).
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else {
            return nil
        }
        // The symbol is glibc's function of exactly this C signature (spawn.h).
        return unsafeBitCast(symbol, to: AddChdir.self)
    }

    private static func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { _ = close(fd) }
    }
}

/// Why a rank could not be started.
struct SpawnError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
