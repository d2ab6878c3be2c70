// The size limits of Ferry's PMI-1 service, declared once. The server announces the first three
// in its `cmd=maxes` reply; both sides reject lines longer than `maxLineBytes`.

/// Size limits of the PMI-1 key-value space and of one wire line.
public enum PMILimits {
    /// Longest key-value-space name, in bytes (`kvsname_max`).
    public static let kvsNameMaxBytes = 256
    /// Longest key, in bytes (`keylen_max`).
    public static let keyMaxBytes = 64
    /// Longest value, in bytes before escaping (`vallen_max`).
    public static let valueMaxBytes = 1024
    /// Longest wire line, in bytes: room for a maximal key and value both fully percent-encoded.
    public static let maxLineBytes = 8192
}
