// Memory is released after close(): filling and closing a store again and
// again does not grow WebAssembly linear memory past the first cycle's peak
// (linear memory never shrinks; freed memory must be reused).
import { open, wasmMemoryBytes } from '/dist/index.js';
import { eq, ok } from '../page/assert.js';
import { actor, todoSchema } from '../page/fixtures.js';
import { test } from '../page/harness.js';

async function fill(n) {
  // Fixed actor and ids: every cycle allocates the same way in every engine.
  const s = await open({ schema: todoSchema, actor: actor(0xa1) });
  const todos = s.collection('todos');
  for (let i = 0; i < n; i++) todos.insert({ id: `r${i}`, title: `todo ${i}`, done: i % 2 === 0, votes: i, tags: ['a'], owner: 'me' });
  return s;
}

test('open, 20,000 records, save, close, 26 times: linear memory stops growing after the first cycles', async () => {
  const first = await fill(20_000);
  const held = first.memoryBytes();
  ok(held > 20_000 * 50, `the store holds its records (${held} bytes)`);
  first.save();
  first.close();
  // The allocator settles within a few cycles (emmalloc places save()'s
  // buffers past the first peak once, in cycle 4); from then on a store or a save()
  // buffer that was not freed would grow memory every cycle.
  for (let cycle = 0; cycle < 5; cycle++) {
    const s = await fill(20_000);
    s.save();
    s.close();
  }
  const settled = wasmMemoryBytes();
  for (let cycle = 0; cycle < 20; cycle++) {
    const s = await fill(20_000);
    eq(s.collection('todos').size, 20_000);
    s.save();
    s.close();
  }
  eq(wasmMemoryBytes(), settled, 'linear memory grew across 20 cycles: memory is not released by close()');
});
