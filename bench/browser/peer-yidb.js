// Bundled by bench/browser-bench.mjs into build/bench/yidb.js: yjs with its
// IndexedDB provider.
import { IndexeddbPersistence } from 'y-indexeddb';
import * as Y from 'yjs';

export async function load() {
  return { Y, IndexeddbPersistence };
}
