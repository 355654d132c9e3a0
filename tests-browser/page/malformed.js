// The malformed-input fixture shared by the page-level suite
// (tests/malformed.test.js) and the Node suite (js/tests/malformed.test.ts;
// types in malformed.d.ts): a compressed and a plain delta to damage, a store
// to throw them at, and what a refusal must look like.
import { actor, clock, todoSchema } from './fixtures.js';

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
