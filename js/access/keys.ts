// Identities (docs/identity.md, Identities and keys): Ed25519 key pairs
// through WebCrypto, the same in every browser engine and in Node 20+. A
// principal is the public key's 32 raw bytes in base64url (43 characters):
// self-certifying, no directory. The private key is non-extractable once
// made; where it must be kept on disk (Node), the caller exports it before
// that (see exportable()).
import { MyceliumError } from '../errors.js';

const ED25519 = { name: 'Ed25519' } as const;
const utf8 = new TextEncoder();

/** A device's key pair, and its principal. */
export interface Identity {
  /** The public key in base64url: how membership names this device. */
  readonly principal: string;
  /** Signs `bytes` (64-byte Ed25519 signature). */
  sign(bytes: Uint8Array): Promise<Uint8Array>;
}

/** `bytes` as WebCrypto takes them (never over shared memory). */
function data(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new MyceliumError('transport_unavailable', 'WebCrypto (crypto.subtle) is not available here: identities need a secure context (https:// or localhost)');
  return s;
}

/** base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The bytes of a base64url string, or null when it is not one. */
export function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const b = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
}

/** Is `text` a principal (43 base64url characters, 32 bytes)? */
export function isPrincipal(text: unknown): text is string {
  return typeof text === 'string' && text.length === 43 && fromBase64Url(text)?.length === 32;
}

class KeyIdentity implements Identity {
  constructor(
    readonly principal: string,
    private readonly key: CryptoKey,
  ) {}

  async sign(bytes: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await subtle().sign(ED25519, this.key, data(bytes)));
  }
}

/** An identity from a key pair (the private key may be non-extractable). */
export async function fromKeyPair(pair: CryptoKeyPair): Promise<Identity> {
  const raw = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
  return new KeyIdentity(toBase64Url(raw), pair.privateKey);
}

/**
 * A fresh Ed25519 key pair. WebKitGTK 2.50's generateKey once failed with an
 * OperationError (three keys made at once, in the browser suite); nothing is
 * wrong with the request, so it is tried up to three times.
 */
async function generate(extractable: boolean): Promise<CryptoKeyPair> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await subtle().generateKey(ED25519, extractable, ['sign', 'verify'])) as CryptoKeyPair;
    } catch (e) {
      if (attempt >= 3 || (e as { name?: unknown } | null)?.name !== 'OperationError') throw e;
    }
  }
}

/** A fresh key pair, the private key non-extractable. */
export function createKeyPair(): Promise<CryptoKeyPair> {
  return generate(false);
}

/** A fresh identity whose private key never leaves this process (loadIdentity() keeps one on the device). */
export async function createIdentity(): Promise<Identity> {
  return fromKeyPair(await createKeyPair());
}

/** A fresh identity with its private key as PKCS#8 bytes, for a key file; the identity itself holds a non-extractable copy. */
export async function createExportable(): Promise<{ identity: Identity; pkcs8: Uint8Array }> {
  const pair = await generate(true);
  const pkcs8 = new Uint8Array(await subtle().exportKey('pkcs8', pair.privateKey));
  return { identity: await importIdentity(pkcs8, new Uint8Array(await subtle().exportKey('raw', pair.publicKey))), pkcs8 };
}

/** An identity from its PKCS#8 private key and raw public key (a key file); the private key is imported non-extractable. */
export async function importIdentity(pkcs8: Uint8Array, publicRaw: Uint8Array): Promise<Identity> {
  if (publicRaw.length !== 32) throw new MyceliumError('corrupt', `an Ed25519 public key is 32 bytes, not ${publicRaw.length}`);
  let key: CryptoKey;
  try {
    key = await subtle().importKey('pkcs8', data(pkcs8), ED25519, false, ['sign']);
  } catch (e) {
    throw new MyceliumError('corrupt', `not an Ed25519 private key: ${String(e)}`);
  }
  const identity = new KeyIdentity(toBase64Url(publicRaw), key);
  // A key file whose halves do not belong together is damaged.
  const probe = utf8.encode('myc-key-check');
  if (!(await verify(identity.principal, probe, await identity.sign(probe)))) throw new MyceliumError('corrupt', 'the private key does not match the public key');
  return identity;
}

const verifiers = new Map<string, Promise<CryptoKey | null>>();

/** Does `signature` by `principal` verify over `bytes`? False for anything malformed. */
export async function verify(principal: string, bytes: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (signature.length !== 64 || !isPrincipal(principal)) return false;
  let key = verifiers.get(principal);
  if (!key) {
    key = subtle()
      .importKey('raw', data(fromBase64Url(principal)!), ED25519, false, ['verify'])
      .catch(() => null);
    if (verifiers.size >= 4096) verifiers.delete(verifiers.keys().next().value!);
    verifiers.set(principal, key);
  }
  const k = await key;
  if (!k) return false;
  try {
    return await subtle().verify(ED25519, k, data(signature), data(bytes));
  } catch {
    return false;
  }
}

/** SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest('SHA-256', data(bytes)));
}

/** UTF-8 bytes of the parts, each followed by a 0 byte (domain-separated signing input). */
export function signingInput(...parts: readonly (string | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? utf8.encode(p) : p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length + 1, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length + 1;
  }
  return out;
}

/** A token: `prefix` and the base64url of the body's JSON (invites, device certificates). */
export function encodeToken(prefix: string, body: object): string {
  return `${prefix}${toBase64Url(utf8.encode(JSON.stringify(body)))}`;
}

/**
 * A token's body (an object with `v: 1`): `corrupt` when the text is not a
 * `kind` (made by `source`), `unsupported_version` for another format version.
 */
export function decodeToken(token: unknown, prefix: string, maxLength: number, kind: string, source: string): Record<string, unknown> {
  const bad = () => new MyceliumError('corrupt', `not ${kind} of mycelium-sync (a token from ${source})`);
  if (typeof token !== 'string' || !token.startsWith(prefix) || token.length > maxLength) throw bad();
  const bytes = fromBase64Url(token.slice(prefix.length));
  if (!bytes) throw bad();
  let b: unknown;
  try {
    b = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw bad();
  }
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw bad();
  if ((b as { v?: unknown }).v !== 1) throw new MyceliumError('unsupported_version', `${kind} of another format version`);
  return b as Record<string, unknown>;
}

/** A protected store's id: SHA-256 of its name and its owner, and of 'encrypted' for an encrypted store (docs/identity.md), base64url. */
export async function storeId(name: string, owner: string, encrypted = false): Promise<string> {
  return toBase64Url(await sha256(encrypted ? signingInput('myc-store-1', name, owner, 'encrypted') : signingInput('myc-store-1', name, owner)));
}
