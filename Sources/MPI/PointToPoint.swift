// Point-to-point communication on `Communicator`: blocking and nonblocking sends in the four
// modes, receives (sized, probed, scalar, into raw buffers with any datatype), send-receive,
// probe and matched probe (`Message`), persistent requests, and async forms that never block
// a thread of Swift's cooperative pool.
import FerryCore
import FerryDatatype
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

/// A message taken off the queue by `mprobe`/`improbe` (`MPI_Message`): only `receive` on
/// this object can receive it, so another thread's receive cannot steal it.
public final class Message: @unchecked Sendable {
    /// Source, tag and size of the message.
    public let status: Status
    let id: Int
    let comm: FerryRuntime.Communicator
    private var consumed = false

    init(id: Int, status: Status, comm: FerryRuntime.Communicator) {
        self.id = id
        self.status = status
        self.comm = comm
    }

    /// Number of `T` in the message, or nil if its bytes are not a whole number of them.
    public func count<T: MPIElement>(of type: T.Type) -> Int? { status.count(of: type) }

    /// `MPI_Mrecv`: receives the whole message as values of `T`.
    public func receive<T: MPIElement>(_ type: T.Type = T.self) throws(MPIError) -> (values: [T], status: Status) {
        try ireceive(type).wait()
    }

    /// `MPI_Imrecv`: starts receiving the whole message as values of `T`.
    public func ireceive<T: MPIElement>(_ type: T.Type = T.self) throws(MPIError) -> ReceiveRequest<T> {
        let rt = try runtime()
        guard !consumed else {
            try rt.check(ErrorClass.request.rawValue, comm, "MPI_Imrecv")
            fatalError("unreachable")
        }
        let size = max(T.mpiDatatype.size, 1)
        let count = (status.byteCount + size - 1) / size
        let storage = allocateStorage(T.self, count: count)
        var r = RequestID(index: -1, generation: 0)
        let rc = rt.imrecv(storage, count: count, datatype: T.mpiDatatype.raw, message: id, comm: comm, request: &r)
        if rc != 0 { storage.deallocate() }
        try rt.check(rc, comm, "MPI_Imrecv")
        consumed = true
        return ReceiveRequest(Request(r, comm: comm, storage: storage), capacity: count)
    }
}

/// Storage for `count` values of `T` (at least one byte, so the pointer is never null).
@inline(__always)
func allocateStorage<T>(_ type: T.Type, count: Int) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer.allocate(byteCount: max(count * MemoryLayout<T>.stride, 1),
                                     alignment: max(MemoryLayout<T>.alignment, 16))
}

extension Communicator {
    // MARK: core (raw buffers, any datatype)

    /// Posts a send and, with `blocking`, waits for it. Returns an error code.
    private func sendCode(_ p: UnsafeRawPointer?, _ count: Int, _ datatype: FerryDatatype.Datatype, _ dest: Int,
                          _ tag: Int, _ mode: SendMode, _ rt: Runtime) -> Int32 {
        var r = RequestID(index: -1, generation: 0)
        var rc = rt.isend(p, count: count, datatype: datatype, dest: Int32(clamping: dest),
                          tag: Int32(clamping: tag), comm: raw, mode: mode, request: &r)
        if rc == 0 {
            var h: RequestHandle = r
            var st = FerryRuntime.Status()
            rc = rt.wait(&h, status: &st)
        }
        return rc
    }

    /// `MPI_Send` (and `Ssend`, `Rsend`, `Bsend` by `mode`) of `count` elements of
    /// `datatype` at `buffer`: any layout a derived datatype can describe.
    public func send(_ buffer: UnsafeRawPointer?, count: Int, datatype: Datatype, to dest: Int, tag: Int = 0,
                     mode: SendMode = .standard) throws(MPIError) {
        let rt = try runtime()
        try rt.check(sendCode(buffer, count, datatype.raw, dest, tag, mode, rt), raw, "MPI_Send")
    }

    /// `MPI_Recv` of up to `count` elements of `datatype` into `buffer`.
    @discardableResult
    public func receive(into buffer: UnsafeMutableRawPointer?, count: Int, datatype: Datatype,
                        from source: Source = .any, tag: Tag = .any) throws(MPIError) -> Status {
        let rt = try runtime()
        var r = RequestID(index: -1, generation: 0)
        var rc = rt.irecv(buffer, count: count, datatype: datatype.raw, source: source.rawValue, tag: tag.rawValue,
                          comm: raw, request: &r)
        var st = FerryRuntime.Status()
        if rc == 0 {
            var h: RequestHandle = r
            rc = rt.wait(&h, status: &st)
        }
        try rt.check(rc, raw, "MPI_Recv")
        return Status(st)
    }

    /// `MPI_Isend` (by `mode`) from `buffer`, which must stay valid and unchanged until the
    /// request completes.
    public func isend(_ buffer: UnsafeRawPointer?, count: Int, datatype: Datatype, to dest: Int, tag: Int = 0,
                      mode: SendMode = .standard) throws(MPIError) -> Request {
        let rt = try runtime()
        var r = RequestID(index: -1, generation: 0)
        let rc = rt.isend(buffer, count: count, datatype: datatype.raw, dest: Int32(clamping: dest),
                          tag: Int32(clamping: tag), comm: raw, mode: mode, request: &r)
        try rt.check(rc, raw, "MPI_Isend")
        return Request(r, comm: raw, storage: nil)
    }

    /// `MPI_Irecv` into `buffer`, which must stay valid until the request completes.
    public func ireceive(into buffer: UnsafeMutableRawPointer?, count: Int, datatype: Datatype,
                         from source: Source = .any, tag: Tag = .any) throws(MPIError) -> Request {
        let rt = try runtime()
        var r = RequestID(index: -1, generation: 0)
        let rc = rt.irecv(buffer, count: count, datatype: datatype.raw, source: source.rawValue, tag: tag.rawValue,
                          comm: raw, request: &r)
        try rt.check(rc, raw, "MPI_Irecv")
        return Request(r, comm: raw, storage: nil)
    }

    // MARK: blocking sends of values

    /// `MPI_Send` of an array (`mode` picks `Ssend`, `Rsend` or `Bsend`).
    public func send<T: MPIElement>(_ values: [T], to dest: Int, tag: Int = 0, mode: SendMode = .standard) throws(MPIError) {
        let rt = try runtime()
        let rc = values.withUnsafeBytes { b in sendCode(b.baseAddress, values.count, T.mpiDatatype.raw, dest, tag, mode, rt) }
        try rt.check(rc, raw, "MPI_Send")
    }

    /// `MPI_Send` of one value.
    public func send<T: MPIElement>(_ value: T, to dest: Int, tag: Int = 0, mode: SendMode = .standard) throws(MPIError) {
        let rt = try runtime()
        let rc = withUnsafeBytes(of: value) { b in sendCode(b.baseAddress, 1, T.mpiDatatype.raw, dest, tag, mode, rt) }
        try rt.check(rc, raw, "MPI_Send")
    }

    /// `MPI_Ssend`: completes once the receiver has matched the message.
    public func ssend<T: MPIElement>(_ values: [T], to dest: Int, tag: Int = 0) throws(MPIError) {
        try send(values, to: dest, tag: tag, mode: .synchronous)
    }

    /// `MPI_Rsend`: the receiver must already have posted the matching receive.
    public func rsend<T: MPIElement>(_ values: [T], to dest: Int, tag: Int = 0) throws(MPIError) {
        try send(values, to: dest, tag: tag, mode: .ready)
    }

    /// `MPI_Bsend`: copies into the buffer given to `MPI.attachBuffer(bytes:)` and returns.
    public func bsend<T: MPIElement>(_ values: [T], to dest: Int, tag: Int = 0) throws(MPIError) {
        try send(values, to: dest, tag: tag, mode: .buffered)
    }

    // MARK: blocking receives of values

    /// `MPI_Recv` of up to `count` values of `T`; returns the values that arrived.
    public func receive<T: MPIElement>(_ type: T.Type, count: Int, from source: Source = .any,
                                       tag: Tag = .any) throws(MPIError) -> (values: [T], status: Status) {
        try ireceive(type, count: count, from: source, tag: tag).wait()
    }

    /// `MPI_Recv` of one value of `T`.
    public func receive<T: MPIElement>(_ type: T.Type, from source: Source = .any,
                                       tag: Tag = .any) throws(MPIError) -> (value: T, status: Status) {
        let (values, status) = try receive(type, count: 1, from: source, tag: tag)
        guard let v = values.first else {
            if status.raw.source == MPIConstant.procNull || status.isCancelled {
                throw MPIError(.count, "no value: the receive was from Source.none or cancelled")
            }
            let rt = try runtime()
            try rt.check(ErrorClass.count.rawValue, raw, "MPI_Recv")
            fatalError("unreachable")
        }
        return (v, status)
    }

    /// `MPI_Mprobe` + `MPI_Mrecv`: receives a whole message of any length as values of `T`.
    public func receive<T: MPIElement>(arrayOf type: T.Type, from source: Source = .any,
                                       tag: Tag = .any) throws(MPIError) -> (values: [T], status: Status) {
        try mprobe(from: source, tag: tag).receive(type)
    }

    /// `MPI_Recv` into an existing array: up to `values.count` values; returns the status
    /// (`status.count(of: T.self)` says how many arrived).
    @discardableResult
    public func receive<T: MPIElement>(into values: inout [T], from source: Source = .any,
                                       tag: Tag = .any) throws(MPIError) -> Status {
        let n = values.count
        let result = values.withUnsafeMutableBytes { b in
            Result { () throws(MPIError) -> Status in
                try receive(into: b.baseAddress, count: n, datatype: T.mpiDatatype, from: source, tag: tag)
            }
        }
        return try result.get()
    }

    // MARK: nonblocking

    /// `MPI_Isend` of an array; the values are copied, so the array may change right away.
    public func isend<T: MPIElement>(_ values: [T], to dest: Int, tag: Int = 0,
                                     mode: SendMode = .standard) throws(MPIError) -> Request {
        let rt = try runtime()
        let storage = allocateStorage(T.self, count: values.count)
        values.withUnsafeBytes { b in if b.count > 0 { storage.copyMemory(from: b.baseAddress!, byteCount: b.count) } }
        var r = RequestID(index: -1, generation: 0)
        let rc = rt.isend(storage, count: values.count, datatype: T.mpiDatatype.raw, dest: Int32(clamping: dest),
                          tag: Int32(clamping: tag), comm: raw, mode: mode, request: &r)
        if rc != 0 { storage.deallocate() }
        try rt.check(rc, raw, "MPI_Isend")
        return Request(r, comm: raw, storage: storage)
    }

    /// `MPI_Isend` of one value.
    public func isend<T: MPIElement>(_ value: T, to dest: Int, tag: Int = 0,
                                     mode: SendMode = .standard) throws(MPIError) -> Request {
        try isend([value], to: dest, tag: tag, mode: mode)
    }

    /// `MPI_Issend`.
    public func issend<T: MPIElement>(_ values: [T], to dest: Int, tag: Int = 0) throws(MPIError) -> Request {
        try isend(values, to: dest, tag: tag, mode: .synchronous)
    }

    /// `MPI_Irsend`.
    public func irsend<T: MPIElement>(_ values: [T], to dest: Int, tag: Int = 0) throws(MPIError) -> Request {
        try isend(values, to: dest, tag: tag, mode: .ready)
    }

    /// `MPI_Ibsend`.
    public func ibsend<T: MPIElement>(_ values: [T], to dest: Int, tag: Int = 0) throws(MPIError) -> Request {
        try isend(values, to: dest, tag: tag, mode: .buffered)
    }

    /// `MPI_Irecv` of up to `count` values of `T`.
    public func ireceive<T: MPIElement>(_ type: T.Type, count: Int, from source: Source = .any,
                                        tag: Tag = .any) throws(MPIError) -> ReceiveRequest<T> {
        let rt = try runtime()
        let storage = allocateStorage(T.self, count: count)
        var r = RequestID(index: -1, generation: 0)
        let rc = rt.irecv(storage, count: count, datatype: T.mpiDatatype.raw, source: source.rawValue,
                          tag: tag.rawValue, comm: raw, request: &r)
        if rc != 0 { storage.deallocate() }
        try rt.check(rc, raw, "MPI_Irecv")
        return ReceiveRequest(Request(r, comm: raw, storage: storage), capacity: count)
    }

    // MARK: async

    /// Sends without blocking a thread of the cooperative pool (isend, then polls).
    /// - Note: concurrent tasks need `MPI.initialize(threading: .multiple)`.
    public func sendAsync<T: MPIElement>(_ values: [T], to dest: Int, tag: Int = 0,
                                         mode: SendMode = .standard) async throws(MPIError) {
        try await isend(values, to: dest, tag: tag, mode: mode).completion()
    }

    /// Receives up to `count` values without blocking a thread of the cooperative pool.
    /// - Note: concurrent tasks need `MPI.initialize(threading: .multiple)`.
    public func receiveAsync<T: MPIElement>(_ type: T.Type, count: Int, from source: Source = .any,
                                            tag: Tag = .any) async throws(MPIError) -> (values: [T], status: Status) {
        try await ireceive(type, count: count, from: source, tag: tag).value()
    }

    /// Receives a whole message of any length without blocking a thread of the pool
    /// (polls `improbe`, then receives the matched message).
    public func receiveAsync<T: MPIElement>(arrayOf type: T.Type, from source: Source = .any,
                                            tag: Tag = .any) async throws(MPIError) -> (values: [T], status: Status) {
        var polls = 0
        while true {
            if let m = try improbe(from: source, tag: tag) { return try await m.ireceive(type).value() }
            polls += 1
            if polls < 256 { await Task.yield() } else { try? await Task.sleep(nanoseconds: 20_000) }
        }
    }

    // MARK: send-receive

    /// `MPI_Sendrecv`: sends `values` to `dest` and receives up to `count` values of `U` from
    /// `source` at the same time (no deadlock in shifts and exchanges).
    public func sendReceive<T: MPIElement, U: MPIElement>(
        _ values: [T], to dest: Int, sendTag: Int = 0,
        receiving type: U.Type, count: Int, from source: Source, receiveTag: Tag = .any
    ) throws(MPIError) -> (values: [U], status: Status) {
        let incoming = try ireceive(type, count: count, from: source, tag: receiveTag)
        let rt = try runtime()
        let rc = values.withUnsafeBytes { b in sendCode(b.baseAddress, values.count, T.mpiDatatype.raw, dest, sendTag, .standard, rt) }
        if rc != 0 {
            try? incoming.cancel()
            _ = try? incoming.wait()
        }
        try rt.check(rc, raw, "MPI_Sendrecv")
        return try incoming.wait()
    }

    /// `MPI_Sendrecv_replace`: sends `values` and replaces them with up to `values.count`
    /// received values (the array is shortened if fewer arrive).
    @discardableResult
    public func sendReceiveReplace<T: MPIElement>(_ values: inout [T], to dest: Int, sendTag: Int = 0,
                                                  from source: Source, receiveTag: Tag = .any) throws(MPIError) -> Status {
        let (received, status) = try sendReceive(values, to: dest, sendTag: sendTag, receiving: T.self,
                                                 count: values.count, from: source, receiveTag: receiveTag)
        values = received
        return status
    }

    // MARK: probe

    /// `MPI_Iprobe`: the status of a matching message that has arrived, or nil.
    public func iprobe(from source: Source = .any, tag: Tag = .any) throws(MPIError) -> Status? {
        let rt = try runtime()
        let (rc, found, st) = rt.iprobe(source: source.rawValue, tag: tag.rawValue, comm: raw)
        try rt.check(rc, raw, "MPI_Iprobe")
        return found ? Status(st) : nil
    }

    /// `MPI_Probe`: waits for a matching message and returns its status (not receiving it).
    public func probe(from source: Source = .any, tag: Tag = .any) throws(MPIError) -> Status {
        var idle = 0
        while true {
            if let st = try iprobe(from: source, tag: tag) { return st }
            idle += 1
            if idle > 64 { sched_yield() }
        }
    }

    /// `MPI_Improbe`: takes a matching message off the queue, or returns nil.
    public func improbe(from source: Source = .any, tag: Tag = .any) throws(MPIError) -> Message? {
        let rt = try runtime()
        let (rc, found, st, id) = rt.improbe(source: source.rawValue, tag: tag.rawValue, comm: raw)
        try rt.check(rc, raw, "MPI_Improbe")
        return found ? Message(id: id, status: Status(st), comm: raw) : nil
    }

    /// `MPI_Mprobe`: waits for a matching message and takes it off the queue.
    public func mprobe(from source: Source = .any, tag: Tag = .any) throws(MPIError) -> Message {
        var idle = 0
        while true {
            if let m = try improbe(from: source, tag: tag) { return m }
            idle += 1
            if idle > 64 { sched_yield() }
        }
    }

    // MARK: persistent

    /// `MPI_Send_init`: a persistent send of `count` values of `T` from the request's own
    /// buffer (zero-filled at first). Fill `buffer`, `start()`, `wait()`, repeat.
    public func sendInit<T: MPIElement>(_ type: T.Type, count: Int, to dest: Int, tag: Int = 0,
                                        mode: SendMode = .standard) throws(MPIError) -> PersistentRequest<T> {
        let rt = try runtime()
        let storage = allocateStorage(T.self, count: count)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: max(count * MemoryLayout<T>.stride, 1))
        var r = RequestID(index: -1, generation: 0)
        let rc = rt.sendInit(storage, count: count, datatype: T.mpiDatatype.raw, dest: Int32(clamping: dest),
                             tag: Int32(clamping: tag), comm: raw, mode: mode, request: &r)
        if rc != 0 { storage.deallocate() }
        try rt.check(rc, raw, "MPI_Send_init")
        let buffer = UnsafeMutableBufferPointer(start: storage.assumingMemoryBound(to: T.self), count: count)
        return PersistentRequest(Request(r, comm: raw, storage: storage), buffer: buffer)
    }

    /// `MPI_Recv_init`: a persistent receive of up to `count` values of `T` into the request's
    /// own buffer; read `values` after each `wait()`.
    public func receiveInit<T: MPIElement>(_ type: T.Type, count: Int, from source: Source = .any,
                                           tag: Tag = .any) throws(MPIError) -> PersistentRequest<T> {
        let rt = try runtime()
        let storage = allocateStorage(T.self, count: count)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: max(count * MemoryLayout<T>.stride, 1))
        var r = RequestID(index: -1, generation: 0)
        let rc = rt.recvInit(storage, count: count, datatype: T.mpiDatatype.raw, source: source.rawValue,
                             tag: tag.rawValue, comm: raw, request: &r)
        if rc != 0 { storage.deallocate() }
        try rt.check(rc, raw, "MPI_Recv_init")
        let buffer = UnsafeMutableBufferPointer(start: storage.assumingMemoryBound(to: T.self), count: count)
        return PersistentRequest(Request(r, comm: raw, storage: storage), buffer: buffer)
    }
}
