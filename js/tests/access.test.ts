// Protected stores (docs/identity.md, slice 1): authenticated sessions over
// the in-memory transport and through the Node peer over real WebSockets,
// with the attacker tests of G1 (a non-member gets nothing), a reader's
// writes (refused locally, and at the first hop when its code is changed to
// send them), removal ending a session, and a proof bound to its session.
import { describe, expect, it } from 'vitest';
import type { Types } from './helpers.js';
import { rng, sleep, until } from './helpers.js';
import { codeOf, codeOfAsync, mycelium, todoSchema } from './helpers.js';

const FAST = { relayDelay: 10, ackTimeout: 40, helloInterval: 50 };

type Store = Types.Store<typeof todoSchema>;
/** The session proofs sync asks a store's access for (internal: not in the public types). */
interface Proofs {
  prove(peerNonce: Uint8Array, ourNonce: Uint8Array): Promise<Uint8Array>;
  checkProof(principal: string, signature: Uint8Array, ourNonce: Uint8Array, peerNonce: Uint8Array): Promise<boolean>;
}
const proofs = (s: Store) => s.access as unknown as Proofs;

async function member(identity: Types.Identity, owner: string): Promise<Store> {
  return mycelium.open({ schema: todoSchema, name: 'todo', identity, access: { owner } });
}

const errorsOf = (sync: Types.Sync) => {
  const out: Types.SyncErrorEvent[] = [];
  sync.onError((e) => out.push(e));
  return out;
};

describe('protected stores', () => {
  it('members sync; a new device that knows only the owner learns the membership from the first member it meets', async () => {
    const [o, w] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity()]);
    const owner = await member(o, o.principal);
    await owner.access!.add(w.principal, 'writer');
    owner.collection('todos').insert({ id: 'a', title: 'from the owner', done: false, votes: 0 });
    const writer = await member(w, o.principal);
    expect(writer.access!.role()).toBe('none'); // it knows only the owner yet
    expect(() => writer.collection('todos').insert({ id: 'x', title: 'too early', done: false, votes: 0 })).toThrow(/forbidden/);
    const hub = new mycelium.MemoryHub();
    owner.connect(hub.adapter('O'), FAST);
    writer.connect(hub.adapter('W'), FAST);
    await until('the writer has the record', () => writer.collection('todos').get('a') !== undefined);
    expect(writer.access!.role()).toBe('writer');
    writer.collection('todos').insert({ id: 'b', title: 'from the writer', done: false, votes: 0 });
    await until('the owner has the writer’s record', () => owner.collection('todos').get('b') !== undefined);
    expect(writer.access!.members().map((m) => m.role).sort()).toEqual(['admin', 'writer']);
    owner.close();
    writer.close();
  });

  it('G1: a non-member gets unauthorized and nothing else — no records, no membership, no presence', async () => {
    const [o, x] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity()]);
    const owner = await member(o, o.principal);
    owner.collection('todos').insert({ id: 'secret', title: 'secret', done: false, votes: 0 });
    const stranger = await member(x, o.principal);
    const hub = new mycelium.MemoryHub();
    const so = owner.connect(hub.adapter('O'), FAST);
    so.presence.set({ name: 'owner' });
    const ownerErrors = errorsOf(so);
    const sx = stranger.connect(hub.adapter('X'), FAST);
    const strangerErrors = errorsOf(sx);
    await until('both sides ended the session', () => ownerErrors.length > 0 && strangerErrors.length > 0);
    expect(ownerErrors[0]!.error.code).toBe('unauthorized');
    expect(ownerErrors[0]!.peer).toBe('X');
    expect(strangerErrors.map((e) => e.error.code)).toContain('unauthorized');
    await sleep(100);
    expect(stranger.collection('todos').all()).toEqual([]);
    expect(stranger.version()).toEqual({});
    expect(stranger.access!.members()).toEqual([{ principal: o.principal, role: 'admin' }]);
    expect(sx.presence.peers()).toEqual([]);
    expect(sx.stats().deltasJoined).toBe(0);
    owner.close();
    stranger.close();
  });

  it('a reader reads; its writes are refused locally, and at the first hop when its code is changed to send them', async () => {
    const [o, r] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity()]);
    const owner = await member(o, o.principal);
    await owner.access!.add(r.principal, 'reader');
    owner.collection('todos').insert({ id: 'a', title: 'read me', done: false, votes: 0 });
    const reader = await member(r, o.principal);
    const hub = new mycelium.MemoryHub();
    const so = owner.connect(hub.adapter('O'), FAST);
    const errors = errorsOf(so);
    reader.connect(hub.adapter('R'), FAST);
    await until('the reader has the record', () => reader.collection('todos').get('a') !== undefined);
    expect(codeOf(() => reader.collection('todos').update('a', (r) => r.set('title', 'mine now')))).toBe('forbidden');
    // A hostile reader: its replica believes it may write.
    const access = reader.access!;
    access.role = () => 'writer';
    reader.collection('todos').update('a', (r) => r.set('title', 'mine now'));
    await until('the owner refused the delta', () => errors.length > 0);
    expect(errors[0]!.error.code).toBe('forbidden');
    expect(owner.collection('todos').get('a')!.title).toBe('read me');
    owner.close();
    reader.close();
  });

  it('removing a member ends its session; it gets nothing written afterwards', async () => {
    const [o, w] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity()]);
    const owner = await member(o, o.principal);
    await owner.access!.add(w.principal, 'writer');
    const writer = await member(w, o.principal);
    const hub = new mycelium.MemoryHub();
    const so = owner.connect(hub.adapter('O'), FAST);
    const errors = errorsOf(so);
    writer.connect(hub.adapter('W'), FAST);
    owner.collection('todos').insert({ id: 'a', title: 'before', done: false, votes: 0 });
    await until('the writer has it', () => writer.collection('todos').get('a') !== undefined);
    await owner.access!.remove(w.principal);
    await until('the session ended', () => errors.some((e) => e.error.code === 'unauthorized'));
    owner.collection('todos').insert({ id: 'b', title: 'after', done: false, votes: 0 });
    await sleep(150);
    expect(writer.collection('todos').get('b')).toBeUndefined();
    expect(owner.access!.role(w.principal)).toBe('none');
    owner.close();
    writer.close();
  });

  it('stores of one name and different owners do not sync; a proof does not verify for another session', async () => {
    const [o1, o2] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity()]);
    const a = await member(o1, o1.principal);
    const b = await member(o2, o2.principal);
    await a.access!.add(o2.principal, 'admin');
    a.collection('todos').insert({ id: 'a', title: 'a', done: false, votes: 0 });
    const hub = new mycelium.MemoryHub();
    const errors = errorsOf(a.connect(hub.adapter('A'), FAST));
    b.connect(hub.adapter('B'), FAST);
    await until('refused', () => errors.length > 0);
    expect(errors[0]!.error.code).toBe('unauthorized');
    expect(b.collection('todos').get('a')).toBeUndefined();
    // A proof is bound to both nonces of its session.
    const n1 = crypto.getRandomValues(new Uint8Array(32));
    const n2 = crypto.getRandomValues(new Uint8Array(32));
    const sig = await proofs(a).prove(n1, n2);
    expect(await proofs(b).checkProof(o1.principal, sig, n1, n2)).toBe(false); // another store id
    const a2 = await member(o1, o1.principal);
    expect(await proofs(a2).checkProof(o1.principal, sig, n1, n2)).toBe(true);
    expect(await proofs(a2).checkProof(o1.principal, sig, crypto.getRandomValues(new Uint8Array(32)), n2)).toBe(false);
    for (const s of [a, b, a2]) s.close();
  });

  it('an unprotected replica of the same name does not sync with a protected one', async () => {
    const o = await mycelium.createIdentity();
    const prot = await member(o, o.principal);
    prot.collection('todos').insert({ id: 'a', title: 'a', done: false, votes: 0 });
    const open = await mycelium.open({ schema: todoSchema, name: 'todo' });
    const hub = new mycelium.MemoryHub();
    const errors = errorsOf(prot.connect(hub.adapter('P'), FAST));
    const openErrors = errorsOf(open.connect(hub.adapter('U'), FAST));
    await until('refused', () => errors.length > 0 || openErrors.length > 0);
    await sleep(100);
    expect(open.collection('todos').get('a')).toBeUndefined();
    expect([...errors, ...openErrors].map((e) => e.error.code)).toContain('unauthorized');
    prot.close();
    open.close();
  });

  it('a persisted protected store keeps its membership, and opens only as protected, under its owner', async () => {
    const [o, w, other] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity(), mycelium.createIdentity()]);
    const storage = mycelium.memoryStorage();
    const first = await mycelium.open({ schema: todoSchema, name: 'kept', identity: o, access: { owner: o }, persist: storage });
    storage.failNext(new Error('disk full'));
    await expect(first.access!.add(other.principal, 'reader')).rejects.toThrow(/disk full/);
    await first.access!.add(w.principal, 'writer'); // writes the whole log again
    first.collection('todos').insert({ id: 'a', title: 'kept', done: false, votes: 0 });
    await first.flush();
    first.close();
    const again = await mycelium.open({ schema: todoSchema, name: 'kept', identity: o, access: { owner: o }, persist: storage });
    expect(again.access!.role(w.principal)).toBe('writer');
    expect(again.access!.role(other.principal)).toBe('reader');
    expect(again.collection('todos').get('a')!.title).toBe('kept');
    again.close();
    await expect(mycelium.open({ schema: todoSchema, name: 'kept', persist: storage })).rejects.toThrow(/forbidden: store 'kept' is protected/);
    await expect(mycelium.open({ schema: todoSchema, name: 'kept', identity: o, access: { owner: other }, persist: storage })).rejects.toThrow(/invalid_argument/);
    // A log in storage that someone edited: forged operations do not count.
    const meta = storage.stores.get('kept')!.meta!;
    const forged = meta.access!.ops.map((t) => t.replace('"writer"', '"admin"'));
    await storage.setMeta('kept', { ...meta, access: { owner: meta.access!.owner, ops: forged } });
    const edited = await mycelium.open({ schema: todoSchema, name: 'kept', identity: o, access: { owner: o }, persist: storage });
    expect(edited.access!.role(w.principal)).toBe('none');
    edited.close();
  });

  it('key files: the same name loads the same identity, mode 0600; a damaged file is corrupt', async () => {
    const { mkdtempSync, statSync, writeFileSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'myc-keys-'));
    const load = mycelium.fileKeyStore(dir);
    const [one, two] = await Promise.all([load('device'), load('device')]);
    expect(one.principal).toBe(two.principal);
    expect((await load('device')).principal).toBe(one.principal);
    expect((await load('other')).principal).not.toBe(one.principal);
    expect(readdirSync(dir).sort()).toEqual(['identity-device.json', 'identity-other.json']);
    expect(statSync(join(dir, 'identity-device.json')).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, 'identity-bad.json'), '{"v":1,"public":"AAAA","pkcs8":"AAAA"}');
    await expect(load('bad')).rejects.toThrow(/corrupt/);
    await expect(mycelium.loadIdentity('../escape')).rejects.toThrow(/invalid_argument/);
  });

  it('open() checks its access options', async () => {
    const o = await mycelium.createIdentity();
    await expect(mycelium.open({ schema: todoSchema, access: { owner: o.principal } })).rejects.toThrow(/identity/);
    await expect(mycelium.open({ schema: todoSchema, identity: o, access: { owner: 'nobody' } })).rejects.toThrow(/invalid_argument/);
    const s = await mycelium.open({ schema: todoSchema, identity: o, access: { owner: o } });
    expect(s.access!.role()).toBe('admin');
    await expect(s.access!.add('nobody', 'writer')).rejects.toThrow(/invalid_argument/);
    const other = await mycelium.createIdentity();
    const t = await mycelium.open({ schema: todoSchema, identity: other, access: { owner: o } });
    await expect(t.access!.add(other.principal, 'admin')).rejects.toThrow(/forbidden/);
    expect((await mycelium.open({ schema: todoSchema })).access).toBe(null);
    s.close();
    t.close();
  });

  it('through the Node peer (a writer member): members sync over real WebSockets, a reader’s forced write is refused at the relay, a stranger gets nothing', async () => {
    const [o, n, w, r, x] = await Promise.all([1, 2, 3, 4, 5].map(() => mycelium.createIdentity()));
    const owner = await member(o!, o!.principal);
    await owner.access!.add(n!.principal, 'writer');
    await owner.access!.add(w!.principal, 'writer');
    await owner.access!.add(r!.principal, 'reader');
    // The relay knows only the owner; it learns the rest from the owner's log.
    const relay = await member(n!, o!.principal);
    const adapter = mycelium.webSocketServer({ port: 0 });
    const relayErrors = errorsOf(relay.connect(adapter, FAST));
    const url = await adapter.listening;
    owner.connect(mycelium.webSocket(url), FAST);
    await until('the relay learned the membership', () => relay.access!.role(w!.principal) === 'writer');
    const writer = await member(w!, o!.principal);
    writer.connect(mycelium.webSocket(url), FAST);
    owner.collection('todos').insert({ id: 'a', title: 'from the owner', done: false, votes: 0 });
    await until('the writer has it through the relay', () => writer.collection('todos').get('a') !== undefined);
    writer.collection('todos').insert({ id: 'b', title: 'from the writer', done: false, votes: 0 });
    await until('the owner has the writer’s record through the relay', () => owner.collection('todos').get('b') !== undefined);

    const reader = await member(r!, o!.principal);
    reader.connect(mycelium.webSocket(url), FAST);
    await until('the reader has both', () => reader.collection('todos').get('b') !== undefined);
    reader.access!.role = () => 'writer';
    reader.collection('todos').update('a', (rec) => rec.set('title', 'forged'));
    await until('the relay refused the reader’s delta', () => relayErrors.some((e) => e.error.code === 'forbidden'));
    await sleep(100);
    for (const s of [relay, owner, writer]) expect(s.collection('todos').get('a')!.title).toBe('from the owner');

    const stranger = await member(x!, o!.principal);
    const strangerErrors = errorsOf(stranger.connect(mycelium.webSocket(url), FAST));
    await until('the stranger was refused', () => strangerErrors.some((e) => e.error.code === 'unauthorized'));
    expect(stranger.collection('todos').all()).toEqual([]);
    expect(stranger.access!.members()).toEqual([{ principal: o!.principal, role: 'admin' }]);
    for (const s of [owner, relay, writer, reader, stranger]) s.close();
  });

  it('a user with two devices: each joins with its certificate through any member, writes as the user, and loses access with the user', async () => {
    const [o, user, phone, laptop] = await Promise.all([1, 2, 3, 4].map(() => mycelium.createIdentity()));
    const owner = await member(o!, o!.principal);
    await owner.access!.add(user!.principal, 'writer');
    owner.collection('todos').insert({ id: 'a', title: 'from the owner', done: false, votes: 0 });
    // The user key stays where it is (it never opens the store): it only certifies its devices.
    const onPhone = await mycelium.open({ schema: todoSchema, name: 'todo', identity: phone!, access: { owner: o!.principal, certificate: await mycelium.certifyDevice(user!, phone!.principal) } });
    const onLaptop = await mycelium.open({ schema: todoSchema, name: 'todo', identity: laptop!, access: { owner: o!.principal, certificate: await mycelium.certifyDevice(user!, laptop!.principal) } });
    expect(onPhone.access!.role()).toBe('none'); // it has not seen the user's grant yet
    const hub = new mycelium.MemoryHub();
    const ownerErrors = errorsOf(owner.connect(hub.adapter('O'), FAST));
    const phoneErrors = errorsOf(onPhone.connect(hub.adapter('P'), FAST));
    await until('the phone joined as the user', () => onPhone.access!.role() === 'writer' && onPhone.collection('todos').get('a') !== undefined);
    onPhone.collection('todos').insert({ id: 'p', title: 'from the phone', done: false, votes: 0 });
    await until('the owner has the phone’s record', () => owner.collection('todos').get('p') !== undefined);
    expect(owner.access!.members()).toContainEqual({ principal: phone!.principal, role: 'writer', user: user!.principal });
    // The laptop meets only the phone (the owner's link to it is cut): the phone relays its batches on.
    hub.partition([['O'], ['P', 'L']]);
    const laptopErrors = errorsOf(onLaptop.connect(hub.adapter('L'), FAST));
    await until('the laptop joined through the phone', () => onLaptop.access!.role() === 'writer' && onLaptop.collection('todos').get('p') !== undefined);
    onLaptop.collection('todos').insert({ id: 'l', title: 'from the laptop', done: false, votes: 0 });
    hub.heal();
    await until('the owner has the laptop’s record', () => owner.collection('todos').get('l') !== undefined);
    // A device is no admin for its user, even when the user is one.
    await expect(onLaptop.access!.add(o!.principal, 'reader')).rejects.toMatchObject({ code: 'forbidden' });
    // The user is removed: the owner ends both devices' sessions.
    await owner.access!.remove(user!.principal);
    await until('both devices were cut off', () => [phoneErrors, laptopErrors].every((e) => e.some((x) => x.error.code === 'unauthorized')));
    expect(owner.access!.role(phone!.principal)).toBe('none');
    expect(owner.access!.role(laptop!.principal)).toBe('none');
    expect(ownerErrors.filter((e) => e.error.code !== 'unauthorized')).toEqual([]);
    // A certificate for another key, or an expired one, does not open the store.
    const other = await mycelium.certifyDevice(user!, o!.principal);
    expect(await codeOfAsync(mycelium.open({ schema: todoSchema, name: 'todo', identity: phone!, access: { owner: o!.principal, certificate: other } }))).toBe('invalid_argument');
    expect(await codeOfAsync(mycelium.open({ schema: todoSchema, name: 'todo', identity: phone!, access: { owner: o!.principal, certificate: 'myc-device-1.xx' } }))).toBe('corrupt');
    for (const s of [owner, onPhone, onLaptop]) s.close();
  });

  it('pause() and resume() on either side, during the handshake or after it: the session starts over and both sides sync again', async () => {
    const [o, w] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity()]);
    // Without faults, then with late copies of earlier sessions' auth-hellos (duplicates, reorders).
    for (const [delay, faults] of [[0, null], [5, null], [100, null], [0, { duplicate: 0.2, reorder: 0.2 }], [30, { duplicate: 0.2, reorder: 0.2 }]] as const) {
      const owner = await member(o, o.principal);
      await owner.access!.add(w.principal, 'writer');
      const writer = await member(w, o.principal);
      owner.collection('todos').insert({ id: 'a', title: `${delay}`, done: false, votes: 0 });
      const hub = faults ? new mycelium.MemoryHub({ faults, random: rng(delay + 1) }) : new mycelium.MemoryHub();
      const ownerSync = owner.connect(hub.adapter('O'), FAST);
      const writerSync = writer.connect(hub.adapter('W'), FAST);
      const errors = [...errorsOf(ownerSync), ...errorsOf(writerSync)];
      await sleep(delay);
      writerSync.pause();
      await sleep(20);
      writerSync.resume();
      await until(`the writer has the record (paused ${delay} ms in)`, () => writer.collection('todos').get('a') !== undefined);
      writer.collection('todos').insert({ id: 'b', title: 'from the writer', done: false, votes: 0 });
      await until('the owner has the writer’s record', () => owner.collection('todos').get('b') !== undefined);
      ownerSync.pause();
      await sleep(20);
      ownerSync.resume();
      owner.collection('todos').insert({ id: 'c', title: 'after the owner resumed', done: false, votes: 0 });
      await until('the writer has it', () => writer.collection('todos').get('c') !== undefined);
      expect(errors).toEqual([]);
      owner.close();
      writer.close();
    }
  });

  it('invites: a device that holds only a token joins through any member; a second use, and one after expiry, fail', async () => {
    const [o, w, d, e] = await Promise.all([1, 2, 3, 4].map(() => mycelium.createIdentity()));
    const owner = await member(o!, o!.principal);
    await owner.access!.add(w!.principal, 'writer');
    owner.collection('todos').insert({ id: 'a', title: 'from the owner', done: false, votes: 0 });
    const token = await owner.access!.invite('writer', { expires: Date.now() + 60_000 });
    const writer = await member(w!, o!.principal);
    const hub = new mycelium.MemoryHub();
    owner.connect(hub.adapter('O'), FAST);
    writer.connect(hub.adapter('W'), FAST);
    await until('the writer has the record', () => writer.collection('todos').get('a') !== undefined);
    owner.close(); // the device meets only the writer, which has never seen it
    const device = await mycelium.open({ schema: todoSchema, name: 'todo', identity: d!, access: { invite: token } });
    expect(device.access!.role()).toBe('none');
    device.connect(hub.adapter('D'), FAST);
    await until('the device is a writer with the record', () => device.access!.role() === 'writer' && device.collection('todos').get('a') !== undefined);
    device.collection('todos').insert({ id: 'd', title: 'from the new device', done: false, votes: 0 });
    await until('the writer has the device’s record', () => writer.collection('todos').get('d') !== undefined);
    // The same token again, on another device: refused, and it learns nothing.
    const again = await mycelium.open({ schema: todoSchema, name: 'todo', identity: e!, access: { invite: token } });
    const errors = errorsOf(again.connect(hub.adapter('E'), FAST));
    await until('the second use is refused', () => errors.some((x) => x.error.code === 'unauthorized'));
    await sleep(50);
    expect(again.collection('todos').all()).toEqual([]);
    expect(writer.access!.role(e!.principal)).toBe('none');
    // Expired, and not an invite at all.
    const owner2 = await member(o!, o!.principal);
    const soon = await owner2.access!.invite('reader', { expires: Date.now() + 20 });
    await sleep(40);
    expect(await codeOfAsync(mycelium.open({ schema: todoSchema, name: 'todo', identity: e!, access: { invite: soon } }))).toBe('forbidden');
    expect(await codeOfAsync(mycelium.open({ schema: todoSchema, name: 'todo', identity: e!, access: { invite: 'myc-invite-1.garbage' } }))).toBe('corrupt');
    expect(await codeOfAsync(mycelium.open({ schema: todoSchema, name: 'other', identity: e!, access: { invite: token } }))).toBe('invalid_argument');
    // A non-admin cannot invite.
    expect(await codeOfAsync(writer.access!.invite('reader'))).toBe('forbidden');
    for (const s of [writer, device, again, owner2]) s.close();
  });

  it('a persisted protected store whose schema changed a field’s kind is not migrated (its writes could not be signed): schema_mismatch', async () => {
    const o = await mycelium.createIdentity();
    const storage = mycelium.memoryStorage();
    const first = await mycelium.open({ schema: todoSchema, name: 'kinds', identity: o, access: { owner: o.principal }, persist: storage });
    first.collection('todos').insert({ id: 'a', title: 'kept', done: false, votes: 0 });
    await first.flush();
    await first.close();
    const changed = { ...todoSchema, todos: { ...todoSchema.todos, title: 'mvr' as const } };
    const migrate = () => ({});
    expect(await codeOfAsync(mycelium.open({ schema: changed, name: 'kinds', identity: o, access: { owner: o.principal }, persist: storage, migrate }))).toBe('schema_mismatch');
    const again = await mycelium.open({ schema: todoSchema, name: 'kinds', identity: o, access: { owner: o.principal }, persist: storage });
    expect(again.collection('todos').get('a')?.title).toBe('kept');
    again.close();
  });
});
