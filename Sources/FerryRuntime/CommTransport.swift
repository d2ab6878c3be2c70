// Adapts a communicator to FerryCollectives' byte-level point-to-point interface: messages go
// through the ordinary protocol, in the communicator's collective context.
import FerryCore
import FerryDatatype
import FerryCollectives

/// Blocking byte transport over one communicator's collective context.
struct CommTransport: CollectiveTransport {
    let runtime: Runtime
    let comm: Communicator
    let context: UInt32
    let rank: Int
    let size: Int
    static let byte = Datatype.predefined(.byte)

    init(_ runtime: Runtime, _ comm: Communicator) {
        self.runtime = runtime
        self.comm = comm
        self.context = comm.collectiveContext
        self.rank = Int(comm.rank)
        self.size = comm.size
    }

    func send(_ buffer: UnsafeRawBufferPointer, to dest: Int, tag: Int32) -> Int32 {
        let r = runtime.isendInternal(buffer.baseAddress, count: buffer.count, datatype: CommTransport.byte,
                                      dest: Int32(dest), tag: tag, comm: comm, context: context)
        return runtime.waitInternal(r).error
    }

    func recv(_ buffer: UnsafeMutableRawBufferPointer, from source: Int, tag: Int32) -> Int32 {
        let r = runtime.irecvInternal(buffer.baseAddress, count: buffer.count, datatype: CommTransport.byte,
                                      source: Int32(source), tag: tag, comm: comm, context: context)
        return runtime.waitInternal(r).error
    }

    func sendRecv(_ send: UnsafeRawBufferPointer, to dest: Int, _ recv: UnsafeMutableRawBufferPointer,
                  from source: Int, tag: Int32) -> Int32 {
        let rr = runtime.irecvInternal(recv.baseAddress, count: recv.count, datatype: CommTransport.byte,
                                       source: Int32(source), tag: tag, comm: comm, context: context)
        let sr = runtime.isendInternal(send.baseAddress, count: send.count, datatype: CommTransport.byte,
                                       dest: Int32(dest), tag: tag, comm: comm, context: context)
        let a = runtime.waitInternal(sr).error
        let b = runtime.waitInternal(rr).error
        return a != 0 ? a : b
    }
}
