// Presence between relay nodes (docs/relay.md, "Presence"): what each node's
// clients set reaches the clients of every other node over core NATS — not
// JetStream: presence is never persisted. One subject per store
// (`myc.p.<key>`) carries presence entries in the sync protocol's own
// presence message; `myc.pn` carries each node's heartbeat.
//
// To a store's presence room every other node is one more connection, one
// that relays (it speaks for many clients): the room's rules (clocks, a
// removal at the same clock beats a state, rate limits, expiry) apply as
// they do to a client's connection. When a node stops beating, every client
// only it brought leaves at once here; one that reconnected to another node
// is back through that node.
import { ByteWriter } from '../bytes.js';
import type { SyncFrames } from '../core-io.js';
import { MyceliumError } from '../errors.js';
import { PeerReader } from '../peer-reader.js';
import type { PresenceConn, PresenceLinks, PresenceRoom } from '../sync/presence.js';
import type { PresenceEntry } from '../sync/wire.js';
import { decodeFrame, encodeMessage, MessageType } from '../sync/wire.js';
import type { PubSub } from './nats.js';

/** Subject of the nodes' heartbeats. */
export const NODES_SUBJECT = 'myc.pn';
/** Prefix of a store's presence subject (then the store's key, as its stream subject has). */
export const PRESENCE_PREFIX = 'myc.p.';

const enum Kind {
  /** A presence message of the sync protocol follows. */
  Entries = 1,
  /** The node named next (or, if none, every node) sends what its clients hold. */
  Ask = 2,
  Alive = 3,
  /** The node stops: its clients have left. */
  Bye = 4,
}

const MAX_NODE_ID = 64;
/** Most other nodes tracked; more are ignored (a relay tier is a handful of nodes). */
const MAX_NODES = 256;
/** Entries per NATS message: 32 states of at most 8,192 characters stay under NATS's default 1 MiB payload. */
const ENTRIES_PER_MESSAGE = 32;

export interface NatsPresenceOptions {
  /** This node's id (random per process). */
  readonly nodeId: string;
  /** How often a node says it is alive (ms; default 2,000); silent for 3¼ times that, it is gone. */
  readonly heartbeatMs?: number;
  readonly log: (line: string) => void;
}

/** Another node, as a connection of a store's room. */
interface NodeLink extends PresenceConn {
  isClosed: boolean;
}

interface Served {
  readonly name: string;
  readonly subject: string;
  readonly room: PresenceRoom;
  readonly frames: SyncFrames;
  readonly links: PresenceLinks;
  readonly nodes: Map<string, NodeLink>;
  /**
   * The clock of each client's latest entry heard from another node, and
   * when: the room forwards what it accepts to every link, and what came
   * from NATS must not go back to it.
   */
  readonly heard: Map<string, { clock: number; at: number }>;
  readonly off: () => void;
}

function header(kind: Kind, node: string): ByteWriter {
  const w = new ByteWriter(64);
  w.u8(kind);
  w.string(node);
  return w;
}

/** Joins the presence rooms of a relay node's stores to those of the other nodes. */
export class NatsPresence {
  readonly #pubsub: PubSub;
  readonly #self: string;
  readonly #heartbeatMs: number;
  readonly #log: (line: string) => void;
  readonly #served = new Map<string, Served>();
  /** Other nodes, and when each was last heard (performance.now()). */
  readonly #alive = new Map<string, number>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #offs: (() => void)[] = [];
  #closed = false;

  constructor(pubsub: PubSub, options: NatsPresenceOptions) {
    this.#pubsub = pubsub;
    this.#self = options.nodeId;
    this.#heartbeatMs = options.heartbeatMs ?? 2000;
    this.#log = options.log;
    this.#offs.push(pubsub.subscribe(NODES_SUBJECT, (data) => this.#onNodes(data)));
    // After a break, what other nodes said meanwhile is lost: ask them again.
    this.#offs.push(pubsub.onReconnect(() => this.#ask('')));
    this.#timer = setInterval(() => this.#beat(), this.#heartbeatMs);
    this.#timer.unref?.();
    this.#publish(NODES_SUBJECT, header(Kind.Alive, this.#self).bytes());
  }

  /** Joins a store's room to the other nodes'; returns the leave. */
  serve(name: string, key: string, room: PresenceRoom, frames: SyncFrames): () => void {
    if (this.#closed || this.#served.has(name)) throw new MyceliumError('invalid_argument', `presence of '${name}' is already served`);
    const subject = PRESENCE_PREFIX + key;
    const out: NodeLink = { isClosed: false };
    const heard = new Map<string, { clock: number; at: number }>();
    const links: PresenceLinks = {
      ready: () => (this.#closed ? [] : [out]),
      send: (_conn, entries) => {
        const fresh = entries.filter((e) => (heard.get(e.client)?.clock ?? -1) < e.clock);
        for (let i = 0; i < fresh.length; i += ENTRIES_PER_MESSAGE) {
          const w = header(Kind.Entries, this.#self);
          w.raw(encodeMessage({ type: MessageType.Presence, store: name, entries: fresh.slice(i, i + ENTRIES_PER_MESSAGE) }, frames));
          this.#publish(subject, w.bytes());
        }
      },
    };
    const unsubscribe = this.#pubsub.subscribe(subject, (data) => this.#onStore(served, data));
    const served: Served = { name, subject, room, frames, links, nodes: new Map(), heard, off: unsubscribe };
    this.#served.set(name, served);
    room.addSync(links);
    const ask = header(Kind.Ask, this.#self);
    ask.string('');
    this.#publish(subject, ask.bytes());
    return () => {
      if (this.#served.get(name) !== served) return;
      this.#served.delete(name);
      served.off();
      out.isClosed = true;
      room.removeSync(links);
    };
  }

  /** Tells the other nodes this one stops (its clients leave there at once) and leaves every room. */
  close(): void {
    if (this.#closed) return;
    this.#publish(NODES_SUBJECT, header(Kind.Bye, this.#self).bytes());
    this.#closed = true;
    clearInterval(this.#timer);
    for (const off of this.#offs) off();
    for (const s of [...this.#served.values()]) {
      this.#served.delete(s.name);
      s.off();
      s.room.removeSync(s.links);
    }
  }

  #publish(subject: string, data: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#pubsub.publish(subject, data);
    } catch (e) {
      this.#log(`presence: publishing to NATS: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Every node (node '': all) sends what its clients hold, for every store this node serves. */
  #ask(node: string): void {
    for (const s of this.#served.values()) {
      const w = header(Kind.Ask, this.#self);
      w.string(node);
      this.#publish(s.subject, w.bytes());
    }
  }

  #beat(): void {
    this.#publish(NODES_SUBJECT, header(Kind.Alive, this.#self).bytes());
    const now = performance.now();
    for (const [node, at] of this.#alive) if (now - at > this.#heartbeatMs * 3.25) this.#gone(node, 'stopped beating');
    // Forget the clocks of clients that left long ago (a removal's clock is kept while its echo could come back).
    for (const s of this.#served.values()) {
      const present = new Set(s.room.peers().map((p) => p.id));
      for (const [client, h] of s.heard) if (!present.has(client) && now - h.at > s.room.timeout * 2) s.heard.delete(client);
    }
  }

  /** A node was heard: true if it is one this node keeps (new ones are met: they hear this node's clients, this node asks for theirs). */
  #heardFrom(node: string): boolean {
    if (node === this.#self) return false;
    const known = this.#alive.has(node);
    if (!known && this.#alive.size >= MAX_NODES) return false;
    this.#alive.set(node, performance.now());
    if (!known) {
      for (const s of this.#served.values()) this.#link(s, node);
      this.#ask(node);
    }
    return true;
  }

  #gone(node: string, why: string): void {
    if (!this.#alive.delete(node)) return;
    this.#log(`presence: node ${node} ${why}; its clients left`);
    for (const s of this.#served.values()) {
      const link = s.nodes.get(node);
      if (!link) continue;
      s.nodes.delete(node);
      link.isClosed = true;
      s.room.peerGone(link);
    }
  }

  /** The room's connection for a node; made on first use, when the node hears what this node's clients hold. */
  #link(s: Served, node: string): NodeLink {
    let link = s.nodes.get(node);
    if (!link) {
      link = { isClosed: false };
      s.nodes.set(node, link);
      s.room.peerReady(link, s.links);
    }
    return link;
  }

  #onNodes(data: Uint8Array): void {
    if (this.#closed) return;
    try {
      const r = new PeerReader(data, 'a relay node heartbeat');
      const kind = r.u8('kind');
      const node = r.string('node', MAX_NODE_ID);
      if (kind === Kind.Bye) this.#gone(node, 'stopped');
      else if (kind === Kind.Alive) this.#heardFrom(node);
      else throw new MyceliumError('corrupt', `a relay node heartbeat of kind ${kind}`);
    } catch (e) {
      this.#log(`presence: skipped a message on ${NODES_SUBJECT}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  #onStore(s: Served, data: Uint8Array): void {
    if (this.#closed || this.#served.get(s.name) !== s) return;
    try {
      const r = new PeerReader(data, `presence of '${s.name}' from NATS`);
      const kind = r.u8('kind');
      const node = r.string('node', MAX_NODE_ID);
      if (kind !== Kind.Ask && kind !== Kind.Entries) throw new MyceliumError('corrupt', `a presence message of kind ${kind}`);
      if (!this.#heardFrom(node)) return;
      const link = this.#link(s, node);
      if (kind === Kind.Ask) {
        const whom = r.string('node asked', MAX_NODE_ID);
        if (whom === '' || whom === this.#self) s.room.peerReady(link, s.links);
        return;
      }
      const decoded = decodeFrame(r.raw(r.remaining(), 'presence frame'), s.frames);
      if (!('message' in decoded) || decoded.message.type !== MessageType.Presence || decoded.message.store !== s.name) {
        throw new MyceliumError('corrupt', 'not a presence message of this store');
      }
      const entries: readonly PresenceEntry[] = decoded.message.entries;
      const now = performance.now();
      for (const e of entries) {
        const h = s.heard.get(e.client);
        if (!h || h.clock <= e.clock) s.heard.set(e.client, { clock: e.clock, at: now });
      }
      s.room.receive(link, entries, true);
    } catch (e) {
      this.#log(`presence: skipped a message on ${s.subject}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
