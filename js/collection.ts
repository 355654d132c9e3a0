// Collection: the records of one collection of a store. Writes are checked
// here (fields, kinds, value types) and in the engine, then cross to it as
// one batch per call; reads decode straight from engine memory.
import type { ByteReader, ByteWriter, Value } from './bytes.js';
import { isValue } from './bytes.js';
import type { Change, Splice } from './changes.js';
import { SpliceLog } from './changes.js';
import type { Assoc, Cursor, ElementId } from './cursor.js';
import { makeCursor, parseCursor } from './cursor.js';
import { MyceliumError } from './errors.js';
import { compareIds, newId } from './ids.js';
import { FieldIndex } from './field-index.js';
import type { QuerySource, QuerySpec } from './query.js';
import { Query } from './query.js';
import { testSwitches } from './test-switches.js';
import { key } from './transaction.js';
import { writeActor } from './version.js';
import type { CollectionInfo, FieldInfo, Fields, FieldsOf, InsertOf, Kind, RecordOf } from './schema.js';

/** Write ops of a batch (cpp/replica.h, Writes). */
export const enum Op {
  Insert = 1,
  Set = 2,
  Increment = 3,
  Add = 4,
  Remove = 5,
  Delete = 6,
  /** list, text: insert at an index (a text's in UTF-16 code units). */
  Splice = 7,
  /** list, text: delete count elements (a text's UTF-16 code units) at an index. */
  Erase = 8,
  /** list: replace the value at an index. */
  SetAt = 9,
  /** credit: add n (docs/credit.md). */
  CreditAdd = 10,
  /** credit: spend n of the rights this replica holds. */
  Spend = 11,
  /** credit: give n rights to another actor. */
  Transfer = 12,
}

/** The ops on a list's or text's elements, each reported as a splice. */
type SequenceOp = Op.Splice | Op.Erase | Op.SetAt;

/** @internal What a Collection needs from its store. */
export interface CollectionHost {
  beginBatch(): ByteWriter;
  op(w: ByteWriter, op: Op, c: CollectionInfo, field: number, id: string): void;
  commit(w: ByteWriter): void;
  endBatch(w: ByteWriter): void;
  /** Runs `run` now, or inside transact() once the transaction has committed (`once`: only the first with that key). */
  after(run: () => void, once?: string): void;
  /** True inside transact(). */
  readonly transacting: boolean;
  /** Inside transact(): the record's visibility as the transaction's writes leave it; undefined when it wrote none to it. */
  pendingVisible(c: CollectionInfo, id: string): boolean | undefined;
  /** Inside transact(): a write call kept ops on the record, which is `visible` after them. */
  wrote(c: CollectionInfo, id: string, visible: boolean): void;
  /** Inside transact(): what its ops so far add to a credit field's value (0 outside one). */
  pendingCredit(c: CollectionInfo, id: string, field: number): number;
  /** Inside transact(): an op adds `by` to a credit field's value. */
  credited(c: CollectionInfo, id: string, field: number, by: number): void;
  notify(c: CollectionInfo, id: string, fields: readonly string[], deleted: boolean, splices?: SpliceLog): void;
  subscribe(c: CollectionInfo, listener: (changes: Change[]) => void): () => void;
  read(c: CollectionInfo, id: string): ByteReader | null;
  readAll(c: CollectionInfo): ByteReader;
  /** Every visible record's id and one lww or counter field's value, sorted by value (query order), then id. */
  sorted(c: CollectionInfo, field: number): ByteReader;
  count(c: CollectionInfo): number;
  /** The element a cursor names (cpp/replica.h, cursor), or null for the end (the start when `before`). */
  cursor(c: CollectionInfo, field: number, id: string, index: number, before: boolean): ElementId | null;
  /** Where it is now, or null when the record is not visible or the element is not known here. */
  resolve(c: CollectionInfo, field: number, id: string, before: boolean, element: ElementId | null): number | null;
  /** The credit rights `actor` (null: this replica) holds, as this replica sees them. */
  rights(c: CollectionInfo, field: number, id: string, actor: string | null): number;
  /** A credit field's entries. */
  creditEntries(c: CollectionInfo, field: number, id: string): CreditEntry[];
  /** The principal that signs an actor's writes (protected stores), else null. */
  principalOf(actor: string): string | null;
  /** Asks connected peers for credit rights; how many were asked. */
  requestCredit(c: CollectionInfo, field: number, id: string, amount: number): number;
  /** Calls `listener` after every change of state; returns the unsubscribe function. */
  watch(listener: () => void): () => void;
  /** This replica's actor. */
  actorOfReplica(): string;
}

/** @internal One entry of a credit field: an actor's total of one component. */
export interface CreditEntry {
  readonly actor: string;
  readonly component: 'added' | 'spent' | 'given';
  /** given: to whom. */
  readonly to: string | null;
  readonly total: number;
}

/** What one actor did on a credit field (collection.creditLedger). */
export interface CreditAccount {
  /** 16 hex digits. */
  readonly actor: string;
  /** In a protected store, the principal whose key signed the actor's writes (every spend and transfer is attributable); else null. */
  readonly principal: string | null;
  readonly added: number;
  readonly spent: number;
  /** Rights it gave, by actor. */
  readonly given: Readonly<Record<string, number>>;
  /** Rights others gave it. */
  readonly received: number;
  /** What it holds now: added + received − given − spent. */
  readonly rights: number;
}

/** options of collection.transfer(). */
export interface TransferOptions<F extends Fields = Fields> {
  /** The credit field (default: the collection's only one). */
  readonly field?: Named<F, 'credit'>;
  /**
   * The actor that holds the rights to the credit added on the receiving
   * record (16 hex digits). Default: the actor holding the most rights
   * there (its keeper), or this replica when no one holds any — never left
   * with the sender on an account that has a keeper, so a sender cannot
   * spend back what it moved.
   */
  readonly holder?: string;
}

/** spendAsync's options. */
export interface SpendOptions {
  /** Give up after this long (ms) without enough rights. Default 5000. */
  readonly timeout?: number;
}

/** How often spendAsync asks again while it waits (doubling up to 2 s). */
const CREDIT_ASK_MS = 250;

/** Field names usable with an operation; any string when the schema is not known statically. */
type Named<F extends Fields, K extends Kind> = string extends keyof F ? string : FieldsOf<F, K>;

/** Writes to one record inside update(). */
export interface RecordWriter<F extends Fields> {
  /** lww: the new value. mvr: the value that replaces every value this replica has seen. */
  set(field: Named<F, 'lww' | 'mvr'>, value: Value): this;
  /**
   * list: replace the value at `index` (< the list's length). Concurrent
   * sets of one element resolve like lww writes; a concurrent delete of
   * the element wins.
   */
  set(field: Named<F, 'list'>, index: number, value: Value): this;
  /** counter: add n (default 1, may be negative). */
  increment(field: Named<F, 'counter'>, n?: number | bigint): this;
  /** set: add an element. */
  add(field: Named<F, 'set'>, value: Value): this;
  /** credit: add n (a positive integer); this replica holds the rights for it. */
  add(field: Named<F, 'credit'>, n: number): this;
  /**
   * credit: spend n of the rights this replica holds (docs/credit.md);
   * 'insufficient_credit' when it holds fewer, and nothing of the update
   * is written.
   */
  spend(field: Named<F, 'credit'>, n: number): this;
  /** credit: give n of this replica's rights to another replica's actor (16 hex digits); 'insufficient_credit' like spend. */
  transfer(field: Named<F, 'credit'>, n: number, toActor: string): this;
  /** set: remove an element (every add of it this replica has seen). */
  remove(field: Named<F, 'set'>, value: Value): this;
  /**
   * list: insert values at `index`; text: insert a string at `index` (UTF-16
   * code units, as String.prototype counts). An index past the end, or one
   * inside a surrogate pair, is 'invalid_argument'.
   */
  insert(field: Named<F, 'list' | 'text'>, index: number, content: string | readonly Value[]): this;
  /** list, text: delete `count` elements (a text's UTF-16 code units) from `index`. */
  delete(field: Named<F, 'list' | 'text'>, index: number, count: number): this;
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new MyceliumError('invalid_argument', 'a record id is a non-empty string');
  }
}

function checkValue(c: CollectionInfo, f: FieldInfo, v: unknown): asserts v is Value {
  if (!isValue(v)) {
    throw new MyceliumError(
      'invalid_argument',
      `${c.name}.${f.name}: unsupported value type ${v === undefined ? 'undefined' : typeof v}`,
    );
  }
}

const OP_KINDS: Record<number, readonly Kind[]> = {
  [Op.Set]: ['lww', 'mvr'],
  [Op.Increment]: ['counter'],
  [Op.Add]: ['set'],
  [Op.Remove]: ['set'],
  [Op.Splice]: ['list', 'text'],
  [Op.Erase]: ['list', 'text'],
  [Op.SetAt]: ['list'],
  [Op.CreditAdd]: ['credit'],
  [Op.Spend]: ['credit'],
  [Op.Transfer]: ['credit'],
};
const OP_NAMES: Record<number, string> = {
  [Op.Set]: 'set',
  [Op.Increment]: 'increment',
  [Op.Add]: 'add',
  [Op.Remove]: 'remove',
  [Op.Splice]: 'insert into',
  [Op.Erase]: 'delete from',
  [Op.SetAt]: 'set an element of',
  [Op.CreditAdd]: 'add credit to',
  [Op.Spend]: 'spend',
  [Op.Transfer]: 'transfer rights of',
};

/** The most a credit amount may be (docs/credit.md, Bounds). */
const MAX_CREDIT = Number.MAX_SAFE_INTEGER;

const EMPTY: readonly Value[] = Object.freeze([]);

/** Whether a string has no lone surrogate (it is whole characters). */
function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff || i + 1 === s.length) return false;
    const d = s.charCodeAt(++i);
    if (d < 0xdc00 || d > 0xdfff) return false;
  }
  return true;
}

function checkIndex(c: CollectionInfo, f: FieldInfo, what: string, n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new MyceliumError('invalid_argument', `${c.name}.${f.name}: ${what} is a non-negative integer`);
  }
}

export class Collection<F extends Fields = Fields> {
  readonly name: string;
  readonly #store: CollectionHost;
  readonly #info: CollectionInfo;

  /** @internal Use store.collection(name). */
  constructor(store: CollectionHost, info: CollectionInfo) {
    this.#store = store;
    this.#info = info;
    this.name = info.name;
    // Every method an app may pass as a callback works unbound
    // (useSyncExternalStore(todos.subscribe, ...), ids.map(todos.get)).
    this.get = this.get.bind(this);
    this.has = this.has.bind(this);
    this.all = this.all.bind(this);
    this.ids = this.ids.bind(this);
    this.subscribe = this.subscribe.bind(this);
    this.insert = this.insert.bind(this);
    this.update = this.update.bind(this);
    this.upsert = this.upsert.bind(this);
    this.delete = this.delete.bind(this);
    this.query = this.query.bind(this);
  }

  #field(name: string, op: Op): FieldInfo {
    const f = this.#info.byName.get(name);
    if (!f) throw new MyceliumError('unknown_field', `unknown field '${name}' in '${this.name}'`);
    if (!OP_KINDS[op]!.includes(f.kind)) {
      const hint = op === Op.Set && f.kind === 'list' ? ': set(field, index, value) sets a list element' : '';
      throw new MyceliumError('wrong_kind', `cannot ${OP_NAMES[op]} field '${this.name}.${name}' of kind ${f.kind}${hint}`);
    }
    return f;
  }

  /**
   * A list or text op: insert `content` at `index`, delete `content` (a
   * count) from it, or (a list) set the value there to `content`.
   */
  #splice(w: ByteWriter, op: SequenceOp, f: FieldInfo, id: string, index: unknown, content: unknown): Splice {
    checkIndex(this.#info, f, 'an index', index);
    if (op === Op.SetAt) {
      checkValue(this.#info, f, content);
      this.#store.op(w, op, this.#info, f.index, id);
      w.varint(index);
      w.value(content);
      return { index, deleted: 1, inserted: Object.freeze([content]) };
    }
    if (op === Op.Erase) {
      checkIndex(this.#info, f, 'a count', content);
      this.#store.op(w, op, this.#info, f.index, id);
      w.varint(index);
      w.varint(content);
      return { index, deleted: content, inserted: f.kind === 'text' ? '' : EMPTY };
    }
    if (f.kind === 'text') {
      if (typeof content !== 'string') {
        throw new MyceliumError('invalid_argument', `${this.name}.${f.name} is a text: insert a string`);
      }
      if (!wellFormed(content)) {
        throw new MyceliumError('invalid_argument', `${this.name}.${f.name}: the string has a lone surrogate`);
      }
      this.#store.op(w, op, this.#info, f.index, id);
      w.varint(index);
      w.string(content);
      return { index, deleted: 0, inserted: content };
    }
    if (!Array.isArray(content)) {
      throw new MyceliumError('invalid_argument', `${this.name}.${f.name} is a list: insert an array of values`);
    }
    for (const v of content as unknown[]) checkValue(this.#info, f, v);
    this.#store.op(w, op, this.#info, f.index, id);
    w.varint(index);
    w.varint(content.length);
    for (const v of content as Value[]) w.value(v);
    return { index, deleted: 0, inserted: Object.freeze((content as Value[]).slice()) };
  }

  #write(w: ByteWriter, op: Op, f: FieldInfo, id: string, v: Value | number | bigint, to?: string): void {
    if (op === Op.Transfer && to === this.#actor()) {
      throw new MyceliumError('invalid_argument', `${this.name}.${f.name}: a transfer of rights to this replica's own actor`);
    }
    if (op >= Op.CreditAdd) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > MAX_CREDIT) {
        throw new MyceliumError('invalid_argument', `${this.name}.${f.name}: a credit amount is an integer from 1 to 2^53-1`);
      }
      if (op === Op.Transfer && (typeof to !== 'string' || !/^[0-9a-f]{16}$/.test(to))) {
        throw new MyceliumError('invalid_argument', `${this.name}.${f.name}: a transfer goes to an actor (16 lowercase hex digits)`);
      }
      this.#store.op(w, op, this.#info, f.index, id);
      w.zigzag(v);
      if (op === Op.Transfer) writeActor(to!, w);
      else this.#store.credited(this.#info, id, f.index, op === Op.Spend ? -v : v);
      return;
    }
    this.#store.op(w, op, this.#info, f.index, id);
    if (op === Op.Increment) {
      if (typeof v === 'number' ? !Number.isSafeInteger(v) : typeof v !== 'bigint') {
        throw new MyceliumError('invalid_argument', `${this.name}.${f.name}: an increment is an integer`);
      }
      w.zigzag(v as number | bigint);
    } else {
      checkValue(this.#info, f, v);
      w.value(v);
    }
  }

  /** Runs `fill` into a fresh batch, then commits it: all of it or (on any error) none of it. */
  #batch(fill: (w: ByteWriter) => void): void {
    const w = this.#store.beginBatch();
    try {
      fill(w);
      this.#store.commit(w);
    } finally {
      this.#store.endBatch(w);
    }
  }

  /**
   * Adds a record and returns its id (generated unless `id` is given).
   * Throws 'already_exists' when a record with that id is visible.
   */
  insert(record: InsertOf<F>): string {
    if (typeof record !== 'object' || record === null) {
      throw new MyceliumError('invalid_argument', 'insert takes an object of fields');
    }
    const given = (record as { id?: unknown }).id;
    let id: string;
    if (given === undefined) id = newId();
    else {
      checkId(given);
      id = given;
    }
    const fields: string[] = [];
    const splices = new SpliceLog();
    this.#batch((w) => {
      this.#store.op(w, Op.Insert, this.#info, 0, id);
      const values = record as Record<string, unknown>;
      for (const name in values) {
        if (name === 'id') continue;
        const v = values[name];
        if (v === undefined) continue;
        const f = this.#info.byName.get(name);
        if (!f) throw new MyceliumError('unknown_field', `unknown field '${name}' in '${this.name}'`);
        fields.push(name);
        switch (f.kind) {
          case 'lww':
          case 'mvr':
            this.#write(w, Op.Set, f, id, v as Value);
            break;
          case 'counter':
            this.#write(w, Op.Increment, f, id, v as number);
            break;
          case 'credit':
            if (v !== 0) this.#write(w, Op.CreditAdd, f, id, v as number);
            break;
          case 'set':
            if (!Array.isArray(v)) {
              throw new MyceliumError('invalid_argument', `${this.name}.${name} is a set: insert it as an array`);
            }
            for (const e of v as unknown[]) this.#write(w, Op.Add, f, id, e as Value);
            break;
          case 'list':
          case 'text':
            splices.add(name, this.#splice(w, Op.Splice, f, id, 0, v));
            break;
        }
      }
    });
    this.#store.wrote(this.#info, id, true);
    this.#changedRecord(id, fields, false, splices);
    this.#watched(id, undefined);
    return id;
  }

  /**
   * Changes fields of a visible record; the writes made in `fn` apply
   * together, or (on any error) not at all. Throws 'not_found' when the
   * record is not visible.
   */
  update(id: string, fn: (record: RecordWriter<F>) => void): void {
    checkId(id);
    // One writer per collection, reused: an update allocates (almost) nothing.
    // An update() inside another's callback gets its own.
    const before = this.#watchers.size > 0 ? this.get(id) : undefined;
    let writer = this.#writer;
    if (writer.busy) writer = new UpdateWriter(this);
    const w = this.#store.beginBatch();
    writer.begin(w, id);
    try {
      fn(writer as unknown as RecordWriter<F>);
      if (writer.changed.length === 0) {
        if (!this.#visible(id)) throw new MyceliumError('not_found', `no record '${id}' in '${this.name}'`);
        return;
      }
      this.#store.commit(w);
    } finally {
      writer.end();
      this.#store.endBatch(w);
    }
    this.#store.wrote(this.#info, id, true);
    const changed = writer.changed; // begin() starts a new array
    const splices = writer.splices ?? undefined;
    this.#changedRecord(id, changed, false, splices);
    this.#watched(id, before);
  }

  /**
   * Inside transact(), after a delete of the record: whether some credit
   * field of it reads above its min, which keeps it visible (docs/credit.md,
   * Record deletes). Its value is the store's (min when not visible) plus
   * what the transaction's ops added; a delete leaves credit alone.
   */
  #holdsCredit(id: string): boolean {
    const credits = this.#info.fields.filter((f) => f.kind === 'credit');
    if (credits.length === 0) return false;
    const stored = this.get(id) as Record<string, unknown> | undefined;
    return credits.some((f) => {
      const base = stored === undefined ? f.min : (stored[f.name] as number);
      return base + this.#store.pendingCredit(this.#info, id, f.index) > f.min;
    });
  }

  /** Whether the record is visible, as the open transaction's writes (if any) leave it. */
  #visible(id: string): boolean {
    return this.#store.pendingVisible(this.#info, id) ?? this.has(id);
  }

  /** @internal For UpdateWriter: checks one op and appends it (add on a credit field adds credit). */
  writeOp(w: ByteWriter, op: Op, field: string, id: string, v: Value | number | bigint, to?: string): void {
    if (op === Op.Add && this.#info.byName.get(field)?.kind === 'credit') op = Op.CreditAdd;
    this.#write(w, op, this.#field(field, op), id, v, to);
  }

  /**
   * The credit rights an actor holds on a record's credit field, as this
   * replica sees them (docs/credit.md): by default this replica's, which is
   * what it may spend or transfer. 'not_found' when the record is not
   * visible.
   */
  rights(id: string, field: Named<F, 'credit'>, actor?: string): number {
    checkId(id);
    const f = this.#info.byName.get(field);
    if (!f) throw new MyceliumError('unknown_field', `unknown field '${field}' in '${this.name}'`);
    if (f.kind !== 'credit') throw new MyceliumError('wrong_kind', `'${this.name}.${field}' is a ${f.kind}, not a credit`);
    if (actor !== undefined && (typeof actor !== 'string' || !/^[0-9a-f]{16}$/.test(actor))) {
      throw new MyceliumError('invalid_argument', 'an actor is 16 lowercase hex digits');
    }
    return this.#store.rights(this.#info, f.index, id, actor ?? null);
  }

  /** @internal For UpdateWriter: checks one list or text op and appends it. */
  writeSplice(w: ByteWriter, op: SequenceOp, field: string, id: string, index: unknown, content: unknown): Splice {
    return this.#splice(w, op, this.#field(field, op), id, index, content);
  }

  readonly #writer = new UpdateWriter(this);

  /**
   * Deletes a record: every field entry this replica has seen. True when it
   * deleted one; false when no such record was visible (nothing happens).
   */
  delete(id: string): boolean {
    checkId(id);
    if (!this.#visible(id)) return false;
    const before = this.#watchers.size > 0 ? this.get(id) : undefined;
    this.#batch((w) => this.#store.op(w, Op.Delete, this.#info, 0, id));
    if (this.#store.transacting) this.#store.wrote(this.#info, id, this.#holdsCredit(id));
    this.#changedRecord(
      id,
      this.#info.fields.map((f) => f.name),
      true,
    );
    this.#watched(id, before);
    return true;
  }

  /**
   * Who did what on a credit field of a record, as this replica sees it
   * (docs/credit.md): per actor, what it added, spent, gave and received,
   * and the rights it holds; in a protected store with the principal that
   * signed its writes. 'not_found' when the record is not visible.
   */
  creditLedger(id: string, field: Named<F, 'credit'>): CreditAccount[] {
    checkId(id);
    const f = this.#info.byName.get(field);
    if (!f) throw new MyceliumError('unknown_field', `unknown field '${field}' in '${this.name}'`);
    if (f.kind !== 'credit') throw new MyceliumError('wrong_kind', `'${this.name}.${field}' is a ${f.kind}, not a credit`);
    return this.#creditTotals(id, f).map((a) =>
      Object.freeze({ ...a, principal: this.#store.principalOf(a.actor), given: Object.freeze(a.given) }),
    );
  }

  /** Per actor (sorted by actor), its totals on credit field f of a record and the rights they leave. */
  #creditTotals(id: string, f: FieldInfo): Omit<CreditAccount, 'principal'>[] {
    const by = new Map<string, { added: number; spent: number; given: Record<string, number>; received: number }>();
    const of = (actor: string) => {
      let a = by.get(actor);
      if (!a) by.set(actor, (a = { added: 0, spent: 0, given: {}, received: 0 }));
      return a;
    };
    for (const e of this.#store.creditEntries(this.#info, f.index, id)) {
      const a = of(e.actor);
      if (e.component === 'added') a.added = e.total;
      else if (e.component === 'spent') a.spent = e.total;
      else {
        a.given[e.to!] = e.total;
        of(e.to!).received += e.total;
      }
    }
    return [...by.entries()]
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([actor, a]) => {
        let given = 0;
        for (const k in a.given) given += a.given[k]!;
        return { actor, ...a, rights: a.added + a.received - given - a.spent };
      });
  }

  /** This replica's actor. */
  #actor(): string {
    return this.#store.actorOfReplica();
  }

  /**
   * Spends n of a credit field, asking connected peers for the rights this
   * replica lacks (docs/credit.md, Rights move where they are needed) and
   * waiting for them to arrive. Resolves once spent. Rejects with
   * 'insufficient_credit' when no peer that could give rights is connected,
   * or when `timeout` (default 5 s) passes first; with 'closed' if the
   * store closes.
   */
  async spendAsync(id: string, field: Named<F, 'credit'>, n: number, options: SpendOptions = {}): Promise<void> {
    await this.#gather(id, field, n, options, (f) => this.update(id, (r) => (r as unknown as UpdateWriter).spend(f.name, n)));
  }

  /**
   * Waits until this replica holds at least n rights on a credit field,
   * asking connected peers for what it lacks, as spendAsync does, without
   * spending them: before a transfer() between accounts, or to keep rights
   * on a device that is about to go offline. Resolves with the rights held.
   */
  async gatherRights(id: string, field: Named<F, 'credit'>, n: number, options: SpendOptions = {}): Promise<number> {
    await this.#gather(id, field, n, options, () => undefined);
    return this.rights(id, field);
  }

  /** Asks and waits until n rights are held here, then runs `then` (in the same task as the check). */
  async #gather(id: string, field: Named<F, 'credit'>, n: number, options: SpendOptions, then: (f: FieldInfo) => void): Promise<void> {
    checkId(id);
    const f = this.#field(field, Op.Spend);
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
      throw new MyceliumError('invalid_argument', `${this.name}.${f.name}: a credit amount is an integer from 1 to 2^53-1`);
    }
    const timeout = options.timeout ?? 5000;
    if (typeof timeout !== 'number' || !(timeout >= 0)) throw new MyceliumError('invalid_argument', 'timeout is a number of ms');
    const held = () => this.#store.rights(this.#info, f.index, id, null);
    const ready = (): boolean => {
      if (held() < n) return false;
      then(f);
      return true;
    };
    if (ready()) return;
    const short = (why: string) => new MyceliumError('insufficient_credit', `cannot gather ${n} of '${f.name}' in '${id}': ${why}; this replica holds ${held()} rights`);
    const ask = () => this.#store.requestCredit(this.#info, f.index, id, n - held());
    if (ask() === 0) throw short('no connected peer takes credit requests');
    await new Promise<void>((resolve, reject) => {
      let wait = CREDIT_ASK_MS;
      let timer: ReturnType<typeof setTimeout> | null = null;
      let done = false;
      const fail = (e: unknown) => finish(e instanceof MyceliumError ? e : new MyceliumError('invalid_argument', String(e)));
      const finish = (error: MyceliumError | null) => {
        if (done) return;
        done = true;
        unwatch();
        clearTimeout(deadline);
        if (timer) clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const attempt = () => {
        if (done) return;
        try {
          if (ready()) finish(null);
        } catch (e) {
          if (!(e instanceof MyceliumError) || e.code !== 'insufficient_credit') fail(e);
        }
      };
      const again = () => {
        timer = setTimeout(() => {
          timer = null;
          if (done) return;
          try {
            ask();
          } catch (e) {
            fail(e);
            return;
          }
          wait = Math.min(wait * 2, 2000);
          again();
        }, wait);
      };
      const unwatch = this.#store.watch(() => queueMicrotask(attempt));
      const deadline = setTimeout(() => {
        try {
          finish(short(`no peer gave enough rights within ${timeout} ms`));
        } catch (e) {
          fail(e);
        }
      }, timeout);
      again();
    });
  }

  /**
   * Moves n of credit from one record to another (docs/credit.md): a spend
   * on `fromId` and an add on `toId` in one batch, both or neither.
   * `field` is the credit field (default: the collection's only one). Throws
   * 'insufficient_credit' when this replica holds fewer than n rights on
   * `fromId`, 'not_found' when either record is not visible.
   */
  transfer(fromId: string, toId: string, n: number, options: TransferOptions<F> = {}): void {
    checkId(fromId);
    checkId(toId);
    if (fromId === toId) throw new MyceliumError('invalid_argument', 'a transfer between a record and itself');
    if (typeof options !== 'object' || options === null) throw new MyceliumError('invalid_argument', 'transfer options are an object');
    const field = options.field;
    let f: FieldInfo | undefined;
    if (field !== undefined) f = this.#field(field, Op.Spend);
    else {
      const credits = this.#info.fields.filter((x) => x.kind === 'credit');
      if (credits.length !== 1) {
        throw new MyceliumError('invalid_argument', `'${this.name}' has ${credits.length} credit fields: name the one to transfer`);
      }
      f = credits[0]!;
    }
    const self = this.#actor();
    let holder = options.holder;
    if (holder === undefined && this.has(toId)) {
      // The keeper: the actor holding the most rights on the receiving record
      // (totals come by actor: a tie goes to the smallest).
      let most = 0;
      for (const a of this.#creditTotals(toId, f)) {
        if (a.rights > most) {
          most = a.rights;
          holder = a.actor;
        }
      }
    }
    const watched = this.#watchers.size > 0;
    const from = watched ? this.get(fromId) : undefined;
    const to = watched ? this.get(toId) : undefined;
    this.#batch((w) => {
      this.#write(w, Op.Spend, f, fromId, n);
      this.#write(w, Op.CreditAdd, f, toId, n);
      if (holder !== undefined && holder !== self) this.#write(w, Op.Transfer, f, toId, n, holder);
    });
    for (const [id, before] of [
      [fromId, from],
      [toId, to],
    ] as const) {
      this.#store.wrote(this.#info, id, true);
      this.#changedRecord(id, [f.name], false);
      this.#watched(id, before);
    }
  }

  /**
   * @internal Calls `fn(id, before, after)` after each of this replica's own
   * writes to a record through this collection (undo managers); returns the
   * unsubscribe function.
   */
  watch(fn: (id: string, before: RecordOf<F> | undefined, after: RecordOf<F> | undefined) => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }

  readonly #watchers = new Set<(id: string, before: RecordOf<F> | undefined, after: RecordOf<F> | undefined) => void>();

  /**
   * After a write to `id` has run: drops its cached read and tells the
   * change listeners, now, or inside transact() once the transaction commits
   * (no closure on the plain write path).
   */
  #changedRecord(id: string, fields: readonly string[], deleted: boolean, splices?: SpliceLog): void {
    if (!this.#store.transacting) {
      this.invalidate(id);
      this.#store.notify(this.#info, id, fields, deleted, splices);
      return;
    }
    this.#store.after(() => {
      this.invalidate(id);
      this.#store.notify(this.#info, id, fields, deleted, splices);
    });
  }

  #watched(id: string, before: RecordOf<F> | undefined): void {
    if (this.#watchers.size === 0) return;
    // Inside transact(), once per record: from before the transaction to after it.
    this.#store.after(() => {
      const after = this.get(id);
      for (const w of [...this.#watchers]) w(id, before, after);
    }, key(this.#info, id));
  }

  /**
   * Makes the record read as `fields` give it: inserts it when it is not
   * visible, else writes each given field (docs/queries.md): lww and mvr
   * set, a counter incremented by what it lacks, a set's elements added and
   * removed, a list's or text's differing middle replaced (the common start
   * and end stay, so concurrent edits there survive). Fields not given are
   * left alone. Returns the id.
   */
  upsert(id: string, fields: Omit<InsertOf<F>, 'id'>): string {
    checkId(id);
    if (typeof fields !== 'object' || fields === null) {
      throw new MyceliumError('invalid_argument', 'upsert takes an id and an object of fields');
    }
    // upsert writes what the record lacks, read from the store: inside
    // transact() the read would miss the transaction's own writes.
    if (this.#store.pendingVisible(this.#info, id) !== undefined) {
      throw new MyceliumError('invalid_argument', `upsert of '${id}' in '${this.name}' after this transaction wrote it: reads inside transact() see the store before it, so the upsert cannot tell what the record lacks`);
    }
    const current = this.get(id);
    if (current === undefined) return this.insert({ ...fields, id } as InsertOf<F>);
    const cur = current as unknown as Record<string, unknown>;
    this.update(id, (r) => {
      const w = r as unknown as UpdateWriter;
      for (const [name, v] of Object.entries(fields as Record<string, unknown>)) {
        if (v === undefined || name === 'id') continue;
        const f = this.#info.byName.get(name);
        if (!f) throw new MyceliumError('unknown_field', `unknown field '${name}' in '${this.name}'`);
        const was = cur[name];
        switch (f.kind) {
          case 'lww':
          case 'mvr':
            w.set(name, v as Value);
            break;
          case 'credit': {
            if (typeof v !== 'number') throw new MyceliumError('invalid_argument', `${this.name}.${name} is a credit: give a number`);
            const by = v - (was as number);
            if (by > 0) w.add(name, by);
            else if (by < 0) w.spend(name, -by);
            break;
          }
          case 'counter': {
            if (typeof v !== 'number' && typeof v !== 'bigint') {
              throw new MyceliumError('invalid_argument', `${this.name}.${name} is a counter: give a number`);
            }
            const by = typeof v === 'bigint' ? v - BigInt(was as number) : v - (was as number);
            if (by !== 0 && by !== 0n) w.increment(name, by);
            break;
          }
          case 'set': {
            if (!Array.isArray(v)) throw new MyceliumError('invalid_argument', `${this.name}.${name} is a set: give an array`);
            const want = v as Value[];
            for (const e of want) if (!(was as Value[]).some((x) => sameValue(x, e))) w.add(name, e);
            for (const e of was as Value[]) if (!want.some((x) => sameValue(x, e))) w.remove(name, e);
            break;
          }
          case 'list':
          case 'text': {
            const a = was as string | readonly Value[];
            const b = v as string | readonly Value[];
            if (f.kind === 'text' ? typeof b !== 'string' : !Array.isArray(b)) {
              throw new MyceliumError('invalid_argument', `${this.name}.${name} is a ${f.kind}: give ${f.kind === 'text' ? 'a string' : 'an array'}`);
            }
            const { start, end } = changedSpan(a, b);
            if (a.length - start - end > 0) w.delete(name, start, a.length - start - end);
            if (b.length - start - end > 0) w.insert(name, start, b.slice(start, b.length - end) as string | Value[]);
            break;
          }
        }
      }
    });
    return id;
  }

  /** A live query over this collection's records (docs/queries.md). */
  query(spec: QuerySpec<F> = {}): Query<F> {
    this.#querySource ??= {
      info: this.#info,
      get: (id) => this.get(id),
      all: () => this.all(),
      onChange: (fn) => this.subscribe(() => fn()),
      forget: (q) => {
        const ref = this.#queryRefs.get(q);
        if (ref) {
          this.#queries.delete(ref);
          queryRegistry.unregister(ref);
        }
      },
      index: (field) => this.#indexes.get(field),
    };
    const q = new Query<F>(this.#querySource, spec);
    // Held weakly: a query dropped without close() is collected, and stops
    // costing anything then.
    const ref = new WeakRef(q);
    this.#queries.add(ref);
    this.#queryRefs.set(q, ref);
    queryRegistry.register(q, { set: this.#queries as Set<WeakRef<object>>, ref }, ref);
    return q;
  }

  /** @internal The store closes: so do its queries. */
  closeQueries(): void {
    for (const ref of [...this.#queries]) ref.deref()?.close();
  }

  readonly #queries = new Set<WeakRef<Query<F>>>();
  readonly #queryRefs = new WeakMap<Query<F>, WeakRef<Query<F>>>();
  #querySource: QuerySource<F> | null = null;

  /**
   * The record; undefined when it does not exist. Records are decoded once
   * and shared, frozen, until a change touches them: the same object comes
   * back while the record is unchanged.
   */
  get(id: string): RecordOf<F> | undefined {
    // Only valid ids are ever cached: the id is checked on a miss.
    const hit = this.#cache.get(id);
    if (hit !== undefined) {
      if (testSwitches().checkReads) this.#checkCached(id, hit);
      return hit;
    }
    checkId(id);
    return this.#fetch(id);
  }

  has(id: string): boolean {
    checkId(id);
    return this.#cache.has(id) || this.#store.read(this.#info, id) !== null;
  }

  /**
   * Every visible record, ordered by id (bytewise; generated ids sort by
   * creation time): a frozen array of the shared records, the same array
   * while the collection is unchanged.
   */
  all(): readonly RecordOf<F>[] {
    if (this.#all !== null && this.#dirty.size === 0) {
      if (testSwitches().checkReads) this.#checkAll(this.#all);
      return this.#all;
    }
    const order = this.#ordered();
    const out: RecordOf<F>[] = new Array(order.length);
    for (let i = 0; i < order.length; i++) {
      const id = order[i]!;
      const rec = this.#cache.get(id) ?? this.#fetch(id);
      if (rec === undefined) throw new Error(`mycelium-sync: record '${id}' of '${this.name}' vanished during all()`);
      out[i] = rec;
    }
    if (testSwitches().checkReads) this.#checkAll(out);
    // A record holding bytes is read anew each time: such an array is not kept.
    const shared = out.every((r) => this.#cache.get(r.id) === r);
    Object.freeze(out);
    this.#all = shared ? out : null;
    return out;
  }
  #all: readonly RecordOf<F>[] | null = null;

  /** The ids of the visible records, ordered bytewise. */
  ids(): string[] {
    return this.#ordered().slice();
  }

  /** @internal The record changed (a local write, a joined delta): its cached copy is stale. */
  invalidate(id: string): void {
    this.#cache.delete(id);
    this.#all = null;
    if (this.#order !== null) this.#dirty.add(id);
    for (const index of this.#indexes.values()) index.touch(id);
    for (const ref of this.#queries) ref.deref()?.touch(id);
  }

  /** @internal True while reads are cached, queries are open or indexes kept: the store must report every change. */
  get caching(): boolean {
    return this.#cache.size > 0 || this.#order !== null || this.#queries.size > 0 || this.#indexes.size > 0;
  }

  /** @internal Builds the secondary index on `field` (open({ index })): the engine sorts the records once; changes keep it. */
  buildIndex(field: string): void {
    if (this.#indexes.has(field)) return;
    const f = this.#info.byName.get(field);
    if (!f) throw new MyceliumError('unknown_field', `cannot index '${this.name}.${field}': unknown field`);
    if (f.kind !== 'lww' && f.kind !== 'counter' && f.kind !== 'credit') {
      throw new MyceliumError('wrong_kind', `cannot index '${this.name}.${field}': it is a ${f.kind} (lww, counter and credit fields can be indexed)`);
    }
    const name = f.name;
    this.#indexes.set(
      field,
      new FieldIndex(f, {
        sorted: () => this.#store.sorted(this.#info, f.index),
        valueOf: (id) => {
          const r = this.get(id) as Record<string, Value> | undefined;
          return r === undefined ? undefined : r[name];
        },
      }),
    );
  }

  /** The fields with a secondary index. */
  get indexes(): readonly string[] {
    return [...this.#indexes.keys()];
  }

  readonly #indexes = new Map<string, FieldIndex>();

  // The read cache: decoded records by id, and (after the first all()) the
  // visible ids in engine order with the ids changed since.
  readonly #cache = new Map<string, RecordOf<F>>();
  #order: string[] | null = null;
  readonly #dirty = new Set<string>();

  /** Reads one record from the engine and caches it. */
  #fetch(id: string): RecordOf<F> | undefined {
    const r = this.#store.read(this.#info, id);
    if (!r) return undefined;
    return this.#keep(id, this.#decode(id, r));
  }

  #keep(id: string, decoded: Decoded<F>): RecordOf<F> {
    // A record holding bytes is not shared: a Uint8Array cannot be frozen.
    if (decoded.bytes) return decoded.record;
    const rec = decoded.record;
    Object.freeze(rec);
    this.#cache.set(id, rec);
    return rec;
  }

  /** The visible ids in engine order, patched with the ids changed since, or read anew. */
  #ordered(): string[] {
    const order = this.#order;
    if (order === null || this.#dirty.size > 64 + (order.length >> 3)) return this.#readAll();
    for (const id of this.#dirty) {
      const visible = this.#cache.has(id) || this.#fetch(id) !== undefined;
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareIds(order[mid]!, id) < 0) lo = mid + 1;
        else hi = mid;
      }
      const present = lo < order.length && order[lo] === id;
      if (visible && !present) order.splice(lo, 0, id);
      else if (!visible && present) order.splice(lo, 1);
    }
    this.#dirty.clear();
    return order;
  }

  /** Every visible record from the engine at once: the order, and every record not cached yet. */
  #readAll(): string[] {
    const r = this.#store.readAll(this.#info);
    const n = r.varint();
    const order: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const id = r.string();
      order[i] = id;
      if (this.#cache.has(id)) this.#skip(r);
      else this.#keep(id, this.#decode(id, r));
    }
    this.#order = order;
    this.#dirty.clear();
    return order;
  }

  /** checkReads (tests): a cached record must equal what the engine holds now. */
  #checkCached(id: string, hit: RecordOf<F>): void {
    const r = this.#store.read(this.#info, id);
    const fresh = r ? this.#decode(id, r).record : undefined;
    if (!sameRecord(hit, fresh)) {
      throw new Error(`checkReads: the cached '${this.name}/${id}' is stale: ${show(hit)}, the engine has ${show(fresh)}`);
    }
  }

  #checkAll(out: readonly RecordOf<F>[]): void {
    const r = this.#store.readAll(this.#info);
    const n = r.varint();
    if (n !== out.length) throw new Error(`checkReads: all() gave ${out.length} records of '${this.name}', the engine has ${n}`);
    for (let i = 0; i < n; i++) {
      const id = r.string();
      const fresh = this.#decode(id, r).record;
      if (!sameRecord(out[i], fresh)) {
        throw new Error(`checkReads: all()[${i}] of '${this.name}' is ${show(out[i])}, the engine has ${show(fresh)}`);
      }
    }
  }

  /**
   * A stable position in a list or text field: `index` (a text's UTF-16
   * code units) as a cursor that follows its place through every later
   * edit, local or remote (resolve() it). `assoc` 1 (default): text typed
   * at the position goes before the cursor; -1: after it. The cursor is a
   * string: store it, send it, resolve it on another replica.
   */
  cursor(id: string, field: Named<F, 'list' | 'text'>, index: number, assoc: Assoc = 1): Cursor {
    checkId(id);
    const f = this.#sequenceField(field);
    checkIndex(this.#info, f, 'an index', index);
    if (assoc !== 1 && assoc !== -1) throw new MyceliumError('invalid_argument', 'assoc is 1 or -1');
    const element = this.#store.cursor(this.#info, f.index, id, index, assoc === -1);
    return makeCursor({ collection: this.name, id, field: f.name, assoc, element });
  }

  /**
   * Where a cursor of this collection is now (a text's UTF-16 code units);
   * a deleted element's cursor is where the element was. null when the
   * record is deleted or the cursor's element has not arrived here yet.
   */
  resolve(cursor: Cursor): number | null {
    const p = parseCursor(cursor);
    if (p.collection !== this.name) {
      throw new MyceliumError('invalid_argument', `a cursor of '${p.collection}' resolved in '${this.name}'`);
    }
    const f = this.#sequenceField(p.field);
    return this.#store.resolve(this.#info, f.index, p.id, p.assoc === -1, p.element);
  }

  #sequenceField(name: string): FieldInfo {
    const f = this.#info.byName.get(name);
    if (!f) throw new MyceliumError('unknown_field', `unknown field '${name}' in '${this.name}'`);
    if (f.kind !== 'list' && f.kind !== 'text') {
      throw new MyceliumError('wrong_kind', `field '${this.name}.${name}' of kind ${f.kind} has no positions`);
    }
    return f;
  }

  /** Number of visible records. */
  get size(): number {
    return this.#store.count(this.#info);
  }

  /** Calls `listener` once per microtask with the records that changed. Returns the unsubscribe function. */
  subscribe(listener: (changes: Change[]) => void): () => void {
    if (typeof listener !== 'function') throw new MyceliumError('invalid_argument', 'subscribe takes a function');
    return this.#store.subscribe(this.#info, listener);
  }

  #decode(id: string, r: ByteReader): Decoded<F> {
    const out: Record<string, unknown> = { id };
    let bytes = false;
    for (const f of this.#info.fields) {
      switch (f.kind) {
        case 'lww': {
          const v = r.value();
          if (v instanceof Uint8Array) bytes = true;
          out[f.name] = v;
          break;
        }
        case 'counter':
        case 'credit':
          out[f.name] = r.zigzag();
          break;
        case 'text':
          out[f.name] = r.string();
          break;
        default: {
          const n = r.varint();
          const list: Value[] = new Array(n);
          for (let i = 0; i < n; i++) {
            const v = r.value();
            if (v instanceof Uint8Array) bytes = true;
            list[i] = v;
          }
          out[f.name] = Object.freeze(list);
        }
      }
    }
    return { record: out as RecordOf<F>, bytes };
  }

  /** Moves past one record's fields without building them. */
  #skip(r: ByteReader): void {
    for (const f of this.#info.fields) {
      if (f.kind === 'lww') r.skipValue();
      else if (f.kind === 'counter' || f.kind === 'credit') r.zigzag();
      else if (f.kind === 'text') r.string();
      else for (let n = r.varint(); n > 0; n--) r.skipValue();
    }
  }
}

/** A query collected without close() leaves its collection's set. */
const queryRegistry = new FinalizationRegistry<{ set: Set<WeakRef<object>>; ref: WeakRef<object> }>(({ set, ref }) => set.delete(ref));

/** A decoded record; one holding bytes is never frozen nor shared. */
interface Decoded<F extends Fields> {
  readonly record: RecordOf<F>;
  readonly bytes: boolean;
}

/**
 * @internal The part of a text or list `b` that differs from `a`: `start`
 * elements (UTF-16 units) in common at the front and `end` at the back, never
 * cutting a surrogate pair; a[start, a.length - end) became b[start, b.length - end).
 */
export function changedSpan(a: string | readonly unknown[], b: string | readonly unknown[]): { start: number; end: number } {
  const same = (i: number, j: number) => (typeof a === 'string' ? a[i] === b[j] : sameValue(a[i], b[j]));
  let start = 0;
  while (start < a.length && start < b.length && same(start, start)) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && same(a.length - 1 - end, b.length - 1 - end)) end++;
  if (typeof a === 'string') {
    const high = (s: string, i: number) => i > 0 && i < s.length && (s.charCodeAt(i - 1) & 0xfc00) === 0xd800;
    if (high(a, start) || high(b as string, start)) start--;
    if (high(a, a.length - end) || high(b as string, (b as string).length - end)) end--;
  }
  return { start, end };
}

/** @internal Deep equality of values and arrays of them (bytes by content). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return Object.is(a, b);
}

function sameRecord(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => sameValue(x[k], y[k]));
}

function show(r: unknown): string {
  return JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Array.from(v) : v));
}

/** What UpdateWriter needs from its collection. */
interface OpSink {
  writeOp(w: ByteWriter, op: Op, field: string, id: string, v: Value | number | bigint, to?: string): void;
  writeSplice(w: ByteWriter, op: SequenceOp, field: string, id: string, index: unknown, content: unknown): Splice;
}

/** The record writer update() hands out; valid only during its callback. */
class UpdateWriter {
  busy = false;
  changed: string[] = [];
  /** The list and text ops' splices, made on the first one. */
  splices: SpliceLog | null = null;
  private w: ByteWriter | null = null;
  private id = '';

  constructor(private readonly owner: OpSink) {}

  begin(w: ByteWriter, id: string): void {
    this.busy = true;
    this.w = w;
    this.id = id;
    this.changed = [];
    this.splices = null;
  }

  end(): void {
    this.busy = false;
    this.w = null;
  }

  private op(op: Op, field: string, v: Value | number | bigint, to?: string): this {
    if (!this.w) throw new MyceliumError('invalid_argument', 'a record writer is only valid inside update()');
    this.owner.writeOp(this.w, op, field, this.id, v, to);
    if (!this.changed.includes(field)) this.changed.push(field);
    return this;
  }

  set(field: string, value: Value): this;
  set(field: string, index: number, value: Value): this;
  set(field: string, ...args: [Value] | [number, Value]): this {
    if (args.length === 2) return this.splice(Op.SetAt, field, args[0], args[1]);
    return this.op(Op.Set, field, args[0]);
  }
  increment(field: string, n: number | bigint = 1): this {
    return this.op(Op.Increment, field, n);
  }
  add(field: string, value: Value): this {
    return this.op(Op.Add, field, value);
  }
  remove(field: string, value: Value): this {
    return this.op(Op.Remove, field, value);
  }
  spend(field: string, n: number): this {
    return this.op(Op.Spend, field, n);
  }
  transfer(field: string, n: number, toActor: string): this {
    return this.op(Op.Transfer, field, n, toActor);
  }
  insert(field: string, index: number, content: string | readonly Value[]): this {
    return this.splice(Op.Splice, field, index, content);
  }
  delete(field: string, index: number, count: number): this {
    return this.splice(Op.Erase, field, index, count);
  }

  private splice(op: SequenceOp, field: string, index: unknown, content: unknown): this {
    if (!this.w) throw new MyceliumError('invalid_argument', 'a record writer is only valid inside update()');
    const splice = this.owner.writeSplice(this.w, op, field, this.id, index, content);
    (this.splices ??= new SpliceLog()).add(field, splice);
    if (!this.changed.includes(field)) this.changed.push(field);
    return this;
  }
}
