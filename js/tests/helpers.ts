// Tests run against the built package, imported by its own name through
// package.json `exports` (Node: dist/node.js; types: dist/types): the real
// WebAssembly module, the real compressor, the bundle users get.
import * as mycelium from 'mycelium-sync';
import type * as Types from 'mycelium-sync';

export { mycelium };
export type { Types };

export { actor, clock, rng, todoSchema } from '../../tests-browser/page/fixtures.js';
import { todoSchema } from '../../tests-browser/page/fixtures.js';

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
export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!(await ok())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

function sameVersion(a: Types.Version, b: Types.Version): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false;
  return true;
}

/** Waits until every store has the same version and nothing is held or in flight. */
export async function converged(stores: Types.Store<typeof todoSchema>[], hub: Types.MemoryHub | null, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    const v0 = stores[0]!.version();
    if (stores.every((s) => s.pending === 0 && sameVersion(s.version(), v0)) && (!hub || hub.inFlight === 0)) return;
    if (Date.now() - start > timeoutMs) {
      throw new Error(`no convergence after ${timeoutMs} ms: ${stores.map((s) => `${JSON.stringify(s.version())} pending ${s.pending}`).join(' | ')}`);
    }
    await sleep(5);
  }
}

export function randomWrite(s: Types.Store<typeof todoSchema>, r: () => number): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const todos = s.collection('todos');
  const id = pick(IDS);
  if (!todos.has(id)) {
    todos.insert({ id, title: pick(VALUES), votes: Math.floor(r() * 4), tags: [pick(VALUES)] });
    return;
  }
  const k = r();
  if (k < 0.12) todos.delete(id);
  else
    todos.update(id, (w) => {
      if (k < 0.35) w.set('title', pick(VALUES));
      else if (k < 0.5) w.increment('votes', Math.floor(r() * 5) - 2);
      else if (k < 0.65) w.set('owner', pick(VALUES));
      else if (k < 0.85) w.add('tags', pick(VALUES));
      else w.remove('tags', pick(VALUES));
    });
}

const IDS = ['a', 'b', 'c', 'd', 'e', 'f'];
const VALUES = [null, true, 3, -1, 'x', 'a longer value '.repeat(8), new Uint8Array([1, 2])];
