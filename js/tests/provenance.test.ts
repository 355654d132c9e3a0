// Provenance (docs/identity.md, Provenance): attacker tests of G3 and of G2
// for relayed writes. A member forges another member's events, alters a
// value in transit, claims another actor's seqs, replays a batch, or
// signs after its removal; each is refused with the store unchanged, and
// over a connection the error event names the peer.
import { describe, expect, it } from 'vitest';
import type { Batch } from '../access/provenance.js';
import { signBatch } from '../access/provenance.js';
import { opHash } from '../access/membership.js';
import { ByteWriter } from '../bytes.js';
import type { Types } from './helpers.js';
import { converged, equalBytes, randomWrite, rng, sleep, until } from './helpers.js';
import { mycelium, todoSchema } from './helpers.js';

const FAST = { relayDelay: 10, ackTimeout: 40, helloInterval: 50 };
type Store = Types.Store<typeof todoSchema>;

/** What the tests reach of a protected store's internals. */
interface Internals {
  storeId: string;
  identity: Types.Identity;
  texts(): string[];
  receive(texts: readonly string[]): Promise<number>;
  provenance: {
    nonce: Uint8Array;
    seal(): void;
    signed(): Promise<void>;
    batches(): readonly Batch[];
    read(payload: Uint8Array, context: string): Batch[];
    encode(batches: readonly Batch[]): Uint8Array;
    payloadSince(v: Types.Version): Uint8Array;
    receive(batches: readonly Batch[], peer: string, maxNewActors: number): Promise<{ joined: number; error: Types.MyceliumError | null }>;
  };
}
const inside = (s: Store) => s.access as unknown as Internals;

async function member(identity: Types.Identity, owner: string): Promise<Store> {
  return mycelium.open({ schema: todoSchema, name: 'todo', identity, access: { owner } });
}

/** The owner, a writer and a target replica that knows the membership. */
async function setup() {
  const [o, w, a] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity(), mycelium.createIdentity()]);
  const owner = await member(o, o.principal);
  await owner.access!.add(w.principal, 'writer');
  await owner.access!.add(a.principal, 'writer');
  const writer = await member(w, o.principal);
  const attacker = await member(a, o.principal);
  const target = await member(o, o.principal);
  for (const s of [writer, attacker, target]) await inside(s).receive(inside(owner).texts());
  return { o, w, a, owner, writer, attacker, target };
}

/** A replica's own writes, signed. */
async function sealed(s: Store): Promise<readonly Batch[]> {
  inside(s).provenance.seal();
  await inside(s).provenance.signed();
  return inside(s).provenance.batches();
}

async function refusedAt(target: Store, batches: readonly Batch[], code: string): Promise<void> {
  const before = target.save();
  const { error } = await inside(target).provenance.receive(batches, 'A', 0);
  expect(error?.code).toBe(code);
  expect(error?.reason).toMatch(/peer A/);
  expect(target.save()).toEqual(before);
}

/** A copy of a batch's record with one byte changed, read back. */
function tampered(s: Store, b: Batch, at: (record: Uint8Array) => number): Batch {
  const record = b.record.slice();
  record[at(record)]! ^= 0x01;
  return inside(s).provenance.read(inside(s).provenance.encode([{ ...b, record }]), 'test')[0]!;
}

describe('provenance', () => {
  it('a member cannot pass its events off as another member’s: not under its actor, not under its key', async () => {
    const { writer, attacker, target } = await setup();
    writer.collection('todos').insert({ id: 'w', title: 'by the writer', done: false, votes: 0 });
    const [real] = await sealed(writer);
    attacker.collection('todos').insert({ id: 'forged', title: 'says the writer', done: false, votes: 0 });
    const [own] = await sealed(attacker);
    const a = inside(attacker);
    // Its own delta under the writer's actor, signed with its own key: the actor is not its key's.
    const asWriter = await signBatch(a.storeId, a.identity, { actor: real!.actor, nonce: a.provenance.nonce, first: 1, last: 1, frontier: own!.frontier, delta: own!.delta });
    await refusedAt(target, [asWriter], 'corrupt');
    // The writer's principal and nonce in the header, signed with the attacker's key: the signature fails.
    const posing = { ...a.identity, principal: real!.principal, sign: (bytes: Uint8Array) => a.identity.sign(bytes) };
    const claimed = await signBatch(a.storeId, posing, { actor: real!.actor, nonce: real!.nonce, first: 1, last: 1, frontier: own!.frontier, delta: own!.delta });
    await refusedAt(target, [claimed], 'corrupt');
    expect(target.collection('todos').get('forged')).toBeUndefined();
    // The real ones join.
    expect((await inside(target).provenance.receive([real!, own!], 'W', 0)).error).toBeNull();
    expect(target.collection('todos').get('w')?.title).toBe('by the writer');
  });

  it('a value altered in transit, or its digest with it, is refused', async () => {
    const { writer, target } = await setup();
    writer.collection('todos').insert({ id: 'w', title: 'pay 10', done: false, votes: 0 });
    const [real] = await sealed(writer);
    // The last byte of the delta (the frame's payload).
    await refusedAt(target, [tampered(target, real!, (r) => r.length - 1)], 'corrupt');
    // The digest (the header's last 32 bytes, just before the signature) changed too: the signature fails.
    const headerEnd = real!.record.length - real!.delta.length - 1 - 64 - (real!.delta.length >= 128 ? 1 : 0);
    await refusedAt(target, [tampered(target, real!, () => headerEnd - 1)], 'corrupt');
    // A well-formed delta of the same actor and seq with another value,
    // under the writer's signed header: the digest does not match.
    const scratch = await mycelium.open({ schema: todoSchema, name: 'todo', actor: real!.actor });
    scratch.collection('todos').insert({ id: 'w', title: 'pay 1000', done: false, votes: 0 });
    const swapped = scratch.deltaSince({});
    const w = new ByteWriter();
    w.varint(real!.header.length);
    w.raw(real!.header);
    w.raw(real!.signature);
    w.varint(swapped.length);
    w.raw(swapped);
    const p = inside(target).provenance;
    const lenient = new Uint8Array([1, ...w.bytes()]);
    await refusedAt(target, p.read(lenient, 'test'), 'corrupt');
    expect(target.collection('todos').get('w')).toBeUndefined();
  });

  it('a batch claiming another actor’s seqs, or fewer of its own than it carries, is refused: no one can hide an actor’s events', async () => {
    const { writer, attacker, target } = await setup();
    writer.collection('todos').insert({ id: 'w1', title: 'one', done: false, votes: 0 });
    writer.collection('todos').insert({ id: 'w2', title: 'two', done: false, votes: 0 });
    const wb = await sealed(writer);
    // The attacker joins the writer's events, then signs a batch of its own
    // whose delta also carries (and so would mark as seen) the writer's seqs.
    expect((await inside(attacker).provenance.receive(wb, 'W', 0)).error).toBeNull();
    attacker.collection('todos').update('w1', (r) => r.set('title', 'changed'));
    const a = inside(attacker);
    const everything = attacker.deltaSince({});
    const me = attacker.actor;
    const wide = await signBatch(a.storeId, a.identity, { actor: me, nonce: a.provenance.nonce, first: 1, last: 1, frontier: wb[0]!.frontier, delta: everything });
    await refusedAt(target, [wide], 'corrupt');
    // Its own seq with a header claiming two.
    const own = attacker.deltaSince(writer.version());
    const more = await signBatch(a.storeId, a.identity, { actor: me, nonce: a.provenance.nonce, first: 1, last: 2, frontier: wb[0]!.frontier, delta: own });
    await refusedAt(target, [more], 'corrupt');
    expect(target.version()).toEqual({});
  });

  it('a replayed batch changes nothing; a batch of another store does not verify here', async () => {
    const { writer, target, o, w } = await setup();
    writer.collection('todos').insert({ id: 'w', title: 'once', done: false, votes: 0 });
    const wb = await sealed(writer);
    expect((await inside(target).provenance.receive(wb, 'W', 0)).error).toBeNull();
    const after = target.save();
    expect((await inside(target).provenance.receive([...wb, ...wb], 'A', 0)).error).toBeNull();
    expect(target.save()).toEqual(after);
    // The same members, another store (another name): its store id is in every signature.
    const elsewhere = await mycelium.open({ schema: todoSchema, name: 'other', identity: o, access: { owner: o.principal } });
    await elsewhere.access!.add(w.principal, 'writer');
    await refusedAt(elsewhere, wb, 'corrupt');
  });

  it('a reader’s batch is refused at every hop, also relayed by a writer; a removed writer’s batch that cites its removal is refused', async () => {
    const { owner, writer, target, o } = await setup();
    const r = await mycelium.createIdentity();
    await owner.access!.add(r.principal, 'reader');
    const reader = await member(r, o.principal);
    await inside(reader).receive(inside(owner).texts());
    await inside(target).receive(inside(owner).texts());
    // Its code changed to believe it may write.
    (reader.access as unknown as { role: () => string }).role = () => 'writer';
    reader.collection('todos').insert({ id: 'r', title: 'by a reader', done: false, votes: 0 });
    const rb = await sealed(reader);
    // A writer's replica that relays it (its receive check bypassed): the target still refuses it.
    await refusedAt(target, rb, 'forbidden');
    // A writer removed, whose next batch names its removal (an honest
    // replica's causal point): refused everywhere.
    await owner.access!.remove(writer.access!.principal);
    await inside(writer).receive(inside(owner).texts());
    await inside(target).receive(inside(owner).texts());
    (writer.access as unknown as { role: () => string }).role = () => 'writer';
    writer.collection('todos').insert({ id: 'late', title: 'after removal', done: false, votes: 0 });
    await refusedAt(target, await sealed(writer), 'forbidden');
  });

  it('G5 as decided: a removed writer’s write its removal had not observed is joined everywhere alike; its sessions are refused; what it writes after observing the removal is refused', async () => {
    const { owner, writer, target } = await setup();
    // Offline, the writer writes; meanwhile the owner removes it.
    writer.collection('todos').insert({ id: 'offline', title: 'written before it knew', done: false, votes: 0 });
    const concurrent = (await sealed(writer)).slice();
    await owner.access!.remove(writer.access!.principal);
    await inside(target).receive(inside(owner).texts());
    // Concurrent with the removal: joined by the owner and by the target, whichever order they learned things in.
    for (const s of [owner, target]) {
      expect((await inside(s).provenance.receive(concurrent, 'W', 4)).error).toBeNull();
      expect(s.collection('todos').get('offline')?.title).toBe('written before it knew');
    }
    expect(equalBytes(owner.save(), target.save())).toBe(true);
    // The removed writer cannot deliver anything itself: its session with the owner is refused.
    const hub = new mycelium.MemoryHub();
    const errors: string[] = [];
    owner.connect(hub.adapter('O'), FAST).onError((e) => errors.push(e.error.code));
    writer.connect(hub.adapter('W'), FAST);
    await until('the removed writer is refused', () => errors.includes('unauthorized'));
    // (A refused session tells it nothing: it learns of its removal from the log, handed over.)
    await inside(writer).receive(inside(owner).texts());
    expect(writer.access!.role()).toBe('none');
    expect(() => writer.collection('todos').insert({ id: 'after', title: 'after', done: false, votes: 0 })).toThrow(/forbidden/);
    // Its code changed, it signs anyway: the batch names its removal and is refused.
    (writer.access as unknown as { role: () => string }).role = () => 'writer';
    writer.collection('todos').insert({ id: 'after', title: 'after', done: false, votes: 0 });
    await refusedAt(target, (await sealed(writer)).filter((b) => !concurrent.includes(b)), 'forbidden');
  });

  it('an actor’s causal point in the membership never goes back: a batch backdated before its actor’s earlier batch is refused', async () => {
    const { writer, target, owner } = await setup();
    writer.collection('todos').insert({ id: 'w1', title: 'one', done: false, votes: 0 });
    const [b1] = await sealed(writer);
    const [grantW] = inside(owner).texts(); // the writer's grant: before the frontier b1 names
    const older = [await opHash(grantW!)];
    expect(b1!.frontier).not.toEqual(older);
    writer.collection('todos').insert({ id: 'w2', title: 'two', done: false, votes: 0 });
    const w = inside(writer);
    const first = b1!.last + 1;
    const last = writer.version()[writer.actor]!;
    const backdated = await signBatch(w.storeId, w.identity, { actor: writer.actor, nonce: w.provenance.nonce, first, last, frontier: older, delta: writer.deltaSince({ ...writer.version(), [writer.actor]: b1!.last }) });
    expect((await inside(target).provenance.receive([b1!], 'W', 0)).error).toBeNull();
    await refusedAt(target, [backdated], 'forbidden');
    // The same write with the frontier it really had joins.
    expect((await inside(target).provenance.receive([(await sealed(writer))[1]!], 'W', 0)).error).toBeNull();
    expect(target.collection('todos').get('w2')?.title).toBe('two');
  });

  it('batches that arrive before what they depend on wait, then join and are relayed in seq order', async () => {
    const { writer, target, owner } = await setup();
    writer.collection('todos').insert({ id: 'w1', title: 'one', done: false, votes: 0 });
    const [b1] = await sealed(writer);
    writer.collection('todos').update('w1', (r) => r.set('title', 'two'));
    const b2 = (await sealed(writer))[1]!;
    expect(b2.first).toBe(b1!.last + 1);
    const p = inside(target).provenance;
    expect((await p.receive([b2], 'W', 0)).error).toBeNull();
    expect(target.collection('todos').get('w1')).toBeUndefined(); // held
    expect((await p.receive([b1!], 'W', 0)).error).toBeNull();
    expect(target.collection('todos').get('w1')?.title).toBe('two');
    const relayed = (p as unknown as { since(v: Types.Version): Batch[] }).since({});
    expect(relayed.map((b) => [b.first, b.last])).toEqual([[b1!.first, b1!.last], [b2.first, b2.last]]);
    const third = await member((owner.access as unknown as { identity: Types.Identity }).identity, owner.access!.owner);
    await inside(third).receive(inside(owner).texts());
    expect((await inside(third).provenance.receive(relayed, 'T', 0)).error).toBeNull();
    expect(third.collection('todos').get('w1')?.title).toBe('two');
  });

  it('over a connection: a forged delta ends the session with an error naming the peer, and the store is unchanged', async () => {
    const { owner, writer, attacker } = await setup();
    writer.collection('todos').insert({ id: 'w', title: 'pay 10', done: false, votes: 0 });
    const [real] = await sealed(writer);
    const forged = tampered(attacker, real!, (r) => r.length - 1);
    // The attacker's replica sends the altered batch as what it has.
    inside(attacker).provenance.payloadSince = () => inside(attacker).provenance.encode([forged]);
    attacker.collection('todos').insert({ id: 'a', title: 'cover', done: false, votes: 0 });
    const hub = new mycelium.MemoryHub();
    const so = owner.connect(hub.adapter('O'), FAST);
    const errors: Types.SyncErrorEvent[] = [];
    so.onError((e) => errors.push(e));
    attacker.connect(hub.adapter('A'), FAST);
    await until('the owner refused the attacker', () => errors.length > 0);
    expect(errors[0]!.peer).toBe('A');
    expect(errors[0]!.error.code).toBe('corrupt');
    expect(owner.collection('todos').get('w')).toBeUndefined();
    // The writer itself gets its write through.
    writer.connect(hub.adapter('W'), FAST);
    await until('the owner has the writer’s record', () => owner.collection('todos').get('w') !== undefined);
    owner.close();
    writer.close();
    attacker.close();
  });

  it('a persisted protected store keeps the batches it joined and its own, and sends them after a reload', async () => {
    const [o, w] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity()]);
    const storage = mycelium.memoryStorage();
    const open = (identity: Types.Identity) => mycelium.open({ schema: todoSchema, name: 'kept', identity, access: { owner: o.principal }, persist: storage });
    const owner = await open(o);
    await owner.access!.add(w.principal, 'writer');
    const writer = await mycelium.open({ schema: todoSchema, name: 'kept', identity: w, access: { owner: o.principal } });
    await inside(writer).receive(inside(owner).texts());
    writer.collection('todos').insert({ id: 'w', title: 'from the writer', done: false, votes: 0 });
    expect((await inside(owner).provenance.receive(await sealed(writer), 'W', 0)).error).toBeNull();
    owner.collection('todos').insert({ id: 'o', title: 'offline, then reloaded', done: false, votes: 0 });
    await owner.flush();
    await owner.close();
    // A session that writes nothing leaves no actor to sign for later.
    await (await open(o)).close();
    const again = await open(o);
    expect(again.collection('todos').get('o')?.title).toBe('offline, then reloaded');
    const kept = (await storage.load('kept')).meta?.access?.actors ?? {};
    expect(Object.keys(kept).sort()).toEqual([owner.actor, again.actor].sort());
    // A new device learns both records, each under its author's signature.
    const fresh = await mycelium.open({ schema: todoSchema, name: 'kept', identity: w, access: { owner: o.principal } });
    const hub = new mycelium.MemoryHub();
    again.connect(hub.adapter('O'), FAST);
    fresh.connect(hub.adapter('F'), FAST);
    await until('the new device has both', () => fresh.collection('todos').get('o') !== undefined && fresh.collection('todos').get('w') !== undefined);
    again.close();
    fresh.close();
    writer.close();
  });
});

const RUNS = Number(process.env.MYC_IDENTITY_RUNS ?? 16);

describe(`protected stores under faults: seeded runs of 3-5 replicas`, () => {
  it(`${RUNS} runs: an owner, writers (some of them certified devices of a user) and a reader converge to identical snapshots under drops, duplicates, reorders, partitions and cuts; every write travels signed`, async () => {
    await seededRuns(RUNS, false);
  }, 600_000);

  it(`${Math.ceil(RUNS / 2)} runs of encrypted stores: the same, with every batch encrypted under keys that reach each member through the log`, async () => {
    await seededRuns(Math.ceil(RUNS / 2), true);
  }, 600_000);
});

async function seededRuns(runs: number, encrypt: boolean): Promise<void> {
    const member = (identity: Types.Identity, owner: string) => mycelium.open({ schema: todoSchema, name: 'todo', identity, access: { owner, encrypt } });
    for (let seed = 1; seed <= runs; seed++) {
      const r = rng(seed);
      const n = 3 + Math.floor(r() * 3);
      const people = await Promise.all(Array.from({ length: n }, () => mycelium.createIdentity()));
      const o = people[0]!;
      const owner = await member(o, o.principal);
      // The last of 4 or 5 is a reader: it relays what it gets, and writes nothing.
      const reader = n > 3 ? n - 1 : -1;
      // About half the writers are devices of a user key the owner named (they join with a certificate).
      const certificates: (string | undefined)[] = [undefined];
      for (let i = 1; i < n; i++) {
        const role = i === reader ? 'reader' : 'writer';
        if (role === 'writer' && r() < 0.5) {
          const user = await mycelium.createIdentity();
          await owner.access!.add(user.principal, role);
          certificates.push(await mycelium.certifyDevice(user, people[i]!.principal));
        } else {
          await owner.access!.add(people[i]!.principal, role);
          certificates.push(undefined);
        }
      }
      const stores = [owner];
      for (let i = 1; i < n; i++) {
        const certificate = certificates[i];
        stores.push(certificate ? await mycelium.open({ schema: todoSchema, name: 'todo', identity: people[i]!, access: { owner: o.principal, certificate, encrypt } }) : await member(people[i]!, o.principal));
      }
      const ids = stores.map((_, i) => `p${i}`);
      const hub = new mycelium.MemoryHub({ faults: { drop: 0.02, duplicate: 0.03, reorder: 0.1 }, random: r, maxMessageSize: 16 * 1024 });
      const syncs = stores.map((s, i) => s.connect(hub.adapter(ids[i]!), FAST));
      const errors: string[] = [];
      for (const s of syncs) s.onError((e) => errors.push(`${e.peer}: ${e.error.code} ${e.error.message}`));
      try {
        // Every replica learns the membership first (from the owner, or a member that has it).
        await until('every replica knows its role', () => stores.every((s, i) => s.access!.role() === (i === 0 ? 'admin' : i === reader ? 'reader' : 'writer')), 10_000);
        const steps = 12 + Math.floor(r() * 12);
        for (let step = 0; step < steps; step++) {
          const roll = r();
          const i = Math.floor(r() * n);
          if (roll < 0.7) {
            if (i !== reader) for (let w = 0, k = 1 + Math.floor(r() * 4); w < k; w++) randomWrite(stores[i]!, r);
          } else if (roll < 0.8) {
            const cut = 1 + Math.floor(r() * (n - 1));
            hub.partition([ids.slice(0, cut), ids.slice(cut)]);
          } else if (roll < 0.9) hub.heal();
          else {
            const j = (i + 1 + Math.floor(r() * (n - 1))) % n;
            hub.disconnect(ids[i]!, ids[j]!, Math.floor(r() * 10));
          }
          await sleep(Math.floor(r() * 4));
        }
        hub.heal();
        await converged(stores, hub, 20_000);
        const snap = stores[0]!.save();
        for (const s of stores) expect(equalBytes(s.save(), snap)).toBe(true);
        // Nothing was refused: honest replicas' batches all verify, however they travel.
        if (errors.length) console.log(errors.join("\n"));
        expect(errors.length).toBe(0);
        // What each replica holds, it holds as signed batches it can pass on.
        for (const s of stores) {
          const covered = (inside(s).provenance as unknown as { version(): Types.Version }).version();
          for (const [actor, seq] of Object.entries(s.version())) expect(covered[actor] ?? 0).toBe(seq);
          if (encrypt) for (const b of inside(s).provenance.batches()) expect(b.epoch).not.toBeNull();
        }
      } catch (e) {
        throw new Error(`seed ${seed} (${n} replicas${encrypt ? ', encrypted' : ''}): ${String(e)}`);
      } finally {
        for (const s of stores) s.close();
      }
    }
}
