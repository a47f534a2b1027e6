#!/usr/bin/env bash
# Benchmark (not a test) of `reel replay --valgrind=cachegrind` (issue 14),
# the seed's table for our workloads: native, `reel record`, cachegrind run
# live, and cachegrind on the replay. Median of $RUNS runs (default 3),
# wall-clock. Columns: rec/nat (what recording costs), vgrep/vgnat (replay
# under cachegrind over cachegrind live), rec/vgnat (recording against
# running cachegrind live, the seed's argument for analysing the replay).
#
#   bench/valgrind.sh                 # workloads: syscalls compute
#   RUNS=1 bench/valgrind.sh compute  # one run of one workload
set -u -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
cc=${CC:-cc}
command -v valgrind >/dev/null || { echo "bench: valgrind is not installed" >&2; exit 1; }
if [ -z "${REEL:-}" ]; then
    (cd "$root" && cargo build --release --quiet --bin reel) || { echo "bench: cargo build failed" >&2; exit 1; }
    REEL=$root/target/release/reel
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/reel-vgbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export REEL_TRACE_DIR=$work/traces
cg=(--tool=cachegrind --cache-sim=no "--cachegrind-out-file=$work/cg.out")

# median of the wall-clock seconds of running "$@" $runs times
median() {
    local ts=()
    for _ in $(seq "$runs"); do
        local t0=$EPOCHREALTIME
        "$@" >/dev/null 2>&1 || { echo FAILED; return; }
        ts+=("$(echo "$EPOCHREALTIME - $t0" | bc)")
    done
    printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
# `reel record -o` refuses an existing directory: a fresh one each run
record_fresh() { rm -rf "$work/t-rec"; "$REEL" record -o "$work/t-rec" "$@"; }
ratio() { python3 -c "import sys; a,b=sys.argv[1:]; print('%.2fx' % (float(a)/float(b)) if a!='FAILED' and b!='FAILED' else '-')" "$1" "$2"; }

workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && workloads=(syscalls compute)
printf '%-10s %9s %9s %9s %9s %8s %12s %10s\n' workload native_s record_s vgnat_s vgrep_s rec/nat vgrep/vgnat rec/vgnat
for w in "${workloads[@]}"; do
    "$cc" -O2 -o "$work/$w" "$root/bench/$w.c" || continue
    nat=$(median "$work/$w")
    rec=$(median record_fresh "$work/$w")
    rm -rf "$work/t-$w"; "$REEL" record -o "$work/t-$w" "$work/$w" >/dev/null 2>&1
    vgnat=$(median valgrind "${cg[@]}" "$work/$w")
    vgrep=$(median "$REEL" replay --valgrind=cachegrind "$work/t-$w" -- "${cg[@]:1}")
    printf '%-10s %9s %9s %9s %9s %8s %12s %10s\n' "$w" "$nat" "$rec" "$vgnat" "$vgrep" \
        "$(ratio "$rec" "$nat")" "$(ratio "$vgrep" "$vgnat")" "$(ratio "$rec" "$vgnat")"
done
