// indexedDBStorage(): the IndexedDB storage adapter (storage-idb-impl.ts).
// Its implementation is fetched on first use, so pages that never persist
// do not download it; the adapter object itself is created synchronously.
import { MyceliumError } from './errors.js';
import type { StorageAdapter } from './storage.js';

export function indexedDBStorage(factory: IDBFactory | null = globalThis.indexedDB ?? null): StorageAdapter {
  let impl: Promise<StorageAdapter> | null = null;
  const get = (): Promise<StorageAdapter> =>
    (impl ??= import('./storage-idb-impl.js').then(({ createIndexedDBStorage }) => createIndexedDBStorage(factory)));
  return {
    load: (name) => get().then((a) => a.load(name)),
    setMeta: (name, meta) => get().then((a) => a.setMeta(name, meta)),
    append: (name, blobs) => get().then((a) => a.append(name, blobs)),
    compact: (name, fold, meta) => get().then((a) => a.compact(name, fold, meta)),
    leaseActor: (name, fresh) => get().then((a) => a.leaseActor!(name, fresh)),
    clear: (name) => get().then((a) => a.clear(name)),
    close() {
      if (impl) void impl.then((a) => a.close(), () => undefined);
    },
  };
}
