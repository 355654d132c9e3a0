// An encrypted store's keys (docs/identity.md, Encryption). Its log carries,
// beside the membership, each member's box key (a box operation) and the
// epoch keys wrapped for members' box keys (key operations). From them:
//   - the epochs: each started by an admin (admin at the membership heads it
//     names), with a key only its wraps reveal and a check value that tells
//     a true key from a false wrap;
//   - the current epoch, the one batches are written under: of the epochs no
//     later epoch's heads have in their past, the greatest id;
//   - what this replica acts on: an admin starts the first epoch, and a new
//     one whenever the current one is wrapped for a principal that is no
//     longer a member (a removal rotates the key, and the new key is wrapped
//     for the remaining members only); any member that holds epoch keys wraps
//     them for members whose box keys it sees without them (a newcomer reads
//     the history once any member holding the keys has been online; a
//     member that is not an admin waits longer, and a wrap only the
//     recipient can check, another member's, stops no one else's).
import { MyceliumError } from '../errors.js';
import type { BoxKey } from './box.js';
import { batchKey, boxKeyOf, epochCheck, oneTimeKey, unwrapKey, wrapKey } from './box.js';
import type { EpochStart, KeyWrap, SideOp } from './key-ops.js';
import { MAX_WRAPS } from './key-ops.js';
import type { Identity } from './keys.js';
import { toBase64Url } from './keys.js';
import type { Member, MemberOp, Role } from './membership.js';
import { atLeast } from './membership.js';

/** What the keyring reads of the membership (membership.ts). */
export interface KeyringMembership {
  sideOps(): MemberOp[];
  role(principal: string): Role;
  roleAt(principal: string, frontier: readonly string[]): Role | null;
  frontierCovers(later: readonly string[], earlier: readonly string[]): boolean;
  heads(self: string): string[];
  administers(principal: string): boolean;
  members(): Member[];
}

/** An epoch's key, as this replica holds it. */
interface HeldKey {
  readonly raw: Uint8Array;
  readonly key: CryptoKey;
}

interface Epoch extends EpochStart {
  /** The operation that started it. */
  readonly hash: string;
}

/** What the log says about keys, evaluated from its box and key operations. */
interface View {
  readonly epochs: Map<string, Epoch>;
  readonly current: Epoch | null;
  readonly boxes: Map<string, string>;
  /**
   * Per epoch, the principals an admin, or this replica, wrapped it for. A
   * wrap by another member does not count here: its key may be false (the
   * recipient finds out, others cannot), and it must not stop the true one.
   */
  readonly wrapped: Map<string, Set<string>>;
  /** Wraps for this replica's principal, with their one-time keys. */
  readonly mine: { wrap: KeyWrap; oneTime: string }[];
}

export class Keyring {
  readonly #held = new Map<string, HeldKey>();
  /** Wraps tried already (they do not unwrap twice better). */
  readonly #tried = new Set<string>();
  #box: BoxKey | null = null;
  #view: View | null = null;
  #grantTimer: ReturnType<typeof setTimeout> | null = null;
  #acting: Promise<void> = Promise.resolve();
  #closed = false;
  /** Set by begin(): until then the keyring only unwraps (a persisted store's log is still being read back). */
  #live = false;
  readonly #listeners = new Set<() => void>();

  constructor(
    private readonly storeId: string,
    private readonly identity: Identity,
    private readonly membership: KeyringMembership,
    /** Signs a side operation of this replica and adds it to the log (access.ts). */
    private readonly publish: (side: SideOp) => Promise<void>,
  ) {}

  /** This replica's box key (derived from its identity: box.ts). */
  async boxKey(): Promise<BoxKey> {
    return (this.#box ??= await boxKeyOf(this.identity));
  }

  /** Calls `listener` when this replica comes to hold another epoch key. */
  onKeys(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The epoch batches are written under and its key; null while this replica does not hold the current epoch's key (or there is none yet). */
  writeKey(): { epoch: string; key: CryptoKey } | null {
    const current = this.#evaluate().current;
    const held = current ? this.#held.get(current.id) : undefined;
    return current && held ? { epoch: current.id, key: held.key } : null;
  }

  /** An epoch's key, if this replica holds it. */
  readKey(epoch: string): CryptoKey | null {
    return this.#held.get(epoch)?.key ?? null;
  }

  /** The epochs whose keys this replica holds. */
  heldEpochs(): string[] {
    return [...this.#held.keys()];
  }

  /** Is this replica a relay, which keeps batches it cannot open (docs/identity.md, blind relays)? */
  opaque(): boolean {
    return this.membership.role(this.identity.principal) === 'relay';
  }

  /** Does this replica read (reader or more) without the current epoch's key (or without any epoch yet)? */
  stuck(): boolean {
    return this.#live && !this.#closed && atLeast(this.membership.role(this.identity.principal), 'reader') && this.writeKey() === null;
  }

  /**
   * The key operations held that wrap a key for `principal` and are not
   * among `texts`, when `texts` is that principal's whole log (it holds its
   * own box operation: a partial message, news, rarely does); else none.
   */
  wrapsLacked(principal: string, texts: readonly string[]): string[] {
    const theirs = new Set(texts);
    const ops = this.membership.sideOps();
    if (!ops.some((o) => o.side!.kind === 'box' && o.by === principal && theirs.has(o.text))) return [];
    return ops
      .filter((o) => o.side!.kind === 'key' && !theirs.has(o.text) && o.side!.wraps.some((w) => w.principal === principal))
      .map((o) => o.text);
  }

  /** The current epoch's id, or null before the first. */
  currentEpoch(): string | null {
    return this.#evaluate().current?.id ?? null;
  }

  /** The log changed: unwrap what is new for us, then do what falls to this replica (one run at a time). */
  changed(): Promise<void> {
    this.#view = null;
    this.#acting = this.#acting.then(() => this.#act()).catch(() => undefined);
    return this.#acting;
  }

  /** The store is open with its whole log: from now on this replica also starts epochs and wraps keys. */
  begin(): Promise<void> {
    this.#live = true;
    return this.changed();
  }

  /** Stops acting (the store closed). */
  close(): void {
    this.#closed = true;
    if (this.#grantTimer) clearTimeout(this.#grantTimer);
    this.#grantTimer = null;
  }

  #evaluate(): View {
    if (this.#view) return this.#view;
    const m = this.membership;
    const ops = m.sideOps();
    const boxes = new Map<string, string>();
    const epochs = new Map<string, Epoch>();
    for (const o of ops) {
      const side = o.side!;
      if (side.kind === 'box') {
        if (!boxes.has(o.by)) boxes.set(o.by, side.key);
      } else if (side.start && !epochs.has(side.start.id) && m.roleAt(o.by, side.start.frontier) === 'admin') {
        epochs.set(side.start.id, { ...side.start, hash: o.hash });
      }
    }
    const wrapped = new Map<string, Set<string>>();
    const mine: View['mine'] = [];
    const me = this.identity.principal;
    for (const o of ops) {
      const side = o.side!;
      if (side.kind !== 'key') continue;
      const counts = o.by === me || m.administers(o.by);
      for (const w of side.wraps) {
        if (!epochs.has(w.epoch)) continue;
        if (w.principal === me) mine.push({ wrap: w, oneTime: side.oneTime });
        if (!counts) continue;
        let s = wrapped.get(w.epoch);
        if (!s) wrapped.set(w.epoch, (s = new Set()));
        s.add(w.principal);
      }
    }
    // The current epoch: of those no other epoch's heads have in their past, the greatest id.
    let current: Epoch | null = null;
    const all = [...epochs.values()];
    for (const e of all) {
      const superseded = all.some((later) => later !== e && m.frontierCovers(later.frontier, e.frontier) && !m.frontierCovers(e.frontier, later.frontier));
      if (!superseded && (!current || e.id > current.id)) current = e;
    }
    return (this.#view = { epochs, current, boxes, wrapped, mine });
  }

  async #act(): Promise<void> {
    if (this.#closed) return;
    const view = this.#evaluate();
    // Unwrap what is new for us; a wrap whose key fails its epoch's check is false (ignored).
    let gained = false;
    for (const { wrap, oneTime } of view.mine) {
      const id = `${oneTime} ${wrap.epoch} ${wrap.wrapped}`;
      if (this.#held.has(wrap.epoch) || this.#tried.has(id)) continue;
      this.#tried.add(id);
      const raw = await unwrapKey(await this.boxKey(), this.identity.principal, oneTime, wrap.wrapped, this.storeId, wrap.epoch);
      if (!raw || raw.length !== 32 || (await epochCheck(this.storeId, wrap.epoch, raw)) !== view.epochs.get(wrap.epoch)!.check) continue;
      this.#held.set(wrap.epoch, { raw, key: await batchKey(raw) });
      gained = true;
    }
    if (gained) for (const l of this.#listeners) l();
    if (this.#closed || !this.#live) return;
    const me = this.identity.principal;
    if (this.membership.administers(me) && view.boxes.has(me) && this.#needsEpoch(view)) {
      await this.#startEpoch(view);
      return;
    }
    if (this.#missing(view).length > 0 && !this.#grantTimer) {
      // An admin wraps soon; other members later, so that one member online does it, not all at once.
      const delay = this.membership.administers(me) ? Math.random() * 300 : 1000 + Math.random() * 2000;
      this.#grantTimer = setTimeout(() => {
        this.#grantTimer = null;
        this.#acting = this.#acting.then(() => this.#grant()).catch(() => undefined);
      }, delay);
    }
  }

  /** No epoch yet, or the current one is wrapped for a principal that no longer reads (removed, or made a relay). */
  #needsEpoch(view: View): boolean {
    if (!view.current) return true;
    for (const p of view.wrapped.get(view.current.id) ?? []) if (!atLeast(this.membership.role(p), 'reader')) return true;
    return false;
  }

  /** Members that read (relays do not) whose box keys are known, with the held epochs not wrapped for them. */
  #missing(view: View): { principal: string; box: string; epochs: string[] }[] {
    const out: { principal: string; box: string; epochs: string[] }[] = [];
    for (const { principal, role } of this.membership.members()) {
      if (!atLeast(role, 'reader')) continue;
      const box = view.boxes.get(principal);
      if (!box) continue;
      const epochs = [...this.#held.keys()].filter((e) => view.epochs.has(e) && !view.wrapped.get(e)?.has(principal));
      if (epochs.length > 0) out.push({ principal, box, epochs });
    }
    return out;
  }

  /** Starts an epoch: a fresh key wrapped for every member whose box key is known. */
  async #startEpoch(view: View): Promise<void> {
    const id = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const start: EpochStart = { id, check: await epochCheck(this.storeId, id, raw), frontier: this.membership.heads(this.identity.principal) };
    const recipients = this.membership.members().flatMap(({ principal, role }) => {
      const box = atLeast(role, 'reader') ? view.boxes.get(principal) : undefined;
      return box ? [{ principal, box, epochs: [id] }] : [];
    });
    this.#held.set(id, { raw, key: await batchKey(raw) });
    await this.#publishWraps(recipients, start);
    for (const l of this.#listeners) l();
  }

  async #grant(): Promise<void> {
    if (this.#closed) return;
    const missing = this.#missing(this.#evaluate());
    if (missing.length > 0) await this.#publishWraps(missing, null);
  }

  /** Key operations wrapping the epochs each recipient lacks, MAX_WRAPS to an operation; the first starts `start` if given. */
  async #publishWraps(recipients: readonly { principal: string; box: string; epochs: readonly string[] }[], start: EpochStart | null): Promise<void> {
    const wraps: { principal: string; box: string; epoch: string }[] = [];
    for (const r of recipients) for (const epoch of r.epochs) wraps.push({ principal: r.principal, box: r.box, epoch });
    let first = true;
    for (let i = 0; first || i < wraps.length; i += MAX_WRAPS) {
      const oneTime = await oneTimeKey();
      const part: KeyWrap[] = [];
      for (const w of wraps.slice(i, i + MAX_WRAPS)) {
        const key = this.#held.get(w.epoch);
        if (!key) throw new MyceliumError('invalid_argument', `no key held for epoch ${w.epoch}`);
        part.push({ principal: w.principal, epoch: w.epoch, wrapped: await wrapKey(oneTime, w.principal, w.box, this.storeId, w.epoch, key.raw) });
      }
      await this.publish({ kind: 'key', oneTime: oneTime.publicKey, wraps: part, start: first ? start : null });
      first = false;
    }
  }
}
