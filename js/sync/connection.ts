// One link to one peer, shared by every store synced over it: frames each
// message, splits messages larger than a chunk (≤ 64 KiB) and reassembles
// them, interleaves the stores' queues so they sync in parallel, and waits
// on the link's buffered amount (flow control).
//
// What a peer can make this process hold: the chunks of its unfinished
// messages, each counted at what it costs here (its frame and a fixed
// overhead per chunk, so 200,000 one-byte chunks count as what they take,
// not as 200,000 bytes), against one budget shared by every connection of
// the process (INCOMING_BUDGET), and against its own message limit. Every
// chunk but a message's last must carry at least MIN_CHUNK bytes.
import type { SyncFrames } from '../core-io.js';
import { MyceliumError } from '../errors.js';
import type { Link } from './transport.js';
import type { Chunk, Message } from './wire.js';
import { MessageType } from './wire.js';
import { CHUNK_OVERHEAD, decodeFrame, encodeChunk, encodeMessage, storeOfPrefix } from './wire.js';

/** Largest message payload on the wire: a larger message is chunked. */
export const CHUNK_BYTES = 64 * 1024;
/** Stop handing the link more once this much is buffered. */
const HIGH_WATER = 1024 * 1024;
/** Incomplete chunked messages kept per link before the oldest is dropped. */
const MAX_PARTIAL = 32;
/** Every chunk but the last of a message carries at least this many bytes. */
const MIN_CHUNK = 1024;
/** What one held chunk costs beyond its bytes (the Map entry, the view object). */
const CHUNK_COST = 160;
/** Default largest message after reassembly. */
const DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024;

/** Bytes of unfinished messages the whole process holds, shared by every connection. */
class Budget {
  used = 0;
  constructor(readonly limit: number) {}
}
/** All connections of the process together hold at most this many bytes of unfinished messages. */
const INCOMING_BUDGET = new Budget(128 * 1024 * 1024);

export interface ConnectionLimits {
  /** Largest message (after reassembly) accepted from a peer. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /** What this replica understands beyond protocol 3, announced before each hello (wire.ts). */
  readonly features?: readonly string[];
}

export interface ConnectionEvents {
  /** A whole message; `bytes` is what it took on the wire. */
  message(conn: Connection, message: Message, bytes: number): void;
  /** A chunk of a larger message arrived (for progress reports). */
  progress(conn: Connection): void;
  /** The peer sent something unreadable: the connection is closed after this. */
  failed(conn: Connection, error: MyceliumError): void;
}

interface Partial {
  readonly count: number;
  readonly parts: Map<number, Uint8Array>;
  /** Bytes of data received. */
  bytes: number;
  /** What the held chunks cost (counted in INCOMING_BUDGET). */
  cost: number;
  key: string;
}

interface Outgoing {
  readonly key: string; // the store ('' for the connection itself)
  readonly frames: Uint8Array[];
  next: number;
}

export class Connection {
  /** Bytes handed to the link, and received from it. */
  bytesSent = 0;
  bytesReceived = 0;
  /** What the peer said it understands beyond protocol 3 (its features message: wire.ts). */
  features: ReadonlySet<string> = new Set();
  private readonly queues = new Map<string, Outgoing[]>();
  private order: string[] = [];
  private turn = 0;
  private waiting = false;
  private nextId = 1;
  private readonly partial = new Map<number, Partial>();
  private closed = false;
  private readonly chunkBytes: number;
  private readonly maxMessageBytes: number;
  private readonly ownFeatures: readonly string[];
  /** Features went out in this task already. */
  private announced = false;

  constructor(
    readonly link: Link,
    private readonly frames: SyncFrames,
    private readonly events: ConnectionEvents,
    limits: ConnectionLimits = {},
  ) {
    this.chunkBytes = Math.max(1024, Math.min(CHUNK_BYTES, (link.maxMessageSize || CHUNK_BYTES) - CHUNK_OVERHEAD));
    this.maxMessageBytes = limits.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
    this.ownFeatures = limits.features ?? [];
  }

  /**
   * Announces this replica's features, before a hello: at most once per task
   * (one hello per store goes out at connect; one announcement covers them).
   */
  sendFeatures(): void {
    if (this.ownFeatures.length === 0 || this.announced) return;
    this.announced = true;
    queueMicrotask(() => {
      this.announced = false;
    });
    this.send('', { type: MessageType.Features, features: this.ownFeatures });
  }

  get peer(): string {
    return this.link.peer;
  }

  /** Queues a message for `key`'s lane (a store name); returns its bytes on the wire, 0 when the link failed instead. */
  send(key: string, m: Message): number {
    if (this.closed) return 0;
    const bytes = encodeMessage(m, this.frames);
    let frames: Uint8Array[];
    if (bytes.length <= this.chunkBytes + CHUNK_OVERHEAD) frames = [bytes];
    else {
      const id = this.nextId++;
      const count = Math.ceil(bytes.length / this.chunkBytes);
      frames = [];
      for (let i = 0; i < count; i++) {
        frames.push(encodeChunk({ id, index: i, count, bytes: bytes.subarray(i * this.chunkBytes, (i + 1) * this.chunkBytes) }, this.frames));
      }
    }
    let q = this.queues.get(key);
    if (!q) {
      this.queues.set(key, (q = []));
      this.order.push(key);
    }
    q.push({ key, frames, next: 0 });
    this.pump();
    // The link refused it (a channel closing under us): nothing went out.
    if (this.closed) return 0;
    return frames.reduce((n, f) => n + f.length, 0);
  }

  /** Bytes of `key`'s messages still waiting to go out. */
  queued(key: string): number {
    let n = 0;
    for (const o of this.queues.get(key) ?? []) for (let i = o.next; i < o.frames.length; i++) n += o.frames[i]!.length;
    return n;
  }

  /** Bytes of chunked messages for `key` still on their way here: [received, expected]. */
  incoming(key: string): [number, number] {
    let got = 0;
    let total = 0;
    for (const p of this.partial.values()) {
      if (p.key !== key) continue;
      got += p.bytes;
      total += p.count * this.chunkBytes;
    }
    return [got, total];
  }

  private pump(): void {
    if (this.waiting || this.closed) return;
    while (this.order.length > 0) {
      if (this.link.bufferedAmount > HIGH_WATER) {
        this.waiting = true;
        this.link.onDrain(() => {
          this.waiting = false;
          this.pump();
        });
        return;
      }
      // Round robin over stores, one frame each: many stores sync at once.
      this.turn %= this.order.length;
      const key = this.order[this.turn]!;
      const q = this.queues.get(key)!;
      const o = q[0]!;
      const frame = o.frames[o.next++]!;
      if (o.next === o.frames.length) q.shift();
      if (q.length === 0) {
        this.queues.delete(key);
        this.order.splice(this.turn, 1);
      } else this.turn++;
      this.bytesSent += frame.length;
      try {
        this.link.send(frame);
      } catch (e) {
        this.close(`send failed: ${String(e)}`);
        return;
      }
    }
  }

  /** A message arrived from the link. */
  receive(bytes: Uint8Array): void {
    if (this.closed) return;
    this.bytesReceived += bytes.length;
    try {
      if (bytes.length > CHUNK_BYTES + CHUNK_OVERHEAD) {
        throw new MyceliumError('limit_exceeded', `a ${bytes.length}-byte frame is larger than a chunk (${CHUNK_BYTES} bytes)`);
      }
      const f = decodeFrame(bytes, this.frames);
      if ('chunk' in f) {
        const whole = this.reassemble(f.chunk, bytes.length);
        if (!whole) {
          this.events.progress(this);
          return;
        }
        const g = decodeFrame(whole, this.frames);
        if (!('message' in g)) throw new MyceliumError('corrupt', 'sync message: a chunk inside a chunk');
        this.events.message(this, g.message, whole.length + f.chunk.count * CHUNK_OVERHEAD);
      } else this.events.message(this, f.message, bytes.length);
    } catch (e) {
      const err = e instanceof MyceliumError ? e : new MyceliumError('corrupt', `sync message: ${String(e)}`);
      this.events.failed(this, err);
    }
  }

  private reassemble(c: Chunk, frameBytes: number): Uint8Array | null {
    if (c.bytes.length > CHUNK_BYTES) throw new MyceliumError('limit_exceeded', `a chunk of ${c.bytes.length} bytes is larger than ${CHUNK_BYTES}`);
    if (c.count > Math.ceil(this.maxMessageBytes / MIN_CHUNK)) {
      throw new MyceliumError('limit_exceeded', `a message of ${c.count} chunks is larger than the ${this.maxMessageBytes}-byte limit`);
    }
    if (c.index < c.count - 1 && c.bytes.length < MIN_CHUNK) {
      throw new MyceliumError('corrupt', `sync message: chunk ${c.index} of ${c.count} carries ${c.bytes.length} bytes; every chunk but the last carries at least ${MIN_CHUNK}`);
    }
    let p = this.partial.get(c.id);
    if (!p) {
      if (this.partial.size >= MAX_PARTIAL) this.forget(this.partial.keys().next().value!);
      p = { count: c.count, parts: new Map(), bytes: 0, cost: 0, key: '' };
      this.partial.set(c.id, p);
    }
    if (c.count !== p.count) throw new MyceliumError('corrupt', `sync message: chunk ${c.index} of message ${c.id} says ${c.count} chunks, not ${p.count}`);
    if (p.parts.has(c.index)) return null; // a duplicate
    const cost = frameBytes + CHUNK_COST;
    // All unfinished messages of this connection together, so many half-sent
    // ones cannot add up either (their data: a message of the limit's size
    // fits; the process budget below counts what they cost).
    let held = c.bytes.length;
    for (const q of this.partial.values()) held += q.bytes;
    if (held > this.maxMessageBytes) throw new MyceliumError('limit_exceeded', `unfinished messages would hold more than the ${this.maxMessageBytes}-byte limit`);
    if (INCOMING_BUDGET.used + cost > INCOMING_BUDGET.limit) {
      throw new MyceliumError('limit_exceeded', `this process holds ${INCOMING_BUDGET.used} bytes of unfinished messages from its peers, the most it holds (${INCOMING_BUDGET.limit}); try again later`);
    }
    if (c.index === 0) p.key = storeOfPrefix(c.bytes, this.frames);
    // A copy: a view would keep the whole received buffer alive.
    p.parts.set(c.index, c.bytes.slice());
    p.bytes += c.bytes.length;
    p.cost += cost;
    INCOMING_BUDGET.used += cost;
    if (p.parts.size < p.count) return null;
    this.forget(c.id);
    const out = new Uint8Array(p.bytes);
    let at = 0;
    for (let i = 0; i < p.count; i++) {
      const part = p.parts.get(i)!;
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /** Drops an unfinished message and gives its bytes back to the budget. */
  private forget(id: number): void {
    const p = this.partial.get(id);
    if (!p) return;
    INCOMING_BUDGET.used -= p.cost;
    this.partial.delete(id);
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.queues.clear();
    this.order = [];
    for (const id of [...this.partial.keys()]) this.forget(id);
    this.link.close(reason);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

