// The same clients as bench/relay-clients.mjs, for the comparison in
// `npm run bench:relay`: each is a Yjs document with a HocuspocusProvider
// (its own WebSocket) on one Hocuspocus node. A record is a Y.Map in the
// document's 'notes' map; the counter is a field the writer adds to (Yjs
// has no counter type: a single writer per record makes that exact here).
import { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { ackedAll, args, arrived, drive, whenAll } from './relay-driver.mjs';

const { urls, stores, first, count, writerEvery } = args;
const relays = urls.length;
/** The node of the writer of record w<g>. */
const relayOf = (id) => Math.floor(Number(id.slice(1)) / stores) % relays;

const clients = [];
for (let g = first; g < first + count; g++) {
  const doc = new Y.Doc();
  // The clients of a store spread over the nodes.
  const relay = Math.floor(g / stores) % relays;
  const provider = new HocuspocusProvider({ url: urls[relay], name: `s${g % stores}`, document: doc, WebSocketPolyfill: WebSocket });
  const notes = doc.getMap('notes');
  const c = { g, relay, doc, provider, notes, pending: [], writer: g % writerEvery === 0 };
  notes.observeDeep((events, tx) => {
    if (tx.local) return;
    for (const e of events) {
      // A new record (a key of 'notes') or a change inside one.
      const ids = e.target === notes ? [...e.keysChanged] : [e.path[0]];
      for (const id of ids) {
        if (typeof id !== 'string' || !id.startsWith('w') || relayOf(id) === relay) continue;
        arrived(notes.get(id)?.get('t'));
      }
    }
  });
  // Hocuspocus answers each update it applied (its sync-status message): unsyncedChanges falls to 0.
  if (c.writer) {
    provider.on('unsyncedChanges', ({ number }) => {
      if (number !== 0 || c.pending.length === 0) return;
      ackedAll(c.pending);
      c.pending = [];
    });
  }
  clients.push(c);
}
await whenAll(() => clients.every((c) => c.provider.isSynced));

drive({
  clients: clients.length,
  writers: clients.filter((c) => c.writer),
  write(c, now, k) {
    const id = `w${c.g}`;
    let r = c.notes.get(id);
    c.doc.transact(() => {
      if (!r) {
        r = new Y.Map();
        r.set('t', now);
        r.set('n', 0);
        c.notes.set(id, r);
      } else {
        r.set('t', now);
        if (k % 4 === 0) r.set('n', r.get('n') + 1);
      }
    });
    c.pending.push(now);
  },
});
