// scripts/check-cycles.mjs is what CI runs over js/: it must find a loop
// that runs through a type-only import and a re-export, and find none in js/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = new URL('../../scripts/check-cycles.mjs', import.meta.url).pathname;
const run = (dir: string) => spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });

describe('import cycles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'myc-cycles-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds a loop through a type-only import and a re-export, and names its modules', () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'a.ts'), "import type { B } from './sub/b.js';\nexport type A = B | 1;\n");
    writeFileSync(join(dir, 'sub', 'b.ts'), "export { x } from './c.js';\nexport type B = 2;\n");
    writeFileSync(join(dir, 'sub', 'c.ts'), "import '../a.js';\nexport const x = 1;\n");
    writeFileSync(join(dir, 'd.ts'), "import { x } from './sub/c.js';\nexport const y = x;\n");
    const r = run(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('import cycle among 3 modules');
    expect(r.stderr).toMatch(/a\.ts -> .*sub\/b\.ts/);
    expect(r.stderr).not.toContain('d.ts');
  });

  it('js/ has none', () => {
    const r = run(new URL('../', import.meta.url).pathname);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no import cycles among \d+ modules/);
  });
});
