// Bad bytes from outside the page's engine: every truncation, every bit flip,
// random garbage, bad snapshots. Each throws MyceliumError with a code and
// leaves the store byte-identical.
import { MyceliumError, open } from '/dist/index.js';
import { eq, ok, rejectsCode, throwsCode } from '../page/assert.js';
import { rng, todoSchema } from '../page/fixtures.js';
import { test } from '../page/harness.js';
import * as shared from '../page/malformed.js';

const fixture = () => shared.fixture(open);

function rejects(target, bytes, what) {
  const { error, unchanged } = shared.refuse(target, bytes);
  ok(error instanceof MyceliumError, `${what}: not refused with a MyceliumError (${error})`);
  ok(shared.CODES.includes(error.code), `${what}: unexpected code ${error.code}`);
  ok(unchanged, `${what}: store changed`);
  return error.code;
}

test('every truncation of a compressed and of a plain delta is rejected', async () => {
  const { compressed, plain, target } = await fixture();
  eq([compressed[4] & 1, plain[4] & 1], [1, 0], 'the fixture has both forms');
  for (const delta of [compressed, plain]) for (let n = 0; n < delta.length; n++) rejects(target, delta.subarray(0, n), `cut at ${n}`);
  eq(target.applyDelta(plain), 'applied', 'the whole delta still applies');
});

test('every single-bit flip of a delta is rejected', async () => {
  const { plain, target } = await fixture();
  for (let i = 0; i < plain.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const m = plain.slice();
      m[i] ^= 1 << bit;
      rejects(target, m, `flip byte ${i} bit ${bit}`);
    }
  }
});

test('header errors say what is wrong: version, magic, trailing bytes', async () => {
  const { plain, target } = await fixture();
  const v = plain.slice();
  v[3] = 9;
  eq(rejects(target, v, 'version'), 'unsupported_version');
  const m = plain.slice();
  m[0] = 0x58;
  eq(rejects(target, m, 'magic'), 'corrupt');
  const extra = new Uint8Array(plain.length + 1);
  extra.set(plain);
  eq(rejects(target, extra, 'trailing byte'), 'corrupt');
});

test('2,000 random garbage inputs and spliced headers are rejected', async () => {
  const { compressed, target } = await fixture();
  const r = rng(42);
  for (let k = 0; k < 2000; k++) {
    const n = Math.floor(r() * 300);
    const g = new Uint8Array(n);
    for (let i = 0; i < n; i++) g[i] = Math.floor(r() * 256);
    if (k % 2 === 0 && n > 8) g.set(compressed.subarray(0, 8));
    rejects(target, g, `garbage ${k}`);
  }
});

test('a bad snapshot fails open() with a code; non-bytes are invalid_argument', async () => {
  const { compressed, target } = await fixture();
  for (const bad of [compressed.subarray(0, compressed.length - 1), new Uint8Array([1, 2, 3])]) {
    await rejectsCode(open({ schema: todoSchema, snapshot: bad }), null, 'truncated snapshot');
  }
  const flipped = compressed.slice();
  flipped[flipped.length - 3] ^= 0x40;
  await rejectsCode(open({ schema: todoSchema, snapshot: flipped }), 'corrupt', 'flipped snapshot');
  await rejectsCode(open({ schema: todoSchema, snapshot: 'nope' }), 'invalid_argument', 'string snapshot');
  throwsCode(() => target.applyDelta([1, 2]), 'invalid_argument', 'array delta');
  throwsCode(() => target.applyDelta(new ArrayBuffer(8)), null, 'ArrayBuffer delta');
});
