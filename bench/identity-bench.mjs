// npm run bench:identity — what identity costs (docs/identity.md, Costs):
// WebCrypto Ed25519 sign and verify of a 150-byte batch header, SHA-256 of a
// 64-byte event (the per-event digest provenance will compute), and key
// generation, in Node and in each browser engine, same workload everywhere.
// Prints a table and writes bench/results/identity.json.
//
//   node bench/identity-bench.mjs [--engines chromium,firefox,webkit] [--reps 2000]
// WebKit needs an X display (xvfb-run -a).
import { writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, missingFor } from '../scripts/browsers.mjs';

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

const results = {};
results.node = { version: process.version, ...(await measure(reps)) };

const server = createServer((_, res) => {
  res.setHeader('content-type', 'text/html');
  res.end('<!doctype html><title>identity bench</title>');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/`;
for (const engine of engines) {
  const missing = missingFor(engine);
  if (missing) {
    console.log(`${engine}: not available (missing ${missing})`);
    results[engine] = { unavailable: missing };
    continue;
  }
  const browser = await launch(engine);
  try {
    const ctx = await browser.newContext();
    const page = await ctx.newPage(url);
    results[engine] = { version: browser.version, ...(await page.evaluate(measure, reps)) };
  } catch (e) {
    results[engine] = { unavailable: String(e instanceof Error ? e.message : e) };
    console.log(`${engine}: not available in ${engine}: ${results[engine].unavailable}`);
  } finally {
    await browser.close();
  }
}
server.close();

const rows = ['keygen_us', 'sign_us', 'verify_us', 'parallel_verify_us', 'sha256_us'];
const cols = Object.keys(results);
console.log(`${'µs per operation'.padEnd(22)}${cols.map((c) => c.padStart(12)).join('')}`);
for (const r of rows) console.log(`${r.padEnd(22)}${cols.map((c) => (typeof results[c][r] === 'number' ? results[c][r].toFixed(1) : '—').padStart(12)).join('')}`);
for (const c of cols) if (results[c].ok === false) throw new Error(`${c}: a signature did not verify`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/identity.json'), JSON.stringify({ date: new Date().toISOString(), reps, results }, null, 2) + '\n');
console.log('wrote bench/results/identity.json');
