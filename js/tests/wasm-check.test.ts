// A server that answers a .wasm request with another file (Vite's dev server
// sends index.html) is reported as that, with the fix, not as the
// compiler's "expected magic word" (issue 19, part 6). Through the package: the first open() of this file's process
// gets the wrong bytes, the next one the real module.
import { describe, expect, it } from 'vitest';
import { mycelium } from './helpers.js';

const { open, MyceliumError } = mycelium;

describe('loading bytes that are not WebAssembly', () => {
  it('fails with load_failed naming what came and the fix, then a good load works', async () => {
    const html = new TextEncoder().encode('<!doctype html><html><body>app</body></html>');
    const err = await open({ schema: { t: { a: 'lww' } }, wasmBinary: html }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MyceliumError);
    const e = err as InstanceType<typeof MyceliumError>;
    expect(e.code).toBe('load_failed');
    expect(e.message).toContain('is not a WebAssembly module');
    expect(e.message).toContain('3c 21 64 6f'); // "<!do"
    expect(e.message).toContain("'mycelium-sync/vite'");
    const store = await open({ schema: { t: { a: 'lww' } } });
    store.collection('t').insert({ a: 1 });
    expect(store.collection('t').size).toBe(1);
    store.close();
  });
});
