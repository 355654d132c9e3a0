// Provenance for a protected store (docs/identity.md, Provenance): signed
// batches. A batch is one actor's run of events, seqs first..last, as the
// delta of those events against everything else its replica held, signed by
// the actor's key. The actor is derived from that key (actorOf), so no one
// else can sign for it; the engine joins a batch only if its events are
// exactly first..last of that actor (ApplyLimits::author), so a signature
// vouches for every event a batch adds and a batch can add nothing else:
// no one can forge another member's event, alter one in transit, or claim an
// actor's seqs without carrying them. Replicas keep the batches they joined
// and forward them as they were signed.
//
// Record: header length:varint, header, signature (64 bytes), delta
// length:varint, delta. Header: format:u8 (1), actor:fixed64, first:varint,
// last:varint, principal (32 bytes), nonce (8 bytes), frontier count:varint
// and the membership operations' hashes (16 bytes each), SHA-256 of the
// delta (32 bytes). Signed: "myc-batch-1" 0 store-id 0 header 0.
//
// An encrypted store's batches (docs/identity.md, Encryption) are format 2:
// the header names the epoch (16 bytes, before the digest) and the delta is
// AES-GCM ciphertext under that epoch's key (box.ts sealDelta). The digest
// and the signature are over the ciphertext, so whoever cannot decrypt
// (a relay) still checks them; a member decrypts only what verified.
import { ByteWriter } from '../bytes.js';
import { openDelta, sealDelta } from './box.js';
import { MyceliumError } from '../errors.js';
import { PeerReader } from '../peer-reader.js';
import type { Version } from '../version.js';
import { readActor, writeActor } from '../version.js';
import type { Identity } from './keys.js';
import { fromBase64Url, sha256, signingInput, toBase64Url, verify } from './keys.js';
import type { Role } from './membership.js';

const FORMAT = 1;
const FORMAT_SEALED = 2;
/** Most membership heads a batch names. */
const MAX_FRONTIER = 64;
/** Most batches one message carries. */
export const MAX_BATCHES_PER_MESSAGE = 65536;

export interface Batch {
  readonly actor: string;
  readonly first: number;
  readonly last: number;
  /** The signer: the actor's key. */
  readonly principal: string;
  /** With the principal, derives the actor (actorOf). */
  readonly nonce: Uint8Array;
  /** The membership heads the author held (its causal point in the membership). */
  readonly frontier: readonly string[];
  /** An encrypted batch's epoch (16 bytes, base64url), or null. */
  readonly epoch: string | null;
  /** The events as sent: an engine delta, or its ciphertext when `epoch` is set. */
  readonly delta: Uint8Array;
  /** The whole record, as signed and sent. */
  readonly record: Uint8Array;
  /** The signed header, its signature and the delta's digest (for verification). */
  readonly header: Uint8Array;
  readonly signature: Uint8Array;
  readonly digest: Uint8Array;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The actor a key signs as: the first 8 bytes of SHA-256("myc-actor-1", principal, nonce), as 16 hex digits. */
export async function actorOf(principal: string, nonce: Uint8Array): Promise<string> {
  const key = fromBase64Url(principal);
  if (!key || key.length !== 32 || nonce.length !== 8) throw new MyceliumError('invalid_argument', 'an actor derives from a principal and an 8-byte nonce');
  return hex((await sha256(signingInput('myc-actor-1', key, nonce))).subarray(0, 8));
}

/** A fresh nonce and the actor it derives for `principal`. */
export async function freshActor(principal: string): Promise<{ actor: string; nonce: Uint8Array }> {
  for (;;) {
    const nonce = crypto.getRandomValues(new Uint8Array(8));
    const actor = await actorOf(principal, nonce);
    if (actor !== '0000000000000000') return { actor, nonce };
  }
}

function input(storeId: string, header: Uint8Array): Uint8Array {
  return signingInput('myc-batch-1', storeId, header);
}

/** Signs a batch of `identity`'s actor. */
export async function signBatch(
  storeId: string,
  identity: Identity,
  fields: { actor: string; nonce: Uint8Array; first: number; last: number; frontier: readonly string[]; epoch?: string | null; delta: Uint8Array },
): Promise<Batch> {
  const digest = await sha256(fields.delta);
  const epoch = fields.epoch ?? null;
  const w = new ByteWriter(144 + fields.frontier.length * 16);
  w.u8(epoch === null ? FORMAT : FORMAT_SEALED);
  writeActor(fields.actor, w);
  w.varint(fields.first);
  w.varint(fields.last);
  w.raw(fromBase64Url(identity.principal)!);
  w.raw(fields.nonce);
  const frontier = fields.frontier.slice(0, MAX_FRONTIER);
  w.varint(frontier.length);
  for (const h of frontier) w.raw(fromBase64Url(h)!);
  if (epoch !== null) w.raw(fromBase64Url(epoch)!);
  w.raw(digest);
  const header = w.bytes().slice();
  const signature = await identity.sign(input(storeId, header));
  const r = new ByteWriter(header.length + fields.delta.length + 80);
  r.varint(header.length);
  r.raw(header);
  r.raw(signature);
  r.varint(fields.delta.length);
  r.raw(fields.delta);
  const record = r.bytes().slice();
  return { ...fields, frontier, epoch, principal: identity.principal, record, header, signature, digest };
}

/** Reads one record (not yet verified: verifyBatch). */
function readRecord(r: PeerReader): Batch {
  const start = r.pos;
  const headerLength = r.varint('batch header length');
  if (headerLength > 80 + 16 * MAX_FRONTIER + 32) throw new MyceliumError('corrupt', `${r.context}: a batch header of ${headerLength} bytes`);
  const header = r.raw(headerLength, 'batch header');
  const signature = r.raw(64, 'batch signature');
  const delta = r.raw(r.varint('batch delta length'), 'batch delta');
  const record = r.buf.subarray(start, r.pos);
  const h = new PeerReader(header, r.context);
  const format = h.u8('batch format');
  if (format !== FORMAT && format !== FORMAT_SEALED) throw new MyceliumError('unsupported_version', `${r.context}: a batch in format ${format}; this version reads formats ${FORMAT} and ${FORMAT_SEALED}`);
  const actor = readActor(h);
  const first = h.varint('first seq');
  const last = h.varint('last seq');
  if (first < 1 || last < first || last > 0xffffffff) throw new MyceliumError('corrupt', `${r.context}: a batch of seqs ${first}..${last}`);
  const principal = toBase64Url(h.raw(32, 'batch principal'));
  const nonce = h.raw(8, 'batch nonce');
  const count = h.varint('frontier count');
  if (count > MAX_FRONTIER) throw new MyceliumError('corrupt', `${r.context}: a batch names ${count} membership heads; at most ${MAX_FRONTIER}`);
  const frontier: string[] = [];
  for (let i = 0; i < count; i++) frontier.push(toBase64Url(h.raw(16, 'frontier hash')));
  const epoch = format === FORMAT_SEALED ? toBase64Url(h.raw(16, 'batch epoch')) : null;
  const digest = h.raw(32, 'batch digest');
  h.end();
  return { actor, first, last, principal, nonce, frontier, epoch, delta, record, header, signature, digest };
}

/** Batches as one message's payload: count, then the records. */
export function encodeBatches(batches: readonly Batch[]): Uint8Array {
  const w = new ByteWriter(batches.reduce((n, b) => n + b.record.length, 8));
  w.varint(batches.length);
  for (const b of batches) w.raw(b.record);
  return w.bytes().slice();
}

/** A message's batches, read (each still to verify); `corrupt` naming `context` for anything malformed. */
export function decodeBatches(bytes: Uint8Array, context: string): Batch[] {
  const r = new PeerReader(bytes, context);
  const n = r.varint('batch count');
  if (n > MAX_BATCHES_PER_MESSAGE) throw new MyceliumError('limit_exceeded', `${context}: ${n} batches in one message; at most ${MAX_BATCHES_PER_MESSAGE}`);
  const out: Batch[] = [];
  for (let i = 0; i < n; i++) out.push(readRecord(r));
  r.end();
  return out;
}

/** Checks a batch's actor, digest and signature: null when it holds, else what is wrong. */
export async function verifyBatch(storeId: string, b: Batch): Promise<string | null> {
  if ((await actorOf(b.principal, b.nonce)) !== b.actor) return `actor ${b.actor} is not the actor of key ${b.principal}`;
  const digest = await sha256(b.delta);
  if (digest.length !== b.digest.length || digest.some((x, i) => x !== b.digest[i])) return `the events of actor ${b.actor} at seqs ${b.first}..${b.last} are not those its author signed`;
  if (!(await verify(b.principal, input(storeId, b.header), b.signature))) return `the signature on actor ${b.actor}'s seqs ${b.first}..${b.last} does not verify`;
  return null;
}

/** What an encrypted batch's ciphertext is bound to besides its key: its store, actor, seqs and epoch. */
function sealedInput(storeId: string, b: { actor: string; first: number; last: number }, epoch: string): Uint8Array {
  return signingInput('myc-batch-box-1', storeId, b.actor, String(b.first), String(b.last), epoch);
}

/** An encrypted store's keys, as provenance uses them (keyring.ts). */
export interface BatchCipher {
  /** The epoch to write under and its key; null while this replica holds no key to write under. */
  writeKey(): { epoch: string; key: CryptoKey } | null;
  readKey(epoch: string): CryptoKey | null;
  /** Is this replica a relay, which keeps and forwards batches it cannot open? */
  opaque(): boolean;
}

/** Most verified batches kept while their epoch's key has not arrived. */
const MAX_LOCKED = 1024;

/** What provenance needs of the store (store.ts). */
export interface BatchStore {
  readonly actor: string;
  readonly closed: boolean;
  version(): Version;
  deltaSince(since: Version): Uint8Array;
  applyBatch(bytes: Uint8Array, author: { actor: string; first: number; last: number }, options: { readonly maxNewActors?: number }): 'applied' | 'pending' | 'covered' | 'full';
}

/** What provenance needs of the membership (access.ts). */
export interface BatchMembership {
  heads(): string[];
  /** Does `later` name (or have in its past) every operation of `earlier`? */
  frontierCovers(later: readonly string[], earlier: readonly string[]): boolean;
  roleAt(principal: string, frontier: readonly string[]): Role | null;
  role(principal: string): Role;
}

/** How a peer's batches went: joined or held, and the first refusal (the rest of the message is not read). */
export interface Received {
  readonly joined: number;
  readonly error: MyceliumError | null;
}

/**
 * A protected store's batches: those it joined, in the order it joined
 * them (each one's base is covered by what precedes it), and its own, which
 * it signs when they are first sent (seal()).
 */
export class Provenance {
  readonly #log: Batch[] = [];
  /** Per actor, the positions of its batches in the log, in seq order. */
  readonly #byActor = new Map<string, number[]>();
  /** Verified batches the engine holds until what they depend on arrives. */
  #held: Batch[] = [];
  /** Verified batches whose epoch key this replica does not hold yet (unlock()). */
  #locked: Batch[] = [];
  /**
   * Actors one of whose encrypted batches verified but did not open or join:
   * their author signed something false. Their batches are dropped from then
   * on, without ending the session that brought them (a blind relay cannot
   * tell, and must not be cut off for what it forwarded).
   */
  readonly #refusedActors = new Set<string>();
  /** A relay's: verified batches it cannot open that wait for an actor's earlier seqs. */
  #gapped: Batch[] = [];
  readonly #kept = new Set<() => void>();
  #cipher: BatchCipher | null = null;
  /** Own seqs signed or being signed. */
  #sealedTo = 0;
  #signing: Promise<void> = Promise.resolve();
  #store: BatchStore | null = null;
  /** Batches of the log before this position are all in storage. */
  #persisted = 0;
  /** Batches past #persisted that are in storage too (read from a shared log, or stored by another node). */
  readonly #stored = new WeakSet<Batch>();
  /** Per actor, the last seq of its batches in storage (a blind relay's durable version). */
  readonly #storedReach = new Map<string, number>();
  /** A shared log's batches (adopt()) whose causal point names membership operations not read yet. */
  #awaitingMembers: Batch[] = [];
  /** A shared log's batches (adopt()) that wait for their actor's earlier seqs. */
  #awaitingSeqs: Batch[] = [];
  readonly #sealed = new Set<() => void>();
  /**
   * Is the store persisted to a log shared with other processes (relay nodes
   * on JetStream)? Its data may then arrive before its batches: the version
   * it tells peers is its batches' (what it can forward), and a batch whose
   * data it holds already is still checked and added to its log.
   */
  shared = false;

  constructor(
    private readonly storeId: string,
    private readonly identity: Identity,
    private readonly membership: BatchMembership,
    /** The nonce this replica's actor derives from (with its principal). */
    readonly nonce: Uint8Array,
  ) {}

  /** @internal An encrypted store's keys: batches are written and read through them from now on. */
  encryptWith(cipher: BatchCipher): void {
    this.#cipher = cipher;
  }

  /** @internal The store, once it exists (its actor is actorOf(principal, nonce)). */
  attach(store: BatchStore): void {
    if (this.#store === store) return;
    this.#store = store;
    this.#sealedTo = this.#reach(store.actor);
  }

  /** What the batches held cover, per actor. */
  version(): Version {
    const out: Record<string, number> = {};
    for (const actor of this.#byActor.keys()) out[actor] = this.#latest(actor)!.last;
    return out;
  }

  get size(): number {
    return this.#log.length;
  }

  /** Every batch held, in join order (persistence keeps them). */
  batches(): readonly Batch[] {
    return this.#log;
  }

  /** The batches a peer at `v` lacks, in join order. */
  since(v: Version): Batch[] {
    // Per actor, its batches past v (a binary search: each actor's batches
    // are in seq order), then back in log order: a pump costs what it sends,
    // not the length of the history.
    const picked: number[] = [];
    for (const [actor, entries] of this.#byActor) {
      const have = v[actor] ?? 0;
      if (this.#reach(actor) <= have) continue;
      let lo = 0;
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.#log[entries[mid]!]!.last > have) hi = mid;
        else lo = mid + 1;
      }
      for (let i = lo; i < entries.length; i++) picked.push(entries[i]!);
    }
    return picked.sort((a, b) => a - b).map((i) => this.#log[i]!);
  }

  /** A message's payload: the batches a peer at `v` lacks. */
  payloadSince(v: Version): Uint8Array {
    return encodeBatches(this.since(v));
  }

  /** Batches as one blob or message payload. */
  encode(batches: readonly Batch[]): Uint8Array {
    return encodeBatches(batches);
  }

  /** A peer's message: its batches, read (receive() checks them). */
  read(payload: Uint8Array, context: string): Batch[] {
    return decodeBatches(payload, context);
  }

  /** Calls `listener` when own batches have been signed (sync sends them then). */
  onSealed(listener: () => void): () => void {
    this.#sealed.add(listener);
    return () => this.#sealed.delete(listener);
  }

  /** Calls `listener` when a relay kept batches it cannot open (its engine did not change: persistence writes them). */
  onKept(listener: () => void): () => void {
    this.#kept.add(listener);
    return () => this.#kept.delete(listener);
  }

  /** Does this replica keep batches it cannot open (a relay of an encrypted store)? Its version is then its batches'. */
  get opaque(): boolean {
    return this.#cipher?.opaque() === true;
  }

  /** Own seqs not yet in a signed batch (or being signed)? */
  unsealed(): boolean {
    const store = this.#store;
    return !!store && !store.closed && (store.version()[store.actor] ?? 0) > this.#sealedTo;
  }

  /**
   * Signs this replica's writes made since the last batch: their delta is
   * taken now (the caller has checked that they are durable), signed in the
   * background, and added to the log in order; onSealed listeners hear of it.
   * Nothing when this replica may not write (its batch would be refused).
   */
  seal(): void {
    const store = this.#store;
    if (!store || store.closed || !this.unsealed()) return;
    const first = this.#sealedTo + 1;
    const last = store.version()[store.actor]!;
    if (this.#sealRun(store.actor, this.nonce, first, last)) this.#sealedTo = last;
  }

  /** @internal Writes of an earlier session's actor of this key (persistence.ts) that no batch holds yet. */
  sealEarlier(actor: string, nonce: Uint8Array): void {
    const store = this.#store;
    if (!store || store.closed || actor === store.actor) return;
    const last = store.version()[actor] ?? 0;
    const first = this.#reach(actor) + 1;
    if (last >= first) this.#sealRun(actor, nonce, first, last);
  }

  #sealRun(actor: string, nonce: Uint8Array, first: number, last: number): boolean {
    const store = this.#store!;
    const role = this.membership.role(this.identity.principal);
    if (role !== 'writer' && role !== 'admin') return false;
    // An encrypted store's writes wait for the current epoch's key (they stay on this replica).
    const sealWith = this.#cipher ? this.#cipher.writeKey() : null;
    if (this.#cipher && !sealWith) return false;
    const base: Record<string, number> = { ...store.version() };
    if (first > 1) base[actor] = first - 1;
    else delete base[actor];
    const delta = store.deltaSince(base);
    const frontier = this.membership.heads();
    this.#signing = this.#signing.then(async () => {
      try {
        const sealed = sealWith ? await sealDelta(sealWith.key, delta, sealedInput(this.storeId, { actor, first, last }, sealWith.epoch)) : delta;
        const b = await signBatch(this.storeId, this.identity, { actor, nonce, first, last, frontier, epoch: sealWith?.epoch ?? null, delta: sealed });
        this.#add(b);
      } catch {
        // The key failed to sign: these seqs go in the next batch.
        if (actor === store.actor) this.#sealedTo = Math.min(this.#sealedTo, first - 1);
        return;
      }
      for (const l of this.#sealed) l();
    });
    return true;
  }

  /** Resolves when every batch sealed so far is signed and in the log. */
  signed(): Promise<void> {
    return this.#signing;
  }

  /** @internal Batches not yet handed to persistence (markPersisted), in log order. */
  unpersisted(): Batch[] {
    const out: Batch[] = [];
    for (let i = this.#persisted; i < this.#log.length; i++) if (!this.#stored.has(this.#log[i]!)) out.push(this.#log[i]!);
    return out;
  }

  /** @internal These batches (from unpersisted()) are durable now. */
  markPersisted(batches: readonly Batch[]): void {
    for (const b of batches) this.#markStored(b);
    while (this.#persisted < this.#log.length && this.#stored.has(this.#log[this.#persisted]!)) this.#persisted++;
  }

  /** What the batches in storage cover, per actor: a blind relay's durable version (its data never changes). */
  storedVersion(): Version {
    return Object.fromEntries(this.#storedReach);
  }

  #markStored(b: Batch): void {
    this.#stored.add(b);
    if (b.last > (this.#storedReach.get(b.actor) ?? 0)) this.#storedReach.set(b.actor, b.last);
  }

  /** The principal whose key signs for `actor` (every batch of an actor names it), or null when no batch of it is held. */
  principalOf(actor: string): string | null {
    return this.#latest(actor)?.principal ?? null;
  }

  /** An actor's last batch in the log (its batches are in seq order). */
  #latest(actor: string): Batch | undefined {
    const entries = this.#byActor.get(actor);
    return entries ? this.#log[entries[entries.length - 1]!] : undefined;
  }

  /** The last seq of an actor the log's batches reach. */
  #reach(actor: string): number {
    return this.#latest(actor)?.last ?? 0;
  }

  #add(b: Batch): void {
    let entries = this.#byActor.get(b.actor);
    if (!entries) this.#byActor.set(b.actor, (entries = []));
    entries.push(this.#log.length);
    this.#log.push(b);
  }

  /**
   * @internal Batches read back from storage (trusted: this replica checked
   * them when they came); those the stored state lacks (a crash between the
   * two writes) are joined again.
   */
  async restore(batches: readonly Batch[]): Promise<void> {
    const store = this.#store;
    for (const b of batches) {
      if (b.last <= this.#reach(b.actor)) continue;
      if (store && !store.closed && b.last > (store.version()[b.actor] ?? 0)) {
        const delta = await this.#plain(b);
        if (!delta) {
          // A relay's batch it cannot open: kept as it was (each came in seq order).
          if (b.epoch !== null && this.opaque && b.first <= this.#reach(b.actor) + 1) this.#add(b);
          continue;
        }
        try {
          store.applyBatch(delta, b, { maxNewActors: 0 });
        } catch {
          continue;
        }
      }
      this.#add(b);
    }
    this.#persisted = this.#log.length;
    for (const b of this.#log) this.#markStored(b);
    if (store) this.#sealedTo = Math.max(this.#sealedTo, this.#reach(store.actor));
  }

  /**
   * A peer's batches, in order: each verified (actor, digest, signature),
   * its author's role at its causal point checked, and joined. Stops at the
   * first refusal: `corrupt` for a forged or altered batch, `forbidden` for
   * one whose author was not a writer there. A batch whose causal point
   * names a membership operation not held here yet is skipped (the peer
   * sends it again when our acks show it missing).
   */
  receive(batches: readonly Batch[], peer: string, maxNewActors: number): Promise<Received> {
    return this.#join(batches, `peer ${peer}`, maxNewActors);
  }

  /** receive(), for batches from `from` (a peer, or a shared log). */
  async #join(batches: readonly Batch[], from: string, maxNewActors: number): Promise<Received> {
    const store = this.#store;
    let joined = 0;
    if (!store) return { joined, error: null };
    const opaque = this.opaque;
    let kept = 0;
    let added = 0;
    for (const b of batches) {
      if (store.closed) break;
      const inStore = b.last <= (store.version()[b.actor] ?? 0);
      if (b.last <= this.#reach(b.actor) || (inStore && !this.shared)) continue; // held already (a replay changes nothing)
      if (this.#refusedActors.has(b.actor)) continue;
      if (b.actor === store.actor) {
        return { joined, error: new MyceliumError('corrupt', `${from} sent a batch of this replica's own actor, which it has not written`) };
      }
      // A shared log's data came without its batch: the batch is checked and
      // added to the log when it follows the actor's last one (it is in the
      // shared log already: data is stored after its batch).
      if (inStore && b.first > this.#reach(b.actor) + 1) continue;
      const check = await this.#check(b, from);
      if (check === 'wait') continue;
      if (check) return { joined, error: check };
      if (inStore) {
        this.#add(b);
        this.#markStored(b);
        added++;
        continue;
      }
      if (b.epoch !== null && !this.#cipher!.readKey(b.epoch) && opaque) {
        // A relay: verified, kept and forwarded as it is, never opened.
        if (this.#keepOpaque(b)) {
          joined++;
          kept++;
        }
        continue;
      }
      if (b.epoch !== null && !this.#cipher!.readKey(b.epoch)) {
        // Verified, but its key has not arrived: kept until it does (unlock()).
        if (!this.#locked.some((l) => l.actor === b.actor && l.first === b.first)) this.#locked.push(b);
        if (this.#locked.length > MAX_LOCKED) this.#locked.shift();
        continue;
      }
      const delta = await this.#plain(b);
      if (!delta) {
        // Signed, so its author made it: that author's batches are refused from now on.
        this.#refusedActors.add(b.actor);
        continue;
      }
      if (store.closed) break;
      let result;
      try {
        result = store.applyBatch(delta, b, { maxNewActors });
      } catch (e) {
        const err = e instanceof MyceliumError ? e : new MyceliumError('corrupt', String(e));
        if (b.epoch !== null && err.code === 'corrupt') {
          this.#refusedActors.add(b.actor);
          continue;
        }
        return { joined, error: new MyceliumError(err.code, `${from} sent a batch of actor ${b.actor} that was refused: ${err.reason}`) };
      }
      if (result === 'applied') {
        this.#add(b);
        joined++;
        this.#drainHeld();
      } else if (result === 'pending') {
        this.#held.push(b);
        joined++;
      } else if (result === 'covered' && this.shared && b.first <= this.#reach(b.actor) + 1) {
        // Its data arrived from the shared log while it was checked: it is stored there already.
        this.#add(b);
        this.#markStored(b);
        added++;
      }
    }
    if (kept > 0) for (const l of this.#kept) l();
    if (kept > 0 || added > 0) for (const l of this.#sealed) l();
    return { joined, error: null };
  }

  /**
   * Checks a batch from `from` before it counts: actor, digest, signature,
   * its author's role at its causal point, and that the causal point moves
   * forward. 'wait' when the causal point names operations not held yet.
   */
  async #check(b: Batch, from: string): Promise<MyceliumError | 'wait' | null> {
    const wrong = await verifyBatch(this.storeId, b);
    if (wrong) return new MyceliumError('corrupt', `${from} sent a batch that fails its check: ${wrong}`);
    const role = this.membership.roleAt(b.principal, b.frontier);
    if (role === null) return 'wait';
    if (role !== 'writer' && role !== 'admin') return new MyceliumError('forbidden', `${from} sent writes of ${b.principal}, which was ${role} when it made them`);
    // An actor's causal point in the membership only moves forward: once
    // its batches name a removal, it cannot write as if it had not seen it.
    const previous = this.#latest(b.actor)?.frontier;
    if (previous && !this.membership.frontierCovers(b.frontier, previous)) {
      return new MyceliumError('forbidden', `${from} sent writes of actor ${b.actor} whose causal point in the membership goes back before its earlier writes`);
    }
    if ((b.epoch !== null) !== (this.#cipher !== null)) {
      return new MyceliumError('corrupt', `${from} sent ${b.epoch !== null ? 'an encrypted batch to a store that is not encrypted' : 'a batch in plaintext to an encrypted store'}`);
    }
    return null;
  }

  /**
   * @internal Batches another process appended to a shared log (relay nodes
   * on JetStream: docs/relay.md, Protected stores), in log order. Each is
   * checked like a peer's (the log is writable by anyone with the NATS
   * deployment's credentials), then added to this replica's log so that it
   * forwards it, and joined when the data has not arrived yet. They are in
   * storage already. Unlike a peer's message, a refusal stops nothing: the
   * rest is read, and each refusal is returned to be reported. Batches
   * whose causal point or earlier seqs have not arrived wait (retried by
   * adoptWaiting(), and by every later adopt()).
   */
  async adopt(batches: readonly Batch[], from: string): Promise<MyceliumError[]> {
    const store = this.#store;
    const errors: MyceliumError[] = [];
    if (!store) return errors;
    let added = 0;
    let queue = [...batches];
    for (let progressed = true; progressed && queue.length > 0 && !store.closed; ) {
      progressed = false;
      const waiting: Batch[] = [];
      for (const b of queue) {
        if (store.closed) break;
        if (b.last <= this.#reach(b.actor) || this.#refusedActors.has(b.actor) || b.actor === store.actor) continue;
        if (!this.opaque && b.last <= (store.version()[b.actor] ?? 0)) {
          // Its data is here already (the data log was read first): checked, then only added to the log.
          if (b.first > this.#reach(b.actor) + 1) {
            waiting.push(b);
            continue;
          }
          const check = await this.#check(b, from);
          if (check === 'wait') this.#awaitingMembers.push(b);
          else if (check) errors.push(check);
          else {
            this.#add(b);
            added++;
          }
        } else {
          // Checked and joined as a peer's (the engine holds it while its base is missing).
          const r = await this.#join([b], from, 1 << 20);
          if (r.error) errors.push(r.error);
          else if (b.last > this.#reach(b.actor) && this.membership.roleAt(b.principal, b.frontier) === null) this.#awaitingMembers.push(b);
        }
        if (b.last <= this.#reach(b.actor)) {
          this.#markStored(b);
          progressed = true;
        }
      }
      queue = waiting;
    }
    this.#awaitingSeqs = [...this.#awaitingSeqs, ...queue].filter((b) => b.last > this.#reach(b.actor)).slice(-MAX_LOCKED);
    this.#awaitingMembers = this.#awaitingMembers.slice(-MAX_LOCKED);
    if (added > 0) for (const l of this.#sealed) l();
    return errors;
  }

  /** @internal The membership grew, or seqs arrived: batches adopt() held back are tried again. */
  async adoptWaiting(from: string): Promise<MyceliumError[]> {
    const waiting = [...this.#awaitingMembers, ...this.#awaitingSeqs];
    if (waiting.length === 0) return [];
    this.#awaitingMembers = [];
    this.#awaitingSeqs = [];
    return this.adopt(waiting, from);
  }

  /**
   * A relay's verified batch that it cannot open: into the log when it
   * follows its actor's last batch here, held while earlier seqs are missing
   * (at most MAX_LOCKED), dropped when it overlaps what the log has (only an
   * equivocating author's batches overlap).
   */
  #keepOpaque(b: Batch): boolean {
    const reach = this.#reach(b.actor);
    if (b.first > reach + 1) {
      if (!this.#gapped.some((g) => g.actor === b.actor && g.first === b.first)) this.#gapped.push(b);
      if (this.#gapped.length > MAX_LOCKED) this.#gapped.shift();
      return false;
    }
    if (b.first <= reach) return false;
    this.#add(b);
    // Held batches that follow now.
    for (let moved = true; moved; ) {
      moved = false;
      for (const g of this.#gapped) {
        if (g.first === this.#reach(g.actor) + 1) {
          this.#add(g);
          this.#gapped = this.#gapped.filter((x) => x !== g);
          moved = true;
          break;
        }
      }
      this.#gapped = this.#gapped.filter((g) => g.last > this.#reach(g.actor));
    }
    return true;
  }

  /** A batch's engine delta: decrypted when it is encrypted (null when that fails or its key is not held). */
  async #plain(b: Batch): Promise<Uint8Array | null> {
    if (b.epoch === null) return b.delta;
    const key = this.#cipher?.readKey(b.epoch);
    return key ? openDelta(key, b.delta, sealedInput(this.storeId, b, b.epoch)) : null;
  }

  /**
   * @internal Another epoch key arrived: the batches kept for want of it are
   * joined now (each was verified when it came), and sync hears of it (own
   * writes that waited for a key are sealed).
   */
  async unlock(): Promise<void> {
    const locked = this.#locked;
    this.#locked = [];
    if (locked.length > 0) await this.receive(locked, 'this replica (batches kept until their key came)', 1 << 20);
    for (const l of this.#sealed) l();
  }

  /** @internal Actors whose author signed an encrypted batch that did not open or join (receive()). */
  refusedActors(): string[] {
    return [...this.#refusedActors];
  }

  /** Held batches the engine has joined since go to the log. */
  #drainHeld(): void {
    if (this.#held.length === 0) return;
    const v = this.#store!.version();
    const still: Batch[] = [];
    const joined: Batch[] = [];
    for (const b of this.#held) ((v[b.actor] ?? 0) >= b.last ? joined : still).push(b);
    // An actor's batches go to the log in seq order (since() relies on it).
    for (const b of joined.sort((x, y) => x.last - y.last)) if (b.last > this.#reach(b.actor)) this.#add(b);
    this.#held = still.length > 1024 ? still.slice(-1024) : still;
  }
}
