// npm run bench:credit — what the credit kind costs (docs/credit.md, Costs),
// in Node and in each browser engine, same workload everywhere, with the
// counter measured beside it in the same run:
//   spends_per_sec           one spend per update(), rotating over 1,000 accounts
//   increments_per_sec       the same with a counter's increment (the baseline)
//   spends_per_sec_batched   1,000 spends in one update() of one account
//   bytes_per_spend          a delta of one spend (deltaSince the version before it)
//   bytes_per_spend_sync     amortized: 10,000 spends over 1,000 accounts, as one delta
//   bytes_per_increment_sync the same for increments
//   grant_ms_p50 / _p90      a replica holding no rights spends 10 with spendAsync:
//                            its request crosses a real WebRTC data channel, the
//                            holder's grant comes back as a live delta (browsers
//                            with WebRTC: Chromium and Firefox; 20 rounds)
// Prints a table and writes bench/results/credit.json.
//
//   node bench/credit-bench.mjs [--engines chromium,firefox,webkit] [--n 200000]
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
const N = Number(arg('--n', '200000'));

/** Runs where it is evaluated, with the library as `M` (a page: its global). */
async function measureLocal(n, M = globalThis.Mycelium) {
  const schema = { accounts: { balance: { kind: 'credit', min: 0 }, hits: 'counter' } };
  const open = () => M.open({ name: 'credit-bench', schema });
  const ids = Array.from({ length: 1000 }, (_, i) => `acct-${i}`);
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const s = await open();
  const accounts = s.collection('accounts');
  for (const id of ids) accounts.insert({ id, balance: 1e12 });
  const perSec = (f) => {
    const rounds = [];
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      for (let i = 0; i < n / 5; i++) f(i);
      rounds.push((n / 5) / ((performance.now() - t) / 1000));
    }
    return Math.round(median(rounds));
  };
  perSec((i) => accounts.update(ids[i % 1000], (r) => r.spend('balance', 1))); // warm-up
  const spends_per_sec = perSec((i) => accounts.update(ids[i % 1000], (r) => r.spend('balance', 1)));
  const increments_per_sec = perSec((i) => accounts.update(ids[i % 1000], (r) => r.increment('hits', 1)));
  const t = performance.now();
  const batches = Math.max(1, Math.round(n / 1000));
  for (let b = 0; b < batches; b++) {
    accounts.update(ids[b % 1000], (r) => {
      for (let k = 0; k < 1000; k++) r.spend('balance', 1);
    });
  }
  const spends_per_sec_batched = Math.round((batches * 1000) / ((performance.now() - t) / 1000));
  s.close();

  // Bytes.
  const b = await open();
  const acc = b.collection('accounts');
  for (const id of ids) acc.insert({ id, balance: 1e6 });
  let v = b.version();
  acc.update(ids[0], (r) => r.spend('balance', 1));
  const bytes_per_spend = b.deltaSince(v).length;
  v = b.version();
  for (let i = 0; i < 10_000; i++) acc.update(ids[i % 1000], (r) => r.spend('balance', 1));
  const bytes_per_spend_sync = b.deltaSince(v).length / 10_000;
  v = b.version();
  for (let i = 0; i < 10_000; i++) acc.update(ids[i % 1000], (r) => r.increment('hits', 1));
  const bytes_per_increment_sync = b.deltaSince(v).length / 10_000;
  b.close();
  return { spends_per_sec, increments_per_sec, spends_per_sec_batched, bytes_per_spend, bytes_per_spend_sync, bytes_per_increment_sync };
}

/** In a page: two replicas over WebRTC; the one without rights spends with spendAsync, 20 times. */
async function measureGrant(signaling) {
  const M = globalThis.Mycelium;
  const schema = { accounts: { balance: { kind: 'credit', min: 0 } } };
  const room = `credit-${Math.random()}`;
  const holder = await M.open({ name: 'grant', schema });
  const asker = await M.open({ name: 'grant', schema });
  holder.collection('accounts').insert({ id: 'x', balance: 100000 });
  const fast = { batchInterval: 0 };
  holder.connect(M.webrtc({ signaling, room, peerId: 'holder' }), fast);
  const sync = asker.connect(M.webrtc({ signaling, room, peerId: 'asker' }), fast);
  const t0 = performance.now();
  while (!(sync.status().synced && asker.collection('accounts').has('x'))) {
    if (performance.now() - t0 > 20_000) throw new Error('the two replicas did not connect over WebRTC');
    await new Promise((r) => setTimeout(r, 20));
  }
  const times = [];
  for (let i = 0; i < 21; i++) {
    const t = performance.now();
    await asker.collection('accounts').spendAsync('x', 'balance', 10, { timeout: 10_000 });
    if (i > 0) times.push(performance.now() - t); // the first one warms up
  }
  times.sort((a, b) => a - b);
  holder.close();
  asker.close();
  return { grant_ms_p50: times[Math.floor(times.length / 2)], grant_ms_p90: times[Math.floor(times.length * 0.9)] };
}

const results = {};
const M = await import(join(root, 'dist/node.js'));
results.node = { version: process.version, ...(await measureLocal(N, M)) };

const { startSignalServer } = M;
const signal = await startSignalServer({ port: 0 });
const page = await servePage('credit bench');
await eachEngine(engines, results, async (browser, engine) => {
  const ctx = await browser.newContext();
  const localPage = await ctx.newPage(page.url);
  const local = await localPage.evaluate(measureLocal, N);
  const grantPage = await ctx.newPage(page.url);
  const hasWebRTC = await grantPage.evaluate(() => typeof RTCPeerConnection === 'function');
  if (!hasWebRTC) console.log(`${engine}: grant rows not available in ${engine} (no RTCPeerConnection)`);
  const grant = hasWebRTC ? await grantPage.evaluate(measureGrant, signal.url) : { grant_note: `not available in ${engine} (no RTCPeerConnection)` };
  return { ...local, ...grant };
});
page.close();
await signal.close();

const rows = ['spends_per_sec', 'increments_per_sec', 'spends_per_sec_batched', 'bytes_per_spend', 'bytes_per_spend_sync', 'bytes_per_increment_sync', 'grant_ms_p50', 'grant_ms_p90'];
const cols = Object.keys(results);
console.log(`${'row'.padEnd(26)}${cols.map((c) => c.padStart(12)).join('')}`);
const cell = (v) => (typeof v !== 'number' ? '—' : v >= 1000 ? String(Math.round(v)) : v.toFixed(v < 10 ? 2 : 1));
for (const r of rows) console.log(`${r.padEnd(26)}${cols.map((c) => cell(results[c][r]).padStart(12)).join('')}`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/credit.json'), JSON.stringify({ date: new Date().toISOString(), n: N, results }, null, 2) + '\n');
console.log('wrote bench/results/credit.json');
