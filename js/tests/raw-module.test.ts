// The hand-written bindings/mycelium-core.d.mts against the real module:
// every declared function exists and behaves as the declaration says.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import createCore from '../generated/mycelium-core.mjs';
import type { CoreModule } from '../generated/mycelium-core.mjs';

const DECLARED: (keyof CoreModule)[] = [
  'input', 'output', 'outputSize', 'open', 'close', 'write', 'get', 'all', 'count', 'version',
  'deltaSince', 'apply', 'changes', 'dropped', 'save', 'pending', 'memory', 'actorHi', 'actorLo', 'frameSync',
  'unframeSync', 'syncHeaderSize', 'cursor', 'resolve',
  '_myc_write', '_myc_get',
];

async function core(): Promise<CoreModule> {
  const bytes = readFileSync(new URL('../../dist/mycelium.wasm', import.meta.url));
  const module = await WebAssembly.compile(bytes);
  return createCore({
    instantiateWasm(imports, receive) {
      void WebAssembly.instantiate(module, imports).then((i) => receive(i, module));
      return {};
    },
  });
}

describe('raw module', () => {
  it('has every declared function, and they work on bytes', async () => {
    const m = await core();
    for (const name of DECLARED) expect(typeof m[name], name).toBe('function');
    expect(m.HEAPU8).toBeInstanceOf(Uint8Array);

    // Schema { t: { f: lww } }, actor 0x0102, no snapshot.
    const open = [1, 1, 0x74, 1, 1, 0x66, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0];
    m.HEAPU8.set(open, m.input(open.length));
    const h = m.open(open.length);
    expect(h).toBeGreaterThan(0);
    expect([m.actorHi(h), m.actorLo(h)]).toEqual([0, 0x0102]);

    // now=5; insert t/"r"; set f="v"
    const batch = [5, 1, 0, 1, 0x72, 2, 0, 0, 1, 0x72, 5, 1, 0x76];
    m.HEAPU8.set(batch, m.input(batch.length));
    expect(m.write(h, batch.length)).toBe(0);
    m.HEAPU8.set([0x72], m.input(1));
    const n = m.get(h, 0, 1);
    expect([...m.HEAPU8.subarray(m.output(), m.output() + n)]).toEqual([1, 5, 1, 0x76]);
    expect(m._myc_get(h, 0, 1)).toBe(n);
    const again = [6, 2, 0, 0, 1, 0x72, 5, 1, 0x77]; // now=6; set f="w"
    m.HEAPU8.set(again, m.input(again.length));
    expect(m._myc_write(h, again.length)).toBe(0);
    m.HEAPU8.set([0x72], m.input(1));
    expect([...m.HEAPU8.subarray(m.output(), m.output() + m._myc_get(h, 0, 1))]).toEqual([1, 5, 1, 0x77]);
    m.HEAPU8.set([2, 2, 0, 0, 1, 0x73, 5, 1, 0x77], m.input(9)); // set on a missing record
    expect(m._myc_write(h, 9)).toBe(-4); // not_found
    expect(m.count(h, 0)).toBe(1);
    expect(m.version(h)).toBe(1 + 8 + 1);
    m.HEAPU8.set([0], m.input(1));
    const d = m.deltaSince(h, 1);
    expect(d).toBeGreaterThan(10);
    const delta = m.HEAPU8.slice(m.output(), m.output() + d);
    const s = m.save(h);
    expect(s).toBeGreaterThan(10);
    m.HEAPU8.set(delta, m.input(delta.length));
    expect(m.apply(h, delta.length, 0, 0, true, 0)).toBe(2); // already covered
    expect(m.changes(h)).toBe(2); // no records, no list or text changes
    expect(m.dropped(h)).toBe(1);
    expect(m.pending(h)).toBe(0);
    expect(m.memory(h)).toBeGreaterThan(0);
    // A sync frame around "123456789": 'MYC', version 1, kind 3, length 9, and
    // the CRC-32C check value of "123456789" (0xe3069283), little-endian.
    const digits = [0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39];
    m.HEAPU8.set(digits, m.input(9));
    const f = m.frameSync(3, 9);
    const framed = m.HEAPU8.slice(m.output(), m.output() + f);
    expect([...framed]).toEqual([0x4d, 0x59, 0x43, 1, 0x30, 9, 0x83, 0x92, 0x06, 0xe3, ...digits]);
    m.HEAPU8.set(framed.subarray(0, 12), m.input(12));
    expect(m.syncHeaderSize(12)).toBe(10); // from the first bytes alone
    m.HEAPU8.set(framed, m.input(framed.length));
    expect(m.unframeSync(framed.length)).toBe(3);
    expect([...m.HEAPU8.subarray(m.output(), m.output() + m.outputSize())]).toEqual(digits);
    framed[framed.length - 1] = framed[framed.length - 1]! ^ 1;
    m.HEAPU8.set(framed, m.input(framed.length));
    expect(m.unframeSync(framed.length)).toBe(-6); // corrupt: checksum
    m.HEAPU8.set(delta, m.input(delta.length));
    expect(m.unframeSync(delta.length)).toBe(-6); // a delta is not a sync frame
    expect(m.frameSync(1, 0)).toBe(-1); // invalid_argument: not a sync kind

    // A text field { n: { x: text } }: "hi" typed into record "r"; a cursor
    // before 'i' is its id (actor 0x0102 little-endian, seq 3: the record's
    // insert is 1, 'h' 2), and resolves to 1 until text is typed before it.
    const openText = [1, 1, 0x6e, 1, 1, 0x78, 5, 2, 1, 0, 0, 0, 0, 0, 0, 0];
    m.HEAPU8.set(openText, m.input(openText.length));
    const t = m.open(openText.length);
    const typed = [5, 1, 0, 1, 0x72, 7, 0, 0, 1, 0x72, 0, 2, 0x68, 0x69];
    m.HEAPU8.set(typed, m.input(typed.length));
    expect(m.write(t, typed.length)).toBe(0);
    m.HEAPU8.set([0, 0, 1, 0x72, 0, 1], m.input(6));
    const c = m.cursor(t, 6);
    const cursor = [...m.HEAPU8.subarray(m.output(), m.output() + c)];
    expect(cursor).toEqual([1, 2, 1, 0, 0, 0, 0, 0, 0, 3]);
    m.HEAPU8.set([0, 0, 1, 0x72, 0, ...cursor], m.input(5 + cursor.length));
    expect(m.resolve(t, 5 + cursor.length)).toBe(1);
    const front = [6, 7, 0, 0, 1, 0x72, 0, 1, 0x3e]; // ">" at 0
    m.HEAPU8.set(front, m.input(front.length));
    expect(m.write(t, front.length)).toBe(0);
    m.HEAPU8.set([0, 0, 1, 0x72, 0, ...cursor], m.input(5 + cursor.length));
    expect(m.resolve(t, 5 + cursor.length)).toBe(2);
    m.HEAPU8.set([0, 0, 1, 0x73, 0, ...cursor], m.input(5 + cursor.length)); // record "s": none
    expect(m.resolve(t, 5 + cursor.length)).toBe(-4); // not_found
    m.close(t);

    // Errors: negative code, message in the output buffer.
    m.HEAPU8.set([1, 2, 3], m.input(3));
    const bad = m.apply(h, 3, 0, 0, false, 0);
    expect(bad).toBe(-6); // corrupt
    const msg = new TextDecoder().decode(m.HEAPU8.subarray(m.output(), m.output() + m.outputSize()));
    expect(msg).toMatch(/magic/);
    m.close(h);
  });
});
