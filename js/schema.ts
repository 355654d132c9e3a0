// Schemas: collection name -> field name -> kind, and the record types they imply.
import type { Value } from './bytes.js';
import { ByteWriter } from './bytes.js';
import { MyceliumError } from './errors.js';

export type Kind = 'lww' | 'counter' | 'mvr' | 'set';
export type Fields = { readonly [field: string]: Kind };
export type Schema = { readonly [collection: string]: Fields };

/** How a field reads: lww a value, counter a number, mvr and set a sorted array. */
export type FieldValue<K extends Kind> = K extends 'lww' ? Value : K extends 'counter' ? number : Value[];

/** A record as get() returns it. */
export type RecordOf<F extends Fields> = { readonly id: string } & { readonly [P in keyof F]: FieldValue<F[P]> };

/** What insert() takes: lww/mvr a value, counter a starting increment, set its elements. */
export type InsertOf<F extends Fields> = { id?: string } & {
  [P in keyof F]?: F[P] extends 'counter' ? number | bigint : F[P] extends 'set' ? readonly Value[] : Value;
};

/** Field names of F whose kind is in K. */
export type FieldsOf<F extends Fields, K extends Kind> = {
  [P in keyof F]: F[P] extends K ? P : never;
}[keyof F] &
  string;

const KINDS: readonly Kind[] = ['lww', 'counter', 'mvr', 'set'];

export interface FieldInfo {
  readonly name: string;
  readonly index: number;
  readonly kind: Kind;
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
      for (const [field, kind] of Object.entries(fields)) {
        if (field === 'id') {
          throw new MyceliumError('invalid_argument', `collection '${name}': 'id' is the record id, not a field`);
        }
        if (!KINDS.includes(kind)) {
          throw new MyceliumError(
            'invalid_argument',
            `field '${name}.${field}' has unknown kind '${String(kind)}' (expected lww, counter, mvr or set)`,
          );
        }
        list.push({ name: field, index: list.length, kind });
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
    w.varint(this.collections.length);
    for (const c of this.collections) {
      w.string(c.name);
      w.varint(c.fields.length);
      for (const f of c.fields) {
        w.string(f.name);
        w.u8(KINDS.indexOf(f.kind));
      }
    }
  }
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
    parts.push(`${c}{${Object.keys(fields).sort().map((f) => `${f}:${fields[f]!}`).join(',')}}`);
  }
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(parts.join(';'))) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}
