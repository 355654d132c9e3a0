// Bad bytes from outside: the cases shared by the page-level suite
// (tests/malformed.test.js) and the Node suite (js/tests/malformed.test.ts;
// types in malformed.d.ts) — every truncation, every bit flip, random
// garbage, bad snapshots. Each is refused with a MyceliumError and a code,
// and the store stays byte-identical.
import { eq, ok, rejectsCode, throwsCode } from './assert.js';
import { actor, clock, rng, todoSchema } from './fixtures.js';

/** The codes bad bytes may be refused with. */
export const CODES = ['corrupt', 'unsupported_version', 'schema_mismatch', 'limit_exceeded', 'invalid_argument'];

export async function fixture(open) {
  const src = await open({ schema: todoSchema, actor: actor(1), now: clock() });
  const todos = src.collection('todos');
  for (let i = 0; i < 40; i++) todos.insert({ id: `t${i}`, title: `title ${i} `.repeat(5), votes: i, tags: [i, 'x'] });
  const small = await open({ schema: todoSchema, actor: actor(3), now: clock() });
  small.collection('todos').insert({ id: 's', title: 'tiny' });
  const target = await open({ schema: todoSchema, actor: actor(2), now: clock() });
  target.collection('notes').insert({ id: 'n', body: 'mine' });
  return { compressed: src.deltaSince(), plain: small.deltaSince(), target };
}

/** Throws `bytes` at `target`: what it threw (null if nothing), and whether its snapshot stayed byte-identical. */
export function refuse(target, bytes) {
  const before = target.save();
  let error = null;
  try {
    target.applyDelta(bytes);
  } catch (e) {
    error = e;
  }
  const after = target.save();
  return { error, unchanged: before.length === after.length && before.every((x, i) => x === after[i]) };
}

function rejects(M, target, bytes, what) {
  const { error, unchanged } = refuse(target, bytes);
  ok(error instanceof M.MyceliumError, `${what}: not refused with a MyceliumError (${error})`);
  ok(CODES.includes(error.code), `${what}: unexpected code ${error.code}`);
  ok(error.message.length > error.code.length + 2, `${what}: no message`);
  ok(unchanged, `${what}: store changed`);
  return error.code;
}

/** [name, run(module)] */
export const malformedCases = [
  [
    'every truncation of a compressed and of a plain delta is rejected',
    async (M) => {
    const { compressed, plain, target } = await fixture(M.open);
    eq([compressed[4] & 1, plain[4] & 1], [1, 0], 'the fixture has both forms');
    for (const delta of [compressed, plain]) for (let n = 0; n < delta.length; n++) rejects(M, target, delta.subarray(0, n), `cut at ${n}`);
    eq(target.applyDelta(plain), 'applied', 'the whole delta still applies');
    },
  ],
  [
    'every single-bit flip of a delta is rejected',
    async (M) => {
    const { plain, target } = await fixture(M.open);
    for (let i = 0; i < plain.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const m = plain.slice();
        m[i] ^= 1 << bit;
        rejects(M, target, m, `flip byte ${i} bit ${bit}`);
      }
    }
    },
  ],
  [
    'header errors say what is wrong: version, magic, trailing bytes',
    async (M) => {
    const { plain, target } = await fixture(M.open);
    const v = plain.slice();
    v[3] = 9;
    eq(rejects(M, target, v, 'version'), 'unsupported_version');
    const m = plain.slice();
    m[0] = 0x58;
    eq(rejects(M, target, m, 'magic'), 'corrupt');
    const extra = new Uint8Array(plain.length + 1);
    extra.set(plain);
    eq(rejects(M, target, extra, 'trailing byte'), 'corrupt');
    },
  ],
  [
    '2,000 random garbage inputs and spliced headers are rejected',
    async (M) => {
    const { compressed, target } = await fixture(M.open);
    const r = rng(42);
    for (let k = 0; k < 2000; k++) {
      const n = Math.floor(r() * 300);
      const g = new Uint8Array(n);
      for (let i = 0; i < n; i++) g[i] = Math.floor(r() * 256);
      if (k % 2 === 0 && n > 8) g.set(compressed.subarray(0, 8));
      rejects(M, target, g, `garbage ${k}`);
    }
    },
  ],
  [
    'a bad snapshot fails open() with a code; non-bytes are invalid_argument',
    async (M) => {
    const { compressed, target } = await fixture(M.open);
    for (const bad of [compressed.subarray(0, compressed.length - 1), new Uint8Array([1, 2, 3])]) {
      await rejectsCode(M.open({ schema: todoSchema, snapshot: bad }), null, 'truncated snapshot');
    }
    const flipped = compressed.slice();
    flipped[flipped.length - 3] ^= 0x40;
    await rejectsCode(M.open({ schema: todoSchema, snapshot: flipped }), 'corrupt', 'flipped snapshot');
    await rejectsCode(M.open({ schema: todoSchema, snapshot: 'nope' }), 'invalid_argument', 'string snapshot');
    throwsCode(() => target.applyDelta([1, 2]), 'invalid_argument', 'array delta');
    throwsCode(() => target.applyDelta(new ArrayBuffer(8)), null, 'ArrayBuffer delta');
    },
  ],
];
