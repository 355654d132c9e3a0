// Undo and redo of this replica's own changes (docs/undo.md): each captured
// change becomes an inverse action computed from the record before and after
// it, run later as new local writes.
import type { Value } from './bytes.js';
import type { Collection } from './collection.js';
import { changedSpan, sameValue } from './collection.js';
import type { Cursor } from './cursor.js';
import { MyceliumError } from './errors.js';
import type { FieldInfo, Fields, RecordOf } from './schema.js';

export interface UndoOptions {
  /** Collections whose changes are captured (default: every collection). */
  readonly collections?: readonly string[];
  /** Changes less than this many ms apart join one step. Default 500. */
  readonly captureTimeout?: number;
}

/** What an undo manager needs of its store. */
export interface UndoHost {
  readonly collectionNames: readonly string[];
  collection(name: string): Collection<Fields>;
  readonly fieldsOf: (name: string) => readonly FieldInfo[];
}

type Action = () => void;
interface Step {
  readonly actions: Action[];
  at: number;
}

type Rec = Record<string, unknown>;

export class UndoManager {
  readonly #undo: Step[] = [];
  readonly #redo: Step[] = [];
  readonly #timeout: number;
  readonly #offs: (() => void)[] = [];
  readonly #listeners = new Set<() => void>();
  /** While an undo or redo runs: the step its own writes are captured into. */
  #replaying: Step | null = null;
  #split = false;
  #closed = false;

  /** @internal Use store.undoManager(). */
  constructor(host: UndoHost, options: UndoOptions = {}) {
    const timeout = options.captureTimeout ?? 500;
    if (typeof timeout !== 'number' || !(timeout >= 0)) throw new MyceliumError('invalid_argument', 'captureTimeout is a number of ms, 0 or more');
    this.#timeout = timeout;
    const names = options.collections ?? host.collectionNames;
    if (!Array.isArray(names)) throw new MyceliumError('invalid_argument', 'collections is an array of collection names');
    for (const name of names) {
      const c = host.collection(name);
      const fields = host.fieldsOf(name);
      this.#offs.push(c.watch((id, before, after) => this.#capture(c, fields, id, before, after)));
    }
  }

  get canUndo(): boolean {
    return this.#undo.length > 0;
  }

  get canRedo(): boolean {
    return this.#redo.length > 0;
  }

  /** Reverts the last step; false when there is none. */
  readonly undo = (): boolean => this.#replay(this.#undo, this.#redo);

  /** Makes the last undone step again; false when there is none. */
  readonly redo = (): boolean => this.#replay(this.#redo, this.#undo);

  /** The next captured change starts a new step. */
  readonly stopCapturing = (): void => {
    this.#split = true;
  };

  /** Forgets both stacks. */
  readonly clear = (): void => {
    this.#undo.length = 0;
    this.#redo.length = 0;
    this.#changed();
  };

  /** Calls `listener` after every change of the stacks; returns the unsubscribe function. */
  readonly subscribe = (listener: () => void): (() => void) => {
    if (typeof listener !== 'function') throw new MyceliumError('invalid_argument', 'subscribe takes a function');
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Stops capturing; the stacks are dropped. */
  readonly close = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#offs) off();
    this.#undo.length = 0;
    this.#redo.length = 0;
    this.#listeners.clear();
  };

  #changed(): void {
    for (const l of [...this.#listeners]) l();
  }

  /** The step a transaction's captures join (store.transact: one transaction, one step); null outside one. */
  #group: Step | null = null;
  #grouping = false;

  /** @internal Runs `settle` (a transaction's effects) so that whatever it captures is one step. */
  grouped(settle: () => void): void {
    this.#grouping = true;
    try {
      settle();
    } finally {
      this.#grouping = false;
      this.#group = null;
    }
  }

  #replay(from: Step[], to: Step[]): boolean {
    if (this.#closed) throw new MyceliumError('closed', 'the undo manager is closed');
    const step = from.pop();
    if (step === undefined) return false;
    const captured: Step = { actions: [], at: Date.now() };
    this.#replaying = captured;
    try {
      for (let i = step.actions.length - 1; i >= 0; i--) step.actions[i]!();
    } finally {
      this.#replaying = null;
    }
    if (captured.actions.length > 0) to.push(captured);
    this.#split = true;
    this.#changed();
    return true;
  }

  #capture(c: Collection<Fields>, fields: readonly FieldInfo[], id: string, before: RecordOf<Fields> | undefined, after: RecordOf<Fields> | undefined): void {
    const action = inverse(c, fields, id, before as Rec | undefined, after as Rec | undefined);
    if (action === null) return;
    if (this.#replaying !== null) {
      this.#replaying.actions.push(action);
      return;
    }
    const now = Date.now();
    const last = this.#undo.at(-1);
    if (this.#group !== null && last === this.#group) {
      last.actions.push(action);
      last.at = now;
    } else if (last !== undefined && !this.#split && now - last.at < this.#timeout) {
      last.actions.push(action);
      last.at = now;
    } else {
      this.#undo.push({ actions: [action], at: now });
    }
    if (this.#grouping) this.#group = this.#undo.at(-1)!;
    this.#split = false;
    this.#redo.length = 0;
    this.#changed();
  }
}

/** The fields of a record as upsert() takes them, to restore it as it was. */
function restorable(fields: readonly FieldInfo[], r: Rec): Rec {
  const out: Rec = {};
  for (const f of fields) {
    const v = r[f.name];
    if (f.kind === 'credit') continue;  // not restored: an undo neither creates nor spends credit
    if (f.kind === 'mvr') {
      if ((v as Value[]).length === 1) out[f.name] = (v as Value[])[0];
    } else {
      out[f.name] = v;
    }
  }
  return out;
}

/** The action that reverts one captured change of one record, or null when it changed nothing. */
function inverse(c: Collection<Fields>, fields: readonly FieldInfo[], id: string, before: Rec | undefined, after: Rec | undefined): Action | null {
  if (before === undefined && after === undefined) return null;
  if (before === undefined) {
    return () => {
      c.delete(id);
    };
  }
  if (after === undefined) {
    const fieldsThen = restorable(fields, before);
    return () => {
      c.upsert(id, fieldsThen as Parameters<Collection<Fields>['upsert']>[1]);
    };
  }
  // Field by field, each from what the change did.
  const parts: ((w: Writer, now: Rec) => void)[] = [];
  const spans: { field: string; is: string | readonly Value[]; was: string | readonly Value[]; from: Cursor; to: Cursor; old: string | readonly Value[] }[] = [];
  for (const f of fields) {
    const was = before[f.name];
    const is = after[f.name];
    if (sameValue(was, is)) continue;
    const name = f.name;
    switch (f.kind) {
      case 'lww':
        parts.push((w, now) => {
          if (sameValue(now[name], is)) w.set(name, was as Value);
        });
        break;
      case 'mvr':
        if ((was as Value[]).length === 1) {
          parts.push((w, now) => {
            if (sameValue(now[name], is)) w.set(name, (was as Value[])[0]!);
          });
        }
        break;
      case 'counter': {
        const by = (was as number) - (is as number);
        parts.push((w) => w.increment(name, by));
        break;
      }
      case 'credit':
        // Not undone: undoing a spend would create credit no one added, and
        // undoing an add would spend rights (docs/credit.md).
        break;
      case 'set': {
        const added = (is as Value[]).filter((x) => !(was as Value[]).some((y) => sameValue(x, y)));
        const removed = (was as Value[]).filter((x) => !(is as Value[]).some((y) => sameValue(x, y)));
        parts.push((w) => {
          for (const x of added) w.remove(name, x);
          for (const x of removed) w.add(name, x);
        });
        break;
      }
      default: {
        // A list or text: the replaced middle, found again by its stable ends.
        const a = was as string | readonly Value[];
        const b = is as string | readonly Value[];
        const { start, end } = changedSpan(a, b);
        spans.push({
          field: name,
          is: b,
          was: a,
          from: c.cursor(id, name as never, start, -1),
          to: c.cursor(id, name as never, b.length - end, 1),
          old: a.slice(start, a.length - end),
        });
      }
    }
  }
  if (parts.length === 0 && spans.length === 0) return null;
  return () => {
    const now = c.get(id) as Rec | undefined;
    if (now === undefined) return; // deleted since: nothing to revert field by field
    // Where each replaced span is now, before anything is written: the same
    // place when the field still reads as the change left it (also when its
    // elements are new ones, a deleted record restored), else where its
    // stable ends are now.
    const places = spans.map((s) => {
      const current = now[s.field] as string | readonly Value[];
      if (sameValue(current, s.is)) {
        const { start, end } = changedSpan(s.is, s.was);
        return { s, from: start, to: s.is.length - end };
      }
      return { s, from: c.resolve(s.from), to: c.resolve(s.to) };
    });
    c.update(id, (w) => {
      const writer = w as unknown as Writer;
      for (const part of parts) part(writer, now);
      for (const { s, from, to } of places) {
        if (from === null || to === null) continue;
        if (to > from) writer.delete(s.field, from, to - from);
        if (s.old.length > 0) writer.insert(s.field, from, s.old);
      }
    });
  };
}

/** The record writer update() hands out, untyped. */
interface Writer {
  set(field: string, value: Value): Writer;
  increment(field: string, n: number): Writer;
  add(field: string, value: Value): Writer;
  remove(field: string, value: Value): Writer;
  insert(field: string, index: number, content: string | readonly Value[]): Writer;
  delete(field: string, index: number, count: number): Writer;
}
