// Schemas: collection name -> field name -> kind, and the record types they imply.
import type { Value } from './bytes.js';
import { ByteWriter } from './bytes.js';
import { MyceliumError } from './errors.js';

export type Kind = 'lww' | 'counter' | 'mvr' | 'set' | 'list' | 'text' | 'credit';
/**
 * A credit field and its bound (docs/credit.md): it reads `min` plus what
 * was added less what was spent, and never goes below `min` (default 0).
 * `'credit'` alone is `{ kind: 'credit', min: 0 }`.
 */
export interface CreditSpec {
  readonly kind: 'credit';
  readonly min?: number;
}
/** A field's declaration: its kind, or a credit with its bound. */
export type FieldSpec = Kind | CreditSpec;
export type Fields = { readonly [field: string]: FieldSpec };
export type Schema = { readonly [collection: string]: Fields };
/** The kind a field's declaration names. */
export type KindOf<S> = S extends { readonly kind: infer K } ? K : S;

/** How a field reads: lww a value, counter and credit a number, mvr and set a sorted array, list an array in order, text a string. */
export type FieldValue<S> = KindOf<S> extends 'lww'
  ? Value
  : KindOf<S> extends 'counter' | 'credit'
    ? number
    : KindOf<S> extends 'text'
      ? string
      : readonly Value[];

/** A record as get() returns it. */
export type RecordOf<F extends Fields> = { readonly id: string } & { readonly [P in keyof F]: FieldValue<F[P]> };

/** What insert() takes: lww/mvr a value, counter a starting increment, credit a starting add, set and list their elements, text a string. */
export type InsertOf<F extends Fields> = { id?: string } & {
  [P in keyof F]?: KindOf<F[P]> extends 'counter'
    ? number | bigint
    : KindOf<F[P]> extends 'credit'
      ? number
      : KindOf<F[P]> extends 'set' | 'list'
        ? readonly Value[]
        : KindOf<F[P]> extends 'text'
          ? string
          : Value;
};

/** Field names of F whose kind is in K. */
export type FieldsOf<F extends Fields, K extends Kind> = {
  [P in keyof F]: KindOf<F[P]> extends K ? P : never;
}[keyof F] &
  string;

/** The kinds by their number in the engine's formats (cpp/schema.h). */
export const KINDS: readonly Kind[] = ['lww', 'counter', 'mvr', 'set', 'list', 'text', 'credit'];

/** A declared field: its kind, and a credit's min. */
export interface DeclaredField {
  readonly name: string;
  readonly kind: Kind;
  /** credit: the bound (0 for every other kind). */
  readonly min?: number;
}

/** A schema as a list, in declaration order: what the engine and a hello carry. */
export interface DeclaredCollection {
  readonly name: string;
  readonly fields: readonly DeclaredField[];
}

export interface FieldInfo {
  readonly name: string;
  readonly index: number;
  readonly kind: Kind;
  /** credit: the value with nothing added (0 for every other kind). */
  readonly min: number;
}

/** A field declaration's kind and min, checked. */
export function fieldSpec(at: string, spec: unknown): { kind: Kind; min: number } {
  if (typeof spec === 'string' && (KINDS as readonly string[]).includes(spec)) return { kind: spec as Kind, min: 0 };
  if (typeof spec === 'object' && spec !== null && (spec as { kind?: unknown }).kind === 'credit') {
    const min = (spec as { min?: unknown }).min ?? 0;
    if (typeof min !== 'number' || !Number.isSafeInteger(min)) {
      throw new MyceliumError('invalid_argument', `field '${at}': a credit's min is a safe integer`);
    }
    return { kind: 'credit', min };
  }
  const shown = typeof spec === 'object' && spec !== null ? JSON.stringify(spec) : String(spec);
  throw new MyceliumError(
    'invalid_argument',
    `field '${at}' has unknown kind '${shown}' (expected lww, counter, mvr, set, list, text, credit or { kind: 'credit', min })`,
  );
}

export interface CollectionInfo {
  readonly name: string;
  readonly index: number;
  readonly fields: readonly FieldInfo[];
  readonly byName: ReadonlyMap<string, FieldInfo>;
}

/** A checked schema with indexes, and its encoding for the engine. */
export class SchemaInfo {
  readonly collections: readonly CollectionInfo[];
  readonly byName: ReadonlyMap<string, CollectionInfo>;

  constructor(schema: Schema) {
    if (typeof schema !== 'object' || schema === null) {
      throw new MyceliumError('invalid_argument', 'schema must be an object of collections');
    }
    const collections: CollectionInfo[] = [];
    for (const [name, fields] of Object.entries(schema)) {
      if (typeof fields !== 'object' || fields === null) {
        throw new MyceliumError('invalid_argument', `collection '${name}' must map field names to kinds`);
      }
      const list: FieldInfo[] = [];
      for (const [field, spec] of Object.entries(fields)) {
        if (field === 'id') {
          throw new MyceliumError('invalid_argument', `collection '${name}': 'id' is the record id, not a field`);
        }
        const { kind, min } = fieldSpec(`${name}.${field}`, spec);
        list.push({ name: field, index: list.length, kind, min });
      }
      collections.push({
        name,
        index: collections.length,
        fields: list,
        byName: new Map(list.map((f) => [f.name, f])),
      });
    }
    this.collections = collections;
    this.byName = new Map(collections.map((c) => [c.name, c]));
  }

  collection(name: string): CollectionInfo {
    const c = this.byName.get(name);
    if (!c) throw new MyceliumError('unknown_field', `unknown collection '${name}'`);
    return c;
  }

  encode(w: ByteWriter): void {
    encodeSchema(this.collections, w);
  }
}

/**
 * A schema's bytes (cpp/replica.h, Schema): varint collections; each name,
 * varint fields; each name, kind:u8, a credit's min (zigzag). The engine
 * reads them at open(), and a sync hello carries them (js/sync/wire.ts
 * reads a peer's).
 */
export function encodeSchema(collections: readonly DeclaredCollection[], w: ByteWriter): void {
  w.varint(collections.length);
  for (const c of collections) {
    w.string(c.name);
    w.varint(c.fields.length);
    for (const f of c.fields) {
      w.string(f.name);
      w.u8(KINDS.indexOf(f.kind));
      if (f.kind === 'credit') w.zigzag(f.min ?? 0);
    }
  }
}

/**
 * Why two versions of an app cannot sync, or null when they can: they are
 * compatible when every field both declare has the same kind. A field or a
 * collection only one declares travels anyway (the other keeps it unseen).
 */
export function schemaConflict(ours: SchemaInfo, theirs: readonly DeclaredCollection[]): SchemaConflict | null {
  for (const c of theirs) {
    const mine = ours.byName.get(c.name);
    if (!mine) continue;
    for (const f of c.fields) {
      const kind = mine.byName.get(f.name)?.kind;
      if (kind !== undefined && kind !== f.kind) return { field: `${c.name}.${f.name}`, ours: kind, theirs: f.kind };
    }
  }
  return null;
}

/** A field two schemas declare with different kinds. */
export interface SchemaConflict {
  /** collection.field */
  readonly field: string;
  readonly ours: Kind;
  readonly theirs: Kind;
}

/**
 * A short, stable fingerprint of a schema: FNV-1a (64-bit) over its
 * collections and fields in name order, so declaration order does not
 * matter. Stored with persisted data; peers compare it before syncing.
 */
export function schemaHash(schema: Schema): string {
  const parts: string[] = [];
  for (const c of Object.keys(schema).sort()) {
    const fields = schema[c]!;
    parts.push(`${c}{${Object.keys(fields).sort().map((f) => `${f}:${specName(fields[f]!)}`).join(',')}}`);
  }
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(parts.join(';'))) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/** A field declaration as the schema hash names it: the kind, and a credit's min unless 0. */
function specName(spec: FieldSpec): string {
  if (typeof spec === 'string') return spec;
  const min = spec.min ?? 0;
  return min === 0 ? spec.kind : `${spec.kind}(${min})`;
}
