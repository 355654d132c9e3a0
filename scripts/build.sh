#!/usr/bin/env bash
# Builds the npm package into dist/: the WebAssembly (Debian's Emscripten
# through emcmake), wasm-opt, the TypeScript declarations and the bundles.
# MYC_WASM_PRESET=wasm-debug builds with assertions instead.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${MYC_WASM_PRESET:-wasm-release}"

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

emcmake cmake --preset "$preset" -DCMAKE_CROSSCOMPILING_EMULATOR=/usr/bin/node >/dev/null
cmake --build --preset "$preset"
scripts/optimize-wasm.sh "build/$preset" build/wasm

mkdir -p js/generated
cp build/wasm/mycelium-core.mjs js/generated/
cp bindings/mycelium-core.d.mts js/generated/

rm -rf dist
npx tsc -p tsconfig.json
mkdir -p dist/types/generated && cp bindings/mycelium-core.d.mts dist/types/generated/
node scripts/bundle.mjs
cp build/wasm/mycelium-core.wasm dist/mycelium.wasm
cp build/wasm/mycelium-zstd.wasm dist/mycelium-zstd.wasm
if [[ "$preset" == wasm-debug ]]; then
  # Emscripten's assertions refuse to run a web/worker build under Node.
  echo "wasm-debug: built for browsers (assertions on); dist/ is not checked under Node"
else
  node scripts/check-dist.mjs
fi
echo "built dist/: $(cd dist && ls | tr '\n' ' ')"
