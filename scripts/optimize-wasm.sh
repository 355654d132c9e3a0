#!/usr/bin/env bash
# Runs wasm-opt (npm binaryen, newer than Debian's) over the WebAssembly in
# $1 and writes the results, with the JS glue, to $2.
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:-build/wasm-release}"
out="${2:-build/wasm}"
wasm_opt="node_modules/.bin/wasm-opt"
[[ -x "$wasm_opt" ]] || { echo "error: $wasm_opt is missing: run npm ci" >&2; exit 1; }
mkdir -p "$out"
for name in mycelium-core mycelium-zstd; do
  in="$src/$name.wasm"
  [[ -f "$in" ]] || { echo "error: $in is missing: build the wasm preset first" >&2; exit 1; }
  "$wasm_opt" -Oz --converge --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --strip-debug --strip-producers "$in" -o "$out/$name.wasm"
done
cp "$src/mycelium-core.mjs" "$out/"
