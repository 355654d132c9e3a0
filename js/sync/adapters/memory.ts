// In-memory network for tests and for replicas in one page, with fault
// injection: dropped, duplicated and reordered messages, partitions, links
// cut in the middle of a chunked message. Every peer of a hub sees every
// other peer that is not partitioned from it. Self-contained: browsers get
// it from 'mycelium-sync/memory' (dist/memory.js), Node from the main entry.
import type { Link, NetworkAdapter, NetworkEvents } from '../transport.js';

let nextPeer = 1;
const randomPeerId = () => `memory-${nextPeer++}`;

export interface MemoryFaults {
  /** Probability that a message is lost. */
  readonly drop?: number;
  /** Probability that a message is delivered twice. */
  readonly duplicate?: number;
  /** Probability that a message overtakes the ones queued before it. */
  readonly reorder?: number;
}

export interface MemoryHubOptions {
  readonly faults?: MemoryFaults;
  /** Random numbers in [0, 1) for the faults (default Math.random): pass a seeded one for repeatable runs. */
  readonly random?: () => number;
  /** The links' maxMessageSize (default 256 KiB). */
  readonly maxMessageSize?: number;
}

interface Member {
  readonly id: string;
  readonly events: NetworkEvents;
}

interface Wire {
  readonly from: string;
  readonly to: string;
  readonly queue: Uint8Array[];
  bytes: number;
  drain: (() => void)[];
  cut: boolean;
}

export class MemoryHub {
  /** Bytes handed to the hub by all peers (before faults). */
  bytesSent = 0;
  messagesSent = 0;
  private readonly members = new Map<string, Member>();
  private readonly wires = new Map<string, Wire>();
  private groups: string[][] | null = null;
  private scheduled = false;
  private readonly faults: MemoryFaults;
  private readonly random: () => number;
  private readonly maxMessageSize: number;

  constructor(options: MemoryHubOptions = {}) {
    this.faults = options.faults ?? {};
    this.random = options.random ?? Math.random;
    this.maxMessageSize = options.maxMessageSize ?? 256 * 1024;
  }

  /** A new peer on this hub. */
  adapter(peerId: string = randomPeerId()): NetworkAdapter {
    const hub = this;
    return {
      kind: 'memory',
      peerId,
      start(events: NetworkEvents) {
        hub.join({ id: peerId, events });
      },
      stop() {
        hub.leave(peerId);
      },
    };
  }

  /** Splits the peers into groups that cannot reach each other (their links drop). */
  partition(groups: string[][]): void {
    this.groups = groups;
    for (const w of [...this.wires.values()]) if (!this.reachable(w.from, w.to)) this.cut(w.from, w.to);
  }

  /** Ends every partition: peers that can reach each other again connect. */
  heal(): void {
    this.groups = null;
    this.connectAll();
  }

  /** Cuts the link between two peers now (whatever is in flight is lost), and reconnects it after `after` ms (never when omitted). */
  disconnect(a: string, b: string, after?: number): void {
    this.cut(a, b);
    if (after !== undefined) setTimeout(() => this.connectAll(), after);
  }

  /** Messages in flight on every link. */
  get inFlight(): number {
    let n = 0;
    for (const w of this.wires.values()) n += w.queue.length;
    return n;
  }

  /** Peers currently linked with `id`. */
  linked(id: string): string[] {
    return [...this.wires.values()].filter((w) => w.from === id).map((w) => w.to);
  }

  private reachable(a: string, b: string): boolean {
    if (!this.groups) return true;
    return this.groups.some((g) => g.includes(a) && g.includes(b));
  }

  private join(m: Member): void {
    this.members.set(m.id, m);
    this.connectAll();
  }

  private leave(id: string): void {
    for (const w of [...this.wires.values()]) if (w.from === id || w.to === id) this.cut(w.from, w.to);
    this.members.delete(id);
  }

  private connectAll(): void {
    const ids = [...this.members.keys()];
    for (const a of ids) {
      for (const b of ids) {
        if (a < b && this.reachable(a, b) && !this.wires.has(`${a}>${b}`)) this.link(a, b);
      }
    }
  }

  private link(a: string, b: string): void {
    const ab: Wire = { from: a, to: b, queue: [], bytes: 0, drain: [], cut: false };
    const ba: Wire = { from: b, to: a, queue: [], bytes: 0, drain: [], cut: false };
    this.wires.set(`${a}>${b}`, ab);
    this.wires.set(`${b}>${a}`, ba);
    this.members.get(a)!.events.peerCandidate(this.endpoint(ab));
    this.members.get(b)!.events.peerCandidate(this.endpoint(ba));
  }

  private cut(a: string, b: string): void {
    const ab = this.wires.get(`${a}>${b}`);
    const ba = this.wires.get(`${b}>${a}`);
    if (!ab || !ba) return;
    ab.cut = ba.cut = true;
    this.wires.delete(`${a}>${b}`);
    this.wires.delete(`${b}>${a}`);
    this.members.get(a)?.events.peerDisconnected(b, 'link cut');
    this.members.get(b)?.events.peerDisconnected(a, 'link cut');
  }

  private endpoint(w: Wire): Link {
    const hub = this;
    return {
      peer: w.to,
      maxMessageSize: this.maxMessageSize,
      get bufferedAmount() {
        return w.bytes;
      },
      send(bytes: Uint8Array) {
        if (w.cut) return;
        if (bytes.length > hub.maxMessageSize) throw new Error(`message of ${bytes.length} bytes is larger than ${hub.maxMessageSize}`);
        hub.bytesSent += bytes.length;
        hub.messagesSent++;
        const f = hub.faults;
        if (f.drop && hub.random() < f.drop) return;
        const copies = f.duplicate && hub.random() < f.duplicate ? 2 : 1;
        for (let i = 0; i < copies; i++) {
          const copy = bytes.slice();
          if (f.reorder && w.queue.length > 0 && hub.random() < f.reorder) {
            w.queue.splice(Math.floor(hub.random() * w.queue.length), 0, copy);
          } else w.queue.push(copy);
          w.bytes += copy.length;
        }
        hub.schedule();
      },
      onDrain(resume: () => void) {
        if (w.bytes === 0) queueMicrotask(resume);
        else w.drain.push(resume);
      },
      close() {
        hub.cut(w.from, w.to);
      },
    };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => this.deliver(), 0);
  }

  /**
   * Delivers the next message of every link, in a task of its own (never inside
   * the sender's call), one per link per task as a real channel's message events.
   */
  private deliver(): void {
    this.scheduled = false;
    for (const w of [...this.wires.values()]) {
      const bytes = w.queue.shift();
      if (!bytes) continue;
      w.bytes -= bytes.length;
      this.members.get(w.to)?.events.message(w.from, bytes);
      if (w.bytes === 0 && w.drain.length > 0) for (const d of w.drain.splice(0)) d();
    }
    if (this.inFlight > 0) this.schedule();
  }
}

