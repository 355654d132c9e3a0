// Bundled by bench/browser-bench.mjs into build/bench/amrepo.js: automerge-repo
// with its IndexedDB storage adapter; automerge's wasm is copied next to it.
import { Automerge, initializeWasm, Repo } from '@automerge/automerge-repo/slim';
import { IndexedDBStorageAdapter } from '@automerge/automerge-repo-storage-indexeddb';

export async function load() {
  await initializeWasm(fetch(new URL('./automerge.wasm', import.meta.url)));
  return { Repo, IndexedDBStorageAdapter, Automerge };
}
