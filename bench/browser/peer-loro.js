// Bundled by bench/browser-bench.mjs into build/bench/loro.js; the wasm is
// copied next to it and compiled by streaming.
import init, * as L from 'loro-crdt/web';

export async function load() {
  await init({ module_or_path: new URL('./loro_wasm_bg.wasm', import.meta.url) });
  return L;
}
