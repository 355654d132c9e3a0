// Sync between real browsers: WebRTC data channels between two contexts
// through the bundled signalling server, BroadcastChannel between two tabs,
// and a browser with the Node peer over WebSocket — plus a peer that sends
// garbage or another protocol version to a browser.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..', '..');
const node = () => import(pathToFileURL(join(root, 'dist/node.js')).href);

const PAGE = '/tests-browser/page/runner.html';

// In the page: open a store and connect it with the adapter `how` describes.
const OPEN = async ({ n, how, name }) => {
  const m = await import('/dist/index.js');
  const f = await import('/tests-browser/page/fixtures.js');
  const store = await m.open({ schema: f.todoSchema, name: name ?? 'todo', actor: f.actor(n), now: f.clock(1_700_000_000_000 + n * 100) });
  const adapter =
    how.kind === 'webrtc' ? m.webrtc({ signaling: how.url, room: how.room }) : how.kind === 'websocket' ? m.webSocket(how.url) : m.broadcastChannel({ channel: how.channel });
  const sync = store.connect(adapter, { relayDelay: 20, presence: { timeout: 4000 } });
  const errors = [];
  sync.onError((e) => errors.push({ peer: e.peer, code: e.error.code, message: e.error.message }));
  window.__s = { m, f, store, sync, errors, kind: adapter.kind };
  return adapter.peerId;
};

const WRITE = ({ seed, ops }) => {
  const { f, store } = window.__s;
  const r = f.rng(seed);
  const todos = store.collection('todos');
  for (let k = 0; k < ops; k++) {
    const id = `t${Math.floor(r() * 12)}`;
    if (!todos.has(id)) todos.insert({ id, title: `${seed}:${k}`, tags: [k % 4] });
    else if (r() < 0.1) todos.delete(id);
    else todos.update(id, (w) => (r() < 0.5 ? w.increment('votes', 1).set('owner', seed) : w.add('tags', k % 5).remove('tags', (k + 2) % 5).set('title', `${seed}:${k}`)));
  }
  for (let k = 0; k < ops; k++) store.collection('notes').insert({ body: `note ${seed}:${k}` });
};

const STATE = () => {
  const { f, store, sync, errors, kind } = window.__s;
  return { snap: f.toBase64(store.save()), version: store.version(), notes: store.collection('notes').size, peers: sync.peers().map((p) => p.state), errors, kind };
};

async function until(what, ok, ms = 20_000) {
  const start = Date.now();
  for (;;) {
    if (await ok()) return;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function converge(pages, notes) {
  let states = [];
  await until(`${pages.length} pages to converge`, async () => {
    states = [];
    for (const p of pages) states.push(await p.evaluate(STATE));
    return states.every((s) => s.notes === notes && s.snap === states[0].snap && s.peers.length > 0 && s.peers.every((x) => x === 'synced'));
  });
  return states;
}

// Presence in the page: set this tab's state, read what it sees of the others.
const PRESENCE_SET = (state) => window.__s.sync.presence.set(state);
const PRESENCE_SEEN = () => {
  const { sync } = window.__s;
  if (!window.__presenceLog) {
    window.__presenceLog = [];
    sync.presence.subscribe((e) => window.__presenceLog.push({ joined: e.joined.map((p) => p.id), changed: e.changed.map((p) => p.id), left: e.left.map((p) => p.id) }));
  }
  return { peers: sync.presence.peers().map((p) => ({ id: p.id, state: p.state })), log: window.__presenceLog, me: sync.presence.id };
};

/**
 * Two pages on one network: each sees the other's state and its changes;
 * when `a` goes (its page closes), `b` sees it leave well before the timeout
 * of a silent peer, unless the transport cannot tell (then by the timeout).
 */
async function presenceBetween(a, b, { leave = 'close' } = {}) {
  await b.evaluate(PRESENCE_SEEN);
  await a.evaluate(PRESENCE_SET, { name: 'Ann', color: '#e53935' });
  await b.evaluate(PRESENCE_SET, { name: 'Bob' });
  const idA = (await a.evaluate(PRESENCE_SEEN)).me;
  const idB = (await b.evaluate(PRESENCE_SEEN)).me;
  const sees = async (page, id, want) => {
    let got;
    await until(`${id}'s state ${JSON.stringify(want)}`, async () => {
      got = (await page.evaluate(PRESENCE_SEEN)).peers;
      return JSON.stringify(got) === JSON.stringify(want === null ? [] : [{ id, state: want }]);
    }).catch((e) => {
      throw new Error(`${e.message}: the page sees ${JSON.stringify(got)}`);
    });
  };
  await sees(b, idA, { name: 'Ann', color: '#e53935' });
  await sees(a, idB, { name: 'Bob' });
  await a.evaluate(() => window.__s.sync.presence.update({ cursor: 42 }));
  await sees(b, idA, { name: 'Ann', color: '#e53935', cursor: 42 });
  const gone = Date.now();
  if (leave === 'close') await a.close();
  else await a.evaluate(() => window.__s.sync.pause());
  await sees(b, idA, null);
  const waited = Date.now() - gone;
  const { log } = await b.evaluate(PRESENCE_SEEN);
  const names = (k) => log.flatMap((e) => e[k]);
  if (names('joined').join() !== idA || names('changed').join() !== idA || names('left').join() !== idA) throw new Error(`events: ${JSON.stringify(log)}`);
  return waited;
}

export const tests = [
  {
    name: 'WebRTC: two contexts sync through the bundled signalling server, concurrent edits converge',
    needs: ['webrtc'],
    async run(env) {
      const { startSignalServer } = await node();
      const server = await startSignalServer({ port: 0 });
      try {
        const how = { kind: 'webrtc', url: server.url, room: `room-${Date.now()}` };
        const a = await env.newContextPage(PAGE);
        const b = await env.newContextPage(PAGE);
        await a.evaluate(OPEN, { n: 1, how });
        await b.evaluate(OPEN, { n: 2, how });
        await a.evaluate(WRITE, { seed: 1, ops: 200 });
        await b.evaluate(WRITE, { seed: 2, ops: 200 });
        const [sa] = await converge([a, b], 400);
        if (sa.kind !== 'webrtc') throw new Error(`synced over ${sa.kind}`);
        // Live: more concurrent edits on both sides after the initial sync.
        for (let round = 0; round < 5; round++) {
          await Promise.all([a.evaluate(WRITE, { seed: 10 + round, ops: 20 }), b.evaluate(WRITE, { seed: 20 + round, ops: 20 })]);
        }
        const [fa] = await converge([a, b], 600);
        if (fa.errors.length > 0) throw new Error(`errors: ${JSON.stringify(fa.errors)}`);
        if (server.rooms()[how.room] !== 2) throw new Error(`room has ${server.rooms()[how.room]} peers`);
      } finally {
        await server.close();
      }
    },
  },
  {
    name: 'WebRTC: a dropped connection is called again and the sync resumes without resending what the peer has',
    needs: ['webrtc'],
    async run(env) {
      const { startSignalServer } = await node();
      const server = await startSignalServer({ port: 0 });
      // Keep every RTCPeerConnection the page makes, to cut one.
      const CAPTURE = () => {
        const Original = window.RTCPeerConnection;
        window.__pcs = [];
        window.RTCPeerConnection = class extends Original {
          constructor(...args) {
            super(...args);
            window.__pcs.push(this);
          }
        };
      };
      try {
        const how = { kind: 'webrtc', url: server.url, room: `drop-${Date.now()}` };
        const a = await env.newContextPage(PAGE);
        const b = await env.newContextPage(PAGE);
        for (const [p, n] of [[a, 11], [b, 12]]) {
          await p.evaluate(CAPTURE);
          await p.evaluate(OPEN, { n, how });
        }
        await a.evaluate(WRITE, { seed: 31, ops: 300 });
        await b.evaluate(WRITE, { seed: 32, ops: 300 });
        await converge([a, b], 600);
        const sent = () => a.evaluate(() => window.__s.sync.stats().deltaBytesSent);
        const before = await sent();
        // Cut the connection under the sync, from a's side.
        await a.evaluate(() => window.__pcs.forEach((pc) => pc.close()));
        const seen = await a.evaluate(() => window.__s.store.version());
        await a.evaluate(WRITE, { seed: 33, ops: 5 });
        // What the writes after the drop cost as one delta: what a resumed
        // sync should send, against all of it again (before + fresh).
        const fresh = await a.evaluate((v) => window.__s.store.deltaSince(v).length, seen);
        await converge([a, b], 605);
        const resent = (await sent()) - before;
        const calls = (await a.evaluate(() => window.__pcs.length)) + (await b.evaluate(() => window.__pcs.length));
        if (calls < 4) throw new Error(`no new connection was made (${calls} peer connections in the two pages)`);
        if (resent > 3 * fresh || resent * 2 > before) {
          throw new Error(`sent ${resent} bytes after the drop (the writes made since are ${fresh} bytes as one delta), of ${before} sent before it`);
        }
      } finally {
        await server.close();
      }
    },
  },
  {
    name: 'BroadcastChannel: two tabs of one origin sync with no configuration',
    async run(env) {
      const ctx = await env.newContext();
      const a = await ctx.newPage(PAGE);
      const b = await ctx.newPage(PAGE);
      const how = { kind: 'broadcast', channel: `bc-${Date.now()}` };
      await a.evaluate(OPEN, { n: 3, how });
      await b.evaluate(OPEN, { n: 4, how });
      await a.evaluate(WRITE, { seed: 3, ops: 150 });
      await b.evaluate(WRITE, { seed: 4, ops: 150 });
      const [s] = await converge([a, b], 300);
      if (s.kind !== 'broadcast-channel') throw new Error(`synced over ${s.kind}`);
    },
  },
  {
    name: 'WebSocket: a browser and the Node peer sync both ways; the Node peer persists to files',
    async run(env) {
      const m = await node();
      const { mkdtempSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const dir = mkdtempSync(join(tmpdir(), 'myc-ws-'));
      const fixtures = await import(pathToFileURL(join(root, 'tests-browser/page/fixtures.js')).href);
      const store = await m.open({ schema: fixtures.todoSchema, name: 'todo', persist: m.fileStorage(dir) });
      // The pages' origin must be allowed: the Node peer refuses web pages by default.
      const adapter = m.webSocketServer({ port: 0, allowOrigins: '*' });
      const sync = store.connect(adapter);
      try {
        store.collection('todos').insert({ id: 'from-node', title: 'written in Node' });
        const how = { kind: 'websocket', url: await adapter.listening };
        const a = await env.newContextPage(PAGE);
        const b = await env.newContextPage(PAGE);
        await a.evaluate(OPEN, { n: 5, how });
        await b.evaluate(OPEN, { n: 6, how });
        await a.evaluate(WRITE, { seed: 5, ops: 100 });
        await b.evaluate(WRITE, { seed: 6, ops: 100 });
        const [s] = await converge([a, b], 200);
        await until('the Node peer to be synced', () => sync.status().synced && store.collection('notes').size === 200);
        if (Buffer.from(store.save()).toString('base64') !== s.snap) throw new Error('the Node peer differs from the browsers');
        await store.flush();
        // What the Node peer stored is all there when it is opened again.
        const again = await m.open({ schema: fixtures.todoSchema, name: 'todo', persist: m.fileStorage(join(dir)) });
        const same = Buffer.from(again.save()).toString('base64') === s.snap;
        again.close();
        if (!same) throw new Error('the reopened Node store differs');
      } finally {
        store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'presence over WebRTC: two contexts see each other join, change and leave (a closed page leaves)',
    needs: ['webrtc'],
    async run(env) {
      const { startSignalServer } = await node();
      const server = await startSignalServer({ port: 0 });
      try {
        const how = { kind: 'webrtc', url: server.url, room: `presence-${Date.now()}` };
        const a = await env.newContextPage(PAGE);
        const b = await env.newContextPage(PAGE);
        await a.evaluate(OPEN, { n: 41, how });
        await b.evaluate(OPEN, { n: 42, how });
        const waited = await presenceBetween(a, b);
        console.log(`presence over WebRTC: left ${waited} ms after the page closed (timeout 4000 ms)`);
      } finally {
        await server.close();
      }
    },
  },
  {
    name: 'presence over BroadcastChannel: two tabs; a paused tab goes silent and expires',
    async run(env) {
      const ctx = await env.newContext();
      const a = await ctx.newPage(PAGE);
      const b = await ctx.newPage(PAGE);
      const how = { kind: 'broadcast', channel: `presence-${Date.now()}` };
      await a.evaluate(OPEN, { n: 43, how });
      await b.evaluate(OPEN, { n: 44, how });
      const waited = await presenceBetween(a, b, { leave: 'pause' });
      // Silent: it leaves by the timeout (4 s), not before its last renewal could have lapsed.
      if (waited < 4000 * (2 / 3) - 200 || waited > 4000 * 2) throw new Error(`a silent tab left after ${waited} ms (timeout 4000 ms)`);
    },
  },
  {
    name: 'presence through the Node peer: it relays between two browsers and sees both; a closed page leaves',
    async run(env) {
      const m = await node();
      const fixtures = await import(pathToFileURL(join(root, 'tests-browser/page/fixtures.js')).href);
      const store = await m.open({ schema: fixtures.todoSchema, name: 'todo' });
      const adapter = m.webSocketServer({ port: 0, allowOrigins: '*' });
      const sync = store.connect(adapter);
      try {
        const how = { kind: 'websocket', url: await adapter.listening };
        const a = await env.newContextPage(PAGE);
        const b = await env.newContextPage(PAGE);
        await a.evaluate(OPEN, { n: 45, how });
        await b.evaluate(OPEN, { n: 46, how });
        // Counted from the events, not polled: the page closes as soon as the
        // other page has seen it, which can be sooner than a poll comes round.
        let most = 0;
        const off = sync.presence.subscribe(() => (most = Math.max(most, sync.presence.peers().length)));
        const waited = await presenceBetween(a, b);
        off();
        if (most !== 2) throw new Error(`the Node peer saw at most ${most} pages at once`);
        if (waited > 3000) throw new Error(`the closed page left after ${waited} ms`);
        await until('the Node peer sees one page', () => sync.presence.peers().length === 1);
        if (Object.keys(store.version()).length !== 0) throw new Error(`presence wrote to the Node peer’s store: ${JSON.stringify(store.version())}`);
      } finally {
        sync.close();
        adapter.stop();
        store.close();
      }
    },
  },
  {
    name: 'two versions of an app (v2 adds a field and a collection) sync both ways; v2 reaches v2 through a v1 relay unchanged; all persist and reload',
    needs: ['indexeddb'],
    async run(env) {
      // The relay is a Node peer of the old app (v1) over WebSocket, so the
      // test runs in every engine (WebKitGTK has no WebRTC); the browsers are
      // a v2 page, a v1 page and another v2 page that only ever meets the relay.
      const m = await node();
      const { mkdtempSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const dir = mkdtempSync(join(tmpdir(), 'myc-versions-'));
      const V1 = { todos: { title: 'lww', done: 'lww' } };
      const V2 = { todos: { title: 'lww', done: 'lww', due: 'lww', votes: 'counter' }, notes: { body: 'lww' } };
      const startRelay = async () => {
        const store = await m.open({ schema: V1, name: 'versions', persist: m.fileStorage(dir) });
        const adapter = m.webSocketServer({ port: 0, allowOrigins: '*' });
        const sync = store.connect(adapter);
        return { store, sync, url: await adapter.listening, stop: () => (sync.close(), adapter.stop(), store.close()) };
      };
      const APP = async ({ schema, url }) => {
        const m = await import('/dist/index.js');
        const store = await m.open({ name: 'versions', schema, persist: true });
        const errors = [];
        const sync = store.connect(m.webSocket(url), { relayDelay: 20 });
        sync.onError((e) => errors.push(`${e.error.code}: ${e.error.message}`));
        window.__v = { store, sync, errors };
        return store.actor;
      };
      const READ = () => {
        const { store, errors } = window.__v;
        const out = { errors, todos: store.collection('todos').all() };
        try {
          out.notes = store.collection('notes').all();
        } catch (e) {
          out.notes = e.code;
        }
        return out;
      };
      const want2 = {
        todos: [
          { id: 't1', title: 'from v2', done: true, due: '2027-03-01', votes: 3 },
          { id: 't2', title: 'from v1', done: false, due: null, votes: 0 },
        ],
        notes: [{ id: 'n1', body: 'only v2 has notes' }],
      };
      const want1 = {
        todos: [
          { id: 't1', title: 'from v2', done: true },
          { id: 't2', title: 'from v1', done: false },
        ],
        notes: 'unknown_field',
      };
      // Records with their keys sorted (engines order an object's keys differently).
      const sorted = (o) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
      const rows = (list) => (Array.isArray(list) ? [...list].sort((x, y) => (x.id < y.id ? -1 : 1)).map(sorted) : list);
      const shown = (r) => JSON.stringify({ todos: rows(r.todos), notes: rows(r.notes) });
      const check = async (page, want, what) => {
        let last;
        try {
          await until(what, async () => {
            last = await page.evaluate(READ);
            if (last.errors.length > 0) throw new Error(`${what}: ${last.errors.join('; ')}`);
            return shown(last) === shown(want);
          });
        } catch (e) {
          throw new Error(`${e.message}: it shows ${last && shown(last)}, want ${shown(want)}`);
        }
      };
      let relay = await startRelay();
      try {
        const a2 = await env.newContextPage(PAGE);
        const b1 = await env.newContextPage(PAGE);
        await a2.evaluate(APP, { schema: V2, url: relay.url });
        await b1.evaluate(APP, { schema: V1, url: relay.url });
        await a2.evaluate(async () => {
          const { store } = window.__v;
          store.collection('todos').insert({ id: 't1', title: 'from v2', due: '2027-03-01', votes: 3 });
          store.collection('notes').insert({ id: 'n1', body: 'only v2 has notes' });
        });
        await b1.evaluate(async () => {
          const { store } = window.__v;
          store.collection('todos').insert({ id: 't2', title: 'from v1', done: false });
        });
        // v1 writes a field both declare on v2's record: v2's fields stay.
        await until('v1 sees the v2 record', async () => (await b1.evaluate(READ)).todos.some((t) => t.id === 't1'));
        await b1.evaluate(() => window.__v.store.collection('todos').update('t1', (w) => w.set('done', true)));
        await check(a2, want2, 'v2 gets v1 writes, its own fields unchanged');
        await check(b1, want1, 'v1 reads its own fields only');
        for (const page of [a2, b1]) await page.evaluate(() => window.__v.store.flush());
        await until('the relay has everything', async () => relay.store.collection('todos').size === 2 && relay.sync.status().synced);
        await relay.store.flush();
        // The relay restarts from its files; both pages reload from IndexedDB.
        relay.stop();
        relay = await startRelay();
        for (const [page, schema, want] of [[a2, V2, want2], [b1, V1, want1]]) {
          await page.goto(env.url(PAGE));
          await page.evaluate(APP, { schema, url: relay.url });
          const r = await page.evaluate(READ);
          if (shown(r) !== shown(want)) throw new Error(`after a reload: ${shown(r)}, want ${shown(want)}`);
        }
        // A v2 page in a new context meets only the restarted v1 relay, and
        // the v2 page that wrote has gone: v2's fields come from v1 alone.
        await a2.close();
        const c2 = await env.newContextPage(PAGE);
        await c2.evaluate(APP, { schema: V2, url: relay.url });
        await check(c2, want2, 'a new v2 page gets v2 fields from the v1 relay');
      } finally {
        relay.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'a peer that sends garbage or another protocol version: error event, the browser store unchanged',
    async run(env) {
      const m = await node();
      // A rogue server peer: speaks the greeting, then sends what the test says.
      const payloads = [
        ['garbage', new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7]), 'corrupt'],
        // A well-formed hello of protocol version 99.
        ['protocol 99', frame(3, new Uint8Array([1, 99, 0])), 'unsupported_version'],
      ];
      for (const [what, bytes, code] of payloads) {
        const rogue = m.webSocketServer({ port: 0, allowOrigins: '*' });
        rogue.start({ peerCandidate: (link) => setTimeout(() => link.send(bytes), 100), message() {}, peerDisconnected() {} });
        try {
          const page = await env.newContextPage(PAGE);
          await page.evaluate(OPEN, { n: 7, how: { kind: 'websocket', url: await rogue.listening } });
          await page.evaluate(WRITE, { seed: 7, ops: 30 });
          const before = (await page.evaluate(STATE)).snap;
          await until(`an error event for ${what}`, async () => (await page.evaluate(STATE)).errors.length > 0);
          const after = await page.evaluate(STATE);
          if (after.errors[0].code !== code) throw new Error(`${what}: expected ${code}, got ${JSON.stringify(after.errors)}`);
          if (after.snap !== before) throw new Error(`${what}: the store changed`);
        } finally {
          rogue.stop();
        }
      }
    },
  },
];

function frame(kind, payload) {
  let c = 0xffffffff;
  for (const x of payload) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  const crc = (c ^ 0xffffffff) >>> 0;
  return new Uint8Array([0x4d, 0x59, 0x43, 1, kind << 4, payload.length, crc & 255, (crc >>> 8) & 255, (crc >>> 16) & 255, crc >>> 24, ...payload]);
}
