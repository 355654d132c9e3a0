// Randomized convergence between stores in one page, on the schedule the Node
// suite runs too (page/convergence.js). Every replica ends with the same
// save() bytes and the same records. ?schedules= on the runner URL changes
// the count.
import { open } from '/dist/index.js';
import { bytesEqual, eq, ok } from '../page/assert.js';
import { schedule } from '../page/convergence.js';
import { test } from '../page/harness.js';

const SCHEDULES = Number(new URLSearchParams(location.search).get('schedules') ?? 150);

test(`${SCHEDULES} seeded schedules of 4-5 replicas end identical`, async () => {
  const totals = { pending: 0, covered: 0, applied: 0 };
  for (let seed = 1; seed <= SCHEDULES; seed++) {
    const { stores, stats } = await schedule(open, seed);
    for (const k of Object.keys(totals)) totals[k] += stats[k];
    const snap = stores[0].save();
    const records = stores[0].collection('todos').all();
    for (const s of stores) {
      ok(bytesEqual(s.save(), snap), `seed ${seed}: snapshots differ`);
      eq(s.collection('todos').all(), records, `seed ${seed}`);
      eq(s.pending, 0, `seed ${seed}: nothing left pending`);
    }
    for (const s of stores) s.close();
  }
  ok(totals.pending > SCHEDULES / 10, `pending deltas exercised (${totals.pending})`);
  ok(totals.covered > SCHEDULES, `covered deltas exercised (${totals.covered})`);
});
