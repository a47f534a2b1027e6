#!/usr/bin/env bash
# Benchmark (not a test) of going back under gdb: on recordings of about
# 10 s and 60 s (bench/gdbloop.c, rounds calibrated on this machine), how
# long `reverse-continue` to a breakpoint ~1 s of recording back from the
# end takes (it must not grow with the trace), how long `reel replay -g`
# takes to reach the middle event, and what the checkpoints cost in
# memory. See bench/README.md.
#
#   bench/gdb.sh               # 10 s and 60 s
#   bench/gdb.sh 5 20          # other lengths, in seconds of recording
#   REEL=path/to/reel bench/gdb.sh
set -u -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-cc}
if [ -z "${REEL:-}" ]; then
    (cd "$root" && cargo build --release --quiet --bin reel) || { echo "bench: cargo build failed" >&2; exit 1; }
    REEL=$root/target/release/reel
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/reel-bench-gdb.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$cc" -O1 -g -o "$work/gdbloop" "$root/bench/gdbloop.c" || exit 1

now() { echo "$EPOCHREALTIME"; }
elapsed() { python3 -c "print('%.2f' % ($2 - $1))"; }

# Rounds per second of recording, from a short recording.
cal=20000
t0=$(now)
"$REEL" record -o "$work/cal" "$work/gdbloop" $cal >/dev/null 2>&1 || { echo "bench: calibration failed" >&2; exit 1; }
t1=$(now)
rate=$(python3 -c "print(int($cal / ($t1 - $t0)))")
echo "recording runs ~$rate rounds/s here" >&2

lengths=("$@")
[ ${#lengths[@]} -eq 0 ] && lengths=(10 60)
printf '%-8s %8s %8s %10s %8s %10s %10s %12s %12s\n' \
    length record_s events reverse_s from_ev replayed goto_mid_s ckpt_rss_kib ckpt_pdirty_kib
for secs in "${lengths[@]}"; do
    rounds=$((rate * secs))
    at=$((rounds - rate))
    trace=$work/t$secs
    t0=$(now)
    "$REEL" record -o "$trace" "$work/gdbloop" $rounds $at >/dev/null 2>&1 || { echo "bench: record $secs s failed" >&2; continue; }
    t1=$(now)
    rec_s=$(elapsed "$t0" "$t1")
    events=$("$REEL" info "$trace" 2>/dev/null | sed -n 's/^ *"events": \([0-9]*\),*$/\1/p' | head -1)
    # To the end, then back to milestone(), ~1 s of recording behind.
    out=$("$REEL" replay "$trace" -- -batch -nx \
        -ex continue -ex 'break milestone' \
        -ex 'python import time; t = time.time()' \
        -ex reverse-continue \
        -ex 'python print("REVERSE_S %.3f" % (time.time() - t))' \
        -ex 'monitor checkpoints' 2>&1)
    rev=$(sed -n 's/.*REVERSE_S \([0-9.]*\).*/\1/p' <<<"$out")
    from=$(sed -n 's/.*from event \([0-9]*\) at the earliest.*/\1/p' <<<"$out")
    replayed=$(sed -n 's/.*Last move back replayed \([0-9]*\) events.*/\1/p' <<<"$out")
    rss=$(sed -n 's/.*Checkpoint memory: \([0-9]*\) KiB resident.*/\1/p' <<<"$out")
    pdirty=$(sed -n 's/.*proportional, \([0-9]*\) KiB private dirty.*/\1/p' <<<"$out")
    grep -q 'milestone (x=' <<<"$out" || echo "bench: $secs s: reverse-continue did not reach milestone()" >&2
    mid=$(( ${events:-0} / 2 ))
    t0=$(now)
    "$REEL" replay -g "$mid" "$trace" -- -batch -nx -ex 'monitor when' >/dev/null 2>&1 || echo "bench: -g $mid failed" >&2
    t1=$(now)
    printf '%-8s %8s %8s %10s %8s %10s %10s %12s %12s\n' \
        "${secs}s" "$rec_s" "${events:-?}" "${rev:-nan}" "${from:-?}" "${replayed:-?}" \
        "$(elapsed "$t0" "$t1")" "${rss:-?}" "${pdirty:-?}"
done
