// The sync rows (DESIGN.md budgets; issue "Sync"), run by two pages in two
// browser contexts over a real RTCDataChannel — mycelium-sync through its
// bundled signalling server, Yjs through y-webrtc and y-webrtc's own.
//
//   ops(n)        the sender: n single-field writes to 1,000 records in
//                 batches of 1,000 (one task each); returns when it started
//   waitOps(n)    the receiver: resolves when the last write has arrived
//   fill(n)       the sender: n records x 5 fields, before the receiver joins
//   waitFill(n)   the receiver: joins, resolves when it has all n records
// Times are absolute (performance.timeOrigin + now()): both pages share the
// machine's clock. Bytes are counted on RTCDataChannel.prototype.send, the
// same way for both libraries.
import { person, yjsFill } from './workloads.js';

const now = () => performance.timeOrigin + performance.now();
// A new task without setTimeout's 4 ms clamp on nested timers.
const tick = new MessageChannel();
const waiting = [];
tick.port1.onmessage = () => waiting.shift()?.();
const nextTask = () =>
  new Promise((r) => {
    waiting.push(r);
    tick.port2.postMessage(0);
  });
let bytesSent = 0;
const send = RTCDataChannel.prototype.send;
RTCDataChannel.prototype.send = function (data) {
  bytesSent += typeof data === 'string' ? data.length : data.byteLength ?? data.size ?? 0;
  return send.call(this, data);
};
export const sentBytes = () => bytesSent;

let timeoutMs = 60_000;
const waitFor = (ok, ms = timeoutMs) =>
  new Promise((resolve, reject) => {
    const start = now();
    const check = () => {
      if (ok()) resolve(now());
      else if (now() - start > ms) reject(new Error('sync bench: timed out'));
      else setTimeout(check, 1);
    };
    check();
  });

export async function mycelium(M, { signaling, room, actor, timeoutMs: t }) {
  timeoutMs = t ?? timeoutMs;
  const schema = { people: { name: 'lww', email: 'lww', age: 'lww', visits: 'counter', tags: 'set' } };
  const store = await M.open({ schema, name: 'bench', actor });
  const people = store.collection('people');
  let sync = null;
  const connect = () => (sync = store.connect(M.webrtc({ signaling, room })));
  return {
    connect,
    async connected() {
      await waitFor(() => sync.peers().some((p) => p.state === 'synced'));
      return true;
    },
    async seed() {
      for (let i = 0; i < 1000; i++) people.insert({ id: `p${i}`, age: -1 });
    },
    has: () => people.size,
    async ops(n) {
      const t0 = now();
      for (let start = 0; start < n; start += 1000) {
        for (let i = start; i < Math.min(n, start + 1000); i++) people.update(`p${i % 1000}`, (r) => r.set('age', i));
        await nextTask();
      }
      return t0;
    },
    waitOps: (n) => waitFor(() => people.get(`p${(n - 1) % 1000}`)?.age === n - 1),
    async fill(n) {
      for (let i = 0; i < n; i++) people.insert({ id: `p${i}`, ...person(i) });
    },
    waitFill: (n) => waitFor(() => people.size >= n),
    syncBytes: () => sync.stats().bytesSent,
  };
}

export async function yjs({ Y, WebrtcProvider }, { signaling, room, actor, timeoutMs: t }) {
  timeoutMs = t ?? timeoutMs;
  const doc = new Y.Doc();
  doc.clientID = parseInt(actor.slice(-8), 16);
  const people = doc.getMap('people');
  let provider = null;
  const connect = () => (provider = new WebrtcProvider(room, doc, { signaling: [signaling], filterBcConns: true, maxConns: 4 }));
  return {
    connect,
    async connected() {
      await waitFor(() => provider.room && provider.room.webrtcConns.size > 0 && [...provider.room.webrtcConns.values()].some((c) => c.connected && c.synced));
      return true;
    },
    async seed() {
      doc.transact(() => {
        for (let i = 0; i < 1000; i++) {
          const m = new Y.Map();
          people.set(`p${i}`, m);
          m.set('age', -1);
        }
      });
    },
    has: () => people.size,
    async ops(n) {
      const t0 = now();
      for (let start = 0; start < n; start += 1000) {
        doc.transact(() => {
          for (let i = start; i < Math.min(n, start + 1000); i++) people.get(`p${i % 1000}`).set('age', i);
        });
        await nextTask();
      }
      return t0;
    },
    waitOps: (n) => waitFor(() => people.get(`p${(n - 1) % 1000}`)?.get('age') === n - 1),
    async fill(n) {
      yjsFill(Y, doc, n);
    },
    waitFill: (n) => waitFor(() => people.size >= n),
    syncBytes: () => bytesSent,
  };
}

export const SYNC_ADAPTERS = { mycelium, yjs };
