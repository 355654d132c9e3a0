// A real mesh under churn (issue 14): four browser contexts (each its own
// IndexedDB) in one WebRTC room, two of them also connected to the Node peer
// over WebSocket, all writing to shared records of every kind while one goes
// offline (pause/resume), one reloads and one crashes (its renderer killed)
// and comes back from IndexedDB. At the end: byte-identical saves everywhere
// (the Node peer too), no flushed write lost, no replica holding deltas for
// more than 2 s while connected; reported: write -> remote subscription
// latency (p50/p99/max, steady and around disruptions) and the bytes on the
// wire per delta byte joined, held to RATIO_BOUND.
// MYC_CHURN_DEBUG=1 lists the steady-state arrivals slower than 500 ms.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..', '..');
const node = () => import(pathToFileURL(join(root, 'dist/node.js')).href);
const PAGE = '/tests-browser/page/runner.html';
// Measured 1.57-1.87 over eight runs in Chromium and Firefox; 2x (the in-memory
// suite's bound) left too little headroom for a shared CI machine.
const RATIO_BOUND = 2.5;
const STALL_BOUND_MS = 2000;
// What a writer wrote while away arrives within this long of its coming back (issue 14's goal: 3 s).
const RECONNECT_BOUND_MS = 3000;

// In the page: open the persisted store, connect it, and start writing.
const START = async ({ n, incarnation, signal, room, ws }) => {
  const m = await import('/dist/index.js');
  const f = await import('/tests-browser/page/fixtures.js');
  const store = await m.open({ schema: f.todoSchema, name: 'churn', persist: true, actor: f.actor(n * 16 + incarnation) });
  const syncs = [store.connect(m.webrtc({ signaling: signal, room }))];
  if (ws) syncs.push(store.connect(m.webSocket(ws)));
  const s = { store, syncs, acked: [], latencies: [], pendingSince: null, longestPending: 0, written: 0, timer: null };
  window.__c = s;
  // Arrivals of others' notes: each carries its writer's clock (one machine, one clock).
  store.collection('notes').subscribe((changes) => {
    const now = Date.now();
    for (const c of changes) {
      if (c.origin !== 'remote' || c.deleted) continue;
      const body = store.collection('notes').get(c.id)?.body;
      const at = typeof body === 'string' ? Number(body.split('@')[1]) : NaN;
      if (Number.isFinite(at)) s.latencies.push([now, now - at, `${body.split('@')[0]}>${n}`]);
    }
  });
  const r = f.rng(n * 1000 + incarnation);
  let k = 0;
  s.timer = setInterval(() => {
    const todos = store.collection('todos');
    for (let i = 0; i < 3; i++, k++) {
      const id = `t${Math.floor(r() * 30)}`;
      if (!todos.has(id)) todos.insert({ id, title: `${n}:${k}`, tags: [k % 4] });
      else if (r() < 0.05) todos.delete(id);
      else todos.update(id, (w) => (r() < 0.5 ? w.increment('votes', 1).set('owner', n) : w.add('tags', k % 5).remove('tags', (k + 2) % 5).set('title', `${n}:${k}`)));
    }
    const id = `n${n}.${incarnation}.${k}`;
    store.collection('notes').insert({ id, body: `${n}@${Date.now()}` });
    s.written++;
    // A note is acknowledged once its batch is durable.
    store.flush().then(() => s.acked.push(id), () => undefined);
  }, 40);
  // Held deltas while connected: how long at most.
  setInterval(() => {
    const pending = store.pending > 0 && syncs.some((x) => !x.status().paused && x.peers().length > 0);
    if (pending) {
      s.pendingSince ??= Date.now();
      if (Date.now() - s.pendingSince > s.longestPending) {
        s.longestPending = Date.now() - s.pendingSince;
        s.worst = { since: s.pendingSince, pending: store.pending, peers: syncs.map((x) => x.peers().map((p) => `${p.peer.slice(0, 4)}:${p.state}${p.ahead ? '+ahead' : ''}${p.behind ? '+behind' : ''}${p.holding ? '+holding' : ''}`).join(' ')) };
      }
    } else s.pendingSince = null;
  }, 50);
};

const STOP = async () => {
  const s = window.__c;
  clearInterval(s.timer);
  await s.store.flush();
};

const PAUSE = () => window.__c.syncs.forEach((x) => x.pause());
const RESUME = () => window.__c.syncs.forEach((x) => x.resume());

const STATE = () => {
  const s = window.__c;
  const stats = s.syncs.map((x) => x.stats());
  return {
    save: [...s.store.save()].join(','),
    notes: s.store.collection('notes').all().map((x) => x.id),
    acked: s.acked,
    latencies: s.latencies,
    longestPending: s.longestPending,
    worst: s.worst,
    synced: s.syncs.every((x) => x.status().synced),
    bytesSent: stats.reduce((a, x) => a + x.bytesSent, 0),
    joined: stats.reduce((a, x) => a + x.deltaBytesJoined, 0),
  };
};

async function until(what, ok, ms = 60_000) {
  const start = Date.now();
  for (;;) {
    if (await ok()) return;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export const tests = [
  {
    name: 'churn: 4 contexts over WebRTC and the Node peer, offline / reload / crash while writing: identical, nothing flushed lost, no stall over 2 s',
    needs: ['webrtc', 'indexeddb'],
    async run(env) {
      const m = await node();
      const signal = await m.startSignalServer({ port: 0 });
      const nodeStore = await m.open({ schema: (await import(pathToFileURL(join(root, 'tests-browser/page/fixtures.js')).href)).todoSchema, name: 'churn' });
      const adapter = m.webSocketServer({ port: 0, allowOrigins: '*' });
      const nodeSync = nodeStore.connect(adapter);
      const ws = await adapter.listening;
      const room = `churn-${Date.now()}`;
      const contexts = [];
      const pages = [];
      const incarnations = [0, 0, 0, 0];
      const acked = new Set();
      const latencies = [];
      let longestPending = 0;
      const disruptions = [];
      // [writer n, when its page was back online]: what it wrote before must arrive soon after.
      const reconnects = [];
      let t0 = 0; // when the last page had started
      // What a page reported before it went away (reload, crash): its acked notes and measures.
      const collect = async (i) => {
        const st = await pages[i].evaluate(STATE);
        st.acked.forEach((id) => acked.add(id));
        latencies.push(...st.latencies);
        longestPending = Math.max(longestPending, st.longestPending);
        return st;
      };
      const start = async (i) => {
        pages[i] = await contexts[i].newPage(PAGE);
        await pages[i].evaluate(START, { n: i + 1, incarnation: incarnations[i], signal: signal.url, room, ws: i < 2 ? ws : null });
      };
      try {
        for (let i = 0; i < 4; i++) {
          contexts.push(await env.newContext());
          await start(i);
        }
        t0 = Date.now();
        await sleep(6000);
        // Offline for 3 s: pause and resume, same adapter and peer id.
        disruptions.push(Date.now());
        await pages[0].evaluate(PAUSE);
        await sleep(3000);
        await pages[0].evaluate(RESUME);
        reconnects.push([1, Date.now()]);
        await sleep(4000);
        // A reload: the page goes away cleanly and opens its store from IndexedDB.
        disruptions.push(Date.now());
        await pages[1].evaluate(STOP);
        await collect(1);
        await pages[1].close();
        incarnations[1]++;
        await start(1);
        reconnects.push([2, Date.now()]);
        await sleep(4000);
        // A crash: the renderer is killed mid-write; what was flushed must survive.
        disruptions.push(Date.now());
        await collect(2);
        await pages[2].kill();
        incarnations[2]++;
        await start(2);
        reconnects.push([3, Date.now()]);
        await sleep(6000);
        for (const p of pages) await p.evaluate(STOP);
        let states = [];
        await until('every replica identical and synced', async () => {
          states = [];
          for (const p of pages) states.push(await p.evaluate(STATE));
          const nodeSave = [...nodeStore.save()].join(',');
          return states.every((s) => s.save === states[0].save && s.synced) && nodeSave === states[0].save;
        });
        states.forEach((s, i) => s.worst && s.longestPending > 500 && console.log(`page ${i}: held deltas ${s.longestPending} ms from t=${s.worst.since - t0} ms (disruptions at ${disruptions.map((d) => d - t0).join(', ')}): ${JSON.stringify(s.worst)}`));
        for (const s of states) {
          s.acked.forEach((id) => acked.add(id));
          latencies.push(...s.latencies);
          longestPending = Math.max(longestPending, s.longestPending);
        }
        const notes = new Set(states[0].notes);
        const lost = [...acked].filter((id) => !notes.has(id));
        if (lost.length > 0) throw new Error(`${lost.length} flushed notes lost, e.g. ${lost.slice(0, 3).join(', ')}`);
        const sent = states.reduce((a, s) => a + s.bytesSent, 0) + nodeSync.stats().bytesSent;
        const joined = states.reduce((a, s) => a + s.joined, 0) + nodeSync.stats().deltaBytesJoined;
        // Steady: written and arrived away from every disruption (1 s before to
        // 6 s after) and after the start-up (the pages start one by one: the
        // first 2 s after the last one started count as a disruption too).
        const near = (t) => t < t0 + 2000 || disruptions.some((d) => t >= d - 1000 && t <= d + 6000);
        const steady = latencies.filter(([t, l]) => !near(t) && !near(t - l)).map(([, l]) => l);
        const around = latencies.filter(([t, l]) => near(t) || near(t - l)).map(([, l]) => l);
        const ratio = sent / joined;
        // Arrivals of what a writer wrote before it came back (offline, reload,
        // crash), counted from when it was back: the longest wait.
        let afterReconnect = 0;
        for (const [writer, at] of reconnects) {
          for (const [t, l, tag] of latencies) {
            if (tag.startsWith(`${writer}>`) && t - l <= at && t >= at) afterReconnect = Math.max(afterReconnect, t - at);
          }
        }
        if (process.env.MYC_CHURN_DEBUG) {
          const slow = latencies.filter(([t, l]) => !near(t) && !near(t - l) && l > 500).map(([t, l, w]) => [t - t0, l, w]);
          console.log(`slow steady arrivals (t, ms, body): ${JSON.stringify(slow.slice(0, 40))}`);
        }
        console.log(
          `churn (${env.engine}): ${acked.size} flushed notes, all present; longest hold ${longestPending} ms; wire/joined ${ratio.toFixed(2)} (${sent} / ${joined} B); ` +
            `latency steady p50 ${percentile(steady, 50)} p99 ${percentile(steady, 99)} ms, around disruptions p50 ${percentile(around, 50)} p99 ${percentile(around, 99)} max ${Math.max(...around, ...steady)} ms (${latencies.length} arrivals); ` +
            `latest arrival after its writer came back ${afterReconnect} ms`,
        );
        if (longestPending > STALL_BOUND_MS) throw new Error(`a replica held deltas for ${longestPending} ms while connected (bound ${STALL_BOUND_MS})`);
        if (afterReconnect > RECONNECT_BOUND_MS) throw new Error(`a write arrived ${afterReconnect} ms after its writer came back (bound ${RECONNECT_BOUND_MS})`);
        if (ratio > RATIO_BOUND) throw new Error(`${ratio.toFixed(2)} bytes on the wire per delta byte joined (bound ${RATIO_BOUND})`);
      } finally {
        nodeStore.close();
        await signal.close();
      }
    },
  },
];
