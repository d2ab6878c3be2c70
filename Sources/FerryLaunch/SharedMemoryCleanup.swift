// Removes `/dev/shm/ferry-<jobid>*` after a job: the runtime unlinks its node segment early,
// but a rank killed before that point leaves it behind. Called once by JobSupervisor at the end.
#if canImport(Glibc)
import Glibc
#endif

enum SharedMemoryCleanup {
    /// Unlinks every entry of `directory` whose name starts with `ferry-<jobID>`; returns their names.
    @discardableResult
    static func removeSegments(jobID: String, directory: String = "/dev/shm") -> [String] {
        let prefix = "ferry-\(jobID)"
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var removed: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(prefix), unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed
    }
}
