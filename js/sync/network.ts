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

/** May this connection's peer read the store (the server's authorize hook)? Asked before a hub opens a store for it. */
function mayRead(conn: Connection, store: string): boolean {
  const may = conn.link.may;
  if (!may) return true;
  try {
    return may.call(conn.link, store, 'read') === true;
  } catch {
    return false;
  }
}

/** Most hellos kept for one store that is on its way (storeWanted); more are dropped (their peers ask again). */
const MAX_HELLOS_KEPT = 4096;
/** Hellos kept longer than this are dropped: the store did not come (it could not open). */
const KEPT_MS = 30_000;

class SyncNetwork {
  private readonly conns = new Map<string, Connection>();
  private readonly stores = new Map<string, StoreSync>();
  private started = false;
  private readonly features: readonly string[];
  /** A hub (NetworkAdapter.hub) opens a store's session with a peer when the peer says hello for it. */
  private readonly hub: boolean;
  /** A hub's hellos for stores on their way (storeWanted said yes), handed to each when it connects. */
  private readonly kept = new Map<string, { readonly since: number; hellos: { conn: Connection; m: Message; bytes: number }[] }>();

  constructor(
    readonly adapter: NetworkAdapter,
    private readonly options: SyncOptions,
    private readonly frames: SyncFrames,
  ) {
    this.features = presenceRelays(adapter, options) ? ['presence', 'presence-relay', 'auth', 'credit'] : ['presence', 'auth', 'credit'];
    this.hub = adapter.hub !== undefined;
  }

  /** One store per name: facade.ts refuses a second one before the engine is loaded. */
  attach(sync: StoreSync): void {
    this.stores.set(sync.name, sync);
    if (this.hub) {
      // Hellos that came before the store was connected, kept for it.
      const kept = this.kept.get(sync.name)?.hellos ?? [];
      this.kept.delete(sync.name);
      for (const { conn, m, bytes } of kept) {
        if (conn.isClosed || this.conns.get(conn.peer) !== conn) continue;
        sync.addPeer(conn);
        sync.message(conn, m, bytes);
      }
    } else {
      // A hello that came before the store was connected here is not kept:
      // ours asks the peer for another.
      for (const conn of this.conns.values()) sync.addPeer(conn);
    }
    try {
      this.start();
    } catch (e) {
      this.stores.delete(sync.name);
      throw e;
    }
  }

  /** Starts the adapter (once). */
  start(): void {
    if (this.started) return;
    this.started = true;
    try {
      this.adapter.start({
        peerCandidate: (link) => this.candidate(link),
        message: (peer, bytes) => this.conns.get(peer)?.receive(bytes),
        peerDisconnected: (peer) => this.disconnected(peer),
      });
    } catch (e) {
      this.started = false;
      networks.delete(this.adapter);
      throw e instanceof MyceliumError ? e : new MyceliumError('transport_unavailable', `the ${this.adapter.kind} adapter cannot start: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  detach(sync: StoreSync): void {
    if (this.stores.get(sync.name) !== sync) return;
    this.stores.delete(sync.name);
    // A hub serves on with no store (stores open on demand); stopHub() ends it.
    if (this.stores.size === 0 && !this.hub) this.stop();
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
    // A hub's features go out at once: a client of a protected store waits for them before its auth-hello.
    if (this.hub) conn.sendFeatures();
    else for (const sync of this.stores.values()) sync.addPeer(conn);
  }

  private disconnected(peer: string): void {
    const conn = this.conns.get(peer);
    if (!conn) return;
    this.conns.delete(peer);
    for (const [name, kept] of this.kept) {
      kept.hellos = kept.hellos.filter((k) => k.conn !== conn);
      if (kept.hellos.length === 0) this.kept.delete(name);
    }
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
    const sync = this.stores.get(m.store);
    const opens = m.type === MessageType.Hello || m.type === MessageType.AuthHello;
    if (!sync) {
      if (!this.hub || !opens || !mayRead(conn, m.store) || !this.adapter.hub?.storeWanted(m.store)) return;
      const now = performance.now();
      for (const [name, k] of this.kept) if (now - k.since > KEPT_MS) this.kept.delete(name);
      let kept = this.kept.get(m.store);
      if (!kept) this.kept.set(m.store, (kept = { since: now, hellos: [] }));
      if (kept.hellos.length < MAX_HELLOS_KEPT) kept.hellos.push({ conn, m, bytes });
      return;
    }
    if (this.hub && opens) sync.addPeer(conn);
    sync.message(conn, m, bytes);
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

/** Starts a hub's network (NetworkAdapter.hub) before any store connects through it: a relay node opening stores on demand. */
export function startHub(adapter: NetworkAdapter, options: SyncOptions, frames: SyncFrames): void {
  if (!adapter.hub) throw new MyceliumError('invalid_argument', 'startHub() takes the adapter of a hub');
  if (networks.has(adapter)) return;
  const net = new SyncNetwork(adapter, options, frames);
  networks.set(adapter, net);
  net.start();
}

/** Stops a hub's network (its stores' syncs should be closed first). */
export function stopHub(adapter: NetworkAdapter): void {
  networks.get(adapter)?.stop();
}

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
