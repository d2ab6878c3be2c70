// swift-tools-version:6.0
// Ferry: an MPI runtime in Swift. Layers (imports only go downward), see shared DESIGN.md §3:
//   CFerryShims -> FerryCore -> FerrySys -> {FerryPMI, FerryDatatype, FerryReduce,
//   FerryTransport -> {FerryShm, FerryTCP}}
//   -> FerryCollectives -> FerryRuntime -> MPI (Swift API); FerryLaunch -> ferry (CLI).
import PackageDescription

// No unsafe flags in the library targets (SwiftPM refuses them in a version-based dependency):
// the hot-path modules skip dynamic exclusivity checks with `@exclusivity(unchecked)` on their
// class and global stored properties (the runtime serializes access itself: one lock under
// MPI_THREAD_MULTIPLE, one thread otherwise), and read other modules' hot properties through
// inlinable getters, since the attribute only holds inside its module.
let package = Package(
    name: "Ferry",
    products: [
        .library(name: "MPI", targets: ["MPI"]),
        // libmpi.so (soname libmpi.so.12): the C ABI, MPICH-compatible.
        .library(name: "mpi", type: .dynamic, targets: ["FerryABI"]),
        .executable(name: "ferry", targets: ["ferry"]),
    ],
    targets: [
        .target(name: "CFerryShims"),
        .target(name: "FerryCore", dependencies: ["CFerryShims"]),
        .target(name: "FerrySys", dependencies: ["FerryCore", "CFerryShims"]),
        .target(name: "FerryPMI", dependencies: ["FerryCore"]),
        .target(name: "FerryDatatype", dependencies: ["FerryCore"]),
        .target(name: "FerryReduce", dependencies: ["FerryCore"]),
        .target(name: "FerryCollectives", dependencies: ["FerryCore", "FerryReduce"]),
        // The transport interface, the transport-neutral frame header, the in-memory transport.
        .target(name: "FerryTransport", dependencies: ["FerryCore"]),
        .target(name: "FerryShm", dependencies: ["FerrySys", "FerryTransport"]),
        .target(name: "FerryTCP", dependencies: ["FerryCore", "FerrySys", "FerryTransport", "CFerryShims"]),
        .target(name: "FerryRuntime",
                dependencies: ["FerryCore", "FerrySys", "FerryPMI", "FerryDatatype", "FerryReduce",
                               "FerryCollectives", "FerryTransport", "FerryShm", "FerryTCP"]),
        .target(name: "MPI", dependencies: ["FerryRuntime"]),
        // The C side of the ABI: mpi.h, the MPI_* -> PMPI_* entry points, variadic MPI_Pcontrol.
        .target(name: "CMPI", path: "Sources/CMPI"),
        // The Swift side: PMPI_* exported with @_cdecl, handle tables. No protocol logic.
        .target(name: "FerryABI", dependencies: ["FerryRuntime", "CMPI"],
                linkerSettings: [.unsafeFlags(["-Xlinker", "-soname=libmpi.so.12"])]),
        .target(name: "FerryLaunch", dependencies: ["FerryPMI", "FerryCore", "FerryTCP", "CFerryShims"]),
        .executableTarget(name: "ferry", dependencies: ["FerryLaunch"]),
        .executableTarget(name: "pingpong", dependencies: ["FerryRuntime"], path: "Tests/Programs/pingpong"),
        .executableTarget(name: "mpitests", dependencies: ["FerryRuntime"], path: "Tests/Programs/mpitests"),
        .executableTarget(name: "ring", dependencies: ["MPI"], path: "Examples/ring"),
        .executableTarget(name: "swift-api-test", dependencies: ["MPI"], path: "Tests/Programs/swift-api"),
        .testTarget(name: "FerryCoreTests", dependencies: ["FerryCore", "FerrySys", "FerryTransport", "FerryShm", "FerryRuntime"]),
        .testTarget(name: "FerryTransportTests", dependencies: ["FerryTransport", "FerryShm", "FerryCore"]),
        .testTarget(name: "FerryTCPTests", dependencies: ["FerryTCP", "FerryTransport", "FerryCore"]),
        .testTarget(name: "FerryPMITests", dependencies: ["FerryPMI", "FerryLaunch"]),
        .testTarget(name: "FerryDatatypeTests", dependencies: ["FerryDatatype"]),
        .testTarget(name: "FerryReduceTests", dependencies: ["FerryReduce"]),
        .testTarget(name: "FerryCollectivesTests", dependencies: ["FerryCollectives"]),
        .testTarget(name: "FerryIntegrationTests", dependencies: []),
        .testTarget(name: "FerryABITests", dependencies: []),
        .testTarget(name: "FerryCTests", dependencies: []),
        // Fuzz targets for the parsers of bytes from other processes (Fuzz/, scripts/fuzz). A plain
        // build makes corpus replayers; scripts/fuzz builds them with -sanitize=fuzzer -D FUZZING.
        .target(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"], path: "Fuzz/Support"),
        .executableTarget(name: "fuzz-pmi-wire", dependencies: ["FerryPMI", "FuzzSupport"], path: "Fuzz/PMIWire"),
        .executableTarget(name: "fuzz-pmi-line-buffer", dependencies: ["FerryPMI", "FuzzSupport"], path: "Fuzz/PMILineBuffer"),
        .executableTarget(name: "fuzz-pmi-server", dependencies: ["FerryPMI", "FuzzSupport"], path: "Fuzz/PMIServerState"),
        .executableTarget(name: "fuzz-port-handshake", dependencies: ["FerryRuntime", "FuzzSupport"], path: "Fuzz/PortHandshake"),
    ]
)
