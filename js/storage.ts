// Storage adapters: where a persisted store keeps its bytes. A store's data
// is a meta record (format version, schema), one compacted snapshot and an
// append-only log of delta blobs; every blob is a complete, checksummed
// engine frame, so an adapter only moves bytes and never interprets them.
// Adapters in this package: indexedDBStorage() (browsers), fileStorage(dir)
// (Node) and memoryStorage() (tests, and apps that want a throwaway store).
//
// Next to the data, an adapter keeps the store's pool of actors (DESIGN.md,
// Causality): every actor a replica of this store on this device has written
// under, each held by at most one open replica at a time (a Web Lock, a lock
// file, a set in memory), so a reload writes as the actor it wrote as before
// and version vectors grow with concurrent tabs, not with page loads.
import type { Schema } from './schema.js';
import type { Version } from './version.js';

/** What a store records about itself next to its data. */
export interface StoredMeta {
  /** The storage layout's version (this package writes 1). */
  readonly format: number;
  readonly schema: Schema;
  /** schemaHash(schema): a meta record whose hash does not match its schema is damaged. */
  readonly schemaHash: string;
  /** A protected store's owner and signed membership log (docs/identity.md). */
  readonly access?: {
    readonly owner: string;
    readonly ops: readonly string[];
    /** The actors replicas of this store on this device wrote as, with the key and nonce each derives from (docs/identity.md, Provenance). */
    readonly actors?: Readonly<Record<string, { readonly p: string; readonly n: string }>>;
    /** An encrypted store's (access: { encrypt: true }). */
    readonly encrypt?: boolean;
  };
}

/** Everything an adapter holds for one store. */
export interface Stored {
  readonly meta: StoredMeta | null;
  readonly snapshot: Uint8Array | null;
  /** The log's blobs, oldest first. */
  readonly log: readonly Uint8Array[];
}

/** Who appended a blob, and the version storage holds once it is stored. */
export interface AppendOrigin {
  /** 16 lowercase hex digits: the replica that wrote it. */
  readonly actor: string;
  readonly version: Version;
}

/** An append another writer made (StorageAdapter.watch). */
export interface WatchedAppend extends AppendOrigin {
  readonly blobs: readonly Uint8Array[];
}

/** An actor of the store's pool, held by one open replica until release(). */
export interface ActorLease {
  /** 16 lowercase hex digits. */
  readonly actor: string;
  /** Gives the actor back to the pool; idempotent. */
  release(): void;
}

/**
 * The storage adapter interface. Each method concerns one store, by name;
 * an adapter may hold many stores. Every promise resolves only once its
 * write is durable, and every write is atomic: it happens whole or not at all.
 */
export interface StorageAdapter {
  /** Everything stored under `name` (empty when nothing is). */
  load(name: string): Promise<Stored>;
  /** Replaces the meta record. */
  setMeta(name: string, meta: StoredMeta): Promise<void>;
  /**
   * Appends blobs to the log, all in one atomic write. `origin` says who
   * wrote them and what storage holds once they are stored (an adapter
   * that other writers watch passes it on to them).
   */
  append(name: string, blobs: readonly Uint8Array[], origin?: AppendOrigin): Promise<void>;
  /**
   * A log shared by writers in other processes (jetStreamStorage: relay
   * nodes): calls `listener` with each append another writer makes to
   * `name`, in log order, starting right after the last blob load() returns
   * (call it before load(); nothing appended in between is missed). Returns
   * a function that stops it.
   */
  watch?(name: string, listener: (append: WatchedAppend) => void): () => void;
  /**
   * Compaction, atomically: reads the snapshot and the whole log, calls
   * fold(log, snapshot) (synchronous: it returns a snapshot that includes the
   * stored one and every blob it was given), stores that snapshot and deletes
   * exactly those blobs.
   * Blobs appended concurrently (another tab) are either all in `log` or all
   * kept. With `meta`, the meta record is replaced in the same atomic write
   * (a schema migration). Resolves with the number of blobs folded.
   */
  compact(name: string, fold: (log: readonly Uint8Array[], snapshot: Uint8Array | null) => Uint8Array, meta?: StoredMeta): Promise<number>;
  /**
   * Takes the first actor of the store's pool that no open replica holds,
   * or, when all are held, adds `fresh` to the pool and takes it. Called
   * before load(): the replica then loads whatever the actor's last holder
   * made durable. An adapter without it gives every open() a fresh actor.
   */
  leaseActor?(name: string, fresh: string): Promise<ActorLease>;
  /** Deletes everything stored under `name`. */
  clear(name: string): Promise<void>;
  /** Releases connections and handles. */
  close(): void;
}

export const STORAGE_FORMAT = 1;

/**
 * An in-memory adapter: the same semantics with nothing durable. Stores
 * survive close() and reopen for as long as the adapter object lives, which
 * is what tests of reopening need; `failNext` injects a failed write.
 */
export function memoryStorage(): StorageAdapter & { failNext(error: Error): void; readonly stores: ReadonlyMap<string, Stored> } {
  const stores = new Map<string, { meta: StoredMeta | null; snapshot: Uint8Array | null; log: Uint8Array[]; actors: string[]; held: Set<string> }>();
  let failure: Error | null = null;
  const entry = (name: string) => {
    let e = stores.get(name);
    if (!e) stores.set(name, (e = { meta: null, snapshot: null, log: [], actors: [], held: new Set() }));
    return e;
  };
  const write = async <T>(f: () => T): Promise<T> => {
    await Promise.resolve();
    if (failure) {
      const e = failure;
      failure = null;
      throw e;
    }
    return f();
  };
  return {
    stores,
    failNext(error) {
      failure = error;
    },
    async load(name) {
      await Promise.resolve();
      const e = stores.get(name);
      return e ? { meta: e.meta, snapshot: e.snapshot && e.snapshot.slice(), log: e.log.map((b) => b.slice()) } : { meta: null, snapshot: null, log: [] };
    },
    setMeta: (name, meta) => write(() => void (entry(name).meta = structuredClone(meta))),
    append: (name, blobs) => write(() => void entry(name).log.push(...blobs.map((b) => b.slice()))),
    compact: (name, fold, meta) =>
      write(() => {
        const e = entry(name);
        const log = e.log.map((b) => b.slice());
        e.snapshot = fold(log, e.snapshot && e.snapshot.slice()).slice();
        e.log.splice(0, log.length);
        if (meta) e.meta = structuredClone(meta);
        return log.length;
      }),
    leaseActor: async (name, fresh) => {
      await Promise.resolve();
      const e = entry(name);
      let actor = e.actors.find((a) => !e.held.has(a));
      if (actor === undefined) e.actors.push((actor = fresh));
      e.held.add(actor);
      const { held } = e;
      let released = false;
      return {
        actor,
        release() {
          if (!released) held.delete(actor);
          released = true;
        },
      };
    },
    clear: (name) => write(() => void stores.delete(name)),
    close() {},
  };
}
