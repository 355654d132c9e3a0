// Randomized convergence through the TypeScript API, on the schedule the
// page-level suite runs too (tests-browser/page/convergence.js): at the end
// every replica has the same save() bytes and the same get() results.
import { describe, expect, it } from 'vitest';
import { IDS, schedule } from '../../tests-browser/page/convergence.js';
import { equalBytes, mycelium } from './helpers.js';

const SCHEDULES = Number(process.env.MYC_SCHEDULES ?? 500);

const g = globalThis as { __myceliumTestSwitches?: { checkReads?: boolean } };

describe('convergence through the TypeScript API', () => {
  it(`${Math.ceil(SCHEDULES / 5)} schedules with every cached read checked against the engine (checkReads)`, async () => {
    g.__myceliumTestSwitches = { checkReads: true };
    try {
      for (let seed = 1; seed <= Math.ceil(SCHEDULES / 5); seed++) {
        const { stores } = await schedule(mycelium.open, seed);
        for (const s of stores) {
          const todos = s.collection('todos');
          todos.all();
          for (const id of IDS) todos.get(id);
          s.close();
        }
      }
    } finally {
      delete g.__myceliumTestSwitches;
    }
  }, 300_000);

  it(`${SCHEDULES} seeded schedules of 4-5 replicas end identical`, async () => {
    const totals = { pending: 0, covered: 0, applied: 0 };
    for (let seed = 1; seed <= SCHEDULES; seed++) {
      const { stores, stats } = await schedule(mycelium.open, seed);
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += stats[k];
      const snap = stores[0]!.save();
      const records = stores[0]!.collection('todos').all();
      for (const s of stores) {
        if (!equalBytes(s.save(), snap)) throw new Error(`seed ${seed}: snapshots differ (MYC_SCHEDULES to narrow)`);
        expect(s.collection('todos').all(), `seed ${seed}`).toEqual(records);
        for (const id of IDS) expect(s.collection('todos').get(id), `seed ${seed} ${id}`).toEqual(stores[0]!.collection('todos').get(id));
        expect(s.pending).toBe(0);
      }
      for (const s of stores) s.close();
    }
    console.log(`convergence: ${JSON.stringify(totals)}`);
    // The schedules exercised what they claim to.
    expect(totals.pending).toBeGreaterThan(SCHEDULES / 10);
    expect(totals.covered).toBeGreaterThan(SCHEDULES);
  }, 300_000);
});
