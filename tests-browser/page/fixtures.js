// Shared fixtures for the page-level tests and the Node tests (js/tests,
// typed by fixtures.d.ts): the DESIGN.md todo schema, a deterministic clock,
// actors, the one seeded PRNG of the test suites and the benchmarks, and base64
// for the host bridge.
export const todoSchema = {
  todos: { title: 'lww', done: 'lww', votes: 'counter', tags: 'set', owner: 'mvr' },
  notes: { body: 'lww' },
};

export function clock(start = 1_700_000_000_000) {
  let t = start;
  return () => t++;
}

export function actor(n) {
  return n.toString(16).padStart(16, '0');
}

/** mulberry32 */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
