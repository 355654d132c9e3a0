// The storage adapter contract, written once and run against every adapter:
// memoryStorage and fileStorage under Vitest (js/tests/storage.test.ts),
// indexedDBStorage in Chromium, Firefox and WebKit (tests-browser). Each case
// gets a fresh adapter factory (same backing storage on every call) and a
// unique store-name prefix; it throws on the first difference.

function bytes(n, seed) {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function same(a, b, what) {
  if (!(a instanceof Uint8Array)) throw new Error(`${what}: not a Uint8Array (${Object.prototype.toString.call(a)})`);
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) throw new Error(`${what}: bytes differ (${a.length} vs ${b.length})`);
}

function sameLog(log, want, what) {
  if (log.length !== want.length) throw new Error(`${what}: ${log.length} blobs, want ${want.length}`);
  log.forEach((b, i) => same(b, want[i], `${what}: blob ${i}`));
}

const META = { format: 1, schema: { todos: { title: 'lww', votes: 'counter', tags: 'set', owner: 'mvr' } }, schemaHash: '0123456789abcdef' };

export const adapterContract = [
  ['an unknown store loads empty', async (make, p) => {
    const s = await make().load(`${p}nothing`);
    if (s.meta !== null || s.snapshot !== null || s.log.length !== 0) throw new Error(`not empty: ${JSON.stringify(s)}`);
  }],
  ['meta, appended blobs and their order survive a new adapter', async (make, p) => {
    const a = make();
    await a.setMeta(`${p}s`, META);
    const blobs = [bytes(10, 1), bytes(1, 2), bytes(70_000, 3), bytes(300, 4)];
    await a.append(`${p}s`, blobs.slice(0, 2));
    await a.append(`${p}s`, blobs.slice(2));
    a.close();
    const s = await make().load(`${p}s`);
    if (JSON.stringify(s.meta) !== JSON.stringify(META)) throw new Error(`meta: ${JSON.stringify(s.meta)}`);
    if (s.snapshot !== null) throw new Error('a snapshot appeared');
    sameLog(s.log, blobs, 'log');
  }],
  ['concurrent appends all land, whole and in call order', async (make, p) => {
    const a = make();
    const blobs = Array.from({ length: 25 }, (_, i) => bytes(50 + i * 97, i + 10));
    await Promise.all(blobs.map((b) => a.append(`${p}c`, [b])));
    sameLog((await make().load(`${p}c`)).log, blobs, 'log');
  }],
  ['compact folds exactly the stored snapshot and log into the new snapshot; later appends follow it', async (make, p) => {
    const a = make();
    const blobs = [bytes(20, 5), bytes(30, 6)];
    await a.append(`${p}k`, blobs);
    let seen = null;
    const snapshot = bytes(5000, 7);
    const n = await a.compact(`${p}k`, (log, old) => {
      if (old !== null) throw new Error('a snapshot before the first compaction');
      seen = log;
      return snapshot;
    });
    if (n !== 2) throw new Error(`compact folded ${n}, want 2`);
    sameLog(seen, blobs, 'fold input');
    const later = bytes(40, 8);
    await a.append(`${p}k`, [later]);
    const s = await make().load(`${p}k`);
    same(s.snapshot, snapshot, 'snapshot');
    sameLog(s.log, [later], 'log after compaction');
    const again = await a.compact(`${p}k`, (log, old) => {
      sameLog(log, [later], 'second fold input');
      same(old, snapshot, 'second fold gets the stored snapshot');
      return bytes(10, 9);
    });
    if (again !== 1) throw new Error(`second compact folded ${again}`);
    same((await make().load(`${p}k`)).snapshot, bytes(10, 9), 'second snapshot');
  }],
  ['compact with meta replaces meta in the same write', async (make, p) => {
    const a = make();
    await a.setMeta(`${p}m`, META);
    await a.append(`${p}m`, [bytes(9, 1)]);
    const next = { format: 1, schema: { todos: { title: 'lww', votes: 'lww' } }, schemaHash: 'fedcba9876543210' };
    await a.compact(`${p}m`, () => bytes(3, 2), next);
    const s = await make().load(`${p}m`);
    if (JSON.stringify(s.meta) !== JSON.stringify(next)) throw new Error(`meta: ${JSON.stringify(s.meta)}`);
    if (s.log.length !== 0) throw new Error('log not emptied');
  }],
  ['a fold that throws leaves snapshot and log as they were', async (make, p) => {
    const a = make();
    await a.append(`${p}f`, [bytes(11, 1)]);
    await a.compact(`${p}f`, () => bytes(12, 2));
    await a.append(`${p}f`, [bytes(13, 3)]);
    let failed = false;
    try {
      await a.compact(`${p}f`, () => {
        throw new Error('fold failed');
      });
    } catch {
      failed = true;
    }
    if (!failed) throw new Error('compact did not reject');
    const s = await make().load(`${p}f`);
    same(s.snapshot, bytes(12, 2), 'snapshot');
    sameLog(s.log, [bytes(13, 3)], 'log');
  }],
  ['clear deletes one store and no other; names are kept apart', async (make, p) => {
    const a = make();
    const names = [`${p}x`, `${p}x/y`, `${p}ü ✓`, `${p}..`, `${p}X`];
    for (const [i, n] of names.entries()) await a.append(n, [bytes(5, i + 1)]);
    await a.clear(`${p}x`);
    const b = make();
    if ((await b.load(`${p}x`)).log.length !== 0) throw new Error('cleared store still has data');
    for (const [i, n] of names.entries()) if (i > 0) sameLog((await b.load(n)).log, [bytes(5, i + 1)], n);
    await a.append(`${p}x`, [bytes(6, 9)]);
    sameLog((await make().load(`${p}x`)).log, [bytes(6, 9)], 'reused after clear');
  }],
  ['the actor pool: a free actor is taken again, a held one never; a new one joins only when all are held', async (make, p) => {
    const a = make();
    const n = `${p}actors`;
    const fresh = (i) => (0x1000 + i).toString(16).padStart(16, '0');
    const one = await a.leaseActor(n, fresh(1));
    if (one.actor !== fresh(1)) throw new Error(`an empty pool must take the fresh actor, took ${one.actor}`);
    const two = await a.leaseActor(n, fresh(2));
    if (two.actor !== fresh(2)) throw new Error(`actor ${fresh(1)} is held: want the fresh ${fresh(2)}, took ${two.actor}`);
    one.release();
    one.release(); // idempotent: must not free what another lease holds later
    const again = await make().leaseActor(n, fresh(3));
    if (again.actor !== fresh(1)) throw new Error(`the released ${fresh(1)} must be taken again, took ${again.actor}`);
    const third = await a.leaseActor(n, fresh(4));
    if (third.actor !== fresh(4)) throw new Error(`both pool actors are held: want the fresh ${fresh(4)}, took ${third.actor}`);
    for (const l of [two, again, third]) l.release();
    const taken = [];
    for (let i = 0; i < 4; i++) taken.push((await make().leaseActor(n, fresh(10 + i))).actor);
    const want = [fresh(1), fresh(2), fresh(4), fresh(10 + 3)];
    if (JSON.stringify(taken) !== JSON.stringify(want)) throw new Error(`the pool, in order, then one fresh: want ${want}, took ${taken}`);
  }],
];
