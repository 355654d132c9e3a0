#!/usr/bin/env bash
# Rebuilds roundtrip.wasm from roundtrip.cc and the engine's WebAssembly
# library (build/wasm-release/libmycelium_core.a: npm run build makes it).
set -euo pipefail
cd "$(dirname "$0")"
lib=../../build/wasm-release/libmycelium_core.a
[[ -f "$lib" ]] || { echo "error: $lib is missing: run npm run build first" >&2; exit 1; }
NODE_PATH=/usr/share/nodejs em++ -Oz -std=c++20 -fno-exceptions -I../../cpp roundtrip.cc "$lib" \
  --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 -sERROR_ON_UNDEFINED_SYMBOLS=0 -o roundtrip.wasm
