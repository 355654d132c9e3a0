// Bad bytes from outside: every one throws MyceliumError with a code, and
// the store stays byte-identical.
import { describe, expect, it } from 'vitest';
import * as shared from '../../tests-browser/page/malformed.js';
import type { Types } from './helpers.js';
import { mycelium, rng, todoSchema } from './helpers.js';

const { open, MyceliumError } = mycelium;
const fixture = () => shared.fixture(open);

function rejects(target: Types.Store<typeof todoSchema>, bytes: Uint8Array, what: string): string {
  const { error, unchanged } = shared.refuse(target, bytes);
  let code = '';
  if (error !== null) {
    expect(error, what).toBeInstanceOf(MyceliumError);
    code = (error as InstanceType<typeof MyceliumError>).code;
    expect(shared.CODES, what).toContain(code);
    expect((error as Error).message.length, what).toBeGreaterThan(code.length + 2);
  }
  expect(unchanged, `${what}: store changed`).toBe(true);
  return code;
}

describe('malformed input', () => {
  it('the fixture really is compressed and uncompressed', async () => {
    const { compressed, plain } = await fixture();
    expect(compressed[4]! & 1).toBe(1);
    expect(plain[4]! & 1).toBe(0);
  });

  it('every truncation of a delta is rejected', async () => {
    const { compressed, plain, target } = await fixture();
    for (const delta of [compressed, plain]) {
      for (let n = 0; n < delta.length; n++) expect(rejects(target, delta.subarray(0, n), `cut at ${n}`)).not.toBe('');
    }
  });

  it('every single-bit flip is rejected', async () => {
    const { plain, target } = await fixture();
    for (let i = 0; i < plain.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const m = plain.slice();
        m[i]! ^= 1 << bit;
        // The checksum catches flips in the payload; header flips are caught by name.
        expect(rejects(target, m, `flip byte ${i} bit ${bit}`)).not.toBe('');
      }
    }
  });

  it('header errors say what is wrong', async () => {
    const { plain, target } = await fixture();
    const m = plain.slice();
    m[3] = 9;
    expect(rejects(target, m, 'version')).toBe('unsupported_version');
    const t = plain.slice();
    t[0] = 0x58;
    expect(rejects(target, t, 'magic')).toBe('corrupt');
    const extra = new Uint8Array(plain.length + 1);
    extra.set(plain);
    expect(rejects(target, extra, 'trailing byte')).toBe('corrupt');
  });

  it('random garbage and random splices are rejected', async () => {
    const { compressed, target } = await fixture();
    const r = rng(42);
    for (let k = 0; k < 2000; k++) {
      const n = Math.floor(r() * 300);
      const g = new Uint8Array(n);
      for (let i = 0; i < n; i++) g[i] = Math.floor(r() * 256);
      if (k % 2 === 0 && n > 8) g.set(compressed.subarray(0, 8)); // a real header in front
      expect(rejects(target, g, `garbage ${k}`)).not.toBe('');
    }
  });

  it('a bad snapshot fails open() with a code', async () => {
    const { compressed } = await fixture();
    for (const bad of [compressed.subarray(0, compressed.length - 1), new Uint8Array([1, 2, 3])]) {
      await expect(open({ schema: todoSchema, snapshot: bad })).rejects.toBeInstanceOf(MyceliumError);
    }
    const flipped = compressed.slice();
    flipped[flipped.length - 3]! ^= 0x40;
    await expect(open({ schema: todoSchema, snapshot: flipped })).rejects.toMatchObject({ code: 'corrupt' });
    await expect(open({ schema: todoSchema, snapshot: 'nope' as any })).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('a delta that is not a Uint8Array is an invalid_argument', async () => {
    const { target } = await fixture();
    expect(() => target.applyDelta([1, 2] as any)).toThrow(MyceliumError);
  });
});
