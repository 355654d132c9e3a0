// npm run bench:wire — bytes on the wire for one write (issue 14): the delta
// message and its ack for one field set among 3, 1,000 and 10,000 actors,
// over the in-memory transport, with the engine delta whole (as deltaSince
// makes it) and detached (as sync sends it) beside them. Prints a table and
// writes bench/results/wire.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as mycelium from 'mycelium-sync';

const schema = { todos: { title: 'lww', votes: 'counter', tags: 'set' } };
const actor = (n) => n.toString(16).padStart(16, '0');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(ok, ms = 60_000) {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error('timed out');
    await sleep(5);
  }
}

async function measure(actors) {
  const a = await mycelium.open({ schema, name: 'wire', actor: actor(0xa1) });
  const b = await mycelium.open({ schema, name: 'wire', actor: actor(0xb2) });
  a.collection('todos').insert({ id: 'shared', title: 'hi', votes: 0, tags: [] });
  // Other writers, each with one record of its own (actors spread over 64 bits).
  for (let i = 0; i < actors - 1; i++) {
    const w = await mycelium.open({ schema, name: 'wire', actor: actor(((i + 1) * 2654435761) % 2 ** 48 + 0x1000) });
    w.collection('todos').insert({ id: `w${i}`, title: 'x' });
    a.applyDelta(w.deltaSince({}), { maxNewActors: 0 });
    w.close();
  }
  b.applyDelta(a.save(), { maxNewActors: 0 });
  const hub = new mycelium.MemoryHub();
  const opts = { relayDelay: 10, ackTimeout: 1000, helloInterval: 50 };
  a.connect(hub.adapter('A'), opts);
  b.connect(hub.adapter('B'), opts);
  await until(() => hub.inFlight === 0 && JSON.stringify(a.version()) === JSON.stringify(b.version()));
  await sleep(100);
  const before = b.version();
  const [bytes0, messages0] = [hub.bytesSent, hub.messagesSent];
  a.collection('todos').update('shared', (u) => u.set('title', 'hello'));
  const whole = a.deltaSince(before).length;
  const detached = a.detachedDeltaSince(before).length;
  await until(() => b.collection('todos').get('shared')?.title === 'hello' && hub.inFlight === 0);
  await sleep(100);
  const row = { actors: a.version() ? Object.keys(a.version()).length : 0, messages: hub.messagesSent - messages0, bytes: hub.bytesSent - bytes0, whole_delta_bytes: whole, detached_delta_bytes: detached };
  a.close();
  b.close();
  return row;
}

const rows = [];
for (const n of [3, 1000, 10000]) rows.push(await measure(n));
console.log('\none field set, then its ack (in-memory transport, frames included)');
console.log(`${'actors'.padStart(8)} ${'messages'.padStart(9)} ${'bytes'.padStart(7)} ${'engine delta whole'.padStart(19)} ${'detached'.padStart(9)}`);
for (const r of rows) console.log(`${String(r.actors).padStart(8)} ${String(r.messages).padStart(9)} ${String(r.bytes).padStart(7)} ${String(r.whole_delta_bytes).padStart(19)} ${String(r.detached_delta_bytes).padStart(9)}`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/wire.json', JSON.stringify({ one_field_write: rows }, null, 2) + '\n');
console.log('wrote bench/results/wire.json');
