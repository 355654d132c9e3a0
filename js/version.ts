// Version vectors as the app sees them: actor (16 lowercase hex digits) -> highest seq.
import { ByteReader, ByteWriter } from './bytes.js';
import { MyceliumError } from './errors.js';

export type Version = { readonly [actor: string]: number };

const HEX16 = /^[0-9a-f]{16}$/;

export function actorHex(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

export function parseActor(actor: string): { hi: number; lo: number } {
  if (typeof actor !== 'string' || !HEX16.test(actor)) {
    throw new MyceliumError('invalid_argument', `actor must be 16 lowercase hex digits, got '${String(actor)}'`);
  }
  return { hi: parseInt(actor.slice(0, 8), 16), lo: parseInt(actor.slice(8), 16) };
}

export function encodeVersion(v: Version, w: ByteWriter): void {
  if (typeof v !== 'object' || v === null) throw new MyceliumError('invalid_argument', 'a version is an object of actor -> seq');
  const entries = Object.entries(v);
  w.varint(entries.length);
  for (const [actor, seq] of entries) {
    const { hi, lo } = parseActor(actor);
    if (!Number.isSafeInteger(seq) || seq < 0) {
      throw new MyceliumError('invalid_argument', `seq of actor ${actor} must be a non-negative integer`);
    }
    w.fixed64(lo, hi);
    w.varint(seq);
  }
}

export function decodeVersion(bytes: Uint8Array): Version {
  const r = new ByteReader(bytes);
  const n = r.varint();
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const { lo, hi } = r.fixed64();
    out[actorHex(hi, lo)] = r.varint();
  }
  return out;
}
