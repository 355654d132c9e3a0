// A protected store's access (docs/identity.md): this replica's identity,
// the store id, the signed membership log, and what sync asks of them
// (proofs for authenticated sessions, operations from peers).
import { MyceliumError } from '../errors.js';
import type { SyncAccess } from '../sync/synced-store.js';
import type { Identity } from './keys.js';
import { isPrincipal, signingInput, storeId, verify } from './keys.js';
import type { MemberOp, Role } from './membership.js';
import { MAX_OPS, Membership, opHash, readOp, ROLES, signOp } from './membership.js';
import { freshActor, Provenance } from './provenance.js';

export type { Role } from './membership.js';

/** One member, as store.access.members() lists it. */
export interface Member {
  readonly principal: string;
  readonly role: Role;
}

export class StoreAccess implements SyncAccess {
  readonly #membership: Membership;
  readonly #listeners = new Set<(fresh: readonly string[]) => void>();
  readonly #changeListeners = new Set<() => void>();
  /** A persisted store's: writes the log with the store's meta record. */
  #persist: (() => Promise<void>) | null = null;

  /** @internal The store's signed batches (docs/identity.md, Provenance). */
  readonly provenance: Provenance;

  private constructor(
    readonly storeId: string,
    readonly owner: string,
    readonly identity: Identity,
    /** @internal This replica's actor: derived from its key and a fresh nonce, so that only it can sign for it. */
    readonly actor: string,
    nonce: Uint8Array,
  ) {
    const m = (this.#membership = new Membership(owner));
    this.provenance = new Provenance(storeId, identity, { heads: () => m.heads(), roleAt: (p, f) => m.roleAt(p, f), role: (p) => this.role(p) }, nonce);
  }

  /** @internal open({ identity, access: { owner } }). */
  static async create(name: string, identity: unknown, owner: unknown): Promise<StoreAccess> {
    if (typeof identity !== 'object' || identity === null || !isPrincipal((identity as Identity).principal) || typeof (identity as Identity).sign !== 'function') {
      throw new MyceliumError('invalid_argument', 'a protected store needs open({ identity }), an identity from createIdentity()');
    }
    const ownerPrincipal = typeof owner === 'object' && owner !== null ? (owner as Identity).principal : owner;
    if (!isPrincipal(ownerPrincipal)) throw new MyceliumError('invalid_argument', 'access.owner is a principal (43 base64url characters) or an identity');
    const principal = (identity as Identity).principal;
    const { actor, nonce } = await freshActor(principal);
    return new StoreAccess(await storeId(name, ownerPrincipal), ownerPrincipal, identity as Identity, actor, nonce);
  }

  /** This replica's principal. */
  get principal(): string {
    return this.identity.principal;
  }

  /** A principal's role (default: this replica's). */
  role(principal: string = this.principal): Role {
    return this.#membership.role(principal);
  }

  /** Every member (role other than none), by principal. */
  members(): Member[] {
    return this.#membership.members();
  }

  /** Gives `principal` a role (admins only); resolves once the signed operation is in the log. */
  async add(principal: string, role: Exclude<Role, 'none'>): Promise<void> {
    if (!ROLES.includes(role) || (role as Role) === 'none') throw new MyceliumError('invalid_argument', "a role is 'reader', 'writer' or 'admin' (remove() takes access away)");
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
    if (this.role() !== 'admin') throw new MyceliumError('forbidden', `only an admin changes the membership; ${this.principal} is ${this.role()}`);
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

  /** Adds operations; resolves once they are durable (persisted stores). */
  #take(ops: readonly MemberOp[]): Promise<void> {
    const fresh = this.#membership.add(ops);
    if (fresh.length === 0) return Promise.resolve();
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
