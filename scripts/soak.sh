#!/usr/bin/env bash
# The long soak: 50 supervised RTSP sessions (TCP, UDP, RTSPS) to 5 mock cameras under random,
# seeded faults for MINUTES minutes (default 10), in release mode; prints the progress every
# 10 s and the summary line (sessions, seconds, faults injected, reconnects, frames, RSS
# start/end/slope, descriptors).
#
#   scripts/soak.sh [MINUTES]          CAMLINK_SOAK_SEED=N repeats a run's faults
set -euo pipefail
minutes="${1:-10}"
case "$minutes" in
  ''|*[!0-9]*) echo "usage: $0 [MINUTES]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
cargo test --release --all-features --test soak --no-run
CAMLINK_SOAK_SECS=$((minutes * 60)) \
  cargo test --release --all-features --test soak -- --ignored --nocapture --test-threads=1 soak
