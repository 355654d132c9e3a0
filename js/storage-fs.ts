// File-system adapter (Node): one folder per store under `dir`, holding
// state.bin (u32 little-endian length + meta JSON, then the snapshot) and
// log.bin, a sequence of records (u32 little-endian length, then the blob).
// An append is one write and an fdatasync, so a crash leaves at most a torn
// last record, which load() drops (its flush() never resolved). Replacing
// the state writes a temporary file, syncs it and renames it over the old
// one, so meta and snapshot change together. Compaction renames the new
// state in before it empties the log: a crash between the two leaves blobs
// that are already in the snapshot, and joining them again changes nothing.
// Operations on one store run one at a time.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MyceliumError } from './errors.js';
import type { StorageAdapter, StoredMeta } from './storage.js';

const MAX_RECORD = 0x7fffffff;

function fsError(e: unknown, what: string): MyceliumError {
  if (e instanceof MyceliumError) return e;
  const code = (e as { code?: string }).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new MyceliumError('quota_exceeded', `${what}: the disk is full (${code})`);
  return new MyceliumError('storage_failed', `${what}: ${String(e)}`);
}

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  }
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const f = await open(tmp, 'w');
  try {
    await f.writeFile(bytes);
    await f.datasync();
  } finally {
    await f.close();
  }
  await rename(tmp, path);
}

function encodeState(meta: StoredMeta | null, snapshot: Uint8Array | null): Uint8Array {
  const m = new TextEncoder().encode(meta ? JSON.stringify(meta) : '');
  const out = new Uint8Array(4 + m.length + (snapshot ? snapshot.length : 0));
  new DataView(out.buffer).setUint32(0, m.length, true);
  out.set(m, 4);
  if (snapshot) out.set(snapshot, 4 + m.length);
  return out;
}

function decodeState(bytes: Uint8Array | null, path: string): { meta: StoredMeta | null; snapshot: Uint8Array | null } {
  if (!bytes) return { meta: null, snapshot: null };
  const n = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) : -1;
  if (n < 0 || 4 + n > bytes.length) throw new MyceliumError('corrupt', `${path}: truncated (${bytes.length} bytes)`);
  let meta: StoredMeta | null = null;
  if (n > 0) {
    try {
      meta = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n))) as StoredMeta;
    } catch (e) {
      throw new MyceliumError('corrupt', `${path}: the meta record is not JSON (${String(e)})`);
    }
  }
  return { meta, snapshot: bytes.length > 4 + n ? bytes.slice(4 + n) : null };
}

/** Splits log.bin into blobs; a torn last record (a crash mid-append) is dropped. */
function parseLog(bytes: Uint8Array | null): { blobs: Uint8Array[]; end: number } {
  const blobs: Uint8Array[] = [];
  if (!bytes) return { blobs, end: 0 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 4 <= bytes.length) {
    const n = view.getUint32(at, true);
    if (n > MAX_RECORD || at + 4 + n > bytes.length) break;
    blobs.push(bytes.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return { blobs, end: at };
}

export function fileStorage(dir: string): StorageAdapter {
  const queues = new Map<string, Promise<unknown>>();
  const folder = (name: string) => join(dir, encodeURIComponent(name));
  // One operation at a time per store.
  function serial<T>(name: string, what: string, f: (d: string) => Promise<T>): Promise<T> {
    const prev = queues.get(name) ?? Promise.resolve();
    const next = prev.then(
      () => f(folder(name)),
      () => f(folder(name)),
    );
    const wrapped = next.catch((e: unknown) => {
      throw fsError(e, what);
    });
    queues.set(name, wrapped.catch(() => undefined));
    return wrapped;
  }

  // Where each log's last whole record ends, once this adapter has checked
  // (or written) it: an append then writes there without reading the log.
  const ends = new Map<string, number>();

  async function appendRecords(d: string, blobs: readonly Uint8Array[]): Promise<void> {
    await mkdir(d, { recursive: true });
    const path = join(d, 'log.bin');
    let end = ends.get(d);
    let existing = true;
    let torn = false;
    if (end === undefined) {
      // A torn record from a crash is cut off before anything follows it.
      const bytes = await readOrNull(path);
      existing = bytes !== null;
      end = parseLog(bytes).end;
      torn = bytes !== null && end !== bytes.length;
    }
    const f = await open(path, existing ? 'r+' : 'w');
    try {
      if (torn) await f.truncate(end);
      const total = blobs.reduce((n, b) => n + 4 + b.length, 0);
      const buf = new Uint8Array(total);
      const view = new DataView(buf.buffer);
      let at = 0;
      for (const b of blobs) {
        view.setUint32(at, b.length, true);
        buf.set(b, at + 4);
        at += 4 + b.length;
      }
      await f.write(buf, 0, buf.length, end);
      await f.datasync();
      ends.set(d, end + total);
    } catch (e) {
      ends.delete(d); // unknown again: the next append checks the file
      throw e;
    } finally {
      await f.close();
    }
  }

  return {
    load: (name) =>
      serial(name, `loading '${name}'`, async (d) => {
        const [state, log] = await Promise.all([readOrNull(join(d, 'state.bin')), readOrNull(join(d, 'log.bin'))]);
        const parsed = parseLog(log);
        if (log && parsed.end === log.length) ends.set(d, parsed.end);
        else ends.delete(d);
        return { ...decodeState(state, join(d, 'state.bin')), log: parsed.blobs };
      }),
    setMeta: (name, meta) =>
      serial(name, `writing the meta record of '${name}'`, async (d) => {
        await mkdir(d, { recursive: true });
        const path = join(d, 'state.bin');
        await writeAtomic(path, encodeState(meta, decodeState(await readOrNull(path), path).snapshot));
      }),
    append: (name, blobs) => serial(name, `appending to '${name}'`, (d) => appendRecords(d, blobs)),
    compact: (name, fold, meta) =>
      serial(name, `compacting '${name}'`, async (d) => {
        await mkdir(d, { recursive: true });
        const path = join(d, 'state.bin');
        const old = decodeState(await readOrNull(path), path);
        const { blobs } = parseLog(await readOrNull(join(d, 'log.bin')));
        const snapshot = fold(blobs, old.snapshot);
        await writeAtomic(path, encodeState(meta ?? old.meta, snapshot));
        // Nothing else appends while this runs (one operation at a time).
        await writeAtomic(join(d, 'log.bin'), new Uint8Array(0));
        ends.set(d, 0);
        return blobs.length;
      }),
    clear: (name) =>
      serial(name, `deleting '${name}'`, (d) => {
        ends.delete(d);
        return rm(d, { recursive: true, force: true });
      }),
    close() {},
  };
}
