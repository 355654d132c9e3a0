// Sync messages on the wire (DESIGN.md, Sync protocol): the layout of their
// payloads. Each message is one frame of the engine's codec (cpp/codec.h;
// kind 3 a sync message, 4 a chunk of a larger one), written and read by the
// engine (core-io.ts), never here. Sync payloads are never compressed
// themselves: the delta inside a message is a complete engine frame,
// compressed already.
//
// Message payloads (varints LEB128, strings length-prefixed UTF-8):
//   hello  1  protocol, reply:u8, store, schema (the sender's declared
//             collections and fields: js/schema.ts encodeSchema), version
//             (whole). Protocol 3; 2 carried a schema hash instead, and peers
//             then had to declare the same schema.
//   delta  2  store, version (the sender's, which the delta brings the peer to),
//             delta frame (detached from that version: cpp/delta.h)
//   ack    3  store, entries, flags:u8 (bit 0 holding: the receiver holds deltas
//             it cannot join yet; bit 1 restart: it lost track of the sender's
//             versions, send the next one whole)
//   error  4  store ('' for the whole connection), code, message
//   auth-hello 6  store, nonce (32 bytes)       } protected stores only
//   auth-proof 7  store, principal, signature   } (docs/identity.md), to
//   members    8  store, count, operation texts } connections that announced 'auth'
//   credit-request 9  store, collection, record id, field, amount (varint),
//             actor (fixed64): the sender's actor asks for credit rights
//             (docs/credit.md). Sent only to a connection that announced 'credit'.
//   presence 5  store, entries: count, then per entry client (string), clock,
//             state (u8 0: gone; 1: then the state's JSON text). Sent only to
//             a connection that announced the 'presence' feature.
// Features: the first message each way on a connection names what the sender
// understands beyond protocol 3 (docs/presence.md). It travels as an error
// message for the store FEATURES_STORE, a name no store may have, with the
// code 'features' and the features comma-separated as its text: a protocol-3
// build routes an error to the store it names, has no such store, and
// ignores it, so builds with and without presence sync as before.
// A hello's and a delta's version (chain.ts): chain number, then (entry count
// << 1 | whole), then per entry (ref, [fixed64 actor when ref is 0], seq): ref
// is the actor's position + 1 among those the receiver already heard of in
// this chain. An ack's entries stand alone, as version bytes (version.ts):
// the entries of the receiver's version it has not told yet, so a lost ack
// costs nothing but a later resend.
// Chunk payload: message id, index, count, bytes. A message larger than a
// chunk travels as `count` chunks and is reassembled before it is read.
import { ByteWriter } from '../bytes.js';
import type { SyncFrames } from '../core-io.js';
import { FrameKind } from '../core-io.js';
import type { ErrorCode } from '../errors.js';
import { knownCode, MyceliumError } from '../errors.js';
import { PeerReader } from '../peer-reader.js';
import type { DeclaredCollection, DeclaredField } from '../schema.js';
import { encodeSchema, KINDS } from '../schema.js';
import type { Version } from '../version.js';
import { encodeVersion, MAX_SEQ, MAX_VERSION_ENTRIES, readActor, readVersion, writeActor } from '../version.js';
import type { DiffEntry, VersionDiff } from './chain.js';
import { FEATURES_STORE, PROTOCOL_VERSION } from './protocol-version.js';
import type { JsonValue } from './presence-state.js';
import { deepFreeze, MAX_PRESENCE_STATE } from './presence-state.js';

export const enum MessageType {
  Hello = 1,
  Delta = 2,
  Ack = 3,
  Error = 4,
  Presence = 5,
  /** Protected stores (docs/identity.md, Authenticated sessions): sent only to a connection that announced 'auth'. */
  AuthHello = 6,
  AuthProof = 7,
  Members = 8,
  /** Asks a peer for credit rights (docs/credit.md): sent only to a connection that announced 'credit'. */
  CreditRequest = 9,
  /** Not a wire type: features travel as an error message (above). */
  Features = 100,
}

/** Most entries in one presence message. */
export const MAX_PRESENCE_ENTRIES = 4096;
/** Longest presence client id. */
const MAX_CLIENT_ID = 128;

/** One client's presence at one clock: `state` null says it left. */
export interface PresenceEntry {
  readonly client: string;
  readonly clock: number;
  readonly state: JsonValue | null;
}

export type Message =
  | { type: MessageType.Hello; protocol: number; reply: boolean; store: string; schema: readonly DeclaredCollection[]; version: VersionDiff }
  | { type: MessageType.Delta; store: string; version: VersionDiff; delta: Uint8Array }
  | { type: MessageType.Ack; store: string; version: Version; holding: boolean; restart: boolean }
  | { type: MessageType.Error; store: string; code: ErrorCode; message: string }
  | { type: MessageType.Presence; store: string; entries: readonly PresenceEntry[] }
  | { type: MessageType.AuthHello; store: string; nonce: Uint8Array }
  | { type: MessageType.AuthProof; store: string; principal: string; signature: Uint8Array }
  | { type: MessageType.Members; store: string; ops: readonly string[] }
  | { type: MessageType.CreditRequest; store: string; request: CreditRequest }
  | { type: MessageType.Features; features: readonly string[] };

/** A replica short of credit rights asks its peers for `amount` of them, for `actor` (docs/credit.md). */
export interface CreditRequest {
  readonly collection: string;
  readonly id: string;
  readonly field: string;
  readonly amount: number;
  readonly actor: string;
}

/** Bytes of an auth-hello nonce, and of a signature. */
export const NONCE_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** Most membership operations in one message (access/membership.ts MAX_OPS), and characters in one. */
const MAX_MEMBER_OPS = 4096;
const MAX_MEMBER_OP = 8192;

export interface Chunk {
  readonly id: number;
  readonly index: number;
  readonly count: number;
  readonly bytes: Uint8Array;
}

/** A hello's and a delta's version, as one message carries it (chain.ts). */
function writeDiff(w: ByteWriter, v: VersionDiff): void {
  w.varint(v.chain);
  w.varint(v.entries.length * 2 + (v.absolute ? 1 : 0));
  for (const e of v.entries) {
    w.varint(e.ref);
    if (e.ref === 0) writeActor(e.actor, w);
    w.varint(e.seq);
  }
}

export function encodeMessage(m: Message, frames: SyncFrames): Uint8Array {
  const w = new ByteWriter(m.type === MessageType.Delta ? m.delta.length + 64 : 64);
  w.u8(m.type === MessageType.Features ? MessageType.Error : m.type);
  switch (m.type) {
    case MessageType.Hello:
      w.varint(m.protocol);
      w.u8(m.reply ? 1 : 0);
      w.string(m.store);
      encodeSchema(m.schema, w);
      writeDiff(w, m.version);
      break;
    case MessageType.Delta:
      w.string(m.store);
      writeDiff(w, m.version);
      w.raw(m.delta);
      break;
    case MessageType.Ack:
      w.string(m.store);
      encodeVersion(m.version, w);
      w.u8((m.holding ? 1 : 0) | (m.restart ? 2 : 0));
      break;
    case MessageType.Error:
      w.string(m.store);
      w.string(m.code);
      w.string(m.message);
      break;
    case MessageType.Presence:
      w.string(m.store);
      w.varint(m.entries.length);
      for (const e of m.entries) {
        w.string(e.client);
        w.varint(e.clock);
        if (e.state === null) w.u8(0);
        else {
          w.u8(1);
          w.string(JSON.stringify(e.state));
        }
      }
      break;
    case MessageType.AuthHello:
      w.string(m.store);
      w.raw(m.nonce);
      break;
    case MessageType.AuthProof:
      w.string(m.store);
      w.string(m.principal);
      w.raw(m.signature);
      break;
    case MessageType.Members:
      w.string(m.store);
      w.varint(m.ops.length);
      for (const o of m.ops) w.string(o);
      break;
    case MessageType.CreditRequest:
      w.string(m.store);
      w.string(m.request.collection);
      w.string(m.request.id);
      w.string(m.request.field);
      w.varint(m.request.amount);
      writeActor(m.request.actor, w);
      break;
    case MessageType.Features:
      w.string(FEATURES_STORE);
      w.string('features');
      w.string(m.features.join(','));
      break;
  }
  return frames.frame(FrameKind.Message, w.bytes());
}

export function encodeChunk(c: Chunk, frames: SyncFrames): Uint8Array {
  const w = new ByteWriter(c.bytes.length + 16);
  w.varint(c.id);
  w.varint(c.index);
  w.varint(c.count);
  w.raw(c.bytes);
  return frames.frame(FrameKind.Chunk, w.bytes());
}

/** Bytes a chunk frame adds around its data, at most: the frame header (magic, version, flags, length, checksum) and three varints. */
export const CHUNK_OVERHEAD = 3 + 1 + 1 + 5 + 4 + 3 * 5;

const corrupt = (what: string) => new MyceliumError('corrupt', `sync message: ${what}`);
const reader = (bytes: Uint8Array) => new PeerReader(bytes, 'sync message');

function readDiff(r: PeerReader): VersionDiff {
  const chain = r.varint('version chain');
  const head = r.varint('version');
  const n = Math.floor(head / 2);
  if (n > r.remaining() / 2) throw corrupt('version longer than the message');
  if (n > MAX_VERSION_ENTRIES) throw new MyceliumError('limit_exceeded', `a version of ${n} actors; a store holds at most ${MAX_VERSION_ENTRIES}`);
  const entries: DiffEntry[] = [];
  for (let i = 0; i < n; i++) {
    const ref = r.varint('actor ref');
    if (ref > MAX_VERSION_ENTRIES) throw corrupt('actor ref out of range');
    const actor = ref === 0 ? readActor(r) : '';
    const seq = r.varint('seq');
    if (seq === 0 || seq > MAX_SEQ) throw corrupt('seq out of range');
    entries.push({ ref, actor, seq });
  }
  return { chain, absolute: head % 2 === 1, entries };
}

/** Reads one frame: a message or a chunk. Throws MyceliumError (corrupt, unsupported_version) for anything else. */
export function decodeFrame(bytes: Uint8Array, frames: SyncFrames): { message: Message } | { chunk: Chunk } {
  if (!(bytes instanceof Uint8Array)) throw corrupt('not binary');
  const { kind, payload } = frames.unframe(bytes);
  return kind === FrameKind.Chunk ? { chunk: readChunk(payload) } : { message: readMessage(payload) };
}

/** The store a message is for, from the first chunk of its frame ('' when it does not say). */
export function storeOfPrefix(prefix: Uint8Array, frames: SyncFrames): string {
  try {
    const r = reader(prefix.subarray(frames.headerSize(prefix)));
    r.u8('message type');
    return r.string('store name', NAME_MAX);
  } catch {
    return '';
  }
}

function readChunk(p: Uint8Array): Chunk {
  const r = reader(p);
  const id = r.varint('chunk id');
  const index = r.varint('chunk index');
  const count = r.varint('chunk count');
  if (count === 0 || index >= count) throw corrupt(`chunk ${index} of ${count}`);
  return { id, index, count, bytes: p.subarray(r.pos) };
}

const NAME_MAX = 1024;
// A schema's limits (cpp/schema.h): collections, fields of one, name bytes.
const MAX_COLLECTIONS = 65535;
const MAX_FIELDS = 254;
const SCHEMA_NAME_MAX = 256;

/** A peer's declared schema (encodeSchema's bytes). */
function readSchema(r: PeerReader): DeclaredCollection[] {
  const n = r.varint('schema collections');
  if (n > MAX_COLLECTIONS) throw corrupt(`a schema of ${n} collections`);
  const out: DeclaredCollection[] = [];
  for (let c = 0; c < n; c++) {
    const name = r.string('collection name', SCHEMA_NAME_MAX);
    const count = r.varint('fields');
    if (count > MAX_FIELDS) throw corrupt(`collection '${name}' of ${count} fields`);
    const fields: DeclaredField[] = [];
    for (let f = 0; f < count; f++) {
      const field = r.string('field name', SCHEMA_NAME_MAX);
      const kind = KINDS[r.u8('field kind')];
      if (kind === undefined) throw corrupt(`field '${name}.${field}' of an unknown kind`);
      if (kind !== 'credit') {
        fields.push({ name: field, kind });
        continue;
      }
      const u = r.varint('credit min');  // zigzag, checked to be a safe integer
      fields.push({ name: field, kind, min: u % 2 === 0 ? u / 2 : -(u + 1) / 2 });
    }
    out.push({ name, fields });
  }
  return out;
}

function readMessage(p: Uint8Array): Message {
  const r = reader(p);
  const type = r.u8('message type');
  let m: Message;
  switch (type) {
    case MessageType.Hello: {
      const protocol = r.varint('protocol version');
      // Another protocol version may lay out the rest differently: stop here.
      if (protocol !== PROTOCOL_VERSION) return { type, protocol, reply: false, store: '', schema: [], version: { chain: 0, absolute: true, entries: [] } };
      const reply = r.u8('hello flags');
      if (reply > 1) throw corrupt('bad hello flags');
      m = { type, protocol, reply: reply === 1, store: r.string('store name', NAME_MAX), schema: readSchema(r), version: readDiff(r) };
      break;
    }
    case MessageType.Delta: {
      const store = r.string('store name', NAME_MAX);
      const version = readDiff(r);
      return { type, store, version, delta: p.subarray(r.pos) };
    }
    case MessageType.Ack: {
      const store = r.string('store name', NAME_MAX);
      const version = readVersion(r);
      const flags = r.u8('ack flags');
      if (flags > 3) throw corrupt('bad ack flags');
      m = { type, store, version, holding: (flags & 1) !== 0, restart: (flags & 2) !== 0 };
      break;
    }
    case MessageType.Error: {
      const store = r.string('store name', NAME_MAX);
      if (store === FEATURES_STORE) {
        r.string('features code', 64);
        const list = r.string('features', 4096);
        m = { type: MessageType.Features, features: list === '' ? [] : list.split(',') };
        break;
      }
      const code = knownCode(r.string('error code', 64));
      // Older peers sent the message with the code in front: say the code once.
      const text = r.string('error message', 4096);
      m = { type, store, code, message: text.startsWith(`${code}: `) ? text.slice(code.length + 2) : text };
      break;
    }
    case MessageType.Presence: {
      const store = r.string('store name', NAME_MAX);
      const n = r.varint('presence entries');
      if (n > MAX_PRESENCE_ENTRIES) throw new MyceliumError('limit_exceeded', `a presence message of ${n} entries; at most ${MAX_PRESENCE_ENTRIES}`);
      if (n > r.remaining() / 3) throw corrupt('presence entries longer than the message');
      const entries: PresenceEntry[] = [];
      for (let i = 0; i < n; i++) {
        const client = r.string('presence client', MAX_CLIENT_ID);
        if (client === '') throw corrupt('a presence entry without a client');
        const clock = r.varint('presence clock');
        const has = r.u8('presence state flag');
        if (has > 1) throw corrupt('bad presence state flag');
        let state: JsonValue | null = null;
        if (has === 1) {
          // The limit in bytes: UTF-8 takes at most 3 bytes per UTF-16 unit.
          const text = r.string('presence state', MAX_PRESENCE_STATE * 3);
          if (text.length > MAX_PRESENCE_STATE) throw new MyceliumError('limit_exceeded', `a presence state of ${text.length} characters; at most ${MAX_PRESENCE_STATE}`);
          try {
            state = deepFreeze(JSON.parse(text) as JsonValue);
          } catch {
            throw corrupt(`presence state of '${client}' is not JSON`);
          }
          if (state === null) throw corrupt(`presence state of '${client}' is null (gone is flag 0)`);
        }
        entries.push({ client, clock, state });
      }
      m = { type, store, entries };
      break;
    }
    case MessageType.AuthHello:
      m = { type, store: r.string('store name', NAME_MAX), nonce: r.raw(NONCE_BYTES, 'auth nonce').slice() };
      break;
    case MessageType.AuthProof:
      m = { type, store: r.string('store name', NAME_MAX), principal: r.string('principal', 64), signature: r.raw(SIGNATURE_BYTES, 'auth signature').slice() };
      break;
    case MessageType.Members: {
      const store = r.string('store name', NAME_MAX);
      const n = r.varint('membership operations');
      if (n > MAX_MEMBER_OPS) throw new MyceliumError('limit_exceeded', `a members message of ${n} operations; at most ${MAX_MEMBER_OPS}`);
      if (n > r.remaining()) throw corrupt('membership operations longer than the message');
      const ops: string[] = [];
      for (let i = 0; i < n; i++) ops.push(r.string('membership operation', MAX_MEMBER_OP * 3));
      m = { type, store, ops };
      break;
    }
    case MessageType.CreditRequest: {
      const store = r.string('store name', NAME_MAX);
      const collection = r.string('collection name', SCHEMA_NAME_MAX);
      const id = r.string('record id', SCHEMA_NAME_MAX);
      const field = r.string('field name', SCHEMA_NAME_MAX);
      const amount = r.varint('credit amount');
      if (amount < 1) throw corrupt('a credit request for nothing');
      m = { type, store, request: { collection, id, field, amount, actor: readActor(r) } };
      break;
    }
    default:
      throw corrupt(`unknown message type ${type}`);
  }
  r.end();
  return m;
}

