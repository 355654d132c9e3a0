// Bundled by bench/browser-bench.mjs into build/bench/yjs.js.
import * as Y from 'yjs';

export async function load() {
  return Y;
}
