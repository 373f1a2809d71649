#!/usr/bin/env bash
# Interleaved A/B runs of two builds of the sessions bench (camlink only), to see changes
# smaller than the VM's run-to-run noise (±10 % between single runs of one binary).
#
#   bash scripts/bench-sessions-ab.sh OLD_BIN NEW_BIN [transport] [sessions] [secs] [rounds]
#
# OLD_BIN / NEW_BIN: `camlink-bench-sessions` binaries built from two commits, e.g.
#   git worktree add /tmp/old <rev> && (cd /tmp/old/benches/sessions &&
#     CARGO_TARGET_DIR=/tmp/old-target cargo build --release)
# EXTRA="--coalesce-ms 200" passes more client flags to both builds.
# Prints CPU-s per stream-minute of each build per round, then the means and new/old.
set -euo pipefail
OLD=$1 NEW=$2 TR=${3:-tcp} N=${4:-500} SECS=${5:-10} ROUNDS=${6:-6}
ulimit -n 8192 2>/dev/null || true
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
one() { # <bin>: one client run against a fresh light sender of the same build
    "$1" serve --sender light --rate 1 >"$OUT/serve.out" 2>/dev/null &
    local sp=$! url=""
    for _ in $(seq 100); do
        url=$(sed -n 's/^url=//p' "$OUT/serve.out")
        [[ -n "$url" ]] && break
        sleep 0.1
    done
    timeout $((SECS + 120)) "$1" client --lib camlink --transport "$TR" --sessions "$N" --secs "$SECS" --url "$url" ${EXTRA:-} 2>/dev/null |
        sed -n 's/.*cpu_s_per_stream_min=\([^ ]*\).*/\1/p'
    kill "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
}
for r in $(seq "$ROUNDS"); do
    o=$(one "$OLD")
    n=$(one "$NEW")
    echo "round $r: old $o new $n"
    echo "$o $n" >>"$OUT/all"
done
awk '{o+=$1; n+=$2; k++} END {printf "mean old %.5f new %.5f new/old %.3f (%d rounds)\n", o/k, n/k, n/o, k}' "$OUT/all"
