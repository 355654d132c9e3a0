// The Node peer and the sync protocol against an attacker (issue 13,
// findings 2-10). Memory is measured on `npx mycelium-sync peer` running in
// its own process (peak RSS from /proc); what the stores hold is checked by
// reopening their folder afterwards, or on an in-process server.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as mycelium from 'mycelium-sync';
import {
  ackMessage,
  chunks,
  cli,
  client,
  deltaMessage,
  featuresMessage,
  hello,
  helloMessage,
  mycFrame,
  presenceDelta,
  presenceMessage,
  rawSocket,
  schemaFile,
  sleep,
  startCli,
  syncClient,
  tempDir,
  peakGrowth,
  until,
  varint,
  wsFrame,
  zstdBomb,
} from './helpers.mjs';

const MiB = 1024 * 1024;
const schema = { notes: { body: 'lww', votes: 'counter' } };
const FIELDS = [['body', 0], ['votes', 1]];
const cleanup = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A store folder with a few records; returns its snapshot bytes. */
async function seeded(dir) {
  const storage = mycelium.fileStorage(dir);
  const s = await mycelium.open({ schema, name: 'notes', persist: storage });
  const notes = s.collection('notes');
  for (let i = 0; i < 20; i++) notes.insert({ id: `n${i}`, body: `note ${i}`, votes: i });
  await s.flush();
  const snapshot = s.save();
  s.close();
  storage.close(); // gives the folder's lock back: the peer process takes it
  return snapshot;
}

async function reopened(dir) {
  const storage = mycelium.fileStorage(dir);
  const s = await mycelium.open({ schema, name: 'notes', persist: storage });
  const bytes = s.save();
  s.close();
  storage.close();
  return bytes;
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The peer from the CLI, on a seeded folder. */
async function cliPeer(...args) {
  const dir = tempDir();
  const before = await seeded(dir);
  const peer = await startCli(['peer', '--schema', schemaFile(schema), '--name', 'notes', '--dir', dir, '--port', '0', ...args]);
  cleanup.push(() => peer.stop());
  return { peer, dir, before };
}

/** An in-process server peer with one store. */
async function serverPeer(serverOptions = {}, syncOptions = {}) {
  const store = await mycelium.open({ schema, name: 'notes' });
  store.collection('notes').insert({ id: 'mine', body: 'written here', votes: 1 });
  const adapter = mycelium.webSocketServer({ port: 0, ...serverOptions });
  const sync = store.connect(adapter, syncOptions);
  const errors = [];
  sync.onError((e) => errors.push(e.error));
  const url = await adapter.listening;
  cleanup.push(async () => {
    store.close();
    await sleep(20);
  });
  return { store, sync, url, errors };
}

describe('the Node peer: who may connect', () => {
  it('a web page of another site cannot connect (403); an --allow-origin one can', async () => {
    const { peer } = await cliPeer();
    const evil = client(peer.url, { origin: 'https://evil.example' });
    await evil.opening;
    expect(evil.status).toBe(403);
    const { peer: open } = await cliPeer('--allow-origin', 'https://app.example');
    const good = client(open.url, { origin: 'https://app.example' });
    await good.opening;
    expect(good.opened).toBe(true);
    const still = client(open.url, { origin: 'https://evil.example' });
    await still.opening;
    expect(still.status).toBe(403);
  });

  it('with --token: no token or a wrong one is 401; the right one syncs', async () => {
    const token = 'a-long-shared-secret-token';
    const { peer } = await cliPeer('--token', token);
    for (const url of [peer.url, `${peer.url}/?token=wrong-wrong-wrong-wrong`]) {
      const c = client(url);
      await c.opening;
      expect(c.status).toBe(401);
    }
    const s = await mycelium.open({ schema, name: 'notes' });
    const sync = s.connect(mycelium.webSocket(peer.url, { token }));
    await sync.whenSynced({ timeout: 10_000 });
    expect(s.collection('notes').all().length).toBe(20);
    s.close();
  });

  it('GET /status answers with stores, versions and peers, behind the same token and origins (issue 14)', async () => {
    const token = 'a-long-shared-secret-token';
    const { peer } = await cliPeer('--token', token);
    const http = peer.url.replace('ws:', 'http:');
    expect((await fetch(`${http}/status`)).status).toBe(401);
    expect((await fetch(`${http}/status`, { headers: { Authorization: `Bearer ${token}`, Origin: 'https://evil.example' } })).status).toBe(403);
    const s = await mycelium.open({ schema, name: 'notes' });
    const sync = s.connect(mycelium.webSocket(peer.url, { token, peerId: 'watcher' }));
    await sync.whenSynced({ timeout: 10_000 });
    const res = await fetch(`${http}/status?token=${token}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.stores.map((x) => x.name)).toEqual(['notes']);
    expect(Object.values(body.stores[0].version).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(body.stores[0].pending).toBe(0);
    expect(body.stores[0].sync.peers.map((p) => p.peer.split('~')[0])).toEqual(['watcher']);
    s.close();
  });

  it('authorize: a reader may not write, a stranger may not read; the store is unchanged', async () => {
    const principals = { 'reader-token-0000': 'reader', 'writer-token-0000': 'writer', stranger: 'stranger' };
    const { store, url } = await serverPeer({
      authenticate: (req) => principals[new URL(req.url, 'http://x').searchParams.get('token')] ?? null,
      authorize: (who, name, access) => who === 'writer' || (who === 'reader' && access === 'read'),
    });
    const before = store.save();
    // The stranger says hello and is refused; it receives no delta.
    const stranger = await syncClient(`${url}/?token=stranger`);
    stranger.send(hello('notes', schema));
    await until('a refusal', () => stranger.errors().length > 0);
    expect(stranger.errors()[0].code).toBe('forbidden');
    expect(stranger.frames().some((f) => f.type === 2)).toBe(false);
    // The reader gets the data, and is refused when it writes.
    const reader = await syncClient(`${url}/?token=reader-token-0000`);
    reader.send(hello('notes', schema));
    await until('the reader gets a delta', () => reader.frames().some((f) => f.type === 2));
    const other = await mycelium.open({ schema, name: 'notes' });
    other.collection('notes').insert({ id: 'intruder', body: 'x' });
    reader.send(mycFrame(3, deltaMessage('notes', [[`0x${other.actor}`, 2]], other.deltaSince({}))));
    await until('a refusal', () => reader.errors().length > 0);
    expect(reader.errors()[0].code).toBe('forbidden');
    expect(same(store.save(), before)).toBe(true);
    other.close();
    // A writer's delta joins.
    const w = await mycelium.open({ schema, name: 'notes' });
    w.connect(mycelium.webSocket(`${url}/?token=writer-token-0000`));
    w.collection('notes').insert({ id: 'ok', body: 'by the writer' });
    await until('the writer joined', () => store.collection('notes').get('ok') !== undefined);
    w.close();
  });

  it('a client claiming another client\'s peer id does not disconnect it', async () => {
    const { store, sync, url } = await serverPeer();
    const victim = await mycelium.open({ schema, name: 'notes' });
    victim.connect(mycelium.webSocket(url, { peerId: 'victim' }));
    await until('the victim synced', () => victim.collection('notes').get('mine') !== undefined);
    const thief = await syncClient(url, { peer: 'victim' });
    thief.send(hello('notes', schema));
    await sleep(100);
    victim.collection('notes').insert({ id: 'after', body: 'still connected' });
    await until('the victim still syncs', () => store.collection('notes').get('after') !== undefined);
    expect(sync.peers().filter((p) => p.peer.startsWith('victim')).length).toBe(2);
    victim.close();
  });
});

describe('a peer cannot poison a store', () => {
  it('the 57-byte delta claiming this replica\'s own actor at seq 2^32-1: corrupt, unchanged, it still writes', async () => {
    const { store, url } = await serverPeer();
    const before = store.save();
    const seq = store.version()[store.actor];
    const attack = presenceDelta({ collection: 'notes', fields: FIELDS, actor: `0x${store.actor}`, count: 2 ** 32 - 1 });
    const evil = await syncClient(url);
    evil.send(hello('notes', schema));
    await until('the session', () => evil.frames().some((f) => f.type === 1));
    evil.send(mycFrame(3, deltaMessage('notes', [[`0x${store.actor}`, 2 ** 32 - 1]], attack)));
    await until('a refusal', () => evil.errors().length > 0);
    expect(evil.errors()[0].code).toBe('corrupt');
    expect(same(store.save(), before)).toBe(true);
    store.collection('notes').insert({ id: 'later', body: 'still writes' });
    expect(store.version()[store.actor]).toBe(seq + 2);
    // Its peers get the new write.
    const friend = await mycelium.open({ schema, name: 'notes' });
    friend.connect(mycelium.webSocket(url));
    await until('the new write arrives', () => friend.collection('notes').get('later') !== undefined);
    friend.close();
  });

  it('a delta inventing 1,100 actors is refused (limit_exceeded); the store is unchanged', async () => {
    const { store, url } = await serverPeer();
    const before = store.save();
    const hub = await mycelium.open({ schema, name: 'notes' });
    for (let i = 0; i < 1100; i++) {
      const s = await mycelium.open({ schema, name: 'notes', actor: (0x1000 + i).toString(16).padStart(16, '0') });
      s.collection('notes').insert({ id: `i${i}`, body: '' });
      hub.applyDelta(s.deltaSince({}), { maxNewActors: 0 });
      s.close();
    }
    const evil = await syncClient(url);
    evil.send(hello('notes', schema));
    await until('the session', () => evil.frames().some((f) => f.type === 1));
    for (const c of chunks(deltaMessage('notes', [['0x1000', 1]], hub.deltaSince({})), 7)) evil.send(c);
    await until('a refusal', () => evil.errors().length > 0);
    expect(evil.errors()[0].code).toBe('limit_exceeded');
    expect(same(store.save(), before)).toBe(true);
    hub.close();
  });

  it('one peer may add 4,096 actors while connected: the delta past that is refused', async () => {
    const { store, url, errors } = await serverPeer();
    const evil = await syncClient(url);
    evil.send(hello('notes', schema));
    await until('the session', () => evil.frames().some((f) => f.type === 1));
    let next = 0x10000;
    for (let round = 0; round < 5; round++) {
      const hub = await mycelium.open({ schema, name: 'notes' });
      for (let i = 0; i < 1000; i++) {
        const s = await mycelium.open({ schema, name: 'notes', actor: (next++).toString(16).padStart(16, '0') });
        s.collection('notes').insert({ id: `r${round}-${i}`, body: '' });
        hub.applyDelta(s.deltaSince({}), { maxNewActors: 0 });
        s.close();
      }
      for (const c of chunks(deltaMessage('notes', Object.entries(hub.version()).map(([a, q]) => [`0x${a}`, q]), hub.deltaSince({}), round + 1), 100 + round)) evil.send(c);
      await sleep(150);
      hub.close();
    }
    await until('a refusal', () => evil.errors().length > 0);
    expect(evil.errors()[0].code).toBe('limit_exceeded');
    expect(errors.map((e) => e.code)).toContain('limit_exceeded');
    // Four rounds joined, not the fifth.
    expect(Object.keys(store.version()).length).toBe(1 + 4000);
  });

  it('a decompression bomb (24 MB of strings in 0.25 MB) is limit_exceeded: peak RSS +160 MiB at most, store unchanged', async () => {
    const { peer, dir, before } = await cliPeer();
    await sleep(300);
    const base = peer.memory().peak;
    const evil = await syncClient(peer.url);
    evil.send(hello('notes', schema));
    await until('the session', () => evil.frames().some((f) => f.type === 1));
    const n = 24 * MiB;
    const bomb = mycFrame(1, zstdBomb(new Uint8Array(varint(n)), n, 100), true);
    expect(bomb.length).toBeLessThan(300 * 1024);
    for (const c of chunks(deltaMessage('notes', [['0x77', 5]], bomb), 9)) evil.send(c);
    await until('a refusal', () => evil.errors().length > 0, 20_000);
    expect(evil.errors()[0].code).toBe('limit_exceeded');
    expect(peer.alive).toBe(true);
    peakGrowth(peer, base, 160, expect);
    await peer.stop();
    expect(same(await reopened(dir), before)).toBe(true);
  });
});

describe('memory and bandwidth are bounded per process', () => {
  it('a chunk of 1 byte that is not a message\'s last is refused', async () => {
    const { peer } = await cliPeer();
    const evil = await syncClient(peer.url);
    evil.send(mycFrame(4, new Uint8Array([1, 0, 3, 42])));
    await until('a refusal', () => evil.errors().length > 0 || evil.closed !== null);
    expect(evil.errors()[0]?.code).toBe('corrupt');
  });

  it('unfinished messages of three connections share one 128 MiB budget: peak RSS +256 MiB at most', async () => {
    const { peer } = await cliPeer();
    await sleep(300);
    const base = peer.memory().peak;
    const body = new Uint8Array(60 * 1024).fill(7);
    const evils = [];
    for (let k = 0; k < 3; k++) {
      const evil = await syncClient(peer.url, { peer: `e${k}` });
      // 850 chunks of a 1,000-chunk message: 51 MB that never completes.
      for (let i = 0; i < 850 && evil.closed === null && evil.errors().length === 0; i++) {
        evil.send(mycFrame(4, new Uint8Array([...varint(1), ...varint(i), ...varint(1000), ...body])));
        if (i % 50 === 49) await sleep(5);
      }
      evils.push(evil);
    }
    await until('the third is refused', () => evils[2].errors().length > 0 || evils[2].closed !== null, 30_000);
    expect(evils[2].errors()[0]?.code).toBe('limit_exceeded');
    expect(peer.alive).toBe(true);
    peakGrowth(peer, base, 256, expect);
  });

  it('empty continuation frames are cut off; a client that never reads is closed: peak RSS +96 MiB at most', async () => {
    const { peer } = await cliPeer();
    await sleep(300);
    const base = peer.memory().peak;
    const sock = await rawSocket(peer.url);
    sock.on('error', () => undefined);
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.write(wsFrame(2, Buffer.from([1]), false));
    const batch = Buffer.concat(Array.from({ length: 100_000 }, () => wsFrame(0, Buffer.alloc(0), false)));
    for (let i = 0; i < 50 && !closed; i++) if (!sock.write(batch)) await Promise.race([new Promise((r) => sock.once('drain', r)), new Promise((r) => sock.once('close', r))]);
    await until('cut off', () => closed);
    const reader = await rawSocket(peer.url);
    reader.on('error', () => undefined);
    reader.pause();
    let readerClosed = false;
    reader.on('close', () => (readerClosed = true));
    const pings = Buffer.concat(Array.from({ length: 10_000 }, () => wsFrame(9, Buffer.alloc(125, 1))));
    for (let sent = 0; sent < 40 * MiB && !readerClosed; sent += pings.length) {
      if (!reader.write(pings)) await Promise.race([new Promise((r) => reader.once('drain', r)), sleep(200)]);
    }
    await until('the non-reader closed', () => {
      reader.resume();
      return readerClosed;
    }, 20_000);
    expect(peer.alive).toBe(true);
    peakGrowth(peer, base, 96, expect);
  });

  it('versions are capped: a hello naming 70,000 actors, and acks that keep adding actors, end the session', async () => {
    const { url } = await serverPeer();
    const big = Array.from({ length: 70_000 }, (_, i) => [`0x${(i + 1).toString(16)}`, 1]);
    const evil = await syncClient(url);
    for (const c of chunks(helloMessage('notes', schema, big), 11)) evil.send(c);
    await until('a refusal', () => evil.errors().length > 0 || evil.closed !== null);
    expect(evil.errors()[0]?.code).toBe('limit_exceeded');
    const acker = await syncClient(url, { peer: 'acker' });
    acker.send(hello('notes', schema));
    await until('the session', () => acker.frames().some((f) => f.type === 1));
    for (let round = 0; round < 3; round++) {
      const entries = Array.from({ length: 40_000 }, (_, i) => [`0x${(round * 40_000 + i + 1).toString(16)}`, 1]);
      for (const c of chunks(ackMessage('notes', entries), 20 + round)) acker.send(c);
    }
    await until('a refusal', () => acker.errors().length > 0);
    expect(acker.errors()[0].code).toBe('limit_exceeded');
  });
});

describe('presence against an attacker (docs/presence.md)', () => {
  /** A client of the server with a presence state, seen by the server. */
  async function member(url, sync, peerId, state) {
    const s = await mycelium.open({ schema, name: 'notes' });
    const c = s.connect(mycelium.webSocket(url, { peerId }));
    c.presence.set(state);
    cleanup.push(() => s.close());
    await until(`the server sees ${peerId}`, () => sync.presence.peers().some((p) => p.id === c.presence.id));
    return c;
  }

  it('a client without presence (protocol 3, no features) is never sent any, and syncs data as before', async () => {
    const { store, sync, url } = await serverPeer();
    await member(url, sync, 'alice', { name: 'Alice' });
    const old = await syncClient(url, { peer: 'old' });
    old.send(hello('notes', schema));
    await until('the old client got the notes', () => old.frames().some((f) => f.type === 2));
    old.send(mycFrame(3, deltaMessage('notes', [[0x01d, 1]], presenceDelta({ collection: 'notes', fields: FIELDS, actor: 0x01d, count: 1, id: 'old' }).subarray(0))));
    await sleep(200);
    expect(old.presence()).toEqual([]);
    expect(old.errors()).toEqual([]);
    expect(store.collection('notes').get('old')).toBeDefined();
  });

  it('a client speaks for itself only: it cannot set, nor remove, another client\'s presence', async () => {
    const { sync, url } = await serverPeer();
    const alice = await member(url, sync, 'alice', { name: 'Alice' });
    const bob = await member(url, sync, 'bob', { name: 'Bob' });
    await until('bob sees alice', () => bob.presence.peers().some((p) => p.id === alice.presence.id));
    const evil = await syncClient(url, { peer: 'evil' });
    evil.send(mycFrame(3, featuresMessage(['presence'])));
    evil.send(hello('notes', schema));
    await until('the server answered', () => evil.frames().some((f) => f.type === 5));
    // Alice's id first (taken by her live connection: ignored), then its own, then others.
    const [A, B] = [alice.presence.id, bob.presence.id];
    evil.send(mycFrame(3, presenceMessage('notes', [[A, 1000, '{"name":"not Alice"}'], ['evil', 1, '{"name":"Eve"}'], ['carol', 5, '{"name":"Carol?"}']])));
    evil.send(mycFrame(3, presenceMessage('notes', [[A, 2000, null], [B, 2000, null]])));
    await until('bob sees evil as itself', () => bob.presence.peers().some((p) => p.id === 'evil'));
    await sleep(100);
    const names = { [A]: 'alice', [B]: 'bob', evil: 'evil' };
    const shown = (c) => Object.fromEntries(c.presence.peers().map((p) => [names[p.id] ?? p.id, p.state]));
    expect(shown(bob)).toEqual({ alice: { name: 'Alice' }, evil: { name: 'Eve' } });
    expect(Object.keys(shown(sync)).sort()).toEqual(['alice', 'bob', 'evil']);
    expect(Object.keys(shown(alice)).sort()).toEqual(['bob', 'evil']);
  });

  it('malformed presence ends the connection with a typed error; the server and its store go on', async () => {
    const { store, sync, url } = await serverPeer();
    const alice = await member(url, sync, 'alice', { name: 'Alice' });
    const before = store.save();
    const cases = [
      ['not JSON', presenceMessage('notes', [['x', 1, '{name']]), 'corrupt'],
      ['a state of 9,000 characters', presenceMessage('notes', [['x', 1, JSON.stringify('y'.repeat(9000))]]), 'limit_exceeded'],
      ['5,000 entries', presenceMessage('notes', Array.from({ length: 5000 }, (_, i) => [`c${i}`, 1, '1'])), 'limit_exceeded'],
      ['an entry without a client', presenceMessage('notes', [['', 1, '1']]), 'corrupt'],
      ['a null state sent as a state', presenceMessage('notes', [['x', 1, 'null']]), 'corrupt'],
      ['trailing bytes', new Uint8Array([...presenceMessage('notes', [['x', 1, '1']]), 0]), 'corrupt'],
    ];
    for (const [what, message, code] of cases) {
      const evil = await syncClient(url, { peer: 'evil' });
      evil.send(mycFrame(3, featuresMessage(['presence'])));
      evil.send(hello('notes', schema));
      await until('the server answered', () => evil.frames().some((f) => f.type === 1));
      for (const f of message.length > 60_000 ? chunks(message, 7) : [mycFrame(3, message)]) evil.send(f);
      await until(`a refusal of ${what}`, () => evil.errors().length > 0 || evil.closed !== null);
      expect(evil.errors()[0]?.code, what).toBe(code);
      await until('the connection closed', () => evil.closed !== null);
    }
    expect(same(store.save(), before)).toBe(true);
    alice.presence.update({ still: 'here' });
    await until('the server still hears alice', () => sync.presence.peers().find((p) => p.id === alice.presence.id)?.state.still === 'here');
  });

  it('a peer claiming to relay cannot make the server hold more than maxPeers states', async () => {
    const { sync, url } = await serverPeer({}, { presence: { maxPeers: 100 } });
    const evil = await syncClient(url, { peer: 'evil' });
    evil.send(mycFrame(3, featuresMessage(['presence', 'presence-relay'])));
    evil.send(hello('notes', schema));
    await until('the server answered', () => evil.frames().some((f) => f.type === 5));
    for (let round = 0; round < 5; round++) {
      evil.send(mycFrame(3, presenceMessage('notes', Array.from({ length: 1000 }, (_, i) => [`fake${round}-${i}`, 1, '{"x":1}']))));
    }
    await until('the server read them', () => sync.presence.peers().length >= 100);
    await sleep(100);
    expect(sync.presence.peers().length).toBe(100);
    evil.ws.close();
    await until('they left with the connection', () => sync.presence.peers().length === 0);
  });
});

describe('peers that do not answer', () => {
  it('a peer that never acks is resent to with back-off, then dropped (timeout)', async () => {
    const { errors, url } = await serverPeer({}, { ackTimeout: 100, maxResends: 3 });
    const evil = await syncClient(url);
    const start = Date.now();
    evil.send(hello('notes', schema));
    await until('dropped', () => evil.closed !== null, 10_000);
    const deltas = evil.frames().filter((f) => f.type === 2).length;
    expect(deltas).toBe(4); // the first send and three resends, 100, 200 and 400 ms apart
    expect(errors.map((e) => e.code)).toContain('timeout');
    // Dropped after the last wait (800 ms), not before: 100 + 200 + 400 + 800.
    expect(Date.now() - start).toBeGreaterThanOrEqual(1400);
  });

  it('a silent peer is sent hellos with back-off', async () => {
    const { url } = await serverPeer({}, { helloInterval: 50 });
    const quiet = await syncClient(url);
    await sleep(1700);
    const hellos = quiet.frames().filter((f) => f.type === 1).length;
    // 0, 50, 150, 350, 750, 1550 ms: 6 (34 at a fixed 50 ms).
    expect(hellos).toBeGreaterThanOrEqual(4);
    expect(hellos).toBeLessThanOrEqual(7);
  });

  it('whenSynced() does not resolve when the only peer failed; with a timeout it rejects', async () => {
    const { url } = await serverPeer();
    const other = await mycelium.open({ schema: { notes: { body: 'mvr' } }, name: 'notes' });
    const sync = other.connect(mycelium.webSocket(url));
    await until('the peer failed', () => sync.peers().some((p) => p.state === 'failed'));
    await expect(sync.whenSynced({ timeout: 300 })).rejects.toMatchObject({ code: 'timeout' });
    other.close();
  });
});

describe('the Node peer for a protected store (docs/identity.md)', () => {
  it('--owner: it syncs as its own identity once an admin adds it, relays members’ signed writes, refuses a stranger', async () => {
    const dir = tempDir();
    const principal = execFileSync(process.execPath, [cli, 'identity', '--dir', dir], { encoding: 'utf8' }).trim();
    expect(principal).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The same key file the next time.
    expect(execFileSync(process.execPath, [cli, 'identity', '--dir', dir], { encoding: 'utf8' }).trim()).toBe(principal);
    const [o, w, x] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity(), mycelium.createIdentity()]);
    const open = (identity) => mycelium.open({ schema, name: 'notes', identity, access: { owner: o.principal } });
    const owner = await open(o);
    await owner.access.add(principal, 'reader'); // a relay needs only to read: each write is checked on its own
    await owner.access.add(w.principal, 'writer');
    const peer = await startCli(['peer', '--schema', schemaFile(schema), '--name', 'notes', '--dir', dir, '--port', '0', '--owner', o.principal]);
    cleanup.push(() => peer.stop());
    const fast = { relayDelay: 10, ackTimeout: 200, helloInterval: 50 };
    owner.connect(mycelium.webSocket(peer.url), fast);
    owner.collection('notes').insert({ id: 'o', body: 'from the owner', votes: 1 });
    await sleep(300); // the owner's writes reach the peer before the writer comes
    owner.close();
    const writer = await open(w);
    writer.connect(mycelium.webSocket(peer.url), fast);
    await until('the writer has the owner’s note through the peer', () => writer.collection('notes').get('o')?.body === 'from the owner', 10_000);
    const stranger = await open(x);
    const sx = stranger.connect(mycelium.webSocket(peer.url), fast);
    const errors = [];
    sx.onError((e) => errors.push(e.error.code));
    await until('the stranger is refused', () => errors.includes('unauthorized'), 10_000);
    expect(stranger.collection('notes').all()).toEqual([]);
    writer.close();
    stranger.close();
    // certify: a user key kept in a key file certifies a device, which then writes as the user.
    const userDir = tempDir();
    const user = execFileSync(process.execPath, [cli, 'identity', '--dir', userDir, '--identity', 'me'], { encoding: 'utf8' }).trim();
    const device = await mycelium.createIdentity();
    const certificate = execFileSync(process.execPath, [cli, 'certify', device.principal, '--dir', userDir, '--identity', 'me', '--days', '2'], { encoding: 'utf8' }).trim();
    expect(certificate.startsWith('myc-device-1.')).toBe(true);
    // The owner on a fresh replica learns the log from the peer before it signs more (its
    // next operation must not reuse a number its first replica signed: two would void each other).
    const owner2 = await open(o);
    owner2.connect(mycelium.webSocket(peer.url), fast);
    await until('the owner’s new replica has the log', () => owner2.access.role(principal) === 'reader', 10_000);
    await owner2.access.add(user, 'writer');
    const onDevice = await mycelium.open({ schema, name: 'notes', identity: device, access: { owner: o.principal, certificate } });
    onDevice.connect(mycelium.webSocket(peer.url), fast);
    await until('the device writes as the user, through the peer', () => onDevice.access.role() === 'writer', 10_000);
    onDevice.collection('notes').insert({ id: 'd', body: 'from a certified device', votes: 0 });
    await until('the owner has it', () => owner2.collection('notes').get('d')?.body === 'from a certified device', 10_000);
    onDevice.close();
    owner2.close();
    expect(() => execFileSync(process.execPath, [cli, 'certify', 'nobody', '--dir', userDir], { stdio: 'pipe' })).toThrow(/a device is a principal/);
    // A bad --owner is a usage error.
    expect(() => execFileSync(process.execPath, [cli, 'peer', '--schema', schemaFile(schema), '--dir', tempDir(), '--owner', 'nobody'], { stdio: 'pipe' })).toThrow(/--owner is a principal/);
  });
});

describe('the Node peer as a blind relay (docs/identity.md, Encryption)', () => {
  it('--encrypted with the role relay: members that meet only through it sync; its folder holds no plaintext', async () => {
    const dir = tempDir();
    const principal = execFileSync(process.execPath, [cli, 'identity', '--dir', dir], { encoding: 'utf8' }).trim();
    const [o, w] = await Promise.all([mycelium.createIdentity(), mycelium.createIdentity()]);
    const open = (identity) => mycelium.open({ schema, name: 'notes', identity, access: { owner: o.principal, encrypt: true } });
    const owner = await open(o);
    await owner.access.add(principal, 'relay');
    await owner.access.add(w.principal, 'writer');
    const writer = await open(w);
    const peer = await startCli(['peer', '--schema', schemaFile(schema), '--name', 'notes', '--dir', dir, '--port', '0', '--owner', o.principal, '--encrypted']);
    cleanup.push(() => peer.stop());
    const fast = { relayDelay: 10, ackTimeout: 200, helloInterval: 50 };
    owner.connect(mycelium.webSocket(peer.url), fast);
    writer.connect(mycelium.webSocket(peer.url), fast);
    owner.collection('notes').insert({ id: 'o', body: 'a plaintext marker zebra-owner', votes: 1 });
    await until('the writer reads the owner’s note through the relay', () => writer.collection('notes').get('o') !== undefined, 15_000);
    writer.collection('notes').insert({ id: 'w', body: 'a plaintext marker zebra-writer', votes: 2 });
    await until('the owner reads the writer’s note through the relay', () => owner.collection('notes').get('w') !== undefined, 15_000);
    const status = await (await fetch(`${peer.url.replace('ws:', 'http:')}/status`)).json();
    expect(Object.values(status.stores[0].version).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
    owner.close();
    writer.close();
    await peer.stop();
    // Everything the relay wrote to its folder: the log and the batches, no plaintext.
    const files = [];
    const walk = (d) => {
      for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (f) => files.push(f))(join(d, e.name));
    };
    walk(dir);
    const all = Buffer.concat(files.map((f) => readFileSync(f)));
    expect(all.length).toBeGreaterThan(0);
    expect(all.includes('zebra-owner')).toBe(false);
    expect(all.includes('zebra-writer')).toBe(false);
    expect(() => execFileSync(process.execPath, [cli, 'peer', '--schema', schemaFile(schema), '--dir', tempDir(), '--encrypted'], { stdio: 'pipe' })).toThrow(/--encrypted goes with --owner/);
  });
});

describe('a protected store against a stranger (docs/identity.md, Authenticated sessions)', () => {
  it('what a peer sends before it is authenticated is held up to 4 MiB, then limit_exceeded; nothing of it is read', async () => {
    const o = await mycelium.createIdentity();
    const store = await mycelium.open({ schema, name: 'notes', identity: o, access: { owner: o.principal } });
    store.collection('notes').insert({ id: 'secret', body: 'for members', votes: 1 });
    const before = store.save();
    const adapter = mycelium.webSocketServer({ port: 0 });
    const sync = store.connect(adapter);
    const errors = [];
    sync.onError((e) => errors.push(e.error.code));
    const url = await adapter.listening;
    cleanup.push(async () => {
      store.close();
      await sleep(20);
    });
    const evil = await syncClient(url);
    evil.send(mycFrame(3, featuresMessage(['auth', 'presence'])));
    // Deltas of 1 MiB each (garbage: never parsed while held), before any proof.
    const junk = new Uint8Array(1 << 20).map((_, i) => (i * 131) & 255);
    for (let i = 0; i < 6; i++) for (const c of chunks(deltaMessage('notes', [['0x99', i + 1]], junk, i + 1), 20 + i)) evil.send(c);
    await until('the session is refused', () => errors.length > 0, 10_000);
    expect(errors).toContain('limit_exceeded');
    await until('the stranger is told why', () => evil.errors().some((e) => e.code === 'limit_exceeded'), 10_000);
    expect(same(store.save(), before)).toBe(true);
    // Nothing of the store went to the stranger: no hello, no delta.
    expect(evil.frames().filter((f) => f.type === 1 || f.type === 2)).toEqual([]);
  });
});
