// Transaction: the writes of one store.transact(fn), gathered into one
// batch that crosses into the engine once, when fn returns
// (docs/transactions.md). Each write call inside is all or nothing on its
// own (a failed call leaves no byte, effect, presence or credit change
// behind), and the
// whole batch is all or nothing when the engine checks it at commit.
import type { ByteWriter } from './bytes.js';
import type { CollectionInfo } from './schema.js';

/** Where one write call began: what to roll back to when it fails. */
interface Mark {
  readonly pos: number;
  readonly effects: number;
  readonly undo: number;
  kept: boolean;
}

/** Something a write call does once its batch has run: invalidate, notify, tell watchers. */
interface Effect {
  readonly run: () => void;
  /** Run only the first effect with this key (a watcher hears a record once, before the transaction → after it). */
  readonly once: string | undefined;
}

export class Transaction {
  readonly #marks: Mark[] = [];
  readonly #effects: Effect[] = [];
  /** Whether each record the transaction wrote is visible after its writes so far; keys are collection index + NUL + id. */
  readonly #presence = new Map<string, boolean>();
  /** What the transaction's ops so far add to each credit field's value (docs/credit.md: a delete leaves credit alone); keys: key() + NUL + field index. */
  readonly #credit = new Map<string, number>();
  /** How to undo each change of #presence and #credit, newest last: the key and what it held before. */
  readonly #undo: Undo[] = [];

  /** `w` already holds the clock; `start` is where the ops begin. */
  constructor(
    readonly w: ByteWriter,
    readonly start: number,
  ) {}

  /** True when some write call kept an op. */
  get empty(): boolean {
    return this.w.pos === this.start;
  }

  /** A write call begins. */
  begin(): void {
    this.#marks.push({ pos: this.w.pos, effects: this.#effects.length, undo: this.#undo.length, kept: false });
  }

  /** The write call's ops passed every check made before commit: keep them. */
  keep(): void {
    this.#marks[this.#marks.length - 1]!.kept = true;
  }

  /** A write call ends; one that was not kept leaves nothing behind. */
  end(): void {
    const m = this.#marks.pop()!;
    if (m.kept) return;
    this.w.pos = m.pos;
    this.#effects.length = m.effects;
    while (this.#undo.length > m.undo) {
      const u = this.#undo.pop()!;
      if (u.map === 'presence') restore(this.#presence, u.key, u.was);
      else restore(this.#credit, u.key, u.was);
    }
  }

  after(run: () => void, once?: string): void {
    this.#effects.push({ run, once });
  }

  /** The record's visibility as the transaction's writes leave it; undefined when it wrote none to the record. */
  visible(c: CollectionInfo, id: string): boolean | undefined {
    return this.#presence.get(key(c, id));
  }

  /** The transaction wrote to the record, which is `visible` after. */
  wrote(c: CollectionInfo, id: string, visible: boolean): void {
    const k = key(c, id);
    this.#undo.push({ map: 'presence', key: k, was: this.#presence.get(k) });
    this.#presence.set(k, visible);
  }

  /** What the transaction's ops so far add to a credit field's value. */
  credit(c: CollectionInfo, id: string, field: number): number {
    return this.#credit.get(`${key(c, id)}\u0000${field}`) ?? 0;
  }

  /** An op of the transaction adds `by` (negative: a spend) to a credit field's value. */
  credited(c: CollectionInfo, id: string, field: number, by: number): void {
    const k = `${key(c, id)}\u0000${field}`;
    const was = this.#credit.get(k);
    this.#undo.push({ map: 'credit', key: k, was });
    this.#credit.set(k, (was ?? 0) + by);
  }

  /** After the batch ran: every effect, in order (each watcher's record once); the first error thrown is rethrown after all ran. */
  settle(): void {
    const seen = new Set<string>();
    let failed = false;
    let first: unknown;
    for (const e of this.#effects) {
      if (e.once !== undefined) {
        if (seen.has(e.once)) continue;
        seen.add(e.once);
      }
      try {
        e.run();
      } catch (error) {
        if (!failed) first = error;
        failed = true;
      }
    }
    if (failed) throw first;
  }
}

/** One change of a transaction's presence or credit map, to undo. */
type Undo = { readonly map: 'presence'; readonly key: string; readonly was: boolean | undefined } | { readonly map: 'credit'; readonly key: string; readonly was: number | undefined };

function restore<V>(map: Map<string, V>, key: string, was: V | undefined): void {
  if (was === undefined) map.delete(key);
  else map.set(key, was);
}

export function key(c: CollectionInfo, id: string): string {
  return `${c.index}\u0000${id}`;
}
