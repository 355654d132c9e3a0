// Fuzz target for the sync protocol's messages (frames, chunks, hello,
// delta, ack, error), beside the engine's apply_fuzzer: a seeded mutation
// fuzzer that feeds a victim replica of the built package, over the
// in-memory transport, everything a peer can send it: real messages of a real
// session (written by this suite's own encoder), mutated (bit flips,
// interesting bytes, truncations, insertions, splices, varint bumps), framed
// with a correct checksum most of the time so the mutations reach the
// decoders, whole or in chunks of any size.
//
// Invariants, beyond "no exception escapes and the process lives":
//   - the victim's version never goes back, and its snapshot always reloads
//     to the same bytes;
//   - memory: after a GC, the heap and array buffers stay within 64 MiB of
//     where they started (apply_fuzzer's -malloc_limit_mb is 64) and RSS
//     under 2 GiB (its -rss_limit_mb).
// Usage: node --expose-gc tests-security/fuzz-sync.mjs  (MYC_FUZZ_SECONDS, default 60; MYC_FUZZ_SEED)
import * as mycelium from 'mycelium-sync';
import { rng } from '../tests-browser/page/fixtures.js';
import { ackMessage, crc32c, deltaMessage, helloMessage, mycFrame, varint } from './helpers.mjs';

const seconds = Number(process.env.MYC_FUZZ_SECONDS ?? 60);
const seed = Number(process.env.MYC_FUZZ_SEED ?? Date.now() % 2 ** 31);
const MiB = 1024 * 1024;
const random = rng(seed);
const int = (n) => Math.floor(random() * n);
const pick = (xs) => xs[int(xs.length)];
const fail = (what) => {
  console.error(`invariant broken: ${what} (seed ${process.env.MYC_FUZZ_SEED ?? 'see above'})`);
  process.exit(1);
};
process.on('uncaughtException', (e) => fail(`an exception escaped: ${e?.stack ?? e}`));
process.on('unhandledRejection', (e) => fail(`a rejection escaped: ${e?.stack ?? e}`));
console.log(`fuzz-sync: seed ${seed}, ${seconds} s`);

const schema = { notes: { body: 'lww', votes: 'counter', tags: 'set', who: 'mvr' } };
const entries = (v) => Object.entries(v).map(([a, q]) => [`0x${a}`, q]);

// The victim, with some state, and a peer whose messages are the seeds.
const victim = await mycelium.open({ schema, name: 'notes', actor: '00000000000000a1' });
const peer = await mycelium.open({ schema, name: 'notes', actor: '00000000000000b2' });
for (const [s, tag] of [[victim, 'v'], [peer, 'p']]) {
  const notes = s.collection('notes');
  for (let i = 0; i < 40; i++) notes.insert({ id: `${tag}${i}`, body: `${tag} ${i} ${'x'.repeat(i * 7)}`, votes: i, tags: [`t${i % 3}`], who: tag });
}
const vBefore = victim.version();
const partial = peer.deltaSince(vBefore); // joins at the victim
const big = await mycelium.open({ schema, name: 'notes', actor: '00000000000000c3' });
for (let i = 0; i < 3000; i++) big.collection('notes').insert({ id: `b${i}`, body: `${i}`.repeat(20) });
const seeds = [
  helloMessage('notes', schema, entries(peer.version())),
  helloMessage('notes', schema, entries(peer.version()), true),
  helloMessage('notes', 'ffffffffffffffff', []),
  helloMessage('other', schema, []),
  deltaMessage('notes', entries(peer.version()), peer.deltaSince({})),
  deltaMessage('notes', entries(peer.version()), partial),
  deltaMessage('notes', entries(big.version()), big.deltaSince({})), // compressed, chunked
  ackMessage('notes', entries(victim.version())),
  ackMessage('notes', entries(peer.version())),
  new Uint8Array([4, 0, 7, ...new TextEncoder().encode('corrupt'), 2, 104, 105]), // error, connection-wide
  new Uint8Array([4, 5, ...new TextEncoder().encode('notes'), 7, ...new TextEncoder().encode('corrupt'), 0]),
];
big.close();

function mutate(bytes) {
  let b = [...bytes];
  const rounds = 1 + int(6);
  for (let r = 0; r < rounds; r++) {
    const at = b.length ? int(b.length) : 0;
    switch (int(9)) {
      case 0:
        if (b.length) b[at] ^= 1 << int(8);
        break;
      case 1:
        if (b.length) b[at] = pick([0, 1, 0x7f, 0x80, 0xff, 0xfe, 2, 3, 4]);
        break;
      case 2:
        b = b.slice(0, at);
        break;
      case 3:
        b.splice(at, 0, ...Array.from({ length: 1 + int(16) }, () => int(256)));
        break;
      case 4: {
        const n = int(Math.min(64, b.length - at) + 1);
        b.splice(at, 0, ...b.slice(at, at + n));
        break;
      }
      case 5: {
        const other = pick(seeds);
        const from = int(other.length + 1);
        b = [...b.slice(0, at), ...other.slice(from, from + int(256))];
        break;
      }
      case 6:
        b.splice(at, 0, ...varint(pick([0, 1, 127, 128, 16383, 2 ** 31, 2 ** 32 - 1, 2 ** 53 - 1, 65535, 65536])));
        break;
      case 7:
        b.splice(at, int(8));
        break;
      default:
        if (b.length) b[at] = int(256);
    }
  }
  return new Uint8Array(b);
}

/** One input: frames for the wire. */
function input() {
  const base = pick(seeds);
  const payload = random() < 0.9 ? mutate(base) : base;
  const mode = random();
  if (mode < 0.6) {
    const frame = mycFrame(3, payload);
    return [random() < 0.85 ? frame : mutate(frame)];
  }
  if (mode < 0.9) {
    const whole = mycFrame(3, payload);
    const size = random() < 0.8 ? 1024 + int(64 * 1024 - 1024) : 1 + int(2048);
    const count = Math.max(1, Math.ceil(whole.length / size));
    const id = int(40);
    const out = [];
    for (let i = 0; i < count; i++) {
      const f = mycFrame(4, new Uint8Array([...varint(id), ...varint(i), ...varint(count), ...whole.subarray(i * size, (i + 1) * size)]));
      out.push(random() < 0.97 ? f : mutate(f));
    }
    if (random() < 0.3) out.sort(() => random() - 0.5); // out of order
    if (random() < 0.2) out.splice(int(out.length), 1); // one lost: never completes
    return out;
  }
  // Raw bytes: a mutated frame whose checksum is then fixed (or not).
  const f = mutate(mycFrame(int(6), payload));
  if (f.length > 9 && random() < 0.5) {
    const crc = crc32c(f.subarray(9));
    f.set([crc & 255, (crc >>> 8) & 255, (crc >>> 16) & 255, crc >>> 24], 5);
  }
  return [f];
}

const hub = new mycelium.MemoryHub();
const FAST = { relayDelay: 5, ackTimeout: 50, helloInterval: 20, maxResends: 2 };
victim.connect(hub.adapter('V'), FAST);
let link = null;
let attacker = 0;
function connectAttacker() {
  const id = `E${attacker++}`;
  const adapter = hub.adapter(id);
  adapter.start({
    peerCandidate: (l) => {
      if (l.peer === 'V') link = l;
    },
    message: () => undefined,
    peerDisconnected: (p) => {
      if (p === 'V') {
        link = null;
        adapter.stop();
      }
    },
  });
  return adapter;
}

const covers = (a, b) => Object.entries(b).every(([k, v]) => (a[k] ?? 0) >= v);
const tick = () => new Promise((r) => setImmediate(r));
const heap = () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
await tick();
const baseline = heap();
let lastVersion = victim.version();
let execs = 0;
let peakRss = 0;
const end = Date.now() + seconds * 1000;
connectAttacker();
while (Date.now() < end) {
  if (!link) {
    connectAttacker();
    for (let i = 0; i < 20 && !link; i++) await tick();
    if (!link) {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    // Most sessions start right, so the fuzzed messages reach a ready session.
    if (random() < 0.9) link.send(mycFrame(3, seeds[0]));
  }
  for (const f of input()) link?.send(f);
  execs++;
  if (execs % 8 === 0) await new Promise((r) => setTimeout(r, 0));
  else await tick();
  if (execs % 500 === 0) {
    const v = victim.version();
    if (!covers(v, lastVersion)) fail(`the version went back: ${JSON.stringify(lastVersion)} -> ${JSON.stringify(v)}`);
    lastVersion = v;
    const snap = victim.save();
    const again = await mycelium.open({ schema, name: 'notes', snapshot: snap });
    const round = again.save();
    again.close();
    if (round.length !== snap.length || !round.every((x, i) => x === snap[i])) fail('the snapshot does not reload to the same bytes');
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (peakRss > 2048 * MiB) fail(`RSS ${peakRss} over 2 GiB`);
    const used = heap();
    if (used - baseline > 64 * MiB) fail(`memory grew by ${Math.round((used - baseline) / MiB)} MiB`);
  }
}
peakRss = Math.max(peakRss, process.memoryUsage().rss);
console.log(`stat::number_of_executed_units: ${execs}`);
console.log(`stat::attacker_connections: ${attacker}`);
console.log(`stat::peak_rss_mb: ${Math.round(peakRss / MiB)}`);
console.log(`stat::victim_version: ${JSON.stringify(victim.version())}`);
victim.close();
peer.close();
console.log('fuzz-sync: passed');
process.exit(0);
