#!/usr/bin/env bash
# Fetches zstd 1.5.7's C sources, pinned, from the npm registry: the
# zstd-napi@0.0.13 tarball carries zstd's full lib/ with its BSD licence.
# Only the tarball is downloaded (`npm pack`); its Node addon is never built.
# Output: build/deps/zstd/{lib,LICENSE}. Idempotent; nothing is committed.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly PKG="zstd-napi@0.0.13"
readonly SHA256="5b76defc67c808989c5f3920e14f662d6318b84b8d53ac3e94b99463d8d65e76"
readonly DEST="build/deps/zstd"

if [[ -f "$DEST/.sha256" && "$(cat "$DEST/.sha256")" == "$SHA256" ]]; then
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetching zstd sources ($PKG from the npm registry)"
if ! (cd "$tmp" && npm pack --silent "$PKG" >/dev/null); then
  echo "error: could not download $PKG from the npm registry (network or registry unreachable)" >&2
  exit 1
fi
tarball="$(ls "$tmp"/*.tgz)"
actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [[ "$actual" != "$SHA256" ]]; then
  echo "error: $PKG has sha256 $actual, expected $SHA256; refusing to build from it" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$tmp" package/deps/zstd/lib package/deps/zstd/LICENSE
rm -rf "$DEST"
mkdir -p "$DEST"
mv "$tmp/package/deps/zstd/lib" "$tmp/package/deps/zstd/LICENSE" "$DEST/"
echo "$SHA256" > "$DEST/.sha256"
echo "zstd sources ready in $DEST"
