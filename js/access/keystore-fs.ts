// Identities in Node: one key file per name, <dir>/identity-<name>.json,
// mode 0600, holding the public key and the PKCS#8 private key (Node cannot
// keep a non-extractable key; the loaded identity holds a non-extractable
// copy). Written whole, then linked to its name (exclusive), so two
// processes loading a new name at once end up with the same key.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MyceliumError } from '../errors.js';
import { checkIdentityName } from './identity-store.js';
import type { Identity } from './keys.js';
import { createExportable, fromBase64Url, importIdentity, toBase64Url } from './keys.js';

export function fileKeyStore(dir: string): (name: string) => Promise<Identity> {
  return async (name) => {
    checkIdentityName(name);
    const path = join(dir, `identity-${name}.json`);
    const read = async (): Promise<Identity | null> => {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return null;
        throw new MyceliumError('storage_failed', `cannot read ${path}: ${String(e)}`);
      }
      let kept: { v?: unknown; public?: unknown; pkcs8?: unknown };
      try {
        kept = JSON.parse(text) as typeof kept;
      } catch {
        throw new MyceliumError('corrupt', `${path} is not a key file (not JSON)`);
      }
      const pub = typeof kept.public === 'string' ? fromBase64Url(kept.public) : null;
      const pkcs8 = typeof kept.pkcs8 === 'string' ? fromBase64Url(kept.pkcs8) : null;
      if (kept.v !== 1 || !pub || !pkcs8) throw new MyceliumError('corrupt', `${path} is not a key file of this version`);
      try {
        return await importIdentity(pkcs8, pub);
      } catch (e) {
        throw new MyceliumError('corrupt', `${path}: ${e instanceof MyceliumError ? e.reason : String(e)}`);
      }
    };
    const kept = await read();
    if (kept) return kept;
    const { identity, pkcs8 } = await createExportable();
    const file = JSON.stringify({ v: 1, public: identity.principal, pkcs8: toBase64Url(pkcs8) });
    // Written whole to a file of its own, then linked to its name: the name
    // appears only with the whole key in it (an exclusive create followed by
    // a write let a second loader read the empty file), and only once.
    const tmp = `${path}.${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(tmp, file, { mode: 0o600, flag: 'wx' });
      await link(tmp, path);
      return identity;
    } catch (e) {
      if ((e as { code?: string }).code === 'EEXIST') {
        const other = await read();
        if (other) return other;
      }
      throw new MyceliumError('storage_failed', `cannot write ${path}: ${String(e)}`);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  };
}
