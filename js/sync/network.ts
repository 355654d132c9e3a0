// A network adapter shared by every store connected through it: one
// Connection per peer, messages routed to stores by name (many stores over
// one connection, synced in parallel).
import type { SyncFrames } from '../core-io.js';
import { MyceliumError } from '../errors.js';
import { Connection } from './connection.js';
import { PROTOCOL_VERSION } from './protocol-version.js';
import type { SyncOptions, SyncStats } from './store-sync.js';
import { StoreSync } from './store-sync.js';
import { PresenceRoom } from './presence.js';
import type { SyncedStore } from './synced-store.js';
import type { Link, NetworkAdapter } from './transport.js';
import type { Message } from './wire.js';
import { MessageType } from './wire.js';

class SyncNetwork {
  private readonly conns = new Map<string, Connection>();
  private readonly stores = new Map<string, StoreSync>();
  private started = false;
  private readonly features: readonly string[];

  constructor(
    readonly adapter: NetworkAdapter,
    private readonly options: SyncOptions,
    private readonly frames: SyncFrames,
  ) {
    this.features = presenceRelays(adapter, options) ? ['presence', 'presence-relay', 'auth', 'credit'] : ['presence', 'auth', 'credit'];
  }

  /** One store per name: facade.ts refuses a second one before the engine is loaded. */
  attach(sync: StoreSync): void {
    this.stores.set(sync.name, sync);
    // A hello that came before the store was connected here is not kept:
    // ours asks the peer for another.
    for (const conn of this.conns.values()) sync.addPeer(conn);
    if (!this.started) {
      this.started = true;
      try {
        this.adapter.start({
          peerCandidate: (link) => this.candidate(link),
          message: (peer, bytes) => this.conns.get(peer)?.receive(bytes),
          peerDisconnected: (peer) => this.disconnected(peer),
        });
      } catch (e) {
        this.started = false;
        this.stores.delete(sync.name);
        networks.delete(this.adapter);
        throw e instanceof MyceliumError ? e : new MyceliumError('transport_unavailable', `the ${this.adapter.kind} adapter cannot start: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  detach(sync: StoreSync): void {
    if (this.stores.get(sync.name) !== sync) return;
    this.stores.delete(sync.name);
    if (this.stores.size === 0) this.stop();
  }

  stop(): void {
    for (const conn of this.conns.values()) conn.close('stopped');
    this.conns.clear();
    if (this.started) this.adapter.stop();
    this.started = false;
    networks.delete(this.adapter);
  }

  private candidate(link: Link): void {
    const old = this.conns.get(link.peer);
    if (old) this.disconnected(link.peer);
    const conn = new Connection(
      link,
      this.frames,
      {
        message: (c, m, bytes) => this.message(c, m, bytes),
        failed: (c, err) => this.failed(c, err, false),
        progress: () => {
          for (const sync of this.stores.values()) sync.scheduleStatus();
        },
      },
      { maxMessageBytes: this.options.maxMessageBytes, features: this.features },
    );
    this.conns.set(link.peer, conn);
    for (const sync of this.stores.values()) sync.addPeer(conn);
  }

  private disconnected(peer: string): void {
    const conn = this.conns.get(peer);
    if (!conn) return;
    this.conns.delete(peer);
    for (const sync of this.stores.values()) sync.removePeer(conn);
    conn.close('peer disconnected');
  }

  private message(conn: Connection, m: Message, bytes: number): void {
    if (m.type === MessageType.Features) {
      const had = conn.features.has('presence');
      conn.features = new Set(m.features);
      if (!had) for (const sync of this.stores.values()) sync.featuresArrived(conn);
      return;
    }
    if (m.type === MessageType.Hello && m.protocol !== PROTOCOL_VERSION) {
      this.failed(conn, new MyceliumError('unsupported_version', `peer ${conn.peer} speaks sync protocol ${m.protocol}; this replica speaks ${PROTOCOL_VERSION}`), false);
      return;
    }
    if (m.type === MessageType.Error && m.store === '') {
      this.failed(conn, new MyceliumError(m.code, `peer ${conn.peer} ended the connection: ${m.message}`), true);
      return;
    }
    this.stores.get(m.store)?.message(conn, m, bytes);
  }

  /** The connection cannot go on: every store hears why, the peer is told, the link closes. */
  private failed(conn: Connection, error: MyceliumError, remote: boolean): void {
    if (conn.isClosed) return;
    if (!remote) conn.send('', { type: MessageType.Error, store: '', code: error.code, message: error.reason });
    for (const sync of this.stores.values()) sync.connectionFailed(conn, error, remote);
    // Let the error message leave before the link goes.
    setTimeout(() => {
      if (this.conns.get(conn.peer) === conn) this.disconnected(conn.peer);
      else conn.close('failed');
    }, 50);
  }
}

const networks = new Map<NetworkAdapter, SyncNetwork>();

/** Does this replica forward presence between its peers? The Node peer's server does, unless told otherwise. */
function presenceRelays(adapter: NetworkAdapter, options: SyncOptions): boolean {
  return options.presence?.relay ?? adapter.kind === 'websocket-server';
}

/** Each open store's presence, shared by its syncs (docs/presence.md): made by its first connect(), closed with its last. */
const rooms = new WeakMap<SyncedStore, PresenceRoom>();

/** The store's presence room while a sync of it is open (a relay node joins it to the other nodes'). */
export function presenceRoomOf(store: SyncedStore): PresenceRoom | null {
  const room = rooms.get(store);
  return room && !room.isClosed ? room : null;
}

/** Connects a store through an adapter (the adapter's network is shared by every store using it); `presenceId` names this replica in presence. */
export function connectStore(store: SyncedStore, adapter: NetworkAdapter, options: SyncOptions, stats: SyncStats, presenceId: string): StoreSync {
  let net = networks.get(adapter);
  if (!net) networks.set(adapter, (net = new SyncNetwork(adapter, options, store.frames)));
  let room = rooms.get(store);
  if (!room || room.isClosed) rooms.set(store, (room = new PresenceRoom(presenceId, options.presence ?? {}, presenceRelays(adapter, options))));
  const sync = new StoreSync(store, options, stats, room);
  try {
    net.attach(sync);
  } catch (e) {
    sync.close();
    throw e;
  }
  return sync;
}

/** Stops syncing a store; the adapter stops when no store uses it any more. */
export function disconnectStore(sync: StoreSync, adapter: NetworkAdapter): void {
  sync.close();
  networks.get(adapter)?.detach(sync);
}
