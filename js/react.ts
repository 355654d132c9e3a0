// 'mycelium-sync/react' (docs/react.md): hooks over useSyncExternalStore whose
// snapshots keep their identity until what they show changed. React is the
// app's (a peer dependency); the core comes from 'mycelium-sync' itself
// (scripts/bundle.mjs), so the hooks and the app share one engine.
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { OpenOptions } from './api.js';
import { open } from './api.js';
import type { Collection } from './collection.js';
import type { QuerySpec } from './query.js';
import type { Query } from './query.js';
import type { Fields, RecordOf, Schema } from './schema.js';
import type { Store } from './store.js';
import type { Sync } from './sync/facade.js';
import type { SyncStatus } from './sync/store-sync.js';
import type { PresencePeer } from './sync/presence.js';
import type { JsonValue } from './sync/presence-state.js';

/**
 * A resource made on mount and disposed on unmount, where the dispose waits
 * one task and a mount in between (StrictMode's second mount) cancels it.
 */
interface Held<T> {
  value: T | null;
  timer: ReturnType<typeof setTimeout> | null;
}

function useDeferredDispose<T extends { close(): void }>(held: Held<T>, dispose: (value: { close(): void }) => void): void {
  useEffect(() => {
    if (held.timer !== null) {
      clearTimeout(held.timer);
      held.timer = null;
    }
    return () => {
      held.timer = setTimeout(() => {
        held.timer = null;
        const v = held.value;
        held.value = null;
        if (v !== null) dispose(v);
      }, 0);
    };
  }, [held, dispose]);
}

/**
 * Opens a store on mount and closes it on unmount; null until it is open.
 * The options are read once (give the component another `key` to open
 * another store). An open that fails throws to the nearest error boundary.
 */
export function useStore<const S extends Schema>(options: OpenOptions<S>): Store<S> | null {
  const [store, setStore] = useState<Store<S> | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const held = useRef<Held<Store<S>> & { opening: boolean; unmounted: boolean }>({ value: null, timer: null, opening: false, unmounted: false }).current;
  const first = useRef(options).current;
  useEffect(() => {
    held.unmounted = false;
    if (held.value === null && !held.opening) {
      held.opening = true;
      open(first).then(
        (s) => {
          held.opening = false;
          // Unmounted while opening: close it now.
          if (held.unmounted && held.timer === null && held.value === null) {
            s.close();
            return;
          }
          held.value = s;
          setStore(s);
        },
        (e: unknown) => {
          held.opening = false;
          setFailure(() => e);
        },
      );
    }
    return () => {
      held.unmounted = true;
    };
  }, [held, first]);
  useDeferredDispose(held, closeStore);
  if (failure !== null) throw failure;
  return store;
}

const closeStore = (s: { close(): void }): void => s.close();

/**
 * A snapshot that changes only when `subscribe` reports a change: `read` is
 * called again then, and its result kept until the next report.
 */
function useReported<T>(subscribe: (notify: () => void) => () => void, read: () => T, key: unknown): T {
  const state = useRef<{ key: unknown; reported: number; seen: number; value: T | undefined; fn: ((notify: () => void) => () => void) | null }>({
    key: undefined,
    reported: 0,
    seen: -1,
    value: undefined,
    fn: null,
  }).current;
  if (state.fn === null || state.key !== key) {
    state.key = key;
    state.seen = -1;
    state.fn = (notify) =>
      subscribe(() => {
        state.reported++;
        notify();
      });
  }
  const getSnapshot = (): T => {
    if (state.seen !== state.reported) {
      state.value = read();
      state.seen = state.reported;
    }
    return state.value as T;
  };
  return useSyncExternalStore(state.fn, getSnapshot, getSnapshot);
}

/** The record (undefined when there is none), re-rendering when it changes. */
export function useRecord<F extends Fields>(collection: Collection<F>, id: string): RecordOf<F> | undefined {
  return useReported(
    (notify) => collection.subscribe((changes) => {
      if (changes.some((c) => c.id === id)) notify();
    }),
    () => collection.get(id),
    `${collection.name}\u0000${id}\u0000${identity(collection)}`,
  );
}

/**
 * The results of a live query (docs/queries.md) made on mount, closed on
 * unmount, and made again when `deps` change (by default the spec's JSON:
 * give deps when `where` is a function).
 */
export function useQuery<F extends Fields>(
  collection: Collection<F>,
  spec: QuerySpec<F> = {},
  deps: readonly unknown[] = [JSON.stringify(spec, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))],
): readonly RecordOf<F>[] {
  const held = useRef<Held<Query<F>> & { deps: readonly unknown[] | null; of: Collection<F> | null; retired: Query<F>[] }>({
    value: null,
    timer: null,
    deps: null,
    of: null,
    retired: [],
  }).current;
  const same = held.of === collection && held.deps !== null && held.deps.length === deps.length && held.deps.every((d, i) => Object.is(d, deps[i]));
  if (held.value === null || !same) {
    // A query for the new deps. The one it replaces closes once this render
    // commits (a render React discards must not close what is on screen);
    // a query made by a discarded render is let go (the collection holds
    // its queries weakly).
    if (held.value !== null) held.retired.push(held.value);
    held.value = collection.query(spec);
    held.deps = deps;
    held.of = collection;
  }
  const q = held.value;
  useEffect(() => {
    for (const old of held.retired.splice(0)) if (old !== held.value) old.close();
  });
  useDeferredDispose(held, closeQuery);
  return useSyncExternalStore(q.subscribe, q.results, q.results);
}

const closeQuery = (q: { close(): void }): void => q.close();

/** The sync's status (null without a sync), re-rendering when it changes. */
export function useSyncStatus(sync: Sync | null | undefined): SyncStatus | null {
  return useReported(
    (notify) => (sync ? sync.subscribe(() => notify()) : () => undefined),
    () => (sync ? sync.status() : null),
    sync ? identity(sync) : null,
  );
}

/**
 * Everyone else's presence on this sync (sorted by id; docs/presence.md),
 * re-rendering when someone joins, changes or leaves. With `state`, this
 * replica's own presence is set to it whenever its JSON changes (null
 * clears it); without, the hook only reads.
 */
export function usePresence(sync: Sync | null | undefined, state?: JsonValue | null): readonly PresencePeer[] {
  const json = state === undefined ? undefined : JSON.stringify(state);
  useEffect(() => {
    if (!sync || sync.closed || json === undefined) return;
    sync.presence.set(JSON.parse(json) as JsonValue | null);
  }, [sync, json]);
  const p = sync ? sync.presence : null;
  return useSyncExternalStore(p ? p.subscribe : noSubscribe, p ? p.peers : noPeers, p ? p.peers : noPeers);
}

const noSubscribe = (): (() => void) => () => undefined;
const NOBODY: readonly PresencePeer[] = Object.freeze([]);
const noPeers = (): readonly PresencePeer[] => NOBODY;

// A number per object, so a hook's cache key changes with the object.
const ids = new WeakMap<object, number>();
let nextId = 1;
function identity(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

export type { QuerySpec };
