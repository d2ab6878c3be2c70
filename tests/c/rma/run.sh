#!/bin/sh
# Builds the one-sided (RMA) C tests with Debian's mpicc.mpich and runs each of them on Ferry
# at 1-4 ranks (libmpi.so from a SwiftPM build directory, through LD_LIBRARY_PATH) and under
# Debian's MPICH at 4 ranks: every run must print "<name>: OK" and exit 0, and nothing may be
# left in /dev/shm afterwards. The stress test also runs on Ferry at 6 ranks, more than the
# cores of a small machine, within 30 s (waits that spin instead of blocking take minutes);
# MPICH, which spins when oversubscribed, runs it with fewer rounds.
#   tests/c/rma/run.sh [build-dir]        (default: .build/debug; needs libmpi.so and ferry)
#   FERRY_ONLY=1 / MPICH_ONLY=1           run on one implementation only
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/.build/debug}
work=$(mktemp -d /tmp/ferry-rma.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lib"
cp "$build/libmpi.so" "$work/lib/libmpi.so.12"
ln -sf libmpi.so.12 "$work/lib/libmpich.so.12"
tests="fence pscw lock atomics shared requests errors nosinglecopy stress spread"
fails=0
run() {   # label, expected name, command... (bounded by $limit seconds, default 120)
    label=$1; name=$2; shift 2
    if out=$(timeout "${limit:-120}" "$@" 2>&1) && echo "$out" | grep -qx "$name: OK"; then
        echo "ok   $label"
    else
        echo "FAIL $label"; echo "$out" | sed 's/^/     /' | head -30; fails=$((fails + 1))
    fi
}
for t in $tests; do
    mpicc.mpich -Wall -O1 -o "$work/$t" "$here/$t.c"
    if [ -z "${MPICH_ONLY:-}" ]; then
        for n in 1 2 3 4; do
            run "ferry $t -n $n" "rma-$t" env LD_LIBRARY_PATH="$work/lib" "$build/ferry" run -n $n "$work/$t"
        done
        if [ "$t" = stress ]; then
            limit=30
            run "ferry $t -n 6 (within 30 s)" "rma-$t" env LD_LIBRARY_PATH="$work/lib" "$build/ferry" run -n 6 "$work/$t"
            limit=120
        fi
    fi
    if [ -z "${FERRY_ONLY:-}" ]; then
        if [ "$t" = stress ]; then
            run "mpich $t -n 4 (50 rounds)" "rma-$t" mpiexec.mpich -n 4 "$work/$t" 50
        else
            run "mpich $t -n 4" "rma-$t" mpiexec.mpich -n 4 "$work/$t"
        fi
    fi
done
# Without CAP_SYS_PTRACE a non-dumpable rank refuses single copy: Ferry's MPI_Win_create must
# then fail the same way everywhere (only checkable as root, where setpriv can drop it).
if [ -z "${MPICH_ONLY:-}" ] && [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    run "ferry nosinglecopy -n 3 (refused)" "rma-nosinglecopy" env LD_LIBRARY_PATH="$work/lib" \
        setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace "$build/ferry" run -n 3 "$work/nosinglecopy" refused
fi
left=$(ls /dev/shm | grep '^ferry-' || true)
if [ -n "$left" ]; then echo "FAIL /dev/shm not empty: $left"; fails=$((fails + 1)); fi
[ $fails -eq 0 ] && echo "all RMA tests passed" || { echo "$fails RMA runs failed"; exit 1; }
