#!/usr/bin/env bash
# Runs every cargo-fuzz target for a fixed budget: `bash scripts/fuzz.sh 60` gives each target
# 60 seconds (default 30). Seeds come from our fixtures (fuzz/corpus/<target>/ is made from them
# on the first run). Crashes land in fuzz/artifacts/<target>/; keep each as a named regression
# test. Needs cargo-fuzz (installed here if missing) and a nightly toolchain, or RUSTC_BOOTSTRAP=1
# on stable. Prints one line per target: runs executed and the outcome.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
budget="${1:-30}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz >&2
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
seed() { # seed TARGET FILES...: copy fixtures into the target's corpus once
  local dir="fuzz/corpus/$1"; shift
  [ -d "$dir" ] && return 0
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/$(basename "$f")"; done
  return 0
}
seed rtsp_framing fixtures/rtsp/*
seed rtsp_headers fixtures/rtsp/*
seed sdp fixtures/rtsp/*
seed onvif_soap fixtures/onvif/*.xml fixtures/cameras/*/onvif/*/*.xml
seed discovery_ws fixtures/discovery/*
seed auth_challenge fixtures/auth/*
seed mock_http tests/peers/*
mapfile -t targets < <(cd fuzz && "${fuzz[@]}" list)
failed=0
for t in "${targets[@]}"; do
  log="fuzz/artifacts/$t.log"
  mkdir -p fuzz/artifacts
  if (cd fuzz && "${fuzz[@]}" run "$t" -- -max_total_time="$budget" -rss_limit_mb=2048) >"$log" 2>&1; then
    outcome=ok
  else
    outcome="CRASH (see $log and fuzz/artifacts/$t/)"
    failed=1
  fi
  runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1 || true)
  echo "fuzz $t: ${runs:-?} runs in ${budget}s: $outcome"
done
exit $failed
