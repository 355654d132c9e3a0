// npm run bench:identity — what identity costs (docs/identity.md, Costs):
// WebCrypto Ed25519 sign and verify of a 150-byte batch header, SHA-256 of a
// 64-byte event (the per-event digest provenance will compute), and key
// generation, in Node and in each browser engine, same workload everywhere;
// and sync with identity off and on in the same run: two replicas over a
// MessageChannel, the sync bench's workload (n single-field writes to 1,000
// records, 1,000 per task), protected stores sending signed batches, and
// encrypted stores sending them sealed (AES-GCM); and the same through a
// third replica between the two: a reader for signed batches, a blind relay
// (role relay) for sealed ones.
// Prints a table and writes bench/results/identity.json.
//
//   node bench/identity-bench.mjs [--engines chromium,firefox,webkit] [--reps 2000] [--sync-ops 100000]
// WebKit needs an X display (xvfb-run -a).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eachEngine, servePage } from './page-host.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const engines = arg('--engines', 'chromium,firefox,webkit').split(',').filter(Boolean);
const reps = Number(arg('--reps', '2000'));

/** Runs where it is evaluated (Node or a page): microseconds per operation, medians of 5 rounds. */
async function measure(reps) {
  const subtle = crypto.subtle;
  const alg = { name: 'Ed25519' };
  const header = new Uint8Array(150).map((_, i) => (i * 31) & 255);
  const event = new Uint8Array(64).map((_, i) => (i * 7) & 255);
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const time = async (n, f) => {
    const rounds = [];
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      for (let i = 0; i < n; i++) await f(i);
      rounds.push(((performance.now() - t) * 1000) / n);
    }
    return median(rounds);
  };
  const pair = await subtle.generateKey(alg, false, ['sign', 'verify']);
  const sig = await subtle.sign(alg, pair.privateKey, header);
  for (let i = 0; i < 50; i++) await subtle.verify(alg, pair.publicKey, sig, header); // warm-up
  // 10 keys a round: WebKitGTK 2.50 fails the 112th live non-extractable
  // Ed25519 key of a page (OperationError), well above the one a device holds.
  const keygen_us = await time(10, () => subtle.generateKey(alg, false, ['sign', 'verify']));
  const sign_us = await time(reps / 5, () => subtle.sign(alg, pair.privateKey, header));
  const verify_us = await time(reps / 5, () => subtle.verify(alg, pair.publicKey, sig, header));
  const ok = await subtle.verify(alg, pair.publicKey, sig, header);
  const sha256_us = await time(reps, () => subtle.digest('SHA-256', event));
  // Verifications in flight together (how a receiver checks a delta's headers).
  const batch = 100;
  const parallel_verify_us = await time(5, () => Promise.all(Array.from({ length: batch }, () => subtle.verify(alg, pair.publicKey, sig, header)))) / batch;
  return { ok, keygen_us, sign_us, verify_us, parallel_verify_us, sha256_us };
}

/** Runs where it is evaluated, with the library as `M` (a page: its global): sync throughput and bytes per op, identity off and on. */
async function measureSync(n, M = globalThis.Mycelium) {
  const schema = { people: { name: 'lww', email: 'lww', age: 'lww', visits: 'counter', tags: 'set' } };
  const tick = new MessageChannel();
  const waiting = [];
  tick.port1.onmessage = () => waiting.shift()?.();
  const nextTask = () => new Promise((r) => { waiting.push(r); tick.port2.postMessage(0); });
  const waitFor = (ok) => new Promise((resolve, reject) => {
    const start = performance.now();
    const check = () => (ok() ? resolve(performance.now()) : performance.now() - start > 120000 ? reject(new Error('identity bench: sync timed out')) : setTimeout(check, 1));
    check();
  });
  // `relayed`: a third replica between the two (a, relay, b over two channels): for an
  // encrypted store a blind relay (role relay), which forwards batches it cannot open.
  const run = async (secure, encrypt = false, relayed = false) => {
    let a, b, relay;
    if (secure) {
      const [o, w, n] = await Promise.all([M.createIdentity(), M.createIdentity(), M.createIdentity()]);
      a = await M.open({ schema, name: 'bench', identity: o, access: { owner: o.principal, encrypt } });
      await a.access.add(w.principal, 'reader');
      if (relayed) await a.access.add(n.principal, encrypt ? 'relay' : 'reader');
      b = await M.open({ schema, name: 'bench', identity: w, access: { owner: o.principal, encrypt } });
      if (relayed) relay = await M.open({ schema, name: 'bench', identity: n, access: { owner: o.principal, encrypt } });
    } else {
      a = await M.open({ schema, name: 'bench' });
      b = await M.open({ schema, name: 'bench' });
      if (relayed) relay = await M.open({ schema, name: 'bench' });
    }
    const ch = new MessageChannel();
    const ch2 = relayed ? new MessageChannel() : null;
    const sa = a.connect(M.messagePort(ch.port1));
    if (relayed) {
      relay.connect(M.messagePort(ch.port2));
      relay.connect(M.messagePort(ch2.port1));
      b.connect(M.messagePort(ch2.port2));
    } else b.connect(M.messagePort(ch.port2));
    const people = a.collection('people');
    for (let i = 0; i < 1000; i++) people.insert({ id: `p${i}`, age: -1 });
    const theirs = b.collection('people');
    await waitFor(() => theirs.size >= 1000);
    const bytes0 = sa.stats().bytesSent;
    const t0 = performance.now();
    for (let start = 0; start < n; start += 1000) {
      for (let i = start; i < Math.min(n, start + 1000); i++) people.update(`p${i % 1000}`, (r) => r.set('age', i));
      await nextTask();
    }
    const t1 = await waitFor(() => theirs.get(`p${(n - 1) % 1000}`)?.age === n - 1);
    const out = { ops_per_sec: Math.round(n / ((t1 - t0) / 1000)), bytes_per_op: (sa.stats().bytesSent - bytes0) / n };
    a.close();
    b.close();
    relay?.close();
    ch.port1.close();
    ch2?.port1.close();
    return out;
  };
  // Alternated, best of two each: the first run also warms the JIT up.
  const best = (x, y) => (x.ops_per_sec >= y.ops_per_sec ? x : y);
  let off = await run(false);
  let on = await run(true);
  let sealed = await run(true, true);
  let relayedOn = await run(true, false, true);
  let blind = await run(true, true, true);
  off = best(off, await run(false));
  on = best(on, await run(true));
  sealed = best(sealed, await run(true, true));
  relayedOn = best(relayedOn, await run(true, false, true));
  blind = best(blind, await run(true, true, true));
  return {
    sync_ops_per_sec: off.ops_per_sec,
    sync_ops_per_sec_identity: on.ops_per_sec,
    sync_ops_per_sec_encrypted: sealed.ops_per_sec,
    sync_ops_per_sec_relayed: relayedOn.ops_per_sec,
    sync_ops_per_sec_blind_relay: blind.ops_per_sec,
    identity_ratio: on.ops_per_sec / off.ops_per_sec,
    encrypted_ratio: sealed.ops_per_sec / off.ops_per_sec,
    sync_bytes_per_op: off.bytes_per_op,
    sync_bytes_per_op_identity: on.bytes_per_op,
    sync_bytes_per_op_encrypted: sealed.bytes_per_op,
  };
}

const syncOps = Number(arg('--sync-ops', '100000'));
const results = {};
const M = await import(join(root, 'dist/node.js'));
results.node = { version: process.version, ...(await measure(reps)), ...(await measureSync(syncOps, M)) };

const page = await servePage('identity bench');
await eachEngine(engines, results, async (browser) => {
  const ctx = await browser.newContext();
  const cryptoPage = await ctx.newPage(page.url);
  const crypto = await cryptoPage.evaluate(measure, reps);
  // A page of its own: WebKitGTK fails key generation past ~110 live keys in one page.
  const syncPage = await ctx.newPage(page.url);
  const sync = await syncPage.evaluate(measureSync, syncOps);
  return { ...crypto, ...sync };
});
page.close();

const rows = ['keygen_us', 'sign_us', 'verify_us', 'parallel_verify_us', 'sha256_us', 'sync_ops_per_sec', 'sync_ops_per_sec_identity', 'sync_ops_per_sec_encrypted', 'sync_ops_per_sec_relayed', 'sync_ops_per_sec_blind_relay', 'identity_ratio', 'encrypted_ratio', 'sync_bytes_per_op', 'sync_bytes_per_op_identity', 'sync_bytes_per_op_encrypted'];
const cols = Object.keys(results);
console.log(`${'row (µs per op unless named)'.padEnd(28)}${cols.map((c) => c.padStart(12)).join('')}`);
const cell = (v) => (typeof v !== 'number' ? '—' : v >= 1000 ? String(Math.round(v)) : v.toFixed(v < 10 ? 2 : 1));
for (const r of rows) console.log(`${r.padEnd(28)}${cols.map((c) => cell(results[c][r]).padStart(12)).join('')}`);
for (const c of cols) if (results[c].ok === false) throw new Error(`${c}: a signature did not verify`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/identity.json'), JSON.stringify({ date: new Date().toISOString(), reps, results }, null, 2) + '\n');
console.log('wrote bench/results/identity.json');
