// Live queries and the read API frameworks bind to (docs/queries.md), through
// the built package: every query result checked against a plain filter and
// sort of all() after random local writes and joined deltas.
import { describe, expect, it } from 'vitest';
import type { Types } from './helpers.js';
import { codeOf, mycelium, rng } from './helpers.js';

const { open } = mycelium;

const schema = {
  todos: { title: 'lww', done: 'lww', due: 'lww', votes: 'counter', tags: 'set', notes: 'text', steps: 'list' },
} as const;
type Todo = Types.RecordOf<(typeof schema)['todos']>;

async function replica(actor: string, indexed = false) {
  const store = await open({ schema, actor, ...(indexed ? { index: { todos: ['votes', 'title'] } } : {}) });
  return { store, todos: store.collection('todos') };
}

describe('ids and the bound read API', () => {
  it('generated ids sort by creation, also within one millisecond', async () => {
    const { store, todos } = await replica('00000000000000a1');
    const made: string[] = [];
    for (let i = 0; i < 2000; i++) made.push(todos.insert({ title: `t${i}` }));
    expect(new Set(made).size).toBe(made.length);
    for (const id of made) expect(id).toMatch(/^[-0-9A-Za-z_]{16}$/);
    expect(todos.ids()).toEqual(made);
    expect(todos.all().map((r) => r.title)).toEqual(made.map((_, i) => `t${i}`));
    store.close();
  });

  it('methods work unbound, and all() is one frozen array while nothing changes', async () => {
    const { store, todos } = await replica('00000000000000a1');
    const { get, all, has, subscribe, insert, update } = todos;
    const id = insert({ title: 'a' });
    expect(get(id)!.title).toBe('a');
    expect(has(id)).toBe(true);
    const first = all();
    expect(Object.isFrozen(first)).toBe(true);
    expect(all()).toBe(first);
    let heard = 0;
    const off = subscribe(() => heard++);
    update(id, (r) => r.set('title', 'b'));
    const second = all();
    expect(second).not.toBe(first);
    expect(second[0]!.title).toBe('b');
    expect(all()).toBe(second);
    await Promise.resolve();
    expect(heard).toBe(1);
    off();
    // A remote change replaces it too.
    const other = await replica('00000000000000b2');
    other.store.applyDelta(store.deltaSince());
    other.todos.update(id, (r) => r.set('title', 'c'));
    store.applyDelta(other.store.deltaSince(store.version()));
    expect(all()).not.toBe(second);
    expect(all()[0]!.title).toBe('c');
    store.close();
    other.store.close();
  });

  it('delete says whether there was a record; upsert inserts or writes the given fields', async () => {
    const { store, todos } = await replica('00000000000000a1');
    expect(todos.delete('missing')).toBe(false);
    expect(todos.upsert('x', { title: 'first', votes: 2, tags: ['a', 'b'], notes: 'hello world', steps: [1, 2, 3] })).toBe('x');
    expect(todos.get('x')).toMatchObject({ title: 'first', votes: 2, tags: ['a', 'b'], notes: 'hello world', steps: [1, 2, 3] });
    todos.upsert('x', { votes: 5, tags: ['b', 'c'], notes: 'hello brave world', steps: [1, 9, 3] });
    expect(todos.get('x')).toMatchObject({ title: 'first', votes: 5, tags: ['b', 'c'], notes: 'hello brave world', steps: [1, 9, 3] });
    todos.upsert('x', { notes: 'héllo 🌍', votes: 1 });
    expect(todos.get('x')!.notes).toBe('héllo 🌍');
    todos.upsert('x', { notes: 'héllo 🌎' }); // the same high surrogate, another low one
    expect(todos.get('x')!.notes).toBe('héllo 🌎');
    expect(todos.get('x')!.votes).toBe(1);
    expect(codeOf(() => todos.upsert('x', { nope: 1 } as never))).toBe('unknown_field');
    expect(codeOf(() => todos.upsert('x', { notes: 5 } as never))).toBe('invalid_argument');
    expect(todos.delete('x')).toBe(true);
    expect(todos.delete('x')).toBe(false);
    store.close();
  });

  it('upsert of a text keeps a concurrent edit outside the part it changes', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    a.todos.insert({ id: 'n', notes: 'one two three' });
    b.store.applyDelta(a.store.deltaSince());
    const base = a.store.version();
    a.todos.upsert('n', { notes: 'one 2 three' });
    b.todos.update('n', (r) => r.insert('notes', 13, '!'));
    a.store.applyDelta(b.store.deltaSince(base));
    b.store.applyDelta(a.store.deltaSince(base));
    expect(a.todos.get('n')!.notes).toBe('one 2 three!');
    expect(b.todos.get('n')!.notes).toBe('one 2 three!');
    a.store.close();
    b.store.close();
  });
});

describe('queries', () => {
  it('filter, order, window; each query is checked when made', async () => {
    const { store, todos } = await replica('00000000000000a1');
    const rows: [string, boolean, string | number | null, string[]][] = [
      ['b', false, '2027-01-02', ['home']],
      ['a', true, '2027-01-01', ['work']],
      ['c', false, 5, []],
      ['d', false, null, ['home', 'x']],
      ['e', false, '2026-12-31', ['work']],
    ];
    for (const [title, done, due, tags] of rows) todos.insert({ id: title, title, done, due, tags });
    const ids = (q: Types.Query<(typeof schema)['todos']>) => q.results().map((r) => r.id);
    expect(ids(todos.query({ where: { done: false }, orderBy: 'due' }))).toEqual(['d', 'c', 'e', 'b']);
    expect(ids(todos.query({ where: { due: { lt: '2027-01-02' } } }))).toEqual(['a', 'e']); // a number never compares below a string
    expect(ids(todos.query({ where: { due: { gte: 0 } } }))).toEqual(['c']);
    expect(ids(todos.query({ where: { tags: { contains: 'home' } }, orderBy: [['title', 'desc']] }))).toEqual(['d', 'b']);
    expect(ids(todos.query({ where: { or: [{ title: 'a' }, { title: { in: ['c', 'e'] } }] } }))).toEqual(['a', 'c', 'e']);
    expect(ids(todos.query({ where: { not: { done: false } } }))).toEqual(['a']);
    expect(ids(todos.query({ where: (r) => r.tags.length === 0 }))).toEqual(['c']);
    const page = todos.query({ orderBy: ['title', 'desc'], offset: 1, limit: 2 });
    expect(ids(page)).toEqual(['d', 'c']);
    expect(page.count).toBe(5);
    // Ties by id.
    expect(ids(todos.query({ orderBy: ['done', ['votes', 'desc']] }))).toEqual(['b', 'c', 'd', 'e', 'a']);
    const bad: [string, () => unknown][] = [
      ['unknown_field', () => todos.query({ where: { nope: 1 } as never })],
      ['unknown_field', () => todos.query({ orderBy: 'nope' as never })],
      ['invalid_argument', () => todos.query({ where: { title: { like: 'x' } as never } })],
      ['invalid_argument', () => todos.query({ where: { tags: 'home' } as never })], // a set: use contains
      ['invalid_argument', () => todos.query({ where: { title: { contains: 'a' } } })],
      ['invalid_argument', () => todos.query({ orderBy: 'tags' as never })],
      ['invalid_argument', () => todos.query({ limit: -1 })],
      ['invalid_argument', () => todos.query({ where: { title: undefined, due: { eq: {} as never } } })],
    ];
    for (const [code, fn] of bad) expect(codeOf(fn), fn.toString()).toBe(code);
    store.close();
  });

  it('results keep their identity until the window changes; subscribers hear only what changed', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    for (let i = 0; i < 20; i++) a.todos.insert({ id: `t${String(i).padStart(2, '0')}`, title: `t${i}`, done: i % 2 === 0, votes: i });
    b.store.applyDelta(a.store.deltaSince());
    const q = a.todos.query({ where: { done: false }, orderBy: [['votes', 'desc']], limit: 3 });
    const { results, subscribe } = q; // bound
    const first = results();
    expect(first.map((r) => r.votes)).toEqual([19, 17, 15]);
    expect(results()).toBe(first);
    const heard: Types.QueryChange<(typeof schema)['todos']>[] = [];
    subscribe((c) => heard.push(c));
    // Outside the window: same results, nothing heard.
    a.todos.update('t01', (r) => r.set('title', 'renamed'));
    expect(results()).toBe(first);
    await Promise.resolve();
    expect(heard).toHaveLength(0);
    // Into the window, a record's new contents, one leaving.
    a.todos.update('t03', (r) => r.increment('votes', 100));
    a.todos.update('t17', (r) => r.set('title', 'seventeen'));
    expect(results().map((r) => r.id)).toEqual(['t03', 't19', 't17']);
    await Promise.resolve();
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ added: ['t03'], removed: ['t15'], updated: ['t17'] });
    expect(heard[0]!.results).toBe(results());
    // A joined delta: b deletes t19 and marks t13 not done... it already is; b votes it up.
    b.todos.delete('t19');
    b.todos.update('t13', (r) => r.increment('votes', 500));
    a.store.applyDelta(b.store.deltaSince(a.store.version()));
    expect(results().map((r) => r.id)).toEqual(['t13', 't03', 't17']);
    await Promise.resolve();
    expect(heard).toHaveLength(2);
    expect(heard[1]).toMatchObject({ added: ['t13'], removed: ['t19'], updated: [] });
    q.close();
    expect(codeOf(() => q.results())).toBe('closed');
    a.todos.update('t05', (r) => r.increment('votes', 1000));
    await Promise.resolve();
    expect(heard).toHaveLength(2);
    a.store.close();
    b.store.close();
  });

  it.each([
    ['a scan', false],
    ['the indexes on votes and title (open({ index }))', true],
  ])('under random local writes and joined deltas, every query equals a plain filter and sort of all(): %s', async (_, indexed) => {
    const random = rng(19);
    const a = await replica('00000000000000a1', indexed);
    const b = await replica('00000000000000b2');
    if (indexed) {
      // Made before any record: the indexes start empty and follow every change.
      expect(a.todos.indexes).toEqual(['votes', 'title']);
    }
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const specs: [Types.QuerySpec<(typeof schema)['todos']>, (r: Todo) => boolean][] = [
      [{ where: { done: false }, orderBy: [['votes', 'desc']], limit: 7 }, (r) => r.done === false],
      [{ where: { tags: { contains: 'x' }, votes: { gte: 3 } }, orderBy: 'title', offset: 2, limit: 5 }, (r) => r.tags.includes('x') && typeof r.votes === 'number' && r.votes >= 3],
      [{ where: { or: [{ title: { lt: 'm' } }, { notes: { contains: 'ab' } }] }, orderBy: ['notes', ['title', 'asc']] }, (r) => (typeof r.title === 'string' && r.title < 'm') || r.notes.includes('ab')],
      [{}, () => true],
      [{ where: { done: false }, orderBy: ['title', ['votes', 'desc']], offset: 1, limit: 4 }, (r) => r.done === false],
      [{ orderBy: [['title', 'desc']], limit: 3 }, () => true],
      [{ where: (r) => r.votes !== 2, orderBy: 'votes' }, (r) => r.votes !== 2],
    ];
    const queries = specs.map(([spec]) => a.todos.query(spec));
    const plain = (i: number): string[] => {
      const [spec, test] = specs[i]!;
      const order = spec.orderBy === undefined ? [] : typeof spec.orderBy === 'string' ? [spec.orderBy] : (spec.orderBy as readonly unknown[]).length === 2 && ['asc', 'desc'].includes((spec.orderBy as string[])[1]!) ? [spec.orderBy] : (spec.orderBy as unknown[]);
      const keys = order.map((k) => (typeof k === 'string' ? [k, 1] : [(k as string[])[0], (k as string[])[1] === 'desc' ? -1 : 1])) as [string, number][];
      // docs/queries.md: null < booleans < numbers < strings (a record a
      // concurrent update revived after a delete has a null title).
      const kind = (v: unknown) => (v === null ? 0 : typeof v === 'boolean' ? 1 : typeof v === 'number' ? 2 : 3);
      // Strings by code point (a surrogate pair sorts above U+E000..U+FFFF, unlike JS's <).
      const points = (t: string) => Array.from(t, (c) => c.codePointAt(0)!);
      const byPoints = (x: string, y: string) => {
        const [p, q] = [points(x), points(y)];
        for (let i = 0; i < Math.min(p.length, q.length); i++) if (p[i] !== q[i]) return p[i]! - q[i]!;
        return p.length - q.length;
      };
      const cmp = (x: unknown, y: unknown) =>
        kind(x) !== kind(y) ? kind(x) - kind(y) : x === y ? 0 : typeof x === 'string' ? byPoints(x, y as string) : (x as number) < (y as number) ? -1 : 1;
      const rows = [...a.todos.all()].filter(test).sort((x, y) => {
        for (const [f, sign] of keys) {
          const c = cmp((x as Record<string, unknown>)[f], (y as Record<string, unknown>)[f]);
          if (c !== 0) return c * sign;
        }
        return x.id < y.id ? -1 : 1;
      });
      const from = spec.offset ?? 0;
      return rows.slice(from, from + (spec.limit ?? Infinity)).map((r) => r.id);
    };
    for (let step = 0; step < 500; step++) {
      const r = random() < 0.7 ? a : b;
      const ids = r.todos.ids();
      const roll = random();
      if (roll < 0.25 || ids.length === 0) {
        r.todos.insert({ title: pick(['a', 'f', 'm', 'q', 'z', '😀', '\uE000x', 'ﬀ']), done: random() < 0.5, votes: Math.floor(random() * 6), tags: random() < 0.5 ? ['x'] : [], notes: pick(['', 'ab', 'cab', 'zz']) });
      } else if (roll < 0.35) {
        r.todos.delete(pick(ids));
      } else {
        const id = pick(ids);
        r.todos.update(id, (w) => {
          const f = random();
          if (f < 0.3) w.set('done', random() < 0.5);
          else if (f < 0.5) w.increment('votes', Math.floor(random() * 5) - 2);
          else if (f < 0.7) w.set('title', pick(['b', 'g', 'n', 'y', '😀b', '\uE001']));
          else if (f < 0.85) (random() < 0.5 ? w.add('tags', 'x') : w.remove('tags', 'x'));
          else w.insert('notes', 0, pick(['a', 'b']));
        });
      }
      if (step % 50 === 49) {
        // A delta of many records at once (the queries' batch path).
        for (const id of b.todos.ids().slice(0, 60)) b.todos.update(id, (w) => w.increment('votes', 1).set('done', random() < 0.5));
      }
      if (random() < 0.2 || step % 50 === 49) {
        a.store.applyDelta(b.store.deltaSince(a.store.version()));
        b.store.applyDelta(a.store.deltaSince(b.store.version()));
      }
      if (step % 100 === 99) {
        // Queries made on records that exist: one on an index reads it only as far as its window.
        for (let i = 0; i < queries.length; i++) {
          queries[i]!.close();
          queries[i] = a.todos.query(specs[i]![0]);
        }
      }
      if (step % 7 === 0 || random() < 0.3) {
        for (let i = 0; i < queries.length; i++) {
          expect(queries[i]!.results().map((x) => x.id), `query ${i} at step ${step}`).toEqual(plain(i));
          if (step % 21 === 0) expect(queries[i]!.count, `count of query ${i} at step ${step}`).toBe(a.todos.all().filter(specs[i]![1]).length);
        }
      }
    }
    expect(a.todos.size).toBeGreaterThan(10);
    a.store.close();
    b.store.close();
    // Closing the store closes its queries.
    expect(codeOf(() => queries[0]!.results())).toBe('closed');
  });

  it('open({ index }) checks what it names; an index the engine builds from a snapshot orders values as queries do', async () => {
    expect(await open({ schema, index: { nope: ['title'] } as never }).catch((e: Types.MyceliumError) => e.code)).toBe('unknown_field');
    expect(await open({ schema, index: { todos: ['nope'] } as never }).catch((e: Types.MyceliumError) => e.code)).toBe('unknown_field');
    expect(await open({ schema, index: { todos: ['tags'] } }).catch((e: Types.MyceliumError) => e.code)).toBe('wrong_kind');
    expect(await open({ schema, index: { todos: ['notes'] } }).catch((e: Types.MyceliumError) => e.code)).toBe('wrong_kind');
    expect(await open({ schema, index: { todos: 'title' } as never }).catch((e: Types.MyceliumError) => e.code)).toBe('invalid_argument');
    // Every kind of value, numbers of both engine kinds (int64 and double) mixed.
    const values: Types.Value[] = [null, true, false, 3, 2.5, -0, 0, NaN, -Infinity, 1e300, 9007199254740993n, -7n, 'b', 'a', '😀', '\uE000', 'ﬀ', new Uint8Array([1]), new Uint8Array([])];
    const w = await replica('00000000000000c1');
    values.forEach((v, i) => w.todos.insert({ id: `v${String(i).padStart(2, '0')}`, title: v, votes: (i * 7) % 5 }));
    values.forEach((v, i) => w.todos.insert({ id: `w${String(i).padStart(2, '0')}`, title: v, votes: (i * 3) % 4 }));
    const snapshot = w.store.save();
    const plainStore = await open({ schema, snapshot });
    const indexed = await open({ schema, snapshot, index: { todos: ['title', 'votes'] } });
    for (const spec of [{ orderBy: 'title' }, { orderBy: [['title', 'desc']] }, { orderBy: ['votes', 'title'], limit: 9 }, { orderBy: [['votes', 'desc'], 'title'], offset: 3, limit: 5 }] as const) {
      const want = plainStore.collection('todos').query(spec).results().map((r) => r.id);
      expect(indexed.collection('todos').query(spec).results().map((r) => r.id), JSON.stringify(spec)).toEqual(want);
    }
    // NaN after every other number, -0 with 0; ties by id.
    const titles = plainStore.collection('todos').query({ orderBy: 'title' }).results().map((r) => r.title);
    const nan = titles.findIndex((t) => typeof t === 'number' && Number.isNaN(t));
    expect(titles.slice(nan + 2).every((t) => typeof t !== 'number' && typeof t !== 'bigint')).toBe(true);
    for (const s of [w.store, plainStore, indexed]) s.close();
  });
});
