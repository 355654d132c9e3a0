// The native engine and the WebAssembly build exchange deltas both ways and
// agree byte for byte, compressed payloads included (native zstd in the
// engine; the WASM compressor module on the TypeScript side).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { actor, clock, equalBytes, mycelium, rng, todoSchema } from './helpers.js';

const TOOL = new URL('../../build/native-debug/replica_tool', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'myc-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// cpp/replica.h formats, written independently of the SDK's encoder.
class Enc {
  bytes: number[] = [];
  varint(v: number) {
    while (v >= 0x80) {
      this.bytes.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    this.bytes.push(v);
    return this;
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.varint(b.length);
    this.bytes.push(...b);
    return this;
  }
  u8(v: number) {
    this.bytes.push(v);
    return this;
  }
  done() {
    return new Uint8Array(this.bytes);
  }
}

const KINDS = { lww: 0, counter: 1, mvr: 2, set: 3 } as const;
function openInput(actorId: number): Uint8Array {
  const e = new Enc().varint(Object.keys(todoSchema).length);
  for (const [name, fields] of Object.entries(todoSchema)) {
    e.str(name).varint(Object.keys(fields).length);
    for (const [f, k] of Object.entries(fields)) e.str(f).u8(KINDS[k]);
  }
  for (let i = 0; i < 8; i++) e.u8(i === 0 ? actorId : 0); // fixed64 little-endian
  return e.varint(0).done();
}

function native(actorId: number, steps: ['apply' | 'write', Uint8Array][]): { snapshot: Uint8Array; delta: Uint8Array } {
  if (!existsSync(TOOL)) throw new Error(`${TOOL} is missing: build the native-debug preset first (npm test does)`);
  const args = [join(dir, 'open.bin'), dir];
  writeFileSync(args[0]!, openInput(actorId));
  steps.forEach(([cmd, bytes], i) => {
    const f = join(dir, `step${i}.bin`);
    writeFileSync(f, bytes);
    args.push(cmd, f);
  });
  execFileSync(TOOL, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return { snapshot: new Uint8Array(readFileSync(join(dir, 'snapshot.bin'))), delta: new Uint8Array(readFileSync(join(dir, 'delta.bin'))) };
}

describe('native <-> WebAssembly', () => {
  it('a WASM delta joined natively gives the same snapshot bytes, and back', async () => {
    const r = rng(7);
    const a = await mycelium.open({ schema: todoSchema, actor: actor(1), now: clock() });
    const todos = a.collection('todos');
    for (let i = 0; i < 300; i++) {
      const id = todos.insert({ id: `t${i}`, title: `todo ${i} ${'·'.repeat(Math.floor(r() * 20))}`, votes: i % 7 });
      if (i % 3 === 0) todos.update(id, (w) => w.add('tags', i).set('owner', r() < 0.5 ? 'ann' : 2.5));
      if (i % 10 === 0) todos.delete(id);
    }
    const delta = a.deltaSince();
    const snapshot = a.save();
    expect(delta[4]! & 1).toBe(1); // compressed by the WASM compressor module

    const first = native(2, [['apply', delta]]);
    expect(equalBytes(first.snapshot, snapshot)).toBe(true);

    // The native side writes (a batch of its own), and its delta comes back.
    const batch = new Enc().varint(1_800_000_000_000);
    batch.u8(1).varint(0).str('native'); // insert todos/native
    batch.u8(2).varint(0).u8(0).str('native').u8(5).str('written natively '.repeat(100)); // title
    batch.u8(3).varint(0).u8(2).str('t1').varint(2 * 40); // votes += 40
    batch.u8(6).varint(0).str('t2'); // delete t2
    const second = native(2, [['apply', delta], ['write', batch.done()]]);
    expect(second.delta[4]! & 1).toBe(1); // compressed by the native engine
    expect(a.applyDelta(second.delta)).toBe('applied');
    expect(equalBytes(a.save(), second.snapshot)).toBe(true);
    expect(todos.get('native')!.title).toBe('written natively '.repeat(100));
    expect(todos.get('t1')!.votes).toBe(1 + 40);
    expect(todos.has('t2')).toBe(false);
    expect(equalBytes(a.deltaSince(), second.delta)).toBe(true);
  });
});
