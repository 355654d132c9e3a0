// IndexedDB adapter, the implementation (storage-idb.ts loads it on first
// use):
// one database per store name ("mycelium:<name>") with
// three object stores: meta (one record), log (auto-increment keys, one
// delta blob per batch) and snapshot (one record). Each method is one
// transaction; compaction reads the log, folds it and deletes it in a single
// readwrite transaction over log and snapshot, which IndexedDB serializes
// against every other tab's appends — so no blob is ever deleted unfolded.
// The actor pool is a second record of the meta store ("actors"); each
// actor of it is held with a Web Lock named after the database and the
// actor, taken with ifAvailable and held until release() (or until the tab
// goes away, when the browser releases it). Where Web Locks are missing,
// every open() gets a fresh actor: reuse without a lock is never safe.
import { MyceliumError } from './errors.js';
import type { ActorLease, StorageAdapter, Stored, StoredMeta } from './storage.js';

const DB_VERSION = 1;
const META = 'meta';
const LOG = 'log';
const SNAPSHOT = 'snapshot';
const ACTORS = 'actors';

const databaseName = (name: string): string => `mycelium:${name}`;

function storageError(e: unknown, what: string): MyceliumError {
  if (e instanceof MyceliumError) return e;
  const name = e instanceof DOMException || e instanceof Error ? e.name : '';
  const detail = e instanceof Error || e instanceof DOMException ? e.message : String(e);
  if (name === 'QuotaExceededError') return new MyceliumError('quota_exceeded', `${what}: the browser's storage quota is exhausted (${detail})`);
  return new MyceliumError('storage_failed', `${what}: ${name ? `${name}: ` : ''}${detail}`);
}

const request = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/** Resolves when the transaction has committed; rejects when it aborts. */
const done = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
    tx.onerror = (ev) => ev.preventDefault(); // the abort event reports it
  });

interface WebLocks {
  request(name: string, options: { ifAvailable: true }, callback: (lock: unknown) => Promise<void> | null): Promise<unknown>;
}

/**
 * Takes the Web Lock `name` if no one holds it: its release function, or
 * null (also when the browser refuses Web Locks here, e.g. an opaque origin).
 */
function tryLock(locks: WebLocks, name: string): Promise<(() => void) | null> {
  return new Promise((resolve) => {
    try {
      locks
        .request(name, { ifAvailable: true }, (lock) => {
          if (!lock) {
            resolve(null);
            return null;
          }
          // Held until the returned promise settles.
          return new Promise<void>((release) => resolve(() => release()));
        })
        .catch(() => resolve(null));
    } catch {
      resolve(null);
    }
  });
}

export function createIndexedDBStorage(factory: IDBFactory | null | undefined, locks: WebLocks | null = (globalThis.navigator as { locks?: WebLocks } | undefined)?.locks ?? null): StorageAdapter {
  const dbs = new Map<string, Promise<IDBDatabase>>();

  function db(name: string): Promise<IDBDatabase> {
    let p = dbs.get(name);
    if (!p) {
      p = new Promise<IDBDatabase>((resolve, reject) => {
        if (!factory) {
          reject(new MyceliumError('storage_unavailable', 'IndexedDB is not available here (no indexedDB global)'));
          return;
        }
        let open: IDBOpenDBRequest;
        try {
          open = factory.open(databaseName(name), DB_VERSION);
        } catch (e) {
          reject(new MyceliumError('storage_unavailable', `IndexedDB refused to open '${name}': ${String(e)}`));
          return;
        }
        open.onupgradeneeded = () => {
          const d = open.result;
          if (!d.objectStoreNames.contains(META)) d.createObjectStore(META);
          if (!d.objectStoreNames.contains(LOG)) d.createObjectStore(LOG, { autoIncrement: true });
          if (!d.objectStoreNames.contains(SNAPSHOT)) d.createObjectStore(SNAPSHOT);
        };
        open.onsuccess = () => {
          const d = open.result;
          // Another tab deleting or upgrading the database: let it.
          d.onversionchange = () => {
            d.close();
            dbs.delete(name);
          };
          resolve(d);
        };
        open.onerror = () => {
          const e = open.error;
          reject(
            e && e.name === 'VersionError'
              ? new MyceliumError('unsupported_version', `IndexedDB database '${databaseName(name)}' was written by a newer version of mycelium-sync`)
              : new MyceliumError('storage_unavailable', `IndexedDB could not open '${databaseName(name)}' (private browsing or storage disabled?): ${String(e)}`),
          );
        };
        open.onblocked = () => undefined; // waits for other tabs to close older versions
      });
      dbs.set(name, p);
      p.catch(() => dbs.delete(name));
    }
    return p;
  }

  async function tx<T>(name: string, stores: string[], mode: IDBTransactionMode, what: string, body: (t: IDBTransaction) => Promise<T> | T): Promise<T> {
    const d = await db(name);
    let t: IDBTransaction;
    try {
      t = d.transaction(stores, mode, { durability: 'strict' });
    } catch (e) {
      throw storageError(e, what);
    }
    const committed = done(t);
    try {
      const result = await body(t);
      await committed;
      return result;
    } catch (e) {
      try {
        t.abort();
      } catch {
        // already finished
      }
      await committed.catch(() => undefined);
      throw storageError(e, what);
    }
  }

  return {
    load: (name) =>
      tx(name, [META, LOG, SNAPSHOT], 'readonly', `loading '${name}'`, async (t) => {
        const [meta, snapshot, log] = await Promise.all([
          request(t.objectStore(META).get(META)) as Promise<StoredMeta | undefined>,
          request(t.objectStore(SNAPSHOT).get(SNAPSHOT)) as Promise<unknown>,
          request(t.objectStore(LOG).getAll()) as Promise<unknown[]>,
        ]);
        const bytes = (v: unknown, where: string): Uint8Array => {
          if (v instanceof Uint8Array) return v;
          if (v instanceof ArrayBuffer) return new Uint8Array(v);
          throw new MyceliumError('corrupt', `IndexedDB '${databaseName(name)}': ${where} is not bytes`);
        };
        return {
          meta: meta ?? null,
          snapshot: snapshot === undefined ? null : bytes(snapshot, 'the snapshot'),
          log: log.map((v, i) => bytes(v, `log entry ${i}`)),
        } satisfies Stored;
      }),
    setMeta: (name, meta) =>
      tx(name, [META], 'readwrite', `writing the meta record of '${name}'`, (t) => {
        t.objectStore(META).put(meta, META);
      }),
    append: (name, blobs) =>
      tx(name, [LOG], 'readwrite', `appending to '${name}'`, (t) => {
        const log = t.objectStore(LOG);
        for (const b of blobs) log.add(b);
      }),
    compact: (name, fold, meta) =>
      tx(name, [META, LOG, SNAPSHOT], 'readwrite', `compacting '${name}'`, async (t) => {
        const log = t.objectStore(LOG);
        // Keys and values from one cursor-free pair of requests in one
        // transaction: nothing can be appended between them.
        const [keys, values, old] = await Promise.all([
          request(log.getAllKeys()),
          request(log.getAll()),
          request(t.objectStore(SNAPSHOT).get(SNAPSHOT)) as Promise<unknown>,
        ]);
        const asBytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBuffer));
        const snapshot = fold(values.map(asBytes), old === undefined ? null : asBytes(old));
        t.objectStore(SNAPSHOT).put(snapshot, SNAPSHOT);
        if (meta) t.objectStore(META).put(meta, META);
        if (keys.length > 0) log.delete(IDBKeyRange.bound(keys[0]!, keys[keys.length - 1]!));
        return keys.length;
      }),
    leaseActor: async (name, fresh): Promise<ActorLease> => {
      const lease = (actor: string, release: () => void): ActorLease => {
        let held = true;
        return {
          actor,
          release() {
            if (held) release();
            held = false;
          },
        };
      };
      if (!locks) return lease(fresh, () => undefined);
      const lockName = (actor: string) => `${databaseName(name)}:actor:${actor}`;
      try {
        const pool = await tx(name, [META], 'readonly', `reading the actors of '${name}'`, (t) => request(t.objectStore(META).get(ACTORS)) as Promise<unknown>);
        for (const actor of Array.isArray(pool) ? pool : []) {
          if (typeof actor !== 'string' || !/^[0-9a-f]{16}$/.test(actor)) continue;
          const release = await tryLock(locks, lockName(actor));
          if (release) return lease(actor, release);
        }
        // All held: `fresh` is locked first, then added, so no other tab can
        // take it in between.
        const release = await tryLock(locks, lockName(fresh));
        // No lock (refused here): a fresh actor left out of the pool is never reused.
        if (!release) return lease(fresh, () => undefined);
        try {
          await tx(name, [META], 'readwrite', `adding an actor to '${name}'`, async (t) => {
            const store = t.objectStore(META);
            const now = (await request(store.get(ACTORS))) as unknown;
            store.put([...(Array.isArray(now) ? now : []), fresh], ACTORS);
          });
        } catch (e) {
          release();
          throw e;
        }
        return lease(fresh, release);
      } catch (e) {
        throw storageError(e, `taking an actor of '${name}'`);
      }
    },
    clear: async (name) => {
      const d = dbs.get(name);
      dbs.delete(name);
      if (d) (await d.catch(() => null))?.close();
      if (!factory) throw new MyceliumError('storage_unavailable', 'IndexedDB is not available here');
      const r = factory.deleteDatabase(databaseName(name));
      await new Promise<void>((resolve, reject) => {
        r.onsuccess = () => resolve();
        r.onerror = () => reject(storageError(r.error, `deleting '${databaseName(name)}'`));
        r.onblocked = () => undefined; // resolves once other tabs close it
      });
    },
    close() {
      for (const p of dbs.values()) void p.then((d) => d.close(), () => undefined);
      dbs.clear();
    },
  };
}
