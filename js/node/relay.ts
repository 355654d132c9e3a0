// A relay node (docs/relay.md): the Node peer with its stores persisted to
// NATS JetStream, shared with every other node. Clients connect with
// webSocket(url) to any node; a node holds nothing that is not in JetStream.
// Its syncs are durable-first: a client hears that the node holds its write
// only once JetStream has acknowledged the publish holding it.
import { open } from '../api.js';
import { MyceliumError } from '../errors.js';
import type { Identity } from '../access/keys.js';
import type { Schema } from '../schema.js';
import type { Store } from '../store.js';
import type { Sync } from '../sync/facade.js';
import { ioOf, SyncFrames } from '../core-io.js';
import { loadEngine } from '../loader.js';
import { presenceRoomOf, startHub, stopHub } from '../sync/network.js';
import { covers } from '../version.js';
import type { JetStreamStorage, JetStreamStorageOptions } from './jetstream-storage.js';
import { jetStreamStorage, storeKey } from './jetstream-storage.js';
import { NatsPresence } from './nats-presence.js';
import type { WebSocketServerOptions } from './websocket-server.js';
import { webSocketServer } from './websocket-server.js';

export interface RelayOptions extends Omit<WebSocketServerOptions, 'status' | 'hub'> {
  /** Where JetStream is, and how the stream is kept. */
  readonly nats: JetStreamStorageOptions;
  /** The stores' schema (every node of a store must serve the same). */
  readonly schema: Schema;
  /**
   * The stores this node serves, opened at start and kept open. Omitted:
   * any store a client says hello for is opened then (with `schema`), and
   * closed once no client has used it for `idleCloseMs`.
   */
  readonly names?: readonly string[];
  /** Stores opened on demand: at most this many at once (default 1,000); hellos for more wait for one to close. */
  readonly maxStores?: number;
  /** A store opened on demand closes after this long with no client (ms; default 60,000). */
  readonly idleCloseMs?: number;
  /** Compact a store once its log holds more than this many bytes and more than the snapshot (default 1 MiB). */
  readonly compactAfterBytes?: number;
  /** Lines worth a log (errors of clients and of storage). */
  readonly log?: (line: string) => void;
  /** How often a node tells the others it is alive (ms; default 2,000): its clients' presence leaves the others 3¼ beats after it dies. */
  readonly presenceHeartbeatMs?: number;
  /**
   * Serve protected stores of `owner` (docs/relay.md, Protected stores):
   * every store is opened as one, and the node syncs as `identity` (the
   * same on every node; an admin adds it to each store as a reader, or as
   * a relay of an encrypted store).
   */
  readonly access?: RelayAccess;
}

export interface RelayAccess {
  /** The stores' owner (a principal). */
  readonly owner: string;
  /** The node's identity (createIdentity(), or a key file: fileKeyStore(dir)(name)). */
  readonly identity: Identity;
  /** The stores' batches are encrypted: the node keeps and forwards ciphertext (a blind relay). */
  readonly encrypt?: boolean;
}

export interface RelayStoreStatus {
  readonly name: string;
  readonly version: Record<string, number>;
  /** Is everything the node joined in JetStream? */
  readonly durable: boolean;
  readonly peers: number;
}

export interface Relay {
  /** ws://host:port (wss:// with TLS) once the node listens. */
  readonly url: string;
  /** The NATS server this node is connected to now. */
  natsServer(): string;
  status(): { readonly stores: readonly RelayStoreStatus[] };
  /** Stops serving; what the node joined is written first. */
  close(): Promise<void>;
}

/** Is everything the store joined in storage? */
function isDurable(store: Store): boolean {
  const durable = store.durableVersion();
  return durable === null || covers(durable, store.version());
}

/** How often a node retries a write JetStream refused (it holds its clients' messages until then). */
const RETRY_MS = 500;
/** Longest store name a node opens on demand (characters). */
const MAX_NAME = 200;

interface Served {
  readonly store: Store;
  readonly sync: Sync;
  /** Its presence leaves the other nodes'. */
  readonly leave: () => void;
  /** Since when it has had no client (performance.now()), or null. */
  idleSince: number | null;
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const fixed = options.names;
  if (fixed && fixed.length === 0) throw new MyceliumError('invalid_argument', 'names: at least one store (or none given, to open stores on demand)');
  const maxStores = options.maxStores ?? 1000;
  const idleCloseMs = options.idleCloseMs ?? 60_000;
  const log = options.log ?? (() => undefined);
  const storage: JetStreamStorage = await jetStreamStorage({ ...options.nats, onError: (e) => log(`jetstream: ${e.message}`) });
  const served = new Map<string, Served>();
  const opening = new Map<string, Promise<void>>();
  let closed = false;
  const status = () => ({
    stores: [...served].map(([name, s]) => ({ name, version: s.store.version(), durable: isDurable(s.store), peers: s.sync.status().peers.length })),
  });
  const { nats: _nats, schema: _schema, names: _names, log: _log, compactAfterBytes, presenceHeartbeatMs: _beat, maxStores: _max, idleCloseMs: _idle, access: _access, ...serverOptions } = options;
  const protection = options.access ? { identity: options.access.identity, access: { owner: options.access.owner, ...(options.access.encrypt ? { encrypt: true } : {}) } } : {};

  const openStore = async (name: string): Promise<void> => {
    // Damaged log entries (someone else publishing to the subject) are skipped and reported, not fatal.
    const store = await open({ schema: options.schema, name, persist: storage, recover: true, compactAfterBytes: compactAfterBytes ?? 1024 * 1024, ...protection });
    if (closed) return void store.close();
    for (const issue of store.recovered) log(`${name}: skipped ${issue.what}: ${issue.error.message}`);
    store.onError((e) => log(`${name}: ${e.message}`));
    try {
      const sync = store.connect(adapter, syncOptions);
      sync.onError((e) => log(`${name}: peer ${e.peer}: ${e.error.message}`));
      await sync.ready();
      const room = presenceRoomOf(store);
      const leave = room ? presence.serve(name, storeKey(name), room, store.frames) : () => undefined;
      served.set(name, { store, sync, leave, idleSince: null });
    } catch (e) {
      store.close();
      throw e;
    }
  };

  const closeStore = async (name: string, s: Served): Promise<void> => {
    await s.store.flush().catch(() => undefined);
    // A client may have come while the flush ran: the store stays.
    if (served.get(name) !== s || (!closed && s.sync.status().peers.length > 0)) return;
    served.delete(name);
    s.leave();
    s.sync.close();
    s.store.close();
  };

  // On demand: a hello for a store this node does not have opens it.
  const storeWanted = (name: string): boolean => {
    if (fixed || closed) return false;
    if (opening.has(name)) return true;
    // Names starting with '$' are the logs kept beside a store ('$batches:', '$members:').
    if (name.length === 0 || name.length > MAX_NAME || name.startsWith('$') || served.size + opening.size >= maxStores) return false;
    const p = openStore(name)
      .catch((e: unknown) => log(`${name}: cannot open: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => opening.delete(name));
    opening.set(name, p);
    return true;
  };

  const adapter = webSocketServer({ ...serverOptions, status, hub: { storeWanted } });
  const syncOptions = { relayDelay: 0, durableFirst: true };
  // Clients of other nodes see this node's clients, and the other way round (docs/relay.md, "Presence").
  const presence = new NatsPresence(storage.pubsub, { nodeId: adapter.peerId, log, heartbeatMs: options.presenceHeartbeatMs });
  let retry: ReturnType<typeof setInterval> | null = null;
  const stopAll = async () => {
    closed = true;
    if (retry) clearInterval(retry);
    presence.close();
    await Promise.all(opening.values());
    await Promise.all([...served].map(([name, s]) => closeStore(name, s)));
    await new Promise((r) => setTimeout(r, 0));
    stopHub(adapter);
    storage.close();
  };
  try {
    // The node listens before any store is open (stores open on a client's hello).
    startHub(adapter, syncOptions, new SyncFrames(ioOf((await loadEngine()).core)));
    for (const name of fixed ?? []) await openStore(name);
    // A publish that failed (no quorum, NATS unreachable) is tried again;
    // until it succeeds the node acknowledges nothing and holds what clients
    // send. Stores opened on demand that no client used for idleCloseMs close.
    retry = setInterval(() => {
      const now = performance.now();
      for (const [name, s] of served) {
        if (s.store.closed) continue;
        if (!isDurable(s.store)) s.store.flush().catch(() => undefined);
        if (fixed) continue;
        if (s.sync.status().peers.length > 0) s.idleSince = null;
        else if (s.idleSince === null) s.idleSince = now;
        else if (now - s.idleSince >= idleCloseMs) void closeStore(name, s);
      }
    }, RETRY_MS);
    retry.unref?.();
    const url = await adapter.listening;
    return {
      url,
      natsServer: () => storage.server(),
      status,
      close: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
