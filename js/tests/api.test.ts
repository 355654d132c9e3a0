import { describe, expect, it } from 'vitest';
import { actor, clock, equalBytes, mycelium, todoSchema } from './helpers.js';

const { open, load, MyceliumError } = mycelium;

async function pair() {
  const a = await open({ schema: todoSchema, actor: actor(1), now: clock() });
  const b = await open({ schema: todoSchema, actor: actor(2), now: clock(1_700_000_000_500) });
  return { a, b };
}

function sync(from: Awaited<ReturnType<typeof pair>>['a'], to: typeof from) {
  return to.applyDelta(from.deltaSince(to.version()));
}

function expectCode(fn: () => unknown, code: string) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MyceliumError);
    expect((e as InstanceType<typeof MyceliumError>).code).toBe(code);
    return e as Error;
  }
  throw new Error(`expected MyceliumError ${code}, nothing was thrown`);
}

describe('records', () => {
  it('insert, update, get, delete with every kind (the DESIGN.md example)', async () => {
    const { a } = await pair();
    const todos = a.collection('todos');
    const id = todos.insert({ title: 'Milk', done: false, tags: ['home'] });
    expect(id).toMatch(/^[0-9A-Za-z_-]{16}$/);
    expect(todos.get(id)).toEqual({ id, title: 'Milk', done: false, votes: 0, tags: ['home'], owner: [] });
    todos.update(id, (r) => {
      r.set('done', true);
      r.increment('votes', 1);
      r.add('tags', 'urgent');
      r.remove('tags', 'home');
      r.set('owner', 'ann');
    });
    expect(todos.get(id)).toEqual({ id, title: 'Milk', done: true, votes: 1, tags: ['urgent'], owner: ['ann'] });
    todos.update(id, (r) => r.increment('votes', -3));
    expect(todos.get(id)!.votes).toBe(-2);
    expect(todos.size).toBe(1);
    expect(todos.has(id)).toBe(true);
    todos.delete(id);
    expect(todos.get(id)).toBeUndefined();
    expect(todos.has(id)).toBe(false);
    expect(todos.size).toBe(0);
  });

  it('keeps every value type: null, booleans, int64, float64, strings, bytes', async () => {
    const { a } = await pair();
    const todos = a.collection('todos');
    const values = [null, true, false, 0, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 2n ** 63n - 1n, -(2n ** 63n), 1.5, -0.25,
      Number.NaN, Infinity, -Infinity, '', 'héllo ✓ 🍄', 'x'.repeat(5000), new Uint8Array([0, 255, 7])];
    for (const v of values) {
      const id = todos.insert({ title: v });
      const got = todos.get(id)!.title;
      if (typeof v === 'number' && Number.isNaN(v)) expect(Number.isNaN(got)).toBe(true);
      else expect(got).toEqual(v);
    }
    const id = todos.insert({ tags: [3, 'a', null, 1.5, true, new Uint8Array([1])] });
    // sorted by type tag, then value: null < bool < int < double < string < bytes
    expect(todos.get(id)!.tags).toEqual([null, true, 3, 1.5, 'a', new Uint8Array([1])]);
    expectCode(() => todos.insert({ title: 2n ** 64n }), 'invalid_argument');
  });

  it('app-chosen ids, all() and ids() in id order', async () => {
    const { a } = await pair();
    const todos = a.collection('todos');
    for (const id of ['b', 'a', 'c']) todos.insert({ id, title: id.toUpperCase() });
    expect(todos.ids()).toEqual(['a', 'b', 'c']);
    expect(todos.all().map((r) => r.title)).toEqual(['A', 'B', 'C']);
    expectCode(() => todos.insert({ id: 'a' }), 'already_exists');
    todos.delete('a');
    todos.insert({ id: 'a', title: 'again' }); // a deleted id can be inserted again
    expect(todos.get('a')!.title).toBe('again');
    expect(a.collection('notes').all()).toEqual([]);
  });

  it('typed errors, synchronous, and the store unchanged', async () => {
    const { a } = await pair();
    const todos = a.collection('todos');
    const id = todos.insert({ title: 'Milk' });
    const before = a.save();
    expectCode(() => todos.update(id, (r) => (r as any).increment('title', 1)), 'wrong_kind');
    expectCode(() => todos.update(id, (r) => (r as any).add('votes', 1)), 'wrong_kind');
    expectCode(() => todos.update(id, (r) => (r as any).set('tags', 1)), 'wrong_kind');
    expectCode(() => todos.update(id, (r) => (r as any).set('nope', 1)), 'unknown_field');
    expectCode(() => todos.insert({ nope: 1 } as any), 'unknown_field');
    expectCode(() => todos.update(id, (r) => r.set('title', undefined as any)), 'invalid_argument');
    expectCode(() => todos.update(id, (r) => r.set('title', {} as any)), 'invalid_argument');
    expectCode(() => todos.update(id, (r) => r.increment('votes', 1.5)), 'invalid_argument');
    expectCode(() => todos.insert({ tags: 'home' } as any), 'invalid_argument');
    expectCode(() => todos.update('ghost', (r) => r.set('title', 'x')), 'not_found');
    expectCode(() => todos.delete('ghost'), 'not_found');
    expectCode(() => todos.get(''), 'invalid_argument');
    expectCode(() => todos.insert({ id: 'x'.repeat(257) }), 'invalid_argument');
    expectCode(() => a.collection('nope' as any), 'unknown_field');
    // A bad op after good ones in one update: none of it applies.
    expectCode(
      () =>
        todos.update(id, (r) => {
          r.set('title', 'changed');
          (r as any).increment('done', 1);
        }),
      'wrong_kind',
    );
    expect(equalBytes(a.save(), before)).toBe(true);
    expect(todos.get(id)!.title).toBe('Milk');
  });

  it('an update inside another update callback is its own batch; a writer kept past its update is refused', async () => {
    const { a } = await pair();
    const todos = a.collection('todos');
    const x = todos.insert({ id: 'x', title: 'x' });
    const y = todos.insert({ id: 'y', title: 'y' });
    let kept: Parameters<Parameters<typeof todos.update>[1]>[0] | undefined;
    todos.update(x, (r) => {
      r.set('title', 'outer');
      todos.update(y, (inner) => inner.set('title', 'inner').increment('votes', 2));
      r.increment('votes', 1);
      kept = r;
    });
    expect(todos.get(x)).toMatchObject({ title: 'outer', votes: 1 });
    expect(todos.get(y)).toMatchObject({ title: 'inner', votes: 2 });
    expectCode(() => kept!.set('title', 'late'), 'invalid_argument');
    // A failing inner update leaves the outer one intact.
    todos.update(x, (r) => {
      r.set('done', true);
      expectCode(() => todos.update('ghost', (g) => g.set('title', 'no')), 'not_found');
    });
    expect(todos.get(x)!.done).toBe(true);
  });

  it('rejects bad options: schema, actor, version', async () => {
    await expect(open({ schema: { t: { f: 'nope' as any } } })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(open({ schema: { t: { id: 'lww' } } })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(open({ schema: todoSchema, actor: 'XYZ' })).rejects.toMatchObject({ code: 'invalid_argument' });
    const { a } = await pair();
    expectCode(() => a.deltaSince({ zz: 1 } as any), 'invalid_argument');
    expectCode(() => a.deltaSince({ [actor(1)]: -1 }), 'invalid_argument');
  });
});

describe('sync', () => {
  it('two stores converge: deltas both ways, version vectors, snapshots', async () => {
    const { a, b } = await pair();
    const id = a.collection('todos').insert({ title: 'Milk', votes: 2 });
    b.collection('notes').insert({ id: 'n1', body: 'hi' });
    expect(sync(a, b)).toBe('applied');
    expect(sync(b, a)).toBe('applied');
    expect(a.version()).toEqual({ [actor(1)]: 1 + 2, [actor(2)]: 2 }); // insert+title+votes; insert+body
    expect(b.version()).toEqual(a.version());
    expect(equalBytes(a.save(), b.save())).toBe(true);
    expect(b.collection('todos').get(id)).toEqual(a.collection('todos').get(id));
    expect(sync(a, b)).toBe('covered');
  });

  it('concurrent writes: lww picks one, counters add, mvr keeps both, add wins over remove', async () => {
    const { a, b } = await pair();
    const id = a.collection('todos').insert({ title: 'x', tags: ['t'] });
    sync(a, b);
    a.collection('todos').update(id, (r) => r.set('title', 'from a').increment('votes', 2).set('owner', 'ann').remove('tags', 't'));
    b.collection('todos').update(id, (r) => r.set('title', 'from b').increment('votes', 3).set('owner', 'bob').add('tags', 't'));
    sync(a, b);
    sync(b, a);
    const ra = a.collection('todos').get(id)!;
    expect(b.collection('todos').get(id)).toEqual(ra);
    expect(['from a', 'from b']).toContain(ra.title);
    expect(ra.votes).toBe(5);
    expect(ra.owner).toEqual(['ann', 'bob']);
    expect(ra.tags).toEqual(['t']);
    // A later write covers both mvr values.
    a.collection('todos').update(id, (r) => r.set('owner', 'cy'));
    sync(a, b);
    expect(b.collection('todos').get(id)!.owner).toEqual(['cy']);
  });

  it('update wins over a concurrent delete; a counter reads the increments the deleter had not seen', async () => {
    const { a, b } = await pair();
    const id = a.collection('todos').insert({ title: 'x', votes: 5 });
    sync(a, b);
    a.collection('todos').delete(id);
    b.collection('todos').update(id, (r) => r.increment('votes', 3));
    sync(a, b);
    sync(b, a);
    expect(a.collection('todos').get(id)).toEqual({ id, title: null, done: null, votes: 3, tags: [], owner: [] });
    expect(b.collection('todos').get(id)).toEqual(a.collection('todos').get(id));
  });

  it('a delta for a newer version waits as pending until the gap fills', async () => {
    const { a, b } = await pair();
    a.collection('todos').insert({ id: 't1', title: 'one' });
    const first = a.deltaSince({});
    const v1 = a.version();
    a.collection('todos').insert({ id: 't2', title: 'two' });
    const second = a.deltaSince(v1);
    expect(b.applyDelta(second)).toBe('pending');
    expect(b.pending).toBe(1);
    expect(b.collection('todos').size).toBe(0);
    expect(b.applyDelta(first)).toBe('applied');
    expect(b.pending).toBe(0);
    expect(b.collection('todos').ids()).toEqual(['t1', 't2']);
  });

  it('save() is compressed when large, and load()/open({snapshot}) restore it exactly', async () => {
    const { a } = await pair();
    const todos = a.collection('todos');
    for (let i = 0; i < 2000; i++) todos.insert({ id: `t${i}`, title: `todo number ${i}`, votes: i, tags: ['a', 'b'] });
    const snap = a.save();
    expect(snap[4]! & 1).toBe(1); // flags: compressed
    const b = await load(snap, { schema: todoSchema, actor: actor(9) });
    expect(equalBytes(b.save(), snap)).toBe(true);
    expect(b.version()).toEqual(a.version());
    expect(b.collection('todos').get('t1999')).toEqual(todos.get('t1999'));
    const small = await open({ schema: todoSchema });
    small.collection('notes').insert({ body: 'x' });
    expect(small.save()[4]! & 1).toBe(0); // 1 KiB and less stays uncompressed
  });

  it('a peer with another schema is refused with schema_mismatch', async () => {
    const { a } = await pair();
    a.collection('todos').insert({ title: 'x' });
    const other = await open({ schema: { todos: { title: 'counter' } } });
    const before = other.save();
    expectCode(() => other.applyDelta(a.deltaSince()), 'schema_mismatch');
    expect(equalBytes(other.save(), before)).toBe(true);
  });
});

describe('subscriptions', () => {
  it('batches per microtask and says which records and fields changed', async () => {
    const { a, b } = await pair();
    const todos = a.collection('todos');
    const seen: unknown[] = [];
    const off = todos.subscribe((changes) => seen.push(changes));
    const id = todos.insert({ title: 'Milk' });
    todos.update(id, (r) => r.increment('votes', 1).add('tags', 'x'));
    expect(seen).toEqual([]); // not synchronously
    await Promise.resolve();
    expect(seen).toEqual([
      [
        { id, fields: ['title'], deleted: false, origin: 'local' },
        { id, fields: ['votes', 'tags'], deleted: false, origin: 'local' },
      ],
    ]);
    todos.delete(id);
    await a.flush();
    expect(seen[1]).toEqual([{ id, fields: ['title', 'done', 'votes', 'tags', 'owner'], deleted: true, origin: 'local' }]);
    off();
    todos.insert({ title: 'unseen' });
    await a.flush();
    expect(seen).toHaveLength(2);

    const remote: unknown[] = [];
    b.collection('todos').subscribe((c) => remote.push(...c));
    b.collection('notes').subscribe(() => remote.push('notes should not fire'));
    const bid = a.collection('todos').insert({ title: 'Eggs', votes: 2 });
    sync(a, b);
    await b.flush();
    expect(remote).toContainEqual({ id: bid, fields: ['title', 'votes'], deleted: false, origin: 'remote' });
    expect(remote).not.toContain('notes should not fire');
    remote.length = 0;
    const v = b.version();
    a.collection('todos').update(bid, (r) => r.set('done', true));
    b.applyDelta(a.deltaSince(v));
    await b.flush();
    expect(remote).toEqual([{ id: bid, fields: ['done'], deleted: false, origin: 'remote' }]);
  });
});

describe('lifetime', () => {
  it('close() frees the store and later calls throw closed', async () => {
    const { a } = await pair();
    a.collection('todos').insert({ title: 'x' });
    expect(a.memoryBytes()).toBeGreaterThan(0);
    a.close();
    expect(a.closed).toBe(true);
    expectCode(() => a.version(), 'closed');
    expectCode(() => a.collection('todos').insert({ title: 'y' }), 'closed');
    a.close(); // idempotent
    const b = await open({ schema: todoSchema });
    b.dispose();
    expect(b.closed).toBe(true);
  });

  it('persist: true in Node keeps the store under ./.mycelium/<name>', async () => {
    const { mkdtempSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'myc-cwd-'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const a = await open({ name: 'default-storage', schema: todoSchema, persist: true });
      a.collection('notes').insert({ id: 'n', body: 'on disk' });
      await a.flush();
      a.close();
      expect(existsSync(join(dir, '.mycelium', 'default-storage', 'log.bin'))).toBe(true);
      const b = await open({ name: 'default-storage', schema: todoSchema, persist: true });
      expect(b.collection('notes').get('n')!.body).toBe('on disk');
      b.close();
    } finally {
      process.chdir(cwd);
    }
  });

  it('applyDelta takes a snapshot too (a delta since the empty version)', async () => {
    const { a, b } = await pair();
    a.collection('todos').insert({ id: 's', title: 'from a snapshot', tags: [1, 2] });
    expect(b.applyDelta(a.save())).toBe('applied');
    expect(b.collection('todos').get('s')).toEqual(a.collection('todos').get('s'));
    expect(equalBytes(a.save(), b.save())).toBe(true);
  });

  it('loads once per process and reports how', async () => {
    await open({ schema: todoSchema });
    const info = await mycelium.loadInfo();
    expect(info.path).toBe('binary');
    expect(info.compression).toBe(true);
    await mycelium.preload(); // no-op once loaded
  });
});
