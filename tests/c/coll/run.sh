#!/bin/sh
# Builds the collective tests with Debian's mpicc.mpich (Tests/FerryCTests runs them too, from
# `swift test`; this script is the quick loop) and runs them on Ferry's libmpi at
# 1, 2, 3, 4 and 8 ranks (each run bounded by a timeout). Every program must print
# "<name>: OK". Usage: tests/c/coll/run.sh [scratch-path]  (default .build; libmpi and ferry
# are taken from <scratch-path>/debug). Set MPICH=1 to run the same binaries under
# mpiexec.mpich instead (the cross-check against real MPICH).
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
scratch=${1:-.build}
case $scratch in /*) ;; *) scratch=$repo/$scratch ;; esac
out=${TMPDIR:-/tmp}/ferry-coll-tests.$$
mkdir -p "$out/lib"
trap 'rm -rf "$out"' EXIT
cp "$scratch/debug/libmpi.so" "$out/lib/libmpi.so.12"
ln -sf libmpi.so.12 "$out/lib/libmpich.so.12"

cflags="-O1 -Wall -Wno-stringop-overflow"

for prog in coll_blocking coll_nonblocking coll_neighbor coll_ineighbor coll_progress coll_ops; do
    mpicc.mpich $cflags -o "$out/$prog" "$here/$prog.c" || exit 1
done

failed=0
for prog in coll_blocking coll_nonblocking coll_neighbor coll_ineighbor coll_progress coll_ops; do
    for n in 1 2 3 4 8; do
        start=$(date +%s.%N)
        if [ "${MPICH:-0}" = 1 ]; then
            result=$(cd "$out" && timeout 120 mpiexec.mpich -n $n "./$prog" 2>&1)
        else
            result=$(cd "$out" && LD_LIBRARY_PATH="$out/lib" timeout 120 "$scratch/debug/ferry" run -n $n "./$prog" 2>&1)
        fi
        rc=$?
        took=$(echo "$(date +%s.%N) - $start" | bc)
        if [ $rc -eq 0 ] && echo "$result" | grep -q "^$prog: OK$"; then
            printf '%-18s n=%d  OK   %5.2f s\n' "$prog" $n "$took"
            echo "$result" | grep "^$prog: " | grep -v ": OK$" | sed 's/^/    /'
        else
            printf '%-18s n=%d  FAIL (exit %d) %5.2f s\n' "$prog" $n $rc "$took"
            echo "$result" | tail -20 | sed 's/^/    /'
            failed=1
        fi
    done
done
exit $failed
