// Dynamic processes (MPI-3.1 chapter 10) in Swift: spawn children, reach the parent job, and
// join independent jobs through ports, the name service or a connected socket. Every call
// that creates a communicator is collective over `self` and returns an intercommunicator.
import FerryCore
import FerryRuntime

/// One program to start with `Communicator.spawn`: command, arguments, how many processes,
/// and launch settings (working directory, extra environment, directories to search).
public struct SpawnCommand: Sendable {
    public var command: String
    public var arguments: [String]
    public var processes: Int
    public var workingDirectory: String?
    public var environment: [String: String]
    public var searchPath: [String]

    public init(_ command: String, arguments: [String] = [], processes: Int = 1,
                workingDirectory: String? = nil, environment: [String: String] = [:], searchPath: [String] = []) {
        self.command = command; self.arguments = arguments; self.processes = processes
        self.workingDirectory = workingDirectory; self.environment = environment; self.searchPath = searchPath
    }

    var application: SpawnApplication {
        var info: [(String, String)] = []
        if let d = workingDirectory { info.append(("wdir", d)) }
        if !searchPath.isEmpty { info.append(("path", searchPath.joined(separator: ":"))) }
        if !environment.isEmpty {
            info.append(("env", environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")))
        }
        return SpawnApplication(command: command, arguments: arguments, maxprocs: processes, info: info)
    }
}

/// A port other jobs connect to (`MPI_Open_port`); close it when done.
public struct Port: Sendable, Hashable {
    /// The name to hand to the connecting side (`MPI_Comm_connect`).
    public let name: String

    /// `MPI_Open_port`.
    public static func open() throws(MPIError) -> Port { Port(name: try runtime().openPort()) }

    public init(name: String) { self.name = name }

    /// `MPI_Close_port`.
    public func close() throws(MPIError) { try runtime().closePort(name) }

    /// `MPI_Publish_name`: makes this port findable under `service` by jobs of the same user.
    public func publish(as service: String) throws(MPIError) { try runtime().publishName(service, port: name) }

    /// `MPI_Unpublish_name`.
    public func unpublish(_ service: String) throws(MPIError) { try runtime().unpublishName(service, port: name) }

    /// `MPI_Lookup_name`: the port published under `service`.
    public static func lookup(_ service: String) throws(MPIError) -> Port { Port(name: try runtime().lookupName(service)) }
}

extension Communicator {
    /// `MPI_Comm_spawn_multiple` (one command: `MPI_Comm_spawn`): starts the children, which
    /// share a new world, and returns the intercommunicator to them. Only `root`'s `commands`
    /// are used.
    public func spawn(_ commands: [SpawnCommand], root: Int = 0) throws(MPIError) -> Communicator {
        let rt = try runtime()
        let r = Int32(clamping: root)
        let apps = commands.map(\.application)
        return Communicator(try rt.checked(raw, "MPI_Comm_spawn") { () throws(MPIError) in
            try rt.commSpawn(apps, root: r, comm: raw)
        })
    }

    /// `MPI_Comm_accept` on `port` (used at `root` only).
    public func accept(_ port: Port?, root: Int = 0) throws(MPIError) -> Communicator {
        let rt = try runtime()
        let r = Int32(clamping: root)
        return Communicator(try rt.checked(raw, "MPI_Comm_accept") { () throws(MPIError) in
            try rt.commAccept(port: port?.name ?? "", root: r, comm: raw)
        })
    }

    /// `MPI_Comm_connect` to `port` (used at `root` only).
    public func connect(to port: Port?, root: Int = 0) throws(MPIError) -> Communicator {
        let rt = try runtime()
        let r = Int32(clamping: root)
        return Communicator(try rt.checked(raw, "MPI_Comm_connect") { () throws(MPIError) in
            try rt.commConnect(port: port?.name ?? "", root: r, comm: raw)
        })
    }

    /// `MPI_Comm_disconnect`: waits for this process's outgoing traffic, then frees.
    public func disconnect() throws(MPIError) {
        let rt = try runtime()
        try rt.checked(raw, "MPI_Comm_disconnect") { () throws(MPIError) in try rt.commDisconnect(raw) }
    }

    /// `MPI_Comm_get_parent`: the intercommunicator to the job that spawned this one, if any.
    public static var parent: Communicator? { Runtime.shared?.parentComm.map(Communicator.init) }

    /// `MPI_Comm_join`: the intercommunicator between the two processes at the ends of the
    /// connected socket `fd`.
    public static func join(socket fd: Int32) throws(MPIError) -> Communicator {
        Communicator(try runtime().commJoin(fd: fd))
    }
}
