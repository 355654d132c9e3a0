// The read cache (js/collection.ts): get() and all() share frozen records
// until a change touches them. A local write, a remote delta and a record
// delete each invalidate exactly the records they change.
import { describe, expect, it } from 'vitest';
import { mycelium, todoSchema } from './helpers.js';

const { open } = mycelium;

async function pair() {
  const a = await open({ schema: todoSchema, actor: '00000000000000a1' });
  const b = await open({ schema: todoSchema, actor: '00000000000000b2' });
  const ta = a.collection('todos');
  for (let i = 0; i < 20; i++) ta.insert({ id: `t${i}`, title: `todo ${i}`, votes: i, tags: ['x'] });
  b.applyDelta(a.deltaSince());
  return { a, b, ta, tb: b.collection('todos') };
}

describe('the read cache', () => {
  it('an unchanged record is the same frozen object on every get() and all()', async () => {
    const { a, ta } = await pair();
    const r = ta.get('t3')!;
    expect(ta.get('t3')).toBe(r);
    expect(ta.all()[ta.ids().indexOf('t3')]).toBe(r);
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.tags)).toBe(true);
    expect(() => {
      (r as { title: unknown }).title = 'changed';
    }).toThrow(TypeError);
    expect(() => (r.tags as unknown[]).push('y')).toThrow(TypeError);
    expect(ta.get('t3')!.title).toBe('todo 3');
    // all() hands out one frozen array while nothing changes (a stable
    // snapshot for useSyncExternalStore): sorting takes a copy.
    const list = ta.all();
    expect(list).toBe(ta.all());
    expect(() => (list as unknown[]).sort()).toThrow(TypeError);
    const sorted = [...list].sort((x, y) => y.votes - x.votes);
    expect(sorted[0]!.id).not.toBe('t0');
    expect(ta.all()[0]!.id).toBe('t0');
    a.close();
  });

  it('a local write invalidates exactly its record', async () => {
    const { a, ta } = await pair();
    const before = ta.all();
    ta.update('t5', (w) => w.increment('votes', 10));
    const after = ta.all();
    for (let i = 0; i < before.length; i++) {
      if (before[i]!.id === 't5') {
        expect(after[i]).not.toBe(before[i]);
        expect(after[i]!.votes).toBe(15);
        expect(before[i]!.votes).toBe(5); // the old object is a snapshot, unchanged
      } else expect(after[i]).toBe(before[i]);
    }
    ta.insert({ id: 't05', title: 'new' });
    expect(ta.ids()).toContain('t05');
    expect(ta.get('t05')!.title).toBe('new');
    ta.delete('t7');
    expect(ta.get('t7')).toBeUndefined();
    expect(ta.has('t7')).toBe(false);
    expect(ta.all().map((r) => r.id)).not.toContain('t7');
    expect(ta.all().length).toBe(ta.size);
    a.close();
  });

  it('a remote delta invalidates exactly the records it changes, also with no subscriber', async () => {
    const { a, b, ta, tb } = await pair();
    const before = tb.all();
    const v = b.version();
    ta.update('t2', (w) => w.set('title', 'remote'));
    ta.update('t9', (w) => w.add('tags', 'y'));
    b.applyDelta(a.deltaSince(v));
    const after = tb.all();
    const changed = new Set(['t2', 't9']);
    for (let i = 0; i < before.length; i++) {
      if (changed.has(before[i]!.id)) expect(after[i]).not.toBe(before[i]);
      else expect(after[i]).toBe(before[i]);
    }
    expect(tb.get('t2')!.title).toBe('remote');
    expect(tb.get('t9')!.tags).toEqual(['x', 'y']);
    a.close();
    b.close();
  });

  it('a remote record delete and a remote insert change all() and get()', async () => {
    const { a, b, ta, tb } = await pair();
    tb.all();
    expect(tb.get('t4')).toBeDefined();
    const v = b.version();
    ta.delete('t4');
    ta.insert({ id: 't44', title: 'late' });
    b.applyDelta(a.deltaSince(v));
    expect(tb.get('t4')).toBeUndefined();
    expect(tb.has('t4')).toBe(false);
    expect(tb.get('t44')!.title).toBe('late');
    expect(tb.ids()).toEqual(ta.ids());
    expect(tb.all()).toEqual(ta.all());
    a.close();
    b.close();
  });

  it('all() keeps the engine order (UTF-8 bytes) as ids come and go: astral ids sort after U+E000..U+FFFF', async () => {
    const s = await open({ schema: todoSchema });
    const t = s.collection('todos');
    const ids = ['b', 'a', '\u{e000}', '\u{1f600}', '\u{ffff}', 'é', 'z', '\u{10000}'];
    t.all(); // the order is kept from here on and patched per change
    for (const id of ids) t.insert({ id, title: id });
    const engineOrder = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(t.ids()).toEqual(engineOrder);
    t.delete('\u{ffff}');
    expect(t.ids()).toEqual(engineOrder.filter((id) => id !== '\u{ffff}'));
    // A store that never cached reads gives the same order from the engine.
    const fresh = await open({ schema: todoSchema, snapshot: s.save() });
    expect(fresh.collection('todos').ids()).toEqual(t.ids());
    s.close();
    fresh.close();
  });

  it('get() finds records by ids of every shape: ASCII up to 64 characters and past it, non-ASCII, astral, a prefix of another', async () => {
    // (ASCII ids of at most 64 characters go to the engine byte by byte, the rest through the encoder.)
    const s = await open({ schema: todoSchema });
    const t = s.collection('todos');
    const ids = ['a', 'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(65), 'y'.repeat(200), 'é', `${'x'.repeat(63)}é`, '\u{1f600}', 'ab', 'abc'];
    for (const id of ids) t.insert({ id, title: `title of ${id}` });
    const fresh = await open({ schema: todoSchema, snapshot: s.save() });
    for (const c of [t, fresh.collection('todos')]) {
      for (const id of ids) expect(c.get(id)?.title).toBe(`title of ${id}`);
      expect(c.get('x'.repeat(62))).toBeUndefined();
      expect(c.get('a'.repeat(66))).toBeUndefined();
      expect(c.has('abcd')).toBe(false);
    }
    s.close();
    fresh.close();
  });

  it('a record holding bytes is not shared (bytes cannot be frozen): each read is its own copy', async () => {
    const s = await open({ schema: todoSchema });
    const t = s.collection('todos');
    t.insert({ id: 'b', title: new Uint8Array([1, 2, 3]) });
    const r1 = t.get('b')!;
    (r1.title as Uint8Array)[0] = 99;
    expect(Array.from(t.get('b')!.title as Uint8Array)).toEqual([1, 2, 3]);
    expect(t.get('b')).not.toBe(r1);
    s.close();
  });

  it('many remote changes at once: all() reads the collection anew and stays right', async () => {
    const { a, b, ta, tb } = await pair();
    tb.all();
    const v = b.version();
    for (let i = 0; i < 500; i++) ta.insert({ id: `m${i}`, votes: i });
    for (let i = 0; i < 20; i += 2) ta.delete(`t${i}`);
    b.applyDelta(a.deltaSince(v));
    expect(tb.all()).toEqual(ta.all());
    expect(tb.size).toBe(ta.size);
    a.close();
    b.close();
  });
});
