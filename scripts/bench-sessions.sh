#!/usr/bin/env bash
# Concurrent RTSP sessions, camlink vs retina 0.4.21 (issue 9 item 3).
#
#   bash scripts/bench-sessions.sh [secs]        # default 60 s per run; 10 for a smoke run
#   SENDER=mock bash scripts/bench-sessions.sh 10  # the mock camera as sender (real time only)
#   CASES="tcp:1:1 udp:1:25" bash scripts/bench-sessions.sh 10   # a subset (transport:sessions:rate)
#   READ_BUFFER=0 bash scripts/bench-sessions.sh  # no extra camlink row with a smaller read buffer
#   COALESCE_MS=0 bash scripts/bench-sessions.sh  # no extra camlink row with read coalescing
#   FLOOR=0 bash scripts/bench-sessions.sh       # no floor rows
#
# For each case (transport, sessions, pacing rate) and each library in turn: a fresh sender
# process (`camlink-bench-sessions serve`, the light in-process sender streaming a synthetic
# 4 Mbit/s 25 fps H.264 stream, keyframe every 2 s, 1400-byte RTP packets) and a client process
# (`camlink-bench-sessions client`) that opens the sessions, then reads frames for `secs` seconds
# once all of them play. The client's CPU (scheduler run time of its threads, over the measured
# window) and peak RSS (VmHWM) are its own: the sender runs in another process. Everything on
# 127.0.0.1.
#
# The floor rows (light sender only) are no library: a bare SETUP/PLAY, then only reads and
# the RTP header of each packet (sequence, timestamp, marker), frames counted at markers, with
# camlink's read sizes and receive buffers; "floor-co" sleeps COALESCE_MS between batches. They
# show the least any client pays on this machine for the same bytes (benches/sessions/src/floor.rs).
#
# Output: a markdown table per case, the camlink/retina ratios, and the raw lines under
# benches/sessions/target/bench-sessions/.
set -euo pipefail

SECS="${1:-60}"
SENDER="${SENDER:-light}"
CASES="${CASES:-tcp:1:1 tcp:100:1 tcp:500:1 udp:500:1 udp:1:25}"
# For cases of 100 sessions or more, camlink also runs with this SessionOptions::read_buffer
# (bytes; the default is 256 KiB) as an extra row; 0 = no extra row.
READ_BUFFER="${READ_BUFFER:-32768}"
# In every case camlink also runs with this SessionOptions::read_coalescing (ms) as an extra
# row; 0 = no extra row.
COALESCE_MS="${COALESCE_MS:-200}"
# Floor rows (1 = on): the least any client pays, see above.
FLOOR="${FLOOR:-1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WS="$ROOT/benches/sessions"
BIN="$WS/target/release/camlink-bench-sessions"
OUT="$WS/target/bench-sessions/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"

if ! [[ "$SECS" =~ ^[0-9]+$ ]] || ((SECS < 1 || SECS > 600)); then
    echo "secs must be 1..600" >&2
    exit 2
fi

PIDS=()
RMEM_RESTORE=""
cleanup() {
    for p in "${PIDS[@]:-}"; do
        if [[ -n "$p" ]]; then kill "$p" 2>/dev/null || true; fi
    done
    if [[ -n "$RMEM_RESTORE" ]]; then
        sysctl -q -w net.core.rmem_max="$RMEM_RESTORE" >/dev/null 2>&1 &&
            echo "restored net.core.rmem_max=$RMEM_RESTORE"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building (release)"
cargo build --release --quiet --manifest-path "$WS/Cargo.toml"

# 500 sessions: 500 TCP connections (+ 1000 UDP sockets) per process.
if (($(ulimit -n) < 8192)); then
    ulimit -n 8192 2>/dev/null && echo "raised ulimit -n to 8192 (500 sessions need ~1600 descriptors per process)" ||
        echo "warning: ulimit -n is $(ulimit -n); 500 UDP sessions need ~1600 descriptors" >&2
fi

# camlink asks for a 4 MiB SO_RCVBUF on its UDP sockets; the kernel caps it at rmem_max.
# retina leaves SO_RCVBUF at the default (rmem_default).
WANT_RMEM=4194304
RMEM_MAX=$(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo 0)
RMEM_DEF=$(cat /proc/sys/net/core/rmem_default 2>/dev/null || echo 0)
if ((RMEM_MAX < WANT_RMEM)); then
    if sysctl -q -w net.core.rmem_max=$WANT_RMEM >/dev/null 2>&1; then
        echo "raised net.core.rmem_max from $RMEM_MAX to $WANT_RMEM (restored on exit)"
        RMEM_RESTORE=$RMEM_MAX
        RMEM_MAX=$WANT_RMEM
    else
        echo "note: net.core.rmem_max=$RMEM_MAX caps camlink's 4 MiB UDP receive buffer (cannot raise it)"
    fi
fi
echo "UDP receive buffers: camlink asks $WANT_RMEM bytes, effective $((RMEM_MAX < WANT_RMEM ? RMEM_MAX : WANT_RMEM)) (rmem_max=$RMEM_MAX); retina: rmem_default=$RMEM_DEF"

kv() { # kv "<line>" key
    sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"
}

# run <lib> <transport> <sessions> <rate> [read_buffer] [coalesce_ms]: writes the client's line, followed by the sender's
# stats, to $OUT/<lib>-<transport>-<sessions>-x<rate>.line (run in this shell, not a subshell,
# so that the exit trap knows the sender's pid).
run() {
    local lib=$1 tr=$2 n=$3 rate=$4 rb=${5:-} co=${6:-} tag="$1-$2-$3-x$4"
    local extra=()
    if [[ -n "$rb" ]]; then
        tag="$1-rb$5-$2-$3-x$4"
        extra=(--read-buffer "$rb")
    fi
    if [[ -n "$co" ]]; then
        tag="$1-co$6-$2-$3-x$4"
        extra+=(--coalesce-ms "$co")
    fi
    : >"$OUT/$tag.serve.out"
    "$BIN" serve --sender "$SENDER" --rate "$rate" --stats-secs 2 >"$OUT/$tag.serve.out" 2>"$OUT/$tag.serve.err" &
    local sp=$!
    PIDS+=("$sp")
    local url=""
    for _ in $(seq 100); do
        url=$(sed -n 's/^url=//p' "$OUT/$tag.serve.out" 2>/dev/null || true)
        [[ -n "$url" ]] && break
        sleep 0.1
    done
    if [[ -z "$url" ]]; then
        echo "sender did not start" >&2
        kill "$sp" 2>/dev/null || true
        return 1
    fi
    local line
    line=$(timeout $((SECS + 120)) "$BIN" client --lib "$lib" --transport "$tr" --sessions "$n" --secs "$SECS" --url "$url" "${extra[@]}" 2>"$OUT/$tag.client.err") || true
    kill "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
    local last
    last=$(grep '^serve: playing' "$OUT/$tag.serve.err" | tail -1 || true)
    echo "$line sender_late_frames=$(kv "$last" late_frames) sender_max_lag_ms=$(kv "$last" max_lag_ms)" >"$OUT/$tag.line"
    cat "$OUT/$tag.line" >>"$OUT/results.txt"
}

{
    echo "# bench-sessions $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "Sender: $SENDER; $SECS s measured per run, after all sessions play."
} | tee "$OUT/report.md"

for c in $CASES; do
    IFS=: read -r tr n rate <<<"$c"
    if [[ "$SENDER" == mock && "$rate" != 1 ]]; then
        echo "skipping $c: the mock camera paces in real time only" | tee -a "$OUT/report.md"
        continue
    fi
    echo "== $tr, $n sessions, ${rate}x real time" >&2
    run camlink "$tr" "$n" "$rate"
    run retina "$tr" "$n" "$rate"
    cl=$(cat "$OUT/camlink-$tr-$n-x$rate.line")
    rl=$(cat "$OUT/retina-$tr-$n-x$rate.line")
    bl=""
    if ((READ_BUFFER > 0 && n >= 100)); then
        run camlink "$tr" "$n" "$rate" "$READ_BUFFER"
        bl=$(cat "$OUT/camlink-rb$READ_BUFFER-$tr-$n-x$rate.line")
    fi
    co=""
    if ((COALESCE_MS > 0)); then
        run camlink "$tr" "$n" "$rate" "" "$COALESCE_MS"
        co=$(cat "$OUT/camlink-co$COALESCE_MS-$tr-$n-x$rate.line")
    fi
    fl=""
    flc=""
    if ((FLOOR > 0)) && [[ "$SENDER" == light ]]; then
        run floor "$tr" "$n" "$rate"
        fl=$(cat "$OUT/floor-$tr-$n-x$rate.line")
        if ((COALESCE_MS > 0)); then
            run floor "$tr" "$n" "$rate" "" "$COALESCE_MS"
            flc=$(cat "$OUT/floor-co$COALESCE_MS-$tr-$n-x$rate.line")
        fi
    fi
    {
        echo
        echo "### $tr, $n session(s), ${rate}× real time, $SECS s"
        echo
        echo "| lib | transport | sessions | client CPU-s per stream-minute | peak RSS per session (KiB) | frames received | frames lost | packets lost (lib) | delivered Mbit/s | sender late frames |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        for l in "$cl" "$rl" ${bl:+"$bl"} ${co:+"$co"} ${fl:+"$fl"} ${flc:+"$flc"}; do
            echo "| $(kv "$l" lib) | $tr | $(kv "$l" sessions_ok)/$n | $(kv "$l" cpu_s_per_stream_min) | $(kv "$l" rss_kib_per_session) | $(kv "$l" frames) | $(kv "$l" frames_lost) | $(kv "$l" packets_lost) | $(kv "$l" mbit_s) | $(kv "$l" sender_late_frames) |"
        done
        awk -v a="$(kv "$cl" cpu_s_per_stream_min)" -v b="$(kv "$rl" cpu_s_per_stream_min)" \
            -v c="$(kv "$cl" rss_kib_per_session)" -v d="$(kv "$rl" rss_kib_per_session)" 'BEGIN {
            printf "\ncamlink/retina: CPU per stream-minute %s, RSS per session %s\n",
                (b > 0 ? sprintf("%.2f", a / b) : "n/a"), (d > 0 ? sprintf("%.2f", c / d) : "n/a") }'
        if [[ -n "$bl" ]]; then
            awk -v a="$(kv "$bl" cpu_s_per_stream_min)" -v b="$(kv "$rl" cpu_s_per_stream_min)" \
                -v c="$(kv "$bl" rss_kib_per_session)" -v d="$(kv "$rl" rss_kib_per_session)" -v rb="$READ_BUFFER" 'BEGIN {
                printf "camlink with read_buffer %d KiB / retina: CPU per stream-minute %s, RSS per session %s\n", rb / 1024,
                    (b > 0 ? sprintf("%.2f", a / b) : "n/a"), (d > 0 ? sprintf("%.2f", c / d) : "n/a") }'
        fi
        if [[ -n "$co" ]]; then
            awk -v a="$(kv "$co" cpu_s_per_stream_min)" -v b="$(kv "$rl" cpu_s_per_stream_min)" \
                -v c="$(kv "$co" rss_kib_per_session)" -v d="$(kv "$rl" rss_kib_per_session)" -v ms="$COALESCE_MS" 'BEGIN {
                printf "camlink with read_coalescing %d ms / retina: CPU per stream-minute %s, RSS per session %s\n", ms,
                    (b > 0 ? sprintf("%.2f", a / b) : "n/a"), (d > 0 ? sprintf("%.2f", c / d) : "n/a") }'
        fi
        for l in ${fl:+"$fl"} ${flc:+"$flc"}; do
            awk -v a="$(kv "$l" cpu_s_per_stream_min)" -v b="$(kv "$rl" cpu_s_per_stream_min)" -v n="$(kv "$l" lib)" 'BEGIN {
                printf "%s (no library) / retina: CPU per stream-minute %s\n", n, (b > 0 ? sprintf("%.2f", a / b) : "n/a") }'
        done
    } | tee -a "$OUT/report.md"
done
echo
echo "raw lines and logs: $OUT"
