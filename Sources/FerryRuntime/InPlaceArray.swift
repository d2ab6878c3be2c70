// Storage for the runtime's hot tables (request slots, per-peer queues): elements addressed
// in place, so reading or writing one field costs no copy, no copy-on-write check and no
// reference count, unlike an Array stored in a class.

/// A growable array of plain values addressed in place. Elements are only appended; growing
/// moves them, so callers name elements by index and keep no pointer across an `append`.
/// - Note: never freed (the tables live as long as the runtime).
struct InPlaceArray<Element> {
    private var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 4)
        base = .allocate(capacity: self.capacity)
    }

    init(repeating make: @autoclosure () -> Element, count: Int) {
        self.init(capacity: count)
        for _ in 0..<count { append(make()) }
    }

    @inline(__always)
    subscript(i: Int) -> Element {
        unsafeAddress { UnsafePointer(base + i) }
        nonmutating unsafeMutableAddress { base + i }
    }

    /// Element `i` itself, for code that reads several of its fields.
    @inline(__always) func pointer(_ i: Int32) -> UnsafeMutablePointer<Element> { base + Int(i) }

    mutating func append(_ e: Element) {
        if count == capacity {
            let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
            bigger.moveInitialize(from: base, count: count)
            base.deallocate()
            base = bigger
            capacity *= 2
        }
        (base + count).initialize(to: e)
        count += 1
    }
}
