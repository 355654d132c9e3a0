// Persistence in Node: the adapter contract against memoryStorage and
// fileStorage, then stores opened with persist: reopen, compaction, stores
// sharing a name (BroadcastChannel, as tabs do), schema changes, damaged
// data, failed writes, and real crashes (SIGKILL) of a writing process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS shared with the browser suite
import { adapterContract } from '../../tests-browser/shared/adapter-contract.js';
import type { Types } from './helpers.js';
import { clock, equalBytes, mycelium, rng, todoSchema } from './helpers.js';
import { fileStorage } from 'mycelium-sync';

const { open, memoryStorage, MyceliumError } = mycelium;
type Contract = [string, (make: () => Types.StorageAdapter, prefix: string) => Promise<void>][];

const tmp = () => mkdtempSync(join(tmpdir(), 'myc-storage-'));

describe('the adapter contract', () => {
  for (const [name, run] of adapterContract as Contract) {
    it(`memoryStorage: ${name}`, async () => {
      const a = memoryStorage();
      await run(() => a, 't-');
    });
    it(`fileStorage: ${name}`, async () => {
      const dir = tmp();
      await run(() => fileStorage(dir), 't-');
    });
  }
});

async function fill(store: Types.Store<typeof todoSchema>, n: number, from = 0) {
  const todos = store.collection('todos');
  for (let i = from; i < from + n; i++) todos.insert({ id: `t${i}`, title: `todo ${i}`, votes: i % 7, tags: [i % 3], owner: 'me' });
}

describe('persisted stores', () => {
  it('write, flush, close, reopen: every record is there (fileStorage, 100,000 records)', async () => {
    const dir = tmp();
    const a = await open({ name: 'big', schema: todoSchema, persist: fileStorage(dir), now: clock() });
    expect(a.persisted).toBe(true);
    await fill(a, 100_000);
    a.collection('notes').insert({ id: 'n', body: 'hello' });
    await a.flush();
    const snap = a.save();
    a.close();
    const b = await open({ name: 'big', schema: todoSchema, persist: fileStorage(dir) });
    expect(b.collection('todos').size).toBe(100_000);
    expect(b.collection('todos').get('t99999')).toEqual({ id: 't99999', title: 'todo 99999', done: null, votes: 99999 % 7, tags: [0], owner: ['me'] });
    expect(equalBytes(b.save(), snap)).toBe(true);
    expect(b.actor).toBe(a.actor); // a reopened store is the actor it was (a's lease was given back)
    b.close();
  }, 60_000);

  it('close() without flush() still hands the last changes to storage', async () => {
    const storage = memoryStorage();
    const a = await open({ name: 'c', schema: todoSchema, persist: storage });
    a.collection('todos').insert({ id: 'late', title: 'written at close' });
    a.close();
    await new Promise((r) => setTimeout(r, 20));
    const b = await open({ name: 'c', schema: todoSchema, persist: storage });
    expect(b.collection('todos').get('late')?.title).toBe('written at close');
  });

  it('one blob per task, and compaction folds the log into the snapshot', async () => {
    const storage = memoryStorage();
    const a = await open({ name: 'k', schema: todoSchema, persist: storage, compactAfterBytes: 4096 });
    await fill(a, 10);
    await a.flush();
    expect(storage.stores.get('k')!.log.length).toBe(1); // ten inserts, one blob
    for (let round = 0; round < 30; round++) {
      await fill(a, 20, 100 + round * 20);
      await a.flush();
    }
    const st = storage.stores.get('k')!;
    expect(st.snapshot).not.toBeNull();
    expect(st.log.length).toBeLessThan(31);
    const b = await open({ name: 'k', schema: todoSchema, persist: storage });
    expect(b.collection('todos').size).toBe(610);
    expect(equalBytes(b.save(), a.save())).toBe(true);
  });

  it('a peer delta that goes pending while a compaction waits for storage is not blamed on the log (issue 14)', async () => {
    // Compaction's fold is held until the test lets it run; meanwhile a peer's
    // delta arrives that must wait for another (pending). Compaction must
    // succeed: the pending delta is not the log's.
    const inner = memoryStorage();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let compactions = 0;
    let waiting = false;
    const gated: Types.StorageAdapter = {
      load: (n) => inner.load(n),
      setMeta: (n, m) => inner.setMeta(n, m),
      append: (n, b) => inner.append(n, b),
      clear: (n) => inner.clear(n),
      close: () => inner.close(),
      compact: async (n, fold, m) => {
        waiting = true;
        await gate;
        compactions++;
        return inner.compact(n, fold, m);
      },
    };
    const a = await open({ name: 'g', schema: todoSchema, persist: gated, compactAfterBytes: 512 });
    const errors: string[] = [];
    a.onError((e) => errors.push(e.message));
    await fill(a, 40);
    void a.flush();
    await until(() => waiting); // the log outgrew 512 bytes: compaction waits at the gate
    const peer = await open({ name: 'g', schema: todoSchema });
    peer.collection('todos').insert({ id: 'p1', title: 'first' });
    const seen = peer.version();
    peer.collection('todos').insert({ id: 'p2', title: 'second' });
    expect(a.applyDelta(peer.deltaSince(seen))).toBe('pending');
    release();
    await until(() => compactions > 0);
    await a.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(errors).toEqual([]);
    expect(inner.stores.get('g')!.snapshot).not.toBeNull();
    expect(inner.stores.get('g')!.log.length).toBe(0);
    // The held delta joins when its predecessor comes.
    expect(a.applyDelta(peer.deltaSince({}))).toBe('applied');
    expect(a.pending).toBe(0);
    expect(a.collection('todos').get('p2')?.title).toBe('second');
    peer.close();
    a.close();
  });

  it('stores sharing a name share changes live and compaction keeps both exactly once', async () => {
    const storage = memoryStorage();
    const a = await open({ name: 'tabs', schema: todoSchema, persist: storage, compactAfterBytes: 2048 });
    const b = await open({ name: 'tabs', schema: todoSchema, persist: storage, compactAfterBytes: 2048 });
    const seen: string[] = [];
    const errors: string[] = [];
    a.onError((e) => errors.push(`a: ${e.message}`));
    b.onError((e) => errors.push(`b: ${e.message}`));
    b.collection('todos').subscribe((cs) => seen.push(...cs.filter((c) => c.origin === 'remote').map((c) => c.id)));
    const r = rng(7);
    for (let round = 0; round < 40; round++) {
      // Both write in the same task, then both flush: concurrent appends and compactions.
      await fill(a, 3, round * 10);
      await fill(b, 3, 5000 + round * 10);
      a.collection('todos').update(`t${round * 10}`, (w) => w.increment('votes', 1));
      if (r() < 0.5) b.collection('notes').insert({ body: `b${round}` });
      await Promise.all([a.flush(), b.flush()]);
    }
    await new Promise((res) => setTimeout(res, 50)); // BroadcastChannel delivery
    expect(errors).toEqual([]);
    expect(seen).toContain('t0');
    expect(b.version()).toEqual(a.version());
    expect(b.collection('todos').all()).toEqual(a.collection('todos').all());
    expect(equalBytes(a.save(), b.save())).toBe(true);
    const c = await open({ name: 'tabs', schema: todoSchema, persist: storage });
    expect(c.collection('todos').size).toBe(240);
    expect(equalBytes(c.save(), a.save())).toBe(true);
    expect(c.collection('todos').get('t0')!.votes).toBe(1); // counted once
  });

  it('schema changes: a new field or collection opens; a kind change needs migrate', async () => {
    const storage = memoryStorage();
    const a = await open({ name: 's', schema: todoSchema, persist: storage });
    a.collection('todos').insert({ id: 'x', title: 'keep', votes: 3, owner: 'ann' });
    await a.flush();
    a.close();
    const grown = { ...todoSchema, todos: { ...todoSchema.todos, due: 'lww' }, tags: { name: 'lww' } } as const;
    const b = await open({ name: 's', schema: grown, persist: storage });
    expect(b.collection('todos').get('x')).toMatchObject({ title: 'keep', votes: 3, due: null });
    b.collection('tags').insert({ id: 'g', name: 'new collection' });
    await b.flush();
    b.close();
    const changed = { todos: { title: 'lww', done: 'lww', votes: 'lww', tags: 'set', owner: 'mvr', due: 'lww' }, notes: { body: 'lww' }, tags: { name: 'lww' } } as const;
    await expect(open({ name: 's', schema: changed, persist: storage })).rejects.toMatchObject({ code: 'schema_mismatch' });
    const m = await open({
      name: 's',
      schema: changed,
      persist: storage,
      migrate: (collection, r) => (collection === 'todos' ? { title: r.title, votes: `${String(r.votes)} votes`, tags: r.tags, owner: (r.owner as unknown[])[0] ?? null } : { ...r }),
    });
    expect(m.collection('todos').get('x')).toMatchObject({ title: 'keep', votes: '3 votes', owner: ['ann'] });
    expect(m.collection('tags').get('g')!.name).toBe('new collection');
    await m.flush();
    m.close();
    const again = await open({ name: 's', schema: changed, persist: storage }); // no migrate needed now
    expect(again.collection('todos').get('x')!.votes).toBe('3 votes');
    again.close();
    // A removed field or collection needs no migration: the older or newer
    // app that still declares it finds its data again (issue 16).
    const smaller = { todos: { title: 'lww', votes: 'lww' } } as const;
    const s2 = await open({ name: 's', schema: smaller, persist: storage });
    expect(s2.collection('todos').get('x')).toEqual({ id: 'x', title: 'keep', votes: '3 votes' });
    s2.collection('todos').update('x', (w) => w.set('title', 'kept by the smaller app'));
    await s2.flush();
    s2.close();
    const s3 = await open({ name: 's', schema: changed, persist: storage });
    expect(s3.collection('todos').get('x')).toMatchObject({ title: 'kept by the smaller app', votes: '3 votes', owner: ['ann'] });
    expect(s3.collection('tags').get('g')!.name).toBe('new collection');
    s3.close();
  });

  it('an old and a new version of the app open one store at once (two tabs after a deploy): both live, nothing lost', async () => {
    const v1 = { todos: { title: 'lww', done: 'lww' } } as const;
    const v2 = { todos: { title: 'lww', done: 'lww', due: 'lww' }, notes: { body: 'lww' } } as const;
    const storage = memoryStorage();
    const old = await open({ name: 'deploy', schema: v1, persist: storage, compactAfterBytes: 256 });
    const next = await open({ name: 'deploy', schema: v2, persist: storage, compactAfterBytes: 256 });
    next.collection('todos').insert({ id: 't', title: 'new tab', due: 'friday' });
    next.collection('notes').insert({ id: 'n', body: 'a note' });
    await next.flush();
    await until(() => old.collection('todos').has('t'));
    expect(old.collection('todos').get('t')).toEqual({ id: 't', title: 'new tab', done: null });
    for (let i = 0; i < 20; i++) old.collection('todos').insert({ id: `o${i}`, title: 'x'.repeat(40), done: false }); // compacts
    old.collection('todos').update('t', (w) => w.set('done', true));
    await old.flush();
    await until(() => next.collection('todos').get('t')?.done === true);
    old.close();
    next.close();
    // The old tab's compactions kept what it does not declare.
    const reopened = await open({ name: 'deploy', schema: v2, persist: storage });
    expect(reopened.collection('todos').get('t')).toEqual({ id: 't', title: 'new tab', done: true, due: 'friday' });
    expect(reopened.collection('notes').get('n')!.body).toBe('a note');
    expect(reopened.collection('todos').size).toBe(21);
    reopened.close();
  });

  it('a migration is deterministic: devices that migrate the same data independently join as one (no doubled counters, deletes stay)', async () => {
    const v1 = { todos: { title: 'lww', votes: 'counter', tags: 'set', owner: 'mvr' } } as const;
    const v2 = { todos: { title: 'lww', votes: 'counter', tags: 'set', owner: 'lww' } } as const;
    const migrate = (_c: string, r: { readonly [f: string]: unknown }) => ({ title: r.title, votes: r.votes, tags: r.tags, owner: (r.owner as unknown[])[0] ?? null });
    // The same old data on two devices (each joined it from the same snapshot).
    const origin = await open({ schema: v1 });
    for (let i = 0; i < 30; i++) origin.collection('todos').insert({ id: `t${i}`, title: `todo ${i}`, votes: i, tags: ['a', `t${i % 3}`], owner: i % 2 ? 'ann' : 'bob' });
    const old = origin.save();
    const devices = [memoryStorage(), memoryStorage(), memoryStorage()];
    for (const storage of devices) {
      const s = await open({ name: 'm', schema: v1, persist: storage });
      s.applyDelta(old);
      await s.flush();
      s.close();
    }
    const [a, b] = [await open({ name: 'm', schema: v2, persist: devices[0], migrate }), await open({ name: 'm', schema: v2, persist: devices[1], migrate })];
    // Each device writes on under an actor of its own, not the migration's.
    expect(a.actor).not.toBe(b.actor);
    expect(a.version()[a.actor]).toBeUndefined();
    expect(equalBytes(a.save(), b.save())).toBe(true); // byte-identical migrated state
    expect(a.collection('todos').get('t5')).toEqual({ id: 't5', title: 'todo 5', votes: 5, tags: ['a', 't2'], owner: 'ann' });
    // a deletes a record and counts a vote, then meets c, which migrates only now.
    a.collection('todos').delete('t7');
    a.collection('todos').update('t5', (r) => r.increment('votes', 1));
    const c = await open({ name: 'm', schema: v2, persist: devices[2], migrate });
    expect(c.applyDelta(a.deltaSince(c.version()))).toBe('applied');
    expect(a.applyDelta(c.deltaSince(a.version()))).toBe('covered');
    expect(b.applyDelta(a.deltaSince(b.version()))).toBe('applied');
    for (const s of [a, b, c]) {
      expect(s.collection('todos').get('t7')).toBeUndefined(); // stays deleted
      expect(s.collection('todos').get('t5')!.votes).toBe(6); // 5 once, plus a's vote: not doubled
      expect(s.collection('todos').get('t9')!.tags).toEqual(['a', 't0']); // set entries not duplicated
      expect(s.collection('todos').size).toBe(29);
    }
    expect(equalBytes(a.save(), c.save())).toBe(true);
    expect(equalBytes(a.save(), b.save())).toBe(true);
    for (const s of [a, b, c, origin]) s.close();
    // A migration that is not a pure function of the record is refused, and the stored data stays.
    const d = memoryStorage();
    const s = await open({ name: 'm', schema: v1, persist: d });
    s.applyDelta(old);
    await s.flush();
    s.close();
    let calls = 0;
    const impure = (_c: string, r: { readonly [f: string]: unknown }) => ({ ...migrate(_c, r), title: `${String(r.title)} (${calls++})` });
    await expect(open({ name: 'm', schema: v2, persist: d, migrate: impure })).rejects.toMatchObject({ code: 'invalid_argument' });
    const still = await open({ name: 'm', schema: v1, persist: d });
    expect(still.collection('todos').size).toBe(30);
    still.close();
  });

  it('damaged data: a clear code, nothing lost; recover opens what is readable', async () => {
    const dir = tmp();
    const a = await open({ name: 'd', schema: todoSchema, persist: fileStorage(dir), compactAfterBytes: 1 << 30 });
    a.collection('todos').insert({ id: 'one', title: 'first batch' });
    await a.flush();
    a.collection('todos').insert({ id: 'two', title: 'second batch' });
    await a.flush();
    a.close();
    await new Promise((r) => setTimeout(r, 20));
    const logPath = join(dir, 'd', 'log.bin');
    const good = readFileSync(logPath);
    const bad = Buffer.from(good);
    bad[bad.length - 3]! ^= 0x55; // inside the second blob's payload
    writeFileSync(logPath, bad);
    const err = await open({ name: 'd', schema: todoSchema, persist: fileStorage(dir) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MyceliumError);
    expect((err as InstanceType<typeof MyceliumError>).code).toBe('corrupt');
    expect(String((err as Error).message)).toMatch(/entry 2 of 2/);
    expect(equalBytes(readFileSync(logPath), bad)).toBe(true); // the failed open changed nothing
    const r = await open({ name: 'd', schema: todoSchema, persist: fileStorage(dir), recover: true });
    expect(r.collection('todos').get('one')?.title).toBe('first batch');
    expect(r.collection('todos').has('two')).toBe(false);
    expect(r.recovered.map((i) => i.what)).toEqual(['log entry 2']);
    r.close();
    // A torn last record (a crash mid-append) is not an error: it was never acknowledged.
    writeFileSync(logPath, Buffer.concat([good, Buffer.from([200, 0, 0, 0, 1, 2, 3])]));
    const t = await open({ name: 'd', schema: todoSchema, persist: fileStorage(dir) });
    expect(t.collection('todos').ids()).toEqual(['one', 'two']);
    t.close();
  });

  it('a meta record whose schema does not match its hash is corrupt; the hash ignores declaration order', async () => {
    const reordered = { notes: { body: 'lww' }, todos: { owner: 'mvr', tags: 'set', votes: 'counter', done: 'lww', title: 'lww' } } as const;
    expect(mycelium.schemaHash(reordered)).toBe(mycelium.schemaHash(todoSchema));
    expect(mycelium.schemaHash({ ...todoSchema, notes: { body: 'mvr' } })).not.toBe(mycelium.schemaHash(todoSchema));
    const storage = memoryStorage();
    const a = await open({ name: 'm', schema: todoSchema, persist: storage });
    a.collection('notes').insert({ body: 'x' });
    await a.flush();
    a.close();
    const b = await open({ name: 'm', schema: reordered, persist: storage }); // same schema, other order: no rewrite needed
    expect(b.collection('notes').size).toBe(1);
    b.close();
    await storage.setMeta('m', { format: 1, schema: { ...todoSchema, notes: { body: 'counter' } }, schemaHash: mycelium.schemaHash(todoSchema) });
    await expect(open({ name: 'm', schema: todoSchema, persist: storage })).rejects.toMatchObject({ code: 'corrupt' });
  });

  it('data from a newer storage format is refused with unsupported_version', async () => {
    const storage = memoryStorage();
    await storage.setMeta('future', { format: 2, schema: todoSchema, schemaHash: mycelium.schemaHash(todoSchema) });
    await expect(open({ name: 'future', schema: todoSchema, persist: storage })).rejects.toMatchObject({ code: 'unsupported_version' });
    const s = await open({ name: 'blobs', schema: todoSchema });
    s.collection('todos').insert({ title: 'x' });
    const blob = s.deltaSince();
    blob[3] = 9; // the frame's format version
    await storage.append('blobs', [blob]);
    await expect(open({ name: 'blobs', schema: todoSchema, persist: storage })).rejects.toMatchObject({ code: 'unsupported_version' });
  });

  it('a failed write (quota) rejects flush() with its code, keeps the changes and retries', async () => {
    const storage = memoryStorage();
    const a = await open({ name: 'q', schema: todoSchema, persist: storage });
    const errors: string[] = [];
    a.onError((e) => errors.push(e.code));
    storage.failNext(new MyceliumError('quota_exceeded', 'test: no room'));
    a.collection('todos').insert({ id: 'kept', title: 'in memory' });
    await expect(a.flush()).rejects.toMatchObject({ code: 'quota_exceeded' });
    expect(errors).toContain('quota_exceeded');
    expect(a.collection('todos').get('kept')?.title).toBe('in memory');
    await a.flush(); // storage has room again
    const b = await open({ name: 'q', schema: todoSchema, persist: storage });
    expect(b.collection('todos').get('kept')?.title).toBe('in memory');
  });

  it('a failed compaction is reported, loses nothing, and the write it followed still resolves', async () => {
    const inner = memoryStorage();
    let failCompaction = true;
    const storage: Types.StorageAdapter = {
      ...inner,
      compact: (name, fold, meta) => {
        if (failCompaction) {
          failCompaction = false;
          return Promise.reject(new MyceliumError('quota_exceeded', 'test: no room for the snapshot'));
        }
        return inner.compact(name, fold, meta);
      },
    };
    const a = await open({ name: 'cf', schema: todoSchema, persist: storage, compactAfterBytes: 1024 });
    const errors: string[] = [];
    a.onError((e) => errors.push(e.code));
    await fill(a, 200);
    await a.flush(); // the append succeeded; the compaction after it failed
    expect(errors).toEqual(['quota_exceeded']);
    expect(inner.stores.get('cf')!.snapshot).toBeNull();
    await fill(a, 200, 1000);
    await a.flush(); // compacts this time
    expect(inner.stores.get('cf')!.snapshot).not.toBeNull();
    expect(inner.stores.get('cf')!.log.length).toBe(0);
    const b = await open({ name: 'cf', schema: todoSchema, persist: storage });
    expect(b.collection('todos').size).toBe(400);
  });

  it('persist takes true, false or an adapter; not a snapshot as well', async () => {
    await expect(open({ schema: todoSchema, persist: 'yes' as never })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(open({ schema: todoSchema, persist: memoryStorage(), snapshot: new Uint8Array() })).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});

describe('actors are reused (DESIGN.md, Causality)', () => {
  it('100 reopens of one store are one actor, and its seqs go on from where they were', async () => {
    for (const [what, storage] of [['fileStorage', fileStorage(tmp())], ['memoryStorage', memoryStorage()]] as const) {
      const actors = new Set<string>();
      let seq = 0;
      for (let i = 0; i < 100; i++) {
        const s = await open({ name: 'reload', schema: todoSchema, persist: storage });
        actors.add(s.actor);
        // Its seqs go on from the last one it wrote, none skipped or reused.
        expect(s.version()[s.actor] ?? 0, `${what}, reopen ${i}`).toBe(seq);
        const t = s.collection('todos');
        if (!t.has('visits')) t.insert({ id: 'visits', votes: 0 });
        t.update('visits', (w) => w.increment('votes', 1));
        seq = s.version()[s.actor]!;
        // Half of the cycles close without waiting for the write.
        if (i % 2 === 0) await s.flush();
        s.close();
      }
      const s = await open({ name: 'reload', schema: todoSchema, persist: storage });
      expect([...actors], what).toHaveLength(1);
      expect(Object.keys(s.version()), what).toEqual([...actors]);
      expect(s.collection('todos').get('visits')!.votes, what).toBe(100);
      s.close();
    }
  });

  it('3 stores of one name open at once, 50 reopen cycles: at most 3 actors', async () => {
    const storage = fileStorage(tmp());
    const actors = new Set<string>();
    const r = rng(7);
    let open3 = await Promise.all([0, 1, 2].map(() => open({ name: 'tabs', schema: todoSchema, persist: storage })));
    for (let cycle = 0; cycle < 50; cycle++) {
      for (const s of open3) {
        actors.add(s.actor);
        s.collection('todos').insert({ id: `c${cycle}-${s.actor}`, votes: 1 });
      }
      // The "tabs" reload one at a time, in a random order: each takes a free actor.
      const order = [0, 1, 2].sort(() => r() - 0.5);
      for (const i of order) {
        open3[i]!.close();
        open3[i] = await open({ name: 'tabs', schema: todoSchema, persist: storage });
      }
    }
    expect(new Set(open3.map((s) => s.actor)).size).toBe(3); // never two at once on one actor
    for (const s of open3) actors.add(s.actor);
    expect(actors.size).toBeLessThanOrEqual(3);
    await Promise.all(open3.map((s) => s.flush()));
    expect(open3[0]!.collection('todos').size).toBe(150);
    for (const s of open3) s.close();
  });

  it('an actor given by the app is used as given, and an open store never shares its actor', async () => {
    const storage = memoryStorage();
    const mine = '00000000000000aa';
    const a = await open({ name: 'given', schema: todoSchema, persist: storage, actor: mine });
    const b = await open({ name: 'given', schema: todoSchema, persist: storage });
    const c = await open({ name: 'given', schema: todoSchema, persist: storage });
    expect(a.actor).toBe(mine);
    expect(new Set([a.actor, b.actor, c.actor]).size).toBe(3);
    for (const s of [a, b, c]) s.close();
  });
});

describe('crash safety (fileStorage)', () => {
  // A child process writes batches and prints each batch number once its
  // flush() resolved; it is killed with SIGKILL at a random moment. Every
  // printed batch must be there after reopening, and the store opens cleanly.
  const child = `
    const { open, fileStorage } = await import(${JSON.stringify(new URL('../../dist/node.js', import.meta.url).href)});
    const schema = ${JSON.stringify(todoSchema)};
    const store = await open({ name: 'crash', schema, persist: fileStorage(process.argv[1]), compactAfterBytes: 8192 });
    for (let batch = 0; ; batch++) {
      const todos = store.collection('todos');
      for (let i = 0; i < 20; i++) todos.insert({ id: 'b' + batch + '-' + i, title: 'x'.repeat(i), votes: i });
      await store.flush();
      process.stdout.write(batch + '\\n');
    }`;

  it('killed mid-write and reopened: the same actor, and a peer that kept the old data agrees with what it writes next', async () => {
    // The writer syncs with a peer (over a WebSocket) while it writes; no seq
    // the peer saw may be handed out again with other content after the kill.
    const writer = `
      const { open, fileStorage, webSocket } = await import(${JSON.stringify(new URL('../../dist/node.js', import.meta.url).href)});
      const schema = ${JSON.stringify(todoSchema)};
      // A slow disk: each append takes 200 ms more, a window in which writes
      // exist that are not durable yet (and must not reach the peer).
      const disk = fileStorage(process.argv[1]);
      const slow = { ...disk, append: (name, blobs) => new Promise((r) => setTimeout(r, 200)).then(() => disk.append(name, blobs)) };
      const store = await open({ name: 'crash', schema, persist: slow, compactAfterBytes: 4096 });
      process.stdout.write('actor ' + store.actor + '\\n');
      store.connect(webSocket(process.argv[2]));
      const t = store.collection('todos');
      if (!t.has('hot')) t.insert({ id: 'hot', title: 'start', votes: 0 });
      for (let batch = 0; ; batch++) {
        for (let i = 0; i < 10; i++) t.insert({ id: 'b' + batch + '-' + i + '-' + Math.random(), title: String(Math.random()) });
        t.update('hot', (w) => w.set('title', String(Math.random())).increment('votes', 1));
        await store.flush();
        process.stdout.write(batch + '\\n');
        await new Promise((r) => setTimeout(r, 1));
      }`;
    const r = rng(4242);
    for (let run = 0; run < 6; run++) {
      const dir = tmp();
      const peer = await open({ schema: todoSchema, name: 'crash' });
      const server = mycelium.webSocketServer({ port: 0 });
      const ps = peer.connect(server);
      const url = await server.listening;
      let actor = '';
      await new Promise<void>((resolve) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', writer, dir, url], { stdio: ['ignore', 'pipe', 'inherit'] });
        let buf = '';
        let acked = 0;
        const target = 1 + Math.floor(r() * 5);
        p.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop()!;
          for (const l of lines) {
            if (l.startsWith('actor ')) actor = l.slice(6);
            else acked++;
          }
          if (acked === target) setTimeout(() => p.kill('SIGKILL'), 20 + Math.floor(r() * 150));
        });
        p.on('exit', () => resolve());
      });
      const seen = peer.version()[actor] ?? 0;
      expect(seen, `run ${run}: the peer heard from the writer`).toBeGreaterThan(0);
      const s = await open({ name: 'crash', schema: todoSchema, persist: fileStorage(dir) });
      expect(s.actor, `run ${run}: the reopened store is the same actor`).toBe(actor);
      // Nothing the peer has of this actor is missing here: it was durable before it left.
      expect(s.version()[actor]!, `run ${run}`).toBeGreaterThanOrEqual(seen);
      // New writes under the reused actor, then sync both ways.
      const t = s.collection('todos');
      t.update('hot', (w) => w.set('title', 'after the crash').increment('votes', 1));
      for (let i = 0; i < 5; i++) t.insert({ id: `after-${i}`, title: `after ${i}` });
      const again = mycelium.webSocketServer({ port: 0 });
      peer.connect(again);
      const ss = s.connect(mycelium.webSocket(await again.listening));
      await ss.whenSynced({ timeout: 10_000 });
      await until(() => equalBytes(s.save(), peer.save()));
      expect(peer.collection('todos').get('hot')!.title).toBe('after the crash');
      s.close();
      ps.close();
      server.stop();
      again.stop();
      peer.close();
    }
  }, 120_000);

  it('20 random kill points: every acknowledged batch survives', async () => {
    const r = rng(2026);
    for (let run = 0; run < 20; run++) {
      const dir = tmp();
      const acked = await new Promise<number[]>((resolve) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
        const got: number[] = [];
        let buf = '';
        p.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop()!;
          for (const l of lines) got.push(Number(l));
        });
        // Killed a random moment after a random number of acknowledged batches:
        // mid-write, mid-fsync or mid-compaction.
        const target = 1 + Math.floor(r() * 40);
        const delay = Math.floor(r() * 15);
        let killing = false;
        p.stdout.on('data', () => {
          if (!killing && got.length >= target) {
            killing = true;
            setTimeout(() => p.kill('SIGKILL'), delay);
          }
        });
        p.on('exit', () => resolve(got));
      });
      const s = await open({ name: 'crash', schema: todoSchema, persist: fileStorage(dir) });
      expect(acked.length, `run ${run}`).toBeGreaterThan(0);
      for (const b of acked) expect(s.collection('todos').has(`b${b}-19`), `run ${run}: batch ${b}`).toBe(true);
      s.close();
    }
  }, 120_000);
});


async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
