// The credit kind through the TypeScript API (docs/credit.md): writes, reads
// and errors, rights, collection.transfer, persistence, live sync, and a
// property test over seeded schedules of 3-6 replicas (MYC_CREDIT_RUNS sets
// how many; default 300) with partitions, reorders, duplicates, drops and
// restarts from snapshots.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileStorage } from 'mycelium-sync';
import { actor, clock, codeOf, codeOfAsync, equalBytes, mycelium, rng, until } from './helpers.js';
import type { Types } from './helpers.js';

const bankSchema = {
  accounts: { owner: 'lww', balance: { kind: 'credit', min: 0 }, points: { kind: 'credit', min: -5 } },
} as const;
type Bank = Types.Store<typeof bankSchema>;

const openBank = (n: number, extra: Partial<Types.OpenOptions<typeof bankSchema>> = {}): Promise<Bank> =>
  mycelium.open({ name: 'bank', schema: bankSchema, actor: actor(0x100 + n), now: clock(), ...extra });

describe('credit: a counter that never overdraws', () => {
  it('adds, spends and transfers within the rights this replica holds', async () => {
    const a = await openBank(1);
    const accounts = a.collection('accounts');
    const id = accounts.insert({ owner: 'ada', balance: 100 });
    expect(accounts.get(id)).toEqual({ id, owner: 'ada', balance: 100, points: -5 });
    accounts.update(id, (r) => r.spend('balance', 30).add('points', 7));
    const b = actor(0x202);
    accounts.update(id, (r) => r.transfer('balance', 20, b));
    expect(accounts.get(id)!.balance).toBe(70); // a transfer moves rights, not value
    expect(accounts.get(id)!.points).toBe(2);
    expect(accounts.rights(id, 'balance')).toBe(50);
    expect(accounts.rights(id, 'balance', b)).toBe(20);
    expect(accounts.rights(id, 'points', a.actor)).toBe(7);
    // Beyond the rights held: typed, and nothing of the update is written.
    const version = JSON.stringify(a.version());
    let message = '';
    try {
      accounts.update(id, (r) => r.set('owner', 'eve').spend('balance', 51));
    } catch (e) {
      expect(e).toBeInstanceOf(mycelium.MyceliumError);
      expect((e as Types.MyceliumError).code).toBe('insufficient_credit');
      message = (e as Error).message;
    }
    expect(message).toMatch(/holds 50 rights/);
    expect(JSON.stringify(a.version())).toBe(version);
    expect(accounts.get(id)!.owner).toBe('ada');
    // Two spends in one update are checked together.
    expect(codeOf(() => accounts.update(id, (r) => r.spend('balance', 30).spend('balance', 30)))).toBe('insufficient_credit');
    expect(accounts.rights(id, 'balance')).toBe(50);
    a.close();
  });

  it('refuses bad amounts, kinds, actors and schemas with typed errors', async () => {
    const a = await openBank(1);
    const accounts = a.collection('accounts');
    const id = accounts.insert({ balance: 5 });
    for (const n of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 2, NaN]) {
      expect(codeOf(() => accounts.update(id, (r) => r.spend('balance', n))), String(n)).toBe('invalid_argument');
      expect(codeOf(() => accounts.update(id, (r) => r.add('balance', n))), String(n)).toBe('invalid_argument');
    }
    expect(codeOf(() => accounts.update(id, (r) => r.transfer('balance', 1, 'nope')))).toBe('invalid_argument');
    expect(codeOf(() => accounts.update(id, (r) => r.transfer('balance', 1, a.actor)))).toBe('invalid_argument');
    expect(codeOf(() => accounts.update(id, (r) => r.add('balance', Number.MAX_SAFE_INTEGER)))).toBe('invalid_argument');
    const loose = accounts as unknown as Types.Collection<Types.Fields>;
    expect(codeOf(() => loose.update(id, (r) => r.spend('owner', 1)))).toBe('wrong_kind');
    expect(codeOf(() => loose.update(id, (r) => r.increment('balance', 1)))).toBe('wrong_kind');
    expect(codeOf(() => loose.rights(id, 'owner'))).toBe('wrong_kind');
    expect(codeOf(() => accounts.rights('nobody', 'balance'))).toBe('not_found');
    expect(accounts.get(id)!.balance).toBe(5);
    a.close();
    for (const bad of [{ kind: 'credit', min: 0.5 }, { kind: 'credit', min: 2 ** 60 }, { kind: 'bounded' }, 'credits']) {
      const schema = { t: { c: bad } } as unknown as Types.Schema;
      expect(await codeOfOpen(schema), JSON.stringify(bad)).toBe('invalid_argument');
    }
    // 'credit' alone is { kind: 'credit', min: 0 }: the same schema.
    expect(mycelium.schemaHash({ t: { c: 'credit' } })).toBe(mycelium.schemaHash({ t: { c: { kind: 'credit', min: 0 } } }));
    expect(mycelium.schemaHash({ t: { c: 'credit' } })).not.toBe(mycelium.schemaHash({ t: { c: { kind: 'credit', min: 1 } } }));
  });

  it('transfers between accounts atomically: both or neither', async () => {
    const a = await openBank(1);
    const accounts = a.collection('accounts');
    accounts.insert({ id: 'alice', balance: 10 });
    accounts.insert({ id: 'bob' });
    const changes: string[] = [];
    accounts.subscribe((cs) => changes.push(...cs.map((c) => c.id)));
    accounts.transfer('alice', 'bob', 4, { field: 'balance' });
    expect(accounts.get('alice')!.balance).toBe(6);
    expect(accounts.get('bob')!.balance).toBe(4);
    const before = a.save();
    expect(codeOf(() => accounts.transfer('alice', 'bob', 7, { field: 'balance' }))).toBe('insufficient_credit');
    expect(codeOf(() => accounts.transfer('alice', 'nobody', 1, { field: 'balance' }))).toBe('not_found');
    expect(codeOf(() => accounts.transfer('alice', 'alice', 1, { field: 'balance' }))).toBe('invalid_argument');
    expect(codeOf(() => accounts.transfer('alice', 'bob', 1))).toBe('invalid_argument'); // two credit fields: name one
    expect(equalBytes(a.save(), before)).toBe(true);
    accounts.transfer('alice', 'bob', 6, { field: 'balance' });
    expect([accounts.get('alice')!.balance, accounts.get('bob')!.balance]).toEqual([0, 10]);
    await Promise.resolve();
    expect(changes).toEqual(expect.arrayContaining(['alice', 'bob']));
    a.close();
  });

  it('a transfer gives the rights on the receiving account to its keeper, and the ledger says who did what', async () => {
    const a = await openBank(1);
    const c = await openBank(3);
    a.collection('accounts').insert({ id: 'bob', balance: 5 }); // a keeps bob's account
    c.collection('accounts').insert({ id: 'alice', balance: 10 }); // c keeps alice's
    a.applyDelta(c.deltaSince(a.version()));
    c.applyDelta(a.deltaSince(c.version()));
    c.collection('accounts').transfer('alice', 'bob', 3, { field: 'balance' });
    a.applyDelta(c.deltaSince(a.version()));
    const accounts = a.collection('accounts');
    expect(accounts.get('bob')!.balance).toBe(8);
    expect(accounts.rights('bob', 'balance')).toBe(8); // the keeper holds all of it
    expect(accounts.rights('bob', 'balance', c.actor)).toBe(0); // the sender cannot spend it back
    expect(codeOf(() => c.collection('accounts').update('bob', (r) => r.spend('balance', 1)))).toBe('insufficient_credit');
    expect(accounts.creditLedger('bob', 'balance')).toEqual([
      { actor: a.actor, principal: null, added: 5, spent: 0, given: {}, received: 3, rights: 8 },
      { actor: c.actor, principal: null, added: 3, spent: 0, given: { [a.actor]: 3 }, received: 0, rights: 0 },
    ]);
    expect(accounts.creditLedger('alice', 'balance')).toEqual([
      { actor: c.actor, principal: null, added: 10, spent: 3, given: {}, received: 0, rights: 7 },
    ]);
    // An explicit holder.
    c.collection('accounts').transfer('alice', 'bob', 2, { field: 'balance', holder: actor(0x777) });
    expect(c.collection('accounts').rights('bob', 'balance', actor(0x777))).toBe(2);
    expect(codeOf(() => accounts.creditLedger('bob', 'owner' as 'balance'))).toBe('wrong_kind');
    a.close();
    c.close();
  });

  it('with identity: every spend and transfer is attributable to a principal, and rights go only to members that may write', async () => {
    const [o, w, r] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity(), mycelium.createIdentity()]);
    const open = (identity: Types.Identity) => mycelium.open({ name: 'bank', schema: bankSchema, identity, access: { owner: o.principal } });
    const owner = await open(o);
    await owner.access!.add(w.principal, 'writer');
    await owner.access!.add(r.principal, 'reader');
    const [writer, reader] = [await open(w), await open(r)];
    const hub = new mycelium.MemoryHub();
    const fast = { relayDelay: 10, ackTimeout: 40, helloInterval: 50 };
    owner.connect(hub.adapter('O'), fast);
    writer.connect(hub.adapter('W'), fast);
    reader.connect(hub.adapter('R'), fast);
    owner.collection('accounts').insert({ id: 'x', balance: 10 });
    await until('both hold x', () => writer.collection('accounts').has('x') && reader.collection('accounts').has('x'));
    writer.collection('accounts').update('x', (u) => u.add('balance', 1)); // the writer has events: rights may go to it
    await writer.collection('accounts').spendAsync('x', 'balance', 5, { timeout: 5000 });
    await until('the owner sees the spend', () => owner.collection('accounts').get('x')!.balance === 6);
    const ledger = owner.collection('accounts').creditLedger('x', 'balance');
    const byPrincipal = Object.fromEntries(ledger.map((e) => [e.principal, e]));
    expect(byPrincipal[o.principal]).toMatchObject({ added: 10, given: { [writer.actor]: 4 }, rights: 6 });
    expect(byPrincipal[w.principal]).toMatchObject({ added: 1, spent: 5, received: 4, rights: 0 });
    // A reader cannot write: it cannot add, and has no events for rights to go to.
    expect(codeOf(() => reader.collection('accounts').update('x', (u) => u.add('balance', 1)))).toBe('forbidden');
    expect(await codeOfAsync(reader.collection('accounts').spendAsync('x', 'balance', 1, { timeout: 300 }))).toBe('insufficient_credit');
    // A removed writer has events, but no one gives it rights any more,
    // whoever asks for it (a request names the actor to give to).
    type Grants = { grantCredit(r: { collection: string; id: string; field: string; amount: number; actor: string }, peer: string | null): number };
    const ask = { collection: 'accounts', id: 'x', field: 'balance', amount: 1, actor: writer.actor };
    const grants = owner as unknown as Grants;
    expect(grants.grantCredit(ask, r.principal)).toBe(0); // a reader asks
    expect(grants.grantCredit(ask, null)).toBe(0); // no authenticated peer
    expect(grants.grantCredit({ ...ask, actor: owner.actor }, w.principal)).toBe(0); // for an actor another key signs
    expect(grants.grantCredit(ask, w.principal)).toBe(1);
    await owner.access!.remove(w.principal);
    expect(grants.grantCredit(ask, w.principal)).toBe(0);
    expect(await codeOfAsync(writer.collection('accounts').spendAsync('x', 'balance', 2, { timeout: 500 }))).toBe('insufficient_credit');
    expect(owner.collection('accounts').rights('x', 'balance')).toBe(5);
    for (const s of [owner, writer, reader]) s.close();
  });

  it('a record delete leaves credit: an account holding credit stays, an empty one goes', async () => {
    const a = await openBank(1);
    const accounts = a.collection('accounts');
    accounts.insert({ id: 'x', owner: 'ada', balance: 3 });
    expect(accounts.delete('x')).toBe(true);
    expect(accounts.get('x')).toEqual({ id: 'x', owner: null, balance: 3, points: -5 });
    accounts.update('x', (r) => r.spend('balance', 3));
    expect(accounts.get('x')).toBeUndefined();
    expect(accounts.has('x')).toBe(false);
    a.close();
  });

  it('persists: rights and values come back after a reopen from files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'myc-credit-'));
    const a = await openBank(1, { persist: fileStorage(dir) });
    a.collection('accounts').insert({ id: 'x', balance: 9 });
    a.collection('accounts').update('x', (r) => r.spend('balance', 2).transfer('balance', 3, actor(0x999)));
    await a.flush();
    a.close();
    const b = await openBank(1, { persist: fileStorage(dir) });
    expect(b.collection('accounts').get('x')!.balance).toBe(7);
    expect(b.collection('accounts').rights('x', 'balance')).toBe(4);
    expect(codeOf(() => b.collection('accounts').update('x', (r) => r.spend('balance', 5)))).toBe('insufficient_credit');
    b.close();
  });

  it('two replicas spending offline, then syncing live, never go below min', async () => {
    const a = await openBank(1);
    const b = await openBank(2);
    const hub = new mycelium.MemoryHub();
    a.collection('accounts').insert({ id: 'x', balance: 10 });
    a.collection('accounts').update('x', (r) => r.transfer('balance', 5, b.actor));
    a.connect(hub.adapter('A'));
    b.connect(hub.adapter('B'));
    await until('b sees its rights', () => b.collection('accounts').get('x') !== undefined && b.collection('accounts').rights('x', 'balance') === 5);
    hub.partition([['A'], ['B']]);
    // Offline, each spends everything it holds, and cannot spend more.
    a.collection('accounts').update('x', (r) => r.spend('balance', 5));
    b.collection('accounts').update('x', (r) => r.spend('balance', 5));
    expect(codeOf(() => b.collection('accounts').update('x', (r) => r.spend('balance', 1)))).toBe('insufficient_credit');
    hub.heal();
    await until('converged', () => equalBytes(a.save(), b.save()));
    for (const s of [a, b]) expect(s.collection('accounts').get('x')!.balance).toBe(0);
    a.close();
    b.close();
  });

  it('spendAsync asks connected peers for the rights it lacks and spends once they arrive', async () => {
    const [a, b, c] = [await openBank(1), await openBank(2), await openBank(3)];
    const hub = new mycelium.MemoryHub();
    a.collection('accounts').insert({ id: 'x', balance: 10 });
    for (const [s, p] of [[a, 'A'], [b, 'B'], [c, 'C']] as const) s.connect(hub.adapter(p));
    await until('all hold x', () => [b, c].every((s) => s.collection('accounts').has('x')));
    // c (which has written nothing yet) asks for 4: a holds 10 and gives what is asked.
    await c.collection('accounts').spendAsync('x', 'balance', 4, { timeout: 3000 });
    await until('a sees the spend', () => a.collection('accounts').get('x')!.balance === 6);
    expect(a.collection('accounts').rights('x', 'balance')).toBe(6);
    expect(c.collection('accounts').rights('x', 'balance')).toBe(0);
    // More than exists anywhere: rights flow to c (half of what a holds, asked again and again), the spend does not happen.
    expect(await codeOfAsync(c.collection('accounts').spendAsync('x', 'balance', 7, { timeout: 1500 }))).toBe('insufficient_credit');
    await until('c holds what a gave', () => c.collection('accounts').rights('x', 'balance') + a.collection('accounts').rights('x', 'balance') === 6);
    expect(c.collection('accounts').rights('x', 'balance')).toBeGreaterThan(0);
    for (const s of [a, c]) expect(s.collection('accounts').get('x')!.balance).toBe(6);
    // gatherRights moves rights here without spending them.
    expect(await c.collection('accounts').gatherRights('x', 'balance', 5, { timeout: 5000 })).toBeGreaterThanOrEqual(5);
    expect(c.collection('accounts').get('x')!.balance).toBe(6);
    // Then 6 of them, all there is: c gathers the rest and spends.
    await c.collection('accounts').spendAsync('x', 'balance', 6, { timeout: 5000 });
    await until('spent everywhere', () => a.collection('accounts').get('x')!.balance === 0);
    for (const s of [a, b, c]) s.close();
  });

  it('spendAsync without a connected peer fails at once; a peer gives nothing to itself, or for what is not a credit', async () => {
    const a = await openBank(1);
    a.collection('accounts').insert({ id: 'x', balance: 10 });
    const t0 = performance.now();
    expect(await codeOfAsync(a.collection('accounts').spendAsync('x', 'balance', 11))).toBe('insufficient_credit');
    expect(performance.now() - t0).toBeLessThan(1000);
    const host = a as unknown as { grantCredit(r: { collection: string; id: string; field: string; amount: number; actor: string }, peer: string | null): number };
    const ask = (o: Partial<{ collection: string; id: string; field: string; amount: number; actor: string }>) =>
      host.grantCredit({ collection: 'accounts', id: 'x', field: 'balance', amount: 2, actor: actor(0x999), ...o }, null);
    expect(ask({ actor: a.actor })).toBe(0);
    expect(ask({ field: 'owner' })).toBe(0);
    expect(ask({ collection: 'nope' })).toBe(0);
    expect(ask({ id: 'nobody' })).toBe(0);
    expect(a.collection('accounts').rights('x', 'balance')).toBe(10);
    expect(ask({ amount: 4 })).toBe(4); // what is asked, when held
    expect(ask({ amount: 100 })).toBe(3); // else half of what is held (6), rounded up
    expect(a.collection('accounts').rights('x', 'balance')).toBe(3);
    a.close();
  });

  it(`${Number(process.env.MYC_CREDIT_RUNS ?? 300)} seeded schedules of 3-6 replicas hold the bound and converge`, async () => {
    const runs = Number(process.env.MYC_CREDIT_RUNS ?? 300);
    const totals = { spends: 0, refused: 0, transfers: 0, restarts: 0 };
    for (let seed = 1; seed <= runs; seed++) {
      const t = await creditSchedule(seed);
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += t[k];
    }
    console.log(`credit schedules: ${JSON.stringify(totals)}`);
    // Every path ran: spends that succeeded and were refused, transfers, restarts.
    expect(totals.spends).toBeGreaterThan(runs / 2);
    expect(totals.refused).toBeGreaterThan(runs / 2);
    expect(totals.transfers).toBeGreaterThan(runs / 2);
    expect(totals.restarts).toBeGreaterThan(runs / 2);
  }, 600_000);
});

async function codeOfOpen(schema: Types.Schema): Promise<string> {
  try {
    (await mycelium.open({ name: 'x', schema })).close();
  } catch (e) {
    if (e instanceof mycelium.MyceliumError) return e.code;
    throw e;
  }
  return 'no error';
}

interface Message {
  to: number;
  bytes: Uint8Array;
}

const IDS = ['a0', 'a1', 'a2'];

/** One seeded schedule; throws (with the seed) when a property fails. */
async function creditSchedule(seed: number) {
  const r = rng(seed);
  const pick = (n: number) => Math.floor(r() * n);
  const n = 3 + pick(4);
  const stores: Bank[] = [];
  for (let i = 0; i < n; i++) stores.push(await openBank(i + seed * 8));
  const actors = stores.map((s) => s.actor);
  const partitioned = new Array<boolean>(n).fill(false);
  let network: Message[] = [];
  const expected = new Map<string, number>(); // adds - spends that succeeded, per account.field
  const t = { spends: 0, refused: 0, transfers: 0, restarts: 0 };
  const fail = (what: string) => {
    throw new Error(`credit schedule ${seed}: ${what}`);
  };

  const check = (i: number) => {
    const accounts = stores[i]!.collection('accounts');
    for (const id of IDS) {
      const rec = accounts.get(id);
      if (!rec) continue;
      for (const [field, min] of [['balance', 0], ['points', -5]] as const) {
        const value = rec[field];
        if (value < min) fail(`replica ${i} ${id}.${field} reads ${value}, below ${min}`);
        let sum = 0;
        for (const a of actors) {
          const held = accounts.rights(id, field, a);
          if (held < 0) fail(`replica ${i} ${id}.${field}: negative rights`);
          sum += held;
        }
        if (sum !== value - min) fail(`replica ${i} ${id}.${field}: rights sum to ${sum}, the value less min is ${value - min}`);
      }
    }
  };

  for (let step = 0; step < 80; step++) {
    const k = pick(100);
    if (k < 45) {
      const i = pick(n);
      const s = stores[i]!;
      const accounts = s.collection('accounts');
      const id = IDS[pick(IDS.length)]!;
      const field = pick(4) === 0 ? 'points' : 'balance';
      if (!accounts.has(id)) {
        accounts.insert({ id });
        continue;
      }
      const held = accounts.rights(id, field);
      const amount = held > 0 && pick(10) < 7 ? 1 + pick(held) : held + 1 + pick(3);
      const op = pick(100);
      const key = `${id}.${field}`;
      try {
        if (op < 25) {
          accounts.update(id, (w) => w.add(field, amount));
          expected.set(key, (expected.get(key) ?? 0) + amount);
        } else if (op < 60) {
          accounts.update(id, (w) => w.spend(field, amount));
          expected.set(key, (expected.get(key) ?? 0) - amount);
          t.spends++;
        } else if (op < 85) {
          const to = actors[(i + 1 + pick(n - 1)) % n]!;
          accounts.update(id, (w) => w.transfer(field, amount, to));
          t.transfers++;
        } else if (op < 95) {
          const other = IDS[pick(IDS.length)]!;
          if (other === id || !accounts.has(other)) continue;
          accounts.transfer(id, other, amount, { field });
          expected.set(key, (expected.get(key) ?? 0) - amount);
          expected.set(`${other}.${field}`, (expected.get(`${other}.${field}`) ?? 0) + amount);
          t.spends++;
        } else {
          accounts.delete(id);
        }
        if (op >= 25 && op < 95 && amount > held) fail(`a spend of ${amount} succeeded holding ${held}`);
      } catch (e) {
        if (!(e instanceof mycelium.MyceliumError) || e.code !== 'insufficient_credit') throw e;
        if (amount <= held) fail(`a spend of ${amount} was refused holding ${held}`);
        t.refused++;
      }
    } else if (k < 65) {
      const from = pick(n);
      const to = (from + 1 + pick(n - 1)) % n;
      const against = pick(10) < 6 ? stores[to]!.version() : stores[pick(n)]!.version();
      network.push({ to, bytes: stores[from]!.deltaSince(against) });
    } else if (k < 90) {
      if (network.length === 0) continue;
      const m = pick(network.length);
      const msg = network[m]!;
      if (partitioned[msg.to]) continue;
      const d = pick(10);
      if (d < 7 || network.length > 24) network = network.filter((_, j) => j !== m); // else delivered again later
      if (d === 0) continue; // dropped
      stores[msg.to]!.applyDelta(msg.bytes); // an honest delta is never refused: this throws if it is
    } else if (k < 95) {
      const i = pick(n);
      const s = stores[i]!;
      if (s.pending > 0) continue;
      const snapshot = s.save();
      s.close();
      stores[i] = await openBank(0, { actor: actors[i]!, snapshot });
      t.restarts++;
    } else {
      const i = pick(n);
      partitioned[i] = !partitioned[i];
    }
    for (let i = 0; i < n; i++) check(i);
  }
  // Heal: every replica gets everything.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) stores[j]!.applyDelta(stores[i]!.deltaSince(stores[j]!.version()));
  }
  const snap = stores[0]!.save();
  for (let i = 0; i < n; i++) {
    if (!equalBytes(stores[i]!.save(), snap)) fail(`replica ${i} differs after a full sync`);
    check(i);
  }
  const accounts = stores[0]!.collection('accounts');
  for (const [key, adds] of expected) {
    const [id, field] = key.split('.') as [string, 'balance' | 'points'];
    const rec = accounts.get(id);
    const min = field === 'points' ? -5 : 0;
    if (!rec) {
      if (adds !== 0) fail(`${key}: hidden while holding ${adds}`);
      continue;
    }
    if (rec[field] !== min + adds) fail(`${key} reads ${rec[field]}, not min + adds - spends = ${min + adds}`);
  }
  for (const s of stores) s.close();
  return t;
}
