// Zero-copy rendezvous over TCP: after clear-to-send, a contiguous send buffer goes to the socket
// as ONE streamed frame whose payload the kernel reads straight from the user's memory
// (TCPTransport.publishStreamed), and the receiver has the payload read straight into the
// receive buffer (receiveStreamed) — into a scratch copy only when the receive is not one
// contiguous run or would be truncated. The send completes when the kernel has every byte
// (the buffer is the user's again), the receive when every byte has arrived. Called from
// Progress.swift (push and progressNetwork).
import FerryCore
import FerryTransport
import FerryTCP
#if canImport(Glibc)
import Glibc
#endif

/// A streamed send waiting for the kernel to take its last byte.
struct StreamedSend {
    var peer: Int32
    var request: Int32
}

/// A streamed receive waiting for its last byte.
struct StreamedReceive {
    var peer: Int32
    /// The receive request, or -1 when the bytes are discarded (unknown request).
    var request: Int32
    /// Where the bytes land when they cannot go to the user's buffer directly.
    var scratch: UnsafeMutableRawPointer?
    var offset: Int
    var bytes: Int
}

extension Runtime {
    /// Largest payload of one streamed frame (the header's length is 32 bits).
    static let streamedFrameMaxBytes = 1 << 30

    /// Tries to send the rest of stream request `i` to TCP peer `index` as one streamed frame
    /// (or the next 1 GiB of it). Returns false when the transport has no room yet (another
    /// stream is still leaving towards that peer): the caller keeps the item queued.
    func pushStreamed(_ i: Int32, dest: Int32, index: Int, _ tcp: TCPTransport) -> Bool {
        let s = requests.slots.pointer(i)
        while s.pointee.progressBytes < s.pointee.bytes {
            let n = min(s.pointee.bytes - s.pointee.progressBytes, Runtime.streamedFrameMaxBytes)
            var h = FrameHeader()
            h.kind = FrameKind.data.rawValue
            h.length = UInt32(n)
            h.total = UInt64(s.pointee.bytes)
            h.receiverRequest = s.pointee.remoteRequest
            h.offset = UInt64(s.pointee.progressBytes)
            guard tcp.publishStreamed(to: index, header: h, payload: UnsafeRawPointer(s.pointee.contiguousBase! + s.pointee.progressBytes),
                                      bytes: n) else { return false }
            requests.slots[Int(i)].progressBytes += n
            if requests.slots[Int(i)].progressBytes < requests.slots[Int(i)].bytes {
                // One streamed frame at a time per peer: the next part waits for this one.
                streamedSends.append(StreamedSend(peer: dest, request: -1))
                streamsActive = true
                return false
            }
        }
        requests.slots[Int(i)].phase = .done
        streamedSends.append(StreamedSend(peer: dest, request: i))
        streamsActive = true
        return true
    }

    /// Starts receiving the payload of streamed frame `h` from world rank `p` (TCP peer `p`).
    func beginStreamedReceive(_ h: UnsafeMutablePointer<FrameHeader>, from p: Int32, _ tcp: TCPTransport) {
        let n = Int(h.pointee.length), offset = Int(h.pointee.offset)
        guard let i = requests.validate(RequestID(wire: h.pointee.receiverRequest)) else {
            reportCorrupt("streamed data for an unknown request from rank \(p)")
            tcp.receiveStreamed(from: Int(p), into: nil, bytes: n)
            streamedReceives.append(StreamedReceive(peer: p, request: -1, scratch: nil, offset: offset, bytes: n))
            streamsActive = true
            return
        }
        streamsActive = true
        let s = requests.slots.pointer(i)
        if s.pointee.isContiguousData && offset + n <= s.pointee.bytes {
            tcp.receiveStreamed(from: Int(p), into: s.pointee.contiguousBase.map { $0 + offset }, bytes: n)
            streamedReceives.append(StreamedReceive(peer: p, request: i, scratch: nil, offset: offset, bytes: n))
        } else {
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1), alignment: 64)
            tcp.receiveStreamed(from: Int(p), into: scratch, bytes: n)
            streamedReceives.append(StreamedReceive(peer: p, request: i, scratch: scratch, offset: offset, bytes: n))
        }
    }

    /// Completes the streamed sends the kernel has taken and the streamed receives that have
    /// all their bytes. True if any completed.
    func finishStreams(_ tcp: TCPTransport) -> Bool {
        var did = false
        var k = 0
        while k < streamedSends.count {
            let e = streamedSends[k]
            if tcp.streamedBytesPending(to: Int(e.peer)) == 0 {
                streamedSends.remove(at: k)
                if e.request >= 0 { complete(e.request) }
                did = true
                // A stream request waiting behind this one may go now.
                if !sendQueues[Int(e.peer)].isEmpty { markBusyIfIdle(e.peer) }
            } else {
                k += 1
            }
        }
        k = 0
        while k < streamedReceives.count {
            let e = streamedReceives[k]
            if tcp.streamedBytesRemaining(from: Int(e.peer)) == 0 {
                streamedReceives.remove(at: k)
                did = true
                guard e.request >= 0 else { continue }
                if let scratch = e.scratch {
                    unpackIn(e.request, from: scratch, bytes: e.bytes, at: e.offset)
                    scratch.deallocate()
                }
                requests.slots[Int(e.request)].progressBytes += e.bytes
                if requests.slots[Int(e.request)].progressBytes >= requests.slots[Int(e.request)].messageBytes {
                    completeReceive(e.request)
                }
            } else {
                k += 1
            }
        }
        streamsActive = !streamedSends.isEmpty || !streamedReceives.isEmpty
        return did
    }

    /// Puts `dest` back among the destinations `pushAll` serves, if it is not there.
    func markBusyIfIdle(_ dest: Int32) {
        var i = 0
        while i < busyDestinations.count && busyDestinations[i] != dest { i += 1 }
        if i == busyDestinations.count { busyDestinations.append(dest) }
    }
}
