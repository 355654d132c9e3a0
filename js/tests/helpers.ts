// Tests run against the built package, imported by its own name through
// package.json `exports` (Node: dist/node.js; types: dist/types): the real
// WebAssembly module, the real compressor, the bundle users get.
import * as mycelium from 'mycelium-sync';
import type * as Types from 'mycelium-sync';

export { mycelium };
export type { Types };

export { actor, clock, rng, todoSchema } from '../../tests-browser/page/fixtures.js';

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The code of the MyceliumError `fn` throws (undefined when it throws nothing; anything else is rethrown). */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof mycelium.MyceliumError) return e.code;
    throw e;
  }
  return undefined;
}

/** The code of the MyceliumError `p` rejects with ('no error' when it resolves; anything else is rethrown). */
export async function codeOfAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof mycelium.MyceliumError) return e.code;
    throw e;
  }
  return 'no error';
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `ok()` holds, checking every 5 ms; fails naming `what` after `ms`. */
export async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}
