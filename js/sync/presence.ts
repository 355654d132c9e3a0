// Presence (docs/presence.md): who else is here, and their small JSON state
// (a name, a colour, a cursor), for one store across every network it is
// connected through (one room per open store; each of its syncs offers the
// room its connections). Never persisted, never part of the store's version.
//
// Each client's state carries a clock that only its owner raises; a receiver
// keeps the state with the greatest clock, and a removal ("gone") at the
// same clock beats a state (a relay removes a client at the last clock it
// saw). The owner renews its state (clock + 1) every third of the timeout;
// a state not renewed for `timeout` has left. A state also leaves when every
// connection that brought it has closed, or when its owner sets null.
//
// A relay (the Node peer) forwards what it accepts to its other peers, and
// tells them when a client's connection to it closed. Other replicas send
// only their own state. A connection that did not announce 'presence-relay'
// speaks for one client: the first it names, if no other live connection of
// its network speaks for it.
import type { JsonValue } from './presence-state.js';
import { NO_PEERS } from './presence-state.js';
import type { PresenceEntry } from './wire.js';
import { MAX_PRESENCE_ENTRIES } from './wire.js';

/**
 * What presence needs of a connection: a key, and whether it is open. A sync
 * session's Connection; a relay node's link to another node over NATS
 * (node/nats-presence.ts).
 */
export interface PresenceConn {
  readonly isClosed: boolean;
}

/** A relay forwards a client's state at most this often (ms); the latest waits. */
const RELAY_INTERVAL = 33;

export interface PresenceOptions {
  /** A peer whose state is not renewed for this long (ms) has left; this replica renews its own every third of it. Default 30,000. */
  readonly timeout?: number;
  /** Forward every client's presence to every other peer (a hub). Default: on for webSocketServer() (the Node peer), off otherwise. */
  readonly relay?: boolean;
  /** Most other clients' states held at once; more are ignored until some leave. Default 4,096. */
  readonly maxPeers?: number;
}

/** Another client and its state. */
export interface PresencePeer {
  /** Its peer id (its sync's peerId). */
  readonly id: string;
  readonly state: JsonValue;
}

/** What changed, as one event: left peers carry the state they had. */
export interface PresenceChange {
  readonly joined: readonly PresencePeer[];
  readonly changed: readonly PresencePeer[];
  readonly left: readonly PresencePeer[];
}

/** One sync of the store: the connections presence travels over (ready sessions whose peers announced 'presence'; none while paused). */
export interface PresenceLinks {
  ready(): Iterable<PresenceConn>;
  send(conn: PresenceConn, entries: readonly PresenceEntry[]): void;
}

interface Entry {
  readonly id: string;
  clock: number;
  /** null: gone (kept for `timeout` so an old copy cannot bring it back). */
  state: JsonValue | null;
  text: string;
  /** performance.now() of the last word about it. */
  seen: number;
  /**
   * The open connections that have brought its states (since it last left):
   * it stays while one of them is open. (Not only those of its latest clock:
   * a peer on two networks sends each new session a clock of its own.)
   */
  readonly via: Set<PresenceConn>;
  /** Its current state, as peers() hands it out. */
  peer: PresencePeer | null;
}

export class PresenceRoom {
  private own: JsonValue | null = null;
  private clock = 0;
  private renewed = 0;
  private readonly entries = new Map<string, Entry>();
  /** The one client each non-relay connection speaks for. */
  private readonly speaksFor = new Map<PresenceConn, string>();
  private live = 0;
  private snapshot: readonly PresencePeer[] | null = NO_PEERS;
  private readonly listeners = new Set<(c: PresenceChange) => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  /** Relays: when each client's state was last forwarded, and the latest held back since. */
  private readonly forwarded = new Map<string, number>();
  private readonly held = new Map<string, { entry: PresenceEntry; from: PresenceConn }>();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** The store's syncs, and which of them each connection belongs to. */
  private readonly syncs = new Set<PresenceLinks>();
  private readonly owner = new Map<PresenceConn, PresenceLinks>();
  readonly timeout: number;
  readonly relay: boolean;
  private readonly maxPeers: number;

  constructor(
    readonly self: string,
    options: PresenceOptions,
    relayDefault: boolean,
  ) {
    this.timeout = Math.max(30, options.timeout ?? 30_000);
    this.relay = options.relay ?? relayDefault;
    this.maxPeers = options.maxPeers ?? 4096;
  }

  /** This replica's state (frozen, checked by presence-state.ts), or null to leave. */
  set(state: JsonValue | null): void {
    if (this.closed) return;
    if (state === null && this.own === null) return;
    this.own = state;
    this.clock++;
    this.renewed = performance.now();
    this.broadcast([{ client: this.self, clock: this.clock, state }]);
    this.arm();
  }

  /** A sync of the store joins the room. */
  addSync(links: PresenceLinks): void {
    this.syncs.add(links);
  }

  /**
   * A sync of the store closes: its peers lose what only it brought. The
   * last one tells its peers that this replica left (while another sync is
   * open, this replica is still here: its peers on the closed one see it
   * expire). Returns true when the room is empty and closed.
   */
  removeSync(links: PresenceLinks): boolean {
    if (this.syncs.size === 1 && this.syncs.has(links) && this.own !== null) {
      for (const conn of links.ready()) this.sendTo(conn, [{ client: this.self, clock: this.clock + 1, state: null }], links);
    }
    for (const [conn, of] of this.owner) if (of === links) this.peerGone(conn);
    this.syncs.delete(links);
    if (this.syncs.size > 0) return false;
    this.close();
    return true;
  }

  /** A session became ready: the peer hears this replica's state (a relay: everyone's). */
  peerReady(conn: PresenceConn, links: PresenceLinks): void {
    if (this.closed) return;
    this.owner.set(conn, links);
    const out: PresenceEntry[] = [];
    if (this.own !== null) {
      // A relay may hold a removal of us at our last clock: go past it.
      this.clock++;
      out.push({ client: this.self, clock: this.clock, state: this.own });
    }
    if (this.relay) {
      for (const e of this.entries.values()) {
        if (e.state !== null && !e.via.has(conn)) out.push({ client: e.id, clock: e.clock, state: e.state });
      }
    }
    // Even with nothing to say: a presence message tells the peer that this
    // replica takes presence, should its features message have been lost.
    if (out.length === 0) links.send(conn, out);
    else this.sendTo(conn, out, links);
  }

  /** A session ended (or its sync paused): the clients only it brought have left. */
  peerGone(conn: PresenceConn): void {
    this.speaksFor.delete(conn);
    this.owner.delete(conn);
    const left: PresencePeer[] = [];
    const forward: PresenceEntry[] = [];
    for (const e of this.entries.values()) {
      if (!e.via.delete(conn) || e.via.size > 0 || e.state === null) continue;
      left.push(this.remove(e));
      forward.push({ client: e.id, clock: e.clock, state: null });
    }
    if (this.relay) this.broadcast(forward, conn);
    this.emit([], [], left);
  }

  /** Entries from a peer. */
  receive(conn: PresenceConn, entries: readonly PresenceEntry[], fromRelay: boolean): void {
    if (this.closed || !this.owner.has(conn)) return;
    const now = performance.now();
    const joined: PresencePeer[] = [];
    const changed: PresencePeer[] = [];
    const left: PresencePeer[] = [];
    const forward: PresenceEntry[] = [];
    for (const x of entries) {
      if (x.client === this.self || !this.mayName(conn, x.client, fromRelay)) continue;
      let e = this.entries.get(x.client);
      if (!e) {
        if (x.state === null || this.live >= this.maxPeers) continue;
        e = { id: x.client, clock: x.clock, state: null, text: '', seen: now, via: new Set([conn]), peer: null };
        this.entries.set(x.client, e);
      } else if (x.clock < e.clock || (x.clock === e.clock && (x.state !== null || e.state === null))) {
        // Old news, or the same news by another way: the connection carries the client.
        if (x.state !== null && e.state !== null) e.via.add(conn);
        if (x.clock === e.clock && e.state !== null) e.seen = now;
        continue;
      } else {
        e.clock = x.clock;
        e.seen = now;
        e.via.add(conn);
      }
      forward.push(x);
      if (x.state === null) {
        if (e.state !== null) left.push(this.remove(e));
        continue;
      }
      const text = JSON.stringify(x.state);
      if (e.state === null) {
        if (this.live >= this.maxPeers) {
          this.entries.delete(e.id);
          forward.pop();
          continue;
        }
        this.live++;
        joined.push(this.put(e, x.state, text));
      } else if (text !== e.text) changed.push(this.put(e, x.state, text));
    }
    if (this.relay) this.relayOn(forward, conn);
    this.emit(joined, changed, left);
    this.arm();
  }

  /**
   * A relay forwards what it accepted: a removal at once; a state at once
   * unless the client's last went out less than RELAY_INTERVAL ago, when it
   * waits and only the latest goes (a client that sets its state hundreds
   * of times a second costs its peers 30 messages a second, not hundreds).
   */
  private relayOn(entries: readonly PresenceEntry[], from: PresenceConn): void {
    const now = performance.now();
    const out: PresenceEntry[] = [];
    for (const x of entries) {
      const last = this.forwarded.get(x.client) ?? -Infinity;
      if (x.state === null) {
        this.held.delete(x.client);
        out.push(x);
      } else if (now - last >= RELAY_INTERVAL && !this.held.has(x.client)) {
        this.forwarded.set(x.client, now);
        out.push(x);
      } else {
        this.held.set(x.client, { entry: x, from });
        this.flushLater();
      }
    }
    this.broadcast(out, from);
  }

  /** Forwards the held states one interval from now (so a client's go out at most once per interval). */
  private flushLater(): void {
    if (this.flushTimer !== null) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (this.closed) return;
      const now = performance.now();
      for (const [client, { entry, from }] of [...this.held]) {
        this.held.delete(client);
        // Only if it is still what this replica holds of the client (nothing newer came, it did not leave).
        const e = this.entries.get(client);
        if (!e || e.state === null || e.clock !== entry.clock) continue;
        this.forwarded.set(client, now);
        this.broadcast([entry], from);
      }
    }, RELAY_INTERVAL);
    (this.flushTimer as { unref?: () => void }).unref?.();
  }

  /**
   * May this connection speak for `client`? A relay: for anyone. Another
   * peer: for one client only, and not one that another live connection of
   * the same network speaks for (a client of a hub cannot take another's
   * id); the same client on two networks (a tab over BroadcastChannel and
   * WebRTC) is one client.
   */
  private mayName(conn: PresenceConn, client: string, fromRelay: boolean): boolean {
    if (fromRelay) return true;
    const bound = this.speaksFor.get(conn);
    if (bound !== undefined) return bound === client;
    const network = this.owner.get(conn);
    for (const [other, id] of this.speaksFor) if (id === client && other !== conn && !other.isClosed && this.owner.get(other) === network) return false;
    this.speaksFor.set(conn, client);
    return true;
  }

  private put(e: Entry, state: JsonValue, text: string): PresencePeer {
    e.state = state;
    e.text = text;
    e.peer = Object.freeze({ id: e.id, state });
    this.snapshot = null;
    return e.peer;
  }

  /** Marks a client gone; returns what it was. */
  private remove(e: Entry): PresencePeer {
    const was = e.peer!;
    e.state = null;
    e.text = '';
    e.peer = null;
    e.via.clear();
    e.seen = performance.now();
    this.live--;
    this.snapshot = null;
    return was;
  }

  private emit(joined: PresencePeer[], changed: PresencePeer[], left: PresencePeer[]): void {
    if (joined.length + changed.length + left.length === 0) return;
    const change: PresenceChange = Object.freeze({ joined, changed, left });
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch (e) {
        // One listener's failure must not keep the others from hearing.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  private sendTo(conn: PresenceConn, entries: readonly PresenceEntry[], links = this.owner.get(conn)): void {
    if (!links) return;
    for (let i = 0; i < entries.length; i += MAX_PRESENCE_ENTRIES) links.send(conn, entries.slice(i, i + MAX_PRESENCE_ENTRIES));
  }

  private broadcast(entries: readonly PresenceEntry[], except?: PresenceConn): void {
    if (entries.length === 0) return;
    for (const links of this.syncs) for (const conn of links.ready()) if (conn !== except) this.sendTo(conn, entries, links);
  }

  /** Runs the clock (renewals, expiry) while there is anything to renew or expire. */
  private arm(): void {
    if (this.timer !== null || this.closed || (this.own === null && this.entries.size === 0)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tick();
    }, this.timeout / 6);
    // Node: presence alone does not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    const left: PresencePeer[] = [];
    for (const e of this.entries.values()) {
      if (now - e.seen < this.timeout) continue;
      if (e.state !== null) left.push(this.remove(e));
      else {
        this.entries.delete(e.id);
        this.forwarded.delete(e.id);
      }
    }
    if (this.own !== null && now - this.renewed >= this.timeout / 3) {
      this.clock++;
      this.renewed = now;
      this.broadcast([{ client: this.self, clock: this.clock, state: this.own }]);
    }
    this.emit([], [], left);
    this.arm();
  }

  /** Everyone else here, by id; the same array until something changes. */
  peers(): readonly PresencePeer[] {
    if (this.snapshot === null) {
      const out: PresencePeer[] = [];
      for (const e of this.entries.values()) if (e.peer !== null) out.push(e.peer);
      out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      this.snapshot = out.length === 0 ? NO_PEERS : Object.freeze(out);
    }
    return this.snapshot;
  }

  subscribe(listener: (c: PresenceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The last sync closed: everyone else leaves here. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clear();
    this.listeners.clear();
  }

  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.held.clear();
    this.forwarded.clear();
    const left: PresencePeer[] = [];
    for (const e of this.entries.values()) if (e.state !== null) left.push(this.remove(e));
    this.entries.clear();
    this.speaksFor.clear();
    this.emit([], [], left);
  }
}
