#!/usr/bin/env bash
# Builds the third-party ONVIF device servers (../shared/peers/onvif-peer: onvif-server and
# oxvif's mock) in a folder OUTSIDE this repository and prints the path of the binary.
#
#   CAMLINK_ONVIF_PEER=$(scripts/build-onvif-peer.sh) cargo test --all-features --test onvif_interop
#
# Env: ONVIF_PEER_SRC (default: ../shared/peers/onvif-peer next to the repo),
#      ONVIF_PEER_BUILD_DIR (default: ${TMPDIR:-/tmp}/camlink-onvif-peer). Idempotent: a second run
#      reuses the build (4-6 min on 2 cores the first time). Progress goes to stderr.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
src=${ONVIF_PEER_SRC:-$repo/../shared/peers/onvif-peer}
dst=${ONVIF_PEER_BUILD_DIR:-${TMPDIR:-/tmp}/camlink-onvif-peer}
[ -f "$src/Cargo.toml" ] || { echo "error: no onvif-peer sources at $src" >&2; exit 1; }
case "$(cd "$(dirname "$dst")" 2>/dev/null && pwd)/" in
  "$repo"/*) echo "error: build dir $dst is inside the repository" >&2; exit 1 ;;
esac
mkdir -p "$dst"
# Copy the sources (not a previous target/), keeping the build cache in $dst/target.
for f in Cargo.toml Cargo.lock README.md src; do
  rm -rf "${dst:?}/$f"
  cp -R "$src/$f" "$dst/$f"
done
(cd "$dst" && cargo build --release --locked 1>&2)
echo "$dst/target/release/onvif-peer"
