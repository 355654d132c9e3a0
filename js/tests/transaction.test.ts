// store.transact(fn) (docs/transactions.md): one batch over many write
// calls and collections, all or nothing at commit, reads before the
// transaction, effects after it.
import { describe, expect, it } from 'vitest';
import { codeOf, mycelium, rng } from './helpers.js';
import type { Types } from './helpers.js';

const { open } = mycelium;
const schema = {
  orders: { item: 'lww', qty: 'lww', notes: 'text' },
  stock: { count: 'counter', left: { kind: 'credit', min: 0 } },
} as const;

async function replica(actor = '00000000000000b1') {
  const store = await open({ schema, actor });
  return { store, orders: store.collection('orders'), stock: store.collection('stock') };
}

describe('store.transact', () => {
  it('commits writes over several collections as one batch: one delta, one clock, one change delivery', async () => {
    let clockReads = 0;
    const store = await open({ schema, actor: '00000000000000b1', now: () => ++clockReads * 1000 });
    const orders = store.collection('orders');
    const stock = store.collection('stock');
    stock.insert({ id: 'tea', count: 10, left: 10 });
    const readsBefore = clockReads;
    const heard: Types.Change[][] = [];
    orders.subscribe((c) => heard.push(c));
    const got = store.transact(() => {
      const id = orders.insert({ id: 'o1', item: 'tea', qty: 2 });
      stock.update('tea', (r) => r.increment('count', -2).spend('left', 2));
      orders.update(id, (r) => r.set('qty', 3));
      return id;
    });
    expect(got).toBe('o1');
    expect(orders.get('o1')).toMatchObject({ item: 'tea', qty: 3 });
    expect(stock.get('tea')).toMatchObject({ count: 8, left: 8 });
    // One batch reads the clock once (three write calls outside would read it three times).
    expect(clockReads - readsBefore).toBe(1);
    // A peer gets it all from one delta.
    const peer = await replica('00000000000000b2');
    expect(peer.store.applyDelta(store.deltaSince(peer.store.version()))).toBe('applied');
    expect(peer.orders.get('o1')).toMatchObject({ item: 'tea', qty: 3 });
    expect(peer.stock.get('tea')?.count).toBe(8);
    await Promise.resolve();
    await Promise.resolve();
    expect(heard.length).toBe(1);
    expect(heard[0]!.map((c) => c.id)).toEqual(['o1', 'o1']);
  });

  it('writes nothing when fn throws', async () => {
    const { store, orders, stock } = await replica();
    stock.insert({ id: 'tea', count: 10 });
    const before = store.save();
    expect(() =>
      store.transact(() => {
        orders.insert({ id: 'o1', item: 'tea' });
        stock.update('tea', (r) => r.increment('count', -1));
        throw new Error('changed my mind');
      }),
    ).toThrow('changed my mind');
    expect(orders.has('o1')).toBe(false);
    expect(stock.get('tea')?.count).toBe(10);
    expect(store.save()).toEqual(before);
  });

  it('writes nothing when the engine refuses the batch at commit, and throws its typed error', async () => {
    const { store, orders, stock } = await replica();
    stock.insert({ id: 'tea', count: 1, left: 5 });
    const before = store.save();
    // Each call passes its own checks; the batch as a whole cannot run.
    const cases: [string, () => void][] = [
      ['already_exists', () => orders.insert({ id: 'o1' }) && orders.insert({ id: 'o1' })],
      ['not_found', () => orders.insert({ id: 'o2' }) && orders.delete('o2') && orders.update('o2', (r) => r.set('qty', 1))],
      ['insufficient_credit', () => (stock.update('tea', (r) => r.spend('left', 3)), stock.update('tea', (r) => r.spend('left', 3)))],
      ['invalid_argument', () => (orders.insert({ id: 'o3', notes: 'ab' }), orders.update('o3', (r) => r.insert('notes', 5, 'x')))],
    ];
    for (const [code, fill] of cases) {
      expect(
        codeOf(() =>
          store.transact(() => {
            orders.insert({ id: 'ok', item: 'kept?' });
            fill();
          }),
        ),
        code,
      ).toBe(code);
      expect(orders.has('ok'), code).toBe(false);
      expect(store.save(), code).toEqual(before);
    }
    // The store still writes afterwards.
    store.transact(() => orders.insert({ id: 'ok' }));
    expect(orders.has('ok')).toBe(true);
  });

  it('a write call that throws inside fn leaves nothing of itself; fn may go on', async () => {
    const { store, orders } = await replica();
    store.transact(() => {
      orders.insert({ id: 'a', item: 'first' });
      // An insert whose second field is wrong: its first ops must not stay.
      expect(codeOf(() => orders.insert({ id: 'b', item: 'x', nope: 1 } as never))).toBe('unknown_field');
      expect(codeOf(() => orders.update('a', (r) => r.set('item', 'half').increment('item' as never, 1)))).toBe('wrong_kind');
      orders.insert({ id: 'c', item: 'third' });
    });
    expect(orders.ids()).toEqual(['a', 'c']);
    expect(orders.get('a')?.item).toBe('first');
  });

  it('a write call that throws takes back its credit ops: a delete after it sees the credit as the kept calls leave it', async () => {
    const { store, stock } = await replica();
    stock.insert({ id: 'tea', count: 1, left: 5 });
    store.transact(() => {
      stock.update('tea', (r) => r.spend('left', 5));
      // Adds 3, then fails on its next op: the 3 must not count.
      expect(codeOf(() => stock.update('tea', (r) => r.add('left', 3).increment('left' as never, 1)))).toBe('wrong_kind');
      // The kept ops leave 'left' at its min, so the record holds no credit
      // and a delete hides it: a second delete finds nothing.
      expect(stock.delete('tea')).toBe(true);
      expect(stock.delete('tea')).toBe(false);
    });
    expect(stock.has('tea')).toBe(false);
  });

  it('reads inside fn see the store before the transaction; delete and upsert account for its writes', async () => {
    const { store, orders } = await replica();
    orders.insert({ id: 'old', item: 'x' });
    store.transact(() => {
      orders.insert({ id: 'new', item: 'y' });
      expect(orders.has('new')).toBe(false);
      orders.update('old', (r) => r.set('item', 'z'));
      expect(orders.get('old')?.item).toBe('x');
      // Presence as the transaction leaves it.
      expect(orders.delete('new')).toBe(true);
      expect(orders.delete('new')).toBe(false);
      expect(codeOf(() => orders.upsert('old', { item: 'w' }))).toBe('invalid_argument');
      expect(codeOf(() => orders.update('new', () => undefined))).toBe('not_found');
    });
    expect(orders.ids()).toEqual(['old']);
    expect(orders.get('old')?.item).toBe('z');
  });

  it('refuses an async fn and writes nothing of it; nests; keeps a closed store closed', async () => {
    const { store, orders } = await replica();
    expect(
      codeOf(() =>
        store.transact(async () => {
          orders.insert({ id: 'a' });
        }),
      ),
    ).toBe('invalid_argument');
    expect(orders.has('a')).toBe(false);
    expect(codeOf(() => store.transact('no' as never))).toBe('invalid_argument');
    store.transact(() => {
      orders.insert({ id: 'outer' });
      store.transact(() => orders.insert({ id: 'inner' }));
      expect(orders.has('inner')).toBe(false); // joined the outer one
    });
    expect(orders.ids()).toEqual(['inner', 'outer']);
    store.close();
    expect(codeOf(() => store.transact(() => undefined))).toBe('closed');
  });

  it('an undo manager hears each record once: the transaction is one step', async () => {
    const { store, orders } = await replica();
    orders.insert({ id: 'a', item: 'one' });
    const undo = store.undoManager({ captureTimeout: 0 });
    store.transact(() => {
      orders.update('a', (r) => r.set('item', 'two'));
      orders.update('a', (r) => r.set('qty', 2));
      orders.insert({ id: 'b', item: 'new' });
    });
    expect(orders.get('a')).toMatchObject({ item: 'two', qty: 2 });
    expect(undo.undo()).toBe(true);
    expect(orders.get('a')).toMatchObject({ item: 'one', qty: null });
    expect(orders.has('b')).toBe(false);
    expect(undo.canUndo).toBe(false);
  });

  it('matches the same calls made one by one, each group kept or dropped whole (seeded, 300 groups)', async () => {
    const actor = '00000000000000b7';
    const now = () => 1000;
    const a = await open({ schema, actor, now });
    let b = await open({ schema, actor, now });
    const random = rng(Number(process.env.TXSEED ?? 23));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const ids = ['r0', 'r1', 'r2', 'r3', 'r4'];
    type Call = (s: Types.Store<typeof schema>) => unknown;
    const call = (): Call => {
      const id = pick(ids);
      const n = 1 + Math.floor(random() * 4);
      switch (Math.floor(random() * 7)) {
        case 0:
          return (s) => s.collection('orders').insert({ id, item: `i${n}`, notes: 'ab' });
        case 1:
          return (s) => s.collection('orders').update(id, (r) => r.set('qty', n));
        case 2:
          return (s) => s.collection('orders').delete(id);
        case 3:
          return (s) => s.collection('orders').update(id, (r) => r.insert('notes', n % 3, 'x'));
        case 4:
          return (s) => s.collection('stock').insert({ id, count: n, left: 3 });
        case 5:
          return (s) => s.collection('stock').update(id, (r) => r.increment('count', -n).spend('left', n));
        default:
          return (s) => s.collection('stock').delete(id);
      }
    };
    let kept = 0;
    for (let g = 0; g < 300; g++) {
      const calls = Array.from({ length: 1 + Math.floor(random() * 5) }, call);
      // One by one on a copy of b; kept only when every call succeeded.
      const copy = await open({ schema, actor, now, snapshot: b.save() });
      let ok = true;
      const results: unknown[] = [];
      for (const c of calls) {
        try {
          results.push(c(copy));
        } catch (e) {
          if (!(e instanceof mycelium.MyceliumError)) throw e;
          ok = false;
          break;
        }
      }
      let txResults: unknown[] = [];
      let txOk = true;
      try {
        txResults = a.transact(() => calls.map((c) => c(a)));
      } catch (e) {
        if (!(e instanceof mycelium.MyceliumError)) throw e;
        txOk = false;
      }
      expect(txOk, `group ${g}`).toBe(ok);
      if (ok) {
        expect(txResults, `group ${g}`).toEqual(results);
        b.close();
        b = copy;
        kept++;
      } else copy.close();
      for (const name of ['orders', 'stock'] as const) expect(a.collection(name).all(), `group ${g} ${name}`).toEqual(b.collection(name).all());
    }
    expect(kept).toBeGreaterThan(30); // the seed exercises both outcomes
    expect(kept).toBeLessThan(270);
  });
});
