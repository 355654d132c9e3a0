// Bundled by bench/browser-bench.mjs into build/bench/automerge.js; the wasm
// is copied next to it and compiled by streaming.
import * as A from '@automerge/automerge/slim';

export async function load() {
  await A.initializeWasm(fetch(new URL('./automerge.wasm', import.meta.url)));
  return A;
}
