// Store: one replica in this page. Owns a handle into the WebAssembly engine;
// every call crosses the boundary once with its bytes (cpp/replica.h).
import type { Value } from './bytes.js';
import { ByteReader, ByteWriter, sameBytes } from './bytes.js';
import { Collection, Op } from './collection.js';
import type { CreditEntry } from './collection.js';
import type { UndoOptions } from './undo.js';
import { UndoManager } from './undo.js';
import type { ElementId } from './cursor.js';
import type { Change } from './changes.js';
import { ChangeQueue, SpliceLog } from './changes.js';
import type { CoreIo } from './core-io.js';
import { ioOf, SyncFrames } from './core-io.js';
import { EngineCode, engineError, MyceliumError } from './errors.js';
import type { CoreModule } from './generated/mycelium-core.mjs';
import type { Engine } from './loader.js';
import type { CollectionInfo, Fields, Schema } from './schema.js';
import { SchemaInfo } from './schema.js';
import { Transaction } from './transaction.js';
import type { LoadAttempt } from './verified-load.js';
import { agreedApply, agreedBytes, agreedBytesLater, onJavaScriptCore, verifiedLoad, verifiedSave } from './verified-load.js';
import { Sync } from './sync/facade.js';
import type { SyncOptions } from './sync/store-sync.js';
import type { StoreAccess } from './access/access.js';
import type { SyncApplyResult } from './sync/synced-store.js';
import type { CreditRequest } from './sync/wire.js';
import type { NetworkAdapter } from './sync/transport.js';
import type { Version } from './version.js';
import { actorHex, decodeVersion, encodeVersion, parseActor, randomActor, readActor, writeActor } from './version.js';

/** What applyDelta did: joined it, held it until the deltas before it arrive, or had it all already. */
export type ApplyResult = 'applied' | 'pending' | 'covered';
const OUTCOMES: readonly ApplyResult[] = ['applied', 'pending', 'covered'];

/** How applyDelta() treats a peer's bytes. */
export interface ApplyOptions {
  /** Most actors one delta may add to the store (default 1,024; 0: no limit). */
  readonly maxNewActors?: number;
}
const DEFAULT_MAX_NEW_ACTORS = 1024;

function maxNewActors(options: ApplyOptions): number {
  const max = options.maxNewActors ?? DEFAULT_MAX_NEW_ACTORS;
  if (!Number.isInteger(max) || max < 0 || max > 0x7fffffff) throw new MyceliumError('invalid_argument', 'maxNewActors is a whole number >= 0');
  return max;
}

// The safety net: a store the app forgot to close frees its engine memory
// when it is collected.
const registry = new FinalizationRegistry<{ core: CoreModule; handle: number }>(({ core, handle }) => core.close(handle));

export interface StoreInit {
  readonly schema: Schema;
  readonly name?: string;
  readonly actor?: string;
  readonly now?: () => number;
  readonly snapshot?: Uint8Array;
  /** Check a snapshot's load by saving it again (verified-load.ts). Default: only on JavaScriptCore. */
  readonly verifyLoads?: boolean;
}

/** Something that open({ recover: true }) skipped because it could not be read. */
export interface RecoveryIssue {
  /** 'snapshot' or 'log entry N'. */
  readonly what: string;
  readonly error: MyceliumError;
}

/** @internal What persistence (persistence.ts) hears from its store. */
export interface PersistenceHooks {
  /** The state changed (a local write or a joined delta). */
  changed(): void;
  /** Resolves when every change so far is durable. */
  flush(): Promise<void>;
  /** The store is closing: last chance to read its state. */
  closing(): void;
  /** What storage holds for sure. */
  durable(): Version;
}

type CollectionsOf<S extends Schema> = { [N in keyof S & string]: Collection<S[N]> };

export class Store<S extends Schema = Schema> {
  /** The store's name (the app's; used by persistence and sync). */
  readonly name: string;
  /** This replica's actor: 16 lowercase hex digits. */
  readonly actor: string;
  readonly schema: S;

  readonly #io: CoreIo;
  readonly #frames: SyncFrames;
  readonly #core: CoreModule;
  readonly #info: SchemaInfo;
  readonly #now: () => number;
  readonly #batch = new ByteWriter(256);
  #batching = false; // the shared batch buffer is in use (an update() callback may write again)
  readonly #scratch = new ByteWriter(256);
  readonly #changes: ChangeQueue;
  readonly #collections = new Map<string, Collection<Fields>>();
  readonly #errorListeners = new Set<(error: MyceliumError) => void>();
  #persistence: PersistenceHooks | null = null;
  #access: StoreAccess | null = null;
  readonly #watchers = new Set<() => void>();
  readonly #creditAsks = new Set<(request: CreditRequest) => number>();
  readonly #syncs = new Set<Sync>();
  /** The engine's version bytes last decoded, and what they decoded to (version()). */
  #versionBytes: Uint8Array | null = null;
  #versionDecoded: Version = {};
  #recovered: readonly RecoveryIssue[] = [];
  #handle: number;
  readonly #verify: boolean;
  /** The open transact(), or null. */
  #tx: Transaction | null = null;

  /** @internal Use open(). */
  constructor(engine: Engine, init: StoreInit) {
    this.#core = engine.core;
    this.#io = ioOf(engine.core);
    this.#frames = new SyncFrames(this.#io);
    this.#info = new SchemaInfo(init.schema);
    this.schema = init.schema as S;
    this.name = init.name ?? 'default';
    this.#now = init.now ?? Date.now;
    this.#changes = new ChangeQueue(this.#info);
    const snapshot = init.snapshot;
    if (snapshot !== undefined && !(snapshot instanceof Uint8Array)) {
      throw new MyceliumError('invalid_argument', 'a snapshot is a Uint8Array');
    }
    // DESIGN.md: zero-length input is never a valid delta or snapshot.
    if (snapshot?.length === 0) throw new MyceliumError('corrupt', 'an empty snapshot: zero bytes are never a snapshot');
    this.#verify = init.verifyLoads ?? onJavaScriptCore();
    const input = this.#openInput(init.actor ?? randomActor(), snapshot).slice();
    const openOnce = (): number => this.#io.check(this.#core.open(this.#io.send(input)));
    const h = snapshot && this.#verify ? verifiedLoad(snapshot, this.#attempts(openOnce)) : openOnce();
    this.#handle = h;
    this.actor = actorHex(this.#core.actorHi(h), this.#core.actorLo(h));
    registry.register(this, { core: this.#core, handle: h }, this);
  }

  /** The engine's open() input: schema, actor, snapshot (cpp/replica.h). */
  #openInput(actor: string, snapshot: Uint8Array | undefined): Uint8Array {
    const w = this.#scratch.reset();
    this.#info.encode(w);
    const { hi, lo } = parseActor(actor);
    w.fixed64(lo, hi);
    w.varint(snapshot ? snapshot.length : 0);
    if (snapshot) w.raw(snapshot);
    return w.bytes();
  }

  #attempts(open: () => number): LoadAttempt {
    return {
      open,
      save: (handle) => this.#io.out(this.#io.check(this.#core.save(handle))),
      close: (handle) => this.#core.close(handle),
    };
  }

  /**
   * @internal save() for storage. A store that verifies loads also checks
   * what it writes: the snapshot is loaded back in a scratch replica and must
   * save to the same bytes (verified-load.ts), so a state computed wrongly
   * is never persisted.
   */
  saveForStorage(): Uint8Array {
    if (!this.#verify) return this.save();
    return verifiedSave(
      () => this.save(),
      (bytes) => {
        const input = this.#openInput(randomActor(), bytes);
        return this.#attempts(() => this.#io.check(this.#core.open(this.#io.send(input))));
      },
    );
  }

  /** @internal Whether this store checks what it loads and stores (verified-load.ts). */
  get verifies(): boolean {
    return this.#verify;
  }

  /** @internal deltaSince() for storage (a log entry), checked like saveForStorage(). */
  deltaForStorage(since: Version): Uint8Array {
    return this.#verify ? agreedBytes(() => this.deltaSince(since)) : this.deltaSince(since);
  }

  /** @internal deltaForStorage() where the caller can wait (a flush): when the computations disagree, computed again after pauses. */
  deltaForStorageLater(since: Version): Promise<Uint8Array> {
    return this.#verify ? agreedBytesLater(() => this.deltaSince(since)) : Promise.resolve(this.deltaSince(since));
  }

  /** @internal applyOwn() of a stored log entry, checked like a snapshot's load. */
  applyStored(entry: Uint8Array): ApplyResult {
    return this.#verify ? agreedApply(entry, (bytes) => this.applyOwn(bytes)) : this.applyOwn(entry);
  }

  #h(): number {
    if (this.#handle < 0) throw new MyceliumError('closed', `store '${this.name}' is closed`);
    return this.#handle;
  }

  /** A collection of the schema. */
  collection<N extends keyof S & string>(name: N): Collection<S[N]> {
    let c = this.#collections.get(name);
    if (!c) {
      c = new Collection<Fields>(this, this.#info.collection(name));
      this.#collections.set(name, c);
    }
    return c as unknown as Collection<S[N]>;
  }

  /**
   * Undo and redo of this replica's own changes (docs/undo.md): an undo
   * writes the inverse of a captured step as new local writes, which sync
   * like any other.
   */
  undoManager(options: UndoOptions = {}): UndoManager {
    this.#h();
    const info = this.#info;
    const manager = new UndoManager(
      {
        collectionNames: info.collections.map((c) => c.name),
        collection: (name) => this.collection(name as keyof S & string) as unknown as Collection<Fields>,
        fieldsOf: (name) => info.collection(name).fields,
      },
      options,
    );
    this.#undoManagers.add(manager);
    return manager;
  }

  readonly #undoManagers = new Set<UndoManager>();

  /** Every collection by name. */
  get collections(): CollectionsOf<S> {
    const out: Record<string, Collection<Fields>> = {};
    for (const c of this.#info.collections) out[c.name] = this.collection(c.name as keyof S & string) as unknown as Collection<Fields>;
    return out as unknown as CollectionsOf<S>;
  }

  /** @internal The engine's codec of sync frames (SyncedStore). */
  get frames(): SyncFrames {
    return this.#frames;
  }

  /** The causal context: actor -> highest seq this replica has seen. */
  version(): Version {
    const h = this.#h();
    const bytes = this.#io.out(this.#core.version(h));
    // The sync layer asks many times per message, mostly for the same
    // version: decoded once, then copied (callers may keep or change theirs).
    const last = this.#versionBytes;
    if (last === null || !sameBytes(last, bytes)) {
      this.#versionDecoded = decodeVersion(bytes);
      this.#versionBytes = bytes.slice();
    }
    return { ...this.#versionDecoded };
  }

  /**
   * Everything this replica has that `since` does not cover, as one delta
   * (compressed when that pays). A persisted store reuses its actor after a
   * reload: await flush() before these bytes leave the device, or a crash
   * could write other content under seqs they carry.
   */
  deltaSince(since: Version = {}): Uint8Array {
    return this.#deltaSince(since, false);
  }

  /**
   * @internal deltaSince() without its context (cpp/delta.h, detached): for
   * a sync message that carries this replica's version() beside it.
   */
  detachedDeltaSince(since: Version): Uint8Array {
    return this.#deltaSince(since, true);
  }

  #deltaSince(since: Version, detached: boolean): Uint8Array {
    const h = this.#h();
    const w = this.#scratch.reset();
    encodeVersion(since, w);
    if (detached) w.u8(1);
    const n = this.#io.check(this.#core.deltaSince(h, this.#io.send(w.bytes())));
    return this.#io.out(n).slice();
  }

  /**
   * Joins a delta (or a snapshot) from another replica. Throws MyceliumError
   * for bytes it cannot accept, and then the store is unchanged: `corrupt`
   * also for a delta claiming writes of this replica's own actor that it
   * never made, `limit_exceeded` for one that adds more than `maxNewActors`
   * actors (default 1,024; 0 for no limit).
   */
  applyDelta(bytes: Uint8Array, options: ApplyOptions = {}): ApplyResult {
    return this.#apply(bytes, maxNewActors(options), null) as ApplyResult;
  }

  /**
   * @internal A detached delta (detachedDeltaSince) with the version it was
   * sent with; 'full' when the queue of held deltas has no room for it.
   */
  applyDetached(bytes: Uint8Array, context: Version, options: ApplyOptions = {}): SyncApplyResult {
    const w = this.#scratch.reset();
    encodeVersion(context, w);
    return this.#apply(bytes, maxNewActors(options), w.bytes(), true);
  }

  /**
   * @internal A signed batch's delta (docs/identity.md, Provenance): refused
   * as `corrupt` unless its events are exactly `actor`'s seqs first..last.
   */
  applyBatch(bytes: Uint8Array, author: { actor: string; first: number; last: number }, options: ApplyOptions = {}): SyncApplyResult {
    const w = this.#scratch.reset();
    writeActor(author.actor, w);
    w.varint(author.first);
    w.varint(author.last);
    return this.#apply(bytes, maxNewActors(options), null, true, w.bytes());
  }

  /**
   * @internal Bytes this replica wrote itself (its storage, a tab holding the
   * same store): not checked against its own actor, no actor limit.
   */
  applyOwn(bytes: Uint8Array): ApplyResult {
    return this.#apply(bytes, -1, null) as ApplyResult;
  }

  /** 'full' only when `fullIsResult`; otherwise a full queue throws limit_exceeded like any other limit. */
  #apply(bytes: Uint8Array, maxNewActors: number, context: Uint8Array | null, fullIsResult = false, author: Uint8Array | null = null): SyncApplyResult {
    const h = this.#h();
    if (!(bytes instanceof Uint8Array)) throw new MyceliumError('invalid_argument', 'a delta is a Uint8Array');
    const held = this.#core.pending(h);
    // Changes are collected for subscribers and for the read caches.
    const capture = this.#changes.active || this.#caching();
    const n = this.#io.send(bytes, context ?? author ?? undefined);
    const raw = this.#core.apply(h, n, context?.length ?? 0, author?.length ?? 0, capture, maxNewActors);
    if (fullIsResult && raw === -EngineCode.PendingFull) return 'full';
    const r = this.#io.check(raw);
    if (capture && r === 0) this.#remoteChanges(h);
    if (held > 0 && r === 0) this.#reportDropped(h);
    if (r === 0) this.#changed();
    return OUTCOMES[r]!;
  }

  /** Deltas held until the ones they depend on arrive. */
  get pending(): number {
    return this.#core.pending(this.#h());
  }

  /** The whole state as a canonical snapshot: equal states give equal bytes. */
  save(): Uint8Array {
    const h = this.#h();
    return this.#io.out(this.#io.check(this.#core.save(h))).slice();
  }

  /**
   * Resolves when the changes made so far have been delivered to
   * subscribers and, for a persisted store, are durable (their storage
   * transaction has committed). Rejects with the storage error
   * (quota_exceeded, storage_failed) when a write failed; the changes stay
   * in memory and the next flush() tries again.
   */
  flush(): Promise<void> {
    this.#h();
    const delivered = this.#changes.flushed();
    return this.#persistence ? Promise.all([delivered, this.#persistence.flush()]).then(() => undefined) : delivered;
  }

  /**
   * Syncs this store with the peers an adapter finds (webrtc(), broadcastChannel(),
   * webSocket(), webSocketServer(), messagePort(), ...). Several stores can share one
   * adapter: they travel over the same connections. close() on the result, or on the
   * store, stops it.
   */
  connect(adapter: NetworkAdapter, options?: SyncOptions): Sync {
    this.#h();
    const sync: Sync = new Sync(this, adapter, options, () => this.#syncs.delete(sync));
    this.#syncs.add(sync);
    return sync;
  }

  /** Bytes of engine memory the store's state holds. */
  memoryBytes(): number {
    return this.#core.memory(this.#h());
  }

  /** Errors that happen outside a call: a held delta that turned out invalid when its turn came, a failed background write to storage. */
  onError(listener: (error: MyceliumError) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /**
   * Frees the engine memory. Further calls throw MyceliumError('closed'). A
   * persisted store hands its last unwritten changes to storage first; await
   * flush() before close() to know they are durable.
   */
  close(): void {
    if (this.#handle < 0) return;
    for (const sync of this.#syncs) sync.close();
    this.#access?.close();
    for (const c of this.#collections.values()) c.closeQueries();
    for (const m of this.#undoManagers) m.close();
    this.#undoManagers.clear();
    if (this.#persistence) this.#persistence.closing();
    registry.unregister(this);
    this.#core.close(this.#handle);
    this.#handle = -1;
    this.#changes.clear();
  }

  /** The same as close(). */
  dispose(): void {
    this.close();
  }

  get closed(): boolean {
    return this.#handle < 0;
  }

  // --- for Collection -----------------------------------------------------

  /**
   * A protected store's membership and this replica's identity
   * (open({ identity, access }), docs/identity.md); null for a store that is
   * not protected.
   */
  get access(): StoreAccess | null {
    return this.#access;
  }

  /** @internal open() protects the store; once. */
  attachAccess(access: StoreAccess): void {
    this.#access = access;
    access.provenance.attach(this);
  }

  /** @internal Starts a write batch: the clock, then ops; inside transact(), the transaction's batch. */
  beginBatch(): ByteWriter {
    this.#h();
    this.#mayWrite();
    if (this.#tx) {
      this.#tx.begin();
      return this.#tx.w;
    }
    const w = this.#writer();
    w.varint(this.#now());
    return w;
  }

  /** The shared batch buffer, or a fresh one while it is in use (a write inside an update() callback). */
  #writer(): ByteWriter {
    if (this.#batching) return new ByteWriter(64);
    this.#batching = true;
    return this.#batch.reset();
  }

  #mayWrite(): void {
    if (!this.#access) return;
    const role = this.#access.role();
    if (role !== 'writer' && role !== 'admin') throw new MyceliumError('forbidden', `store '${this.name}' is protected and ${this.#access.principal} is ${role === 'none' ? 'not a member' : `a ${role}`}: it may not write`);
  }

  /** @internal Every beginBatch() ends here, committed or not. */
  endBatch(w: ByteWriter): void {
    if (this.#tx && w === this.#tx.w) this.#tx.end();
    else if (w === this.#batch) this.#batching = false;
  }

  /** @internal */
  op(w: ByteWriter, op: Op, c: CollectionInfo, field: number, id: string): void {
    w.u8(op);
    w.varint(c.index);
    if (op !== Op.Insert && op !== Op.Delete) w.u8(field);
    w.string(id);
  }

  /** @internal Runs a batch: all of it, or (for a bad op) none of it. Inside transact(), keeps its ops for the transaction's commit. */
  commit(w: ByteWriter): void {
    if (this.#tx && w === this.#tx.w) {
      this.#tx.keep();
      return;
    }
    this.#io.check(this.#core._myc_write(this.#handle, this.#io.send(w.bytes())));
    this.#changed();
  }

  /** @internal What a write does once its batch has run: now, or inside transact() after the transaction commits (`once`: only the first with that key). */
  after(run: () => void, once?: string): void {
    if (this.#tx) this.#tx.after(run, once);
    else run();
  }

  /** @internal True inside transact(). */
  get transacting(): boolean {
    return this.#tx !== null;
  }

  /** @internal Inside transact(): the record's visibility as the transaction's writes leave it, undefined when it wrote none to it (or outside one). */
  pendingVisible(c: CollectionInfo, id: string): boolean | undefined {
    return this.#tx?.visible(c, id);
  }

  /** @internal Inside transact(): a write call kept ops on the record, which is `visible` after them. */
  wrote(c: CollectionInfo, id: string, visible: boolean): void {
    this.#tx?.wrote(c, id, visible);
  }

  /** @internal Inside transact(): what its ops so far add to a credit field's value (0 outside one). */
  pendingCredit(c: CollectionInfo, id: string, field: number): number {
    return this.#tx ? this.#tx.credit(c, id, field) : 0;
  }

  /** @internal Inside transact(): an op adds `by` to a credit field's value. */
  credited(c: CollectionInfo, id: string, field: number, by: number): void {
    this.#tx?.credited(c, id, field, by);
  }

  /**
   * Runs `fn` and commits every write it makes on this store's collections
   * as one batch, crossing into the engine once (docs/transactions.md).
   * All or nothing: when `fn` throws, or the engine refuses the batch at
   * commit (an insert of an id that exists, a write to a record deleted
   * earlier in the batch, credit this replica lacks, an index past a list's
   * end), nothing is written and transact() throws that error. A write call
   * inside `fn` that throws leaves nothing of itself in the batch, so `fn`
   * may catch it and go on. Reads inside `fn` see the store as it was before
   * the transaction; its writes appear together, to reads, change listeners,
   * persistence and sync, when it commits. `fn` is synchronous (a promise
   * is refused, and nothing written). A transact() inside another joins it.
   * Returns what `fn` returns.
   */
  transact<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw new MyceliumError('invalid_argument', 'transact takes a function');
    if (this.#tx) return fn();
    this.#h();
    this.#mayWrite();
    const w = this.#writer();
    w.varint(this.#now());
    const tx = new Transaction(w, w.pos);
    this.#tx = tx;
    try {
      const result = fn();
      if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as { then?: unknown }).then === 'function') {
        throw new MyceliumError('invalid_argument', 'transact takes a synchronous function (it returned a promise): writes after an await would fall outside the transaction; nothing was written');
      }
      this.#tx = null;
      if (!tx.empty) {
        this.#io.check(this.#core._myc_write(this.#h(), this.#io.send(w.bytes())));
        this.#changed();
        // Undo managers make the transaction one step.
        let settle = (): void => tx.settle();
        for (const m of this.#undoManagers) {
          const inner = settle;
          settle = () => m.grouped(inner);
        }
        settle();
      }
      return result;
    } finally {
      this.#tx = null;
      if (w === this.#batch) this.#batching = false;
    }
  }

  #changed(): void {
    if (this.#persistence) this.#persistence.changed();
    for (const w of this.#watchers) w();
  }

  /**
   * @internal What sync may send of this replica's own writes: for a persisted
   * store only what storage holds (DESIGN.md, Persistence: a delta leaves the
   * replica only after the batch holding it has committed); null when not persisted.
   */
  durableVersion(): Version | null {
    return this.#persistence ? this.#persistence.durable() : null;
  }

  /** @internal Persistence calls this after each committed write. */
  committed(): void {
    for (const w of this.#watchers) w();
  }

  /** @internal Calls `listener` after every change of state (a write, a joined delta) and every commit to storage. */
  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /** @internal Connects persistence; one per store. */
  attachPersistence(hooks: PersistenceHooks, recovered: readonly RecoveryIssue[]): void {
    this.#persistence = hooks;
    this.#recovered = recovered;
  }

  /** True when the store keeps its data in a storage adapter (open({ persist })). */
  get persisted(): boolean {
    return this.#persistence !== null;
  }

  /** What open({ recover: true }) skipped as unreadable ([] when nothing was). */
  get recovered(): readonly RecoveryIssue[] {
    return this.#recovered;
  }

  /** @internal Reports an error that no call can throw (a failed background write). */
  reportError(error: MyceliumError): void {
    for (const l of this.#errorListeners) l(error);
  }

  /** @internal */
  notify(c: CollectionInfo, id: string, fields: readonly string[], deleted: boolean, splices?: SpliceLog): void {
    if (!this.#changes.active) return;
    const bySplice = splices?.result();
    this.#changes.push(c.index, bySplice ? { id, fields, deleted, origin: 'local', splices: bySplice } : { id, fields, deleted, origin: 'local' });
  }

  /** @internal */
  subscribe(c: CollectionInfo, listener: (changes: Change[]) => void): () => void {
    this.#h();
    return this.#changes.subscribe(c.index, listener);
  }

  /** @internal The record's bytes, or null when it is not visible. */
  read(c: CollectionInfo, id: string): ByteReader | null {
    const h = this.#h();
    const n = this.#io.check(this.#core._myc_get(h, c.index, this.#io.sendString(id, this.#scratch)));
    const r = new ByteReader(this.#io.out(n));
    return r.u8() === 1 ? r : null;
  }

  /** @internal Every visible record's id and one lww or counter field's value, sorted by value in query order, then id (a secondary index's first build). */
  sorted(c: CollectionInfo, field: number): ByteReader {
    const h = this.#h();
    return new ByteReader(this.#io.out(this.#io.check(this.#core.sorted(h, c.index, field))));
  }

  /** @internal Every visible record: count, then (id, record). */
  readAll(c: CollectionInfo): ByteReader {
    const h = this.#h();
    return new ByteReader(this.#io.out(this.#io.check(this.#core.all(h, c.index))));
  }

  /** @internal */
  cursor(c: CollectionInfo, field: number, id: string, index: number, before: boolean): ElementId | null {
    const h = this.#h();
    const w = this.#position(c, field, id, before);
    w.varint(index);
    const r = new ByteReader(this.#io.out(this.#io.check(this.#core.cursor(h, this.#io.send(w.bytes())))));
    if (r.u8() === 0) return null;
    const actor = readActor(r);
    return { actor, seq: r.varint() };
  }

  /** @internal */
  resolve(c: CollectionInfo, field: number, id: string, before: boolean, element: ElementId | null): number | null {
    const h = this.#h();
    const w = this.#position(c, field, id, before);
    w.u8(element ? 1 : 0);
    if (element) {
      writeActor(element.actor, w);
      w.varint(element.seq);
    }
    const r = this.#core.resolve(h, this.#io.send(w.bytes()));
    if (r === -EngineCode.NotFound) return null;
    return this.#io.check(r);
  }

  /** The input naming a list or text field of a record for cursor() and resolve() (cpp/replica.h). */
  #position(c: CollectionInfo, field: number, id: string, before: boolean): ByteWriter {
    const w = this.#scratch.reset();
    w.varint(c.index);
    w.u8(field);
    w.string(id);
    w.u8(before ? 1 : 0);
    return w;
  }

  /** @internal The credit rights `actor` (null: this replica) holds, as this replica sees them. */
  rights(c: CollectionInfo, field: number, id: string, actor: string | null): number {
    const h = this.#h();
    const w = this.#scratch.reset();
    w.varint(c.index);
    w.u8(field);
    w.string(id);
    if (actor === null) w.fixed64(0, 0);
    else writeActor(actor, w);
    return this.#io.check(this.#core.rights(h, this.#io.send(w.bytes())));
  }

  /** @internal A credit field's entries (cpp/replica.h, credit_entries), with the principal that signed each actor's writes in a protected store. */
  creditEntries(c: CollectionInfo, field: number, id: string): CreditEntry[] {
    const h = this.#h();
    const w = this.#scratch.reset();
    w.varint(c.index);
    w.u8(field);
    w.string(id);
    const r = new ByteReader(this.#io.out(this.#io.check(this.#core.creditEntries(h, this.#io.send(w.bytes())))));
    const out: CreditEntry[] = [];
    for (let n = r.varint(); n > 0; n--) {
      const actor = readActor(r);
      const component = r.u8();
      const to = component === 2 ? readActor(r) : null;
      out.push({ actor, component: component === 0 ? 'added' : component === 1 ? 'spent' : 'given', to, total: r.varint() });
    }
    return out;
  }

  /** @internal This replica's actor (for collections). */
  actorOfReplica(): string {
    return this.actor;
  }

  /** @internal The principal whose key signs `actor`'s writes: null for a store without access, or an actor no batch of which is held. */
  principalOf(actor: string): string | null {
    return this.#access?.principalOf(actor) ?? null;
  }

  /** @internal Asks every connected peer that takes credit requests for `amount` rights (docs/credit.md); how many were asked. */
  requestCredit(c: CollectionInfo, field: number, id: string, amount: number): number {
    this.#h();
    const request: CreditRequest = { collection: c.name, id, field: c.fields[field]!.name, amount, actor: this.actor };
    let asked = 0;
    for (const l of this.#creditAsks) asked += l(request);
    return asked;
  }

  /** @internal Sync hears this replica's requests for credit rights. */
  onCreditNeeded(listener: (request: CreditRequest) => number): () => void {
    this.#creditAsks.add(listener);
    return () => this.#creditAsks.delete(listener);
  }

  /**
   * @internal A peer asks for credit rights (docs/credit.md, Rights move
   * where they are needed): gives what is asked when this replica holds
   * that much, else half of what it holds (rounded up), as a transfer — an
   * ordinary write that syncs. In a protected store, `peer` is the
   * session's authenticated principal: it must be a member that may write,
   * and an actor whose writes another principal signed is refused.
   * Returns how many it gave; a request it cannot or may not answer gives 0.
   */
  grantCredit(request: CreditRequest, peer: string | null = null): number {
    if (this.#handle < 0) return 0;
    const c = this.#info.byName.get(request.collection);
    const f = c?.byName.get(request.field);
    if (!c || !f || f.kind !== 'credit' || request.actor === this.actor || !Number.isSafeInteger(request.amount) || request.amount < 1) return 0;
    if (this.#access) {
      if (peer === null || !['writer', 'admin'].includes(this.#access.role(peer))) return 0;
      const signer = this.#access.principalOf(request.actor);
      if (signer !== null && signer !== peer) return 0;
    }
    const records = this.collection(c.name as keyof S & string) as unknown as Collection<Fields>;
    if (!records.has(request.id)) return 0;
    const held = records.rights(request.id, f.name);
    const give = held >= request.amount ? request.amount : Math.ceil(held / 2);
    if (give < 1) return 0;
    try {
      records.update(request.id, (r) => r.transfer(f.name, give, request.actor));
    } catch (e) {
      // This replica may not write (a reader, a removed member).
      if (e instanceof MyceliumError && (e.code === 'forbidden' || e.code === 'insufficient_credit')) return 0;
      throw e;
    }
    return give;
  }

  /** @internal */
  count(c: CollectionInfo): number {
    return this.#io.check(this.#core.count(this.#h(), c.index));
  }

  /** True when a collection caches reads: every change must reach it. */
  #caching(): boolean {
    for (const c of this.#collections.values()) if (c.caching) return true;
    return false;
  }

  #remoteChanges(h: number): void {
    const r = new ByteReader(this.#io.out(this.#core.changes(h)));
    const n = r.varint();
    const batch: { c: CollectionInfo; id: string; fields: string[]; presence: boolean }[] = [];
    for (let i = 0; i < n; i++) {
      const c = this.#info.collections[r.varint()]!;
      const id = r.string();
      const k = r.varint();
      const fields: string[] = [];
      let presence = false;
      for (let j = 0; j < k; j++) {
        const f = r.u8();
        if (f === 255) presence = true;
        else fields.push(c.fields[f]!.name);
      }
      batch.push({ c, id, fields, presence });
    }
    for (const { c, id } of batch) this.#collections.get(c.name)?.invalidate(id);
    if (!this.#changes.active) return;
    // Then what changed in lists and texts, as splices (cpp/replica.h, Changes).
    const groups = r.varint();
    const splices = new Map<string, SpliceLog>();
    for (let i = 0; i < groups; i++) {
      const c = this.#info.collections[r.varint()]!;
      const id = r.string();
      const f = c.fields[r.u8()]!;
      const key = `${c.index}:${id}`;
      let log = splices.get(key);
      if (!log) splices.set(key, (log = new SpliceLog()));
      for (let k = r.varint(); k > 0; k--) {
        const index = r.varint();
        const deleted = r.varint();
        let inserted: string | Value[];
        if (f.kind === 'text') inserted = r.string();
        else {
          inserted = new Array<Value>(r.varint());
          for (let v = 0; v < inserted.length; v++) inserted[v] = r.value();
          Object.freeze(inserted);
        }
        log.add(f.name, { index, deleted, inserted });
      }
    }
    for (const { c, id, fields, presence } of batch) {
      const deleted = presence && this.read(c, id) === null;
      const bySplice = splices.get(`${c.index}:${id}`)?.result();
      this.#changes.push(c.index, bySplice ? { id, fields, deleted, origin: 'remote', splices: bySplice } : { id, fields, deleted, origin: 'remote' });
    }
  }

  #reportDropped(h: number): void {
    const r = new ByteReader(this.#io.out(this.#core.dropped(h)));
    const n = r.varint();
    const errors: MyceliumError[] = [];
    for (let i = 0; i < n; i++) {
      const code = r.u8();
      errors.push(engineError(code, `a held delta was dropped: ${r.string()}`));
    }
    for (const e of errors) for (const l of this.#errorListeners) l(e);
  }
}

