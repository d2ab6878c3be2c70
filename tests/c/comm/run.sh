#!/bin/sh
# Builds the communicator tests (communicators and groups, attributes, errors, info,
# topologies with neighborhood collectives) with Debian's mpicc.mpich and runs each on Ferry
# at 1-4 ranks (libmpi.so from a SwiftPM build directory, through LD_LIBRARY_PATH) and under
# Debian's MPICH at 1-4 ranks as a reference: every run must print "<name>: OK" and exit 0.
# Then compares MPI_Dims_create (n <= 3000, 2-6 dimensions) and MPI_Cart_shift on a 2x2 grid
# (periodic and not) between Ferry and MPICH.
#   tests/c/comm/run.sh [build-dir]       (default: .build/debug; needs libmpi.so and ferry)
#   FERRY_ONLY=1 / MPICH_ONLY=1           run on one implementation only
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/.build/debug}
work=$(mktemp -d /tmp/ferry-comm.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lib"
cp "$build/libmpi.so" "$work/lib/libmpi.so.12"
ln -sf libmpi.so.12 "$work/lib/libmpich.so.12"
tests="comm_groups attributes errors info topology"
fails=0
run() {   # label, expected name, command...
    label=$1; name=$2; shift 2
    if out=$(timeout 120 "$@" 2>&1) && echo "$out" | grep -qx "$name: OK"; then
        echo "ok   $label"
    else
        echo "FAIL $label"; echo "$out" | sed 's/^/     /' | head -30; fails=$((fails + 1))
    fi
}
for t in $tests; do
    mpicc.mpich -Wall -O1 -o "$work/$t" "$here/$t.c"
    for n in 1 2 3 4; do
        [ -z "${MPICH_ONLY:-}" ] && run "ferry $t -n $n" "$t" env LD_LIBRARY_PATH="$work/lib" "$build/ferry" run -n $n "$work/$t"
        [ -z "${FERRY_ONLY:-}" ] && run "mpich $t -n $n" "$t" mpiexec.mpich -n $n "$work/$t"
    done
done
if [ -z "${FERRY_ONLY:-}" ] && [ -z "${MPICH_ONLY:-}" ]; then
    cat > "$work/shapes.c" <<'PROG'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    for (int n = 1; rank == 0 && n <= 3000; n++)
        for (int nd = 1; nd <= 6; nd++) {
            int d[6] = {0, 0, 0, 0, 0, 0};
            MPI_Dims_create(n, nd, d);
            printf("dims %d %d:", n, nd);
            for (int i = 0; i < nd; i++) printf(" %d", d[i]);
            printf("\n");
        }
    for (int per = 0; per < 4; per++) {
        int dims[2] = {2, 2}, periods[2] = {per & 1, per >> 1}, r, s, t;
        MPI_Comm c;
        MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &c);
        MPI_Comm_rank(c, &r);
        for (int d = 0; d < 2; d++)
            for (int disp = -3; disp <= 3; disp++) {
                MPI_Cart_shift(c, d, disp, &s, &t);
                printf("shift periods %d rank %d dim %d disp %d: %d %d\n", per, r, d, disp, s, t);
            }
        MPI_Comm_free(&c);
    }
    MPI_Finalize();
    return 0;
}
PROG
    mpicc.mpich -O1 -o "$work/shapes" "$work/shapes.c"
    LD_LIBRARY_PATH="$work/lib" timeout 120 "$build/ferry" run -n 4 "$work/shapes" | sort > "$work/ferry.txt"
    timeout 120 mpiexec.mpich -n 4 "$work/shapes" | sort > "$work/mpich.txt"
    if [ -s "$work/ferry.txt" ] && cmp -s "$work/ferry.txt" "$work/mpich.txt"; then
        echo "ok   Dims_create and Cart_shift identical to MPICH ($(wc -l < "$work/ferry.txt") lines)"
    else
        echo "FAIL Dims_create / Cart_shift differ from MPICH"; diff "$work/mpich.txt" "$work/ferry.txt" | head -20; fails=$((fails + 1))
    fi
fi
[ $fails -eq 0 ] && echo "all communicator tests passed" || { echo "$fails communicator runs failed"; exit 1; }
