// Sync messages on the wire (DESIGN.md, Sync protocol). Each message is one
// frame of the shared codec (cpp/codec.h): 'MYC', format version, flags with
// the payload kind (3 = sync message, 4 = chunk of a larger one), payload
// length, CRC32C, payload. Sync payloads are never compressed themselves:
// the delta inside a message is a complete engine frame, compressed already.
//
// Message payloads (varints LEB128, strings length-prefixed UTF-8):
//   hello  1  protocol, reply:u8, store, schema hash, version (whole)
//   delta  2  store, version (the sender's, which the delta brings the peer to),
//             delta frame (detached from that version: cpp/delta.h)
//   ack    3  store, entries, flags:u8 (bit 0 holding: the receiver holds deltas
//             it cannot join yet; bit 1 restart: it lost track of the sender's
//             versions, send the next one whole)
//   error  4  store ('' for the whole connection), code, message
// A hello's and a delta's version (chain.ts): chain number, then (entry count
// << 1 | whole), then per entry (ref, [fixed64 actor when ref is 0], seq): ref
// is the actor's position + 1 among those the receiver already heard of in
// this chain. An ack's entries stand alone (count, then fixed64 actor and
// seq each): the entries of the receiver's version it has not told yet, so a
// lost ack costs nothing but a later resend.
// Chunk payload: message id, index, count, bytes. A message larger than a
// chunk travels as `count` chunks and is reassembled before it is read.
import type { ErrorCode } from '../errors.js';
import type { Version } from '../version.js';
import type { DiffEntry, VersionDiff } from './chain.js';
import { crc32c } from './crc32c.js';
import { knownCode, MyceliumError, PROTOCOL_VERSION } from './deps.js';

const utf8Encoder = new TextEncoder();

/** A growable byte buffer (the engine chunk's own: it imports no core module). */
class Out {
  buf: Uint8Array;
  pos = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(capacity, 16));
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }
  varint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  string(s: string): void {
    const b = utf8Encoder.encode(s);
    this.varint(b.length);
    this.raw(b);
  }
  /** actor (16 hex digits) -> seq: count, then (fixed64 actor, varint seq). */
  entries(v: Version): void {
    const actors = Object.keys(v);
    this.varint(actors.length);
    for (const actor of actors) {
      this.actor(actor);
      this.varint(v[actor]!);
    }
  }
  actor(actor: string): void {
    const hi = parseInt(actor.slice(0, 8), 16);
    const lo = parseInt(actor.slice(8), 16);
    this.room(8);
    for (const w of [lo, hi]) for (let k = 0; k < 4; k++) this.buf[this.pos++] = (w >>> (8 * k)) & 0xff;
  }
  /** A version as one message carries it (chain.ts). */
  version(v: VersionDiff): void {
    this.varint(v.chain);
    this.varint(v.entries.length * 2 + (v.absolute ? 1 : 0));
    for (const e of v.entries) {
      this.varint(e.ref);
      if (e.ref === 0) this.actor(e.actor);
      this.varint(e.seq);
    }
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
/** Sync frames keep the codec's first format version: what their payloads hold is the protocol version's (hello) to say. */
const FORMAT_VERSION = 1;
const KIND_MESSAGE = 3;
const KIND_CHUNK = 4;
const HEADER_MAX = 3 + 1 + 1 + 5 + 4;

export const enum MessageType {
  Hello = 1,
  Delta = 2,
  Ack = 3,
  Error = 4,
}

export type Message =
  | { type: MessageType.Hello; protocol: number; reply: boolean; store: string; schemaHash: string; version: VersionDiff }
  | { type: MessageType.Delta; store: string; version: VersionDiff; delta: Uint8Array }
  | { type: MessageType.Ack; store: string; version: Version; holding: boolean; restart: boolean }
  | { type: MessageType.Error; store: string; code: ErrorCode; message: string };

export interface Chunk {
  readonly id: number;
  readonly index: number;
  readonly count: number;
  readonly bytes: Uint8Array;
}

function frame(kind: number, payload: Uint8Array): Uint8Array {
  const w = new Out(payload.length + HEADER_MAX);
  w.u8(0x4d);
  w.u8(0x59);
  w.u8(0x43);
  w.u8(FORMAT_VERSION);
  w.u8(kind << 4);
  w.varint(payload.length);
  const crc = crc32c(payload);
  w.u8(crc & 0xff);
  w.u8((crc >>> 8) & 0xff);
  w.u8((crc >>> 16) & 0xff);
  w.u8(crc >>> 24);
  w.raw(payload);
  return w.bytes();
}

export function encodeMessage(m: Message): Uint8Array {
  const w = new Out(m.type === MessageType.Delta ? m.delta.length + 64 : 64);
  w.u8(m.type);
  switch (m.type) {
    case MessageType.Hello:
      w.varint(m.protocol);
      w.u8(m.reply ? 1 : 0);
      w.string(m.store);
      w.string(m.schemaHash);
      w.version(m.version);
      break;
    case MessageType.Delta:
      w.string(m.store);
      w.version(m.version);
      w.raw(m.delta);
      break;
    case MessageType.Ack:
      w.string(m.store);
      w.entries(m.version);
      w.u8((m.holding ? 1 : 0) | (m.restart ? 2 : 0));
      break;
    case MessageType.Error:
      w.string(m.store);
      w.string(m.code);
      w.string(m.message);
      break;
  }
  return frame(KIND_MESSAGE, w.bytes());
}

export function encodeChunk(c: Chunk): Uint8Array {
  const w = new Out(c.bytes.length + 16);
  w.varint(c.id);
  w.varint(c.index);
  w.varint(c.count);
  w.raw(c.bytes);
  return frame(KIND_CHUNK, w.bytes());
}

/** Bytes a chunk frame adds around its data, at most. */
export const CHUNK_OVERHEAD = HEADER_MAX + 3 * 5;

const corrupt = (what: string) => new MyceliumError('corrupt', `sync message: ${what}`);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A bounds-checked reader for bytes from a peer. */
class In {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  u8(what: string): number {
    if (this.pos >= this.buf.length) throw corrupt(`truncated ${what}`);
    return this.buf[this.pos++]!;
  }

  varint(what: string): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8(what);
      v += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) break;
        return v;
      }
      scale *= 128;
    }
    throw corrupt(`${what} is not a valid varint`);
  }

  raw(n: number, what: string): Uint8Array {
    if (n > this.buf.length - this.pos) throw corrupt(`${what} overruns the message`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(what: string, max: number): string {
    const n = this.varint(what);
    if (n > max) throw corrupt(`${what} is longer than ${max} bytes`);
    try {
      return utf8.decode(this.raw(n, what));
    } catch (e) {
      throw e instanceof MyceliumError ? e : corrupt(`${what} is not UTF-8`);
    }
  }

  actor(): string {
    const b = this.raw(8, 'actor');
    const lo = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    const hi = (b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0;
    return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
  }

  entries(): Version {
    const n = this.varint('version');
    if (n > (this.buf.length - this.pos) / 9) throw corrupt('version longer than the message');
    if (n > MAX_VERSION_ENTRIES) throw new MyceliumError('limit_exceeded', `a version of ${n} actors; a store holds at most ${MAX_VERSION_ENTRIES}`);
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const actor = this.actor();
      const seq = this.varint('seq');
      if (seq > MAX_SEQ) throw corrupt('seq out of range');
      out[actor] = Math.max(out[actor] ?? 0, seq);
    }
    return out;
  }

  version(): VersionDiff {
    const chain = this.varint('version chain');
    const head = this.varint('version');
    const n = Math.floor(head / 2);
    if (n > (this.buf.length - this.pos) / 2) throw corrupt('version longer than the message');
    if (n > MAX_VERSION_ENTRIES) throw new MyceliumError('limit_exceeded', `a version of ${n} actors; a store holds at most ${MAX_VERSION_ENTRIES}`);
    const entries: DiffEntry[] = [];
    for (let i = 0; i < n; i++) {
      const ref = this.varint('actor ref');
      if (ref > MAX_VERSION_ENTRIES) throw corrupt('actor ref out of range');
      const actor = ref === 0 ? this.actor() : '';
      const seq = this.varint('seq');
      if (seq === 0 || seq > MAX_SEQ) throw corrupt('seq out of range');
      entries.push({ ref, actor, seq });
    }
    return { chain, absolute: head % 2 === 1, entries };
  }

  end(): void {
    if (this.pos !== this.buf.length) throw corrupt('trailing bytes after message');
  }
}

/** Reads one frame: a message or a chunk. Throws MyceliumError (corrupt, unsupported_version) for anything else. */
export function decodeFrame(bytes: Uint8Array): { message: Message } | { chunk: Chunk } {
  if (!(bytes instanceof Uint8Array)) throw corrupt('not binary');
  const r = new In(bytes);
  if (bytes.length < 5 || bytes[0] !== 0x4d || bytes[1] !== 0x59 || bytes[2] !== 0x43) throw corrupt('bad magic: not a mycelium frame');
  if (bytes[3] !== FORMAT_VERSION) {
    throw new MyceliumError('unsupported_version', `sync frame format version ${bytes[3]!} is not supported (this build reads version ${FORMAT_VERSION})`);
  }
  const flags = bytes[4]!;
  const kind = flags >> 4;
  if ((flags & 0x0f) !== 0) throw corrupt('unknown flag bits set');
  if (kind !== KIND_MESSAGE && kind !== KIND_CHUNK) throw corrupt(`payload kind ${kind} is not a sync message`);
  r.pos = 5;
  const length = r.varint('payload length');
  const c = r.raw(4, 'checksum');
  const crc = (c[0]! | (c[1]! << 8) | (c[2]! << 16) | (c[3]! << 24)) >>> 0;
  if (length > bytes.length - r.pos) throw corrupt('payload length overruns input');
  if (length < bytes.length - r.pos) throw corrupt('trailing bytes after payload');
  const payload = bytes.subarray(r.pos);
  if (crc32c(payload) !== crc) throw corrupt('checksum mismatch');
  return kind === KIND_CHUNK ? { chunk: readChunk(payload) } : { message: readMessage(payload) };
}

function readChunk(p: Uint8Array): Chunk {
  const r = new In(p);
  const id = r.varint('chunk id');
  const index = r.varint('chunk index');
  const count = r.varint('chunk count');
  if (count === 0 || index >= count) throw corrupt(`chunk ${index} of ${count}`);
  return { id, index, count, bytes: p.subarray(r.pos) };
}

const NAME_MAX = 1024;
/** A version names at most as many actors as a store can hold (cpp/store.h). */
export const MAX_VERSION_ENTRIES = 65535;
/** Seqs are 32-bit (cpp/delta.h kMaxSeq). */
const MAX_SEQ = 0xffffffff;

function readMessage(p: Uint8Array): Message {
  const r = new In(p);
  const type = r.u8('message type');
  let m: Message;
  switch (type) {
    case MessageType.Hello: {
      const protocol = r.varint('protocol version');
      // Another protocol version may lay out the rest differently: stop here.
      if (protocol !== PROTOCOL_VERSION) return { type, protocol, reply: false, store: '', schemaHash: '', version: { chain: 0, absolute: true, entries: [] } };
      const reply = r.u8('hello flags');
      if (reply > 1) throw corrupt('bad hello flags');
      m = { type, protocol, reply: reply === 1, store: r.string('store name', NAME_MAX), schemaHash: r.string('schema hash', 64), version: r.version() };
      break;
    }
    case MessageType.Delta: {
      const store = r.string('store name', NAME_MAX);
      const version = r.version();
      return { type, store, version, delta: p.subarray(r.pos) };
    }
    case MessageType.Ack: {
      const store = r.string('store name', NAME_MAX);
      const version = r.entries();
      const flags = r.u8('ack flags');
      if (flags > 3) throw corrupt('bad ack flags');
      m = { type, store, version, holding: (flags & 1) !== 0, restart: (flags & 2) !== 0 };
      break;
    }
    case MessageType.Error: {
      const store = r.string('store name', NAME_MAX);
      const code = knownCode(r.string('error code', 64));
      // Older peers sent the message with the code in front: say the code once.
      const text = r.string('error message', 4096);
      m = { type, store, code, message: text.startsWith(`${code}: `) ? text.slice(code.length + 2) : text };
      break;
    }
    default:
      throw corrupt(`unknown message type ${type}`);
  }
  r.end();
  return m;
}
