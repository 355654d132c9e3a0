// A protected store's membership (docs/identity.md, Membership): a grow-only
// set of signed operations, each "principal p has role r", signed by an admin,
// naming the operations its signer had seen (deps, by hash). The deps make
// each operation's causal point exact, so
//   - an operation counts only if its signer was admin at its causal point;
//   - a principal's role is the least of its heads (its operations no later
//     operation about it has seen): concurrent changes resolve toward less
//     access, sequential ones overwrite;
//   - replaying an operation changes nothing (a set), and no one without an
//     admin's key can add one, so any member or relay may carry them;
//   - a demotion of an admin carries a cut (the highest of its operation
//     numbers the demoting admin had seen): the demoted admin's later
//     operations that grant access and that the demotion had not seen are
//     void, so it cannot backdate grants past its demotion. Operations that
//     take access away are never cut (toward less access);
//   - two operations of one signer with the same number (equivocation) are
//     both void.
//   - an invite (docs/identity.md, Invites) is an admin's operation about a
//     fresh key with an expiry ("x"): that key has no role, but may sign one
//     redemption ("t": its time) that gives a device principal the invite's
//     role (or less), if signed before the expiry, while the invite stands
//     (not removed) at its causal point, for a principal that had no role
//     there. Single use: a redemption whose past holds another of the same
//     invite is void, and of concurrent ones only the least (t, hash) counts.
//   - a device operation (docs/identity.md, Identities and keys) is signed by
//     a device key about itself and carries its user's certificate; it needs
//     no admin. A device's role is the least of its users' roles and, if an
//     admin named the device itself, that role. Only principals named admin
//     themselves sign operations that count (devices never do).
//   - box and key operations of an encrypted store (key-ops.ts, keyring.ts)
//     are carried, kept and held aside like the others but decide no role:
//     the evaluation leaves them out, and no operation cites them.
// Evaluation is a pure function of the set, so replicas holding the same
// operations agree on every role.
import { MyceliumError } from '../errors.js';
import { checkCertificate } from './devices.js';
import type { SideFields, SideOp } from './key-ops.js';
import { readSide, sideFields } from './key-ops.js';
import type { Identity } from './keys.js';
import { fromBase64Url, isPrincipal, sha256, signingInput, toBase64Url, verify } from './keys.js';

/**
 * A principal's role, least first. A `relay` syncs the store and forwards
 * what it gets but neither writes nor, in an encrypted store, receives keys
 * (docs/identity.md, Encryption: blind relays).
 */
export type Role = 'none' | 'relay' | 'reader' | 'writer' | 'admin';

/** One member, as store.access.members() lists it. */
export interface Member {
  readonly principal: string;
  readonly role: Role;
  /** A device's: the user it acts for (its certificate's signer). */
  readonly user?: string;
}
export const ROLES: readonly Role[] = ['none', 'relay', 'reader', 'writer', 'admin'];
/** Does `role` give at least `least`? */
export const atLeast = (role: Role, least: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(least);
const rank = (r: Role): number => ROLES.indexOf(r);

/** Longest operation text. */
const MAX_OP_CHARS = 8192;
/** Most deps one operation names. */
const MAX_DEPS = 64;
/** Most operations one store's membership holds. */
export const MAX_OPS = 4096;
/** Most operations held while their deps have not arrived. */
const MAX_WAITING = 256;
/** Most operations held aside because their signer was never admin (see add()). */
const MAX_DORMANT = 1024;
/** Most box and key operations kept of one signer that is not an admin (a member's flood would fill the log). */
export const MAX_SIDE_OPS = 64;

/** One membership operation, as signed. */
export interface MemberOp {
  /** 22 base64url characters: the first 16 bytes of SHA-256 over the text. */
  readonly hash: string;
  /** The signed text: the body's JSON, '.', the signature in base64url. */
  readonly text: string;
  readonly principal: string;
  readonly role: Role;
  readonly by: string;
  readonly n: number;
  readonly deps: readonly string[];
  readonly cut: number;
  /** An invite's expiry (ms since 1970), or 0: not an invite. */
  readonly expires: number;
  /** A redemption's time (ms since 1970), or 0: not a redemption. */
  readonly time: number;
  /** A device operation's user (its certificate's signer), or '': not a device operation. */
  readonly user: string;
  /** A device operation's certificate expiry (ms since 1970), or 0. */
  readonly certExpires: number;
  /** A box or key operation of an encrypted store (key-ops.ts), or null. */
  readonly side: SideOp | null;
}

interface Body extends SideFields {
  v: 1;
  p: string;
  r: Role;
  by: string;
  n: number;
  deps: string[];
  cut?: number;
  x?: number;
  t?: number;
  u?: string;
  e?: number;
  c?: string;
}

function bodyInput(storeId: string, body: string): Uint8Array {
  return signingInput('myc-member-1', storeId, body);
}

/** An operation's hash: the first 16 bytes of SHA-256 over its text, base64url. */
export async function opHash(text: string): Promise<string> {
  return toBase64Url((await sha256(new TextEncoder().encode(text))).subarray(0, 16));
}

/** Reads and checks an operation's text (signature included); a clear error when it is not one. */
export async function readOp(storeId: string, text: unknown): Promise<MemberOp> {
  if (typeof text !== 'string' || text.length > MAX_OP_CHARS) throw new MyceliumError('corrupt', `a membership operation is a string of at most ${MAX_OP_CHARS} characters`);
  const dot = text.lastIndexOf('.');
  const sig = dot < 0 ? null : fromBase64Url(text.slice(dot + 1));
  if (!sig || sig.length !== 64) throw new MyceliumError('corrupt', 'a membership operation ends with its 64-byte signature');
  const json = text.slice(0, dot);
  let b: Partial<Body>;
  try {
    b = JSON.parse(json) as Partial<Body>;
  } catch {
    throw new MyceliumError('corrupt', 'a membership operation body is not JSON');
  }
  if (typeof b !== 'object' || b === null || b.v !== 1) throw new MyceliumError('unsupported_version', 'a membership operation of another format version');
  if (!isPrincipal(b.p) || !isPrincipal(b.by)) throw new MyceliumError('corrupt', 'a membership operation names a principal that is not a 43-character Ed25519 public key');
  if (typeof b.r !== 'string' || !ROLES.includes(b.r)) throw new MyceliumError('corrupt', `a membership operation's role is one of ${ROLES.join(', ')}`);
  if (!Number.isSafeInteger(b.n) || b.n! < 1) throw new MyceliumError('corrupt', "a membership operation's number is a whole number >= 1");
  const cut = b.cut ?? 0;
  if (!Number.isSafeInteger(cut) || cut < 0) throw new MyceliumError('corrupt', "a membership operation's cut is a whole number >= 0");
  const expires = b.x ?? 0;
  const time = b.t ?? 0;
  if (!Number.isSafeInteger(expires) || expires < 0 || !Number.isSafeInteger(time) || time < 0 || (expires > 0 && time > 0)) {
    throw new MyceliumError('corrupt', "a membership operation's expiry and time are whole numbers >= 0, not both set");
  }
  if (time > 0 && (b.n !== 1 || b.r === 'none')) throw new MyceliumError('corrupt', 'a redemption is its invite key\'s operation number 1 and gives a role');
  if (!Array.isArray(b.deps) || b.deps.length > MAX_DEPS || !b.deps.every((d) => typeof d === 'string' && d.length === 22 && fromBase64Url(d) !== null)) {
    throw new MyceliumError('corrupt', `a membership operation's deps are at most ${MAX_DEPS} operation hashes`);
  }
  let user = '';
  let certExpires = 0;
  if (b.u !== undefined || b.e !== undefined || b.c !== undefined) {
    // A device operation: the device about itself, with its user's certificate.
    const certSig = typeof b.c === 'string' ? fromBase64Url(b.c) : null;
    if (!isPrincipal(b.u) || !Number.isSafeInteger(b.e) || b.e! <= 0 || !certSig || certSig.length !== 64) {
      throw new MyceliumError('corrupt', "a device operation carries its certificate: user ('u'), expiry ('e') and the user's signature ('c')");
    }
    if (b.p !== b.by || b.r !== 'none' || b.n !== 1 || b.deps.length > 0 || cut > 0 || expires > 0 || time > 0 || b.u === b.p) {
      throw new MyceliumError('corrupt', 'a device operation is number 1 of the device about itself, with no role, deps, cut, expiry or time of its own');
    }
    if (!(await checkCertificate({ user: b.u, device: b.p, expires: b.e!, signature: certSig }))) {
      throw new MyceliumError('forbidden', `a device certificate whose signature by ${b.u} does not verify`);
    }
    user = b.u;
    certExpires = b.e!;
  }
  const side = readSide(b);
  if (side && (b.p !== b.by || b.r !== 'none' || b.n !== 1 || b.deps.length > 0 || cut > 0 || expires > 0 || time > 0 || user !== '')) {
    throw new MyceliumError('corrupt', 'a box or key operation is number 1 of its signer about itself, with no role, deps, cut, expiry, time or certificate');
  }
  if (!(await verify(b.by, bodyInput(storeId, json), sig))) throw new MyceliumError('forbidden', `a membership operation whose signature by ${b.by} does not verify`);
  const hash = await opHash(text);
  return { hash, text, principal: b.p, role: b.r, by: b.by, n: b.n!, deps: [...new Set(b.deps)].sort(), cut, expires, time, user, certExpires, side };
}

/** Signs a new operation. */
export async function signOp(
  storeId: string,
  signer: Identity,
  fields: { principal: string; role: Role; n: number; deps: readonly string[]; cut: number; expires?: number; time?: number; certificate?: { user: string; expires: number; signature: Uint8Array }; side?: SideOp },
): Promise<MemberOp> {
  const body: Body = { v: 1, p: fields.principal, r: fields.role, by: signer.principal, n: fields.n, deps: [...fields.deps].sort() };
  if (fields.cut > 0) body.cut = fields.cut;
  if (fields.expires) body.x = fields.expires;
  if (fields.time) body.t = fields.time;
  if (fields.certificate) {
    body.u = fields.certificate.user;
    body.e = fields.certificate.expires;
    body.c = toBase64Url(fields.certificate.signature);
  }
  if (fields.side) Object.assign(body, sideFields(fields.side));
  const json = JSON.stringify(body);
  const sig = await signer.sign(bodyInput(storeId, json));
  return readOp(storeId, `${json}.${toBase64Url(sig)}`);
}

/** The roles an operation set gives, evaluated as the header says. */
export class Membership {
  /** Every operation held, valid or not (a void one may become valid once what it depends on arrives). */
  private readonly ops = new Map<string, MemberOp>();
  /** Operations waiting for deps that have not arrived. */
  private readonly waiting = new Map<string, MemberOp>();
  /** Operations by signers that are not (yet) known as admins: not counted, sent or kept, at most MAX_DORMANT. */
  private readonly dormant = new Map<string, MemberOp>();
  private valid = new Set<string>();
  private roles = new Map<string, Role>();
  /** Roles by name only (devices' certificates aside): who may sign operations that count. */
  private named = new Map<string, Role>();
  /** Each device's latest certificate expiry and its user. */
  private devices = new Map<string, { user: string; expires: number }>();
  /** Signers whose operations may count: the owner, every principal a counted operation made admin, invite keys. */
  private signers = new Set<string>();
  /** roleAt()'s evaluations, by frontier (cleared when the set changes). */
  private readonly atFrontier = new Map<string, (principal: string) => Role>();

  constructor(readonly owner: string) {
    if (!isPrincipal(owner)) throw new MyceliumError('invalid_argument', `an owner is a principal (43 base64url characters), not ${JSON.stringify(owner)}`);
    this.evaluate();
  }

  /** Every operation held, in the order they can be applied (deps first). */
  texts(): string[] {
    return this.order().map((o) => o.text).concat([...this.waiting.values()].map((o) => o.text));
  }

  get size(): number {
    return this.ops.size + this.waiting.size;
  }

  has(hash: string): boolean {
    return this.ops.has(hash) || this.waiting.has(hash) || this.dormant.has(hash);
  }

  /** Is an operation about `principal` held (counted, waiting or held aside)? */
  mentions(principal: string): boolean {
    for (const map of [this.ops, this.waiting, this.dormant]) for (const o of map.values()) if (o.principal === principal) return true;
    return false;
  }

  /** How many box and key operations of `signer` are held. */
  private sideOpsOf(signer: string): number {
    let n = 0;
    for (const map of [this.ops, this.waiting]) for (const o of map.values()) if (o.side && o.by === signer) n++;
    return n;
  }

  /** Operations revive() took back during the current add(). */
  private revived: MemberOp[] = [];

  /** Adds checked operations; returns those that are news to peers: new ones, and ones held aside before that count now. */
  add(ops: readonly MemberOp[]): MemberOp[] {
    const fresh: MemberOp[] = [];
    this.revived = [];
    for (const o of ops) {
      if (this.has(o.hash)) continue;
      // Past a limit, what comes is dropped (a peer's flood); a local change
      // checks has() afterwards (access.ts).
      if (this.size >= MAX_OPS || this.waiting.size >= MAX_WAITING) continue;
      if (o.side && !this.administers(o.by) && this.sideOpsOf(o.by) >= MAX_SIDE_OPS) continue;
      this.waiting.set(o.hash, o);
      fresh.push(o);
    }
    if (fresh.length === 0) return fresh;
    // Move what has all its deps into the graph, until nothing moves.
    for (let moved = true; moved; ) {
      moved = false;
      for (const [h, o] of this.waiting) {
        // A dep held aside is kept again: another operation cites it.
        for (const d of o.deps) this.revive(d);
        if (o.deps.every((d) => this.ops.has(d))) {
          this.waiting.delete(h);
          this.ops.set(h, o);
          moved = true;
        }
      }
    }
    this.evaluate();
    // An operation whose signer was never admin cannot count while that
    // holds: it is held aside (dormant: not counted, sent or kept, at most
    // MAX_DORMANT, the oldest dropped first), so no one can fill the log with
    // them, and comes back if a grant of admin to its signer arrives later.
    // Void operations of admins stay (an equivocation or a cut must stay
    // known, or the voided operation would count when it came again alone).
    for (let changed = true; changed; ) {
      changed = false;
      for (const [h, o] of this.dormant) {
        if (this.mayCount(o)) {
          this.revive(h);
          changed = true;
        }
      }
      // Only what came now is held aside: an operation once kept stays (others may cite it).
      for (const o of fresh) {
        const h = o.hash;
        if (this.ops.has(h) && !(this.valid.has(h) && o.user === '' && !o.side) && !this.mayCount(o) && !this.citedByOthers(h)) {
          this.ops.delete(h);
          this.dormant.set(h, o);
          if (this.dormant.size > MAX_DORMANT) this.dormant.delete(this.dormant.keys().next().value!);
          changed = true;
        }
      }
      if (changed) this.evaluate();
    }
    // What was held aside is not news: it is not passed on. What came back is
    // (a device's operation, once its user's grant arrived: peers never had it).
    const news = fresh.filter((o) => this.ops.has(o.hash) || this.waiting.has(o.hash));
    for (const o of this.revived) if (this.ops.has(o.hash) && !news.includes(o)) news.push(o);
    this.revived = [];
    return news;
  }

  /**
   * Can this operation count (now, or once what it waits for arrives)? Its
   * signer was made admin (or is an invite key); a device operation, when its
   * user has a role; a box or key operation, when its signer has one.
   */
  private mayCount(o: MemberOp): boolean {
    // A box operation, of anyone with a role; key operations, of those that read (a relay holds no key).
    if (o.side) return o.side.kind === 'box' ? this.role(o.by) !== 'none' : atLeast(this.role(o.by), 'reader');
    return o.user !== '' ? this.role(o.user) !== 'none' : this.signers.has(o.by);
  }

  /** Keeps a held-aside operation again, with the held-aside operations it depends on. */
  private revive(hash: string): void {
    const o = this.dormant.get(hash);
    if (!o) return;
    this.dormant.delete(hash);
    for (const d of o.deps) this.revive(d);
    this.ops.set(hash, o);
    this.revived.push(o);
  }

  /** Does an operation held (or waiting) name `hash` among its deps? */
  private citedByOthers(hash: string): boolean {
    for (const o of this.ops.values()) if (o.deps.includes(hash)) return true;
    for (const o of this.waiting.values()) if (o.deps.includes(hash)) return true;
    return false;
  }

  /** A principal's role now: a device past its certificate's expiry has only the role an admin gave it by name. */
  role(principal: string): Role {
    const device = this.devices.get(principal);
    if (device && device.expires < Date.now()) return this.namedRole(principal);
    return this.roles.get(principal) ?? (principal === this.owner ? 'admin' : 'none');
  }

  /** The role an admin gave `principal` by name (devices' certificates aside). */
  private namedRole(principal: string): Role {
    return this.named.get(principal) ?? (principal === this.owner ? 'admin' : 'none');
  }

  /** May `principal` sign membership operations that count? (Admin by name: a device never acts as its user's admin.) */
  administers(principal: string): boolean {
    return this.namedRole(principal) === 'admin';
  }

  /** Every principal with a role other than none, sorted; a device with the user it acts for. */
  members(): Member[] {
    const out: Member[] = [];
    const seen = new Set([this.owner, ...this.roles.keys()]);
    for (const p of [...seen].sort()) {
      const role = this.role(p);
      if (role === 'none') continue;
      const user = this.devices.get(p)?.user;
      out.push(user ? { principal: p, role, user } : { principal: p, role });
    }
    return out;
  }

  /** Is this operation counted? */
  counts(hash: string): boolean {
    return this.valid.has(hash);
  }

  /** What a new operation by `signer` about `principal` carries: its deps (every head), number and cut. */
  next(signer: string, principal: string, role: Role): { deps: string[]; n: number; cut: number } {
    let n = 0;
    let cut = 0;
    for (const o of this.ops.values()) {
      if (o.user !== '' || o.side) continue; // device, box and key operations have no number of their own in the sequence
      if (o.by === signer) n = Math.max(n, o.n);
      if (o.by === principal) cut = Math.max(cut, o.n);
    }
    for (const o of this.waiting.values()) if (o.by === signer && o.user === '' && !o.side) n = Math.max(n, o.n);
    const deps = this.heads(signer);
    const demotes = this.administers(principal) && rank(role) < rank('admin');
    return { deps, n: n + 1, cut: demotes ? cut : 0 };
  }

  /** Deps first, ties by hash: the one order every replica uses. */
  private order(): MemberOp[] {
    return orderOps(this.ops);
  }

  /** The box and key operations held (not those held aside or waiting), in the log's order. */
  sideOps(): MemberOp[] {
    return this.order().filter((o) => o.side !== null);
  }

  private evaluate(): void {
    const roleOps = new Map<string, MemberOp>();
    for (const [h, o] of this.ops) if (!o.side) roleOps.set(h, o);
    const e = evaluateOps(roleOps, this.owner);
    this.valid = e.valid;
    this.signers = e.signers;
    this.roles = e.roles;
    this.named = e.named;
    this.devices = e.devices;
    this.atFrontier.clear();
  }

  /**
   * The hashes of the operations no other held operation names: what a new
   * operation (or a signed batch) of `self` cites as its causal point. Other
   * devices' device operations are left out: they decide only those devices'
   * roles, and a store with many devices would otherwise crowd the 64 heads
   * a causal point names (and cut off the grants that matter).
   */
  heads(self = ''): string[] {
    const cited = new Set<string>();
    for (const o of this.ops.values()) for (const d of o.deps) cited.add(d);
    const out: string[] = [];
    for (const o of this.ops.values()) if (!cited.has(o.hash) && !o.side && (o.user === '' || o.by === self)) out.push(o.hash);
    return out.sort().slice(0, MAX_DEPS);
  }

  /** Does the frontier `later` name, or have in its past, every operation `earlier` names? (False when one is not held.) */
  frontierCovers(later: readonly string[], earlier: readonly string[]): boolean {
    const seen = new Set<string>();
    const visit = (h: string): void => {
      if (seen.has(h)) return;
      seen.add(h);
      for (const d of this.ops.get(h)?.deps ?? []) visit(d);
    };
    for (const h of later) visit(h);
    return earlier.every((h) => seen.has(h));
  }

  /**
   * A principal's role at a causal point (docs/identity.md, Authorized
   * writes): evaluated over the operations `frontier` names and their past
   * only, so every replica gets the same answer whatever else it holds.
   * Null when an operation of the frontier is not held here (yet).
   */
  roleAt(principal: string, frontier: readonly string[]): Role | null {
    const key = [...frontier].sort().join(' ');
    let roles = this.atFrontier.get(key);
    if (!roles) {
      const within = new Map<string, MemberOp>();
      const visit = (h: string): boolean => {
        if (within.has(h)) return true;
        const o = this.ops.get(h);
        if (!o) return false;
        if (o.side) return true; // decides no role
        within.set(h, o);
        return o.deps.every(visit);
      };
      if (!frontier.every(visit)) return null;
      const e = evaluateOps(within, this.owner);
      roles = (p: string) => e.roles.get(p) ?? (p === this.owner ? 'admin' : 'none');
      if (this.atFrontier.size >= 64) this.atFrontier.clear();
      this.atFrontier.set(key, roles);
    }
    return roles(principal);
  }
}

/** Deps first, ties by hash: the one order every replica uses. */
function orderOps(ops: ReadonlyMap<string, MemberOp>): MemberOp[] {
  const depth = new Map<string, number>();
  const of = (o: MemberOp): number => {
    let d = depth.get(o.hash);
    if (d !== undefined) return d;
    depth.set(o.hash, 0); // a cycle cannot be signed (hashes), but never loop
    d = 1 + Math.max(0, ...o.deps.map((h) => of(ops.get(h)!)));
    depth.set(o.hash, d);
    return d;
  };
  return [...ops.values()].sort((a, b) => of(a) - of(b) || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
}

/** The evaluation (module comment) of a set of operations whose deps are all in it. */
function evaluateOps(
  ops: ReadonlyMap<string, MemberOp>,
  owner: string,
): { valid: Set<string>; signers: Set<string>; roles: Map<string, Role>; named: Map<string, Role>; devices: Map<string, { user: string; expires: number }> } {
  const order = orderOps(ops);
  // Ancestors of each operation.
  const past = new Map<string, Set<string>>();
  for (const o of order) {
    const s = new Set<string>();
    for (const d of o.deps) {
      s.add(d);
      for (const a of past.get(d)!) s.add(a);
    }
    past.set(o.hash, s);
  }
  const slots = new Map<string, number>();
  // Device operations have no slot: each certificate gives its own (renewals coexist).
  for (const o of order) if (o.time === 0 && o.user === '') slots.set(`${o.by} ${o.n}`, (slots.get(`${o.by} ${o.n}`) ?? 0) + 1);
  // The role an admin gave p by name, or null when none did. Invites give no
  // role: only their redemptions do.
  const namedIn = (within: readonly MemberOp[], p: string): Role | null => {
    const about = within.filter((o) => o.principal === p && o.expires === 0 && o.user === '');
    if (about.length === 0) return p === owner ? 'admin' : null;
    let least: Role = 'admin';
    for (const o of about) {
      const superseded = about.some((later) => later !== o && past.get(later.hash)!.has(o.hash));
      if (!superseded && rank(o.role) < rank(least)) least = o.role;
    }
    return least;
  };
  // A device's role is the least of its users' (named) roles and its own named role, if any.
  const roleIn = (within: readonly MemberOp[], p: string): Role => {
    let role = namedIn(within, p);
    for (const o of within) {
      if (o.user === '' || o.principal !== p) continue;
      const theirs = namedIn(within, o.user) ?? 'none';
      if (role === null || rank(theirs) < rank(role)) role = theirs;
    }
    return role ?? 'none';
  };
  /** The invite a redemption's signer holds in `within`, if it stands: its newest operations about that key are invites. */
  const inviteIn = (within: readonly MemberOp[], key: string): MemberOp | null => {
    const about = within.filter((o) => o.principal === key);
    const heads = about.filter((o) => !about.some((later) => later !== o && past.get(later.hash)!.has(o.hash)));
    if (heads.length === 0 || heads.some((o) => o.expires === 0)) return null;
    return heads.reduce((a, b) => (a.expires <= b.expires ? a : b));
  };
  const pass = (cuts: readonly MemberOp[] | null, losers: ReadonlySet<string>): { valid: MemberOp[]; demotions: MemberOp[]; redemptions: MemberOp[] } => {
    const valid: MemberOp[] = [];
    const demotions: MemberOp[] = [];
    const redemptions: MemberOp[] = [];
    for (const o of order) {
      if (losers.has(o.hash)) continue;
      if (o.time === 0 && slots.get(`${o.by} ${o.n}`)! > 1) continue;
      const mine = past.get(o.hash)!;
      const before = valid.filter((v) => mine.has(v.hash));
      const prior = roleIn(before, o.principal);
      if (o.user !== '') {
        // A device operation: the certificate was checked when it was read.
        valid.push(o);
        continue;
      }
      if (o.time > 0) {
        // A redemption: the invite stands, unexpired, unused, for a newcomer.
        const invite = inviteIn(before, o.by);
        if (!invite || o.time > invite.expires || rank(o.role) > rank(invite.role) || prior !== 'none') continue;
        // Used before (whether or not that use counted): void.
        if (order.some((v) => v.by === o.by && mine.has(v.hash))) continue;
        valid.push(o);
        redemptions.push(o);
        continue;
      }
      if (namedIn(before, o.by) !== 'admin') continue;
      const restricts = rank(o.role) < rank(prior);
      if (!restricts && cuts) {
        const cutOff = cuts.some((d) => d.principal === o.by && !mine.has(d.hash) && !past.get(d.hash)!.has(o.hash) && o.n > d.cut);
        if (cutOff) continue;
      }
      valid.push(o);
      if (restricts && prior === 'admin' && o.expires === 0) demotions.push(o);
    }
    return { valid, demotions, redemptions };
  };
  const first = pass(null, new Set());
  // Of one invite's concurrent redemptions, the least (time, hash) counts.
  const losers = new Set<string>();
  const byInvite = new Map<string, MemberOp[]>();
  for (const r of first.redemptions) byInvite.set(r.by, [...(byInvite.get(r.by) ?? []), r]);
  for (const rs of byInvite.values()) {
    const winner = rs.reduce((a, b) => (a.time < b.time || (a.time === b.time && a.hash < b.hash) ? a : b));
    for (const r of rs) if (r !== winner) losers.add(r.hash);
  }
  const { valid } = pass(first.demotions, losers);
  const roles = new Map<string, Role>();
  const named = new Map<string, Role>();
  const devices = new Map<string, { user: string; expires: number }>();
  for (const p of new Set(valid.map((o) => o.principal))) {
    roles.set(p, roleIn(valid, p));
    const n = namedIn(valid, p);
    if (n !== null) named.set(p, n);
  }
  for (const o of valid) {
    if (o.user === '') continue;
    const d = devices.get(o.principal);
    if (!d || o.certExpires > d.expires) devices.set(o.principal, { user: o.user, expires: o.certExpires });
  }
  return {
    valid: new Set(valid.map((o) => o.hash)),
    // Signers whose operations may count: admins by name, and invite keys (their redemption).
    signers: new Set([owner, ...valid.filter((o) => o.user === '' && (o.role === 'admin' || o.expires > 0)).map((o) => o.principal)]),
    roles,
    named,
    devices,
  };
}
