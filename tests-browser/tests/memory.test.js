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

test('open, 20,000 records, save, close, 26 times: linear memory does not grow with the cycles', async () => {
  const first = await fill(20_000);
  const held = first.memoryBytes();
  ok(held > 20_000 * 50, `the store holds its records (${held} bytes)`);
  first.save();
  first.close();
  // Linear memory only grows; an allocator may still place a save() buffer
  // past its old peak now and then. A store or a save() buffer that close()
  // did not free would add its size every cycle: 20 cycles of a leak of even
  // a tenth of a store exceed two stores' worth.
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
  const grown = wasmMemoryBytes() - settled;
  ok(grown <= 2 * held, `linear memory grew ${grown} bytes across 20 cycles of a ${held}-byte store: memory is not released by close()`);
});
