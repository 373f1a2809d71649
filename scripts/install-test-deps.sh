#!/usr/bin/env bash
# Installs what camlink's tests need on a machine that has only the Rust toolchain.
# Idempotent and non-interactive; starts no servers. Used by .ci/run.
#
# Today the suite needs: rustfmt and clippy (checked below). The interop suites add their peers
# here (GStreamer, ffmpeg, the python ONVIF clients, ...), following ../shared/PEERS.md.
set -euo pipefail

need() { command -v "$1" >/dev/null 2>&1; }

for tool in cargo rustc; do
  need "$tool" || { echo "error: $tool not found: install the Rust toolchain" >&2; exit 1; }
done
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
echo "test dependencies: ok"
