// Subscriptions: changes are queued as they happen and delivered once per
// microtask, one array per collection.
import type { SchemaInfo } from './schema.js';

/** One record that changed: which fields, and whether it is now deleted. */
export interface Change {
  readonly id: string;
  readonly fields: readonly string[];
  readonly deleted: boolean;
  /** 'local': a write on this replica; 'remote': joined from a delta. */
  readonly origin: 'local' | 'remote';
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
