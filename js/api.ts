// open() and load(): the way in.
import { MyceliumError } from './errors.js';
import type { LoadInfo, LoadOptions } from './loader.js';
import { loadEngine } from './loader.js';
import type { Migration } from './persistence.js';
import type { StoreAccess } from './access/access.js';
import type { Identity } from './access/keys.js';
import type { Schema } from './schema.js';
import type { StorageAdapter } from './storage.js';
import { Store } from './store.js';

let defaultStorage: (() => StorageAdapter) | null = null;

/** @internal The entry point's storage for persist: true (IndexedDB in browsers, files in Node). */
export function setDefaultStorage(factory: () => StorageAdapter): void {
  defaultStorage = factory;
}

export interface OpenOptions<S extends Schema> extends LoadOptions {
  /** Collections, each a map of field name to kind. */
  schema: S;
  /** The store's name. Default 'default'. */
  name?: string;
  /**
   * This replica's actor, 16 lowercase hex digits. Default: a persisted store
   * takes a free actor of its pool (one it wrote as before), any other a
   * random one. Two live replicas must never share one.
   */
  actor?: string;
  /** The clock for last-writer-wins, in ms (default Date.now). */
  now?: () => number;
  /** Start from a snapshot made by save(). */
  snapshot?: Uint8Array;
  /**
   * Check that a snapshot (given, or stored by persist) loaded right by
   * saving it again, and load again if not. Default: on where WebAssembly
   * runs on JavaScriptCore (Safari, iOS browsers), whose compiler has been
   * seen to compute a large load wrongly; off elsewhere. Costs one save().
   */
  verifyLoads?: boolean;
  /**
   * Keep the store's data: `true` uses IndexedDB in browsers (one database
   * per store name) and files under ./.mycelium in Node; or pass an adapter
   * (indexedDBStorage(), fileStorage(dir), memoryStorage(), your own).
   * open() resolves once the stored data is loaded.
   */
  persist?: boolean | StorageAdapter;
  /** With persist: open what is readable of damaged stored data instead of failing; store.recovered lists what was skipped. */
  recover?: boolean;
  /** With persist: needed when a field's kind changed since the data was stored (see Migration). */
  migrate?: Migration;
  /** With persist: compact the log once it holds more than this many bytes and more than the snapshot (default 64 KiB). */
  compactAfterBytes?: number;
  /**
   * Secondary indexes (docs/queries.md, Indexes), per collection the lww or
   * counter fields to keep sorted: `{ todos: ['due', 'votes'] }`. A query
   * whose first orderBy field has one reads only as far into the collection
   * as its window needs. Built when the store opens (the engine sorts the
   * records once), then kept up to date with every change.
   */
  index?: { readonly [C in keyof S]?: readonly (keyof S[C] & string)[] };
  /**
   * Protects the store (docs/identity.md): only members of its signed
   * membership sync with it, and only writers and admins write. `owner` (a
   * principal or an identity) is admin from the start; every device of the
   * store names the same owner. Needs `identity`. A persisted protected
   * store keeps its membership with its data and opens only as protected.
   */
  access?: {
    readonly owner?: string | Identity;
    readonly invite?: string;
    /** A device certificate from certifyDevice(user, identity.principal): this device acts for that user (docs/identity.md). */
    readonly certificate?: string;
    /**
     * Encrypts the store end to end (docs/identity.md, Encryption): batches
     * travel and rest as AES-GCM ciphertext under keys only members receive,
     * so a relay that is not a member forwards what it cannot read. Part of
     * the store's identity: every device names it (an invite carries it).
     */
    readonly encrypt?: boolean;
  };
  /** This replica's identity (createIdentity()), for a protected store. */
  identity?: Identity;
}

function isAdapter(x: unknown): x is StorageAdapter {
  const a = x as Partial<StorageAdapter> | null;
  return typeof a === 'object' && a !== null && ['load', 'setMeta', 'append', 'compact', 'clear', 'close'].every((k) => typeof (a as Record<string, unknown>)[k] === 'function');
}

/** Opens a store: loads the engine on first use, then creates the replica. */
export async function open<const S extends Schema>(options: OpenOptions<S>): Promise<Store<S>> {
  if (typeof options !== 'object' || options === null || typeof options.schema !== 'object' || options.schema === null) {
    throw new MyceliumError('invalid_argument', 'open() takes { schema, ... }');
  }
  const persist: unknown = options.persist;
  if (persist !== undefined && persist !== false && persist !== true && !isAdapter(persist)) {
    throw new MyceliumError('invalid_argument', 'persist is true, false or a storage adapter');
  }
  if (persist && options.snapshot !== undefined) {
    throw new MyceliumError('invalid_argument', 'a persisted store starts from its stored data, not from a snapshot: applyDelta(snapshot) after open()');
  }
  const index = checkIndex(options);
  const access = options.access;
  if (access !== undefined && (typeof access !== 'object' || access === null || (access.owner === undefined && access.invite === undefined))) {
    throw new MyceliumError('invalid_argument', 'access is { owner } or { invite } (or both)');
  }
  const engine = await loadEngine(options);
  let storeAccess: StoreAccess | null = null;
  if (access !== undefined) {
    const { StoreAccess } = await import('./access/access.js');
    storeAccess = await StoreAccess.create(options.name ?? 'default', options.identity, access.owner, access.invite, access.certificate, access.encrypt);
  }
  if (storeAccess && options.actor !== undefined) {
    throw new MyceliumError('invalid_argument', "a protected store's actor derives from its identity (docs/identity.md, Provenance): open it without `actor`");
  }
  if (storeAccess) options = { ...options, actor: storeAccess.actor };
  if (!persist) {
    const store = withIndexes(new Store<S>(engine, options), index);
    if (storeAccess) {
      store.attachAccess(storeAccess);
      await storeAccess.begin();
    }
    return store;
  }
  if (persist === true && !defaultStorage) throw new MyceliumError('storage_unavailable', 'no default storage on this platform: pass persist: <adapter>');
  const adapter = persist === true ? defaultStorage!() : persist;
  // Loaded on first use: apps that never persist never download it.
  let persistence: typeof import('./persistence.js');
  try {
    persistence = await import('./persistence.js');
  } catch (e) {
    throw new MyceliumError('load_failed', `could not load mycelium-sync's persistence module: ${String(e)}`);
  }
  const store = await persistence.openPersisted(engine, options, adapter, persist === true, storeAccess);
  if (storeAccess) {
    store.attachAccess(storeAccess);
    await storeAccess.begin();
  }
  return withIndexes(store, index);
}

/** open({ index }) as [collection, field] pairs, checked against the schema's names (kinds are checked when built). */
function checkIndex<S extends Schema>(options: OpenOptions<S>): [string, string][] {
  const spec: unknown = options.index;
  if (spec === undefined) return [];
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new MyceliumError('invalid_argument', "index is { collection: ['field', ...] }");
  const out: [string, string][] = [];
  for (const [c, fields] of Object.entries(spec)) {
    if (!Object.prototype.hasOwnProperty.call(options.schema, c)) throw new MyceliumError('unknown_field', `index: unknown collection '${c}'`);
    if (!Array.isArray(fields) || !fields.every((f) => typeof f === 'string')) throw new MyceliumError('invalid_argument', `index.${c} is an array of field names`);
    for (const f of fields as string[]) out.push([c, f]);
  }
  return out;
}

/** Builds the store's indexes; a store whose index cannot be built is closed, and the error thrown. */
function withIndexes<S extends Schema>(store: Store<S>, index: readonly [string, string][]): Store<S> {
  try {
    for (const [c, f] of index) store.collection(c).buildIndex(f);
  } catch (e) {
    store.close();
    throw e;
  }
  return store;
}

/** Opens a store from a snapshot (save()): open({ ...options, snapshot }). */
export function load<const S extends Schema>(snapshot: Uint8Array, options: OpenOptions<S>): Promise<Store<S>> {
  return open({ ...options, snapshot });
}

/** How the engine was loaded (after the first open()). */
export async function loadInfo(): Promise<LoadInfo> {
  return (await loadEngine()).info;
}
