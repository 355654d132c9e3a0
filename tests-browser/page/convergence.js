// One randomized convergence schedule, shared by the page-level suite
// (tests/convergence.test.js) and the Node suite (js/tests/convergence.test.ts;
// types in convergence.d.ts): 4-5 replicas with skewed clocks, every kind,
// deletes, deltas computed against stale versions, delivered out of order,
// duplicated, dropped and resent; then anti-entropy rounds. The caller checks
// that every replica ends identical.
import { actor, clock, rng, todoSchema } from './fixtures.js';

export const IDS = ['a', 'b', 'c', 'd', 'e'];
const VALUES = [null, true, 1, -7, 2.5, 'x', 'long value '.repeat(20), new Uint8Array([9])];

/** Runs schedule `seed` on stores made by `open`; returns them and how their deltas were taken. */
export async function schedule(open, seed) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const n = 4 + Math.floor(r() * 2);
  const stores = [];
  // Skewed clocks: LWW must still agree everywhere.
  for (let i = 0; i < n; i++) stores.push(await open({ schema: todoSchema, actor: actor(seed * 8 + i + 1), now: clock(1_000_000 + i * 37) }));
  const known = stores.map(() => stores.map(() => ({}))); // what i last heard j has
  const inflight = [];
  const stats = { pending: 0, covered: 0, applied: 0 };
  const deliver = (m) => stats[stores[m.to].applyDelta(m.bytes)]++;
  const steps = 30 + Math.floor(r() * 30);
  for (let step = 0; step < steps; step++) {
    const i = Math.floor(r() * n);
    const s = stores[i];
    const todos = s.collection('todos');
    const id = pick(IDS);
    const roll = r();
    try {
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
        // Send to a peer: a delta against what we last heard of it (maybe stale).
        const j = Math.floor(r() * n);
        if (j !== i) {
          const bytes = s.deltaSince(r() < 0.2 ? {} : known[i][j]);
          inflight.push({ to: j, bytes });
          if (r() < 0.2) inflight.push({ to: j, bytes }); // duplicate
          if (r() < 0.8) known[i][j] = s.version(); // optimistic: assume it arrives
        }
      }
      // Reads between writes and deliveries (no draws from r: the schedule
      // stays what it was): the read cache is filled and must follow.
      if (step % 2 === 0) todos.get(id);
      if (step % 5 === 0) todos.all();
    } catch (e) {
      throw new Error(`seed ${seed} step ${step}: ${String(e)}`, { cause: e });
    }
    // Deliver some in-flight messages in random order; drop a few.
    while (inflight.length > 0 && r() < 0.25) {
      const m = inflight.splice(Math.floor(r() * inflight.length), 1)[0];
      if (r() < 0.1) continue; // dropped; resent by the final rounds
      deliver(m);
    }
  }
  // Late arrivals in random order, then anti-entropy until everyone agrees.
  while (inflight.length > 0) deliver(inflight.splice(Math.floor(r() * inflight.length), 1)[0]);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) deliver({ to: j, bytes: stores[i].deltaSince(stores[j].version()) });
  }
  return { stores, stats };
}
