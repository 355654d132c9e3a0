// open() and load(): the way in.
import { MyceliumError } from './errors.js';
import type { LoadInfo, LoadOptions } from './loader.js';
import { loadEngine } from './loader.js';
import type { Schema } from './schema.js';
import { Store } from './store.js';

export interface OpenOptions<S extends Schema> extends LoadOptions {
  /** Collections, each a map of field name to kind. */
  schema: S;
  /** The store's name. Default 'default'. */
  name?: string;
  /** This replica's actor, 16 lowercase hex digits (default: random). Two live replicas must never share one. */
  actor?: string;
  /** The clock for last-writer-wins, in ms (default Date.now). */
  now?: () => number;
  /** Start from a snapshot made by save(). */
  snapshot?: Uint8Array;
  /**
   * Persistence (IndexedDB) is not part of this version: `true` is refused
   * rather than ignored, so no app believes its data is stored when it is not.
   */
  persist?: false;
}

/** Opens a store: loads the engine on first use, then creates the replica. */
export async function open<const S extends Schema>(options: OpenOptions<S>): Promise<Store<S>> {
  if (typeof options !== 'object' || options === null || typeof options.schema !== 'object' || options.schema === null) {
    throw new MyceliumError('invalid_argument', 'open() takes { schema, ... }');
  }
  if ((options as { persist?: unknown }).persist) {
    throw new MyceliumError('invalid_argument', 'persist: true is not available in this version of mycelium-sync (no storage adapter yet)');
  }
  const engine = await loadEngine(options);
  return new Store<S>(engine, options);
}

/** Opens a store from a snapshot (save()): open({ ...options, snapshot }). */
export function load<const S extends Schema>(snapshot: Uint8Array, options: OpenOptions<S>): Promise<Store<S>> {
  return open({ ...options, snapshot });
}

/** How the engine was loaded (after the first open()). */
export async function loadInfo(): Promise<LoadInfo> {
  return (await loadEngine()).info;
}
