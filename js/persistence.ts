// Persistence: a store kept in a StorageAdapter (DESIGN.md, Persistence).
// open() loads the snapshot and the log and is ready only then. Changes
// (local writes and joined deltas) are written as one delta blob per task:
// deltaSince(what storage already has), appended in one transaction; flush()
// resolves when that transaction has committed. When the log outgrows the
// snapshot, compaction folds it into a new snapshot in one atomic write.
// Tabs of one origin with the same store share each committed blob through
// a BroadcastChannel, so they see each other's changes live and never write
// them twice. A replica writes as an actor of the store's pool that no open
// replica holds (StorageAdapter.leaseActor), taken before the data is loaded
// and given back after its last write, so a reload is the same actor again
// (DESIGN.md, Causality); reuse is safe because nothing of this actor leaves
// the replica before it is durable. An app may give its own actor instead. A
// migration writes under an actor derived from the data it migrates.
//
// Browsers load this module only when a store is opened with `persist`
// (api.ts imports it dynamically); what it shares with the core bundle it
// imports, and the bundler puts that in a shared chunk.
import { sameBytes } from './bytes.js';
import { MyceliumError } from './errors.js';
import type { Engine } from './loader.js';
import type { Schema } from './schema.js';
import { schemaHash } from './schema.js';
import type { StoreAccess } from './access/access.js';
import { fromBase64Url, toBase64Url } from './access/keys.js';
import type { Batch, Provenance } from './access/provenance.js';
import type { ActorLease, StorageAdapter, StoredMeta, WatchedAppend } from './storage.js';
import { STORAGE_FORMAT } from './storage.js';
import type { RecoveryIssue, StoreInit } from './store.js';
import { Store } from './store.js';
import { SharedAccessLog } from './shared-access.js';
import { LATER_PAUSES_MS, onJavaScriptCore } from './verified-load.js';
import type { Version } from './version.js';
import { covers, join, randomActor } from './version.js';

/**
 * Rewrites one record of the stored data for a changed schema; null drops it.
 * It must be a pure function of the record (no clock, no randomness): every
 * device that migrates the same data must write the same (open() runs it
 * twice and refuses to migrate when the two runs write different data).
 */
export type Migration = (collection: string, record: { readonly id: string; readonly [field: string]: unknown }) => Record<string, unknown> | null;

export interface PersistInit extends StoreInit {
  /** Open what is readable of damaged stored data instead of failing; see Store.recovered. */
  readonly recover?: boolean;
  /**
   * Needed when a field's kind changed since the data was stored: every
   * record of the old data goes through it and is written anew, as this
   * replica's writes, under the new schema.
   */
  readonly migrate?: Migration;
  /** Compact when the log holds more than this many bytes and more than the snapshot (default 64 KiB). */
  readonly compactAfterBytes?: number;
}


/**
 * What the stored data has that the app's schema cannot take: fields whose
 * kind changed. (A field or collection the app no longer declares is kept,
 * unseen, like one a peer's newer version sends: another version of the app
 * may still declare it.)
 */
function kindChanges(stored: Schema, wanted: Schema): string[] {
  const kindOf = (spec: unknown) => String(typeof spec === 'object' && spec !== null ? (spec as { kind?: unknown }).kind : spec);
  const out: string[] = [];
  for (const [c, old] of Object.entries(stored)) {
    const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
    const fields = own(wanted, c) ? wanted[c] : undefined;
    if (!fields) continue;
    for (const [f, spec] of Object.entries(old)) {
      if (!own(fields, f)) continue;
      // A credit's min may change between versions: it moves only what the field reads.
      const was = kindOf(spec);
      const kind = kindOf(fields[f]);
      if (was !== kind) out.push(`${c}.${f} was ${was}, is now ${kind}`);
    }
  }
  return out;
}

interface BlobMessage {
  readonly type: 'blob';
  readonly from: string;
  readonly blob: Uint8Array;
  readonly version: Version;
}

// Stores of this realm whose close() is still writing, by name: an open()
// of the same name waits for them, so a store closed and opened again gets
// its actor back instead of finding it still held.
const closing = new Map<string, Set<Promise<void>>>();

class Persister {
  /** What storage holds for sure: nothing outside it needs writing. */
  private persisted: Version;
  /** What the other tabs have been sent or sent us: nothing outside it needs broadcasting. */
  private told: Version;
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private logBytes: number;
  private snapshotBytes: number;
  private closed = false;
  private provenance: Provenance | null = null;
  private batchBlobs = 0;
  /** Stops the adapter's watch of appends by other processes (StorageAdapter.watch). */
  stopWatch: (() => void) | null = null;

  constructor(
    private readonly store: Store,
    private readonly adapter: StorageAdapter,
    private readonly ownsAdapter: boolean,
    private readonly channel: BroadcastChannel | null,
    private readonly init: PersistInit,
    private readonly lease: ActorLease | null,
    loaded: { logBytes: number; snapshotBytes: number },
  ) {
    this.persisted = store.version();
    this.told = this.persisted;
    this.logBytes = loaded.logBytes;
    this.snapshotBytes = loaded.snapshotBytes;
  }

  changed(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    // One blob per task: every write of this synchronous run goes together.
    queueMicrotask(() => {
      this.scheduled = false;
      this.write();
    });
  }

  /** Queues a write of everything not yet persisted; resolves when it committed. */
  private write(): Promise<void> {
    if (this.closed) return this.chain;
    const next = this.chain.then(() => this.writeNow());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** A protected store's signed batches (docs/identity.md, Provenance), kept next to its data. */
  keepBatches(provenance: Provenance, storedBlobs: number): void {
    this.provenance = provenance;
    this.batchBlobs = storedBlobs;
    // A relay's batches that it cannot open change no data: they are written on their own.
    provenance.onKept(() => {
      if (this.closed) return;
      const next = this.chain.then(async () => {
        if (this.store.closed) return;
        await this.writeBatches();
        // Durable now: a durable-first sync may acknowledge them.
        if (!this.store.closed) this.store.committed();
      });
      this.chain = next.catch((e: unknown) => {
        if (!this.store.closed) this.store.reportError(e instanceof MyceliumError ? e : new MyceliumError('storage_failed', String(e)));
      });
    });
  }

  /** Signs this task's own writes and appends every batch storage lacks (one blob); before the data, so no stored write lacks its batch. */
  private async writeBatches(): Promise<void> {
    const provenance = this.provenance!;
    provenance.seal();
    await provenance.signed();
    const fresh = provenance.unpersisted();
    if (fresh.length === 0) return;
    const name = batchStoreName(this.store.name);
    await this.adapter.append(name, [provenance.encode(fresh)], { actor: this.store.actor, version: {} });
    provenance.markPersisted(fresh);
    this.batchBlobs++;
    if (this.batchBlobs > 256) {
      // Folded into one blob: every batch stored (another process's too, on a shared log), in stored order, each once.
      await this.adapter.compact(name, (log, snapshot) => {
        const kept = new Map<string, Batch>();
        for (const blob of [snapshot, ...log]) {
          if (!blob) continue;
          for (const b of provenance.read(blob, `the stored batches of '${this.store.name}'`)) if (!kept.has(`${b.actor}:${b.first}`)) kept.set(`${b.actor}:${b.first}`, b);
        }
        return provenance.encode([...kept.values()]);
      });
      this.batchBlobs = 0;
    }
  }

  private async writeNow(): Promise<void> {
    if (this.store.closed) return;
    const version = this.store.version();
    if (covers(this.persisted, version)) return;
    let blob: Uint8Array;
    try {
      if (this.provenance) await this.writeBatches();
      blob = await this.store.deltaForStorageLater(this.persisted);
      await this.adapter.append(this.store.name, [blob], { actor: this.store.actor, version });
    } catch (e) {
      const err = e instanceof MyceliumError ? e : new MyceliumError('storage_failed', String(e));
      this.store.reportError(err);
      throw err;
    }
    this.persisted = join(this.persisted, version);
    this.logBytes += blob.length;
    this.tell(blob, version);
    if (!this.store.closed) this.store.committed();
    if (this.logBytes > Math.max(this.init.compactAfterBytes ?? 64 * 1024, this.snapshotBytes)) {
      // The blob is durable whatever happens here: a failed compaction is
      // reported, leaves snapshot and log as they were, and runs again later.
      try {
        await this.compactNow();
      } catch (e) {
        this.store.reportError(e instanceof MyceliumError ? e : new MyceliumError('storage_failed', `compaction: ${String(e)}`));
      }
    }
  }

  /**
   * Folds the whole log (this tab's and others') into a new snapshot. With
   * `replaceWith`, the log is old data a migration has rewritten: it is
   * dropped, and the meta record replaced, in the same atomic write.
   */
  async compactNow(replaceWith?: StoredMeta): Promise<number> {
    let version: Version = {};
    let size = 0;
    const folded = await this.adapter.compact(
      this.store.name,
      (log, stored) => {
        // Read here, inside the storage transaction, not before it began: a
        // peer's delta that went pending while storage was busy is not the
        // log's (it was blamed on storage, and compaction stopped for good).
        const held = this.store.pending;
        let waiting = false;
        // The stored snapshot may hold another tab's changes this tab has not
        // heard of yet: the new one must include it, not replace it.
        for (const blob of replaceWith ? [] : stored ? [stored, ...log] : log) {
          try {
            if (this.store.applyStored(blob) === 'pending') waiting = true;
          } catch (e) {
            // Kept only in recover mode, where open() skipped it already.
            if (!this.init.recover) throw e;
          }
        }
        // Every folded blob must be in the state: one still waiting for a
        // predecessor would vanish with the log. (Recover mode skipped some.)
        if (waiting && this.store.pending > held && !this.init.recover) {
          throw new MyceliumError('corrupt', `compaction of '${this.store.name}': ${this.store.pending - held} stored deltas are missing their predecessors`);
        }
        const snapshot = this.store.saveForStorage();
        version = this.store.version();
        size = snapshot.length;
        return snapshot;
      },
      replaceWith,
    );
    this.persisted = join(this.persisted, version);
    this.logBytes = 0;
    this.snapshotBytes = size;
    if (!this.store.closed) this.store.committed();
    // Changes that reached storage through the snapshot, not the log, still
    // have to reach the other tabs.
    if (!this.store.closed && !covers(this.told, version)) this.tell(this.store.deltaSince(this.told), version);
    return folded;
  }

  private tell(blob: Uint8Array, version: Version): void {
    this.told = join(this.told, version);
    this.channel?.postMessage({ type: 'blob', from: this.store.actor, blob, version } satisfies BlobMessage);
  }

  flush(): Promise<void> {
    // Writes now; a write already scheduled for this task finds nothing left.
    return this.write();
  }

  durable(): Version {
    // A blind relay's data never changes: what it holds durably is its batches in storage.
    return this.provenance?.opaque ? join(this.persisted, this.provenance.storedVersion()) : this.persisted;
  }

  /** Blobs another tab (or, for a watched adapter, another process) committed: join them; storage has them already. */
  received({ actor: from, blobs, version }: WatchedAppend): void {
    if (this.store.closed || from === this.store.actor) return;
    try {
      for (const blob of blobs) this.store.applyStored(blob);
      this.persisted = join(this.persisted, version);
      this.told = join(this.told, version);
      // What was joined is durable: a durable-first sync may tell it now.
      this.store.committed();
    } catch (e) {
      if (e instanceof MyceliumError) this.store.reportError(e);
    }
  }

  closing(): void {
    if (this.closed) return;
    // The last changes, read while the store still exists, then written.
    const version = this.store.version();
    let blob: Uint8Array | null = null;
    try {
      if (!covers(this.persisted, version)) blob = this.store.deltaForStorage(this.persisted);
    } catch (e) {
      // Only a delta no two computations agreed on (verified-load.ts): it is
      // not written, and the store closes all the same.
      if (!(e instanceof MyceliumError)) throw e;
      this.store.reportError(e);
    }
    this.closed = true;
    const name = this.store.name;
    const last = this.chain.then(async () => {
      if (blob) {
        // A protected store's batches go first, as in every write: no stored data lacks its batch.
        if (this.provenance) await this.writeBatches();
        await this.adapter.append(name, [blob], { actor: this.store.actor, version });
        this.tell(blob, version);
      }
    });
    let pending = closing.get(name);
    if (!pending) closing.set(name, (pending = new Set()));
    const mine = pending;
    const done: Promise<void> = last.catch(() => undefined).finally(() => {
      this.channel?.close();
      this.stopWatch?.();
      // The actor goes back to the pool only now: its next holder loads
      // everything this replica wrote.
      this.lease?.release();
      if (this.ownsAdapter) this.adapter.close();
      mine.delete(done);
      if (mine.size === 0 && closing.get(name) === mine) closing.delete(name);
    });
    mine.add(done);
  }
}

/** Where a protected store's signed batches are kept, beside its data: names starting with '$batches:' are reserved. */
export function batchStoreName(name: string): string {
  return `$batches:${name}`;
}

/**
 * The actor of a migration: the same on every device for the same old state
 * (its version) and the same new schema (FNV-1a, 64 bits, over both).
 */
export function migrationActor(oldVersion: Version, newSchemaHash: string): string {
  let h = 0xcbf29ce484222325n;
  const text = `${JSON.stringify(Object.entries(oldVersion).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}|${newSchemaHash}`;
  for (const byte of new TextEncoder().encode(text)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

/** open() for a store with `persist`: load, check the schema, attach. */
export async function openPersisted<S extends Schema>(
  engine: Engine,
  init: PersistInit & { schema: S },
  adapter: StorageAdapter,
  ownsAdapter: boolean,
  access: StoreAccess | null = null,
): Promise<Store<S>> {
  const name = init.name ?? 'default';
  // Listen before loading, so nothing another tab commits meanwhile is missed.
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(`mycelium:${name}`) : null;
  // Node: an open store must not keep the process alive.
  (channel as { unref?: () => void } | null)?.unref?.();
  const early: WatchedAppend[] = [];
  let persister: Persister | null = null;
  let lease: ActorLease | null = null;
  const arrived = (m: WatchedAppend) => {
    if (persister) persister.received(m);
    else early.push(m);
  };
  if (channel) {
    channel.onmessage = (ev: MessageEvent<BlobMessage>) => {
      if (!ev.data || ev.data.type !== 'blob') return;
      arrived({ actor: ev.data.from, blobs: [ev.data.blob], version: ev.data.version });
    };
  }
  // A log shared with other processes (relay nodes on JetStream): their appends join here.
  const watchData = adapter.watch?.(name, arrived) ?? null;
  // A protected store's batches and membership on it: watched too (shared-access.ts).
  const shared = access && adapter.watch ? new SharedAccessLog(adapter, name, batchStoreName(name)) : null;
  const unwatch = () => {
    watchData?.();
    shared?.close();
  };
  try {
    if (init.actor === undefined && adapter.leaseActor) {
      await Promise.all(closing.get(name) ?? []);
      lease = await adapter.leaseActor(name, randomActor());
    }
    const actor = init.actor ?? lease?.actor;
    const stored = await adapter.load(name);
    const issues: RecoveryIssue[] = [];
    const meta = stored.meta;
    if (meta && (typeof meta.format !== 'number' || meta.format > STORAGE_FORMAT)) {
      throw new MyceliumError('unsupported_version', `stored data of '${name}' is in storage format ${String(meta.format)}; this version of mycelium-sync reads format ${STORAGE_FORMAT}`);
    }
    if (meta && (typeof meta.schema !== 'object' || meta.schema === null || meta.schemaHash !== schemaHash(meta.schema))) {
      throw new MyceliumError('corrupt', `the stored meta record of '${name}' is damaged (its schema does not match its schema hash)`);
    }
    // A protected store opens only as one, under the same owner; its log comes back with it.
    const kept = meta?.access;
    if (kept && !access) throw new MyceliumError('forbidden', `store '${name}' is protected (owner ${kept.owner}): open it with { identity, access: { owner } }`);
    if (kept && access && kept.owner !== access.owner) throw new MyceliumError('invalid_argument', `store '${name}' is protected by owner ${kept.owner}, not ${access.owner}`);
    if (kept && access && (kept.encrypt === true) !== access.encrypted) {
      throw new MyceliumError('invalid_argument', `store '${name}' is ${kept.encrypt === true ? '' : 'not '}encrypted: open it with access.encrypt ${kept.encrypt === true ? 'true' : 'unset'}`);
    }
    if (kept && access) await access.receive(Array.isArray(kept.ops) ? kept.ops : []);
    if (shared && access) await access.receive(await shared.loadOps());
    const hash = schemaHash(init.schema);
    // A protected store's actors of this device: an earlier session's writes
    // that were never signed are signed on open (they derive from the key and
    // the nonce kept here).
    const actors: Record<string, { p: string; n: string }> = {};
    if (access) {
      const keptActors: unknown = kept?.actors;
      if (typeof keptActors === 'object' && keptActors !== null) {
        for (const [a, v] of Object.entries(keptActors as Record<string, unknown>)) {
          const e = v as { p?: unknown; n?: unknown } | null;
          if (/^[0-9a-f]{16}$/.test(a) && typeof e?.p === 'string' && typeof e.n === 'string') actors[a] = { p: e.p, n: e.n };
        }
      }
      actors[access.actor] = { p: access.principal, n: toBase64Url(access.provenance.nonce) };
    }
    const metaNow = (): StoredMeta => ({ format: STORAGE_FORMAT, schema: init.schema, schemaHash: hash, ...(access ? { access: { owner: access.owner, ops: access.texts(), actors, ...(access.encrypted ? { encrypt: true } : {}) } } : {}) });
    const changes = meta && meta.schemaHash !== hash ? kindChanges(meta.schema, init.schema) : [];
    if (changes.length > 0 && !init.migrate) {
      throw new MyceliumError('schema_mismatch', `the stored data of '${name}' does not fit this schema (${changes.join('; ')}); pass open({ migrate }) to rewrite it`);
    }
    // A migration writes as an actor derived from the data, which no key
    // signs for: its writes could never travel, and every later batch of
    // this replica would wait for them at its peers (docs/identity.md).
    if (changes.length > 0 && access) {
      throw new MyceliumError('schema_mismatch', `the stored data of '${name}' does not fit this schema (${changes.join('; ')}), and a protected store cannot be migrated yet`);
    }

    // Opens a store from the stored snapshot and log under `schema`.
    const buildOnce = (schema: Schema, storeInit: StoreInit): Store => {
      let store: Store;
      try {
        store = new Store(engine, { ...storeInit, schema, name, snapshot: stored.snapshot ?? undefined });
      } catch (e) {
        if (!(e instanceof MyceliumError)) throw e;
        const err = new MyceliumError(e.code, `the stored snapshot of '${name}': ${e.reason}`);
        if (!init.recover || e.code === 'schema_mismatch') throw err;
        issues.push({ what: 'snapshot', error: err });
        store = new Store(engine, { ...storeInit, schema, name, snapshot: undefined });
      }
      stored.log.forEach((blob, i) => {
        try {
          store.applyStored(blob);
        } catch (e) {
          if (!(e instanceof MyceliumError)) {
            store.close();
            throw e;
          }
          const err = new MyceliumError(e.code, `entry ${i + 1} of ${stored.log.length} in the stored log of '${name}': ${e.reason}`);
          if (!init.recover || e.code === 'schema_mismatch') {
            store.close();
            throw err;
          }
          issues.push({ what: `log entry ${i + 1}`, error: err });
        }
      });
      return store;
    };
    // Where the engine may compute wrongly (verified-load.ts), a trap while
    // the log is replayed leaves a state that is not to be trusted, and a
    // load the engine refused as `corrupt` may be the engine's fault, not the
    // data's (the fault can strike two loads in a row, before the background
    // compilation finishes): the store is built again from the start after
    // each of LATER_PAUSES_MS, then the error is the data's.
    const build = async (schema: Schema, storeInit: StoreInit): Promise<Store> => {
      const verify = storeInit.verifyLoads ?? onJavaScriptCore();
      const reported = issues.length;
      for (let n = 0; ; n++) {
        try {
          return buildOnce(schema, storeInit);
        } catch (e) {
          const maybeTheEngine = !(e instanceof MyceliumError) || e.code === 'corrupt';
          if (!verify || !maybeTheEngine || n === LATER_PAUSES_MS.length) throw e;
          issues.length = reported;
          await new Promise((r) => setTimeout(r, LATER_PAUSES_MS[n]));
        }
      }
    };

    let store: Store;
    let migrated = false;
    if (changes.length > 0 && meta) {
      // Read the old data under its own schema, write it anew under the new
      // one, deterministically: the same old state and the same migration
      // give byte-identical new state on every device, so devices that
      // migrate independently join as duplicates (no doubled counters, no
      // resurrected deletes). The writes are made by an actor derived from
      // the old state's version and the new schema, with a clock that
      // starts at 0, in schema order and id order; then this tab's store
      // opens from that state under an actor of its own.
      const old = await build(meta.schema, { schema: meta.schema, now: init.now, verifyLoads: init.verifyLoads });
      const migrator = migrationActor(old.version(), hash);
      // One run of the migration, as a canonical snapshot: two runs that do
      // not give the same bytes mean migrate() is not a pure function.
      const run = (): Uint8Array => {
        const scratch = new Store(engine, { schema: init.schema, name, actor: migrator, now: () => 0 });
        try {
          for (const c of Object.keys(init.schema)) {
            if (!meta.schema[c]) continue;
            const target = scratch.collection(c);
            for (const record of old.collection(c).all()) {
              const next = init.migrate!(c, record);
              if (next) target.insert({ ...next, id: record.id });
            }
          }
          return scratch.save();
        } finally {
          scratch.close();
        }
      };
      let state: Uint8Array;
      try {
        state = run();
        const again = run();
        if (!sameBytes(state, again)) {
          throw new MyceliumError('invalid_argument', 'migrate() gave different data on two runs over the same records: a migration must be a pure function of the record, so every device writes the same');
        }
      } catch (e) {
        throw e instanceof MyceliumError ? e : new MyceliumError('invalid_argument', `migrate() failed: ${String(e)}`);
      } finally {
        old.close();
      }
      store = new Store(engine, { ...init, actor, name, snapshot: state });
      migrated = true;
    } else {
      store = await build(init.schema, { ...init, actor });
    }

    const p = new Persister(store, adapter, ownsAdapter, channel, init, lease, {
      logBytes: stored.log.reduce((n, b) => n + b.length, 0),
      snapshotBytes: stored.snapshot ? stored.snapshot.length : 0,
    });
    // An earlier session's actor that wrote nothing needs no signing later.
    for (const a of Object.keys(actors)) if (a !== access?.actor && (store.version()[a] ?? 0) === 0) delete actors[a];
    if (migrated) {
      // The new snapshot replaces the old data and schema in one write.
      await p.compactNow(metaNow());
    } else if (!meta || meta.schemaHash !== hash || (access && !shared)) {
      // (A protected store's: its actor of this session is recorded before it
      // writes. Not on a shared log: other processes rewrite the record too;
      // what a process writes there is signed before it is stored.)
      await adapter.setMeta(name, metaNow());
    }
    if (access) {
      const provenance = access.provenance;
      provenance.attach(store);
      const keptBatches = await adapter.load(batchStoreName(name));
      const context = `the stored batches of '${name}'`;
      // An encrypted store's batches read back through its epoch keys (unwrapped from the log first).
      await access.keysReady();
      await provenance.restore([keptBatches.snapshot, ...keptBatches.log].flatMap((b) => (b ? provenance.read(b, context) : [])));
      for (const [a, { p: principal, n }] of Object.entries(actors)) {
        const nonce = fromBase64Url(n);
        if (principal === access.principal && nonce?.length === 8) provenance.sealEarlier(a, nonce);
      }
      p.keepBatches(provenance, keptBatches.log.length);
    }
    if (access && shared) {
      // On a shared log, membership is a log of its own, and what other processes append is read.
      shared.attach(access, store.actor, (e) => store.reportError(e));
    } else if (access) {
      // Each change of membership rewrites the meta record, one write at a time.
      let writing: Promise<void> = Promise.resolve();
      // A failed write fails its change (add() rejects); the next one writes the whole log again.
      access.persistWith(() => (writing = writing.catch(() => undefined).then(() => adapter.setMeta(name, metaNow()))));
    }
    store.attachPersistence(p, issues);
    persister = p;
    for (const m of early.splice(0)) p.received(m);
    p.stopWatch = unwatch;
    return store as unknown as Store<S>;
  } catch (e) {
    unwatch();
    channel?.close();
    lease?.release();
    if (ownsAdapter) adapter.close();
    throw e;
  }
}
