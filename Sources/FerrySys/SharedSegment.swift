// A POSIX shared-memory segment mapped into this process: created by one rank (exclusive,
// mode 0600, after checking /dev/shm has room), opened by the others, unlinked as soon as every
// user has mapped it so that a crash leaves nothing behind. Owned by the shm transport.
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

/// A mapped shared segment. `~Copyable`: one owner unmaps it exactly once.
public struct SharedSegment: ~Copyable {
    public let name: String
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int

    /// Bytes free in the file system that backs `/dev/shm`.
    public static func freeBytes(at path: String = "/dev/shm") -> Int? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int(s.f_bavail) * Int(s.f_frsize)
    }

    /// Creates the segment; fails with a clear message if it exists or /dev/shm is too small.
    public static func create(name: String, byteCount: Int) throws(MPIError) -> SharedSegment {
        if let free = freeBytes(), free < byteCount {
            throw MPIError(.noMem, "/dev/shm has \(free / 1024) KiB free but the shared-memory transport needs \(byteCount / 1024) KiB for segment \(name); free space in /dev/shm or lower FERRY_SHM_RING_CELLS / FERRY_SHM_CELL_BYTES")
        }
        let fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0o600)
        guard fd >= 0 else {
            throw MPIError(.other, "shm_open(\(name)) failed: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        // posix_fallocate reserves the pages now, so a full /dev/shm fails here with ENOSPC
        // instead of a SIGBUS on first touch later.
        let rc = posix_fallocate(fd, 0, off_t(byteCount))
        if rc != 0 {
            shm_unlink(name)
            throw MPIError(.noMem, "cannot reserve \(byteCount / 1024) KiB in /dev/shm for \(name): \(String(cString: strerror(rc)))")
        }
        return try map(name: name, fd: fd, byteCount: byteCount)
    }

    /// Opens a segment created by another process, waiting up to `timeoutSeconds` for it to
    /// reach its full size.
    public static func open(name: String, byteCount: Int, timeoutSeconds: Double = 30) throws(MPIError) -> SharedSegment {
        let deadline = monotonicSeconds() + timeoutSeconds
        while true {
            let fd = shm_open(name, O_RDWR, 0o600)
            if fd >= 0 {
                var st = stat()
                if fstat(fd, &st) == 0 && st.st_uid != geteuid() {
                    close(fd)
                    throw MPIError(.other, "shared segment \(name) belongs to uid \(st.st_uid), not to this user (uid \(geteuid())): refused")
                }
                if fstat(fd, &st) == 0 && Int(st.st_size) >= byteCount {
                    defer { close(fd) }
                    return try map(name: name, fd: fd, byteCount: byteCount)
                }
                close(fd)
            }
            if monotonicSeconds() > deadline {
                throw MPIError(.other, "timed out waiting for shared segment \(name)")
            }
            usleep(200)
        }
    }

    private static func map(name: String, fd: Int32, byteCount: Int) throws(MPIError) -> SharedSegment {
        let p = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw MPIError(.noMem, "mmap of \(name) (\(byteCount) bytes) failed: \(String(cString: strerror(errno)))")
        }
        return SharedSegment(name: name, base: p, byteCount: byteCount)
    }

    private init(name: String, base: UnsafeMutableRawPointer, byteCount: Int) {
        self.name = name
        self.base = base
        self.byteCount = byteCount
    }

    /// Removes this user's segments left in `directory` by jobs that are gone: every Ferry
    /// segment is named `ferry-<pid>-...` after the process that keeps its job alive (the
    /// launcher, or a singleton), so one whose pid no longer exists can never be opened again
    /// (a launcher killed during start-up, before every rank had mapped its node segment,
    /// leaves one behind). Called by the first rank of a job before it creates its own.
    /// - Returns: the names removed.
    @discardableResult
    public static func removeOrphans(directory: String = "/dev/shm") -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        let dfd = dirfd(dir)
        var removed: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix("ferry-") else { continue }
            let digits = name.dropFirst(6).prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, name.dropFirst(6 + digits.count).first == "-",
                  let pid = Int32(digits), pid > 0 else { continue }
            var st = stat()
            guard fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_uid == geteuid(),
                  st.st_mode & S_IFMT == S_IFREG else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH && unlinkat(dfd, name, 0) == 0 { removed.append(name) }
        }
        return removed
    }

    /// Removes the name; the mapping stays valid until unmapped.
    public func unlink() { shm_unlink(name) }

    deinit { munmap(base, byteCount) }
}

/// `digits` random hexadecimal digits from the system's generator: names (segments, ports,
/// jobs) that another local user must not be able to guess and take first.
public func randomHex(_ digits: Int) -> String {
    var out = ""
    var g = SystemRandomNumberGenerator()
    while out.count < digits {
        let word = String(g.next() as UInt64, radix: 16)
        out += String(repeating: "0", count: 16 - word.count) + word
    }
    return String(out.prefix(digits))
}

/// Seconds from an arbitrary monotonic origin.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Cores this process may run on (its affinity mask), at least 1.
public func usableCoreCount() -> Int {
    let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
    return max(1, Int(n))
}
