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
    /// Most keys one rank may put in the launcher's key-value space.
    public static let keysPerRank = 4096
    /// Most bytes (keys plus values) one rank may put in the launcher's key-value space.
    public static let bytesPerRank = 1 << 20
    /// Most reply bytes the launcher holds for a rank that does not read them.
    public static let pendingReplyBytes = 1 << 20
}
