#!/usr/bin/env bash
# Installs what camlink's tests need on a machine that has only the Rust toolchain (Debian 12,
# run as root, as CI does). Idempotent and non-interactive; starts no servers. Used by .ci/run.
#
#   bash scripts/install-test-deps.sh            # everything
#   SKIP_APT=1 bash scripts/install-test-deps.sh # only the PyPI/npm parts
#
# What and why (see ../shared/PEERS.md for how each peer is used):
# - ffmpeg/ffprobe: RTSP client peer for the mock camera; checks `camlink play --out` output.
# - GStreamer + gst-rtsp-server (python bindings): RTSP server peer (digest, every codec) and
#   rtspsrc client peer.
# - VLC: a quirky UDP-only RTSP server peer.
# - libxml2-utils (xmllint): validates the SOAP requests camlink builds against the official ONVIF
#   XSDs (tests/onvif_xsd.rs).
# - iproute2: network namespaces for multicast discovery tests.
# - Python venvs with the ONVIF clients onvif-zeep (+ WSDiscovery), onvif-zeep-async and
#   onvif-python (each in its own venv: all three install a top-level package named `onvif`).
# Installs into $PEERS_DIR (default ~/.cache/camlink-peers); the tests find it through
# CAMLINK_PEERS_DIR, which .ci/run sets.
set -euo pipefail

PEERS_DIR="${PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/camlink-peers}"
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
log() { printf '=== [%3ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }
need() { command -v "$1" >/dev/null 2>&1; }

for tool in cargo rustc; do
  need "$tool" || { echo "error: $tool not found: install the Rust toolchain" >&2; exit 1; }
done
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy

APT_PKGS=(
  ffmpeg
  libxml2-utils
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp
  gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0
  vlc-bin vlc-plugin-base
  iproute2
)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ "${SKIP_APT:-0}" != 1 && ${#missing[@]} -gt 0 ]]; then
  log "apt-get install ${#missing[@]} packages: ${missing[*]}"
  apt-get update -q >/dev/null
  # Keep package scripts from starting services.
  remove_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; remove_policy=1
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt-get install -y -q --no-install-recommends python3-venv >/dev/null
  [[ $remove_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
fi

mkdir -p "$PEERS_DIR"
PY="${PY:-python3}"
mkvenv() {  # mkvenv DIR pkg==ver ...
  local dir="$1"; shift
  [[ -x "$dir/bin/python" ]] || "$PY" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check "$@"
}
log "pip: ONVIF client peers"
mkvenv "$PEERS_DIR/venv-onvif" onvif-zeep==0.2.12 WSDiscovery==2.1.2
mkvenv "$PEERS_DIR/venv-onvif-async" onvif-zeep-async==4.3.0
mkvenv "$PEERS_DIR/venv-onvif-python" onvif-python==0.4.7

log "versions"
# sed reads everything (head would close the pipe early, and pipefail would fail on SIGPIPE).
ffmpeg -version 2>&1 | sed -n 1p
gst-launch-1.0 --version 2>&1 | sed -n 2p
xmllint --version 2>&1 | sed -n 1p
log "test dependencies ready in $PEERS_DIR"
