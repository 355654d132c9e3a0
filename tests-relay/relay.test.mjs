// Relay nodes on NATS JetStream (issue 22, docs/relay.md), on real
// nats-server processes: a three-server JetStream cluster with R3 streams,
// relay nodes in their own processes behind a TCP load balancer, and
// clients that are ordinary replicas syncing with webSocket(url).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect as natsConnect } from '@nats-io/transport-node';
import * as mycelium from 'mycelium-sync';
import { loadBalancer, natsCluster, relayNode, sleep, until } from './cluster.mjs';

const schema = { notes: { body: 'lww', votes: 'counter' } };
const cleanup = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

async function cluster(n) {
  const c = await natsCluster(n);
  cleanup.push(() => c.stop());
  return c;
}

async function relay(options) {
  const r = await relayNode({ schema, names: ['notes'], ...options });
  cleanup.push(() => r.stop());
  return r;
}

/** A client replica (in memory) of store `name` syncing with `url`. */
async function client(url, name = 'notes') {
  const store = await mycelium.open({ schema, name });
  const sync = store.connect(mycelium.webSocket(url));
  cleanup.push(async () => store.close());
  return { store, sync, notes: store.collection('notes') };
}

/** What a replica holds, comparable across replicas. */
const contents = (c) => JSON.stringify([...c.notes.all()].sort((a, b) => (a.id < b.id ? -1 : 1)));

/** The relay has acknowledged everything this client has (its session says the peer lacks nothing). */
const acked = (c) => {
  const s = c.sync.status();
  return s.peers.length > 0 && s.peers.every((p) => p.state === 'synced' && !p.behind);
};

describe('relay nodes on JetStream', () => {
  it('clients spread over three relays on a three-server cluster (R3) converge', async () => {
    const nats = await cluster(3);
    const relays = [];
    for (let i = 0; i < 3; i++) relays.push(await relay({ nats: nats.urls, replicas: 3 }));
    const clients = [];
    for (let i = 0; i < 6; i++) clients.push(await client(relays[i % 3].url));
    // Concurrent writes at every client: records of their own, and one counter they all add to.
    for (const [i, c] of clients.entries()) {
      for (let k = 0; k < 20; k++) c.notes.insert({ id: `c${i}-${k}`, body: `from ${i}`, votes: k });
      c.notes.upsert('shared', { votes: 0 });
    }
    for (const c of clients) c.notes.update('shared', (r) => r.increment('votes', 5));
    await until('every client to hold every write', () => clients.every((c) => c.notes.all().length === 121 && c.notes.get('shared')?.votes === 30), 30_000);
    const first = contents(clients[0]);
    for (const c of clients) expect(contents(c)).toBe(first);
    // Replicated: the stream has three current copies.
    const nc = await natsConnect({ servers: nats.urls });
    const info = await (await jetstreamManager(nc)).streams.info('MYCELIUM');
    await nc.close();
    expect(info.config.num_replicas).toBe(3);
    expect(info.state.messages).toBeGreaterThan(0);
  }, 120_000);

  it('a write a relay acknowledged survives the relay killed right after (acks wait for JetStream)', async () => {
    const nats = await cluster(1);
    // Every publish takes 400 ms: a relay that acknowledged before JetStream
    // had the write would lose it when killed inside that window.
    const slow = await relay({ nats: nats.urls, switches: { relayPublishDelay: 400 } });
    const other = await relay({ nats: nats.urls });
    const writer = await client(slow.url);
    writer.notes.insert({ id: 'acked', body: 'must survive', votes: 7 });
    await until('the relay to acknowledge the write', () => acked(writer), 10_000);
    // The writer goes away (nothing of it left to resend) and the relay dies at once.
    writer.store.close();
    await slow.kill();
    const reader = await client(other.url);
    await until('the acknowledged write to reach a client of another relay', () => reader.notes.get('acked') !== undefined, 10_000);
    expect(reader.notes.get('acked')).toEqual({ id: 'acked', body: 'must survive', votes: 7 });
  }, 60_000);

  it('a relay killed in the middle of a sync: its clients resume on another node and nothing is lost', async () => {
    const nats = await cluster(1);
    const relays = [await relay({ nats: nats.urls }), await relay({ nats: nats.urls })];
    const lb = await loadBalancer(relays);
    cleanup.push(() => lb.close());
    // Round robin: the first client lands on relay 0, the second on relay 1.
    const a = await client(lb.url);
    await until('a to connect', () => a.sync.status().peers.some((p) => p.state === 'synced'));
    const b = await client(lb.url);
    await until('b to connect', () => b.sync.status().peers.some((p) => p.state === 'synced'));
    a.notes.insert({ id: 'n', body: 'counted', votes: 0 });
    let written = 0;
    // a keeps writing while its relay is killed; the load balancer sends it to the other node.
    const writing = (async () => {
      for (let i = 0; i < 60; i++) {
        a.notes.update('n', (r) => r.increment('votes', 1));
        written++;
        await sleep(10);
      }
    })();
    await sleep(200);
    await relays[0].kill();
    await writing;
    await until('b to see every increment', () => b.notes.get('n')?.votes === written, 30_000);
    expect(b.notes.get('n').votes).toBe(60);
    await until('a to be acknowledged by the relay it moved to', () => acked(a), 10_000);
  }, 60_000);

  it('one of three NATS servers dies: relays go on, nothing acknowledged is lost, it catches up when back', async () => {
    const nats = await cluster(3);
    const relays = [await relay({ nats: nats.urls, replicas: 3 }), await relay({ nats: nats.urls, replicas: 3 })];
    const a = await client(relays[0].url);
    const b = await client(relays[1].url);
    for (let k = 0; k < 10; k++) a.notes.insert({ id: `before-${k}`, body: 'before', votes: k });
    await until('b to see the writes before the failure', () => b.notes.all().length === 10, 20_000);
    await nats.kill(0);
    for (let k = 0; k < 10; k++) a.notes.insert({ id: `during-${k}`, body: 'during', votes: k });
    await until('a to be acknowledged with a server down', () => acked(a) && a.notes.all().length === 20, 30_000);
    await until('b to see the writes made with a server down', () => b.notes.all().length === 20, 30_000).catch((e) => {
      throw new Error(`${e.message}\nrelay 0: ${relays[0].log}\nrelay 1: ${relays[1].log}`);
    });
    nats.restart(0);
    // The returned server catches up: asked alone, it holds the stream up to
    // the last message the others hold, and every replica is current.
    // (JetStream requests time out while the cluster takes the server back: asked again.)
    const lastSeq = async (servers) => {
      const nc = await natsConnect({ servers, maxReconnectAttempts: 0 });
      try {
        const info = await (await jetstreamManager(nc)).streams.info('MYCELIUM');
        return { last: info.state.last_seq, current: info.cluster?.replicas?.every((r) => r.current) ?? false };
      } finally {
        await nc.close();
      }
    };
    await until('the returned server to hold the whole stream', async () => {
      try {
        const [others, back] = [await lastSeq(nats.urls.slice(1)), await lastSeq([nats.urls[0]])];
        return back.current && back.last === others.last && others.last > 0;
      } catch {
        return false;
      }
    }, 60_000);
    expect(relays.every((r) => r.alive)).toBe(true);
  }, 120_000);

  it('a cold relay serves a store from its snapshot and the stream tail', async () => {
    const nats = await cluster(1);
    // A tiny compaction threshold: the log is folded into a snapshot often,
    // and purged at once (no other node's watch can lag behind here).
    const warm = await relay({ nats: nats.urls, compactAfterBytes: 256, purgeAfter: 0 });
    const a = await client(warm.url);
    for (let k = 0; k < 200; k++) {
      a.notes.insert({ id: `n${k}`, body: `note ${k} `.repeat(8), votes: k });
      if (k % 20 === 19) await until('the batch to be acknowledged', () => acked(a), 10_000);
    }
    await until('everything acknowledged', () => acked(a), 10_000);
    const nc = await natsConnect({ servers: nats.urls });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('MYCELIUM');
    await nc.close();
    // Compacted: fewer messages in the stream than the batches written (purged into the snapshot).
    expect(info.state.messages).toBeLessThan(10);
    const cold = await relay({ nats: nats.urls });
    const reader = await client(cold.url);
    await until('a client of the cold relay to hold every record', () => reader.notes.all().length === 200, 20_000);
    expect(contents(reader)).toBe(contents(a));
  }, 60_000);

  it('a message in the stream that is not a relay append is skipped and reported; relays and cold starts go on', async () => {
    const nats = await cluster(1);
    const r1 = await relay({ nats: nats.urls });
    const a = await client(r1.url);
    a.notes.insert({ id: 'x', body: 'fine', votes: 1 });
    await until('acknowledged', () => acked(a));
    // Someone with NATS credentials publishes garbage and a forged append to the store's subject.
    const nc = await natsConnect({ servers: nats.urls });
    const subject = `myc.s.${Buffer.from('notes').toString('base64url')}`;
    await nc.publish(subject, new Uint8Array([9, 9, 9]));
    const forged = new Uint8Array([1, ...new Uint8Array(8), 0, 1, 5, 1, 2, 3, 4, 5]);
    await nc.publish(subject, forged);
    await nc.flush();
    await nc.close();
    a.notes.insert({ id: 'y', body: 'after', votes: 2 });
    await until('acknowledged after the garbage', () => acked(a));
    const cold = await relay({ nats: nats.urls });
    const reader = await client(cold.url);
    await until('the cold relay to serve both records', () => reader.notes.all().length === 2, 20_000);
    expect(r1.alive && cold.alive).toBe(true);
    expect(cold.log).toMatch(/format 9|corrupt|skipped/);
  }, 60_000);

  it('presence crosses nodes over core NATS: clients of three relays see each other; a closed client and a dead node leave at once', async () => {
    const nats = await cluster(1);
    const beat = 500;
    const relays = [];
    for (let i = 0; i < 3; i++) relays.push(await relay({ nats: nats.urls, presenceHeartbeatMs: beat }));
    const clients = [];
    for (let i = 0; i < 3; i++) {
      const c = await client(relays[i].url);
      c.sync.presence.set({ name: `client ${i}` });
      clients.push(c);
    }
    const sees = (c) => c.sync.presence.peers().map((p) => p.state?.name).sort().join();
    const others = (i) => [0, 1, 2].filter((k) => k !== i).map((k) => `client ${k}`).join();
    await until('every client to see the clients of the other relays', () => clients.every((c, i) => sees(c) === others(i)), 10_000);
    // A change travels; nothing is persisted (the stream holds no presence).
    clients[0].sync.presence.update({ cursor: 7 });
    await until('the change to reach the other relays', () => clients.slice(1).every((c) => c.sync.presence.peers().some((p) => p.state?.cursor === 7)), 5000);
    // A client that closes leaves everywhere, well before the 30 s presence timeout.
    let t = Date.now();
    clients[2].sync.close();
    await until('client 2 to leave the others', () => sees(clients[0]) === 'client 1' && sees(clients[1]) === 'client 0', 5000);
    expect(Date.now() - t).toBeLessThan(3000);
    // A node that starts later hears at once who is on the others (it asks).
    const late = await relay({ nats: nats.urls, presenceHeartbeatMs: beat });
    const newcomer = await client(late.url);
    await until('a client of a new relay to see clients 0 and 1', () => sees(newcomer) === 'client 0,client 1', 5000);
    // Garbage on the presence subjects is skipped and logged; presence goes on.
    const nc = await natsConnect({ servers: nats.urls });
    const key = Buffer.from('notes').toString('base64url');
    for (const bytes of [[], [1], [9, 1, 65], [1, 1, 65, 0xff, 0xff], [2, 200]]) {
      nc.publish('myc.pn', new Uint8Array(bytes));
      nc.publish(`myc.p.${key}`, new Uint8Array(bytes));
    }
    await nc.flush();
    await nc.close();
    clients[0].sync.presence.update({ cursor: 8 });
    await until('a change after the garbage to arrive', () => newcomer.sync.presence.peers().some((p) => p.state?.cursor === 8), 5000);
    expect(relays[0].log).toMatch(/presence: skipped a message on myc\.pn/);
    expect(relays[0].log).toMatch(/presence: skipped a message on myc\.p\./);
    // A node killed outright: its client leaves the others once the node misses its heartbeats.
    t = Date.now();
    relays[1].kill();
    await until('client 1 (its relay killed) to leave the others', () => sees(clients[0]) === '' && sees(newcomer) === 'client 0', 10_000);
    expect(Date.now() - t).toBeLessThan(beat * 3.25 + 3000);
    expect(relays[0].log).toMatch(/stopped beating/);
  }, 90_000);

  it('stores on demand: a node without a list opens what clients ask for, closes it when idle, reopens it from JetStream; at most maxStores at once', async () => {
    const nats = await cluster(1);
    const statusOf = async (r) => (await (await fetch(`${r.url.replace('ws:', 'http:')}/status`)).json()).stores.map((s) => s.name).sort();
    const a = await relay({ nats: nats.urls, names: undefined, idleCloseMs: 1000 });
    const b = await relay({ nats: nats.urls, names: undefined, idleCloseMs: 1000, maxStores: 1 });
    expect(await statusOf(a)).toEqual([]);
    // Two stores on node a; the same store through node b.
    const x1 = await client(a.url, 'x');
    const y1 = await client(a.url, 'y');
    const x2 = await client(b.url, 'x');
    x1.notes.insert({ id: 'from-a', body: 'x at a', votes: 1 });
    y1.notes.insert({ id: 'y', body: 'y at a', votes: 2 });
    x2.notes.insert({ id: 'from-b', body: 'x at b', votes: 3 });
    await until('x to converge across the nodes', () => x1.notes.all().length === 2 && x2.notes.all().length === 2, 20_000);
    expect(y1.notes.all().length).toBe(1);
    expect(await statusOf(a)).toEqual(['x', 'y']);
    // Node b holds one store at most: a client of y there waits, served once x closes there.
    const y2 = await client(b.url, 'y');
    await sleep(1500);
    expect(y2.notes.all().length).toBe(0);
    expect(await statusOf(b)).toEqual(['x']);
    x2.store.close();
    await until('node b to close x (idle) and open y for the waiting client', async () => y2.notes.get('y')?.body === 'y at a', 20_000);
    expect(await statusOf(b)).toEqual(['y']);
    // Every client of x gone: node a closes x; a new client opens it again, from JetStream.
    x1.store.close();
    await until('node a to close x', async () => (await statusOf(a)).join() === 'y', 10_000);
    const x3 = await client(a.url, 'x');
    await until('a new client of x to get both records from the reopened store', () => x3.notes.all().length === 2, 20_000);
    expect(a.alive && b.alive).toBe(true);
  }, 90_000);

  it('hostile clients: hellos for 30 stores open at most maxStores; garbage, a text frame and an oversized frame close only their connection', async () => {
    const nats = await cluster(1);
    const node = await relay({ nats: nats.urls, names: undefined, maxStores: 4 });
    const statusOf = async () => (await (await fetch(`${node.url.replace('ws:', 'http:')}/status`)).json()).stores.length;
    const flood = [];
    for (let i = 0; i < 30; i++) flood.push(await client(node.url, `flood-${i}`));
    await sleep(1500);
    expect(await statusOf()).toBe(4);
    // Bytes that are no greeting, and a greeting then garbage: each connection closes, the node serves on.
    const { WebSocket } = await import('ws');
    const closes = [];
    for (const frames of [[new Uint8Array([0xde, 0xad, 0xbe, 0xef])], ['not even binary'], [new Uint8Array(70 * 1024)]]) {
      const ws = new WebSocket(node.url);
      await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
      for (const f of frames) ws.send(f);
      closes.push(await new Promise((r) => ws.once('close', (code) => r(code))));
    }
    expect(closes.every((c) => c >= 1000)).toBe(true);
    const served = flood.filter((c) => c.sync.status().peers.some((p) => p.state === 'synced'));
    expect(served.length).toBe(4);
    served[0].notes.insert({ id: 'still', body: 'serving', votes: 1 });
    const again = await client(node.url, served[0].store.name);
    await until('the node to serve on after the garbage', () => again.notes.get('still')?.body === 'serving', 10_000);
    expect(node.alive).toBe(true);
  }, 60_000);

  it('writes larger than a NATS message go as objects; compaction deletes each once its message is purged, none leak', async () => {
    const nats = await cluster(1);
    const node = await relay({ nats: nats.urls, compactAfterBytes: 256, purgeAfter: 1500 });
    const writer = await client(node.url);
    const blobs = async () => {
      const nc = await natsConnect({ servers: nats.urls });
      const os = await new Objm(jetstream(nc)).open('mycelium-snapshots');
      const names = (await os.list()).filter((o) => !o.deleted).map((o) => o.name);
      await nc.close();
      return names.filter((n) => n.includes('.blob.'));
    };
    // 1.6 MB of base64 (1.2 MB compressed): over NATS's 1 MiB message limit, and over the snapshot when compaction looks.
    const big = (n) => randomBytes(n).toString('base64');
    const a = big(1_200_000);
    writer.notes.insert({ id: 'a', body: a, votes: 1 });
    await until('the first big write acknowledged', () => acked(writer), 20_000);
    await until('its object stored', async () => (await blobs()).length === 1, 10_000);
    const [first] = await blobs();
    // A compaction folded it (the pointer moved past it); its message is younger than purgeAfter, so it stays.
    const pointer = async () => {
      const nc = await natsConnect({ servers: nats.urls });
      const e = await (await new Kvm(jetstream(nc)).open('mycelium-meta')).get(`${Buffer.from('notes').toString('base64url')}.snap`);
      await nc.close();
      return e && e.value.length > 0 ? e.json() : null;
    };
    await until('a compaction to fold the first write', async () => (await pointer())?.objects?.includes(first) === true, 20_000);
    expect(await blobs()).toEqual([first]);
    // Past purgeAfter since that compaction: the next one purges the first message.
    await sleep(1600);
    // Larger than the snapshot (which holds the first): the log outgrows it, so a compaction runs.
    const b = big(1_800_000);
    writer.notes.insert({ id: 'b', body: b, votes: 2 });
    await until('the second big write acknowledged', () => acked(writer), 20_000);
    // The next compaction purges the first message (older than purgeAfter now) and deletes its object; the second stays.
    let left = [];
    await until('the first object deleted, the second kept', async () => {
      left = await blobs();
      return left.length === 1 && left[0] !== first;
    }, 20_000).catch((e) => {
      throw new Error(`${e.message}: objects ${JSON.stringify(left)}, the first was ${first}`);
    });
    const cold = await relay({ nats: nats.urls });
    const reader = await client(cold.url);
    // And 1.2 MB that compress to almost nothing (past the 256x ratio a bomb shows; under its 4 MiB floor).
    writer.notes.insert({ id: 'c', body: 'c'.repeat(1_200_000), votes: 3 });
    await until('a cold relay to serve all three big records', () => reader.notes.get('a')?.body === a && reader.notes.get('b')?.body === b && reader.notes.get('c')?.body.length === 1_200_000, 30_000);
  }, 90_000);
});

/** A key file every relay node of a test shares (one identity for the tier), and that identity. */
async function relayKey() {
  const keyDir = await mkdtemp(join(tmpdir(), 'myc-relay-key-'));
  cleanup.push(() => rm(keyDir, { recursive: true, force: true }));
  return { keyDir, relayId: await mycelium.fileKeyStore(keyDir)('relay') };
}

/** A member's replica of the protected store 'notes' of `owner`, syncing with `url`; its sync errors are collected. */
async function protectedClient(identity, owner, url, encrypt = false) {
  const store = await mycelium.open({ schema, name: 'notes', identity, access: { owner: owner.principal, ...(encrypt ? { encrypt } : {}) } });
  cleanup.push(async () => store.close());
  const errors = [];
  const sync = store.connect(mycelium.webSocket(url));
  sync.onError((e) => errors.push(e.error));
  return { store, sync, errors, notes: store.collection('notes') };
}

describe('protected stores on relay nodes', () => {
  it('members sync through two relays: the membership and the signed batches travel between nodes in JetStream; forgeries, strangers and the removed are refused', async () => {
    const nats = await cluster(1);
    // Every node syncs as one identity, kept in a key file they share.
    const { keyDir, relayId } = await relayKey();
    const owner = await mycelium.createIdentity();
    const writer = await mycelium.createIdentity();
    const stranger = await mycelium.createIdentity();
    const access = { owner: owner.principal, keyDir, keyName: 'relay' };
    const r1 = await relayNode({ schema, nats: nats.urls, port: 0, access });
    cleanup.push(() => r1.stop());
    // r2 opens the store at start (r1 on demand): what it learns later of the membership comes from its watch.
    const r2 = await relayNode({ schema, nats: nats.urls, port: 0, access, names: ['notes'] });
    cleanup.push(() => r2.stop());

    const member = (identity, url) => protectedClient(identity, owner, url);
    // A stranger knocks first: neither side knows the other as a member, so
    // the node waits fifteen hello intervals (30 s) for its log, then refuses
    // it; the rest of the story runs meanwhile.
    const s = await member(stranger, r2.url);
    // The owner admits the relays' identity (a reader) and a writer, through r1 only.
    const o = await member(owner, r1.url);
    await o.store.access.add(relayId.principal, 'reader');
    await o.store.access.add(writer.principal, 'writer');
    o.notes.insert({ id: 'from-owner', body: 'hello', votes: 1 });
    await until('the owner acknowledged by r1', () => acked(o), 20_000);

    // The writer knows only the owner; r2 learns it is a member from JetStream ($members:), not from a client.
    const w = await member(writer, r2.url);
    await until("the writer to get the owner's note through r2", () => w.notes.get('from-owner')?.body === 'hello', 30_000);
    expect(w.store.access.role()).toBe('writer');
    w.notes.insert({ id: 'from-writer', body: 'signed', votes: 2 });
    await until("the owner to get the writer's note through r2 → JetStream → r1", () => o.notes.get('from-writer')?.body === 'signed', 30_000);

    // A cold node serves the store from JetStream: data, batches and membership.
    const r3 = await relayNode({ schema, nats: nats.urls, port: 0, access });
    cleanup.push(() => r3.stop());
    const late = await member(owner, r3.url);
    await until('a fresh owner replica to get both notes from a cold node', () => late.notes.all().length === 2, 30_000);

    // Someone with NATS credentials appends a forged batch: the writer's
    // genuine record with its last seq changed (the signature no longer holds).
    const storage = await mycelium.jetStreamStorage({ servers: nats.urls });
    const kept = await storage.load('$batches:notes');
    const blob = [kept.snapshot, ...kept.log].filter(Boolean).at(-1);
    // Payload: count (1 byte), then a record: header length (varint, < 128 here), format, actor (8), first, last.
    expect(blob[0]).toBe(1);
    const forged = blob.slice();
    forged[2 + 1 + 8 + 1] = 77;
    await storage.append('$batches:notes', [forged], { actor: 'ffffffffffffffff', version: {} });
    // And a membership operation it cannot sign: the stranger made admin by nobody.
    await storage.append('$members:notes', [new TextEncoder().encode(JSON.stringify(['{"v":1}.AAAA']))], { actor: 'ffffffffffffffff', version: {} });
    storage.close();
    await until('both nodes to report the forged batch', () => /does not verify/.test(r1.log) && /does not verify/.test(r2.log), 20_000);
    expect(r1.log).toMatch(/membership operation that did not verify/);
    o.notes.update('from-owner', (r) => r.increment('votes', 10));
    await until('syncs to go on after the forgeries', () => w.notes.get('from-owner')?.votes === 11, 20_000);
    expect(r1.alive && r2.alive).toBe(true);

    // The writer, once removed (on r1), loses its session at r2; the stranger was refused and got nothing.
    await o.store.access.remove(writer.principal);
    await until('the removed writer to lose its session at r2', () => w.errors.some((e) => e.code === 'unauthorized'), 20_000);
    await until('the stranger to be refused', () => s.errors.some((e) => e.code === 'unauthorized'), 45_000);
    expect(s.notes.all()).toEqual([]);
  }, 180_000);

  it('an encrypted store: relay nodes keep and forward ciphertext between members on different nodes, and JetStream holds no plaintext', async () => {
    const nats = await cluster(1);
    const { keyDir, relayId } = await relayKey();
    const owner = await mycelium.createIdentity();
    const writer = await mycelium.createIdentity();
    const access = { owner: owner.principal, keyDir, keyName: 'relay', encrypt: true };
    const r1 = await relayNode({ schema, nats: nats.urls, port: 0, access });
    cleanup.push(() => r1.stop());
    const r2 = await relayNode({ schema, nats: nats.urls, port: 0, access });
    cleanup.push(() => r2.stop());
    const member = (identity, url) => protectedClient(identity, owner, url, true);
    const o = await member(owner, r1.url);
    await o.store.access.add(relayId.principal, 'relay');
    await o.store.access.add(writer.principal, 'writer');
    o.notes.insert({ id: 'o', body: 'top secret from the owner', votes: 1 });
    // A blind node acknowledges once the batches are in JetStream (its data never changes).
    await until('the owner acknowledged by r1', () => acked(o), 20_000);
    const w = await member(writer, r2.url);
    await until("the writer (on r2) to read the owner's note (written through r1)", () => w.notes.get('o')?.body === 'top secret from the owner', 40_000);
    w.notes.insert({ id: 'w', body: 'top secret from the writer', votes: 2 });
    await until("the owner (on r1) to read the writer's note", () => o.notes.get('w')?.body === 'top secret from the writer', 40_000);
    // What the nodes stored: batches and membership, no data, and no plaintext anywhere.
    const storage = await mycelium.jetStreamStorage({ servers: nats.urls });
    const blobs = [];
    for (const name of ['notes', '$batches:notes', '$members:notes']) {
      const kept = await storage.load(name);
      blobs.push(...[kept.snapshot, ...kept.log].filter(Boolean));
    }
    const data = await storage.load('notes');
    storage.close();
    expect(data.log.length + (data.snapshot ? 1 : 0)).toBe(0);
    expect(blobs.length).toBeGreaterThan(0);
    const text = Buffer.concat(blobs.map((b) => Buffer.from(b))).toString('latin1');
    expect(text).not.toContain('top secret');
    expect(r1.log + r2.log).not.toMatch(/does not verify|corrupt|forbidden/);
  }, 120_000);
});
