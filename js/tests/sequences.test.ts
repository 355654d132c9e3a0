// Lists and texts through the public API (docs/sequences.md): UTF-16 indexes,
// list values, errors that change nothing, two replicas typing at one place
// without interleaving, keystroke-sized deltas, record deletes against
// concurrent typing, and reloads from a snapshot.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Types } from './helpers.js';
import { codeOf, mycelium, rng } from './helpers.js';

const { open, fileStorage } = mycelium;

const notesSchema = {
  notes: { title: 'lww', body: 'text', tags: 'list', votes: 'counter' },
} as const;

async function replica(actor: string) {
  const store = await open({ schema: notesSchema, actor });
  return { store, notes: store.collection('notes') };
}

describe('text fields', () => {
  it('reads as a string; indexes are UTF-16 code units', async () => {
    const { store, notes } = await replica('00000000000000a1');
    const id = notes.insert({ title: 't', body: 'héllo' });
    expect(notes.get(id)!.body).toBe('héllo');
    notes.update(id, (r) => r.insert('body', 5, ' 🌍!'));
    expect(notes.get(id)!.body).toBe('héllo 🌍!');
    // '🌍' is two code units at 6 and 7: insert after it, at 8.
    notes.update(id, (r) => r.insert('body', 8, '🙂'));
    expect(notes.get(id)!.body).toBe('héllo 🌍🙂!');
    notes.update(id, (r) => r.delete('body', 6, 2));
    expect(notes.get(id)!.body).toBe('héllo 🙂!');
    notes.update(id, (r) => r.delete('body', 0, 1).insert('body', 0, 'H'));
    expect(notes.get(id)!.body).toBe('Héllo 🙂!');
    store.close();
  });

  it('refuses bad writes with a typed error and changes nothing', async () => {
    const { store, notes } = await replica('00000000000000a1');
    const id = notes.insert({ body: 'a🌍b' });
    const before = store.version();
    const cases: [string, () => void][] = [
      ['invalid_argument', () => notes.update(id, (r) => r.insert('body', 5, 'x'))], // past the end
      ['invalid_argument', () => notes.update(id, (r) => r.insert('body', 2, 'x'))], // splits the pair
      ['invalid_argument', () => notes.update(id, (r) => r.delete('body', 1, 1))], // half a pair
      ['invalid_argument', () => notes.update(id, (r) => r.delete('body', 3, 2))], // past the end
      ['invalid_argument', () => notes.update(id, (r) => r.insert('body', -1, 'x'))],
      ['invalid_argument', () => notes.update(id, (r) => r.insert('body', 0, '\ud800'))], // lone surrogate
      ['invalid_argument', () => notes.update(id, (r) => r.insert('body', 0, ['x'] as unknown as string))],
      ['invalid_argument', () => notes.update(id, (r) => r.insert('tags', 0, 'x' as unknown as string[]))],
      ['wrong_kind', () => notes.update(id, (r) => r.insert('title' as 'body', 0, 'x'))],
      ['wrong_kind', () => notes.update(id, (r) => r.set('body' as 'title', 'x'))],
      ['unknown_field', () => notes.update(id, (r) => r.insert('nope' as 'body', 0, 'x'))],
    ];
    for (const [code, fn] of cases) expect(codeOf(fn), fn.toString()).toBe(code);
    // A batch whose last edit fails leaves none of its edits.
    expect(
      codeOf(() => notes.update(id, (r) => r.insert('body', 0, 'ok').delete('body', 0, 2).delete('body', 9, 1))),
    ).toBe('invalid_argument');
    expect(notes.get(id)!.body).toBe('a🌍b');
    expect(store.version()).toEqual(before);
    store.close();
  });
});

describe('list fields', () => {
  it('holds values of every type, read as a frozen array', async () => {
    const { store, notes } = await replica('00000000000000a1');
    const id = notes.insert({ tags: ['a', 1, true] });
    notes.update(id, (r) => r.insert('tags', 3, [2.5, null, 'z']).insert('tags', 0, [-7]));
    const tags = notes.get(id)!.tags;
    expect(tags).toEqual([-7, 'a', 1, true, 2.5, null, 'z']);
    expect(Object.isFrozen(tags)).toBe(true);
    notes.update(id, (r) => r.delete('tags', 1, 3));
    expect(notes.get(id)!.tags).toEqual([-7, 2.5, null, 'z']);
    expect(codeOf(() => notes.update(id, (r) => r.insert('tags', 0, [{} as unknown as string])))).toBe(
      'invalid_argument',
    );
    expect(notes.get(id)!.tags).toEqual([-7, 2.5, null, 'z']);
    store.close();
  });

  it('set replaces the value at an index; bad sets are typed errors that change nothing', async () => {
    const { store, notes } = await replica('00000000000000a1');
    const id = notes.insert({ tags: ['a', 'b', 'c'] });
    notes.update(id, (r) => r.set('tags', 1, 'B').set('tags', 2, 42));
    expect(notes.get(id)!.tags).toEqual(['a', 'B', 42]);
    const before = store.version();
    const cases: [string, () => void][] = [
      ['invalid_argument', () => notes.update(id, (r) => r.set('tags', 3, 'x'))], // past the end
      ['invalid_argument', () => notes.update(id, (r) => r.set('tags', -1, 'x'))],
      ['invalid_argument', () => notes.update(id, (r) => r.set('tags', 0, {} as unknown as string))],
      ['wrong_kind', () => notes.update(id, (r) => r.set('body' as 'tags', 0, 'x'))],
      ['wrong_kind', () => notes.update(id, (r) => r.set('tags' as 'title', 'x'))], // a list needs an index
      ['wrong_kind', () => notes.update(id, (r) => r.set('title' as 'tags', 0, 'x'))],
    ];
    for (const [code, fn] of cases) expect(codeOf(fn), fn.toString()).toBe(code);
    // In one batch, a set sees the inserts and deletes before it.
    notes.update(id, (r) => r.insert('tags', 3, ['d']).set('tags', 3, 'D'));
    expect(codeOf(() => notes.update(id, (r) => r.delete('tags', 0, 4).set('tags', 0, 'x')))).toBe('invalid_argument');
    expect(notes.get(id)!.tags).toEqual(['a', 'B', 42, 'D']);
    expect(store.version()).not.toEqual(before);
    store.close();
  });

  it('concurrent sets of one element agree on one; a concurrent delete wins', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    const id = a.notes.insert({ tags: ['x', 'y', 'z'] });
    b.store.applyDelta(a.store.deltaSince());
    const base = a.store.version();
    a.notes.update(id, (r) => r.set('tags', 0, 'from a').delete('tags', 2, 1));
    b.notes.update(id, (r) => r.set('tags', 0, 'from b').set('tags', 2, 'set by b'));
    const fromA = a.store.deltaSince(base);
    const fromB = b.store.deltaSince(base);
    a.store.applyDelta(fromB);
    b.store.applyDelta(fromA);
    const tags = a.notes.get(id)!.tags;
    expect(b.notes.get(id)!.tags).toEqual(tags);
    expect(tags).toHaveLength(2);
    expect(['from a', 'from b']).toContain(tags[0]);
    expect(tags[1]).toBe('y');
    // A set after one it has seen wins, whichever replica makes it.
    b.notes.update(id, (r) => r.set('tags', 0, 'last'));
    a.store.applyDelta(b.store.deltaSince(a.store.version()));
    expect(a.notes.get(id)!.tags).toEqual(['last', 'y']);
    expect(a.store.save()).toEqual(b.store.save());
    a.store.close();
    b.store.close();
  });
});

describe('sequences between replicas', () => {
  it('a keystroke travels in a few dozen bytes, whatever the text', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    const id = a.notes.insert({ title: 'x', body: 'x'.repeat(5000) });
    b.store.applyDelta(a.store.deltaSince());
    // The same delta for a one-field lww write, as a yardstick: frame, context,
    // actors and the record's id cost the same in both.
    const before = a.store.version();
    a.notes.update(id, (r) => r.set('title', 'y'));
    const titleDelta = a.store.deltaSince(before);
    const scalar = titleDelta.length;
    const seen = a.store.version();
    a.notes.update(id, (r) => r.insert('body', 2500, 'y'));
    const delta = a.store.deltaSince(seen);
    expect(delta.length).toBeLessThan(100);
    expect(delta.length).toBeLessThanOrEqual(scalar + 12);
    expect(b.store.applyDelta(titleDelta)).toBe('applied');
    expect(b.store.applyDelta(delta)).toBe('applied');
    expect(b.notes.get(id)!.body).toBe(a.notes.get(id)!.body);
    a.store.close();
    b.store.close();
  });

  it('concurrent typing at one place never interleaves', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    const id = a.notes.insert({ body: '[]' });
    b.store.applyDelta(a.store.deltaSince());
    const base = a.store.version();
    // Each types one character per update, forward, at the same place.
    for (let i = 0; i < 3; i++) a.notes.update(id, (r) => r.insert('body', 1 + i, 'abc'[i]!));
    for (let i = 0; i < 3; i++) b.notes.update(id, (r) => r.insert('body', 1 + i, 'xyz'[i]!));
    a.store.applyDelta(b.store.deltaSince(base));
    b.store.applyDelta(a.store.deltaSince(base));
    const text = a.notes.get(id)!.body;
    expect(b.notes.get(id)!.body).toBe(text);
    expect(['[abcxyz]', '[xyzabc]']).toContain(text);
    a.store.close();
    b.store.close();
  });

  it('a record delete removes what the deleter saw; concurrent typing survives', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    const id = a.notes.insert({ body: 'seen' });
    b.store.applyDelta(a.store.deltaSince());
    const base = a.store.version();
    a.notes.delete(id);
    b.notes.update(id, (r) => r.insert('body', 4, '+new'));
    a.store.applyDelta(b.store.deltaSince(base));
    b.store.applyDelta(a.store.deltaSince(base));
    expect(a.notes.get(id)!.body).toBe('+new');
    expect(b.notes.get(id)!.body).toBe('+new');
    a.store.close();
    b.store.close();
  });

  it('three replicas editing at random converge, and a reload reads the same', async () => {
    const random = rng(18);
    const rs = await Promise.all(['00000000000000a1', '00000000000000b2', '00000000000000c3'].map(replica));
    const id = rs[0]!.notes.insert({ body: '', tags: [] });
    for (const r of rs.slice(1)) r.store.applyDelta(rs[0]!.store.deltaSince());
    const alphabet = ['a', 'b', 'é', '🌍', ' '];
    for (let step = 0; step < 300; step++) {
      const r = rs[Math.floor(random() * rs.length)]!;
      const rec = r.notes.get(id)!;
      const text = rec.body;
      const roll = random();
      if (roll < 0.55) {
        let at = Math.floor(random() * (text.length + 1));
        if (at > 0 && at < text.length && /[\udc00-\udfff]/.test(text[at]!)) at--;
        const s = alphabet[Math.floor(random() * alphabet.length)]!.repeat(1 + Math.floor(random() * 3));
        r.notes.update(id, (w) => w.insert('body', at, s));
      } else if (roll < 0.75 && text.length > 0) {
        const chars = [...text];
        const from = Math.floor(random() * chars.length);
        const n = 1 + Math.floor(random() * Math.min(3, chars.length - from));
        const at = chars.slice(0, from).join('').length;
        const len = chars.slice(from, from + n).join('').length;
        r.notes.update(id, (w) => w.delete('body', at, len));
      } else if (roll < 0.9) {
        const at = Math.floor(random() * (rec.tags.length + 1));
        r.notes.update(id, (w) => w.insert('tags', at, [step]));
      } else if (rec.tags.length > 0 && roll < 0.95) {
        r.notes.update(id, (w) => w.delete('tags', Math.floor(random() * rec.tags.length), 1));
      } else if (rec.tags.length > 0) {
        r.notes.update(id, (w) => w.set('tags', Math.floor(random() * rec.tags.length), `set ${step}`));
      }
      if (random() < 0.2) {
        const to = rs[Math.floor(random() * rs.length)]!;
        if (to !== r) to.store.applyDelta(r.store.deltaSince(to.store.version()));
      }
    }
    for (let round = 0; round < 2; round++) {
      for (const x of rs) for (const y of rs) if (x !== y) y.store.applyDelta(x.store.deltaSince(y.store.version()));
    }
    const body = rs[0]!.notes.get(id)!.body;
    const tags = rs[0]!.notes.get(id)!.tags;
    for (const r of rs) {
      expect(r.notes.get(id)!.body).toBe(body);
      expect(r.notes.get(id)!.tags).toEqual(tags);
    }
    expect(body.length).toBeGreaterThan(0);
    const snapshot = rs[1]!.store.save();
    const reloaded = await open({ schema: notesSchema, actor: '00000000000000d4' });
    reloaded.applyDelta(snapshot);
    const n = reloaded.collection('notes');
    expect(n.get(id)!.body).toBe(body);
    expect(n.get(id)!.tags).toEqual(tags);
    // The reloaded replica edits on from there and the others follow.
    n.update(id, (w) => w.insert('body', 0, '>'));
    rs[2]!.store.applyDelta(reloaded.deltaSince(rs[2]!.store.version()));
    expect(rs[2]!.notes.get(id)!.body).toBe('>' + body);
    for (const r of rs) r.store.close();
    reloaded.close();
  });
});

describe('cursors', () => {
  it('follow their place through local and remote edits, as strings that travel', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    const id = a.notes.insert({ body: 'hello 🌍 world', tags: ['x', 'y', 'z'] });
    b.store.applyDelta(a.store.deltaSince());
    // Cursors made on a: before 'w' (assoc 1), just after 'hello' (assoc -1), the end, the list's 'z'.
    const atW = a.notes.cursor(id, 'body', 9);
    const afterHello = a.notes.cursor(id, 'body', 5, -1);
    const end = a.notes.cursor(id, 'body', 14);
    const atZ = a.notes.cursor(id, 'tags', 2);
    expect(typeof atW).toBe('string');
    // Through JSON, to b, where concurrent edits happen.
    const sent = JSON.parse(JSON.stringify({ atW, afterHello, end, atZ })) as Record<string, typeof atW>;
    const base = b.store.version();
    b.notes.update(id, (r) => r.insert('body', 0, '>> ').insert('body', 8, ',').insert('tags', 0, ['w']));
    a.notes.update(id, (r) => r.delete('body', 6, 3).insert('body', 6, 'big '));
    const text = (n: typeof a) => n.notes.get(id)!.body;
    // On b alone: '>> hello, 🌍 world'.
    expect(text(b)).toBe('>> hello, 🌍 world');
    expect(b.notes.resolve(sent.atW!)).toBe(text(b).indexOf('world'));
    expect(b.notes.resolve(sent.afterHello!)).toBe(8); // ',' typed at the cursor went after it
    expect(b.notes.resolve(sent.end!)).toBe(text(b).length);
    expect(b.notes.resolve(sent.atZ!)).toBe(3);
    // Merged both ways, both replicas agree, and the cursors are still in place.
    b.store.applyDelta(a.store.deltaSince(base));
    a.store.applyDelta(b.store.deltaSince());
    expect(text(a)).toBe(text(b));
    expect(text(a)).toBe('>> hello, big world');
    for (const r of [a, b]) {
      expect(r.notes.resolve(sent.atW!)).toBe(text(r).indexOf('world'));
      expect(r.notes.resolve(sent.afterHello!)).toBe(8);
      expect(r.notes.resolve(sent.end!)).toBe(text(r).length);
      expect(r.notes.resolve(sent.atZ!)).toBe(3);
    }
    // A cursor whose element was deleted resolves to where it was.
    const atBig = a.notes.cursor(id, 'body', 10);
    a.notes.update(id, (r) => r.delete('body', 9, 5));
    expect(text(a)).toBe('>> hello,world');
    expect(a.notes.resolve(atBig)).toBe(9);
    a.store.close();
    b.store.close();
  });

  it('resolve is null where the element has not arrived or the record is gone; bad cursors are typed errors', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    const id = a.notes.insert({ body: 'abc' });
    b.store.applyDelta(a.store.deltaSince());
    const base = b.store.version();
    a.notes.update(id, (r) => r.insert('body', 3, 'def'));
    const atE = a.notes.cursor(id, 'body', 4);
    expect(b.notes.resolve(atE)).toBeNull(); // 'e' not here yet
    b.store.applyDelta(a.store.deltaSince(base));
    expect(b.notes.resolve(atE)).toBe(4);
    a.notes.delete(id);
    expect(a.notes.resolve(atE)).toBeNull();
    const other = await open({ schema: { ...notesSchema, other: { body: 'text' } }, actor: '00000000000000c3' });
    const cases: [string, () => unknown][] = [
      ['invalid_argument', () => b.notes.resolve('nonsense' as typeof atE)],
      ['invalid_argument', () => b.notes.resolve(42 as unknown as typeof atE)],
      ['invalid_argument', () => b.notes.resolve(atE.replace('myc-cursor-1', 'myc-cursor-9') as typeof atE)],
      ['invalid_argument', () => other.collection('other').resolve(atE)],
      ['invalid_argument', () => b.notes.cursor(id, 'body', 7)], // past the end
      ['invalid_argument', () => b.notes.cursor(id, 'body', 1, 0 as unknown as 1)],
      ['wrong_kind', () => b.notes.cursor(id, 'title' as 'body', 0)],
      ['unknown_field', () => b.notes.cursor(id, 'nope' as 'body', 0)],
      ['not_found', () => b.notes.cursor('missing', 'body', 0)],
    ];
    for (const [code, fn] of cases) expect(codeOf(fn), String(fn)).toBe(code);
    other.close();
    a.store.close();
    b.store.close();
  });
});

describe('changes as splices', () => {
  /** Applies splices to a text or list the way an editor binding would. */
  function apply<T extends string | readonly unknown[]>(value: T, splices: readonly Types.Splice[]): T {
    let out: string | unknown[] = typeof value === 'string' ? value : [...value];
    for (const s of splices) {
      if (typeof out === 'string') {
        expect(s.index + s.deleted).toBeLessThanOrEqual(out.length);
        out = out.slice(0, s.index) + (s.inserted as string) + out.slice(s.index + s.deleted);
      } else {
        expect(s.index + s.deleted).toBeLessThanOrEqual(out.length);
        out.splice(s.index, s.deleted, ...(s.inserted as unknown[]));
      }
    }
    return out as T;
  }

  it('local and remote edits reach subscribers as splices that rebuild the field exactly', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    const c = await replica('00000000000000c3');
    const id = a.notes.insert({ body: 'hello 🌍', tags: [1, 2] });
    const mirror = { a: { body: '', tags: [] as readonly unknown[] }, c: { body: '', tags: [] as readonly unknown[] } };
    const subscribe = (r: typeof a, m: (typeof mirror)['a'], origins: string[]) =>
      r.notes.subscribe((changes) => {
        for (const ch of changes) {
          origins.push(ch.origin);
          if (ch.deleted) continue;
          if (ch.splices?.body) m.body = apply(m.body, ch.splices.body);
          if (ch.splices?.tags) m.tags = apply(m.tags, ch.splices.tags);
          for (const f of ch.fields) if (f === 'body' || f === 'tags') expect(ch.splices?.[f], `${ch.origin} ${f}`).toBeDefined();
        }
      });
    const aOrigins: string[] = [];
    const cOrigins: string[] = [];
    subscribe(a, mirror.a, aOrigins);
    subscribe(c, mirror.c, cOrigins);
    mirror.a.body = 'hello 🌍';
    mirror.a.tags = [1, 2];
    c.store.applyDelta(a.store.deltaSince());
    b.store.applyDelta(a.store.deltaSince());
    await Promise.resolve();
    expect(mirror.c).toEqual({ body: 'hello 🌍', tags: [1, 2] });
    const random = rng(7);
    for (let round = 0; round < 30; round++) {
      for (const r of [a, b]) {
        const { body, tags } = r.notes.get(id)!;
        r.notes.update(id, (w) => {
          // Whole characters only: never split the astral one.
          const points = [...body];
          const at = Math.floor(random() * (points.length + 1));
          const unit = points.slice(0, at).join('').length;
          if (random() < 0.6 || points.length === 0) w.insert('body', unit, random() < 0.2 ? '🙂x' : 'ab'.slice(0, 1 + Math.floor(random() * 2)));
          else w.delete('body', unit === body.length ? 0 : unit, unit === body.length ? points[0]!.length : points[at]!.length);
          const pick = random();
          if (pick < 0.5 || tags.length === 0) w.insert('tags', Math.floor(random() * (tags.length + 1)), [round, `r${round}`]);
          else if (pick < 0.75) w.delete('tags', Math.floor(random() * tags.length), 1);
          else w.set('tags', Math.floor(random() * tags.length), `set ${round}`);
        });
      }
      const base = a.store.version();
      a.store.applyDelta(b.store.deltaSince(base));
      b.store.applyDelta(a.store.deltaSince());
      if (round % 3 === 2) c.store.applyDelta(a.store.deltaSince(c.store.version()));
      await Promise.resolve();
      expect(mirror.a.body).toBe(a.notes.get(id)!.body);
      expect(mirror.a.tags).toEqual(a.notes.get(id)!.tags);
    }
    c.store.applyDelta(a.store.deltaSince(c.store.version()));
    await Promise.resolve();
    expect(mirror.c.body).toBe(c.notes.get(id)!.body);
    expect(mirror.c.tags).toEqual(c.notes.get(id)!.tags);
    expect(c.notes.get(id)!.body).toBe(a.notes.get(id)!.body);
    expect(aOrigins).toContain('local');
    expect(aOrigins).toContain('remote');
    expect(cOrigins.every((o) => o === 'remote')).toBe(true);
    // A local record with a text: its insert is one splice at 0.
    const seen: Types.Change[] = [];
    a.notes.subscribe((changes) => seen.push(...changes));
    const other = a.notes.insert({ body: 'x', title: 't' });
    a.notes.update(other, (w) => w.set('title', 'u'));
    await Promise.resolve();
    expect(seen[0]!.splices).toEqual({ body: [{ index: 0, deleted: 0, inserted: 'x' }] });
    expect(seen[1]!.splices).toBeUndefined();
    a.store.close();
    b.store.close();
    c.store.close();
  });
});

describe('sequences on disk', () => {
  it('typing is persisted as it happens and read back after a reopen, before and after compaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'myc-seq-'));
    const a = await open({ name: 'doc', schema: notesSchema, persist: fileStorage(dir), compactAfterBytes: 2048 });
    const notes = a.collection('notes');
    const id = notes.insert({ body: '', tags: ['first'] });
    let expected = '';
    for (let i = 0; i < 400; i++) {
      const ch = ['a', 'b', '🌍', ' '][i % 4]!;
      notes.update(id, (r) => r.insert('body', expected.length, ch));
      expected += ch;
      if (i % 50 === 49) {
        const first = [...expected][0]!.length; // one character: 1 or 2 code units
        notes.update(id, (r) => r.delete('body', 0, first));
        expected = expected.slice(first);
      }
    }
    notes.update(id, (r) => r.insert('tags', 1, ['second', 2]));
    await a.flush();
    const snapshot = a.save();
    a.close();
    const b = await open({ name: 'doc', schema: notesSchema, persist: fileStorage(dir) });
    const back = b.collection('notes').get(id)!;
    expect(back.body).toBe(expected);
    expect(back.tags).toEqual(['first', 'second', 2]);
    expect(b.save()).toEqual(snapshot);
    b.close();
  });
});
