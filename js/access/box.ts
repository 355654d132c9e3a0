// The cryptography of encrypted stores (docs/identity.md, Encryption): each
// identity's X25519 box key, epoch keys wrapped for a member's box key
// (ECDH with a one-time key, HKDF-SHA-256, AES-GCM), and batches encrypted
// under an epoch key (AES-GCM). All through WebCrypto, the same in every
// engine and in Node.
import { MyceliumError } from '../errors.js';
import type { Identity } from './keys.js';
import { fromBase64Url, sha256, signingInput, toBase64Url } from './keys.js';

const X25519 = { name: 'X25519' } as const;
/** PKCS#8 of an X25519 private key, before its 32 bytes (RFC 8410). */
const PKCS8_X25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];
/** Bytes of a wrapped epoch key: IV (12), the key (32), the tag (16). */
export const WRAP_BYTES = 60;
/** Bytes an encrypted batch adds to its delta: IV (12) and tag (16). */
export const SEAL_OVERHEAD = 28;

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new MyceliumError('transport_unavailable', 'WebCrypto (crypto.subtle) is not available here: encrypted stores need a secure context');
  return s;
}

function data(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** An identity's box key: X25519, the public half in base64url. */
export interface BoxKey {
  readonly publicKey: string;
  readonly privateKey: CryptoKey;
}

const boxKeys = new WeakMap<Identity, Promise<BoxKey>>();

/**
 * An identity's box key, derived from its Ed25519 signature over a fixed,
 * domain-separated input (Ed25519 signatures are deterministic, RFC 8032 §5.1.6),
 * so a key kept non-extractable (IndexedDB, a key file) needs no second key
 * kept beside it. Signed twice: an identity whose signatures differ cannot
 * derive one (`invalid_argument`).
 */
export function boxKeyOf(identity: Identity): Promise<BoxKey> {
  let k = boxKeys.get(identity);
  if (!k) {
    k = deriveBoxKey(identity);
    boxKeys.set(identity, k);
    k.catch(() => boxKeys.delete(identity));
  }
  return k;
}

async function deriveBoxKey(identity: Identity): Promise<BoxKey> {
  const input = signingInput('myc-box-seed-1', identity.principal);
  const [a, b] = await Promise.all([identity.sign(input), identity.sign(input)]);
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
    throw new MyceliumError('invalid_argument', 'this identity signs the same input two ways (not Ed25519 as specified): it cannot derive a box key for an encrypted store');
  }
  const ikm = await subtle().importKey('raw', data(a), 'HKDF', false, ['deriveBits']);
  const seed = new Uint8Array(await subtle().deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: data(signingInput('myc-box-1')), info: data(signingInput(identity.principal)) }, ikm, 256));
  const pkcs8 = new Uint8Array([...PKCS8_X25519, ...seed]);
  // Imported once extractable, to read the public half (JWK "x"), then kept non-extractable.
  const open = await subtle().importKey('pkcs8', pkcs8, X25519, true, ['deriveBits']);
  const jwk = await subtle().exportKey('jwk', open);
  const privateKey = await subtle().importKey('pkcs8', pkcs8, X25519, false, ['deriveBits']);
  seed.fill(0);
  pkcs8.fill(0);
  if (typeof jwk.x !== 'string' || fromBase64Url(jwk.x)?.length !== 32) throw new MyceliumError('transport_unavailable', 'WebCrypto gave no X25519 public key: encrypted stores need X25519');
  return { publicKey: jwk.x, privateKey };
}

/** A one-time X25519 key pair for wrapping (its public half in base64url). */
export async function oneTimeKey(): Promise<{ publicKey: string; privateKey: CryptoKey }> {
  const pair = (await subtle().generateKey(X25519, true, ['deriveBits'])) as CryptoKeyPair;
  return { publicKey: toBase64Url(new Uint8Array(await subtle().exportKey('raw', pair.publicKey))), privateKey: pair.privateKey };
}

/** The AES-GCM key that wraps an epoch key for one recipient: HKDF over X25519(ours, theirs), bound to the store, the epoch and the recipient. */
async function wrappingKey(ours: CryptoKey, theirs: string, oneTime: string, recipient: string, storeId: string, epoch: string): Promise<CryptoKey> {
  const raw = fromBase64Url(theirs);
  if (!raw || raw.length !== 32) throw new MyceliumError('corrupt', 'an X25519 public key is 32 bytes');
  const pub = await subtle().importKey('raw', data(raw), X25519, true, []);
  const shared = new Uint8Array(await subtle().deriveBits({ name: 'X25519', public: pub }, ours, 256));
  const ikm = await subtle().importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  return subtle().deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: data(signingInput('myc-wrap-1', oneTime)), info: data(signingInput(storeId, epoch, recipient)) },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** An epoch key wrapped for `recipient` (its box key `boxKey`) under the one-time key: IV and ciphertext, base64url. */
export async function wrapKey(oneTime: { publicKey: string; privateKey: CryptoKey }, recipient: string, boxKey: string, storeId: string, epoch: string, key: Uint8Array): Promise<string> {
  const kek = await wrappingKey(oneTime.privateKey, boxKey, oneTime.publicKey, recipient, storeId, epoch);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv }, kek, data(key)));
  return toBase64Url(new Uint8Array([...iv, ...ct]));
}

/** An epoch key wrapped for this identity, or null when it does not unwrap (not for us, or damaged). */
export async function unwrapKey(box: BoxKey, recipient: string, oneTime: string, wrapped: string, storeId: string, epoch: string): Promise<Uint8Array | null> {
  const bytes = fromBase64Url(wrapped);
  if (!bytes || bytes.length !== WRAP_BYTES) return null;
  try {
    const kek = await wrappingKey(box.privateKey, oneTime, oneTime, recipient, storeId, epoch);
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: data(bytes.slice(0, 12)) }, kek, data(bytes.subarray(12))));
  } catch {
    return null;
  }
}

/** An epoch key's check value: the first 16 bytes of SHA-256("myc-epoch-1", store, epoch, key), base64url. */
export async function epochCheck(storeId: string, epoch: string, key: Uint8Array): Promise<string> {
  return toBase64Url((await sha256(signingInput('myc-epoch-1', storeId, epoch, key))).subarray(0, 16));
}

/** An epoch key as WebCrypto uses it for batches (non-extractable). */
export function batchKey(key: Uint8Array): Promise<CryptoKey> {
  return subtle().importKey('raw', data(key), 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/** A batch's delta under its epoch key: IV (12 bytes), then AES-GCM ciphertext and tag; `aad` binds it to its header's fields. */
export async function sealDelta(key: CryptoKey, delta: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: data(aad) }, key, data(delta)));
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  return out;
}

/** A sealed delta's plaintext, or null when it does not open under `key` (altered, or another key). */
export async function openDelta(key: CryptoKey, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array | null> {
  if (sealed.length < SEAL_OVERHEAD) return null;
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: data(sealed.slice(0, 12)), additionalData: data(aad) }, key, data(sealed.subarray(12))));
  } catch {
    return null;
  }
}
