#!/usr/bin/env bash
# Builds one WebAssembly configuration with Debian's Emscripten and runs
# wasm-opt over it:  build-wasm.sh <preset> <build-dir> <out-dir> [-DVAR=VALUE...]
# Used by build.sh (the package) and size.mjs (the kind variants).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=$1 dir=$2 out=$3
shift 3

for tool in emcmake em++ cmake ninja; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found: run scripts/setup.sh" >&2; exit 1; }
done
export NODE_PATH=/usr/share/nodejs  # Debian's emcc needs it to find acorn
# Emscripten must not see npm's binaryen (node_modules/.bin, which `npm run`
# puts first on PATH): with it, the glue's import names stop matching the
# wasm's. Only optimize-wasm.sh uses the npm wasm-opt, by its path.
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v 'node_modules/.bin' | paste -sd: -)"
export PATH
export EM_CLOSURE_COMPILER="$PWD/node_modules/.bin/google-closure-compiler"

emcmake cmake --preset "$preset" -B "$dir" -DCMAKE_CROSSCOMPILING_EMULATOR=/usr/bin/node "$@" >/dev/null
cmake --build "$dir"
scripts/optimize-wasm.sh "$dir" "$out"
