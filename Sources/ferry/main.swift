// The `ferry` executable (also installed as `mpiexec` and `mpirun`): all logic is in FerryLaunch.
#if canImport(Glibc)
import Glibc
#endif
import FerryLaunch

exit(FerryCommand.main(CommandLine.arguments))
