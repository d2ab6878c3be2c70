// Dynamic process management (MPI-3.1 chapter 10): spawn, ports, accept/connect, join,
// disconnect, the name service, MPI_Comm_get_parent. Argument decoding only; the work is in
// FerryRuntime/Dynamic.swift.
import FerryCore
import FerryRuntime
#if canImport(Glibc)
import Glibc
#endif

/// MPI_MAX_PORT_NAME in mpi.h.
private let maxPortName = 256

/// Reports a failed dynamic-process call: the detail goes to stderr when the handler is
/// fatal (the job ends, and the class alone would not say why).
private func dynamicFailure(_ error: MPIError, _ rt: Runtime, _ comm: Communicator?, _ fn: StaticString) -> Int32 {
    if case .fatal = (comm ?? rt.world).errorHandler {
        complain(error.detail.hasPrefix("MPI_") ? "ferry: \(error.detail)" : "ferry: \(fn): \(error.detail)")
    }
    return fail(error.code, rt, comm, fn)
}

private func cString(_ p: UnsafeRawPointer?) -> String? {
    p.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) }
}

/// A NULL-terminated `char *argv[]` (MPI_ARGV_NULL is NULL).
private func argumentList(_ p: UnsafeRawPointer?) -> [String] {
    guard let argv = p?.assumingMemoryBound(to: UnsafePointer<CChar>?.self) else { return [] }
    var out: [String] = []
    var i = 0
    while let a = argv[i] { out.append(String(cString: a)); i += 1 }
    return out
}

private func liveIntracomm(_ h: Int32, _ rt: Runtime) -> Communicator? {
    guard let c = decodeComm(h, rt), !c.isFreed, !c.isInter else { return nil }
    return c
}

private func spawn(_ comm: Int32, _ root: Int32, _ intercomm: UnsafeMutablePointer<Int32>?,
                   _ errcodes: UnsafeMutablePointer<Int32>?, _ fn: StaticString,
                   _ applications: (Runtime) throws(MPIError) -> [SpawnApplication]) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let c = liveIntracomm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, fn) }
    guard let intercomm else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    intercomm.pointee = Handle.commNull
    do {
        // Only the root's arguments are significant (MPI-3.1 §10.3.2): others may pass anything.
        let apps = c.rank == root ? try applications(rt) : []
        let n = try rt.commSpawn(apps, root: root, comm: c)
        // Every child started, so every code is MPI_SUCCESS (at every rank, as in MPICH: the
        // intercommunicator tells all of them how many children there are).
        if let errcodes { for k in 0..<n.remoteGroup!.size { errcodes[k] = 0 } }
        return fail(storeComm(n, intercomm, rt), rt, c, fn)
    } catch {
        return dynamicFailure(error, rt, c, fn)
    }
}

@_cdecl("PMPI_Comm_spawn")
public func PMPI_Comm_spawn(_ command: UnsafeRawPointer?, _ argv: UnsafeMutableRawPointer?,
                            _ maxprocs: Int32, _ info: Int32, _ root: Int32, _ comm: Int32,
                            _ intercomm: UnsafeMutablePointer<Int32>?,
                            _ arrayOfErrcodes: UnsafeMutableRawPointer?) -> Int32 {
    spawn(comm, root, intercomm, arrayOfErrcodes?.assumingMemoryBound(to: Int32.self), "MPI_Comm_spawn") { _ throws(MPIError) in
        guard let command = cString(command) else { throw MPIError(.arg, "MPI_Comm_spawn: command is NULL") }
        guard let entries = infoEntries(info) else { throw MPIError(.info, "MPI_Comm_spawn: invalid info object") }
        return [SpawnApplication(command: command, arguments: argumentList(argv), maxprocs: Int(maxprocs),
                                 info: entries.map { ($0.key, $0.value) })]
    }
}

@_cdecl("PMPI_Comm_spawn_multiple")
public func PMPI_Comm_spawn_multiple(_ count: Int32, _ arrayOfCommands: UnsafeMutableRawPointer?,
                                     _ arrayOfArgv: UnsafeMutableRawPointer?,
                                     _ arrayOfMaxprocs: UnsafeRawPointer?,
                                     _ arrayOfInfo: UnsafeRawPointer?, _ root: Int32, _ comm: Int32,
                                     _ intercomm: UnsafeMutablePointer<Int32>?,
                                     _ arrayOfErrcodes: UnsafeMutableRawPointer?) -> Int32 {
    spawn(comm, root, intercomm, arrayOfErrcodes?.assumingMemoryBound(to: Int32.self), "MPI_Comm_spawn_multiple") { _ throws(MPIError) in
        guard count > 0 else { throw MPIError(.arg, "MPI_Comm_spawn_multiple: count is \(count)") }
        guard let commands = arrayOfCommands?.assumingMemoryBound(to: UnsafePointer<CChar>?.self),
              let maxprocs = arrayOfMaxprocs?.assumingMemoryBound(to: Int32.self),
              let infos = arrayOfInfo?.assumingMemoryBound(to: Int32.self) else {
            throw MPIError(.arg, "MPI_Comm_spawn_multiple: NULL command, maxprocs or info array")
        }
        let argvs = arrayOfArgv?.assumingMemoryBound(to: UnsafeRawPointer?.self)
        var apps: [SpawnApplication] = []
        for k in 0..<Int(count) {
            guard let c = commands[k] else { throw MPIError(.arg, "MPI_Comm_spawn_multiple: command \(k) is NULL") }
            guard let entries = infoEntries(infos[k]) else { throw MPIError(.info, "MPI_Comm_spawn_multiple: invalid info object \(k)") }
            apps.append(SpawnApplication(command: String(cString: c), arguments: argumentList(argvs?[k]),
                                         maxprocs: Int(maxprocs[k]), info: entries.map { ($0.key, $0.value) }))
        }
        return apps
    }
}

@_cdecl("PMPI_Open_port")
public func PMPI_Open_port(_ info: Int32, _ portName: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Open_port") else { return notInitialized }
    guard let portName else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Open_port") }
    guard infoEntries(info) != nil else { return fail(ErrorClass.info.rawValue, rt, nil, "MPI_Open_port") }
    do {
        _ = copyString(try rt.openPort(), portName.assumingMemoryBound(to: CChar.self), max: maxPortName)
        return 0
    } catch {
        return dynamicFailure(error, rt, nil, "MPI_Open_port")
    }
}

@_cdecl("PMPI_Close_port")
public func PMPI_Close_port(_ portName: UnsafeRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Close_port") else { return notInitialized }
    guard let name = cString(portName) else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Close_port") }
    do { try rt.closePort(name); return 0 } catch { return dynamicFailure(error, rt, nil, "MPI_Close_port") }
}

private func acceptOrConnect(_ portName: UnsafeRawPointer?, _ info: Int32, _ root: Int32, _ comm: Int32,
                             _ newcomm: UnsafeMutablePointer<Int32>?, accepting: Bool, _ fn: StaticString) -> Int32 {
    guard let rt = runtime(fn) else { return notInitialized }
    guard let c = liveIntracomm(comm, rt) else { return fail(ErrorClass.comm.rawValue, rt, nil, fn) }
    guard let newcomm else { return fail(ErrorClass.arg.rawValue, rt, c, fn) }
    newcomm.pointee = Handle.commNull
    // The port name and info are significant at the root only.
    let port = c.rank == root ? cString(portName) ?? "" : ""
    do {
        let n = accepting ? try rt.commAccept(port: port, root: root, comm: c)
                          : try rt.commConnect(port: port, root: root, comm: c)
        return fail(storeComm(n, newcomm, rt), rt, c, fn)
    } catch {
        return dynamicFailure(error, rt, c, fn)
    }
}

@_cdecl("PMPI_Comm_accept")
public func PMPI_Comm_accept(_ portName: UnsafeRawPointer?, _ info: Int32, _ root: Int32,
                             _ comm: Int32, _ newcomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    acceptOrConnect(portName, info, root, comm, newcomm, accepting: true, "MPI_Comm_accept")
}

@_cdecl("PMPI_Comm_connect")
public func PMPI_Comm_connect(_ portName: UnsafeRawPointer?, _ info: Int32, _ root: Int32,
                              _ comm: Int32, _ newcomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    acceptOrConnect(portName, info, root, comm, newcomm, accepting: false, "MPI_Comm_connect")
}

@_cdecl("PMPI_Comm_join")
public func PMPI_Comm_join(_ fd: Int32, _ intercomm: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_join") else { return notInitialized }
    guard let intercomm else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Comm_join") }
    intercomm.pointee = Handle.commNull
    do {
        return fail(storeComm(try rt.commJoin(fd: fd), intercomm, rt), rt, nil, "MPI_Comm_join")
    } catch {
        return dynamicFailure(error, rt, nil, "MPI_Comm_join")
    }
}

/// MPI_Comm_disconnect: pending outgoing traffic is pushed out, then the communicator is freed
/// (MPI_COMM_NULL gets MPI_ERR_COMM).
@_cdecl("PMPI_Comm_disconnect")
public func PMPI_Comm_disconnect(_ comm: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Comm_disconnect") else { return notInitialized }
    guard let p = comm?.assumingMemoryBound(to: Int32.self), decodeComm(p.pointee, rt) != nil else {
        return fail(ErrorClass.comm.rawValue, rt, nil, "MPI_Comm_disconnect")
    }
    rt.drainOutgoing()
    return PMPI_Comm_free(p)
}

@_cdecl("PMPI_Publish_name")
public func PMPI_Publish_name(_ serviceName: UnsafeRawPointer?, _ info: Int32,
                              _ portName: UnsafeRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Publish_name") else { return notInitialized }
    guard let service = cString(serviceName), let port = cString(portName) else {
        return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Publish_name")
    }
    do { try rt.publishName(service, port: port); return 0 } catch { return dynamicFailure(error, rt, nil, "MPI_Publish_name") }
}

@_cdecl("PMPI_Unpublish_name")
public func PMPI_Unpublish_name(_ serviceName: UnsafeRawPointer?, _ info: Int32,
                                _ portName: UnsafeRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Unpublish_name") else { return notInitialized }
    guard let service = cString(serviceName), let port = cString(portName) else {
        return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Unpublish_name")
    }
    do { try rt.unpublishName(service, port: port); return 0 } catch { return dynamicFailure(error, rt, nil, "MPI_Unpublish_name") }
}

@_cdecl("PMPI_Lookup_name")
public func PMPI_Lookup_name(_ serviceName: UnsafeRawPointer?, _ info: Int32,
                             _ portName: UnsafeMutableRawPointer?) -> Int32 {
    guard let rt = runtime("MPI_Lookup_name") else { return notInitialized }
    guard let service = cString(serviceName), let portName else {
        return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Lookup_name")
    }
    do {
        _ = copyString(try rt.lookupName(service), portName.assumingMemoryBound(to: CChar.self), max: maxPortName)
        return 0
    } catch {
        return dynamicFailure(error, rt, nil, "MPI_Lookup_name")
    }
}

/// The intercommunicator to the job that spawned this one, or MPI_COMM_NULL (not spawned, or
/// the parent communicator was freed / disconnected).
@_cdecl("PMPI_Comm_get_parent")
public func PMPI_Comm_get_parent(_ parent: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let rt = runtime("MPI_Comm_get_parent") else { return notInitialized }
    guard let parent else { return fail(ErrorClass.arg.rawValue, rt, nil, "MPI_Comm_get_parent") }
    return storeComm(rt.parentComm, parent, rt)
}
