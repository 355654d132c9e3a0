// Subscriptions: changes are queued as they happen and delivered once per
// microtask, one array per collection.
import type { Value } from './bytes.js';
import type { SchemaInfo } from './schema.js';

/**
 * One change of a list or text field: at `index` (a text's UTF-16 code
 * units), `deleted` elements (code units) removed, then `inserted` (a
 * text's string, a list's values) put there. Splices come in order, each
 * against the field as the ones before it left it, so an editor applies
 * them one by one without diffing.
 */
export interface Splice {
  readonly index: number;
  readonly deleted: number;
  readonly inserted: string | readonly Value[];
}

/** One record that changed: which fields, and whether it is now deleted. */
export interface Change {
  readonly id: string;
  readonly fields: readonly string[];
  readonly deleted: boolean;
  /** 'local': a write on this replica; 'remote': joined from a delta. */
  readonly origin: 'local' | 'remote';
  /** What changed in its list and text fields, by field, as splices in order (only fields that changed). */
  readonly splices?: Readonly<Record<string, readonly Splice[]>>;
}

/** @internal Splices of one record's fields, gathered as they are made. */
export class SpliceLog {
  readonly #by = new Map<string, Splice[]>();

  add(field: string, s: Splice): void {
    if (s.deleted === 0 && s.inserted.length === 0) return;
    let list = this.#by.get(field);
    if (!list) this.#by.set(field, (list = []));
    list.push(Object.freeze(s));
  }

  /** The splices by field (frozen), or undefined when there are none. */
  result(): Readonly<Record<string, readonly Splice[]>> | undefined {
    if (this.#by.size === 0) return undefined;
    const out: Record<string, readonly Splice[]> = {};
    for (const [field, list] of this.#by) out[field] = Object.freeze(list);
    return Object.freeze(out);
  }
}

export type ChangeListener = (changes: Change[]) => void;

export class ChangeQueue {
  private readonly listeners: Set<ChangeListener>[];
  private readonly queued: Change[][];
  private subscribers = 0;
  private scheduled: Promise<void> | null = null;

  constructor(schema: SchemaInfo) {
    this.listeners = schema.collections.map(() => new Set());
    this.queued = schema.collections.map(() => []);
  }

  /** True while anyone listens: only then are changes collected. */
  get active(): boolean {
    return this.subscribers > 0;
  }

  subscribe(collection: number, listener: ChangeListener): () => void {
    const set = this.listeners[collection]!;
    const wrapped: ChangeListener = (c) => listener(c);
    set.add(wrapped);
    this.subscribers++;
    let on = true;
    return () => {
      if (!on) return;
      on = false;
      set.delete(wrapped);
      this.subscribers--;
    };
  }

  push(collection: number, change: Change): void {
    if (this.listeners[collection]!.size === 0) return;
    this.queued[collection]!.push(change);
    if (!this.scheduled) this.scheduled = Promise.resolve().then(() => this.deliver());
  }

  flushed(): Promise<void> {
    return this.scheduled ?? Promise.resolve();
  }

  clear(): void {
    for (const q of this.queued) q.length = 0;
    for (const s of this.listeners) s.clear();
    this.subscribers = 0;
  }

  private deliver(): void {
    this.scheduled = null;
    this.queued.forEach((changes, i) => {
      if (changes.length === 0) return;
      this.queued[i] = [];
      for (const listener of this.listeners[i]!) {
        try {
          listener(changes);
        } catch (e) {
          // One listener's bug must not stop the others; surface it asynchronously.
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    });
  }
}
