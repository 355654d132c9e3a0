// Versions on the wire in proportion to what changed (issue 14).
//
// A hello and every delta carry their sender's whole version (a delta's is
// its context, detached from its engine bytes: cpp/delta.h), and a version
// names every actor the store has heard of: thousands, in a document many
// people have written. So the hellos and deltas of each direction of a
// session form a chain: each carries only the entries that grew since the
// previous one, numbered, and actors the receiver already heard of in this
// chain as their position in its sorted list instead of their 8-byte ids. The
// receiver rebuilds the whole version by joining the entries onto the
// previous one. (Acks need no chain: their entries are facts that only raise
// what the receiver knows of the sender, and one lost costs a resend.)
//
// That is exact only when the receiver got every earlier message of the chain.
// On the channels sync runs over (ordered, reliable) it does. Where messages
// can still come out of order (the fault-injection tests reorder, duplicate
// and drop them), the receiver holds a message that comes after a gap until
// the gap fills (briefly: StoreSync bounds what and how long), ignores one it
// has passed (a duplicate), and when the gap does not fill (a message was
// lost) asks for a restart (an ack with `restart` set): the sender's next
// delta carries its whole version again, and brings everything since the
// last ack. A delta's engine bytes are
// detached from their context (cpp/delta.h), which is this version; the
// engine also checks 16 bits of it, so a version rebuilt wrong is refused,
// never joined.
import type { Version } from '../version.js';

/** One entry of a version on the wire: an actor by position (`ref` = position + 1) or by id (`ref` = 0). */
export interface DiffEntry {
  readonly ref: number;
  readonly actor: string;
  readonly seq: number;
}

/** A version as one message carries it. */
export interface VersionDiff {
  /** This message's number in its direction of the session. */
  readonly chain: number;
  /** The entries are the whole version, not what changed (the chain starts again). */
  readonly absolute: boolean;
  readonly entries: readonly DiffEntry[];
}

/** Actors in sorted order with their seqs: a version that knows each actor's position. */
class Indexed {
  readonly seqs = new Map<string, number>();
  readonly sorted: string[] = [];

  clear(): void {
    this.seqs.clear();
    this.sorted.length = 0;
  }

  position(actor: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! < actor) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  raise(actor: string, seq: number): void {
    const had = this.seqs.get(actor);
    if (had === undefined) this.sorted.splice(this.position(actor), 0, actor);
    if (had === undefined || had < seq) this.seqs.set(actor, seq);
  }

  toVersion(): Version {
    const out: Record<string, number> = {};
    for (const a of this.sorted) out[a] = this.seqs.get(a)!;
    return out;
  }
}

/** The sending end of one direction of a session. */
export class OutChain {
  private readonly told = new Indexed();
  private next = 0;
  private whole = true;

  /** The entries of `mine` the receiver has not been told, to go in the next message. */
  diff(mine: Version, all = false): VersionDiff {
    const absolute = this.whole || all;
    const entries: DiffEntry[] = [];
    for (const actor in mine) {
      const seq = mine[actor]!;
      const had = absolute ? undefined : this.told.seqs.get(actor);
      if (had !== undefined && had >= seq) continue;
      entries.push(had === undefined ? { ref: 0, actor, seq } : { ref: this.told.position(actor) + 1, actor: '', seq });
    }
    return { chain: this.next, absolute, entries };
  }

  /** The message made by diff(mine) went out. */
  sent(mine: Version, d: VersionDiff): void {
    if (d.absolute) this.told.clear();
    for (const actor in mine) this.told.raise(actor, mine[actor]!);
    this.next = d.chain + 1;
    this.whole = false;
  }

  /** The receiver lost track: the next message carries the whole version. */
  restart(): void {
    this.whole = true;
  }
}

/** The receiving end. */
export class InChain {
  private readonly known = new Indexed();
  private last = -1;
  private started = false;

  /**
   * Where a message stands: 'now' it can be read (the next one, a whole
   * version past what we have, or a hello, which starts the chain again),
   * 'late' we have passed it (a duplicate), 'early' one before it is missing.
   */
  place(d: VersionDiff, hello: boolean): 'now' | 'late' | 'early' {
    if (hello) return 'now';
    if (!this.started) return d.absolute ? 'now' : 'early';
    if (d.chain <= this.last) return 'late';
    return d.absolute || d.chain === this.last + 1 ? 'now' : 'early';
  }

  /** The number of the message read next. */
  get next(): number {
    return this.last + 1;
  }

  /** The sender's whole version as of a message placed 'now'; null when its entries are malformed. */
  accept(d: VersionDiff): Version | null {
    if (d.absolute) {
      if (d.entries.some((e) => e.ref !== 0)) return null;
      this.known.clear();
    } else if (!this.started || d.chain !== this.last + 1) {
      return null;
    }
    // Positions refer to the actors as they were before this message.
    const actors: string[] = [];
    for (const e of d.entries) {
      const actor = e.ref === 0 ? e.actor : this.known.sorted[e.ref - 1];
      if (actor === undefined) return null;
      actors.push(actor);
    }
    for (let i = 0; i < actors.length; i++) this.known.raise(actors[i]!, d.entries[i]!.seq);
    this.last = d.chain;
    this.started = true;
    return this.known.toVersion();
  }
}
