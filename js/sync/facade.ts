// store.connect() and the transports' factories, as the core bundle holds
// them: small shells over the sync engine (engine.ts), which is imported on
// first use.
import { MyceliumError } from '../errors.js';
import type { BroadcastChannelOptions } from './adapters/broadcast.js';
import type { WebRTCOptions } from './adapters/webrtc.js';
import type { WebSocketOptions } from './adapters/websocket.js';
import type { SyncedStore } from './synced-store.js';
import type { PeerStatus, StoreSync, SyncErrorEvent, SyncOptions, SyncStats, SyncStatus } from './store-sync.js';
import type { NetworkAdapter, NetworkEvents } from './transport.js';
import { Presence } from './presence-facade.js';
import { FEATURES_STORE } from './protocol-version.js';

export { PROTOCOL_VERSION } from './protocol-version.js';

type Engine = typeof import('./engine.js');
let engine: Promise<Engine> | null = null;

function loadEngine(): Promise<Engine> {
  engine ??= import('./engine.js').catch(
    (e: unknown) => {
      engine = null;
      throw new MyceliumError('load_failed', `could not load mycelium-sync's sync module: ${String(e)}`);
    },
  );
  return engine;
}

/** A peer id: random, 16 hex digits. */
export function randomPeerId(): string {
  const b = new Uint32Array(2);
  crypto.getRandomValues(b);
  return b[0]!.toString(16).padStart(8, '0') + b[1]!.toString(16).padStart(8, '0');
}

/** An adapter whose implementation lives in the sync engine. */
function lazyAdapter(kind: string, peerId: string, make: (m: Engine) => NetworkAdapter): NetworkAdapter {
  let inner: NetworkAdapter | null = null;
  let stopped = false;
  return {
    kind,
    peerId,
    start(events: NetworkEvents) {
      void loadEngine().then((m) => {
        if (stopped) return;
        inner = make(m);
        inner.start(events);
      });
    },
    stop() {
      stopped = true;
      inner?.stop();
    },
  };
}

/** WebRTC data channels to the peers of a room, found through a signalling server (`npx mycelium-sync signal`). */
export function webrtc(options: WebRTCOptions): NetworkAdapter {
  if (typeof RTCPeerConnection !== 'function') {
    throw new MyceliumError('transport_unavailable', 'RTCPeerConnection is not available in this environment (no WebRTC)');
  }
  if (!options || typeof options.signaling !== 'string' || typeof options.room !== 'string') {
    throw new MyceliumError('invalid_argument', "webrtc() takes { signaling: 'ws://…', room }");
  }
  const peerId = options.peerId ?? randomPeerId();
  return lazyAdapter('webrtc', peerId, (m) => m.webrtc({ ...options, peerId }));
}

/** Tabs, windows and workers of one origin, with no configuration. */
export function broadcastChannel(options: BroadcastChannelOptions = {}): NetworkAdapter {
  if (typeof BroadcastChannel !== 'function') throw new MyceliumError('transport_unavailable', 'BroadcastChannel is not available in this environment');
  const peerId = options.peerId ?? randomPeerId();
  return lazyAdapter('broadcast-channel', peerId, (m) => m.broadcastChannel({ ...options, peerId }));
}

/** A WebSocket to a server peer (mycelium-sync/node's webSocketServer(), `npx mycelium-sync peer`). Reconnects by itself. */
export function webSocket(url: string, options: WebSocketOptions = {}): NetworkAdapter {
  if (typeof url !== 'string') throw new MyceliumError('invalid_argument', "webSocket() takes a URL: 'ws://…'");
  const peerId = options.peerId ?? randomPeerId();
  return lazyAdapter('websocket', peerId, (m) => m.webSocket(url, { ...options, peerId }));
}

/**
 * One link over a MessagePort (a worker, an iframe, a MessageChannel): the two
 * ends greet each other with their ids, then carry sync messages.
 */
export function messagePort(port: MessagePort, options: { peerId?: string } = {}): NetworkAdapter {
  const peerId = options.peerId ?? randomPeerId();
  return lazyAdapter('message-port', peerId, (m) => m.messagePort(port, { peerId }));
}

const names = new WeakMap<NetworkAdapter, Set<string>>();
/** Each store's sync counters, across every connect() of it. */
const storeStats = new WeakMap<SyncedStore, SyncStats>();
function statsOf(store: SyncedStore): SyncStats {
  let s = storeStats.get(store);
  if (!s) storeStats.set(store, (s = { bytesSent: 0, bytesReceived: 0, deltasSent: 0, deltaBytesSent: 0, deltasJoined: 0, deltaBytesJoined: 0, deltasDropped: 0, acksSent: 0 }));
  return s;
}

/** Each open store's presence, shared by all its syncs, and how many syncs use it. */
const presences = new WeakMap<SyncedStore, { presence: Presence; syncs: number }>();
function presenceOf(store: SyncedStore): Presence {
  let p = presences.get(store);
  if (!p) presences.set(store, (p = { presence: new Presence(randomPeerId()), syncs: 0 }));
  p.syncs++;
  return p.presence;
}
function leavePresence(store: SyncedStore): void {
  const p = presences.get(store);
  if (!p || --p.syncs > 0) return;
  p.presence.close();
  presences.delete(store);
}

/** A store's sync through one network adapter: what store.connect() returns. */
export class Sync {
  readonly #store: SyncedStore;
  readonly #adapter: NetworkAdapter;
  #impl: StoreSync | null = null;
  #closed = false;
  #paused = false;
  readonly #statusListeners = new Set<(s: SyncStatus) => void>();
  readonly #errorListeners = new Set<(e: SyncErrorEvent) => void>();
  readonly #offs: (() => void)[] = [];
  readonly #ready: Promise<void>;
  readonly #released: () => void;
  /** Who else is here, and this replica's state (docs/presence.md): one for the store, shared by all its syncs. */
  readonly presence: Presence;

  /** @internal Use store.connect(); `released` runs once, on close(). */
  constructor(store: SyncedStore, adapter: NetworkAdapter, options: SyncOptions = {}, released: () => void = () => undefined) {
    if (!adapter || typeof adapter.start !== 'function' || typeof adapter.stop !== 'function') {
      throw new MyceliumError('invalid_argument', 'connect() takes a network adapter: webrtc(), broadcastChannel(), webSocket(), ...');
    }
    if (store.name === FEATURES_STORE) throw new MyceliumError('invalid_argument', 'this store name is reserved by the sync protocol');
    let used = names.get(adapter);
    if (!used) names.set(adapter, (used = new Set()));
    if (used.has(store.name)) throw new MyceliumError('already_exists', `a store named '${store.name}' is already connected through this ${adapter.kind} adapter`);
    used.add(store.name);
    this.#store = store;
    this.#adapter = adapter;
    this.#released = released;
    this.presence = presenceOf(store);
    this.#ready = loadEngine().then((m) => {
      if (this.#closed || store.closed) return;
      try {
        this.#impl = m.connectStore(store, adapter, options, statsOf(store), this.presence.id);
        if (this.#paused) this.#impl.pause();
      } catch (e) {
        used.delete(store.name);
        const error = e instanceof MyceliumError ? e : new MyceliumError('transport_unavailable', String(e));
        for (const l of this.#errorListeners) l({ peer: '', store: store.name, error, remote: false });
        throw error;
      }
      this.presence.attach(this.#impl.presence);
      for (const l of this.#statusListeners) this.#offs.push(this.#impl.onStatus(l));
      for (const l of this.#errorListeners) this.#offs.push(this.#impl.onError(l));
    });
    this.#ready.catch(() => undefined);
  }

  /** Resolves once the sync engine is loaded and the adapter started (rejects with why it could not). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** This replica's id on the network. */
  get peerId(): string {
    return this.#adapter.peerId;
  }

  /** Every connected peer and how far along it is. */
  status(): SyncStatus {
    return this.#impl ? this.#impl.status() : { store: this.#store.name, peers: [], synced: false, pending: this.#store.closed ? 0 : this.#store.pending, stalled: false, paused: this.#paused };
  }

  /**
   * Goes offline for this store without closing the adapter or changing the
   * peer id: nothing is sent, what peers send is ignored, local writes go on.
   * resume() starts again from each peer's hello (nothing the peer has is
   * sent again). A peer that goes unanswered for minutes may drop the
   * connection; the adapter's reconnection brings it back.
   */
  pause(): void {
    this.#paused = true;
    this.#impl?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#impl?.resume();
  }

  /** The connected peers. */
  peers(): readonly PeerStatus[] {
    return this.status().peers;
  }

  /** Calls `listener` with the status whenever it changes (at most once per task). */
  subscribe(listener: (status: SyncStatus) => void): () => void {
    this.#statusListeners.add(listener);
    const off = this.#impl?.onStatus(listener);
    return () => {
      this.#statusListeners.delete(listener);
      off?.();
    };
  }

  /** A peer's session ended with an error: bad bytes, another protocol version, another schema. The store is unchanged. */
  onError(listener: (event: SyncErrorEvent) => void): () => void {
    this.#errorListeners.add(listener);
    const off = this.#impl?.onError(listener);
    return () => {
      this.#errorListeners.delete(listener);
      off?.();
    };
  }

  /**
   * Resolves when at least one peer is connected and every connected peer
   * that has not failed is synced (a failed peer is no reason to resolve).
   * With `timeout` (ms), rejects with a `timeout` MyceliumError if that has
   * not happened by then.
   */
  whenSynced(options: { timeout?: number } = {}): Promise<void> {
    if (this.status().synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const off = this.subscribe((s) => {
        if (!s.synced) return;
        off();
        if (timer) clearTimeout(timer);
        resolve();
      });
      if (options.timeout !== undefined) {
        timer = setTimeout(() => {
          off();
          reject(new MyceliumError('timeout', `'${this.#store.name}' was not synced with a peer within ${options.timeout} ms`));
        }, options.timeout);
      }
    });
  }

  /** Bytes and deltas sent and received by this store, across every connect() of it. */
  stats(): Readonly<SyncStats> {
    return { ...statsOf(this.#store) };
  }

  /** Stops syncing this store; the adapter stops when no store uses it any more. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    names.get(this.#adapter)?.delete(this.#store.name);
    this.#released();
    leavePresence(this.#store);
    for (const off of this.#offs) off();
    if (this.#impl) void loadEngine().then((m) => m.disconnectStore(this.#impl!, this.#adapter));
  }

  get closed(): boolean {
    return this.#closed;
  }
}
