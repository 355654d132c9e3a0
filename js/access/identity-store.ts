// loadIdentity(name): a device's identity kept where the platform keeps
// keys (docs/identity.md, Identities and keys) — IndexedDB in browsers, the
// private key never extractable; a key file (mode 0600) in Node, which cannot
// keep a non-extractable key. The first load of a name makes the key.
import { MyceliumError } from '../errors.js';
import type { Identity } from './keys.js';

/** Where the platform keeps identities. */
export type KeyStore = (name: string) => Promise<Identity>;

let keyStore: KeyStore | null = null;

/** @internal The entry point's key store. */
export function setKeyStore(store: KeyStore): void {
  keyStore = store;
}

/** Throws invalid_argument unless `name` can name a kept identity (it becomes part of a file name). */
export function checkIdentityName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name) || name.startsWith('.')) {
    throw new MyceliumError('invalid_argument', `an identity's name is 1-64 letters, digits, '_', '-' or '.', not starting with '.'; got ${JSON.stringify(name)}`);
  }
}

/** The identity kept under `name` on this device, made on first use. */
export async function loadIdentity(name: string): Promise<Identity> {
  checkIdentityName(name);
  if (!keyStore) throw new MyceliumError('storage_unavailable', 'no key store on this platform');
  return keyStore(name);
}
