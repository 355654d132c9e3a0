// Many light clients in one process for `npm run bench:relay`: each is an
// in-memory replica of one store syncing with one relay node over its own
// WebSocket, as a browser tab does. Driven by bench/relay-bench.mjs through
// bench/relay-driver.mjs.
import * as mycelium from 'mycelium-sync';
import { ackedAll, args, arrived, drive, whenAll } from './relay-driver.mjs';

const { urls, stores, first, count, writerEvery } = args;
const schema = { notes: { t: 'lww', n: 'counter' } };
const relays = urls.length;
/** The node of the writer of record w<g>. */
const relayOf = (id) => Math.floor(Number(id.slice(1)) / stores) % relays;

const clients = [];
for (let g = first; g < first + count; g++) {
  const store = await mycelium.open({ schema, name: `s${g % stores}` });
  // The clients of a store spread over the nodes.
  const relay = Math.floor(g / stores) % relays;
  const sync = store.connect(mycelium.webSocket(urls[relay]), { batchInterval: 20 });
  const notes = store.collection('notes');
  const c = { g, relay, sync, notes, pending: [], writer: g % writerEvery === 0 };
  // A write at a client of another relay, arriving here: its end-to-end latency.
  notes.subscribe((changes) => {
    for (const ch of changes) {
      if (ch.origin !== 'remote' || ch.deleted || !ch.id.startsWith('w') || relayOf(ch.id) === relay) continue;
      arrived(notes.get(ch.id)?.t);
    }
  });
  // The relay acknowledged everything this client wrote: its writes so far are in JetStream.
  if (c.writer) {
    sync.subscribe((s) => {
      if (c.pending.length === 0 || s.peers.length === 0 || !s.peers.every((p) => p.state === 'synced' && !p.behind)) return;
      ackedAll(c.pending);
      c.pending = [];
    });
  }
  clients.push(c);
}
await whenAll(() => clients.every((c) => c.sync.status().peers.some((p) => p.state === 'synced')));

drive({
  clients: clients.length,
  writers: clients.filter((c) => c.writer),
  // The mix: most writes set a value, one in four adds to a counter.
  write(c, now, k) {
    const id = `w${c.g}`;
    if (!c.notes.has(id)) c.notes.insert({ id, t: now, n: 0 });
    else if (k % 4 === 0) c.notes.update(id, (r) => r.set('t', now).increment('n', 1));
    else c.notes.update(id, (r) => r.set('t', now));
    c.pending.push(now);
  },
});
