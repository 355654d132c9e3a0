// verifyLoads (js/verified-load.ts): a snapshot load checked by saving it
// again. JavaScriptCore's fault cannot be caused in Node, so a test switch
// replaces what a given load saved back, acting out a load computed wrongly.
import { afterEach, describe, expect, it } from 'vitest';
import { equalBytes, mycelium, todoSchema } from './helpers.js';

const { open, memoryStorage, MyceliumError } = mycelium;
type Fault = (attempt: number, saved: Uint8Array) => Uint8Array;
type Switches = { loadFault?: Fault; saveFault?: Fault; deltaFault?: Fault; applyFault?: Fault; compressFault?: () => void };
const g = globalThis as { __myceliumTestSwitches?: Switches };

afterEach(() => {
  delete g.__myceliumTestSwitches;
});

async function source(n = 500): Promise<Uint8Array> {
  const s = await open({ schema: todoSchema, actor: '00000000000000a1', now: () => 1000 });
  const t = s.collection('todos');
  for (let i = 0; i < n; i++) t.insert({ id: `t${i}`, title: `todo ${i}`, votes: i, tags: [i % 3], owner: 'ann' });
  const bytes = s.save();
  s.close();
  return bytes;
}

/** A fault that flips one byte of what the listed loads saved back, and counts the loads. */
function faultOn(attempts: number[], log: number[]): Switches['loadFault'] {
  return (attempt, saved) => {
    log.push(attempt);
    if (!attempts.includes(attempt)) return saved;
    const wrong = saved.slice();
    const last = wrong.length - 1;
    wrong[last] = wrong[last]! ^ (0x5a + attempt);
    return wrong;
  };
}

describe('verifyLoads', () => {
  it('a snapshot that saves back to itself is loaded once', async () => {
    const snap = await source();
    const log: number[] = [];
    g.__myceliumTestSwitches = { loadFault: faultOn([], log) };
    const s = await open({ schema: todoSchema, snapshot: snap, verifyLoads: true });
    expect(log).toEqual([0]);
    expect(equalBytes(s.save(), snap)).toBe(true);
    expect(s.collection('todos').get('t7')?.votes).toBe(7);
    s.close();
  });

  it('a load computed wrongly is loaded again, and the store holds the right state', async () => {
    const snap = await source();
    const log: number[] = [];
    g.__myceliumTestSwitches = { loadFault: faultOn([0], log) };
    const s = await open({ schema: todoSchema, snapshot: snap, verifyLoads: true });
    expect(log).toEqual([0, 1]);
    expect(equalBytes(s.save(), snap)).toBe(true);
    expect(s.collection('todos').size).toBe(500);
    s.close();
  });

  it('three loads, three answers: corrupt, and nothing is opened', async () => {
    const snap = await source();
    const log: number[] = [];
    g.__myceliumTestSwitches = { loadFault: faultOn([0, 1, 2], log) };
    const err = await open({ schema: todoSchema, snapshot: snap, verifyLoads: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(mycelium.MyceliumError);
    expect((err as InstanceType<typeof mycelium.MyceliumError>).code).toBe('corrupt');
    expect(String(err)).toContain('3 loads of one snapshot gave 3 different results');
    expect(log).toEqual([0, 1, 2]);
  });

  it('a snapshot that does not save back to itself is taken when two loads agree', async () => {
    const snap = await source();
    const log: number[] = [];
    // Every load saves back the same other bytes: a snapshot that is valid
    // but not in this engine's canonical form (another version's writer).
    g.__myceliumTestSwitches = { loadFault: (attempt, saved) => (log.push(attempt), Uint8Array.of(...saved, 0)) };
    const s = await open({ schema: todoSchema, snapshot: snap, verifyLoads: true });
    expect(log).toEqual([0, 1]);
    expect(s.collection('todos').get('t499')?.title).toBe('todo 499');
    s.close();
  });

  it('a damaged snapshot is refused with its own error after two loads agree on it', async () => {
    const snap = await source();
    const damaged = snap.slice(0, snap.length - 3);
    const plain = await open({ schema: todoSchema, snapshot: damaged }).catch((e: unknown) => e);
    const checked = await open({ schema: todoSchema, snapshot: damaged, verifyLoads: true }).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(mycelium.MyceliumError);
    expect(String(checked)).toBe(String(plain));
  });

  it('off by default outside JavaScriptCore', async () => {
    const snap = await source(10);
    const log: number[] = [];
    g.__myceliumTestSwitches = { loadFault: faultOn([0, 1, 2], log) };
    const s = await open({ schema: todoSchema, snapshot: snap });
    expect(log).toEqual([]);
    s.close();
  });

  it('a persisted store is checked as it opens from its stored snapshot', async () => {
    const storage = memoryStorage();
    const a = await open({ schema: todoSchema, name: 'v', persist: storage, compactAfterBytes: 1 });
    const t = a.collection('todos');
    for (let i = 0; i < 200; i++) t.insert({ id: `p${i}`, title: `p ${i}`, votes: 1 });
    await a.flush();
    const before = a.save();
    a.close();
    const log: number[] = [];
    g.__myceliumTestSwitches = { loadFault: faultOn([0], log) };
    const b = await open({ schema: todoSchema, name: 'v', persist: storage, verifyLoads: true });
    expect(log[0]).toBe(0);
    expect(log.length).toBe(2);
    expect(equalBytes(b.save(), before)).toBe(true);
    b.close();
  });

  it('a snapshot for storage is loaded back first: one that does not load back to itself is made again', async () => {
    const storage = memoryStorage();
    const log: number[] = [];
    g.__myceliumTestSwitches = { saveFault: faultOn([0], log) };
    const a = await open({ schema: todoSchema, name: 'w', persist: storage, compactAfterBytes: 1, verifyLoads: true });
    const t = a.collection('todos');
    for (let i = 0; i < 200; i++) t.insert({ id: `p${i}`, title: `p ${i}`, votes: 1 });
    await a.flush();
    const before = a.save();
    a.close();
    expect(log.slice(0, 2)).toEqual([0, 1]);
    delete g.__myceliumTestSwitches;
    const stored = await storage.load('w');
    expect(stored.snapshot).not.toBeNull();
    const b = await open({ schema: todoSchema, name: 'w', persist: storage });
    expect(equalBytes(b.save(), before)).toBe(true);
    b.close();
  });

  it('when no snapshot loads back, nothing is written: the log keeps the data and the error is reported', async () => {
    const storage = memoryStorage();
    g.__myceliumTestSwitches = { saveFault: faultOn([0, 1, 2], []) };
    const a = await open({ schema: todoSchema, name: 'x', persist: storage, compactAfterBytes: 1, verifyLoads: true });
    const errors: string[] = [];
    a.onError((e) => errors.push(e.code));
    const t = a.collection('todos');
    for (let i = 0; i < 50; i++) t.insert({ id: `p${i}`, votes: i });
    await a.flush().catch(() => undefined);
    const before = a.save();
    a.close();
    delete g.__myceliumTestSwitches;
    expect(errors).toContain('corrupt');
    const stored = await storage.load('x');
    expect(stored.snapshot).toBeNull();
    const b = await open({ schema: todoSchema, name: 'x', persist: storage });
    expect(equalBytes(b.save(), before)).toBe(true);
    b.close();
  });

  it('a log entry is written only when two computations of it agree', async () => {
    const storage = memoryStorage();
    const log: number[] = [];
    g.__myceliumTestSwitches = { deltaFault: faultOn([0], log) };
    const a = await open({ schema: todoSchema, name: 'd', persist: storage, verifyLoads: true });
    const t = a.collection('todos');
    for (let i = 0; i < 100; i++) t.insert({ id: `p${i}`, title: `p ${i}`, votes: i });
    await a.flush();
    const before = a.save();
    const right = a.deltaSince({});
    a.close();
    // The first computation was wrong, the second and third agreed.
    expect(log).toEqual([0, 1, 2]);
    delete g.__myceliumTestSwitches;
    const stored = await storage.load('d');
    expect(stored.log.length).toBe(1);
    expect(equalBytes(stored.log[0]!, right)).toBe(true);
    const b = await open({ schema: todoSchema, name: 'd', persist: storage });
    expect(equalBytes(b.save(), before)).toBe(true);
    b.close();
  });

  it('a trap in the compressor leaves that payload uncompressed and a fresh compressor takes over', async () => {
    const a = await open({ schema: todoSchema, actor: '00000000000000c1', now: () => 1000 });
    const t = a.collection('todos');
    for (let i = 0; i < 2000; i++) t.insert({ id: `c${i}`, title: `the same words again ${i % 10}`, votes: i });
    const compressed = a.deltaSince({});
    expect(compressed[4]! & 1).toBe(1); // compressed (frame flags, cpp/codec.h)
    let traps = 0;
    g.__myceliumTestSwitches = {
      compressFault: () => {
        if (traps++ === 0) throw new WebAssembly.RuntimeError('Out of bounds memory access (acted out)');
      },
    };
    const plain = a.deltaSince({});
    expect(traps).toBe(1);
    expect(plain[4]! & 1).toBe(0);
    expect(plain.length).toBeGreaterThan(compressed.length);
    // The uncompressed payload is the same state.
    const b = await open({ schema: todoSchema });
    b.applyDelta(plain);
    expect(equalBytes(b.save(), a.save())).toBe(true);
    b.close();
    // The replacement instance is made asynchronously; until then payloads stay as they are.
    await new Promise((r) => setTimeout(r, 50));
    expect(equalBytes(a.deltaSince({}), compressed)).toBe(true);
    expect(traps).toBeGreaterThan(1);
    a.close();
  });

  it('a computation of a log entry that traps counts as a wrong one', async () => {
    const storage = memoryStorage();
    const a = await open({ schema: todoSchema, name: 'f', persist: storage, verifyLoads: true });
    a.collection('todos').insert({ id: 'one', votes: 1 });
    let calls = 0;
    g.__myceliumTestSwitches = {
      deltaFault: (attempt, delta) => {
        calls++;
        return delta;
      },
    };
    // A trap in the first computation: acted out by a compressor trap is
    // caught in the compressor, so act it out in the computation itself.
    const original = a.deltaSince.bind(a);
    let made = 0;
    a.deltaSince = (since) => {
      if (made++ === 0) throw new WebAssembly.RuntimeError('unreachable (acted out)');
      return original(since);
    };
    await a.flush();
    expect(made).toBe(3);
    expect(calls).toBe(2);
    const before = a.save();
    a.close();
    const b = await open({ schema: todoSchema, name: 'f', persist: storage });
    expect(equalBytes(b.save(), before)).toBe(true);
    b.close();
  });

  it('a log entry whose first three computations disagree is computed again after a pause, and written', async () => {
    const storage = memoryStorage();
    const log: number[] = [];
    g.__myceliumTestSwitches = { deltaFault: faultOn([0, 1, 2], log) };
    const a = await open({ schema: todoSchema, name: 'l', persist: storage, verifyLoads: true });
    const errors: string[] = [];
    a.onError((e) => errors.push(e.code));
    for (let i = 0; i < 20; i++) a.collection('todos').insert({ id: `p${i}`, votes: i });
    const right = a.deltaSince({});
    const started = Date.now();
    await a.flush();
    // The second round began after the first pause (50 ms), and its first two agreed.
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(log).toEqual([0, 1, 2, 3, 4]);
    expect(errors).toEqual([]);
    const stored = await storage.load('l');
    expect(stored.log.length).toBe(1);
    expect(equalBytes(stored.log[0]!, right)).toBe(true);
    a.close();
  });

  it("a computation of a log entry the engine refuses as corrupt (its own check) counts as a wrong one; another error is the call's", async () => {
    const storage = memoryStorage();
    const a = await open({ schema: todoSchema, name: 'k', persist: storage, verifyLoads: true });
    a.collection('todos').insert({ id: 'one', votes: 1 });
    const right = a.deltaSince({});
    const original = a.deltaSince.bind(a);
    let made = 0;
    a.deltaSince = (since) => {
      // As cpp/store_delta.cc's in_canonical_order() refuses a delta computed wrongly.
      if (made++ < 2) throw new MyceliumError('corrupt', 'the engine built a delta whose records 9 and 10 are out of order (acted out)');
      return original(since);
    };
    await a.flush();
    // The first round: two refused, one made (nothing to agree with); after the first pause, two that agree.
    expect(made).toBe(5);
    const stored = await storage.load('k');
    expect(stored.log.length).toBe(1);
    expect(equalBytes(stored.log[0]!, right)).toBe(true);
    a.collection('todos').insert({ id: 'two', votes: 2 });
    a.deltaSince = () => {
      throw new MyceliumError('invalid_argument', 'not the engine computing wrongly (acted out)');
    };
    await expect(a.flush()).rejects.toMatchObject({ code: 'invalid_argument' });
    a.close();
  });

  it('a log entry no two computations agree on, in any round, is not written, and flush() reports corrupt', async () => {
    const storage = memoryStorage();
    const log: number[] = [];
    g.__myceliumTestSwitches = { deltaFault: faultOn([...Array(12).keys()], log) };
    const a = await open({ schema: todoSchema, name: 'e', persist: storage, verifyLoads: true });
    const errors: string[] = [];
    a.onError((e) => errors.push(e.code));
    a.collection('todos').insert({ id: 'one', votes: 1 });
    await expect(a.flush()).rejects.toMatchObject({ code: 'corrupt' });
    // Twelve computations, in four rounds (a write already queued may start another round after them).
    expect(log.slice(0, 12)).toEqual([...Array(12).keys()]);
    expect(errors).toContain('corrupt');
    expect((await storage.load('e')).log.length).toBe(0);
    delete g.__myceliumTestSwitches;
    // Written by the next flush, computed right this time.
    a.collection('todos').insert({ id: 'two', votes: 2 });
    await a.flush();
    const before = a.save();
    a.close();
    const b = await open({ schema: todoSchema, name: 'e', persist: storage });
    expect(equalBytes(b.save(), before)).toBe(true);
    b.close();
  });

  it('a stored log entry that fails to apply once is applied again; one that fails twice alike is its own error', async () => {
    const storage = memoryStorage();
    const a = await open({ schema: todoSchema, name: 'f', persist: storage });
    for (let i = 0; i < 100; i++) a.collection('todos').insert({ id: `p${i}`, votes: i });
    await a.flush();
    const before = a.save();
    a.close();
    const log: number[] = [];
    g.__myceliumTestSwitches = { applyFault: faultOn([0], log) };
    const b = await open({ schema: todoSchema, name: 'f', persist: storage, verifyLoads: true });
    expect(log).toEqual([0, 1]);
    expect(equalBytes(b.save(), before)).toBe(true);
    b.close();
    // Damaged the same way on every try: the entry's error, after two tries
    // in each of four builds (the store is built again after pauses, as the
    // engine's fault can strike twice in a row).
    const same: number[] = [];
    g.__myceliumTestSwitches = { applyFault: (n, entry) => faultOn([0], same)!(0, entry) };
    await expect(open({ schema: todoSchema, name: 'f', persist: storage, verifyLoads: true })).rejects.toMatchObject({ code: 'corrupt' });
    expect(same).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // Not verifying: the entry is applied as stored, once.
    const once: number[] = [];
    g.__myceliumTestSwitches = { applyFault: faultOn([0], once) };
    const c = await open({ schema: todoSchema, name: 'f', persist: storage, verifyLoads: false });
    expect(once).toEqual([]);
    expect(equalBytes(c.save(), before)).toBe(true);
    c.close();
  });

  it('a trap while the log is replayed builds the store again from the start', async () => {
    const storage = memoryStorage();
    const a = await open({ schema: todoSchema, name: 'g', persist: storage });
    a.collection('todos').insert({ id: 'one', votes: 1 });
    await a.flush();
    a.collection('todos').insert({ id: 'two', votes: 2 });
    await a.flush();
    const before = a.save();
    a.close();
    let calls = 0;
    g.__myceliumTestSwitches = {
      applyFault: (_n, entry) => {
        calls++;
        if (calls === 2) throw new WebAssembly.RuntimeError('out of bounds memory access');
        return entry;
      },
    };
    const b = await open({ schema: todoSchema, name: 'g', persist: storage, verifyLoads: true });
    // Entry 1, entry 2 (trapped), then both again.
    expect(calls).toBe(4);
    expect(equalBytes(b.save(), before)).toBe(true);
    b.close();
  });

  it('a stored snapshot whose loads disagree is loaded again after a pause; one that never loads right is corrupt', async () => {
    const storage = memoryStorage();
    const a = await open({ schema: todoSchema, name: 'h', persist: storage, compactAfterBytes: 1 });
    for (let i = 0; i < 50; i++) a.collection('todos').insert({ id: `p${i}`, votes: i });
    await a.flush();
    const before = a.save();
    a.close();
    expect((await storage.load('h')).snapshot).not.toBeNull();
    // The first build's three loads each save back something else: the
    // engine's fault striking every load before the compilation finished.
    let loads = 0;
    g.__myceliumTestSwitches = {
      loadFault: (_n, saved) => {
        if (loads++ >= 3) return saved;
        const wrong = saved.slice();
        wrong[wrong.length - 1] = wrong[wrong.length - 1]! ^ (0x11 + loads);
        return wrong;
      },
    };
    const started = Date.now();
    const b = await open({ schema: todoSchema, name: 'h', persist: storage, verifyLoads: true });
    expect(loads).toBe(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(equalBytes(b.save(), before)).toBe(true);
    b.close();
    // Every load wrong: four builds (after pauses of 50, 250 and 1000 ms), then corrupt.
    loads = 0;
    g.__myceliumTestSwitches = {
      loadFault: (_n, saved) => {
        const wrong = saved.slice();
        wrong[wrong.length - 1] = wrong[wrong.length - 1]! ^ (0x11 + (loads++ % 200));
        return wrong;
      },
    };
    await expect(open({ schema: todoSchema, name: 'h', persist: storage, verifyLoads: true })).rejects.toMatchObject({ code: 'corrupt' });
    expect(loads).toBe(12);
    // Without verifyLoads a refused load is the data's at once.
    delete g.__myceliumTestSwitches;
    const c = await open({ schema: todoSchema, name: 'h', persist: storage });
    expect(equalBytes(c.save(), before)).toBe(true);
    c.close();
  });
});
