// Live queries over one collection (docs/queries.md): a where, an order and
// a window, maintained incrementally from the ids of the records that
// changed.
import type { Value } from './bytes.js';
import { isValue } from './bytes.js';
import { MyceliumError } from './errors.js';
import { compareIds } from './ids.js';
import { compareValues, rank } from './value-order.js';
import type { FieldIndex } from './field-index.js';
import type { CollectionInfo, FieldInfo, Fields, FieldsOf, Kind, RecordOf } from './schema.js';

/** Conditions on one field's value (docs/queries.md, Semantics). */
export interface Condition {
  readonly eq?: Value;
  readonly ne?: Value;
  readonly lt?: Value;
  readonly lte?: Value;
  readonly gt?: Value;
  readonly gte?: Value;
  readonly in?: readonly Value[];
  /** set, mvr, list: has the element; text: has the substring. */
  readonly contains?: Value;
}

/** Conditions on fields, all of which must hold, combined with and/or/not. */
export type Where<F extends Fields> = {
  readonly [P in keyof F]?: Value | Condition;
} & {
  readonly and?: readonly Where<F>[];
  readonly or?: readonly Where<F>[];
  readonly not?: Where<F>;
};

type Orderable<F extends Fields> = string extends keyof F ? string : FieldsOf<F, 'lww' | 'counter' | 'credit' | 'text'>;
export type OrderKey<F extends Fields> = Orderable<F> | readonly [Orderable<F>, 'asc' | 'desc'];

export interface QuerySpec<F extends Fields> {
  readonly where?: Where<F> | ((record: RecordOf<F>) => boolean);
  readonly orderBy?: OrderKey<F> | readonly OrderKey<F>[];
  readonly offset?: number;
  readonly limit?: number;
}

/** What a query's subscribers hear: the window now, and which ids entered, left or changed in it. */
export interface QueryChange<F extends Fields> {
  readonly results: readonly RecordOf<F>[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly updated: readonly string[];
}

/** What a Query needs from its collection. */
export interface QuerySource<F extends Fields> {
  readonly info: CollectionInfo;
  get(id: string): RecordOf<F> | undefined;
  all(): readonly RecordOf<F>[];
  /** Calls `fn` once per microtask after changes; returns the unsubscribe function. */
  onChange(fn: () => void): () => void;
  forget(q: Query<F>): void;
  /** The store's secondary index on `field` (open({ index })), if any. */
  index(field: string): FieldIndex | undefined;
}

// --- where, compiled -----------------------------------------------------------

type Test = (record: Record<string, unknown>) => boolean;

const OPS = new Set(['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'contains']);
const SCALAR: ReadonlySet<Kind> = new Set(['lww', 'counter', 'credit', 'text']);

function checkValue(where: string, v: unknown): Value {
  if (!isValue(v)) throw new MyceliumError('invalid_argument', `${where}: not a value (${typeof v})`);
  return v;
}

function isCondition(v: unknown): v is Condition {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

function fieldTest(c: CollectionInfo, f: FieldInfo, cond: unknown): Test {
  const name = f.name;
  const at = `${c.name}.${name}`;
  const scalar = SCALAR.has(f.kind);
  const tests: Test[] = [];
  const ops: [string, unknown][] = isCondition(cond) ? Object.entries(cond) : [['eq', cond]];
  for (const [op, arg] of ops) {
    if (!OPS.has(op)) throw new MyceliumError('invalid_argument', `${at}: unknown condition '${op}'`);
    if (op === 'contains') {
      const v = checkValue(`${at}.contains`, arg);
      if (f.kind === 'text') {
        if (typeof v !== 'string') throw new MyceliumError('invalid_argument', `${at}: a text contains a string`);
        tests.push((r) => (r[name] as string).includes(v));
      } else if (!scalar) {
        tests.push((r) => (r[name] as readonly Value[]).some((x) => compareValues(x, v) === 0));
      } else {
        throw new MyceliumError('invalid_argument', `${at}: contains is for set, mvr, list and text fields`);
      }
      continue;
    }
    if (!scalar) {
      throw new MyceliumError('invalid_argument', `${at} is a ${f.kind}: use contains`);
    }
    if (op === 'in') {
      if (!Array.isArray(arg)) throw new MyceliumError('invalid_argument', `${at}.in takes an array of values`);
      const vs = arg.map((v, i) => checkValue(`${at}.in[${i}]`, v));
      tests.push((r) => vs.some((v) => compareValues(r[name] as Value, v) === 0));
      continue;
    }
    const v = checkValue(`${at}.${op}`, arg);
    const cmp = (r: Record<string, unknown>) => compareValues(r[name] as Value, v);
    const same = (r: Record<string, unknown>) => rank(r[name] as Value) === rank(v);
    switch (op) {
      case 'eq':
        tests.push((r) => cmp(r) === 0);
        break;
      case 'ne':
        tests.push((r) => cmp(r) !== 0);
        break;
      case 'lt':
        tests.push((r) => same(r) && cmp(r) < 0);
        break;
      case 'lte':
        tests.push((r) => same(r) && cmp(r) <= 0);
        break;
      case 'gt':
        tests.push((r) => same(r) && cmp(r) > 0);
        break;
      default:
        tests.push((r) => same(r) && cmp(r) >= 0);
    }
  }
  return tests.length === 1 ? tests[0]! : (r) => tests.every((t) => t(r));
}

function compileWhere(c: CollectionInfo, where: unknown): Test {
  if (typeof where !== 'object' || where === null || Array.isArray(where)) {
    throw new MyceliumError('invalid_argument', `${c.name}: where is an object of conditions or a function`);
  }
  const tests: Test[] = [];
  for (const [key, cond] of Object.entries(where)) {
    if (cond === undefined) continue;
    if (key === 'and' || key === 'or') {
      if (!Array.isArray(cond)) throw new MyceliumError('invalid_argument', `${c.name}: ${key} takes an array of conditions`);
      const parts = cond.map((w) => compileWhere(c, w));
      tests.push(key === 'and' ? (r) => parts.every((t) => t(r)) : (r) => parts.some((t) => t(r)));
      continue;
    }
    if (key === 'not') {
      const inner = compileWhere(c, cond);
      tests.push((r) => !inner(r));
      continue;
    }
    const f = c.byName.get(key);
    if (!f) throw new MyceliumError('unknown_field', `unknown field '${key}' in '${c.name}'`);
    tests.push(fieldTest(c, f, cond));
  }
  return (r) => tests.every((t) => t(r));
}

// --- order -----------------------------------------------------------------------

interface Order {
  readonly fields: readonly string[];
  readonly signs: readonly number[];
}

function compileOrder(c: CollectionInfo, orderBy: unknown): Order {
  if (orderBy === undefined) return { fields: [], signs: [] };
  // A field, [field, direction] (a two-element array whose second is a
  // direction is always that), or a list of those.
  const single =
    typeof orderBy === 'string' ||
    (Array.isArray(orderBy) && orderBy.length === 2 && typeof orderBy[0] === 'string' && (orderBy[1] === 'asc' || orderBy[1] === 'desc'));
  const keys: unknown[] = single ? [orderBy] : Array.isArray(orderBy) ? orderBy : [orderBy];
  const fields: string[] = [];
  const signs: number[] = [];
  for (const k of keys) {
    const [name, dir] = typeof k === 'string' ? [k, 'asc'] : Array.isArray(k) ? k : [undefined, undefined];
    if (typeof name !== 'string' || (dir !== 'asc' && dir !== 'desc')) {
      throw new MyceliumError('invalid_argument', `${c.name}: orderBy takes fields or [field, 'asc' | 'desc']`);
    }
    const f = c.byName.get(name);
    if (!f) throw new MyceliumError('unknown_field', `unknown field '${name}' in '${c.name}'`);
    if (!SCALAR.has(f.kind)) throw new MyceliumError('invalid_argument', `${c.name}.${name} is a ${f.kind}: it has no order`);
    fields.push(name);
    signs.push(dir === 'asc' ? 1 : -1);
  }
  return { fields, signs };
}

function checkCount(c: CollectionInfo, what: string, n: unknown, dflt: number): number {
  if (n === undefined) return dflt;
  if (typeof n !== 'number' || !(Number.isSafeInteger(n) || n === Infinity) || n < 0) {
    throw new MyceliumError('invalid_argument', `${c.name}: ${what} is a non-negative integer`);
  }
  return n;
}

// --- the query -------------------------------------------------------------------

interface Entry<F extends Fields> {
  readonly id: string;
  readonly record: RecordOf<F>;
  readonly key: readonly Value[];
  /** Its id and key strings hold no UTF-16 surrogates: for two such entries, JS's < on strings is code point order. */
  readonly plain: boolean;
  /** Left the matches (#updateMany marks it, then drops it). */
  dead: boolean;
}

const SURROGATE = /[\uD800-\uDFFF]/;
const plainKey = (id: string, key: readonly Value[]): boolean => !SURROGATE.test(id) && key.every((v) => typeof v !== 'string' || !SURROGATE.test(v));

/** A live query (docs/queries.md): make it with collection.query(). */
export class Query<F extends Fields> {
  readonly #source: QuerySource<F>;
  readonly #test: (record: RecordOf<F>) => boolean;
  readonly #order: Order;
  readonly #offset: number;
  readonly #limit: number;
  /** Matching records, sorted by key then id; and where each id's entry is. */
  #matches: Entry<F>[] = [];
  readonly #byId = new Map<string, Entry<F>>();
  /** Ids changed since the matches were last brought up to date. */
  readonly #dirty = new Set<string>();
  #window: readonly RecordOf<F>[] = Object.freeze([]);
  /** The window as subscribers last heard it. */
  #heard: readonly RecordOf<F>[] | null = null;
  readonly #listeners = new Set<(change: QueryChange<F>) => void>();
  #off: (() => void) | null = null;
  #closed = false;
  /**
   * Index mode (the first orderBy field has an index): the matches are only
   * those whose first key is at or before #bound in the query's direction
   * (whole groups of one value), read from the index as far as the window
   * needs; #exhausted once the index has been read to its end.
   */
  readonly #index: FieldIndex | undefined;
  #bound: { key: Value } | null = null;
  #exhausted = false;

  /** @internal Use collection.query(). */
  constructor(source: QuerySource<F>, spec: QuerySpec<F>) {
    const c = source.info;
    if (typeof spec !== 'object' || spec === null) throw new MyceliumError('invalid_argument', 'query takes an object');
    this.#source = source;
    const where = spec.where;
    if (typeof where === 'function') {
      this.#test = (r) => where(r) === true;
    } else if (where === undefined) {
      this.#test = () => true;
    } else {
      const test = compileWhere(c, where);
      this.#test = (r) => test(r as unknown as Record<string, unknown>);
    }
    this.#order = compileOrder(c, spec.orderBy);
    this.#offset = checkCount(c, 'offset', spec.offset, 0);
    this.#limit = checkCount(c, 'limit', spec.limit, Infinity);
    this.#index = this.#order.fields.length > 0 ? source.index(this.#order.fields[0]!) : undefined;
    if (this.#index) this.#fill();
    else {
      for (const record of source.all()) this.#consider(record.id, record, false);
      // all() comes in id order: only an orderBy needs a sort.
      if (this.#order.fields.length > 0) this.#matches.sort((a, b) => this.#compare(a, b));
    }
    this.#rebuild();
  }

  /** The window now: a frozen array, the same one while nothing in it changed. */
  readonly results = (): readonly RecordOf<F>[] => {
    if (this.#closed) throw new MyceliumError('closed', 'the query is closed');
    this.#update();
    return this.#window;
  };

  /** Matching records before offset and limit (a query on an index reads every record for it). */
  get count(): number {
    if (this.#closed) throw new MyceliumError('closed', 'the query is closed');
    this.#update();
    if (!this.#index || this.#exhausted) return this.#matches.length;
    let n = 0;
    for (const r of this.#source.all()) if (this.#test(r)) n++;
    return n;
  }

  /** Calls `listener` once per microtask in which the window changed. Returns the unsubscribe function. */
  readonly subscribe = (listener: (change: QueryChange<F>) => void): (() => void) => {
    if (typeof listener !== 'function') throw new MyceliumError('invalid_argument', 'subscribe takes a function');
    if (this.#closed) throw new MyceliumError('closed', 'the query is closed');
    this.#listeners.add(listener);
    if (this.#off === null) {
      this.#heard = this.results();
      this.#off = this.#source.onChange(() => this.#notify());
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#off !== null) {
        this.#off();
        this.#off = null;
      }
    };
  };

  /** Stops maintaining the query; its subscribers hear nothing more. */
  readonly close = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    this.#off?.();
    this.#off = null;
    this.#listeners.clear();
    this.#matches = [];
    this.#byId.clear();
    this.#source.forget(this);
  };

  /** @internal The record changed (a local write, a joined delta). */
  touch(id: string): void {
    this.#dirty.add(id);
  }

  #key(record: RecordOf<F>): Value[] {
    const r = record as unknown as Record<string, Value>;
    return this.#order.fields.map((f) => r[f]!);
  }

  /** Key, then id. The hot path of every sort and search: strings and numbers are compared inline. */
  #compare(a: Entry<F>, b: Entry<F>): number {
    const signs = this.#order.signs;
    const plain = a.plain && b.plain;
    for (let i = 0; i < signs.length; i++) {
      const x = a.key[i]!;
      const y = b.key[i]!;
      let c: number;
      if (typeof x === 'string' && typeof y === 'string' && plain) c = x === y ? 0 : x < y ? -1 : 1;
      else if (typeof x === 'number' && typeof y === 'number') c = x < y ? -1 : x > y ? 1 : x === y ? 0 : compareValues(x, y);
      else c = compareValues(x, y);
      if (c !== 0) return c * signs[i]!;
    }
    if (plain) return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
    return compareIds(a.id, b.id);
  }

  #entry(id: string, record: RecordOf<F>): Entry<F> {
    const key = this.#key(record);
    return { id, record, key, plain: plainKey(id, key), dead: false };
  }

  /** Where an entry is (or would go) in the matches. */
  #find(e: Entry<F>): number {
    let lo = 0;
    let hi = this.#matches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compare(this.#matches[mid]!, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds the record if it matches (placed, or appended for a sort after). */
  #consider(id: string, record: RecordOf<F> | undefined, place: boolean): number {
    if (record === undefined || !this.#test(record)) return -1;
    const e = this.#entry(id, record);
    if (!this.#admits(e)) return -1;
    this.#byId.set(id, e);
    if (!place) {
      this.#matches.push(e);
      return this.#matches.length - 1;
    }
    const at = this.#find(e);
    this.#matches.splice(at, 0, e);
    return at;
  }

  /** Index mode: is the entry's first key within what has been read of the index? */
  #admits(e: Entry<F>): boolean {
    if (!this.#index || this.#exhausted) return true;
    if (this.#bound === null) return false;
    const c = compareValues(e.key[0]!, this.#bound.key);
    return this.#order.signs[0]! > 0 ? c <= 0 : c >= 0;
  }

  /**
   * Index mode: reads the index on, a group of one value at a time, until
   * the matches fill the window (or the index ends). Each group sorts after
   * every match before it. Returns whether matches were added.
   */
  #fill(): boolean {
    const index = this.#index!;
    const need = this.#offset + this.#limit;
    const asc = this.#order.signs[0]! > 0;
    let grew = false;
    while (!this.#exhausted && this.#matches.length < need) {
      let start: number;
      let end: number;
      if (asc) {
        start = this.#bound === null ? 0 : index.upperBound(this.#bound.key);
        if (start >= index.size) {
          this.#exhausted = true;
          break;
        }
        end = index.upperBound(index.keyAt(start));
      } else {
        end = this.#bound === null ? index.size : index.lowerBound(this.#bound.key);
        if (end <= 0) {
          this.#exhausted = true;
          break;
        }
        start = index.lowerBound(index.keyAt(end - 1));
      }
      const key = index.keyAt(start);
      const group: Entry<F>[] = [];
      for (let i = start; i < end; i++) {
        const id = index.idAt(i);
        const record = this.#source.get(id);
        if (record === undefined || !this.#test(record)) continue;
        const e = this.#entry(id, record);
        this.#byId.set(id, e);
        group.push(e);
      }
      if (group.length > 1) group.sort((a, b) => this.#compare(a, b));
      for (const e of group) this.#matches.push(e);
      this.#bound = { key };
      if (group.length > 0) grew = true;
    }
    return grew;
  }

  /** Re-evaluates the changed records; rebuilds the window if anything at or before it moved. */
  #update(): void {
    if (this.#dirty.size === 0) return;
    if (this.#dirty.size > 32) {
      this.#updateMany();
      return;
    }
    const windowEnd = this.#offset + this.#limit;
    let first = Infinity; // the first place that changed
    for (const id of this.#dirty) {
      const old = this.#byId.get(id);
      const record = this.#source.get(id);
      if (old !== undefined) {
        if (old.record === record) continue;
        const at = this.#find(old);
        this.#matches.splice(at, 1);
        this.#byId.delete(id);
        first = Math.min(first, at);
      }
      const at = this.#consider(id, record, true);
      if (at >= 0) first = Math.min(first, at);
    }
    this.#dirty.clear();
    const had = this.#matches.length;
    if (this.#index && this.#fill()) first = Math.min(first, had);
    if (first < windowEnd) this.#rebuild();
  }

  /**
   * Many changed records (a joined delta): one pass drops their old entries,
   * their new ones are sorted on their own and merged in (O(n + k log k),
   * not k splices of the whole list).
   */
  #updateMany(): void {
    const dirty = this.#dirty;
    const old = this.#matches;
    let gone = 0; // entries of `old` marked dead
    const fresh: Entry<F>[] = [];
    for (const id of dirty) {
      const was = this.#byId.get(id);
      const record = this.#source.get(id);
      if (was !== undefined) {
        if (was.record === record) continue; // unchanged: its entry stays
        was.dead = true;
        gone++;
        this.#byId.delete(id);
      }
      if (record === undefined || !this.#test(record)) continue;
      const e = this.#entry(id, record);
      if (!this.#admits(e)) continue;
      this.#byId.set(id, e);
      fresh.push(e);
    }
    dirty.clear();
    if (gone === 0 && fresh.length === 0) {
      const had = this.#matches.length;
      if (this.#index && this.#fill() && had < this.#offset + this.#limit) this.#rebuild();
      return;
    }
    fresh.sort((a, b) => this.#compare(a, b));
    // Where each new entry goes among the old ones (the dead ones included:
    // they are still in order, and a new entry never ties with one, ids differ).
    const at = fresh.map((e) => this.#find(e));
    const merged: Entry<F>[] = new Array(old.length - gone + fresh.length);
    let n = 0;
    let j = 0;
    let first = at.length > 0 ? at[0]! : Infinity; // the first place that changed
    for (let i = 0; i < old.length; i++) {
      while (j < fresh.length && at[j]! <= i) merged[n++] = fresh[j++]!;
      const e = old[i]!;
      if (e.dead) {
        if (i < first) first = i;
        continue;
      }
      merged[n++] = e;
    }
    while (j < fresh.length) merged[n++] = fresh[j++]!;
    this.#matches = merged;
    const had = merged.length;
    if (this.#index && this.#fill()) first = Math.min(first, had);
    // Nothing before the first change moved, so its place is the same in both.
    if (first < this.#offset + this.#limit) this.#rebuild();
  }

  #rebuild(): void {
    const end = Math.min(this.#matches.length, this.#offset + this.#limit);
    const next: RecordOf<F>[] = [];
    for (let i = this.#offset; i < end; i++) next.push(this.#matches[i]!.record);
    const prev = this.#window;
    if (next.length === prev.length && next.every((r, i) => r === prev[i])) return;
    this.#window = Object.freeze(next);
  }

  #notify(): void {
    if (this.#closed || this.#listeners.size === 0) return;
    const now = this.results();
    const before = this.#heard ?? [];
    if (now === before) return;
    this.#heard = now;
    const old = new Map(before.map((r) => [r.id, r]));
    const ids = new Set(now.map((r) => r.id));
    const added: string[] = [];
    const updated: string[] = [];
    for (let i = 0; i < now.length; i++) {
      const r = now[i]!;
      const was = old.get(r.id);
      if (was === undefined) added.push(r.id);
      else if (was !== r) updated.push(r.id);
    }
    const removed = before.filter((r) => !ids.has(r.id)).map((r) => r.id);
    const change: QueryChange<F> = { results: now, added, removed, updated };
    for (const l of [...this.#listeners]) l(change);
  }
}
