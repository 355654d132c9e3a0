// A protected store's access (docs/identity.md): this replica's identity,
// the store id, the signed membership log, and what sync asks of them
// (proofs for authenticated sessions, operations from peers).
import { MyceliumError } from '../errors.js';
import type { SyncAccess } from '../sync/synced-store.js';
import { readCertificate } from './devices.js';
import type { Identity } from './keys.js';
import { createExportable, decodeToken, encodeToken, fromBase64Url, importIdentity, isPrincipal, signingInput, storeId, toBase64Url, verify } from './keys.js';
import type { Member, MemberOp, Role } from './membership.js';
import { MAX_OPS, Membership, opHash, readOp, ROLES, signOp } from './membership.js';
import { boxKeyOf } from './box.js';
import type { SideOp } from './key-ops.js';
import { Keyring } from './keyring.js';
import { freshActor, Provenance } from './provenance.js';

export type { Member, Role } from './membership.js';

const INVITE_PREFIX = 'myc-invite-1.';

interface InviteToken {
  readonly name: string;
  readonly owner: string;
  readonly grant: MemberOp;
  readonly key: Uint8Array;
  readonly pub: string;
}

/** Reads an invite token (its grant's signature is checked when its store id is known: #redeem via readOp). */
function readInvite(token: unknown): { name: string; owner: string; grantText: string; key: Uint8Array; pub: string; encrypt: boolean } {
  const b = decodeToken(token, INVITE_PREFIX, 16384, 'an invite', 'store.access.invite()');
  const key = typeof b.key === 'string' ? fromBase64Url(b.key) : null;
  if (typeof b.name !== 'string' || !isPrincipal(b.owner) || typeof b.grant !== 'string' || !key || !isPrincipal(b.pub) || (b.enc !== undefined && b.enc !== true)) {
    throw new MyceliumError('corrupt', 'not an invite of mycelium-sync: a field is missing or malformed');
  }
  return { name: b.name, owner: b.owner, grantText: b.grant, key, pub: b.pub, encrypt: b.enc === true };
}

export class StoreAccess implements SyncAccess {
  readonly #membership: Membership;
  readonly #listeners = new Set<(fresh: readonly string[]) => void>();
  readonly #changeListeners = new Set<() => void>();
  /** A persisted store's: writes the log with the store's meta record. */
  #persist: (() => Promise<void>) | null = null;
  /** An invitee's: the invite and its redemption, until it is a member. */
  #introduction: string[] | null = null;
  /** A certified device's: its device operation (docs/identity.md, Identities and keys). */
  #deviceOp: string | null = null;
  /** An encrypted store's: this device's box operation. */
  #boxOp: string | null = null;
  #resyncTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  #name = '';

  /** @internal The store's signed batches (docs/identity.md, Provenance). */
  readonly provenance: Provenance;
  /** @internal An encrypted store's keys (docs/identity.md, Encryption); null for one that is not encrypted. */
  readonly keyring: Keyring | null;

  private constructor(
    readonly storeId: string,
    readonly owner: string,
    readonly identity: Identity,
    /** @internal This replica's actor: derived from its key and a fresh nonce, so that only it can sign for it. */
    readonly actor: string,
    nonce: Uint8Array,
    /** Are the store's batches encrypted (access: { encrypt: true })? */
    readonly encrypted: boolean,
  ) {
    const m = (this.#membership = new Membership(owner));
    this.provenance = new Provenance(storeId, identity, { heads: () => m.heads(identity.principal), frontierCovers: (a, b) => m.frontierCovers(a, b), roleAt: (p, f) => m.roleAt(p, f), role: (p) => this.role(p) }, nonce);
    this.keyring = encrypted ? new Keyring(storeId, identity, m, (side) => this.#publish(side)) : null;
    if (this.keyring) {
      const keyring = this.keyring;
      this.provenance.encryptWith(keyring);
      keyring.onKeys(() => void this.provenance.unlock());
    }
  }

  /** @internal open({ identity, access: { owner, invite, certificate } }). */
  static async create(name: string, identity: unknown, owner: unknown, invite?: unknown, certificate?: unknown, encrypt?: unknown): Promise<StoreAccess> {
    if (typeof identity !== 'object' || identity === null || !isPrincipal((identity as Identity).principal) || typeof (identity as Identity).sign !== 'function') {
      throw new MyceliumError('invalid_argument', 'a protected store needs open({ identity }), an identity from createIdentity()');
    }
    const raw = invite === undefined ? null : readInvite(invite);
    if (raw && raw.name !== name) throw new MyceliumError('invalid_argument', `the invite is to store '${raw.name}', not '${name}'`);
    const given = typeof owner === 'object' && owner !== null ? (owner as Identity).principal : owner;
    if (raw && given !== undefined && given !== raw.owner) throw new MyceliumError('invalid_argument', `the invite is to the store of owner ${raw.owner}, not ${String(given)}`);
    const ownerPrincipal = given ?? raw?.owner;
    if (!isPrincipal(ownerPrincipal)) throw new MyceliumError('invalid_argument', 'access.owner is a principal (43 base64url characters) or an identity');
    if (encrypt !== undefined && typeof encrypt !== 'boolean') throw new MyceliumError('invalid_argument', 'access.encrypt is true or false');
    if (raw && encrypt !== undefined && encrypt !== raw.encrypt) throw new MyceliumError('invalid_argument', `the invite is to a store that is ${raw.encrypt ? '' : 'not '}encrypted`);
    const encrypted = raw ? raw.encrypt : encrypt === true;
    const principal = (identity as Identity).principal;
    const cert = certificate === undefined ? null : await readCertificate(certificate);
    if (cert && cert.device !== principal) throw new MyceliumError('invalid_argument', `the certificate is for device ${cert.device}, not this identity (${principal})`);
    if (cert && cert.expires < Date.now()) throw new MyceliumError('forbidden', `the device certificate expired at ${new Date(cert.expires).toISOString()}`);
    const { actor, nonce } = await freshActor(principal);
    const access = new StoreAccess(await storeId(name, ownerPrincipal, encrypted), ownerPrincipal, identity as Identity, actor, nonce, encrypted);
    access.#name = name;
    if (cert) {
      // The same certificate always makes the same operation (no deps, number 1): reopening adds nothing new.
      const op = await signOp(access.storeId, identity as Identity, { principal, role: 'none', n: 1, deps: [], cut: 0, certificate: cert });
      access.#deviceOp = op.text;
      access.#membership.add([op]);
    }
    if (raw) {
      const grant = await readOp(access.storeId, raw.grantText);
      if (grant.principal !== raw.pub || grant.expires === 0) throw new MyceliumError('corrupt', 'the invite does not grant its own key');
      await access.#redeem({ name: raw.name, owner: raw.owner, grant, key: raw.key, pub: raw.pub });
    }
    if (encrypted) {
      // This device's box key, published about itself (deterministic: reopening adds nothing new).
      const box = await boxKeyOf(identity as Identity);
      const op = await signOp(access.storeId, identity as Identity, { principal, role: 'none', n: 1, deps: [], cut: 0, side: { kind: 'box', key: box.publicKey } });
      access.#boxOp = op.text;
      await access.#take([op]);
    }
    return access;
  }

  /**
   * Makes an invite (admins only): a fresh key that may bring one device in
   * with `role`, until `expires` (ms since 1970; default in 7 days). Resolves
   * once the invite is in the log (durable for a persisted store) with the
   * token to hand to the invitee out of band: it opens the store with
   * open({ identity, access: { invite: token } }). withdraw(token) takes it back.
   */
  async invite(role: Exclude<Role, 'none' | 'relay'>, options: { readonly expires?: number } = {}): Promise<string> {
    if (!['reader', 'writer', 'admin'].includes(role)) throw new MyceliumError('invalid_argument', "an invite's role is 'reader', 'writer' or 'admin'");
    const expires = options.expires ?? Date.now() + 7 * 24 * 3600 * 1000;
    if (!Number.isSafeInteger(expires) || expires <= Date.now()) throw new MyceliumError('invalid_argument', 'expires is a time in the future, in ms since 1970');
    if (!this.#membership.administers(this.principal)) throw new MyceliumError('forbidden', `only an admin invites (by name: a device does not act as its user's admin); ${this.principal} is ${this.role()}`);
    const { identity: key, pkcs8 } = await createExportable();
    const next = this.#membership.next(this.principal, key.principal, role);
    const grant = await signOp(this.storeId, this.identity, { principal: key.principal, role, n: next.n, deps: next.deps, cut: 0, expires });
    const done = this.#take([grant]);
    if (!this.#membership.counts(grant.hash)) throw new MyceliumError('limit_exceeded', `the membership of this store holds its most operations (${MAX_OPS}): the invite was not made`);
    await done;
    const body = { v: 1, name: this.#name, owner: this.owner, grant: grant.text, key: toBase64Url(pkcs8), pub: key.principal, ...(this.encrypted ? { enc: true } : {}) };
    return encodeToken(INVITE_PREFIX, body);
  }

  /** Withdraws an invite (admins only): a redemption signed after this is void. */
  async withdraw(token: string): Promise<void> {
    await this.#change(readInvite(token).pub, 'none');
  }

  /** Signs the redemption of an invite for this replica's principal; it counts once a member that holds the invite's past takes it. */
  async #redeem(token: InviteToken): Promise<void> {
    if (Date.now() > token.grant.expires) throw new MyceliumError('forbidden', `the invite expired at ${new Date(token.grant.expires).toISOString()}`);
    const key = await importIdentity(token.key, fromBase64Url(token.pub)!).catch(() => {
      throw new MyceliumError('corrupt', 'the invite holds no usable key');
    });
    const redemption = await signOp(this.storeId, key, { principal: this.principal, role: token.grant.role, n: 1, deps: [token.grant.hash], cut: 0, time: Date.now() });
    this.#introduction = [token.grant.text, redemption.text];
    this.#membership.add([token.grant, redemption]);
  }

  /** @internal What makes this replica a member, for a peer that does not know it yet: its redemption of an invite (with the invite). */
  introduction(): string[] | null {
    if (this.role() !== 'none') return null;
    const intro = [...(this.#introduction ?? []), ...(this.#deviceOp ? [this.#deviceOp] : []), ...(this.#boxOp ? [this.#boxOp] : [])];
    return intro.length > 0 ? intro : null;
  }

  /** @internal */
  mentions(principal: string): boolean {
    return this.#membership.mentions(principal);
  }

  /** This replica's principal. */
  get principal(): string {
    return this.identity.principal;
  }

  /** A principal's role (default: this replica's). */
  /** The principal that signed `actor`'s writes (every spend and transfer of credit is attributable: docs/credit.md), or null when none is held. */
  principalOf(actor: string): string | null {
    return actor === this.actor ? this.principal : this.provenance.principalOf(actor);
  }

  role(principal: string = this.principal): Role {
    return this.#membership.role(principal);
  }

  /** Every member (role other than none), by principal. */
  members(): Member[] {
    return this.#membership.members();
  }

  /** Gives `principal` a role (admins only); resolves once the signed operation is in the log. */
  async add(principal: string, role: Exclude<Role, 'none'>): Promise<void> {
    if (!ROLES.includes(role) || (role as Role) === 'none') throw new MyceliumError('invalid_argument', "a role is 'relay', 'reader', 'writer' or 'admin' (remove() takes access away)");
    await this.#change(principal, role);
  }

  /** Takes every role from `principal` (admins only): its sessions end, its writes are refused from now on. */
  async remove(principal: string): Promise<void> {
    await this.#change(principal, 'none');
  }

  /** Calls `listener` after every change of membership. */
  subscribe(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  async #change(principal: string, role: Role): Promise<void> {
    if (!isPrincipal(principal)) throw new MyceliumError('invalid_argument', `a principal is 43 base64url characters, not ${JSON.stringify(principal)}`);
    if (!this.#membership.administers(this.principal)) throw new MyceliumError('forbidden', `only an admin changes the membership (by name: a device does not act as its user's admin); ${this.principal} is ${this.role()}`);
    const next = this.#membership.next(this.principal, principal, role);
    const op = await signOp(this.storeId, this.identity, { principal, role, ...next });
    const done = this.#take([op]);
    if (!this.#membership.counts(op.hash)) throw new MyceliumError('limit_exceeded', `the membership of this store holds its most operations (${MAX_OPS}): the change was not made`);
    await done;
  }

  /** @internal Persistence keeps the log from now on. */
  persistWith(write: () => Promise<void>): void {
    this.#persist = write;
  }

  /** Signs a box or key operation of this replica and adds it (keyring.ts). */
  async #publish(side: SideOp): Promise<void> {
    const op = await signOp(this.storeId, this.identity, { principal: this.principal, role: 'none', n: 1, deps: [], cut: 0, side });
    await this.#take([op]);
  }

  /** @internal Resolves once the keyring has acted on the log as it is (persistence waits for it before reading batches back). */
  keysReady(): Promise<void> {
    return this.keyring ? this.keyring.changed() : Promise.resolve();
  }

  /**
   * @internal The store is open with its whole log (a persisted store's read
   * back): the keyring starts acting — the owner of a new encrypted store
   * starts its first epoch before open() resolves.
   */
  begin(): Promise<void> {
    if (!this.keyring) return Promise.resolve();
    this.#resync(1000);
    return this.keyring.begin();
  }

  /**
   * While this replica reads without the current epoch's key, it sends its
   * whole log to its peers now and then (1 s, doubling to 30 s): a lost
   * message carrying its box operation, or a peer's wrap for it, would
   * otherwise wait for the next session. A peer answers with the key
   * operations for it that the log lacked (wrapsFor()).
   */
  #resync(delay: number): void {
    if (this.#closed) return;
    this.#resyncTimer = setTimeout(() => {
      const stuck = this.keyring!.stuck();
      if (stuck) for (const l of this.#listeners) l(this.texts());
      this.#resync(stuck ? Math.min(delay * 2, 30_000) : 1000);
    }, delay);
  }

  /** @internal The key operations for `principal` that a log it sent lacks (an encrypted store's; none otherwise). */
  wrapsFor(principal: string, texts: readonly string[]): string[] {
    return this.keyring ? this.keyring.wrapsLacked(principal, texts) : [];
  }

  /** @internal The store closed. */
  close(): void {
    this.#closed = true;
    if (this.#resyncTimer) clearTimeout(this.#resyncTimer);
    this.keyring?.close();
  }

  /** Adds operations; resolves once they are durable (persisted stores). */
  #take(ops: readonly MemberOp[]): Promise<void> {
    const fresh = this.#membership.add(ops);
    if (fresh.length === 0) return Promise.resolve();
    void this.keyring?.changed();
    const texts = fresh.map((o) => o.text);
    for (const l of this.#listeners) l(texts);
    for (const l of this.#changeListeners) l();
    return this.#persist ? this.#persist() : Promise.resolve();
  }

  /** @internal */
  texts(): string[] {
    return this.#membership.texts();
  }

  /** @internal Operations from a peer; resolves with how many were refused (malformed, forged). */
  async receive(texts: readonly string[]): Promise<number> {
    const ops: MemberOp[] = [];
    let refused = 0;
    for (const t of texts) {
      try {
        // What is held already needs no second signature check (every session start sends the whole log).
        if (typeof t === 'string' && t.length <= 8192 && this.#membership.has(await opHash(t))) continue;
        ops.push(await readOp(this.storeId, t));
      } catch {
        refused++;
      }
    }
    // A failed write of received operations is not the peer's fault: they
    // stay in memory, and the next change writes the whole log again.
    await this.#take(ops).catch(() => undefined);
    return refused;
  }

  /** @internal */
  watch(listener: (fresh: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #proofInput(receiverNonce: Uint8Array, senderNonce: Uint8Array, sender: string): Uint8Array {
    return signingInput('myc-auth-1', this.storeId, receiverNonce, senderNonce, sender);
  }

  /** @internal */
  prove(peerNonce: Uint8Array, ourNonce: Uint8Array): Promise<Uint8Array> {
    return this.identity.sign(this.#proofInput(peerNonce, ourNonce, this.principal));
  }

  /** @internal */
  checkProof(principal: string, signature: Uint8Array, ourNonce: Uint8Array, peerNonce: Uint8Array): Promise<boolean> {
    return verify(principal, this.#proofInput(ourNonce, peerNonce, principal), signature);
  }
}
