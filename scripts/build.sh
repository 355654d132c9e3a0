#!/usr/bin/env bash
# Builds the npm package into dist/: the WebAssembly (Debian's Emscripten
# through emcmake), wasm-opt, the TypeScript declarations and the bundles.
# MYC_WASM_PRESET=wasm-debug builds with assertions instead.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${MYC_WASM_PRESET:-wasm-release}"

scripts/build-wasm.sh "$preset" "build/$preset" build/wasm

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
