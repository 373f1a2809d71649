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
# --- onvif (issue 4): xmllint validates the SOAP requests against the official ONVIF XSDs ---
if ! need xmllint; then
  if need apt-get; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    if [ -z "${CAMLINK_APT_UPDATED:-}" ]; then
      $SUDO apt-get update -qq && export CAMLINK_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libxml2-utils
  else
    echo "error: xmllint missing and no apt-get: install libxml2-utils" >&2; exit 1
  fi
fi
# --- end onvif ---
echo "test dependencies: ok"
