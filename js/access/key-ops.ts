// The key operations of an encrypted store's log (docs/identity.md,
// Encryption): signed like membership operations and carried with them,
// but deciding no role. A *box* operation ("b") is a principal's X25519
// public key, signed by that principal about itself. A *key* operation ("y")
// carries epoch keys wrapped for members' box keys under one one-time key
// ("k"), as [recipient, epoch, wrapped] triples ("w"); the one that starts an
// epoch also names it ("s": id "e", check value "h", and the membership
// heads its admin had seen, "f").
import { MyceliumError } from '../errors.js';
import { fromBase64Url, isPrincipal } from './keys.js';

/** Most wraps one key operation carries (an operation is at most 8,192 characters). */
export const MAX_WRAPS = 32;
/** Most membership heads an epoch names. */
const MAX_FRONTIER = 64;

export interface KeyWrap {
  readonly principal: string;
  readonly epoch: string;
  /** IV and ciphertext of the epoch key, base64url (box.ts wrapKey). */
  readonly wrapped: string;
}

export interface EpochStart {
  /** 16 random bytes, base64url. */
  readonly id: string;
  /** The key's check value (box.ts epochCheck). */
  readonly check: string;
  /** The membership heads the admin that started it had seen. */
  readonly frontier: readonly string[];
}

export type SideOp =
  | { readonly kind: 'box'; readonly key: string }
  | { readonly kind: 'key'; readonly oneTime: string; readonly wraps: readonly KeyWrap[]; readonly start: EpochStart | null };

/** The JSON fields of a side operation's body. */
export interface SideFields {
  b?: string;
  y?: { k: string; w: [string, string, string][]; s?: { e: string; h: string; f: string[] } };
}

const isHash = (x: unknown): x is string => typeof x === 'string' && x.length === 22 && fromBase64Url(x)?.length === 16;

/** A body's side operation, or null when it is none; `corrupt` when one is malformed. */
export function readSide(b: SideFields): SideOp | null {
  if (b.b === undefined && b.y === undefined) return null;
  if (b.b !== undefined && b.y !== undefined) throw new MyceliumError('corrupt', 'an operation is a box operation or a key operation, not both');
  if (b.b !== undefined) {
    if (!isPrincipal(b.b)) throw new MyceliumError('corrupt', "a box operation's key ('b') is 32 bytes in base64url");
    return { kind: 'box', key: b.b };
  }
  const y = b.y as unknown as { k?: unknown; w?: unknown; s?: unknown } | null;
  if (typeof y !== 'object' || y === null || !isPrincipal(y.k) || !Array.isArray(y.w) || y.w.length > MAX_WRAPS) {
    throw new MyceliumError('corrupt', `a key operation ('y') has a one-time key ('k') and at most ${MAX_WRAPS} wraps ('w')`);
  }
  const wraps: KeyWrap[] = [];
  for (const w of y.w as unknown[]) {
    if (!Array.isArray(w) || w.length !== 3 || !isPrincipal(w[0]) || !isHash(w[1]) || typeof w[2] !== 'string' || fromBase64Url(w[2])?.length !== 60) {
      throw new MyceliumError('corrupt', 'a key wrap is [principal, epoch, 60 bytes in base64url]');
    }
    wraps.push({ principal: w[0], epoch: w[1], wrapped: w[2] });
  }
  let start: EpochStart | null = null;
  if (y.s !== undefined) {
    const s = y.s as { e?: unknown; h?: unknown; f?: unknown } | null;
    if (typeof s !== 'object' || s === null || !isHash(s.e) || !isHash(s.h) || !Array.isArray(s.f) || s.f.length > MAX_FRONTIER || !s.f.every(isHash)) {
      throw new MyceliumError('corrupt', "an epoch's start ('s') has an id ('e'), a check value ('h') and at most 64 membership heads ('f')");
    }
    start = { id: s.e, check: s.h, frontier: [...new Set(s.f as string[])].sort() };
  }
  return { kind: 'key', oneTime: y.k, wraps, start };
}

/** A side operation's JSON fields. */
export function sideFields(side: SideOp): SideFields {
  if (side.kind === 'box') return { b: side.key };
  const y: NonNullable<SideFields['y']> = { k: side.oneTime, w: side.wraps.map((w) => [w.principal, w.epoch, w.wrapped]) };
  if (side.start) y.s = { e: side.start.id, h: side.start.check, f: [...side.start.frontier] };
  return { y };
}
