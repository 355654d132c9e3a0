// Durable-first syncs (docs/relay.md, Durability): a replica that serves
// others (a relay node) tells a peer it holds a change only once storage
// holds it, and what peers send while a write is in flight waits, then
// joins and is written at once. Over the in-memory transport, with a
// storage adapter whose writes the test holds and releases.
import { describe, expect, it } from 'vitest';
import type { Types } from './helpers.js';
import { mycelium } from './helpers.js';

const schema = { notes: { body: 'lww', votes: 'counter' } } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** memoryStorage() whose appends wait while the gate is held; counts the blobs of each append. */
function gatedStorage() {
  const base = mycelium.memoryStorage();
  let release: (() => void) | null = null;
  let gate: Promise<void> | null = null;
  const appends: number[] = [];
  const storage: Types.StorageAdapter = {
    ...base,
    append: async (name, blobs, origin) => {
      if (!name.startsWith('$')) appends.push(blobs.length);
      if (gate) await gate;
      return base.append(name, blobs, origin);
    },
  };
  return {
    storage,
    appends,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release() {
      gate = null;
      release?.();
    },
  };
}

/** The peer acknowledged everything this replica has. */
const acked = (s: Types.Sync) => s.status().peers.length > 0 && s.status().peers.every((p) => p.state === 'synced' && !p.behind);

describe('durable-first sync (a relay node)', () => {
  it('acknowledges a write, and passes it on, only once storage holds it; what comes meanwhile is joined and written at once', async () => {
    const g = gatedStorage();
    const relay = await mycelium.open({ schema, name: 'n', persist: g.storage });
    // Two networks, so the two clients reach each other only through the relay.
    const hubA = new mycelium.MemoryHub();
    const hubB = new mycelium.MemoryHub();
    relay.connect(hubA.adapter('relay'), { relayDelay: 0, durableFirst: true });
    relay.connect(hubB.adapter('relay'), { relayDelay: 0, durableFirst: true });
    const writer = await mycelium.open({ schema, name: 'n' });
    const reader = await mycelium.open({ schema, name: 'n' });
    const ws = writer.connect(hubA.adapter('writer'));
    reader.connect(hubB.adapter('reader'));
    await until('both sessions', () => ws.status().peers.some((p) => p.state === 'synced'));
    const notes = writer.collection('notes');

    g.hold();
    notes.insert({ id: 'x', body: 'first', votes: 1 });
    await until('the relay to join x', () => relay.collection('notes').get('x') !== undefined);
    await sleep(150);
    // Joined, not stored: neither acknowledged to the writer nor passed on.
    expect(acked(ws)).toBe(false);
    expect(reader.collection('notes').get('x')).toBeUndefined();
    // More writes while the write of x is in flight: they wait at the relay, unjoined.
    notes.insert({ id: 'y', body: 'second', votes: 2 });
    await sleep(30);
    notes.update('x', (r) => r.increment('votes', 5));
    await sleep(150);
    expect(relay.collection('notes').get('y')).toBeUndefined();
    expect(relay.collection('notes').get('x')?.votes).toBe(1);
    const before = g.appends.length;

    g.release();
    await until('the writer to be acknowledged', () => acked(ws));
    await until('the reader to get everything', () => reader.collection('notes').get('y') !== undefined && reader.collection('notes').get('x')?.votes === 6);
    // x's write, then one write for everything that waited (a group commit).
    expect(g.appends.length - before).toBe(1);
    for (const s of [writer, reader, relay]) s.close();
  });

  it('a write storage refuses is never acknowledged; retried, it is', async () => {
    const base = mycelium.memoryStorage();
    const relay = await mycelium.open({ schema, name: 'n', persist: base });
    const hub = new mycelium.MemoryHub();
    relay.connect(hub.adapter('relay'), { relayDelay: 0, durableFirst: true });
    const writer = await mycelium.open({ schema, name: 'n' });
    const ws = writer.connect(hub.adapter('writer'));
    await until('the session', () => ws.status().peers.some((p) => p.state === 'synced'));
    const errors: string[] = [];
    relay.onError((e) => errors.push(e.code));
    base.failNext(new Error('disk gone'));
    writer.collection('notes').insert({ id: 'x', body: 'kept', votes: 1 });
    await until('the write to fail', () => errors.length > 0);
    await sleep(150);
    expect(acked(ws)).toBe(false);
    await relay.flush();
    await until('the writer to be acknowledged after the retry', () => acked(ws));
    expect(base.stores.get('n')?.log.length).toBeGreaterThan(0);
    writer.close();
    relay.close();
  });
});
