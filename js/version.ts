// Version vectors as the app sees them (actor, 16 lowercase hex digits ->
// highest seq): their bytes and their arithmetic, in one place. The bytes
// are the engine's (cpp/replica.h, Version): a varint count, then (actor
// fixed64, seq varint) per entry. version() returns them, deltaSince() takes
// them, and a sync ack carries them (js/sync/wire.ts).
import type { ByteWriter } from './bytes.js';
import { ByteReader } from './bytes.js';
import { MyceliumError } from './errors.js';

export type Version = { readonly [actor: string]: number };

/** A version names at most as many actors as a store can hold (cpp/store.h kMaxActors). */
export const MAX_VERSION_ENTRIES = 65535;
/** Seqs are 32-bit (cpp/delta.h kMaxSeq). */
export const MAX_SEQ = 0xffffffff;

const HEX16 = /^[0-9a-f]{16}$/;

export function actorHex(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** A fresh random actor: 64 random bits, never zero. */
export function randomActor(): string {
  const b = new Uint32Array(2);
  do crypto.getRandomValues(b);
  while (b[0] === 0 && b[1] === 0);
  return actorHex(b[0]!, b[1]!);
}

export function parseActor(actor: string): { hi: number; lo: number } {
  if (typeof actor !== 'string' || !HEX16.test(actor)) {
    throw new MyceliumError('invalid_argument', `actor must be 16 lowercase hex digits, got '${String(actor)}'`);
  }
  return { hi: parseInt(actor.slice(0, 8), 16), lo: parseInt(actor.slice(8), 16) };
}

export function writeActor(actor: string, w: ByteWriter): void {
  const { hi, lo } = parseActor(actor);
  w.fixed64(lo, hi);
}

/** Hex of actors read lately, by their low half (a store meets few actors, and reads them over and over). */
const hexOf = new Map<number, { readonly hi: number; readonly hex: string }>();

export function readActor(r: ByteReader): string {
  const { lo, hi } = r.fixed64();
  const known = hexOf.get(lo);
  if (known !== undefined && known.hi === hi) return known.hex;
  const hex = actorHex(hi, lo);
  if (hexOf.size >= 4096) hexOf.clear();
  hexOf.set(lo, { hi, hex });
  return hex;
}

export function encodeVersion(v: Version, w: ByteWriter): void {
  if (typeof v !== 'object' || v === null) throw new MyceliumError('invalid_argument', 'a version is an object of actor -> seq');
  const entries = Object.entries(v);
  w.varint(entries.length);
  for (const [actor, seq] of entries) {
    if (!Number.isSafeInteger(seq) || seq < 0) {
      throw new MyceliumError('invalid_argument', `seq of actor ${actor} must be a non-negative integer`);
    }
    writeActor(actor, w);
    w.varint(seq);
  }
}

/** Reads a version; with a PeerReader (peer-reader.ts) every read is checked, and the count and seqs are bounded. */
export function readVersion(r: ByteReader): Version {
  const n = r.varint();
  if (n > (r.buf.length - r.pos) / 9) throw new MyceliumError('corrupt', 'a version longer than its input');
  if (n > MAX_VERSION_ENTRIES) throw new MyceliumError('limit_exceeded', `a version of ${n} actors; a store holds at most ${MAX_VERSION_ENTRIES}`);
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const actor = readActor(r);
    const seq = r.varint();
    if (seq > MAX_SEQ) throw new MyceliumError('corrupt', 'a version: seq out of range');
    out[actor] = Math.max(out[actor] ?? 0, seq);
  }
  return out;
}

/** The engine's version bytes. */
export function decodeVersion(bytes: Uint8Array): Version {
  return readVersion(new ByteReader(bytes));
}

/** a covers b: every entry of b is <= a's. */
export function covers(a: Version, b: Version): boolean {
  for (const actor in b) if ((a[actor] ?? 0) < b[actor]!) return false;
  return true;
}

/** The entry-wise maximum (`a` itself when it covers `b`). */
export function join(a: Version, b: Version): Version {
  let out: Record<string, number> | null = null;
  for (const actor in b) {
    if ((a[actor] ?? 0) < b[actor]!) {
      out ??= { ...a };
      out[actor] = b[actor]!;
    }
  }
  return out ?? a;
}

/** The entries of `v` that are greater than in `base`. */
export function newer(v: Version, base: Version): Version {
  const out: Record<string, number> = {};
  for (const actor in v) if ((base[actor] ?? 0) < v[actor]!) out[actor] = v[actor]!;
  return out;
}

export function isEmpty(v: Version): boolean {
  for (const _ in v) return false;
  return true;
}

/** `v` without one actor's entry. */
export function without(v: Version, actor: string): Version {
  if (!(actor in v)) return v;
  const out: Record<string, number> = { ...v };
  delete out[actor];
  return out;
}

/** How many actors `v` names. */
export function size(v: Version): number {
  let n = 0;
  for (const _ in v) n++;
  return n;
}
