// Presence (docs/presence.md): joins, changes and leaves over the in-memory
// transport (with fault injection), expiry of a silent peer, the Node peer
// relaying between its clients over real WebSockets, and what it refuses.
import { describe, expect, it } from 'vitest';
import type { Types } from './helpers.js';
import { sleep, until } from './helpers.js';
import { actor, codeOf, mycelium, rng, todoSchema } from './helpers.js';

type Store = Types.Store<typeof todoSchema>;
type Change = Types.PresenceChange;
const FAST = { relayDelay: 10, ackTimeout: 40, helloInterval: 20 };

async function stores(n: number): Promise<Store[]> {
  const out: Store[] = [];
  for (let i = 0; i < n; i++) out.push(await mycelium.open({ schema: todoSchema, name: 'todo', actor: actor(0x70 + i) }));
  return out;
}

/** Presence ids are random per store: the tests name them. */
const names = new Map<string, string>();
function named<T extends Types.Sync>(sync: T, name: string): T {
  names.set(sync.presence.id, name);
  return sync;
}
const nameOf = (id: string) => names.get(id) ?? id;
/** What a sync shows of its peers: name → state. */
const shown = (s: Types.Sync) => Object.fromEntries(s.presence.peers().map((p) => [nameOf(p.id), p.state] as const).sort((x, y) => (x[0] < y[0] ? -1 : 1)));
const ids = (peers: readonly Types.PresencePeer[]) => peers.map((p) => nameOf(p.id));

describe('presence over the in-memory transport', () => {
  it('peers see each other join, change and leave; snapshots keep their identity', async () => {
    const [a, b, c] = await stores(3);
    const hub = new mycelium.MemoryHub();
    const sa = named(a!.connect(hub.adapter('A'), FAST), 'A');
    const sb = named(b!.connect(hub.adapter('B'), FAST), 'B');
    const sc = named(c!.connect(hub.adapter('C'), FAST), 'C');
    const events: Change[] = [];
    sb.presence.subscribe((e) => events.push(e));
    sa.presence.set({ name: 'Ann', color: '#f00' });
    sc.presence.set({ name: 'Cy' });
    expect(sa.presence.get()).toEqual({ name: 'Ann', color: '#f00' });
    expect(Object.isFrozen(sa.presence.get())).toBe(true);
    await until('B sees A and C', () => sb.presence.peers().length === 2);
    expect(shown(sb)).toEqual({ A: { name: 'Ann', color: '#f00' }, C: { name: 'Cy' } });
    const byId = sb.presence.peers().map((p) => p.id);
    expect(byId).toEqual([...byId].sort()); // sorted by id
    expect(ids(events.flatMap((e) => e.joined)).sort()).toEqual(['A', 'C']);
    // B set nothing: the others do not list it; A does not list itself.
    await until('A sees C', () => sa.presence.peers().length === 1);
    expect(ids(sa.presence.peers())).toEqual(['C']);

    const before = sb.presence.peers();
    await sleep(50);
    expect(sb.presence.peers()).toBe(before); // nothing changed: the same array
    sa.presence.update({ cursor: 17 });
    await until('B sees A’s cursor', () => (shown(sb).A as { cursor?: number } | undefined)?.cursor === 17);
    expect(shown(sb).A).toEqual({ name: 'Ann', color: '#f00', cursor: 17 });
    expect(sb.presence.peers()).not.toBe(before);
    const changed = events.flatMap((e) => e.changed);
    expect(changed.at(-1)).toEqual({ id: sa.presence.id, state: { name: 'Ann', color: '#f00', cursor: 17 } });

    sc.presence.set(null);
    await until('B sees C leave', () => !('C' in shown(sb)));
    expect(events.flatMap((e) => e.left)).toEqual([{ id: sc.presence.id, state: { name: 'Cy' } }]);
    sa.close();
    await until('B sees A leave when its sync closes', () => sb.presence.peers().length === 0);
    expect(ids(events.flatMap((e) => e.left))).toEqual(['C', 'A']);
    for (const s of [a, b, c]) s!.close();
  });

  it('one presence per store across its syncs: a tab on two networks is one peer, still there while one sync is open', async () => {
    const [a, b] = await stores(2);
    const tabs = new mycelium.MemoryHub();
    const rtc = new mycelium.MemoryHub();
    const a1 = a!.connect(tabs.adapter('A1'), FAST);
    const a2 = a!.connect(rtc.adapter('A2'), FAST);
    const b1 = b!.connect(tabs.adapter('B1'), FAST);
    const b2 = b!.connect(rtc.adapter('B2'), FAST);
    expect(a1.presence).toBe(a2.presence);
    expect(b1.presence.id).not.toBe(a1.presence.id);
    a1.presence.set({ name: 'Ann' });
    await until('B sees A on both networks', () => b1.presence.peers().length === 1);
    await sleep(50);
    expect(b2.presence.peers()).toEqual([{ id: a1.presence.id, state: { name: 'Ann' } }]);
    const left: string[] = [];
    b1.presence.subscribe((e) => left.push(...e.left.map((p) => p.id)));
    a1.close(); // A is still on the other network
    await sleep(100);
    expect(left).toEqual([]);
    a2.presence.update({ cursor: 1 });
    await until('B hears A through the sync left open', () => JSON.stringify(b1.presence.peers()[0]?.state) === '{"name":"Ann","cursor":1}');
    a2.close(); // the last: A leaves
    await until('A left', () => left.length === 1);
    expect(left).toEqual([a1.presence.id]);
    expect(codeOf(() => a2.presence.set({}))).toBe('closed');
    // A new connect() of A is a new presence, under a new id.
    const a3 = a!.connect(rtc.adapter('A3'), FAST);
    expect(a3.presence.id).not.toBe(a1.presence.id);
    a3.presence.set({ name: 'Ann again' });
    await until('B sees A again', () => b2.presence.peers()[0]?.id === a3.presence.id);
    a!.close();
    b!.close();
  });

  it('a state set before the sync engine loads goes out once it has', async () => {
    const [a, b] = await stores(2);
    const hub = new mycelium.MemoryHub();
    const sa = named(a!.connect(hub.adapter('A'), FAST), 'A');
    sa.presence.set({ early: true });
    expect(sa.presence.peers()).toEqual([]);
    const sb = named(b!.connect(hub.adapter('B'), FAST), 'B');
    await until('B sees A', () => shown(sb).A !== undefined);
    expect(shown(sb).A).toEqual({ early: true });
    a!.close();
    b!.close();
  });

  it('a connected peer stays while it renews; a silent one leaves after the timeout, a disconnected one at once', async () => {
    const [a, b, c] = await stores(3);
    const hub = new mycelium.MemoryHub();
    const presence = { timeout: 300 };
    const sa = named(a!.connect(hub.adapter('A'), { ...FAST, presence }), 'A');
    const sb = named(b!.connect(hub.adapter('B'), { ...FAST, presence }), 'B');
    const sc = named(c!.connect(hub.adapter('C'), { ...FAST, presence }), 'C');
    sb.presence.set({ name: 'Bo' });
    sc.presence.set({ name: 'Cy' });
    await until('A sees B and C', () => sa.presence.peers().length === 2);
    const left: string[] = [];
    sa.presence.subscribe((e) => left.push(...ids(e.left)));
    await sleep(1000); // three timeouts: renewals keep both
    expect(left).toEqual([]);
    expect(Object.keys(shown(sa))).toEqual(['B', 'C']);

    // B goes silent (paused: it sends nothing, its link stays up).
    sb.pause();
    const silent = performance.now();
    await until('A sees B leave', () => left.includes('B'), 2000);
    const waited = performance.now() - silent;
    expect(waited).toBeGreaterThanOrEqual(300 - 110); // its last renewal was at most a third of the timeout before
    expect(waited).toBeLessThan(300 * 2);
    expect(sb.presence.peers()).toEqual([]); // paused: it hears nobody either

    // C's link drops: it leaves at once, long before the timeout.
    const cut = performance.now();
    hub.partition([['A', 'B'], ['C']]);
    await until('A sees C leave', () => left.includes('C'), 1000);
    expect(performance.now() - cut).toBeLessThan(150);
    hub.heal();
    await until('C is back at A', () => shown(sa).C !== undefined);
    sb.resume();
    await until('B is back at A', () => shown(sa).B !== undefined);
    expect(shown(sb)).toEqual({ C: { name: 'Cy' } });
    for (const s of [a, b, c]) s!.close();
  });

  it('converges to everyone’s last state through dropped, duplicated and reordered messages', async () => {
    for (let seed = 1; seed <= 3; seed++) {
      const ss = await stores(4);
      const hub = new mycelium.MemoryHub({ faults: { drop: 0.2, duplicate: 0.2, reorder: 0.3 }, random: rng(seed) });
      const ids = ['P', 'Q', 'R', 'S'] as const;
      const syncs = ss.map((s, i) => named(s.connect(hub.adapter(ids[i]), { ...FAST, presence: { timeout: 400 } }), ids[i]!));
      const r = rng(100 + seed);
      const last = new Map<string, Types.JsonValue>();
      for (let step = 0; step < 200; step++) {
        const i = Math.floor(r() * 4);
        const state = { step, cursor: Math.floor(r() * 1000) };
        syncs[i]!.presence.set(state);
        last.set(ids[i]!, state);
        if (step % 20 === 0) await sleep(1);
      }
      // Lost updates come back with the next renewal (a third of the timeout).
      await until(
        `every replica shows every other's last state (seed ${seed})`,
        () => syncs.every((s, i) => JSON.stringify(shown(s)) === JSON.stringify(Object.fromEntries(ids.filter((_, j) => j !== i && last.has(ids[j]!)).map((id) => [id, last.get(id)])))),
        5000,
      ).catch((e: unknown) => {
        throw new Error(`${String(e)}: ${syncs.map((s, i) => `${ids[i]} sees ${JSON.stringify(shown(s))} status ${JSON.stringify(s.status().peers.map((p) => [p.peer, p.state]))}`).join('\n')}`);
      });
      for (const s of ss) s.close();
    }
  });

  it('a cursor in presence is a stable position: it stays on its character while the peer edits before it', async () => {
    const schema = { docs: { body: 'text' } } as const;
    const a = await mycelium.open({ schema, name: 'doc', actor: actor(0x91) });
    const b = await mycelium.open({ schema, name: 'doc', actor: actor(0x92) });
    const hub = new mycelium.MemoryHub();
    const sa = a.connect(hub.adapter(), FAST);
    const sb = b.connect(hub.adapter(), FAST);
    a.collection('docs').insert({ id: 'd', body: 'hello world' });
    await until('b has the doc', () => b.collection('docs').get('d')?.body === 'hello world');
    sa.presence.set({ name: 'Ann', cursor: a.collection('docs').cursor('d', 'body', 6) }); // before "world"
    await until('b sees a’s cursor', () => sb.presence.peers().length === 1);
    b.collection('docs').update('d', (r) => r.insert('body', 0, 'oh, '));
    const cursor = (sb.presence.peers()[0]!.state as { cursor: Types.Cursor }).cursor;
    const at = b.collection('docs').resolve(cursor);
    expect(at).toBe(10);
    expect(b.collection('docs').get('d')!.body.slice(at!)).toBe('world');
    a.close();
    b.close();
  });

  it('checks states: JSON only, at most 8,192 characters; a closed sync refuses', async () => {
    const [a] = await stores(1);
    const sa = a!.connect(new mycelium.MemoryHub().adapter('A'));
    expect(codeOf(() => sa.presence.set({ big: 'x'.repeat(9000) }))).toBe('limit_exceeded');
    expect(codeOf(() => sa.presence.set({ n: 1n } as never))).toBe('invalid_argument');
    expect(codeOf(() => sa.presence.set((() => 1) as never))).toBe('invalid_argument');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf(() => sa.presence.set(cyclic as never))).toBe('invalid_argument');
    expect(sa.presence.get()).toBe(null); // nothing was set by the failures
    const mine = { name: 'Ann', tags: ['x'] };
    sa.presence.set(mine);
    mine.tags.push('changed after');
    expect(sa.presence.get()).toEqual({ name: 'Ann', tags: ['x'] }); // a copy: the caller's object stays the caller's
    sa.close();
    expect(codeOf(() => sa.presence.set({}))).toBe('closed');
    a!.close();
  });
});

describe('presence through the Node peer', () => {
  it('relays between its clients without storing, and says when one leaves', async () => {
    const server = await mycelium.open({ schema: todoSchema, name: 'todo', actor: actor(0x5e) });
    const adapter = mycelium.webSocketServer({ port: 0 });
    const ss = named(server.connect(adapter), 'server');
    const url = await adapter.listening;
    const [a, b] = await stores(2);
    const sa = named(a!.connect(mycelium.webSocket(url)), 'alice');
    const sb = named(b!.connect(mycelium.webSocket(url)), 'bob');
    sa.presence.set({ name: 'Alice' });
    sb.presence.set({ name: 'Bob' });
    await until('each client sees the other through the server', () => shown(sa).bob !== undefined && shown(sb).alice !== undefined);
    expect(shown(sa)).toEqual({ bob: { name: 'Bob' } });
    expect(shown(ss)).toEqual({ alice: { name: 'Alice' }, bob: { name: 'Bob' } });
    // Presence is not data: the store did not change.
    expect(server.version()).toEqual({});
    expect(a!.version()).toEqual({});
    sa.presence.update({ cursor: 3 });
    await until('bob sees alice’s cursor', () => (shown(sb).alice as { cursor?: number }).cursor === 3);
    // A client that joins later hears everyone already there from the server.
    const [c] = await stores(1);
    const sc = named(c!.connect(mycelium.webSocket(url)), 'cy');
    await until('cy sees alice and bob', () => sc.presence.peers().length === 2);
    // Alice sets her state 300 times as fast as she can: the server forwards
    // at most one state of hers per 33 ms, and the last always arrives.
    const heard: number[] = [];
    const off = sb.presence.subscribe((e) => {
      for (const p of e.changed) if (p.id === sa.presence.id) heard.push((p.state as { cursor: number }).cursor);
    });
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) {
      sa.presence.update({ cursor: i });
      if (i % 30 === 29) await sleep(2);
    }
    const spent = performance.now() - t0;
    await until('bob has alice’s last cursor', () => heard.at(-1) === 299);
    await sleep(100);
    off();
    expect(heard.at(-1)).toBe(299);
    expect(heard.length).toBeLessThanOrEqual(Math.ceil((spent + 150) / 33) + 2);
    sa.close();
    await until('bob and cy see alice leave', () => !('alice' in shown(sb)) && !('alice' in shown(sc)));
    expect(Object.keys(shown(ss))).toEqual(['bob']);
    for (const s of [a, b, c, server]) s!.close();
    adapter.stop();
  }, 20_000);
});
