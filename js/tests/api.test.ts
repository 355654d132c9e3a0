// The public API in Node: the cases the page-level suite runs too, then what
// only Node has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCases } from '../../tests-browser/page/api-cases.js';
import { mycelium, todoSchema } from './helpers.js';

const { open } = mycelium;

describe('the API cases the browser suite runs too (tests-browser/page/api-cases.js)', () => {
  for (const [name, run] of apiCases) it(name, () => run(mycelium));
});

describe('the same API cases with every cached read checked against the engine (checkReads)', () => {
  const g = globalThis as { __myceliumTestSwitches?: { checkReads?: boolean } };
  beforeAll(() => {
    g.__myceliumTestSwitches = { checkReads: true };
  });
  afterAll(() => {
    delete g.__myceliumTestSwitches;
  });
  for (const [name, run] of apiCases) it(name, () => run(mycelium));
});

describe('in Node', () => {
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

  it('loads once per process and reports how', async () => {
    await open({ schema: todoSchema });
    const info = await mycelium.loadInfo();
    expect(info.path).toBe('binary');
    expect(info.compression).toBe(true);
    await mycelium.preload(); // no-op once loaded
  });
});
