// Byte encoding shared with the engine's Replica interface (cpp/replica.h):
// LEB128 varints, zigzag for signed integers, little-endian fixed64.
import { MyceliumError } from './errors.js';

/** A field value: null, boolean, integer (number or bigint), float, string or bytes. */
export type Value = null | boolean | number | bigint | string | Uint8Array;

const enum Tag {
  Null = 0,
  False = 1,
  True = 2,
  Int = 3,
  Double = 4,
  String = 5,
  Bytes = 6,
}

const utf8 = new TextEncoder();
export const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const TWO_32 = 4294967296;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Byte-for-byte equality. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Appends to a growable buffer; reset() to reuse it. */
export class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned integer up to 2^53. */
  varint(v: number): void {
    this.room(10);
    const b = this.buf;
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v = v >= TWO_32 ? Math.floor(v / 128) : v >>> 7;
    }
    b[this.pos++] = v;
  }

  bigVarint(v: bigint): void {
    this.room(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** Signed 64-bit integer, zigzag-encoded. */
  zigzag(v: number | bigint): void {
    if (typeof v === 'number') {
      if (v >= 0 && v < 2 ** 52) return this.varint(v * 2);
      if (v < 0 && v > -(2 ** 52)) return this.varint(-v * 2 - 1);
      v = BigInt(v);
    }
    this.bigVarint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }

  fixed64(lo: number, hi: number): void {
    this.room(8);
    const b = this.buf;
    for (let i = 0; i < 4; i++) b[this.pos++] = (lo >>> (8 * i)) & 0xff;
    for (let i = 0; i < 4; i++) b[this.pos++] = (hi >>> (8 * i)) & 0xff;
  }

  raw(data: Uint8Array): void {
    this.room(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** Length-prefixed UTF-8. ASCII is copied byte by byte; the rest goes through TextEncoder. */
  string(s: string): void {
    const n = s.length;
    this.room(n + 10);
    const b = this.buf;
    let ascii = n < 128;
    if (ascii) {
      let p = this.pos + 1;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        b[p++] = c;
      }
      if (ascii) {
        b[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    const encoded = utf8.encode(s);
    this.varint(encoded.length);
    this.raw(encoded);
  }

  /** UTF-8 without a length prefix. */
  utf8(s: string): void {
    this.room(s.length * 3);
    const r = utf8.encodeInto(s, this.buf.subarray(this.pos));
    this.pos += r.written;
  }

  value(v: Value): void {
    if (v === null) return this.u8(Tag.Null);
    switch (typeof v) {
      case 'boolean':
        return this.u8(v ? Tag.True : Tag.False);
      case 'number':
        if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
          this.u8(Tag.Int);
          return this.zigzag(v);
        }
        this.u8(Tag.Double);
        f64[0] = v;
        this.room(8);
        this.buf.set(f64Bytes, this.pos);
        this.pos += 8;
        return;
      case 'bigint':
        if (v < INT64_MIN || v > INT64_MAX) {
          throw new MyceliumError('invalid_argument', `integer ${v} does not fit in 64 bits`);
        }
        this.u8(Tag.Int);
        return this.zigzag(v);
      case 'string':
        this.u8(Tag.String);
        return this.string(v);
      default:
        if (v instanceof Uint8Array) {
          this.u8(Tag.Bytes);
          this.varint(v.length);
          return this.raw(v);
        }
    }
    throw new MyceliumError('invalid_argument', `unsupported value type: ${describe(v)}`);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return v === null ? 'null' : (v.constructor?.name ?? 'object');
  return typeof v;
}

/** True when v can be stored as a field value. */
export function isValue(v: unknown): v is Value {
  return (
    v === null ||
    typeof v === 'boolean' ||
    typeof v === 'number' ||
    typeof v === 'bigint' ||
    typeof v === 'string' ||
    v instanceof Uint8Array
  );
}

/** Reads what ByteWriter and the engine write. Bounds are the engine's job: its output is trusted. */
export class ByteReader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  u8(): number {
    return this.buf[this.pos++]!;
  }

  varint(): number {
    const b = this.buf;
    let byte = b[this.pos++]!;
    if (byte < 0x80) return byte;
    let v = byte & 0x7f;
    let scale = 128;
    do {
      byte = b[this.pos++]!;
      v += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte >= 0x80);
    return v;
  }

  private bigVarint(): bigint {
    let v = 0n;
    let shift = 0n;
    let byte: number;
    do {
      byte = this.buf[this.pos++]!;
      v |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
    } while (byte >= 0x80);
    return v;
  }

  /** A zigzag int64: a number when it is safe, else a bigint. */
  zigzag(): number | bigint {
    const start = this.pos;
    let n = 0;
    while (this.buf[start + n]! >= 0x80) n++;
    if (n < 7) {
      const u = this.varint();
      return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
    const u = this.bigVarint();
    const v = u & 1n ? -((u + 1n) >> 1n) : u >> 1n;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  fixed64(): { lo: number; hi: number } {
    const b = this.buf;
    const p = this.pos;
    this.pos += 8;
    const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
    const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
    return { lo, hi };
  }

  raw(n: number): Uint8Array {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.varint();
    const b = this.buf;
    const p = this.pos;
    this.pos += n;
    if (n < 32) {
      let s = '';
      for (let i = p; i < p + n; i++) {
        const c = b[i]!;
        if (c >= 0x80) return utf8Decoder.decode(b.subarray(p, p + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8Decoder.decode(b.subarray(p, p + n));
  }

  /** Moves past one value without building it. */
  skipValue(): void {
    const tag = this.u8();
    switch (tag) {
      case Tag.Null:
      case Tag.False:
      case Tag.True:
        return;
      case Tag.Int:
        while (this.buf[this.pos++]! >= 0x80);
        return;
      case Tag.Double:
        this.pos += 8;
        return;
      case Tag.String:
      case Tag.Bytes: {
        const n = this.varint(); // before the +=, which would read pos first
        this.pos += n;
        return;
      }
      default:
        throw new MyceliumError('corrupt', `unknown value tag ${tag}`);
    }
  }

  value(): Value {
    const tag = this.u8();
    switch (tag) {
      case Tag.Null:
        return null;
      case Tag.False:
        return false;
      case Tag.True:
        return true;
      case Tag.Int:
        return this.zigzag();
      case Tag.Double:
        f64Bytes.set(this.raw(8));
        return f64[0]!;
      case Tag.String:
        return this.string();
      case Tag.Bytes:
        return this.raw(this.varint()).slice();
      default:
        throw new MyceliumError('corrupt', `unknown value tag ${tag}`);
    }
  }
}
