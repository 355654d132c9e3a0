// The signed membership log of protected stores (docs/identity.md,
// Membership): who counts as admin, least access on concurrent changes,
// forged, altered, replayed, backdated and equivocating operations, and
// convergence of replicas that receive the same operations in any order.
import { describe, expect, it } from 'vitest';
import { certifyDevice, readCertificate } from '../access/devices.js';
import type { Identity } from '../access/keys.js';
import { createExportable, createIdentity, importIdentity, isPrincipal, storeId, verify } from '../access/keys.js';
import type { MemberOp, Role } from '../access/membership.js';
import { Membership, readOp, signOp } from '../access/membership.js';
import { rng } from './helpers.js';

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'no error';
};

/** One replica's view: its membership and how it signs as `me`. */
class Replica {
  readonly m: Membership;
  constructor(
    readonly id: string,
    owner: Identity,
  ) {
    this.m = new Membership(owner.principal);
  }
  /** Signs an operation the way an honest replica does (deps, number and cut from what it holds). */
  async op(me: Identity, principal: string, role: Role): Promise<MemberOp> {
    const next = this.m.next(me.principal, principal, role);
    const op = await signOp(this.id, me, { principal, role, ...next });
    this.m.add([op]);
    return op;
  }
  take(...ops: MemberOp[]): this {
    this.m.add(ops);
    return this;
  }
}

async function setup() {
  const [owner, a, b, c] = await Promise.all([createIdentity(), createIdentity(), createIdentity(), createIdentity()]);
  const id = await storeId('notes', owner.principal);
  return { owner, a, b, c, id, replica: () => new Replica(id, owner) };
}

describe('identities', () => {
  it('a principal is the 43-character public key; signatures verify only over what was signed, by that key', async () => {
    const me = await createIdentity();
    const other = await createIdentity();
    expect(isPrincipal(me.principal)).toBe(true);
    expect(me.principal).not.toBe(other.principal);
    const msg = new TextEncoder().encode('hello');
    const sig = await me.sign(msg);
    expect(await verify(me.principal, msg, sig)).toBe(true);
    expect(await verify(other.principal, msg, sig)).toBe(false);
    expect(await verify(me.principal, new TextEncoder().encode('hellp'), sig)).toBe(false);
    expect(await verify(me.principal, msg, sig.subarray(0, 63))).toBe(false);
    expect(await verify('not a key', msg, sig)).toBe(false);
  });

  it('a key file round-trips, and one whose halves do not match is refused', async () => {
    const { identity, pkcs8 } = await createExportable();
    const back = await importIdentity(pkcs8, Uint8Array.from(atob(identity.principal.replace(/-/g, '+').replace(/_/g, '/') + '='), (ch) => ch.charCodeAt(0)));
    expect(back.principal).toBe(identity.principal);
    const other = await createExportable();
    const raw = Uint8Array.from(atob(other.identity.principal.replace(/-/g, '+').replace(/_/g, '/') + '='), (ch) => ch.charCodeAt(0));
    expect(await codeOf(importIdentity(pkcs8, raw))).toBe('corrupt');
    expect(await codeOf(importIdentity(new Uint8Array(10), raw))).toBe('corrupt');
  });

  it('a store id depends on its name and its owner', async () => {
    const { owner, a } = await setup();
    expect(await storeId('x', owner.principal)).toBe(await storeId('x', owner.principal));
    expect(await storeId('x', owner.principal)).not.toBe(await storeId('y', owner.principal));
    expect(await storeId('x', owner.principal)).not.toBe(await storeId('x', a.principal));
  });
});

describe('membership', () => {
  it('the owner is admin; an admin adds, changes and removes members; admins it made may add others', async () => {
    const { owner, a, b, c, replica } = await setup();
    const r = replica();
    expect(r.m.role(owner.principal)).toBe('admin');
    expect(r.m.role(a.principal)).toBe('none');
    await r.op(owner, a.principal, 'admin');
    await r.op(a, b.principal, 'writer');
    expect(r.m.role(b.principal)).toBe('writer');
    await r.op(a, b.principal, 'reader');
    expect(r.m.role(b.principal)).toBe('reader');
    await r.op(owner, c.principal, 'writer');
    await r.op(owner, c.principal, 'none');
    expect(r.m.role(c.principal)).toBe('none');
    expect(r.m.members()).toEqual(
      [
        { principal: owner.principal, role: 'admin' },
        { principal: a.principal, role: 'admin' },
        { principal: b.principal, role: 'reader' },
      ].sort((x, y) => (x.principal < y.principal ? -1 : 1)),
    );
  });

  it("a writer's or a stranger's signed operation does not count", async () => {
    const { owner, a, b, c, replica } = await setup();
    const r = replica();
    await r.op(owner, a.principal, 'writer');
    const bySelf = await r.op(a, a.principal, 'admin');
    const byStranger = await r.op(c, b.principal, 'admin');
    expect(r.m.counts(bySelf.hash)).toBe(false);
    expect(r.m.counts(byStranger.hash)).toBe(false);
    expect(r.m.role(a.principal)).toBe('writer');
    expect(r.m.role(b.principal)).toBe('none');
  });

  it('an altered operation, one signed for another store, and malformed text are refused with typed errors', async () => {
    const { owner, a, id } = await setup();
    const op = await signOp(id, owner, { principal: a.principal, role: 'reader', n: 1, deps: [], cut: 0 });
    expect((await readOp(id, op.text)).hash).toBe(op.hash);
    expect(await codeOf(readOp(id, op.text.replace('"reader"', '"admin"')))).toBe('forbidden');
    expect(await codeOf(readOp(await storeId('other', owner.principal), op.text))).toBe('forbidden');
    expect(await codeOf(readOp(id, 'nonsense'))).toBe('corrupt');
    expect(await codeOf(readOp(id, 42))).toBe('corrupt');
    expect(await codeOf(readOp(id, `{"v":2}.${op.text.split('.').pop()!}`))).toBe('unsupported_version');
    expect(await codeOf(readOp(id, op.text.replace(a.principal, '!'.repeat(43))))).toBe('corrupt');
    expect(await codeOf(readOp(id, 'a'.repeat(9000)))).toBe('corrupt');
  });

  it('concurrent add and remove resolve to the remove, in every order of arrival', async () => {
    const { owner, a, c, replica } = await setup();
    const base = replica();
    const makeA = await base.op(owner, a.principal, 'admin');
    const addC = await base.op(owner, c.principal, 'writer');
    // Two admins, concurrently: a removes c, the owner raises c to admin.
    const left = replica().take(makeA, addC);
    const right = replica().take(makeA, addC);
    const remove = await left.op(a, c.principal, 'none');
    const raise = await right.op(owner, c.principal, 'admin');
    expect(left.m.role(c.principal)).toBe('none');
    expect(right.m.role(c.principal)).toBe('admin');
    left.take(raise);
    right.take(remove);
    expect(left.m.role(c.principal)).toBe('none');
    expect(right.m.role(c.principal)).toBe('none');
    // An admin who has seen both decides again.
    const again = await left.op(owner, c.principal, 'reader');
    right.take(again);
    expect(right.m.role(c.principal)).toBe('reader');
  });

  it('replaying an old operation changes nothing', async () => {
    const { owner, a, replica } = await setup();
    const r = replica();
    const add = await r.op(owner, a.principal, 'admin');
    await r.op(owner, a.principal, 'none');
    const fresh = replica().take(...(await Promise.all(r.m.texts().map((t) => readOp(r.id, t)))));
    r.take(add);
    fresh.take(add, add);
    expect(r.m.role(a.principal)).toBe('none');
    expect(fresh.m.role(a.principal)).toBe('none');
  });

  it('a demoted admin cannot backdate a grant past its demotion; grants the demotion had seen stay', async () => {
    const { owner, a, b, c, replica } = await setup();
    const r = replica();
    const makeA = await r.op(owner, a.principal, 'admin');
    const early = await r.op(a, b.principal, 'writer');
    await r.op(owner, a.principal, 'none');
    // a, cut off, signs a grant as if it had not seen its removal.
    const backdated = await signOp(r.id, a, { principal: c.principal, role: 'admin', n: early.n + 1, deps: [early.hash], cut: 0 });
    r.take(backdated);
    expect(r.m.counts(backdated.hash)).toBe(false);
    expect(r.m.role(c.principal)).toBe('none');
    expect(r.m.role(b.principal)).toBe('writer');
    expect(r.m.counts(makeA.hash)).toBe(true);
    // Taking access away is never cut: a backdated removal still counts (toward less access).
    const backRemove = await signOp(r.id, a, { principal: b.principal, role: 'none', n: early.n + 2, deps: [early.hash], cut: 0 });
    r.take(backRemove);
    expect(r.m.role(b.principal)).toBe('none');
  });

  it('two operations of one admin with the same number both void', async () => {
    const { owner, a, b, c, replica } = await setup();
    const r = replica();
    const makeA = await r.op(owner, a.principal, 'admin');
    const one = await signOp(r.id, a, { principal: b.principal, role: 'writer', n: 1, deps: [makeA.hash], cut: 0 });
    r.take(one);
    expect(r.m.role(b.principal)).toBe('writer');
    const two = await signOp(r.id, a, { principal: c.principal, role: 'writer', n: 1, deps: [makeA.hash], cut: 0 });
    r.take(two);
    expect(r.m.role(b.principal)).toBe('none');
    expect(r.m.role(c.principal)).toBe('none');
  });

  it('a flood of operations signed by non-admins is held aside, not kept or sent: the log stays open to admins', async () => {
    const { owner, a, c, replica } = await setup();
    const r = replica();
    for (let i = 1; i <= 1500; i++) r.take(await signOp(r.id, c, { principal: a.principal, role: 'admin', n: i, deps: [], cut: 0 }));
    expect(r.m.size).toBe(0);
    expect(r.m.texts()).toEqual([]);
    // Nor reported as new (sync passes on what add() returns).
    expect(r.m.add([await signOp(r.id, c, { principal: a.principal, role: 'admin', n: 9999, deps: [], cut: 0 })])).toEqual([]);
    await r.op(owner, a.principal, 'writer');
    expect(r.m.role(a.principal)).toBe('writer');
    expect(r.m.size).toBe(1);
  });

  it('held-aside operations come back with what they depend on when an admin’s operation cites them', async () => {
    const { owner, a, c, replica } = await setup();
    const r = replica();
    // c (not an admin) signs two operations, the second on top of the first.
    const first = await signOp(r.id, c, { principal: a.principal, role: 'writer', n: 1, deps: [], cut: 0 });
    const second = await signOp(r.id, c, { principal: a.principal, role: 'reader', n: 2, deps: [first.hash], cut: 0 });
    r.take(first, second);
    expect(r.m.size).toBe(0);
    // An admin elsewhere had both and signs on top of them.
    const other = replica();
    other.m.add([first, second]);
    const cites = await signOp(r.id, owner, { principal: a.principal, role: 'writer', n: 1, deps: [second.hash], cut: 0 });
    r.take(cites);
    expect(r.m.size).toBe(3);
    expect(r.m.role(a.principal)).toBe('writer');
    expect(r.m.texts()).toHaveLength(3);
  });

  it('an operation whose deps have not arrived waits, then counts', async () => {
    const { owner, a, b, replica } = await setup();
    const r = replica();
    const makeA = await r.op(owner, a.principal, 'admin');
    const addB = await r.op(a, b.principal, 'writer');
    const late = replica().take(addB);
    expect(late.m.role(b.principal)).toBe('none');
    expect(late.m.size).toBe(1);
    late.take(makeA);
    expect(late.m.role(b.principal)).toBe('writer');
  });

  it('replicas that receive the same operations in any order agree on every role (seeded schedules)', async () => {
    const { owner, a, b, c, id } = await setup();
    const people = [owner, a, b, c];
    const roles: Role[] = ['none', 'reader', 'writer', 'admin'];
    for (let seed = 1; seed <= 25; seed++) {
      const rand = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const replicas = [0, 1, 2].map(() => new Replica(id, owner));
      const all: MemberOp[] = [];
      for (let step = 0; step < 30; step++) {
        const r = pick(replicas);
        if (rand() < 0.35) {
          // Deliver some of what exists to r, shuffled.
          const some = all.filter(() => rand() < 0.5).sort(() => rand() - 0.5);
          for (const o of some) r.take(o);
        } else {
          const signer = pick(people);
          // Honest signers sign only what they may; a third of the time anyone tries.
          if (r.m.role(signer.principal) !== 'admin' && rand() < 0.66) continue;
          all.push(await r.op(signer, pick(people.slice(1)).principal, pick(roles)));
        }
      }
      for (const r of replicas) for (const o of [...all].sort(() => rand() - 0.5)) r.take(o);
      const views = replicas.map((r) => JSON.stringify(r.m.members()));
      expect(new Set(views).size, `seed ${seed}`).toBe(1);
      expect(replicas[0]!.m.role(owner.principal) === 'admin' || all.some((o) => o.principal === owner.principal)).toBe(true);
    }
  });
});

describe('invites in the membership log', () => {
  /** An admin's invite grant for a fresh key, and a redemption by that key. */
  async function invite(r: Replica, admin: Identity, role: Role, expires: number) {
    const key = await createIdentity();
    const next = r.m.next(admin.principal, key.principal, role);
    const grant = await signOp(r.id, admin, { principal: key.principal, role, n: next.n, deps: next.deps, cut: 0, expires });
    r.take(grant);
    const redeem = (device: string, fields: { role?: Role; time?: number; deps?: string[]; n?: number } = {}) =>
      signOp(r.id, key, { principal: device, role: fields.role ?? role, n: fields.n ?? 1, deps: fields.deps ?? [grant.hash], cut: 0, time: fields.time ?? Date.now() });
    return { key, grant, redeem };
  }

  it('a redemption before the expiry gives the device the invite’s role; the invite key itself has none', async () => {
    const { owner, a, replica } = await setup();
    const r = replica();
    const { key, redeem } = await invite(r, owner, 'writer', Date.now() + 60_000);
    expect(r.m.role(key.principal)).toBe('none');
    r.take(await redeem(a.principal));
    expect(r.m.role(a.principal)).toBe('writer');
    // A lesser role may be redeemed; a greater one is void.
    const { redeem: other } = await invite(r, owner, 'reader', Date.now() + 60_000);
    const b = await createIdentity();
    r.take(await other(b.principal, { role: 'admin' }));
    expect(r.m.role(b.principal)).toBe('none');
  });

  it('an invite used twice: a second redemption that saw the first is void; of concurrent ones the least (time, hash) counts, on every replica', async () => {
    const { owner, a, b, c, replica } = await setup();
    const r = replica();
    const { grant, redeem } = await invite(r, owner, 'writer', Date.now() + 60_000);
    const first = await redeem(a.principal, { time: 1000 });
    const second = await redeem(b.principal, { time: 999 }); // concurrent (it names only the invite), earlier
    const third = await redeem(c.principal, { time: 1, deps: [first.hash] }); // saw the first
    const base = [...r.m.texts()];
    const orders = [[first, second, third], [third, second, first], [second, third, first]];
    const results = [];
    for (const order of orders) {
      const x = replica();
      x.take(...(await Promise.all(base.map((t) => readOp(r.id, t)))));
      for (const o of order) x.take(o);
      results.push([a, b, c].map((p) => x.m.role(p.principal)));
    }
    // The second (time 999 < 1000) wins; the third saw a use and is void.
    for (const roles of results) expect(roles).toEqual(['none', 'writer', 'none']);
    expect(grant.expires).toBeGreaterThan(0);
  });

  it('a redemption signed after the expiry, after the invite was withdrawn, or for a principal that has a role is void', async () => {
    const { owner, a, b, c, replica } = await setup();
    const r = replica();
    const expires = Date.now() + 60_000;
    const late = await invite(r, owner, 'writer', expires);
    r.take(await late.redeem(a.principal, { time: expires + 1 }));
    expect(r.m.role(a.principal)).toBe('none');
    const withdrawn = await invite(r, owner, 'writer', expires);
    const removal = await r.op(owner, withdrawn.key.principal, 'none');
    r.take(await withdrawn.redeem(b.principal, { deps: [removal.hash] }));
    expect(r.m.role(b.principal)).toBe('none');
    // An invite cannot lower a member's role: a reader invite redeemed for an admin.
    await r.op(owner, c.principal, 'admin');
    const demoting = await invite(r, owner, 'reader', expires);
    r.take(await demoting.redeem(c.principal, { deps: r.m.heads() }));
    expect(r.m.role(c.principal)).toBe('admin');
    // A redemption must be the key's first operation.
    await expect(codeOf(demoting.redeem(a.principal, { n: 2 }))).resolves.toBe('corrupt');
  });
});

describe('devices of a user (docs/identity.md, Identities and keys)', () => {
  /** The device operation a certified device's replica adds (as access.ts signs it). */
  async function deviceOp(id: string, device: Identity, token: string): Promise<MemberOp> {
    const c = await readCertificate(token);
    return signOp(id, device, { principal: device.principal, role: 'none', n: 1, deps: [], cut: 0, certificate: c });
  }

  it('a device acts with its user’s role; removing the user takes every device, removing a device only that one', async () => {
    const { owner, a: user, b: phone, c: laptop, id, replica } = await setup();
    const r = replica();
    const phoneOp = await deviceOp(id, phone, await certifyDevice(user, phone.principal));
    const laptopOp = await deviceOp(id, laptop, await certifyDevice(user, laptop.principal));
    r.take(phoneOp, laptopOp);
    // The user has no role yet: the device operations are held aside, not kept or sent.
    expect(r.m.role(phone.principal)).toBe('none');
    expect(r.m.texts()).toEqual([]);
    await r.op(owner, user.principal, 'writer');
    expect(r.m.role(phone.principal)).toBe('writer');
    expect(r.m.role(laptop.principal)).toBe('writer');
    expect(r.m.texts()).toHaveLength(3);
    expect(r.m.members().find((m) => m.principal === phone.principal)).toEqual({ principal: phone.principal, role: 'writer', user: user.principal });
    // At a causal point: the frontier of a batch the phone signed now.
    const frontier = r.m.heads(phone.principal);
    await r.op(owner, phone.principal, 'none'); // the phone is lost
    expect(r.m.role(phone.principal)).toBe('none');
    expect(r.m.role(laptop.principal)).toBe('writer');
    expect(r.m.roleAt(phone.principal, frontier)).toBe('writer');
    expect(r.m.roleAt(phone.principal, r.m.heads(phone.principal))).toBe('none');
    await r.op(owner, user.principal, 'reader');
    expect(r.m.role(laptop.principal)).toBe('reader');
    await r.op(owner, user.principal, 'none');
    expect(r.m.role(laptop.principal)).toBe('none');
    // An admin naming the device itself cannot give it more than its user has.
    await r.op(owner, laptop.principal, 'admin');
    expect(r.m.role(laptop.principal)).toBe('none');
    await r.op(owner, user.principal, 'writer');
    expect(r.m.role(laptop.principal)).toBe('writer');
  });

  it('a device of an admin user does not sign membership for it: its operations do not count', async () => {
    const { owner, a: user, b: device, c: stranger, id, replica } = await setup();
    const r = replica();
    await r.op(owner, user.principal, 'admin');
    r.take(await deviceOp(id, device, await certifyDevice(user, device.principal)));
    expect(r.m.role(device.principal)).toBe('admin');
    expect(r.m.administers(device.principal)).toBe(false);
    expect(r.m.administers(user.principal)).toBe(true);
    const grant = await r.op(device, stranger.principal, 'writer');
    expect(r.m.counts(grant.hash)).toBe(false);
    expect(r.m.role(stranger.principal)).toBe('none');
  });

  it('a hundred devices do not crowd the causal point: each one’s frontier holds its own certificate and its user’s grant', async () => {
    const { owner, a: user, id, replica } = await setup();
    const r = replica();
    await r.op(owner, user.principal, 'writer');
    const devices = await Promise.all(Array.from({ length: 100 }, () => createIdentity()));
    r.take(...(await Promise.all(devices.map(async (d) => deviceOp(id, d, await certifyDevice(user, d.principal))))));
    for (const d of devices) {
      const frontier = r.m.heads(d.principal);
      expect(frontier.length).toBeLessThanOrEqual(2);
      expect(r.m.roleAt(d.principal, frontier)).toBe('writer');
    }
    // An admin's next operation cites the grant, not the hundred certificates.
    const next = await r.op(owner, user.principal, 'reader');
    expect(next.deps).toHaveLength(1);
    expect(r.m.role(devices[99]!.principal)).toBe('reader');
  });

  it('forged, borrowed and malformed certificates are refused; an expired one leaves the device no role now, but batches keep their causal point', async () => {
    const { owner, a: user, b: device, c: thief, id, replica } = await setup();
    const token = await certifyDevice(user, device.principal);
    // Another device cannot use the certificate: its operation names itself, the certificate the device.
    const c = await readCertificate(token);
    const borrowed = await signOp(id, thief, { principal: thief.principal, role: 'none', n: 1, deps: [], cut: 0, certificate: c }).then(
      () => 'accepted',
      (e: { code?: string }) => e.code,
    );
    expect(borrowed).toBe('forbidden');
    // A certificate the thief signs for itself in the user's name does not verify.
    const forged = { ...c, device: thief.principal };
    expect(await codeOf(signOp(id, thief, { principal: thief.principal, role: 'none', n: 1, deps: [], cut: 0, certificate: forged }))).toBe('forbidden');
    // The token altered: its signature no longer verifies; garbage and other versions are typed.
    const body = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(token.slice(13).replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0)))) as Record<string, unknown>;
    const reencode = (b: unknown) => `myc-device-1.${btoa(JSON.stringify(b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
    expect(await codeOf(readCertificate(reencode({ ...body, e: (body.e as number) + 1 })))).toBe('forbidden');
    expect(await codeOf(readCertificate(reencode({ ...body, v: 2 })))).toBe('unsupported_version');
    expect(await codeOf(readCertificate('myc-device-1.!!'))).toBe('corrupt');
    expect(await codeOf(readCertificate(42))).toBe('corrupt');
    expect(await codeOf(certifyDevice(user, user.principal))).toBe('invalid_argument');
    expect(await codeOf(certifyDevice(user, device.principal, { expires: Date.now() - 1 }))).toBe('invalid_argument');
    // A device operation with deps, or about another principal, is malformed.
    const op = await deviceOp(id, device, token);
    const [json] = op.text.split('.');
    const withDeps = JSON.parse(json!) as Record<string, unknown>;
    withDeps.deps = [op.hash];
    const sig = await device.sign(new TextEncoder().encode(`myc-member-1\0${id}\0${JSON.stringify(withDeps)}\0`));
    expect(await codeOf(readOp(id, `${JSON.stringify(withDeps)}.${btoa(String.fromCharCode(...sig)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`))).toBe('corrupt');
    // Expiry: a certificate that has run out gives no role now; the frontier of an earlier batch still says writer.
    const soon = await certifyDevice(user, device.principal, { expires: Date.now() + 40 });
    const r = replica();
    await r.op(owner, user.principal, 'writer');
    r.take(await deviceOp(id, device, soon));
    expect(r.m.role(device.principal)).toBe('writer');
    const frontier = r.m.heads(device.principal);
    await new Promise((done) => setTimeout(done, 60));
    expect(r.m.role(device.principal)).toBe('none');
    expect(r.m.roleAt(device.principal, frontier)).toBe('writer');
    // A renewal (a later certificate) counts again.
    r.take(await deviceOp(id, device, await certifyDevice(user, device.principal, { expires: Date.now() + 60_000 })));
    expect(r.m.role(device.principal)).toBe('writer');
  });
});
