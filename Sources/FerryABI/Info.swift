// Info objects (MPI-3.1 §9): ordered (key, value) string pairs behind MPI_Info handles, the
// predefined MPI_INFO_ENV (what this process was started with), and the limits
// MPI_MAX_INFO_KEY / MPI_MAX_INFO_VAL. Other files decode info arguments with `decodeInfo`.
import FerryCore
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

/// An info object: keys in the order they were first set.
final class InfoObject {
    @exclusivity(unchecked) private(set) var entries: [(key: String, value: String)] = []

    init(_ entries: [(key: String, value: String)] = []) { self.entries = entries }

    func value(_ key: String) -> String? { entries.first { $0.key == key }?.value }

    func set(_ key: String, _ value: String) {
        if let i = entries.firstIndex(where: { $0.key == key }) { entries[i].value = value } else { entries.append((key, value)) }
    }

    /// Removes `key`; false when it was not there.
    func delete(_ key: String) -> Bool {
        guard let i = entries.firstIndex(where: { $0.key == key }) else { return false }
        entries.remove(at: i)
        return true
    }

    func copy() -> InfoObject { InfoObject(entries) }
}

/// `MPI_MAX_INFO_KEY` and `MPI_MAX_INFO_VAL` (MPICH values), without the terminating NUL.
let maxInfoKey = 255
let maxInfoValue = 1024

extension ABI {
    static let infos = HandleTable<InfoObject>(base: Handle.infoBase)
    /// MPI_INFO_ENV, built on first use.
    @exclusivity(unchecked) nonisolated(unsafe) static var environmentInfo: InfoObject?
}

/// The info object of a handle: MPI_INFO_ENV or a registered one (nil for MPI_INFO_NULL and
/// anything invalid).
func decodeInfo(_ h: Int32) -> InfoObject? {
    if h == Handle.infoEnv { return environmentInfo() }
    return ABI.infos.lookup(h)
}

/// The (key, value) pairs of an info argument that may be MPI_INFO_NULL; nil when invalid.
func infoEntries(_ h: Int32) -> [(key: String, value: String)]? {
    if h == Handle.infoNull { return [] }
    return decodeInfo(h)?.entries
}

/// A new handle for a new info object holding `entries` (MPI_INFO_NULL when the table is full).
func encodeInfo(_ entries: [(key: String, value: String)]) -> Int32 {
    ABI.infos.insert(InfoObject(entries)) ?? Handle.infoNull
}

/// MPI_INFO_ENV (MPI-3.1 §8.1.2): command, argv (space-separated), maxprocs, host, arch,
/// wdir, thread_level. `soft` and `file` are not known to a process of `ferry run`.
private func environmentInfo() -> InfoObject {
    if let e = ABI.environmentInfo { return e }
    let info = InfoObject()
    let args = commandLine()
    if let first = args.first { info.set("command", first) }
    if args.count > 1 { info.set("argv", args.dropFirst().joined(separator: " ")) }
    if let rt = Runtime.shared {
        info.set("maxprocs", "\(rt.worldSize)")
        info.set("host", rt.processorName)
        info.set("thread_level", ["MPI_THREAD_SINGLE", "MPI_THREAD_FUNNELED", "MPI_THREAD_SERIALIZED",
                                  "MPI_THREAD_MULTIPLE"][Int(rt.threadLevel.rawValue)])
    }
    var u = utsname()
    if uname(&u) == 0 {
        let arch = withUnsafeBytes(of: &u.machine) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        info.set("arch", arch)
    }
    var cwd = [UInt8](repeating: 0, count: 4096)
    let found = cwd.withUnsafeMutableBufferPointer { b in
        b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { getcwd($0, b.count) != nil }
    }
    if found { info.set("wdir", String(decoding: cwd.prefix { $0 != 0 }, as: UTF8.self)) }
    // Before MPI_Init (MPI_Info_create_env) the job is not known yet: do not keep that one.
    guard Runtime.shared != nil else { return info }
    return withABILock {
        if ABI.environmentInfo == nil { ABI.environmentInfo = info }
        return ABI.environmentInfo!
    }
}

/// This process's command line, from /proc/self/cmdline (NUL-separated).
private func commandLine() -> [String] {
    let fd = open("/proc/self/cmdline", O_RDONLY)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast(bytes.last == 0 ? 1 : 0)
        .map { String(decoding: $0, as: UTF8.self) }
}

/// Reads a key argument, checking its length (MPI_ERR_INFO_KEY).
private func readKey(_ p: UnsafePointer<CChar>?) -> (String?, Int32) {
    guard let p else { return (nil, ErrorClass.infoKey.rawValue) }
    let n = strlen(p)
    guard n > 0 && n <= maxInfoKey else { return (nil, ErrorClass.infoKey.rawValue) }
    return (String(cString: p), 0)
}

@_cdecl("PMPI_Info_create")
public func PMPI_Info_create(_ info: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Info_create") else { return notInitialized }
    guard let info else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Info_create") }
    guard let h = ABI.infos.insert(InfoObject()) else { return fail(ErrorClass.noMem.rawValue, rt, nil, "MPI_Info_create") }
    info.pointee = h
    return 0
}

@_cdecl("PMPI_Info_set")
public func PMPI_Info_set(_ info: Int32, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> Int32 {
    guard let rt = runtime("MPI_Info_set") else { return notInitialized }
    guard let i = decodeInfo(info) else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Info_set") }
    let (k, e) = readKey(key)
    guard let k else { return fail(e, rt, nil, "MPI_Info_set") }
    guard let value, strlen(value) <= maxInfoValue else { return fail(ErrorClass.infoValue.rawValue, rt, nil, "MPI_Info_set") }
    i.set(k, String(cString: value))
    return 0
}

@_cdecl("PMPI_Info_get")
public func PMPI_Info_get(_ info: Int32, _ key: UnsafePointer<CChar>?, _ valuelen: Int32,
                          _ value: UnsafeMutablePointer<CChar>?, _ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Info_get") else { return notInitialized }
    guard let i = decodeInfo(info) else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Info_get") }
    let (k, e) = readKey(key)
    guard let k else { return fail(e, rt, nil, "MPI_Info_get") }
    guard valuelen >= 0 else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Info_get") }
    guard let flag else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Info_get") }
    guard let v = i.value(k) else { flag.pointee = 0; return 0 }
    flag.pointee = 1
    // `value` holds valuelen characters plus the NUL; longer values are truncated.
    _ = copyString(v, value, max: Int(valuelen) + 1)
    return 0
}

@_cdecl("PMPI_Info_get_valuelen")
public func PMPI_Info_get_valuelen(_ info: Int32, _ key: UnsafePointer<CChar>?, _ valuelen: UnsafeMutablePointer<Int32>?,
                                   _ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Info_get_valuelen") else { return notInitialized }
    guard let i = decodeInfo(info) else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Info_get_valuelen") }
    let (k, e) = readKey(key)
    guard let k else { return fail(e, rt, nil, "MPI_Info_get_valuelen") }
    guard let flag, let valuelen else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Info_get_valuelen") }
    guard let v = i.value(k) else { flag.pointee = 0; return 0 }
    flag.pointee = 1
    valuelen.pointee = Int32(v.utf8.count)
    return 0
}

/// MPI-4's `MPI_Info_get_string`: `buflen` in, the value's length plus one out.
@_cdecl("PMPI_Info_get_string")
public func PMPI_Info_get_string(_ info: Int32, _ key: UnsafePointer<CChar>?, _ buflen: UnsafeMutablePointer<Int32>?,
                                 _ value: UnsafeMutablePointer<CChar>?, _ flag: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Info_get_string") else { return notInitialized }
    guard let i = decodeInfo(info) else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Info_get_string") }
    let (k, e) = readKey(key)
    guard let k else { return fail(e, rt, nil, "MPI_Info_get_string") }
    guard let flag, let buflen else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Info_get_string") }
    guard let v = i.value(k) else { flag.pointee = 0; return 0 }
    flag.pointee = 1
    if buflen.pointee > 0 { _ = copyString(v, value, max: Int(buflen.pointee)) }
    buflen.pointee = Int32(v.utf8.count + 1)
    return 0
}

@_cdecl("PMPI_Info_get_nkeys")
public func PMPI_Info_get_nkeys(_ info: Int32, _ nkeys: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Info_get_nkeys") else { return notInitialized }
    guard let i = decodeInfo(info) else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Info_get_nkeys") }
    guard let nkeys else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Info_get_nkeys") }
    nkeys.pointee = Int32(i.entries.count)
    return 0
}

@_cdecl("PMPI_Info_get_nthkey")
public func PMPI_Info_get_nthkey(_ info: Int32, _ n: Int32, _ key: UnsafeMutablePointer<CChar>?) -> Int32 {
    guard let rt = runtime("MPI_Info_get_nthkey") else { return notInitialized }
    guard let i = decodeInfo(info) else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Info_get_nthkey") }
    guard n >= 0 && Int(n) < i.entries.count, let key else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Info_get_nthkey") }
    _ = copyString(i.entries[Int(n)].key, key, max: maxInfoKey + 1)
    return 0
}

@_cdecl("PMPI_Info_delete")
public func PMPI_Info_delete(_ info: Int32, _ key: UnsafePointer<CChar>?) -> Int32 {
    guard let rt = runtime("MPI_Info_delete") else { return notInitialized }
    guard let i = decodeInfo(info) else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Info_delete") }
    let (k, e) = readKey(key)
    guard let k else { return fail(e, rt, nil, "MPI_Info_delete") }
    guard i.delete(k) else { return fail(ErrorClass.infoNokey.rawValue, rt, nil, "MPI_Info_delete") }
    return 0
}

@_cdecl("PMPI_Info_dup")
public func PMPI_Info_dup(_ info: Int32, _ newinfo: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Info_dup") else { return notInitialized }
    guard let i = decodeInfo(info) else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Info_dup") }
    guard let newinfo else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Info_dup") }
    guard let h = ABI.infos.insert(i.copy()) else { return fail(ErrorClass.noMem.rawValue, rt, nil, "MPI_Info_dup") }
    newinfo.pointee = h
    return 0
}

@_cdecl("PMPI_Info_free")
public func PMPI_Info_free(_ info: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Info_free") else { return notInitialized }
    guard let info else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Info_free") }
    guard ABI.infos.lookup(info.pointee) != nil else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Info_free") }
    ABI.infos.remove(info.pointee)
    info.pointee = Handle.infoNull
    return 0
}

/// MPI-4's `MPI_Info_create_env`: a new copy of MPI_INFO_ENV (callable before MPI_Init).
@_cdecl("PMPI_Info_create_env")
public func PMPI_Info_create_env(_ argc: Int32, _ argv: UnsafeMutableRawPointer?, _ info: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let info else { return ErrorClass.arg.rawValue }
    guard let h = ABI.infos.insert(environmentInfo().copy()) else { return ErrorClass.noMem.rawValue }
    info.pointee = h
    return 0
}
