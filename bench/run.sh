#!/usr/bin/env bash
# Benchmark (not a test): native vs `reel record` vs `reel replay -a` for a
# syscall-heavy and a compute-heavy program (bench/*.c) and process-heavy
# shell workloads (bench/*.sh, run with `sh`). Median of $RUNS runs each
# (default 3), wall-clock time, plus record/native and replay/native ratios
# and the trace size. See bench/README.md.
#
#   bench/run.sh            # build reel in release, run every workload
#   RUNS=5 bench/run.sh     # more runs per measurement
#   REEL=path/to/reel bench/run.sh   # use an already built binary
#   bench/run.sh syscalls   # only the named workloads
set -u -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
cc=${CC:-cc}

if [ -z "${REEL:-}" ]; then
    echo "building reel (release)..." >&2
    (cd "$root" && cargo build --release --quiet --bin reel) || { echo "bench: cargo build failed" >&2; exit 1; }
    REEL=$root/target/release/reel
fi
[ -x "$REEL" ] || { echo "bench: no reel binary at $REEL" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/reel-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export REEL_TRACE_DIR=$work/traces
# Scratch space for the shell workloads (make8.sh builds its project here).
export BENCH_WORK=$work/scratch
mkdir -p "$BENCH_WORK"
# No single run may take longer than this (a hung replay reports FAILED).
limit=${BENCH_TIMEOUT:-300}
# The Python interpreter itself (not a pyenv shim's scripts) for sqlite.sh.
BENCH_PYTHON=${BENCH_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
export BENCH_PYTHON

workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && workloads=(syscalls compute threads4 spawn200 make8 cc3 sqlite memloop timer locks condwait python4 openssl)
# cmd_of W: the command line of workload W (a compiled bench/W.c, or
# `sh bench/W.sh`).
declare -A cmd_of
for w in "${workloads[@]}"; do
    if [ -f "$root/bench/$w.c" ]; then
        "$cc" -O2 -o "$work/$w" "$root/bench/$w.c" || exit 1
        cmd_of[$w]="$work/$w"
    elif [ -f "$root/bench/$w.sh" ]; then
        cmd_of[$w]="sh $root/bench/$w.sh"
    else
        echo "bench: no bench/$w.c or bench/$w.sh" >&2; exit 1
    fi
done

# time_cmd OUTFILE CMD... : runs CMD (stdout to OUTFILE, stderr to OUTFILE.err),
# prints the elapsed seconds, returns CMD's status.
time_cmd() {
    local out=$1; shift
    local t0=$EPOCHREALTIME
    timeout -k 5 "$limit" "$@" >"$out" 2>"$out.err"
    local st=$?
    local t1=$EPOCHREALTIME
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.4f}')" "$t0" "$t1"
    return $st
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "nan")}'; }
ratio() { python3 -c "import sys; a,b=sys.argv[1:]; print(f'{float(a)/float(b):.2f}x' if a!='nan' and float(b)>0 else 'n/a')" "$1" "$2"; }

# calls_of TRACE: "syscall events, bytes per call, share buffered" of a
# trace (buffered calls are syscall events without a site).
calls_of() {
    "$REEL" dump --json "$1" 2>/dev/null | python3 -c '
import json, sys
n = b = 0
for line in sys.stdin:
    e = json.loads(line)
    if e.get("type") == "syscall":
        n += 1
        b += e.get("site") is None
print(f"{n} {int(sys.argv[1]) // max(n, 1)} {100 * b / max(n, 1):.1f}%")' "$(du -sb "$1" | cut -f1)"
}

printf '%-12s %10s %10s %10s %9s %9s %10s %9s %12s %9s %8s %9s  %s\n' workload native_s record_s replay_s rec/nat rep/nat strace_s str/nat trace_bytes syscalls B/call buffered landmarks
for w in "${workloads[@]}"; do
    nat=() failed=""
    for i in $(seq "$runs"); do
        t=$(time_cmd "$work/$w.native.out" ${cmd_of[$w]}) || failed="$failed native(status $?)"
        nat+=("$t")
    done
    n=$(median "${nat[@]}")
    # strace -f beside it: what a tracer that stops at every call pays.
    str=()
    if command -v strace >/dev/null; then
        for i in $(seq "$runs"); do
            t=$(time_cmd "$work/$w.strace.out" strace -f -qq -o /dev/null ${cmd_of[$w]}) && str+=("$t")
        done
    fi
    s=$([ ${#str[@]} -gt 0 ] && median "${str[@]}" || echo nan)
    # Each workload twice: every call stopping, then with the fast path.
    for mode in no-fast-path fast-path; do
    rec=() rep=()
    row=$w
    [ "$mode" = fast-path ] && row="$w+fp"
    for i in $(seq "$runs"); do
        rm -rf "$work/$w.trace"
        t=$(time_cmd "$work/$w.record.out" "$REEL" record --$mode -o "$work/$w.trace" ${cmd_of[$w]}) \
            && rec+=("$t") || failed="$failed $mode record(status $?: $(head -c 300 "$work/$w.record.out.err"))"
    done
    for i in $(seq "$runs"); do
        t=$(REEL_DEBUG=1 time_cmd "$work/$w.replay.out" "$REEL" replay -a "$work/$w.trace") \
            && rep+=("$t") || { failed="$failed $mode replay(status $?: $(head -c 300 "$work/$w.replay.out.err"))"; break; }
        cmp -s "$work/$w.record.out" "$work/$w.replay.out" || failed="$failed $mode replay-output-differs"
    done
    r=$([ ${#rec[@]} -gt 0 ] && median "${rec[@]}" || echo nan)
    p=$([ ${#rep[@]} -gt 0 ] && median "${rep[@]}" || echo nan)
    size=$(du -sb "$work/$w.trace" 2>/dev/null | cut -f1)
    read -r calls per share <<<"$(calls_of "$work/$w.trace")"
    # The replay's landmark summary (REEL_DEBUG): how many, which search.
    lm=$(grep -o 'reached [0-9]* landmarks (compare stub: [0-9]*, breakpoint: [0-9]*)' "$work/$w.replay.out.err" 2>/dev/null \
        | sed 's/reached //; s/compare stub/stub/' | head -1)
    printf '%-12s %10s %10s %10s %9s %9s %10s %9s %12s %9s %8s %9s  %s\n' "$row" "$n" "$r" "$p" "$(ratio "$r" "$n")" "$(ratio "$p" "$n")" "$s" "$(ratio "$s" "$n")" "${size:-n/a}" "${calls:-n/a}" "${per:-n/a}" "${share:-n/a}" "${lm:-0}"
    done
    [ -n "$failed" ] && echo "  $w: FAILED:$failed" >&2
done
exit 0
