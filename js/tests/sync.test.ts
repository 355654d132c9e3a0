// Sync over the in-memory transport: the protocol, multiplexing, chunking,
// status, errors, and seeded fault injection (drop, duplicate, reorder,
// partition and heal, links cut in the middle of a chunked message).
import { describe, expect, it } from 'vitest';
import type { Types } from './helpers.js';
import { deltaMessage, helloMessage, mycFrame, varint } from '../../tests-security/wire.mjs';
import { actor, clock, converged, equalBytes, mycelium, randomWrite, rng, todoSchema } from './helpers.js';

type Store = Types.Store<typeof todoSchema>;
const RUNS = Number(process.env.MYC_SYNC_RUNS ?? 200);
const FAST = { relayDelay: 10, ackTimeout: 40, helloInterval: 20 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openStores(n: number, seed = 0, name = 'todo'): Promise<Store[]> {
  const out: Store[] = [];
  for (let i = 0; i < n; i++) out.push(await mycelium.open({ schema: todoSchema, name, actor: actor(seed * 16 + i + 1), now: clock(1_000 + i * 13) }));
  return out;
}

/** Waits until the hub has carried no message for `ms`. */
async function quiet(hub: Types.MemoryHub, ms = 100): Promise<void> {
  for (let sent = -1; sent !== hub.messagesSent; ) {
    sent = hub.messagesSent;
    await sleep(ms);
  }
}

describe('sync over the in-memory transport', () => {
  it('two replicas converge both ways, live, every kind', async () => {
    const [a, b] = await openStores(2);
    const hub = new mycelium.MemoryHub();
    a!.collection('todos').insert({ id: 'x', title: 'before connect', tags: ['t'] });
    const sa = a!.connect(hub.adapter('A'));
    const sb = b!.connect(hub.adapter('B'));
    await converged([a!, b!], hub);
    expect(b!.collection('todos').get('x')?.title).toBe('before connect');
    const seen: Types.Change[] = [];
    b!.collection('todos').subscribe((c) => seen.push(...c));
    a!.collection('todos').update('x', (w) => {
      w.increment('votes', 2);
      w.add('tags', 'u');
      w.remove('tags', 't');
      w.set('owner', 'ann');
    });
    b!.collection('todos').update('x', (w) => w.set('owner', 'bob'));
    await converged([a!, b!], hub);
    await b!.flush();
    for (const s of [a!, b!]) {
      const x = s.collection('todos').get('x')!;
      expect(x.votes).toBe(2);
      expect(x.tags).toEqual(['u']);
      expect([...(x.owner as unknown[])].sort()).toEqual(['ann', 'bob']);
    }
    expect(equalBytes(a!.save(), b!.save())).toBe(true);
    expect(seen.some((c) => c.origin === 'remote' && c.id === 'x')).toBe(true);
    expect(sa.status().synced && sb.status().synced).toBe(true);
    a!.close();
    b!.close();
  });

  it('batches the writes of one task into one delta per peer', async () => {
    const [a, b] = await openStores(2);
    const hub = new mycelium.MemoryHub();
    const sa = a!.connect(hub.adapter('A'));
    b!.connect(hub.adapter('B'));
    await converged([a!, b!], hub);
    await sleep(20);
    const before = sa.stats().deltasSent;
    for (let i = 0; i < 500; i++) a!.collection('notes').insert({ id: `n${i}`, body: `note ${i}` });
    await converged([a!, b!], hub);
    expect(sa.stats().deltasSent - before).toBe(1);
    expect(b!.collection('notes').size).toBe(500);
    a!.close();
    b!.close();
  });

  it('many stores share one connection and sync in parallel; large state travels in chunks', async () => {
    const hub = new mycelium.MemoryHub({ maxMessageSize: 80 * 1024 });
    const names = ['one', 'two', 'three'];
    const left = await Promise.all(names.map((n, i) => mycelium.open({ schema: todoSchema, name: n, actor: actor(0x100 + i) })));
    const right = await Promise.all(names.map((n, i) => mycelium.open({ schema: todoSchema, name: n, actor: actor(0x200 + i) })));
    // Incompressible text: each store's state is several chunks.
    const r = rng(7);
    const text = () => Array.from({ length: 40 }, () => String.fromCharCode(33 + Math.floor(r() * 90))).join('');
    left.forEach((s, i) => {
      for (let k = 0; k < 4000; k++) s.collection('notes').insert({ id: `${names[i]}-${k}`, body: text() });
    });
    const A = hub.adapter('A');
    const B = hub.adapter('B');
    const syncs = [...left.map((s) => s.connect(A)), ...right.map((s) => s.connect(B))];
    const progress: number[] = [];
    syncs[3]!.subscribe((st) => {
      const p = st.peers[0];
      if (p && p.receivingTotal > 0) progress.push(p.receivingBytes);
    });
    for (let i = 0; i < 3; i++) await converged([left[i]!, right[i]!], hub);
    expect(hub.linked('A')).toEqual(['B']); // one connection for the three stores
    for (let i = 0; i < 3; i++) {
      expect(right[i]!.collection('notes').size).toBe(4000);
      expect(equalBytes(left[i]!.save(), right[i]!.save())).toBe(true);
      expect(left[i]!.deltaSince({}).length).toBeGreaterThan(2 * 64 * 1024); // three chunks or more
    }
    expect(progress.length).toBeGreaterThan(0); // a progress report during the chunked transfer
    for (const s of [...left, ...right]) s.close();
  });

  it('status goes connecting -> syncing -> synced, and whenSynced() resolves', async () => {
    const [a, b] = await openStores(2);
    for (let i = 0; i < 2000; i++) a!.collection('notes').insert({ id: `n${i}`, body: `body ${i} `.repeat(10) });
    const hub = new mycelium.MemoryHub();
    const sa = a!.connect(hub.adapter('A'));
    const states: string[] = [];
    sa.subscribe((s) => {
      const st = s.peers[0]?.state;
      if (st && states[states.length - 1] !== st) states.push(st);
    });
    b!.connect(hub.adapter('B'));
    await sa.whenSynced();
    expect(b!.collection('notes').size).toBe(2000);
    expect(states[states.length - 1]).toBe('synced');
    expect(states).toContain('syncing');
    expect(sa.peers().map((p) => p.peer)).toEqual(['B']);
    a!.close();
    b!.close();
  });

  it('resumes after a dropped link without resending what the peer acknowledged', async () => {
    const [a, b] = await openStores(2);
    for (let i = 0; i < 3000; i++) a!.collection('notes').insert({ id: `n${i}`, body: `body ${i}` });
    const hub = new mycelium.MemoryHub();
    const sa = a!.connect(hub.adapter('A'), FAST);
    b!.connect(hub.adapter('B'), FAST);
    await converged([a!, b!], hub);
    await sleep(20); // acks in
    const full = sa.stats().deltaBytesSent;
    hub.disconnect('A', 'B');
    a!.collection('notes').insert({ id: 'late', body: 'written while apart' });
    const vB = b!.version();
    // What sync sends: the delta without its context (an internal method, not in the public types).
    const expected = (a as unknown as { detachedDeltaSince(v: Types.Version): Uint8Array }).detachedDeltaSince(vB).length;
    hub.heal();
    await converged([a!, b!], hub);
    const resent = sa.stats().deltaBytesSent - full;
    expect(b!.collection('notes').get('late')?.body).toBe('written while apart');
    expect(resent).toBe(expected); // only the new write, not the 3000 acknowledged records
    expect(resent * 20).toBeLessThan(full);
    a!.close();
    b!.close();
  });

  it('a one-field write among 1,000 actors costs at most 100 bytes per message (delta and ack)', async () => {
    const costs: string[] = [];
    const perMessage: number[] = [];
    for (const writers of [3, 1000]) {
      // A store that has heard from `writers` actors (the record's votes, one increment each).
      const [a, b] = await openStores(2, 40);
      a!.collection('todos').insert({ id: 'shared', title: 'hi', votes: 0, tags: [] });
      for (let i = 0; i < writers; i++) {
        const w = await mycelium.open({ schema: todoSchema, name: 'todo', actor: actor(0x100000 + i * 7919) });
        w.applyDelta(a!.deltaSince({}), { maxNewActors: 0 });
        w.collection('todos').update('shared', (u) => u.increment('votes', 1));
        a!.applyDelta(w.deltaSince(a!.version()), { maxNewActors: 0 });
        w.close();
      }
      b!.applyDelta(a!.save(), { maxNewActors: 0 });
      const hub = new mycelium.MemoryHub();
      // Acks may be slow on a loaded machine: a resend is not what this measures.
      const patient = { ...FAST, ackTimeout: 10_000 };
      a!.connect(hub.adapter('A'), patient);
      b!.connect(hub.adapter('B'), patient);
      await converged([a!, b!], hub);
      await quiet(hub); // hellos answered, acks in
      const [bytes0, messages0] = [hub.bytesSent, hub.messagesSent];
      a!.collection('todos').update('shared', (u) => u.set('title', 'hello'));
      await converged([a!, b!], hub);
      await quiet(hub);
      const [bytes, messages] = [hub.bytesSent - bytes0, hub.messagesSent - messages0];
      costs.push(`${writers} actors: ${messages} messages, ${bytes} bytes`);
      expect(b!.collection('todos').get('shared')?.title).toBe('hello');
      expect(messages).toBe(2); // the delta and its ack
      expect(bytes, `${writers} actors: ${messages} messages, ${bytes} bytes`).toBeLessThanOrEqual(200);
      perMessage.push(bytes);
      a!.close();
      b!.close();
    }
    console.log(`one field write: ${costs.join('; ')}`);
    expect(perMessage[1]).toBeLessThanOrEqual(perMessage[0]! + 4); // not in proportion to the actors
  });

  it('a mesh of 4 sends each change once per peer (no duplicate relays)', async () => {
    const stores = await openStores(4, 3);
    const hub = new mycelium.MemoryHub();
    const syncs = stores.map((s, i) => s.connect(hub.adapter(`P${i}`), { relayDelay: 30 }));
    await converged(stores, hub);
    const r = rng(11);
    for (let round = 0; round < 20; round++) {
      for (const s of stores) randomWrite(s, r);
      await sleep(2);
    }
    await converged(stores, hub);
    await sleep(80); // relay timers fire and find nothing to relay
    const dropped = syncs.reduce((n, s) => n + s.stats().deltasDropped, 0);
    const joined = syncs.reduce((n, s) => n + s.stats().deltasJoined, 0);
    expect(dropped).toBe(0);
    expect(joined).toBeGreaterThan(0);
    for (const s of stores) expect(equalBytes(s.save(), stores[0]!.save())).toBe(true);
    for (const s of stores) s.close();
  });

  it('relays through a peer between two that cannot see each other', async () => {
    const [a, b, c] = await openStores(3, 5);
    const hub = new mycelium.MemoryHub();
    hub.partition([
      ['A', 'B'],
      ['B', 'C'],
    ]);
    a!.connect(hub.adapter('A'), FAST);
    b!.connect(hub.adapter('B'), FAST);
    c!.connect(hub.adapter('C'), FAST);
    a!.collection('todos').insert({ id: 'from-a', title: 'A' });
    c!.collection('todos').insert({ id: 'from-c', title: 'C' });
    await converged([a!, b!, c!], hub);
    expect(a!.collection('todos').get('from-c')?.title).toBe('C');
    expect(c!.collection('todos').get('from-a')?.title).toBe('A');
    expect(hub.linked('A')).toEqual(['B']);
    for (const s of [a!, b!, c!]) s.close();
  });

  it('a persisted store sends its own writes only after they are durable', async () => {
    // Storage whose appends wait until the test lets them commit.
    const inner = mycelium.memoryStorage();
    let release: () => void = () => undefined;
    let gate = Promise.resolve();
    const slow: Types.StorageAdapter = {
      ...inner,
      load: (n) => inner.load(n),
      setMeta: (n, m) => inner.setMeta(n, m),
      compact: (n, f, m) => inner.compact(n, f, m),
      clear: (n) => inner.clear(n),
      close: () => inner.close(),
      append: async (n, blobs) => {
        await gate;
        return inner.append(n, blobs);
      },
    };
    // (Not actor 0x71: that is openStores(1, 7)'s, and two replicas never share an actor.)
    const a = await mycelium.open({ schema: todoSchema, name: 'todo', actor: actor(0x7e), persist: slow });
    const [b] = await openStores(1, 7);
    const hub = new mycelium.MemoryHub();
    a.connect(hub.adapter('A'), FAST);
    b!.connect(hub.adapter('B'), FAST);
    await converged([a, b!], hub);
    gate = new Promise((r) => (release = r));
    a.collection('todos').insert({ id: 'd', title: 'durable first' });
    await sleep(60);
    expect(b!.collection('todos').get('d')).toBeUndefined(); // not committed yet: not sent
    release();
    await a.flush();
    await converged([a, b!], hub);
    expect(b!.collection('todos').get('d')?.title).toBe('durable first');
    // Writes from peers are not held back: they are durable where they came from.
    b!.collection('todos').insert({ id: 'e', title: 'from b' });
    await converged([a, b!], hub);
    a.close();
    b!.close();
  });

  it('over a MessageChannel', async () => {
    const [a, b] = await openStores(2);
    const { port1, port2 } = new MessageChannel();
    a!.connect(mycelium.messagePort(port1));
    b!.connect(mycelium.messagePort(port2));
    a!.collection('todos').insert({ id: 'p', title: 'through a port' });
    await converged([a!, b!], null);
    expect(b!.collection('todos').get('p')?.title).toBe('through a port');
    a!.close();
    b!.close();
    port1.close();
    port2.close();
  });
});

describe('no stalled peer (issue 14)', () => {
  const schema = { c: { v: 'lww' } } as const;

  /** Two writers and a third peer; how long the third lags far behind the first. */
  async function rejoinTrial(pause: number): Promise<{ worstLagMs: number }> {
    const hub = new mycelium.MemoryHub();
    const [a, b, c] = await Promise.all(['0a', '0b', '0c'].map((x) => mycelium.open({ schema, name: 's', actor: actor(parseInt(x, 16)) })));
    a!.collection('c').insert({ id: 'a', v: 0 });
    b!.collection('c').insert({ id: 'b', v: 0 });
    a!.connect(hub.adapter('A'));
    b!.connect(hub.adapter('B'));
    let sc = c!.connect(hub.adapter('C1'));
    let stop = false;
    let i = 0;
    const writer = (async () => {
      while (!stop) {
        i++;
        a!.collection('c').update('a', (r) => r.set('v', i));
        b!.collection('c').update('b', (r) => r.set('v', i));
        await sleep(5);
      }
    })();
    await sleep(200);
    sc.close();
    await sleep(pause);
    sc = c!.connect(hub.adapter('C2'));
    let worst = 0;
    let since: number | null = null;
    const t0 = Date.now();
    while (Date.now() - t0 < 2500) {
      await sleep(20);
      const lag = i - Number(c!.collection('c').get('a')?.v ?? 0);
      if (lag > 40) {
        since ??= Date.now();
        worst = Math.max(worst, Date.now() - since);
      } else since = null;
    }
    stop = true;
    await writer;
    for (const x of [a!, b!, c!]) x.close();
    return { worstLagMs: worst };
  }

  it('a peer that rejoins while two others write catches up at once (held-back changes are relayed, not skipped)', async () => {
    // Before the fix, an eager send whose base held others' changes counted
    // them as sent; the relay then skipped them and the rejoined peer held
    // every later delta as pending until the ack timeout (10 s): about half of
    // these trials stalled for the whole window.
    for (const pause of [100, 160, 220, 280]) {
      const { worstLagMs } = await rejoinTrial(pause);
      expect(worstLagMs, `rejoin after ${pause} ms`).toBeLessThan(1000);
    }
  }, 30_000);

  it('a lost delta is resent while the peer keeps writing (its own writes are not acks of what was lost)', async () => {
    const hub = new mycelium.MemoryHub();
    const a = await mycelium.open({ schema, name: 's', actor: actor(0x1a) });
    const c = await mycelium.open({ schema, name: 's', actor: actor(0x1c) });
    a.collection('c').insert({ id: 'a', v: 0 });
    c.collection('c').insert({ id: 'c', v: 0 });
    // C's side of the network loses A's 20th delta.
    let deltasFromA = 0;
    const inner = hub.adapter('C');
    const lossy: Types.NetworkAdapter = {
      kind: inner.kind,
      peerId: inner.peerId,
      start: (ev) =>
        inner.start({
          peerCandidate: (l) => ev.peerCandidate(l),
          peerDisconnected: (p, why) => ev.peerDisconnected(p, why),
          message: (p, bytes) => {
            let at = 5;
            while (bytes[at]! >= 0x80) at++;
            const isDelta = bytes[4]! >> 4 === 3 && bytes[at + 5] === 2;
            if (p === 'A' && isDelta && ++deltasFromA === 20) return;
            ev.message(p, bytes);
          },
        }),
      stop: () => inner.stop(),
    };
    a.connect(hub.adapter('A'), { ackTimeout: 200 });
    c.connect(lossy, { ackTimeout: 200 });
    let stop = false;
    let i = 0;
    const writer = (async () => {
      while (!stop) {
        i++;
        a.collection('c').update('a', (r) => r.set('v', i));
        c.collection('c').update('c', (r) => r.set('v', i));
        await sleep(5);
      }
    })();
    await until(() => deltasFromA >= 20);
    const lost = i;
    // Still writing on both sides: C must get past the loss within a few ack timeouts.
    await until(() => Number(c.collection('c').get('a')?.v ?? 0) > lost, 3000);
    stop = true;
    await writer;
    a.close();
    c.close();
  }, 20_000);
});

describe('sync state is visible and controllable (issue 14)', () => {
  const schema = { c: { v: 'lww' } } as const;

  it('pause() goes offline without a new adapter or peer id; resume() catches up both ways', async () => {
    const hub = new mycelium.MemoryHub();
    const a = await mycelium.open({ schema, name: 's', actor: actor(0x2a) });
    const b = await mycelium.open({ schema, name: 's', actor: actor(0x2b) });
    const slowResend = { relayDelay: 10, helloInterval: 20 }; // ackTimeout stays 10 s: a stall would show
    const sa = a.connect(hub.adapter('A'), slowResend);
    const sb = b.connect(hub.adapter('B'), slowResend);
    a.collection('c').insert({ id: 'x', v: 1 });
    await sb.whenSynced({ timeout: 5000 });
    await until(() => b.collection('c').get('x')?.v === 1);
    const peerId = sb.peerId;
    sb.pause();
    await sleep(20);
    expect(sb.status().paused).toBe(true);
    expect(sb.peers().map((p) => p.state)).toEqual(['paused']);
    a.collection('c').update('x', (r) => r.set('v', 2));
    b.collection('c').insert({ id: 'y', v: 3 });
    await sleep(150);
    expect(b.collection('c').get('x')?.v).toBe(1); // offline: nothing arrived
    expect(a.collection('c').get('y')).toBeUndefined(); // and nothing left
    sb.resume();
    await until(() => b.collection('c').get('x')?.v === 2 && a.collection('c').get('y')?.v === 3);
    expect(sb.peerId).toBe(peerId);
    // What A sent while B ignored it does not count as B's: A's next writes
    // join at B at once, not after an ack timeout (10 s here).
    for (let k = 0; k < 5; k++) {
      a.collection('c').update('x', (r) => r.set('v', 10 + k));
      await sleep(10);
    }
    await until(() => b.collection('c').get('x')?.v === 14, 1000);
    expect(b.pending).toBe(0);
    await sb.whenSynced({ timeout: 5000 });
    expect(sb.status().paused).toBe(false);
    sa.close();
    a.close();
    b.close();
  });

  it('stats() count across every connect() of a store', async () => {
    const hub = new mycelium.MemoryHub();
    const a = await mycelium.open({ schema, name: 's', actor: actor(0x3a) });
    const b = await mycelium.open({ schema, name: 's', actor: actor(0x3b) });
    b.connect(hub.adapter('B'), FAST);
    let sa = a.connect(hub.adapter('A1'), FAST);
    a.collection('c').insert({ id: 'x', v: 1 });
    await until(() => b.collection('c').get('x') !== undefined);
    const first = sa.stats().deltasSent;
    expect(first).toBeGreaterThan(0);
    sa.close();
    sa = a.connect(hub.adapter('A2'), FAST);
    a.collection('c').insert({ id: 'y', v: 2 });
    await until(() => b.collection('c').get('y') !== undefined);
    expect(sa.stats().deltasSent).toBeGreaterThan(first);
    a.close();
    b.close();
  });

  it('held deltas show in the status: pending, then stalled after 2 s (a status event), and which peer is ahead', async () => {
    const hub = new mycelium.MemoryHub();
    const a = await mycelium.open({ schema, name: 's', actor: actor(0x4a) });
    const b = await mycelium.open({ schema, name: 's', actor: actor(0x4b) });
    const d = await mycelium.open({ schema, name: 's', actor: actor(0x4d) }); // not connected
    a.connect(hub.adapter('A'), FAST);
    const sb = b.connect(hub.adapter('B'), FAST);
    await sb.whenSynced({ timeout: 5000 });
    const seen: boolean[] = [];
    sb.subscribe((st) => seen.push(st.stalled));
    d.collection('c').insert({ id: 'd1', v: 1 });
    const v = d.version();
    d.collection('c').insert({ id: 'd2', v: 2 });
    expect(b.applyDelta(d.deltaSince(v))).toBe('pending');
    a.collection('c').insert({ id: 'a1', v: 1 }); // traffic, so the status is recomputed
    await until(() => sb.status().pending === 1);
    expect(sb.status().stalled).toBe(false);
    expect(sb.status().synced).toBe(false); // holding deltas is not synced
    await until(() => seen.includes(true), 4000); // an event, not only a field
    expect(sb.status().stalled).toBe(true);
    expect(b.applyDelta(d.deltaSince({}))).toBe('applied');
    a.collection('c').insert({ id: 'a2', v: 2 });
    await until(() => !sb.status().stalled && sb.status().pending === 0);
    // The connected peer lacks d's writes now: b is ahead of it until it has them.
    await until(() => sb.peers()[0]?.behind === true || a.collection('c').get('d2') !== undefined);
    await until(() => a.collection('c').get('d2') !== undefined);
    await until(() => sb.peers().every((p) => !p.ahead && !p.behind));
    a.close();
    b.close();
    d.close();
  });
});

async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await sleep(5);
  }
}

describe('two versions of an app sync (issue 16)', () => {
  const v1 = { todos: { title: 'lww', done: 'lww' } } as const;
  const v2 = { todos: { title: 'lww', done: 'lww', due: 'lww', votes: 'counter' }, notes: { body: 'lww', tags: 'set' } } as const;

  it('v2 -> v1 -> v2: the v1 relay keeps, persists and forwards what it does not declare, and never shows it', async () => {
    const storage = mycelium.memoryStorage();
    const w = await mycelium.open({ schema: v2, name: 'app', actor: actor(0x2a) });
    let relay = await mycelium.open({ schema: v1, name: 'app', persist: storage });
    const far = await mycelium.open({ schema: v2, name: 'app', actor: actor(0x2b) });
    const left = new mycelium.MemoryHub();
    const right = new mycelium.MemoryHub();
    w.connect(left.adapter('W'), FAST);
    let toLeft = relay.connect(left.adapter('R'), FAST);
    let toRight = relay.connect(right.adapter('R'), FAST);
    far.connect(right.adapter('F'), FAST);
    const seen: string[][] = [];
    relay.collection('todos').subscribe((changes) => seen.push(changes.map((c) => c.id)));
    w.collection('todos').insert({ id: 't', title: 'from v2', due: '2027-01-01', votes: 2 });
    w.collection('notes').insert({ id: 'n', body: 'a v2 note', tags: ['x'] });
    await until(() => far.collection('notes').get('n')?.body === 'a v2 note');
    expect(far.collection('todos').get('t')).toEqual({ id: 't', title: 'from v2', done: null, due: '2027-01-01', votes: 2 });
    expect(far.collection('notes').get('n')).toEqual({ id: 'n', body: 'a v2 note', tags: ['x'] });
    // v1 reads only what it declares; v2's collection is not one of its.
    expect(relay.collection('todos').get('t')).toEqual({ id: 't', title: 'from v2', done: null });
    expect(() => relay.collection('notes' as never)).toThrow(expect.objectContaining({ code: 'unknown_field' }));
    expect(() => relay.collection('todos').update('t', (u) => u.set('due' as never, 'x' as never))).toThrow(expect.objectContaining({ code: 'unknown_field' }));
    // A change of a field v1 does not declare reaches v2 through v1, and v1's
    // subscribers hear nothing of it.
    const heard = seen.length;
    w.collection('todos').update('t', (u) => u.increment('votes', 5));
    await until(() => far.collection('todos').get('t')?.votes === 7);
    expect(seen.length).toBe(heard);
    // v1 writes its own field; v2 sees it, its own fields untouched.
    relay.collection('todos').update('t', (u) => u.set('done', true));
    await until(() => far.collection('todos').get('t')?.done === true && w.collection('todos').get('t')?.done === true);
    expect(far.collection('todos').get('t')).toEqual({ id: 't', title: 'from v2', done: true, due: '2027-01-01', votes: 7 });
    // The v1 relay persists what it does not declare and forwards it after a
    // restart: a new v2 peer gets everything from it alone.
    await relay.flush();
    toLeft.close();
    toRight.close();
    relay.close();
    relay = await mycelium.open({ schema: v1, name: 'app', persist: storage });
    const late = await mycelium.open({ schema: v2, name: 'app', actor: actor(0x2c) });
    const third = new mycelium.MemoryHub();
    toLeft = relay.connect(third.adapter('R'), FAST);
    late.connect(third.adapter('L'), FAST);
    await until(() => late.collection('todos').get('t')?.votes === 7 && late.collection('notes').size === 1);
    expect(equalBytes(late.save(), far.save())).toBe(true);
    for (const s of [w, relay, far, late]) s.close();
  });

  it('a field whose kind changed between versions: schema_mismatch naming it, on both sides, nothing exchanged', async () => {
    const a = await mycelium.open({ schema: v2, name: 'app', actor: actor(0x3a) });
    const b = await mycelium.open({ schema: { todos: { title: 'lww', votes: 'lww' } }, name: 'app', actor: actor(0x3b) });
    a.collection('todos').insert({ id: 'x', title: 'A', votes: 1 });
    b.collection('todos').insert({ id: 'y', title: 'B', votes: 'many' });
    const [sa0, sb0] = [a.save(), b.save()];
    const hub = new mycelium.MemoryHub();
    const errs: string[] = [];
    a.connect(hub.adapter('A'), FAST).onError((e) => errs.push(`A:${e.error.code}:${e.error.message}`));
    b.connect(hub.adapter('B'), FAST).onError((e) => errs.push(`B:${e.error.code}:${e.error.message}`));
    await until(() => errs.length >= 2);
    expect(errs.every((e) => e.includes(':schema_mismatch:') && e.includes('todos.votes'))).toBe(true);
    expect(errs.some((e) => e.startsWith('A:') && e.includes('is a lww there and a counter here'))).toBe(true);
    expect(equalBytes(a.save(), sa0) && equalBytes(b.save(), sb0)).toBe(true);
    a.close();
    b.close();
  });
});

describe('sync refuses bad peers and leaves the store unchanged', () => {
  /** A raw peer on the hub: sends whatever bytes the test gives it. */
  function rawPeer(hub: Types.MemoryHub, id: string) {
    const got: Uint8Array[] = [];
    const links = new Map<string, Types.Link>();
    hub.adapter(id).start({
      peerCandidate: (l) => links.set(l.peer, l),
      message: (_p, bytes) => got.push(bytes),
      peerDisconnected: (p) => links.delete(p),
    });
    return {
      got,
      /** Sends to peer A (the victim). */
      send: (bytes: Uint8Array) => links.get('A')!.send(bytes),
      get connected() {
        return links.has('A');
      },
    };
  }

  async function victim() {
    const [a, b] = await openStores(2, 9);
    a!.collection('todos').insert({ id: 'keep', title: 'me', votes: 3 });
    const hub = new mycelium.MemoryHub();
    const sa = a!.connect(hub.adapter('A'), FAST);
    b!.connect(hub.adapter('B'), FAST);
    await converged([a!, b!], hub);
    const errors: Types.SyncErrorEvent[] = [];
    sa.onError((e) => errors.push(e));
    return { a: a!, b: b!, hub, sa, errors, before: a!.save() };
  }

  it('garbage bytes: error event, link closed, store unchanged, the other peer keeps syncing', async () => {
    const { a, b, hub, errors, before } = await victim();
    const evil = rawPeer(hub, 'E');
    await sleep(10);
    evil.send(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    await sleep(100);
    expect(errors.map((e) => [e.peer, e.error.code])).toEqual([['E', 'corrupt']]);
    expect(evil.connected).toBe(false);
    expect(equalBytes(a.save(), before)).toBe(true);
    b.collection('todos').insert({ id: 'after', title: 'still syncing' });
    await converged([a, b], hub);
    expect(a.collection('todos').get('after')?.title).toBe('still syncing');
    a.close();
    b.close();
  });

  it('a well-framed delta with a damaged engine payload is refused; the store is unchanged', async () => {
    const { a, b, hub, errors, before } = await victim();
    const evil = rawPeer(hub, 'E');
    await sleep(10);
    // Protocol 2, a whole empty version numbered 0 (js/sync/chain.ts).
    evil.send(mycFrame(3, helloMessage('todo', todoSchema)));
    await sleep(10);
    const other = await mycelium.open({ schema: todoSchema, actor: actor(0xeee) });
    other.collection('todos').insert({ id: 'keep', title: 'overwritten?' });
    const delta = other.deltaSince({});
    delta[delta.length - 1]! ^= 0xff;
    evil.send(mycFrame(3, deltaMessage('todo', [[0xeee, 1]], delta, 1))); // message 1: one actor, whole
    await sleep(50);
    expect(errors.map((e) => e.error.code)).toEqual(['corrupt']);
    // The code is said once, also in an error that wraps the engine's.
    expect(errors[0]!.error.message.match(/corrupt: /g)).toHaveLength(1);
    expect(equalBytes(a.save(), before)).toBe(true);
    expect(a.collection('todos').get('keep')?.title).toBe('me');
    b.collection('todos').insert({ id: 'after', title: 'fine' });
    await converged([a, b], hub);
    other.close();
    a.close();
    b.close();
  });

  it('another protocol version: a clear error on both sides, neither store changes', async () => {
    const [a, b] = await openStores(2, 10);
    a!.collection('todos').insert({ id: 'a', title: 'A' });
    const before = b!.save();
    const hub = new mycelium.MemoryHub();
    const sa = a!.connect(hub.adapter('A'), FAST);
    const errs: string[] = [];
    sa.onError((e) => errs.push(`A:${e.error.code}`));
    // B's side speaks protocol 9: its hello says so (raw), and it reports what it gets.
    const evil = rawPeer(hub, 'B');
    await sleep(10);
    evil.send(mycFrame(3, new Uint8Array([1, 9, 0, 9, 9, 9])));
    await sleep(100);
    expect(errs).toEqual(['A:unsupported_version']);
    // A told B why, in a message B can read whatever its version.
    const said = evil.got.map((m) => new TextDecoder().decode(m)).join(' ');
    expect(said).toContain('unsupported_version');
    expect(equalBytes(b!.save(), before)).toBe(true);
    expect(a!.collection('todos').get('a')?.title).toBe('A');
    a!.close();
    b!.close();
  });

  it('another schema: schema_mismatch on both sides, nothing exchanged', async () => {
    const a = await mycelium.open({ schema: todoSchema, name: 'todo', actor: actor(0x51) });
    const other = { todos: { title: 'counter' } } as const;
    const b = await mycelium.open({ schema: other, name: 'todo', actor: actor(0x52) });
    a.collection('todos').insert({ id: 'x', title: 'A' });
    b.collection('todos').insert({ id: 'y', title: 5 });
    const [sa0, sb0] = [a.save(), b.save()];
    const hub = new mycelium.MemoryHub();
    const sa = a.connect(hub.adapter('A'), FAST);
    const sb = b.connect(hub.adapter('B'), FAST);
    const errs: string[] = [];
    sa.onError((e) => errs.push(`A:${e.error.code}`));
    sb.onError((e) => errs.push(`B:${e.error.code}`));
    await sleep(100);
    expect(errs.sort()).toEqual(['A:schema_mismatch', 'B:schema_mismatch']);
    expect(sa.peers()[0]?.state).toBe('failed');
    expect(equalBytes(a.save(), sa0) && equalBytes(b.save(), sb0)).toBe(true);
    a.close();
    b.close();
  });

  it('an oversized chunk and an absurd chunk count: limit_exceeded, store unchanged', async () => {
    for (const bad of [
      mycFrame(4, new Uint8Array([1, 0, 2, ...new Uint8Array(70 * 1024)])), // a chunk over 64 KiB
      mycFrame(4, new Uint8Array([1, 0, ...varint(1e9), 1, 2, 3])), // a message of a billion chunks
    ]) {
      const { a, b, hub, errors, before } = await victim();
      const evil = rawPeer(hub, 'E');
      await sleep(10);
      evil.send(bad);
      await sleep(60);
      expect(errors.map((e) => e.error.code)).toEqual(['limit_exceeded']);
      expect(equalBytes(a.save(), before)).toBe(true);
      a.close();
      b.close();
    }
  });
});

describe(`fault injection: ${RUNS} seeded runs of 3-5 peers in a mesh`, () => {
  it('every run converges to identical snapshots, sending at most 2x the delta bytes joined', async () => {
    const ratios: number[] = [];
    let wire = 0;
    let joinedAll = 0;
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = rng(seed);
      const n = 3 + Math.floor(r() * 3);
      const stores = await openStores(n, seed);
      const ids = stores.map((_, i) => `p${i}`);
      const faults = { drop: 0.02, duplicate: 0.03, reorder: 0.1 };
      const hub = new mycelium.MemoryHub({ faults, random: r, maxMessageSize: 16 * 1024 });
      const syncs = stores.map((s, i) => s.connect(hub.adapter(ids[i]), FAST));
      const steps = 15 + Math.floor(r() * 15);
      try {
        for (let step = 0; step < steps; step++) {
          const roll = r();
          const i = Math.floor(r() * n);
          if (roll < 0.7) {
            const k = 1 + Math.floor(r() * 4);
            for (let w = 0; w < k; w++) randomWrite(stores[i]!, r);
          } else if (roll < 0.78) {
            const cut = 1 + Math.floor(r() * (n - 1));
            hub.partition([ids.slice(0, cut), ids.slice(cut)]);
          } else if (roll < 0.86) hub.heal();
          else if (roll < 0.94) {
            // A burst large enough to be chunked, and the link cut while it travels.
            for (let w = 0; w < 150; w++) stores[i]!.collection('notes').insert({ id: `s${seed}-${step}-${w}`, body: `${r()}`.repeat(3) });
            await sleep(0);
            const j = (i + 1 + Math.floor(r() * (n - 1))) % n;
            hub.disconnect(ids[i]!, ids[j]!, 3);
          } else {
            const j = (i + 1 + Math.floor(r() * (n - 1))) % n;
            hub.disconnect(ids[i]!, ids[j]!, Math.floor(r() * 10));
          }
          await sleep(Math.floor(r() * 4));
        }
        hub.heal();
        await converged(stores, hub, 15_000);
        const snap = stores[0]!.save();
        for (const s of stores) expect(equalBytes(s.save(), snap)).toBe(true);
        const joined = syncs.reduce((t, s) => t + s.stats().deltaBytesJoined, 0);
        ratios.push(hub.bytesSent / Math.max(1, joined));
        wire += hub.bytesSent;
        joinedAll += joined;
      } catch (e) {
        throw new Error(`seed ${seed} (${n} peers): ${String(e)}`);
      } finally {
        for (const s of stores) s.close();
      }
    }
    ratios.sort((x, y) => x - y);
    const p90 = ratios[Math.floor(ratios.length * 0.9)]!;
    console.log(
      `sync fault injection: ${RUNS} runs; bytes on the wire / delta bytes joined: all runs ${(wire / joinedAll).toFixed(2)}, median run ${ratios[ratios.length >> 1]!.toFixed(2)}, 90th percentile ${p90.toFixed(2)}, worst run ${ratios[ratios.length - 1]!.toFixed(2)}`,
    );
    // Everything on the wire (hellos, acks, envelopes, chunk headers, resends after
    // drops and cuts, duplicate relays) against the delta bytes the receivers joined.
    // 2.25 since hellos carry the schema (issue 16: ~70 bytes a hello here, and
    // every cut repeats them): measured 1.88-2.09, 1.7-1.9 before; 2.17 with
    // both cores busy elsewhere (acks come later, resends go earlier).
    expect(wire / joinedAll).toBeLessThanOrEqual(2.5);
    // Single runs: the small ones (2-7 KB joined) are decided by a handful of
    // hellos and acks after cuts, and how many acks go depends on timing: the
    // worst of 200 measured 4.0-5.4 from one run of the suite to the next (5.44
    // with both cores busy elsewhere), the 90th percentile 2.8-3.3. The
    // percentile holds the typical run; the worst run is bounded where a
    // resend loop or a chain restart per message would show.
    expect(p90).toBeLessThanOrEqual(3.75);
    expect(ratios[ratios.length - 1]!).toBeLessThanOrEqual(8);
  }, 600_000);
});
