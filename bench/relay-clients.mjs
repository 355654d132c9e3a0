// Many light clients in one process for `npm run bench:relay`: each is an
// in-memory replica of one store syncing with one relay node over its own
// WebSocket. Driven over stdin/stdout by bench/relay-bench.mjs, one JSON
// line each way: {cmd:'rate', perSecond} starts (or changes) this process's
// writes, {cmd:'report'} answers with what was measured since the last one.
import { createInterface } from 'node:readline';
import * as mycelium from 'mycelium-sync';

const { urls, stores, first, count, writerEvery } = JSON.parse(process.argv[2]);
const schema = { notes: { t: 'lww', n: 'counter' } };
const relays = urls.length;
const send = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);

const clients = [];
let arrivals = [];
let acks = [];
let written = 0;
let acked = 0;
for (let g = first; g < first + count; g++) {
  const store = await mycelium.open({ schema, name: `s${g % stores}` });
  const relay = g % relays;
  // One WebSocket per client, as a browser tab has.
  const sync = store.connect(mycelium.webSocket(urls[relay]), { batchInterval: 20 });
  const notes = store.collection('notes');
  const c = { g, relay, store, sync, notes, pending: [], writer: g % writerEvery === 0 };
  // A write at a client of another relay, arriving here: its end-to-end latency (sampled 1 in 8).
  notes.subscribe((changes) => {
    const now = Date.now();
    for (const ch of changes) {
      if (ch.origin !== 'remote' || ch.deleted || !ch.id.startsWith('w')) continue;
      const from = Number(ch.id.slice(1)) % relays;
      if (from === relay || Math.random() > 1 / 8) continue;
      const t = notes.get(ch.id)?.t;
      if (typeof t === 'number') arrivals.push(now - t);
    }
  });
  // The relay acknowledged everything this client wrote: its writes so far are in JetStream.
  if (c.writer) {
    sync.subscribe((s) => {
      if (c.pending.length === 0 || s.peers.length === 0 || !s.peers.every((p) => p.state === 'synced' && !p.behind)) return;
      const now = Date.now();
      for (const t of c.pending) acks.push(now - t);
      acked += c.pending.length;
      c.pending = [];
    });
  }
  clients.push(c);
}
const writers = clients.filter((c) => c.writer);

await new Promise((resolve) => {
  const check = setInterval(() => {
    if (clients.every((c) => c.sync.status().peers.some((p) => p.state === 'synced'))) {
      clearInterval(check);
      resolve();
    }
  }, 100);
});
send({ ready: true, clients: clients.length, writers: writers.length, rss: process.memoryUsage().rss });

let timer = null;
let next = 0;
function write() {
  const c = writers[next++ % writers.length];
  const now = Date.now();
  // The mix: most writes set a value, one in four adds to a counter.
  const id = `w${c.g}`;
  if (!c.notes.has(id)) c.notes.insert({ id, t: now, n: 0 });
  else if (next % 4 === 0) c.notes.update(id, (r) => r.set('t', now).increment('n', 1));
  else c.notes.update(id, (r) => r.set('t', now));
  c.pending.push(now);
  written++;
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.cmd === 'rate') {
    if (timer) clearInterval(timer);
    timer = null;
    if (m.perSecond > 0 && writers.length > 0) {
      // Writes in ticks of 10 ms, the rate spread evenly.
      let owed = 0;
      let last = performance.now();
      timer = setInterval(() => {
        // Owed by the time passed, not by ticks: a busy loop runs late, not less.
        const now = performance.now();
        owed += (m.perSecond * (now - last)) / 1000;
        last = now;
        for (; owed >= 1; owed--) write();
      }, 10);
    }
  } else if (m.cmd === 'report') {
    send({ written, acked, arrivals, acks, rss: process.memoryUsage().rss });
    written = 0;
    acked = 0;
    arrivals = [];
    acks = [];
  } else if (m.cmd === 'exit') {
    process.exit(0);
  }
});
