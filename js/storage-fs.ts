// File-system adapter (Node): one folder per store under `dir`, holding
// state.bin (u32 little-endian length + meta JSON, then the snapshot) and
// log.bin, a sequence of records (u32 little-endian length, then the blob).
// An append is one write and an fdatasync, so a crash leaves at most a torn
// last record, which load() drops (its flush() never resolved). Replacing
// the state writes a temporary file, syncs it and renames it over the old
// one, so meta and snapshot change together. Compaction renames the new
// state in before it empties the log: a crash between the two leaves blobs
// that are already in the snapshot, and joining them again changes nothing.
// Folders are fsynced after a rename or a new entry, as SQLite does, so the
// rename itself survives a power cut. A tail of zeros (a file extended but
// never written before a crash) is dropped like a short record.
// Operations on one store run one at a time.
//
// One process at a time: the first operation on a store takes its LOCK file
// (pid, host, time); another live process on the same folder is refused with
// storage_failed naming who holds it; a lock whose process is gone is taken
// over. close() (and the process's exit) gives the locks back. Within one
// process, every fileStorage() on a folder shares one queue of operations
// and one record of where its log ends, so two adapters (a store reopened
// with a new one before the old was closed) cannot interleave or overwrite
// each other's appends.
//
// The actor pool is the file `actors` (a JSON array) in the store's folder;
// each actor of it is held by a lock file `actor-<hex>.lock` (pid, host,
// time), taken with an exclusive create and given back on release() or at
// the process's exit. A lock file whose process is gone is taken over; one
// left by this process's pid that no lease of this process holds is from a
// process that died before it and had the same pid.
//
// Store names become one folder name each: a name that is empty, '.', '..',
// longer than 200 characters or holding a control character is refused
// (invalid_argument) before anything touches the disk.
import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { MyceliumError } from './errors.js';
import type { ActorLease, StorageAdapter, StoredMeta } from './storage.js';

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

/** Makes a folder's entries (a rename, a new file) durable. */
async function syncDir(path: string): Promise<void> {
  const f = await open(path, 'r');
  try {
    await f.sync();
  } catch (e) {
    // Some file systems cannot fsync a folder; their renames are as durable as they get.
    const code = (e as { code?: string }).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw e;
  } finally {
    await f.close();
  }
}

/** mkdir -p, then fsyncs the parent of every folder it made. */
async function makeDir(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return;
  for (let d = path; ; d = dirname(d)) {
    await syncDir(dirname(d));
    if (d === first || dirname(d) === d) break;
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
  await syncDir(dirname(path));
}

const NAME_MAX = 200;

/** The folder name for a store name, or an invalid_argument error. */
function storeFolderName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > NAME_MAX || name === '.' || name === '..' || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new MyceliumError('invalid_argument', `store name ${JSON.stringify(String(name)).slice(0, 80)} cannot be a folder name: 1-${NAME_MAX} characters, not '.' or '..', no control characters`);
  }
  // '/' and '\\' are escaped; what is left is one path segment.
  return encodeURIComponent(name);
}

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/**
 * Creates the lock file `path` (pid, host, time) unless a live process holds
 * it; a lock of a process that is gone is taken over. `reentrant`: a lock
 * this process holds counts as taken (the store folder's LOCK); otherwise it
 * is a lock of this process's pid left by a process that died before it
 * (leases of this process are checked by the caller). Returns who holds it
 * when it is not taken (null when the file stays unreadable).
 */
async function lockFile(d: string, path: string, reentrant: boolean): Promise<{ taken: true } | { taken: false; held: LockInfo | null }> {
  const mine: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  let held: LockInfo | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const f = await open(path, 'wx');
      try {
        await f.writeFile(JSON.stringify(mine));
        await f.datasync();
      } finally {
        await f.close();
      }
      await syncDir(d);
      return { taken: true };
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
    try {
      held = JSON.parse(await readFile(path, 'utf8')) as LockInfo;
    } catch {
      held = null; // half-written by a process that died: stale
    }
    const ours = held !== null && held.pid === process.pid && held.host === mine.host;
    if (ours && reentrant) return { taken: true };
    if (held && typeof held.pid === 'number' && !ours && (held.host !== mine.host || alive(held.pid))) return { taken: false, held };
    await unlink(path).catch(() => undefined); // stale: its process is gone
  }
  return { taken: false, held: null };
}

/** Takes the store folder's LOCK for this process, or throws naming who holds it. */
async function takeLock(d: string): Promise<string> {
  const path = join(d, 'LOCK');
  const lock = await lockFile(d, path, true);
  if (lock.taken) return path;
  const { held } = lock;
  if (!held) throw new MyceliumError('storage_failed', `${path}: could not take the lock`);
  throw new MyceliumError(
    'storage_failed',
    `${d} is in use by process ${held.pid} on ${held.host} since ${held.since}: one process at a time may open a store folder (if that process is gone, delete ${path})`,
  );
}

/** Takes an actor's lock file if no open replica holds it, in this process or another. */
async function tryActorLock(d: string, path: string): Promise<boolean> {
  if (heldLocks.has(path)) return false;
  return (await lockFile(d, path, false)).taken;
}

// Locks this process holds, with the adapters using each: given back when
// the last of them closes, or when the process exits however it exits.
const heldLocks = new Map<string, Set<object>>();
let exitHook = false;
function holdLock(path: string, user: object): void {
  let users = heldLocks.get(path);
  if (!users) heldLocks.set(path, (users = new Set()));
  users.add(user);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const p of heldLocks.keys()) {
      try {
        const held = JSON.parse(readFileSync(p, 'utf8')) as LockInfo;
        if (held.pid === process.pid) unlinkSync(p);
      } catch {
        // already gone
      }
    }
  });
}

function releaseLock(path: string, user: object): void {
  const users = heldLocks.get(path);
  if (!users?.delete(user) || users.size > 0) return;
  heldLocks.delete(path);
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
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

function zerosFrom(bytes: Uint8Array, at: number): boolean {
  for (let i = at; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Splits log.bin into blobs; a torn last record (a crash mid-append) is
 * dropped: one cut short, or a tail of zeros (no blob starts with a zero
 * byte: each is a frame starting 'MYC').
 */
function parseLog(bytes: Uint8Array | null): { blobs: Uint8Array[]; end: number } {
  const blobs: Uint8Array[] = [];
  if (!bytes) return { blobs, end: 0 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 4 <= bytes.length) {
    const n = view.getUint32(at, true);
    if (n > MAX_RECORD || at + 4 + n > bytes.length) break;
    if ((n === 0 || bytes[at + 4] === 0) && zerosFrom(bytes, at + 4)) break;
    blobs.push(bytes.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return { blobs, end: at };
}

// Per store folder, for every adapter of this process: the operation queue,
// and where each log's last whole record ends once an adapter has checked (or
// written) it: an append then writes there without reading the log.
const queues = new Map<string, Promise<unknown>>();
const ends = new Map<string, number>();

export function fileStorage(dir: string): StorageAdapter {
  dir = resolve(dir);
  const locks = new Map<string, string>(); // folder -> its LOCK, held by this adapter
  const self = {};
  // One operation at a time per store, each under the store's lock.
  function serial<T>(name: string, what: string, f: (d: string) => Promise<T>): Promise<T> {
    let d: string;
    try {
      d = join(dir, storeFolderName(name));
    } catch (e) {
      return Promise.reject(e);
    }
    const run = async () => {
      if (!locks.has(d)) {
        await makeDir(d);
        const lock = await takeLock(d);
        locks.set(d, lock);
        holdLock(lock, self);
      }
      return f(d);
    };
    const prev = queues.get(d) ?? Promise.resolve();
    const next = prev.then(run, run);
    const wrapped = next.catch((e: unknown) => {
      throw fsError(e, what);
    });
    const settled = wrapped.catch(() => undefined);
    queues.set(d, settled);
    void settled.then(() => {
      if (queues.get(d) === settled) queues.delete(d);
    });
    return wrapped;
  }

  async function appendRecords(d: string, blobs: readonly Uint8Array[]): Promise<void> {
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
      if (!existing) await syncDir(d);
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
        const path = join(d, 'state.bin');
        await writeAtomic(path, encodeState(meta, decodeState(await readOrNull(path), path).snapshot));
      }),
    append: (name, blobs) => serial(name, `appending to '${name}'`, (d) => appendRecords(d, blobs)),
    compact: (name, fold, meta) =>
      serial(name, `compacting '${name}'`, async (d) => {
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
    leaseActor: (name, fresh) =>
      serial(name, `taking an actor of '${name}'`, async (d): Promise<ActorLease> => {
        const poolPath = join(d, 'actors');
        const text = await readOrNull(poolPath);
        let pool: unknown = [];
        try {
          pool = text ? JSON.parse(text.toString('utf8')) : [];
        } catch {
          pool = []; // a damaged pool only costs reuse: new actors are made
        }
        const actors = (Array.isArray(pool) ? pool : []).filter((a): a is string => typeof a === 'string' && /^[0-9a-f]{16}$/.test(a));
        const lease = (actor: string): ActorLease => {
          const path = join(d, `actor-${actor}.lock`);
          const user = {};
          holdLock(path, user);
          return {
            actor,
            release: () => releaseLock(path, user),
          };
        };
        for (const actor of actors) {
          if (await tryActorLock(d, join(d, `actor-${actor}.lock`))) return lease(actor);
        }
        // All held: `fresh` is locked first, then added.
        if (!(await tryActorLock(d, join(d, `actor-${fresh}.lock`)))) {
          throw new MyceliumError('storage_failed', `${d}: could not lock a new actor`);
        }
        const taken = lease(fresh);
        try {
          await writeAtomic(poolPath, new TextEncoder().encode(JSON.stringify([...actors, fresh])));
        } catch (e) {
          taken.release();
          throw e;
        }
        return taken;
      }),
    clear: (name) =>
      serial(name, `deleting '${name}'`, async (d) => {
        ends.delete(d);
        const lock = locks.get(d);
        locks.delete(d);
        if (lock) heldLocks.delete(lock); // removed with the folder
        await rm(d, { recursive: true, force: true });
        await syncDir(dir).catch(() => undefined);
      }),
    close() {
      for (const lock of locks.values()) releaseLock(lock, self);
      locks.clear();
    },
  };
}
