// Tests run against the built package, imported by its own name through
// package.json `exports` (Node: dist/node.js; types: dist/types): the real
// WebAssembly module, the real compressor, the bundle users get.
import * as mycelium from 'mycelium-sync';
import type * as Types from 'mycelium-sync';

export { mycelium };
export type { Types };

export const todoSchema = {
  todos: { title: 'lww', done: 'lww', votes: 'counter', tags: 'set', owner: 'mvr' },
  notes: { body: 'lww' },
} as const;

/** A deterministic clock: each call is one ms later. */
export function clock(start = 1_700_000_000_000): () => number {
  let t = start;
  return () => t++;
}

export function actor(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** Seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
