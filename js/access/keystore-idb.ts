// Identities in IndexedDB: the CryptoKey objects themselves (structured
// clones), the private key non-extractable. Two tabs loading a new name at
// once: the first add() wins, the other reads what it wrote.
import { MyceliumError } from '../errors.js';
import type { Identity } from './keys.js';
import { createKeyPair, fromKeyPair } from './keys.js';

const DB = 'mycelium-identities';
const STORE = 'keys';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function openDb(factory: IDBFactory): Promise<IDBDatabase> {
  const r = factory.open(DB, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(STORE);
  return request(r);
}

export async function idbKeyStore(name: string): Promise<Identity> {
  const factory = globalThis.indexedDB;
  if (!factory) throw new MyceliumError('storage_unavailable', 'IndexedDB is not available here: loadIdentity() keeps keys in it (createIdentity() makes one that lives in memory)');
  let db: IDBDatabase;
  try {
    db = await openDb(factory);
  } catch (e) {
    throw new MyceliumError('storage_unavailable', `cannot open IndexedDB for identities: ${String(e)}`);
  }
  try {
    const read = () => request(db.transaction(STORE, 'readonly').objectStore(STORE).get(name) as IDBRequest<CryptoKeyPair | undefined>);
    const kept = await read();
    if (kept) return await fromKeyPair(kept);
    const pair = await createKeyPair();
    try {
      await request(db.transaction(STORE, 'readwrite').objectStore(STORE).add(pair, name));
      return await fromKeyPair(pair);
    } catch (e) {
      const other = await read(); // another tab made it first
      if (other) return await fromKeyPair(other);
      throw new MyceliumError('storage_failed', `cannot keep identity '${name}' in IndexedDB: ${String(e)}`);
    }
  } finally {
    db.close();
  }
}
