// Randomized convergence between stores in one page: 4-5 replicas, every
// kind, deletes, deltas against stale versions, delivered out of order,
// duplicated, dropped and resent. Every replica ends with the same save()
// bytes and the same records. ?schedules= on the runner URL changes the count.
import { open } from '/dist/index.js';
import { bytesEqual, eq, ok } from '../page/assert.js';
import { actor, clock, rng, todoSchema } from '../page/fixtures.js';
import { test } from '../page/harness.js';

const SCHEDULES = Number(new URLSearchParams(location.search).get('schedules') ?? 150);
const IDS = ['a', 'b', 'c', 'd', 'e'];
const VALUES = [null, true, 1, -7, 2.5, 'x', 'long value '.repeat(20), new Uint8Array([9])];

async function schedule(seed, stats) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const n = 4 + Math.floor(r() * 2);
  const stores = [];
  for (let i = 0; i < n; i++) stores.push(await open({ schema: todoSchema, actor: actor(seed * 8 + i + 1), now: clock(1_000_000 + i * 37) }));
  const known = stores.map(() => stores.map(() => ({})));
  const inflight = [];
  const deliver = (m) => stats[stores[m.to].applyDelta(m.bytes)]++;
  const steps = 30 + Math.floor(r() * 30);
  for (let step = 0; step < steps; step++) {
    const i = Math.floor(r() * n);
    const s = stores[i];
    const todos = s.collection('todos');
    const id = pick(IDS);
    const roll = r();
    if (roll < 0.2) {
      if (!todos.has(id)) todos.insert({ id, title: pick(VALUES), votes: Math.floor(r() * 5) });
      else todos.delete(id);
    } else if (roll < 0.65) {
      if (todos.has(id)) {
        todos.update(id, (w) => {
          const k = r();
          if (k < 0.25) w.set('title', pick(VALUES));
          else if (k < 0.45) w.increment('votes', Math.floor(r() * 7) - 3);
          else if (k < 0.65) w.set('owner', pick(VALUES));
          else if (k < 0.85) w.add('tags', pick(VALUES));
          else w.remove('tags', pick(VALUES));
        });
      }
    } else {
      const j = Math.floor(r() * n);
      if (j !== i) {
        const bytes = s.deltaSince(r() < 0.2 ? {} : known[i][j]);
        inflight.push({ to: j, bytes });
        if (r() < 0.2) inflight.push({ to: j, bytes });
        if (r() < 0.8) known[i][j] = s.version();
      }
    }
    while (inflight.length > 0 && r() < 0.25) {
      const m = inflight.splice(Math.floor(r() * inflight.length), 1)[0];
      if (r() < 0.1) continue; // dropped
      deliver(m);
    }
  }
  while (inflight.length > 0) deliver(inflight.splice(Math.floor(r() * inflight.length), 1)[0]);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) deliver({ to: j, bytes: stores[i].deltaSince(stores[j].version()) });
  }
  return stores;
}

test(`${SCHEDULES} seeded schedules of 4-5 replicas end identical`, async () => {
  const stats = { pending: 0, covered: 0, applied: 0 };
  for (let seed = 1; seed <= SCHEDULES; seed++) {
    const stores = await schedule(seed, stats);
    const snap = stores[0].save();
    const records = stores[0].collection('todos').all();
    for (const s of stores) {
      ok(bytesEqual(s.save(), snap), `seed ${seed}: snapshots differ`);
      eq(s.collection('todos').all(), records, `seed ${seed}`);
      eq(s.pending, 0, `seed ${seed}: nothing left pending`);
    }
    for (const s of stores) s.close();
  }
  ok(stats.pending > SCHEDULES / 10, `pending deltas exercised (${stats.pending})`);
  ok(stats.covered > SCHEDULES, `covered deltas exercised (${stats.covered})`);
});
