// The sync protocol's frames and messages, written by hand from DESIGN.md and
// docs/sync.md (never by the package's own codec), for tests that play a
// peer: tests-security/*, tests-security/fuzz-sync.mjs and js/tests (types in
// wire.d.mts).


export function varint(n) {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** 'MYC', version, flags (kind << 4 | compressed), length, CRC32C, payload. */
export function mycFrame(kind, payload, compressed = false, version = 1) {
  const crc = crc32c(payload);
  return new Uint8Array([0x4d, 0x59, 0x43, version, (kind << 4) | (compressed ? 1 : 0), ...varint(payload.length), crc & 255, (crc >>> 8) & 255, (crc >>> 16) & 255, crc >>> 24, ...payload]);
}

/** A length-prefixed string (or bytes) as the protocol writes it. */
export function str(s) {
  const b = typeof s === 'string' ? new TextEncoder().encode(s) : s;
  return [...varint(b.length), ...b];
}

/**
 * A version as the wire has it (js/sync/chain.ts): chain number, then
 * (entry count << 1 | whole), then per entry (ref 0, fixed64 actor LE, varint
 * seq). Written whole, it stands alone: each hand-made message may carry one.
 */
export function versionBytes(entries, chain = 0) {
  const out = [...varint(chain), ...varint(entries.length * 2 + 1)];
  for (const [actor, seq] of entries) {
    out.push(0);
    let a = BigInt(actor);
    for (let i = 0; i < 8; i++) {
      out.push(Number(a & 255n));
      a >>= 8n;
    }
    out.push(...varint(seq));
  }
  return out;
}

export const PROTOCOL = 3;

/** A hello message (unframed: mycFrame(3, …) or chunks(…) it). */
export function helloMessage(store, schema, entries = [], reply = false) {
  return new Uint8Array([1, ...varint(PROTOCOL), reply ? 1 : 0, ...str(store), ...schemaBytes(schema), ...versionBytes(entries)]);
}

export function hello(store, schema, entries = [], reply = false) {
  return mycFrame(3, helloMessage(store, schema, entries, reply));
}

const KINDS = ['lww', 'counter', 'mvr', 'set'];

/** A hello's schema: collections, each name and fields, each name and kind number. */
export function schemaBytes(schema) {
  const out = [...varint(Object.keys(schema).length)];
  for (const [name, fields] of Object.entries(schema)) {
    out.push(...str(name), ...varint(Object.keys(fields).length));
    for (const [field, kind] of Object.entries(fields)) out.push(...str(field), KINDS.indexOf(kind));
  }
  return out;
}

/** A delta message (unframed), numbered `chain` in the sender's order (a hello is 0). */
export function deltaMessage(store, entries, delta, chain = 1) {
  return new Uint8Array([2, ...str(store), ...versionBytes(entries, chain), ...delta]);
}

/** An ack message (unframed): its entries stand alone (count, then fixed64 actor LE and varint seq). */
export function ackMessage(store, entries) {
  const out = [...varint(entries.length)];
  for (const [actor, seq] of entries) {
    let a = BigInt(actor);
    for (let i = 0; i < 8; i++) {
      out.push(Number(a & 255n));
      a >>= 8n;
    }
    out.push(...varint(seq));
  }
  return new Uint8Array([3, ...str(store), ...out, 0]);
}

/** A message payload as chunk frames of `size` bytes. */
export function chunks(message, id, size = 60 * 1024) {
  const whole = mycFrame(3, message);
  const count = Math.ceil(whole.length / size);
  const out = [];
  for (let i = 0; i < count; i++) out.push(mycFrame(4, new Uint8Array([...varint(id), ...varint(i), ...varint(count), ...whole.subarray(i * size, (i + 1) * size)])));
  return out;
}

/**
 * The features announcement (docs/presence.md): an error message for the
 * store '\0features' with the code 'features' and the list as its text.
 */
export const FEATURES_STORE = '\u0000features';
export function featuresMessage(features) {
  return new Uint8Array([4, ...str(FEATURES_STORE), ...str('features'), ...str(features.join(','))]);
}

/** A presence message (unframed): entries [client, clock, state (a JSON text, or null: gone)]. */
export function presenceMessage(store, entries) {
  const out = [5, ...str(store), ...varint(entries.length)];
  for (const [client, clock, state] of entries) {
    out.push(...str(client), ...varint(clock));
    if (state === null) out.push(0);
    else out.push(1, ...str(state));
  }
  return new Uint8Array(out);
}
