// Bundled by bench/browser-bench.mjs into build/bench/dt.js: diamond-types-node
// (its wasm-bindgen glue is written for Node and reads dt_bg.wasm with fs;
// bench/browser/dt-shims.js stands in for fs, path and util). The wasm is
// fetched from next to the bundle first; the glue then compiles it.
export async function load() {
  const response = await fetch(new URL('./dt_bg.wasm', import.meta.url));
  globalThis.__dtWasmBytes = new Uint8Array(await response.arrayBuffer());
  return require('diamond-types-node');
}
