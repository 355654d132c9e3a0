// A relay node (docs/relay.md): the Node peer with its stores persisted to
// NATS JetStream, shared with every other node. Clients connect with
// webSocket(url) to any node; a node holds nothing that is not in JetStream.
// Its syncs are durable-first: a client hears that the node holds its write
// only once JetStream has acknowledged the publish holding it.
import { open } from '../api.js';
import { MyceliumError } from '../errors.js';
import type { Schema } from '../schema.js';
import type { Store } from '../store.js';
import type { Sync } from '../sync/facade.js';
import { presenceRoomOf } from '../sync/network.js';
import { covers } from '../version.js';
import type { JetStreamStorage, JetStreamStorageOptions } from './jetstream-storage.js';
import { jetStreamStorage, storeKey } from './jetstream-storage.js';
import { NatsPresence } from './nats-presence.js';
import type { WebSocketServerOptions } from './websocket-server.js';
import { webSocketServer } from './websocket-server.js';

export interface RelayOptions extends Omit<WebSocketServerOptions, 'status'> {
  /** Where JetStream is, and how the stream is kept. */
  readonly nats: JetStreamStorageOptions;
  /** The stores' schema (every node of a store must serve the same). */
  readonly schema: Schema;
  /** The stores this node serves. */
  readonly names: readonly string[];
  /** Compact a store once its log holds more than this many bytes and more than the snapshot (default 1 MiB). */
  readonly compactAfterBytes?: number;
  /** Lines worth a log (errors of clients and of storage). */
  readonly log?: (line: string) => void;
  /** How often a node tells the others it is alive (ms; default 2,000): its clients' presence leaves the others 3¼ beats after it dies. */
  readonly presenceHeartbeatMs?: number;
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

export async function startRelay(options: RelayOptions): Promise<Relay> {
  if (options.names.length === 0) throw new MyceliumError('invalid_argument', 'a relay serves at least one store');
  const log = options.log ?? (() => undefined);
  const storage: JetStreamStorage = await jetStreamStorage({ ...options.nats, onError: (e) => log(`jetstream: ${e.message}`) });
  const stores: Store[] = [];
  const syncs: Sync[] = [];
  const status = () => ({
    stores: stores.map((s, i) => ({ name: s.name, version: s.version(), durable: isDurable(s), peers: syncs[i]!.status().peers.length })),
  });
  const { nats: _nats, schema: _schema, names: _names, log: _log, compactAfterBytes, presenceHeartbeatMs: _beat, ...serverOptions } = options;
  const adapter = webSocketServer({ ...serverOptions, status });
  let retry: ReturnType<typeof setInterval> | null = null;
  // Clients of other nodes see this node's clients, and the other way round (docs/relay.md, "Presence").
  const presence = new NatsPresence(storage.pubsub, { nodeId: adapter.peerId, log, heartbeatMs: options.presenceHeartbeatMs });
  try {
    for (const name of options.names) {
      // Damaged log entries (someone else publishing to the subject) are skipped and reported, not fatal.
      const store = await open({ schema: options.schema, name, persist: storage, recover: true, compactAfterBytes: compactAfterBytes ?? 1024 * 1024 });
      for (const issue of store.recovered) log(`${name}: skipped ${issue.what}: ${issue.error.message}`);
      store.onError((e) => log(`${name}: ${e.message}`));
      stores.push(store);
      const sync = store.connect(adapter, { relayDelay: 0, durableFirst: true });
      sync.onError((e) => log(`${name}: peer ${e.peer}: ${e.error.message}`));
      syncs.push(sync);
      await sync.ready();
      const room = presenceRoomOf(store);
      if (room) presence.serve(name, storeKey(name), room, store.frames);
    }
    // A publish that failed (no quorum, NATS unreachable) is tried again; until
    // it succeeds the node acknowledges nothing and holds what clients send.
    retry = setInterval(() => {
      for (const s of stores) if (!s.closed && !isDurable(s)) s.flush().catch(() => undefined);
    }, RETRY_MS);
    retry.unref?.();
    const url = await adapter.listening;
    return {
      url,
      natsServer: () => storage.server(),
      status,
      async close() {
        if (retry) clearInterval(retry);
        presence.close();
        await Promise.all(stores.map((s) => s.flush().catch(() => undefined)));
        for (const s of stores) s.close();
        await new Promise((r) => setTimeout(r, 0));
        storage.close();
      },
    };
  } catch (e) {
    if (retry) clearInterval(retry);
    presence.close();
    for (const s of stores) s.close();
    storage.close();
    throw e;
  }
}
