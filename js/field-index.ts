// A secondary index (docs/queries.md, Indexes): the visible records of a
// collection sorted by one lww or counter field's value, in query order,
// then by id. The engine sorts them once (Replica::sorted) when the store
// opens; after that the index follows the records that changed, which the
// collection reports (touch), and catches up when it is next read.
import type { Value } from './bytes.js';
import { ByteReader } from './bytes.js';
import { compareIds } from './ids.js';
import { compareValues } from './value-order.js';
import type { FieldInfo } from './schema.js';

/** What an index reads: the engine's first sort, and a record's current value (undefined: not visible). */
export interface IndexSource {
  sorted(): ByteReader;
  valueOf(id: string): Value | undefined;
}

/** Past this many changed records, the index is merged in one pass rather than spliced once each. */
const SPLICE_MAX = 16;

export class FieldIndex {
  /** Ids and their values, sorted by (value, id). */
  #ids: string[] = [];
  #keys: Value[] = [];
  /** Each indexed id's value. */
  readonly #keyOf = new Map<string, Value>();
  readonly #dirty = new Set<string>();

  constructor(
    readonly field: FieldInfo,
    private readonly source: IndexSource,
  ) {
    const r = source.sorted();
    const n = r.varint();
    this.#ids = new Array(n);
    this.#keys = new Array(n);
    const counter = field.kind === 'counter' || field.kind === 'credit';
    for (let i = 0; i < n; i++) {
      const id = r.string();
      const key = counter ? r.zigzag() : r.value();
      this.#ids[i] = id;
      this.#keys[i] = key;
      this.#keyOf.set(id, key);
    }
  }

  /** The record changed (or appeared, or went): its place is looked up again when the index is next read. */
  touch(id: string): void {
    this.#dirty.add(id);
  }

  get size(): number {
    this.#refresh();
    return this.#ids.length;
  }

  idAt(i: number): string {
    return this.#ids[i]!;
  }

  keyAt(i: number): Value {
    return this.#keys[i]!;
  }

  /** The first position whose value is not below `key`. */
  lowerBound(key: Value): number {
    this.#refresh();
    return this.#search((k) => compareValues(k, key) < 0);
  }

  /** The first position whose value is above `key`. */
  upperBound(key: Value): number {
    this.#refresh();
    return this.#search((k) => compareValues(k, key) <= 0);
  }

  #search(before: (k: Value) => boolean): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.#keys[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Where (key, id) is, or would go. */
  #place(key: Value, id: string): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareValues(this.#keys[mid]!, key) || compareIds(this.#ids[mid]!, id);
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Re-places the changed records. */
  #refresh(): void {
    if (this.#dirty.size === 0) return;
    const changed: { id: string; key: Value | undefined }[] = [];
    for (const id of this.#dirty) {
      const key = this.source.valueOf(id);
      const old = this.#keyOf.get(id);
      // Equal in query order (1 and 1n, 0 and -0 too): the same place.
      if (old === undefined ? key === undefined : key !== undefined && compareValues(old, key) === 0) continue;
      changed.push({ id, key });
    }
    this.#dirty.clear();
    if (changed.length === 0) return;
    if (changed.length <= SPLICE_MAX) {
      for (const { id, key } of changed) {
        const old = this.#keyOf.get(id);
        if (old !== undefined) {
          const at = this.#place(old, id);
          this.#ids.splice(at, 1);
          this.#keys.splice(at, 1);
          this.#keyOf.delete(id);
        }
        if (key === undefined) continue;
        const at = this.#place(key, id);
        this.#ids.splice(at, 0, id);
        this.#keys.splice(at, 0, key);
        this.#keyOf.set(id, key);
      }
      return;
    }
    // Many: find where the changed ones were and where they go (binary
    // searches in the old order), then copy the rest across in one pass.
    const gone: number[] = [];
    for (const { id } of changed) {
      const old = this.#keyOf.get(id);
      if (old !== undefined) gone.push(this.#place(old, id));
    }
    gone.sort((a, b) => a - b);
    const fresh = changed.filter((c) => c.key !== undefined) as { id: string; key: Value }[];
    fresh.sort((a, b) => compareValues(a.key, b.key) || compareIds(a.id, b.id));
    const at = fresh.map((f) => this.#place(f.key, f.id));
    const n = this.#ids.length - gone.length + fresh.length;
    const ids: string[] = new Array(n);
    const keys: Value[] = new Array(n);
    let k = 0;
    let g = 0;
    let j = 0;
    for (let i = 0; i < this.#ids.length; i++) {
      while (j < fresh.length && at[j]! <= i) {
        ids[k] = fresh[j]!.id;
        keys[k++] = fresh[j++]!.key;
      }
      if (g < gone.length && gone[g] === i) {
        g++;
        continue;
      }
      ids[k] = this.#ids[i]!;
      keys[k++] = this.#keys[i]!;
    }
    for (; j < fresh.length; j++) {
      ids[k] = fresh[j]!.id;
      keys[k++] = fresh[j]!.key;
    }
    for (const { id, key } of changed) {
      if (key === undefined) this.#keyOf.delete(id);
      else this.#keyOf.set(id, key);
    }
    this.#ids = ids;
    this.#keys = keys;
  }
}

