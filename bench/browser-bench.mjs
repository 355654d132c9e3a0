// npm run bench — the budget benchmarks in Chromium, Firefox ESR and
// WebKitGTK, with yjs, @automerge/automerge and loro-crdt run on the same
// workloads (bench/workloads.js) in the same browser in the same run.
// Writes bench/results/<engine>.json and bench/report.html (from those and
// bench/results/size.json), and prints a table per engine.
//
//   merge_10k_ms, merge_10k_concurrent_ms   median of --reps, after warm-ups
//   memory_100k_bytes   100,000 records x 5 fields in a fresh context: growth
//                       of every WebAssembly memory the page made, plus JS heap
//                       growth after GC where the engine can measure it
//                       (Chromium, over CDP; Firefox and WebKit: wasm only)
//   cold_start_ms       navigation start -> library loaded and an empty
//                       document ready, fresh context each sample (empty cache)
//   cold_start_warm_ms  the same on a second visit in the same context, the
//                       page and library served cacheable (a warm HTTP cache;
//                       not in --ci)
//   local_writes_per_sec  100,000 single-field writes, one API call each (a
//                       library that needs more than ~10 s gets fewer)
//   wasm_total_gz       from npm run size (gzip of the download)
// Persistence (IndexedDB; peers: yjs + y-indexeddb, automerge-repo with its
// IndexedDB adapter), each library in a fresh context:
//   persist_10k_ms      10,000 single-field writes until they are durable
//   reopen_100k_ms      a new page opens the stored 100,000 records until readable
//   idb_bytes_100k      bytes of the values IndexedDB holds for them
// Sync (two pages in two contexts over a real RTCDataChannel; mycelium-sync
// through its signalling server, yjs through y-webrtc and its own; WebKitGTK
// has no WebRTC), bench/sync-workloads.js:
//   sync_ops_per_sec    100,000 single-field writes in batches of 1,000 on one
//                       side until the last has arrived on the other
//   sync_initial_100k_ms  a fresh peer joins a 100,000-record store until it
//                       has every record (signalling and ICE included)
//   sync_bytes_per_op   bytes the writer sent per write
// Text (bench/text-workloads.js, as npm run bench:text; each library in a
// fresh context; diamond-types-node's wasm through shims for fs, path, util):
//   text_apply_ms       automerge-paper's 259,778 edits as local edits, one
//                       transaction per trace transaction (--text-reps medians)
//   text_snapshot_bytes, text_load_ms, text_merge_ms (the history into an
//                       empty replica), text_memory_bytes (as memory_100k_bytes:
//                       wasm growth, plus JS heap growth in Chromium)
//   every final text is checked against the trace's endContent
// Live queries (bench/query-workloads.js, as npm run bench:node; each library
// in a fresh context), 100,000 todos, "not done, votes >= 2, by due, first 50":
//   query_first_ms, query_update_local_ms (one write in the window),
//   query_update_remote_ms (a 1,000-record delta joined, or 1,000 setCells in
//   one TinyBase transaction); ours against TinyBase's queries module, and
//   array_update_local_ms (filter, sort and slice all() again)
//
// chromium-cpu4x is Chromium with the CPU throttled 4x through CDP
// (Emulation.setCPUThrottlingRate), DESIGN.md's stand-in for a mid-range
// phone; the budgets must hold there too.
//
//   node bench/browser-bench.mjs [--engines chromium,chromium-cpu4x,firefox,webkit] [--smoke]
// --smoke: Chromium, tiny workloads, results under build/bench-smoke/, and a
// check that every figure is a real number.
// --ci: the gated CI bench (run by npm test): Chromium, Firefox and WebKit,
// the rows gated in bench/gates.json (merge, memory, cold start, writes,
// reopen) with reduced workloads, ours and the peers in the same run; fails
// when a ratio to the best peer falls under its floor, or the core download
// grows past its size gate. Results under build/bench-ci/.
// Every --ci run and every full run appends a line per engine to
// bench/history/<engine>.jsonl (bench/gates.mjs); report.html plots it.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launch } from '../scripts/browsers.mjs';
import { serve } from '../scripts/static-server.mjs';
import { gunzipSync } from 'node:zlib';
import { median } from './workloads.js';
import { syntheticTrace, TEXT_LIBS } from './text-workloads.js';
import { HIGHER, PROFILES, renderReport, TARGETS } from './report.mjs';
import { appendHistory, checkBytes, checkRatios, readGates } from './gates.mjs';
import { coreSize } from '../scripts/core-size.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const smoke = args.includes('--smoke');
const ci = args.includes('--ci');
// --sections core,persist,sync,cold,memory: run only some rows (for working on one; the report wants all).
const ALL_SECTIONS = smoke ? 'core,persist,sync,cold,text,query' : ci ? 'core,persist,cold' : 'core,persist,sync,cold,memory,text,query';
const sections = new Set(opt('--sections', ALL_SECTIONS).split(','));
// A run of some sections writes <engine>.<sections>.json and leaves the
// report (made from whole runs) alone.
const partial = !ALL_SECTIONS.split(',').every((x) => sections.has(x));
const resultName = (engine) => (partial ? `${engine}.${[...sections].join('+')}.json` : `${engine}.json`);
const engines = opt('--engines', smoke ? 'chromium' : ci ? 'chromium,firefox,webkit' : PROFILES.join(',')).split(',').filter(Boolean);
const browserOf = (profile) => (profile === 'chromium-cpu4x' ? 'chromium' : profile);
const throttleOf = (profile) => (profile === 'chromium-cpu4x' ? 4 : 1);
const LIBS = ['mycelium', 'yjs', 'automerge', 'loro'];
const NAMES = { mycelium: 'mycelium-sync', yjs: 'yjs', automerge: '@automerge/automerge', loro: 'loro-crdt' };
const W = smoke
  ? { reps: 1, warmup: 0, records: 20_000, writes: 2_000, writesBudgetMs: 10_000, cold: 1, persistWrites: 300, syncOps: 5_000, syncTimeout: 10_000, textTxns: 3_000, textReps: 1, queryReps: 1 }
  : ci
  ? { reps: 5, warmup: 1, records: 20_000, writes: 20_000, writesBudgetMs: 2_000, cold: 5, persistWrites: 1_000, syncOps: 0, syncTimeout: 0, textTxns: 0, textReps: 0, queryReps: 0 }
  : { reps: Number(opt('--reps', 9)), warmup: 2, records: 100_000, writes: 100_000, writesBudgetMs: 10_000, cold: Number(opt('--cold', 7)), persistWrites: 10_000, syncOps: 100_000, syncTimeout: 60_000, textTxns: Infinity, textReps: Number(opt('--text-reps', 3)), queryReps: Number(opt('--query-reps', 5)) };
const outDir = smoke ? join(root, 'build/bench-smoke') : ci ? join(root, 'build/bench-ci') : join(root, 'bench/results');
const reportPath = smoke || ci ? join(outDir, 'report.html') : join(root, 'bench/report.html');
const gates = ci ? readGates() : null;
const commit = (() => {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
})();

if (engines.includes('webkit') && !process.env.DISPLAY) {
  const r = spawnSync('/usr/bin/xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', process.execPath, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
if (!existsSync(join(root, 'dist/index.js'))) {
  console.error('bench: dist/ is missing; run npm run build first');
  process.exit(1);
}

// Peer bundles, each compiling its wasm by streaming from next to itself.
const bundleDir = join(root, 'build/bench');
mkdirSync(bundleDir, { recursive: true });
const require = createRequire(import.meta.url);
const esbuild = await import('esbuild');
const peerBundle = (entryPoints, extra = {}) =>
  esbuild.build({ entryPoints, absWorkingDir: root, bundle: true, format: 'esm', platform: 'browser', minify: true, outdir: bundleDir, logLevel: 'warning', ...extra });
await peerBundle({
  yjs: 'bench/browser/peer-yjs.js',
  automerge: 'bench/browser/peer-automerge.js',
  loro: 'bench/browser/peer-loro.js',
  yidb: 'bench/browser/peer-yidb.js',
  amrepo: 'bench/browser/peer-amrepo.js',
  ywebrtc: 'bench/browser/peer-ywebrtc.js',
  tinybase: 'bench/browser/peer-tinybase.js',
});
// diamond-types-node, whose glue is written for Node (peer-dt.js).
const shims = join(root, 'bench/browser/dt-shims.js');
await peerBundle({ dt: 'bench/browser/peer-dt.js' }, { alias: { fs: shims, path: shims, util: shims }, define: { __dirname: '"/"' }, logLevel: 'error' });
copyFileSync(join(root, 'node_modules/diamond-types-node/dt_bg.wasm'), join(bundleDir, 'dt_bg.wasm'));
// The text trace, as JSON the pages fetch: automerge-paper from the shared
// data sets, or (the smoke run) a generated one of W.textTxns keystrokes, so
// npm test needs nothing outside the project. Both are checked against a
// plain string's splices.
const TRACE_FILE = smoke ? 'text-smoke.json' : 'automerge-paper.json';
if (sections.has('text')) {
  const gz = join(root, '../shared/data/editing-traces/automerge-paper.json.gz');
  if (!smoke && !existsSync(gz)) {
    console.error(`bench: the text row needs ${gz} (the editing traces beside the project); run without it: --sections core,persist,sync,cold,memory`);
    process.exit(1);
  }
  const trace = smoke ? syntheticTrace(W.textTxns) : JSON.parse(gunzipSync(readFileSync(gz)).toString('utf8'));
  writeFileSync(join(bundleDir, TRACE_FILE), JSON.stringify(trace));
}
copyFileSync(join(dirname(require.resolve('@automerge/automerge/automerge.wasm')), 'automerge.wasm'), join(bundleDir, 'automerge.wasm'));
copyFileSync(join(root, 'node_modules/loro-crdt/web/loro_wasm_bg.wasm'), join(bundleDir, 'loro_wasm_bg.wasm'));

const server = await serve(root, {
  headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' },
});
const url = (path) => `${server.url}${path}`;
const READY = async () => {
  for (let i = 0; i < 3000 && !window.__ready; i++) await new Promise((r) => setTimeout(r, 10));
  if (!window.__ready) throw new Error('bench page did not load');
  return true;
};

async function heapUsed(page) {
  if (!page.cdp) return null;
  const cdp = await page.cdp();
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  await cdp.detach();
  return usedSize;
}

/** A fresh context with the bench page, the library loaded. */
async function benchPage(browser, lib, cpuThrottle) {
  const context = await browser.newContext();
  const page = await context.newPage(url('/bench/browser/bench.html'), { cpuThrottle });
  await page.evaluate(READY);
  await page.evaluate(([name, opts]) => window.__bench.load(name, opts), [lib, { reps: W.reps, warmup: W.warmup }]);
  return { context, page };
}

/** cold.html's result (window.__cold), polled for up to 15 s. */
const waitCold = (page) =>
  page.evaluate(async () => {
    for (let k = 0; k < 3000 && !window.__cold; k++) await new Promise((res) => setTimeout(res, 5));
    return window.__cold;
  });

/** One cold start: a fresh context (empty cache) navigates to cold.html. */
async function coldStart(browser, lib, cpuThrottle) {
  const context = await browser.newContext();
  const page = await context.newPage(url(`/bench/browser/cold.html?lib=${lib}`), { cpuThrottle });
  const r = await waitCold(page);
  await context.close();
  if (!r || r.error) throw new Error(`${lib} cold start: ${r ? r.error : 'no result'}`);
  return r;
}

/**
 * One warm-cache start: a fresh context visits cold.html under /__cached/
 * (the page and the library served with max-age a year, as an app's hashed
 * assets), then navigates to it again; the second visit is measured. What
 * the browser keeps between them is its own: the HTTP cache, and for
 * WebAssembly compiled by streaming from it, the engine's compiled-code
 * cache where it has one.
 */
async function warmStart(browser, lib, cpuThrottle) {
  const context = await browser.newContext();
  const address = url(`/__cached/bench/browser/cold.html?lib=${lib}`);
  const page = await context.newPage(address, { cpuThrottle });
  const first = await waitCold(page);
  if (!first || first.error) throw new Error(`${lib} warm start, first visit: ${first ? first.error : 'no result'}`);
  // Code caches are written after the first visit's work (V8: when its wasm tiers up, or at the page's end).
  await new Promise((res) => setTimeout(res, 500));
  await page.goto(address);
  const r = await waitCold(page);
  await context.close();
  if (!r || r.error) throw new Error(`${lib} warm start: ${r ? r.error : 'no result'}`);
  return r;
}

// The CI bench leaves out automerge-repo, never the best peer on these rows
// (its reopen takes 4-8x yjs's) and the slowest part of the run.
const PERSIST_LIBS = ci ? ['mycelium', 'yjs'] : ['mycelium', 'yjs', 'automerge'];

/** The persistence rows, in a fresh context: writes, a fill, then a new page reopens. */
async function measurePersistence(browser, lib, cpuThrottle) {
  const context = await browser.newContext();
  const page = await context.newPage(url('/bench/browser/bench.html'), { cpuThrottle });
  await page.evaluate(READY);
  await page.evaluate((name) => window.__bench.persistLoad(name), lib);
  const out = {};
  out.persist_10k_ms = await page.evaluate((args) => window.__bench.persist10k(args), ['writes', W.persistWrites]);
  await page.evaluate((args) => window.__bench.persistFill(args), ['big', W.records]);
  out.idb_bytes_100k = await page.evaluate((store) => window.__bench.persistBytes(store), 'big');
  await page.close();
  // A new page: the library loads (not timed), then the stored data opens.
  const again = await context.newPage(url('/bench/browser/bench.html'), { cpuThrottle });
  await again.evaluate(READY);
  await again.evaluate((name) => window.__bench.persistLoad(name), lib);
  const r = await again.evaluate((store) => window.__bench.persistReopen(store), 'big');
  if (r.size !== W.records) throw new Error(`${lib}: reopened ${r.size} records, stored ${W.records}`);
  out.reopen_100k_ms = r.ms;
  await context.close();
  return out;
}

const SYNC_LIBS = ['mycelium', 'yjs'];

/** A signalling server for `lib`: ours for mycelium-sync, y-webrtc's own for Yjs. */
async function signalling(lib) {
  if (lib === 'mycelium') {
    const { startSignalServer } = await import(pathToFileURL(join(root, 'dist/node.js')).href);
    const s = await startSignalServer({ port: 0 });
    return { url: s.url, close: () => s.close() };
  }
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, [join(root, 'node_modules/y-webrtc/bin/server.js')], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('running') && resolve());
    child.once('exit', (code) => reject(new Error(`y-webrtc signalling exited with ${code}`)));
  });
  return { url: `ws://127.0.0.1:${port}`, close: async () => child.kill() };
}

/** Two pages in two contexts, each with `lib` loaded and joined to one room. */
async function syncPair(browser, lib, cpuThrottle, sig, tag) {
  const room = `bench-${tag}-${Date.now()}`;
  const side = async (actor) => {
    const context = await browser.newContext();
    const page = await context.newPage(url('/bench/browser/sync.html'), { cpuThrottle });
    await page.evaluate(READY);
    await page.evaluate(([l, o]) => window.__sync.load(l, o), [lib, { signaling: sig.url, room, actor, timeoutMs: W.syncTimeout }]);
    return { context, page };
  };
  return { a: await side('00000000000000a1'), b: await side('00000000000000b2') };
}

/** The sync rows (WebRTC: Chromium and Firefox; WebKitGTK has no RTCPeerConnection). */
async function measureSync(browser, lib, cpuThrottle) {
  const sig = await signalling(lib);
  const out = {};
  try {
    {
      const { a, b } = await syncPair(browser, lib, cpuThrottle, sig, 'ops');
      await a.page.evaluate(() => window.__sync.seed());
      await a.page.evaluate(() => window.__sync.connect());
      await b.page.evaluate(() => window.__sync.connect());
      await a.page.evaluate(() => window.__sync.connected());
      await b.page.evaluate(() => window.__sync.waitFill(1000));
      const bytes0 = await a.page.evaluate(() => window.__sync.bytes());
      const n = W.syncOps;
      const [t0, t1] = await Promise.all([a.page.evaluate((k) => window.__sync.ops(k), n), b.page.evaluate((k) => window.__sync.waitOps(k), n)]);
      out.sync_ops_per_sec = Math.round(n / ((t1 - t0) / 1000));
      out.sync_bytes_per_op = ((await a.page.evaluate(() => window.__sync.bytes())) - bytes0) / n;
      await a.context.close();
      await b.context.close();
    }
    {
      const { a, b } = await syncPair(browser, lib, cpuThrottle, sig, 'initial');
      await a.page.evaluate((k) => window.__sync.fill(k), W.records);
      await a.page.evaluate(() => window.__sync.connect());
      const t0 = await b.page.evaluate(() => (window.__sync.connect(), performance.timeOrigin + performance.now()));
      const t1 = await b.page.evaluate((k) => window.__sync.waitFill(k), W.records);
      out.sync_initial_100k_ms = t1 - t0;
      await a.context.close();
      await b.context.close();
    }
  } catch (e) {
    out.sync_error = String(e && e.message ? e.message : e).split('\n')[0];
    process.stderr.write(`bench: ${lib} sync: ${out.sync_error}\n`);
  } finally {
    await sig.close();
  }
  return out;
}

async function measure(browser, lib, cpuThrottle) {
  const out = {};
  {
    const { context, page } = await benchPage(browser, lib, cpuThrottle);
    const merge = await page.evaluate(() => window.__bench.merge());
    out.merge_10k_ms = merge.merge_10k_ms;
    out.merge_10k_concurrent_ms = merge.merge_10k_concurrent_ms;
    out.merge_delta_bytes = merge.delta_bytes;
    // Warm up, and size the run: a library slower than ~10,000 writes/s
    // (automerge: one change per write) gets as many writes as fit in ~10 s
    // (~2 s in the CI bench).
    const probeMs = await page.evaluate((n) => window.__bench.writes(n), Math.min(2_000, W.writes));
    if (probeMs * 5 < 2_000) await page.evaluate((k) => window.__bench.writes(k), Math.min(10_000, W.writes)); // tier-up
    const n = Math.max(Math.min(2_000, W.writes), Math.min(W.writes, Math.round((W.writesBudgetMs / Math.max(probeMs, 1e-3)) * 2_000)));
    const ms = await page.evaluate((k) => window.__bench.writes(k), n);
    out.local_writes_per_sec = Math.round(n / (ms / 1000));
    out.local_writes_n = n;
    await context.close();
  }
  {
    const { context, page } = await benchPage(browser, lib, cpuThrottle);
    Object.assign(out, await page.evaluate((n) => window.__bench.reads(n), W.records));
    await context.close();
  }
  {
    const { context, page } = await benchPage(browser, lib, cpuThrottle);
    const heap0 = await heapUsed(page);
    const wasm0 = await page.evaluate(() => window.__bench.wasmBytes());
    await page.evaluate((n) => window.__bench.fill(n), W.records);
    const heap1 = await heapUsed(page);
    const wasm1 = await page.evaluate(() => window.__bench.wasmBytes());
    out.memory_100k_wasm_bytes = wasm1 - wasm0;
    out.memory_100k_heap_bytes = heap0 === null ? null : heap1 - heap0;
    // Without a JS heap figure the total is only comparable for libraries
    // that keep their data in wasm: it is left out rather than understated.
    out.memory_100k_bytes = heap0 === null ? (lib === 'yjs' ? null : out.memory_100k_wasm_bytes) : out.memory_100k_wasm_bytes + out.memory_100k_heap_bytes;
    await context.close();
  }
  return out;
}

/** The live-query rows of one library (bench/query-workloads.js), in a fresh context. */
async function measureQuery(browser, lib, cpuThrottle) {
  const context = await browser.newContext();
  const page = await context.newPage(url('/bench/browser/bench.html'), { cpuThrottle });
  await page.evaluate(READY);
  const out = await page.evaluate((a) => window.__bench.queryRows(a), [lib, W.queryReps, W.records]);
  await context.close();
  return out;
}

/** The text row of one library (bench/text-workloads.js), in a fresh context. */
async function measureText(browser, name, cpuThrottle) {
  const context = await browser.newContext();
  const page = await context.newPage(url('/bench/browser/bench.html'), { cpuThrottle });
  await page.evaluate(READY);
  await page.evaluate((a) => window.__bench.textLoad(a), [name, `/build/bench/${TRACE_FILE}`]);
  const heap0 = await heapUsed(page);
  const wasm0 = await page.evaluate(() => window.__bench.wasmBytes());
  await page.evaluate(() => window.__bench.textReplay());
  const heap1 = await heapUsed(page);
  const wasm1 = await page.evaluate(() => window.__bench.wasmBytes());
  const out = await page.evaluate((r) => window.__bench.textRows(r), W.textReps);
  // As memory_100k_bytes: without a JS heap figure only wasm libraries compare.
  out.text_memory_bytes = heap0 === null ? (name === 'yjs' ? null : wasm1 - wasm0) : wasm1 - wasm0 + (heap1 - heap0);
  await context.close();
  return out;
}

// Linear-memory growth one operation leaves behind (mycelium-sync; each in a
// fresh page): workloads.js, memoryOp.
const MEMORY_OPS = { save: 'memory_100k_after_save_bytes', sync: 'memory_100k_after_initial_sync_bytes', apply: 'memory_100k_after_apply_snapshot_bytes', overwrites: 'memory_after_100k_overwrites_bytes' };
async function measureMemoryOps(browser, cpuThrottle) {
  const out = {};
  for (const [op, key] of Object.entries(MEMORY_OPS)) {
    const { context, page } = await benchPage(browser, 'mycelium', cpuThrottle);
    const r = await page.evaluate((o) => window.__bench.memoryOp(o), op);
    out[key] = r.grown;
    if (op === 'save') out.memory_100k_snapshot_bytes = r.output;
    await context.close();
  }
  return out;
}

const size = existsSync(join(root, 'bench/results/size.json')) ? JSON.parse(readFileSync(join(root, 'bench/results/size.json'), 'utf8')) : null;
const KEYS = ['merge_10k_ms', 'merge_10k_concurrent_ms', 'memory_100k_bytes', 'cold_start_ms', 'cold_start_warm_ms', 'local_writes_per_sec', 'read_get_us', 'read_get_after_change_us', 'read_all_100k_ms', 'read_all_100k_cold_ms', 'reopen_100k_ms', 'persist_10k_ms', 'idb_bytes_100k', 'sync_ops_per_sec', 'sync_initial_100k_ms', 'sync_bytes_per_op', 'text_apply_ms', 'text_snapshot_bytes', 'text_load_ms', 'text_merge_ms', 'text_memory_bytes', 'query_first_ms', 'query_update_local_ms', 'query_update_remote_ms'];
const SYNC_KEYS = new Set(['sync_ops_per_sec', 'sync_initial_100k_ms', 'sync_bytes_per_op']);
const PERSISTENCE_KEYS = new Set(['reopen_100k_ms', 'persist_10k_ms', 'idb_bytes_100k']);
const TEXT_KEYS = new Set(['text_apply_ms', 'text_snapshot_bytes', 'text_load_ms', 'text_merge_ms', 'text_memory_bytes']);
const QUERY_KEYS = new Set(['query_first_ms', 'query_update_local_ms', 'query_update_remote_ms']);
const fmt = (k, v) =>
  v === null || v === undefined
    ? 'n/a'
    : k === 'sync_bytes_per_op'
      ? `${v.toFixed(2)} B`
      : k.endsWith('_bytes') || k.startsWith('idb_bytes')
        ? v >= 1e6 ? `${(v / 1e6).toFixed(2)} MB` : `${(v / 1e3).toFixed(1)} KB`
        : k.endsWith('_ms')
          ? `${v.toFixed(2)} ms`
          : k.endsWith('_us')
            ? `${v.toFixed(2)} µs`
            : Math.round(v).toLocaleString('en-US');

/**
 * WebKitGTK miscomputes WebAssembly at times (README, Testing): a WebKit
 * measurement that throws (a trap in a library's wasm, ours or a peer's) is
 * made once more, in fresh pages, and the run says so; elsewhere it fails the run.
 */
async function measuredOnce(engine, what, fn) {
  try {
    return await fn();
  } catch (e) {
    if (browserOf(engine) !== 'webkit') throw e;
    console.log(`bench ${engine}: ${what} failed (${String(e).split('\n')[0]}); measured once more`);
    return fn();
  }
}

mkdirSync(outDir, { recursive: true });
let bad = 0;
for (const engine of engines) {
  const t0 = performance.now();
  const browser = await launch(browserOf(engine));
  const cpu = throttleOf(engine);
  const results = {};
  for (const lib of LIBS) {
    process.stderr.write(`bench ${engine}: ${NAMES[lib]}…\n`);
    results[NAMES[lib]] = sections.has('core') ? await measuredOnce(engine, NAMES[lib], () => measure(browser, lib, cpu)) : {};
  }
  for (const lib of sections.has('persist') ? PERSIST_LIBS : []) {
    process.stderr.write(`bench ${engine}: ${NAMES[lib]} persistence…\n`);
    Object.assign(results[NAMES[lib]], await measuredOnce(engine, `${NAMES[lib]} persistence`, () => measurePersistence(browser, lib, cpu)));
  }
  if (sections.has('memory')) {
    process.stderr.write(`bench ${engine}: mycelium-sync memory after save, sync, apply, overwrites…\n`);
    Object.assign(results['mycelium-sync'], await measuredOnce(engine, 'memory after save, sync, apply, overwrites', () => measureMemoryOps(browser, cpu)));
  }
  if (sections.has('text')) {
    // bench/text-workloads.js names the libraries by package, as results do.
    const resultKey = { automerge: NAMES.automerge, loro: NAMES.loro };
    for (const name of TEXT_LIBS) {
      process.stderr.write(`bench ${engine}: ${name} text (automerge-paper)…\n`);
      const key = resultKey[name] ?? name;
      results[key] = Object.assign(results[key] ?? {}, await measureText(browser, name, cpu));
    }
  }
  if (sections.has('query')) {
    process.stderr.write(`bench ${engine}: live queries (mycelium-sync, tinybase)…\n`);
    Object.assign(results['mycelium-sync'], await measureQuery(browser, 'mycelium', cpu));
    results.tinybase = await measureQuery(browser, 'tinybase', cpu);
  }
  if (browserOf(engine) !== 'webkit' && sections.has('sync')) {
    for (const lib of SYNC_LIBS) {
      process.stderr.write(`bench ${engine}: ${NAMES[lib]} sync over WebRTC…\n`);
      Object.assign(results[NAMES[lib]], await measureSync(browser, lib, cpu));
    }
  }
  // Cold starts round-robin over the libraries, after one unmeasured start
  // (the browser's first context also starts its helper processes).
  process.stderr.write(`bench ${engine}: cold starts…\n`);
  if (sections.has('cold')) await measuredOnce(engine, 'the first cold start', () => coldStart(browser, 'yjs', cpu));
  // 'none': the same page loading no library, the floor every row stands on.
  const cold = Object.fromEntries([...LIBS, 'none'].map((l) => [l, []]));
  for (let i = 0; i < (sections.has('cold') ? W.cold : 0); i++) for (const lib of [...LIBS, 'none']) cold[lib].push(await measuredOnce(engine, `${lib} cold start`, () => coldStart(browser, lib, cpu)));
  const pageFloorMs = median(cold.none.map((c) => c.ms));
  for (const lib of LIBS) {
    results[NAMES[lib]].cold_start_ms = median(cold[lib].map((c) => c.ms));
    results[NAMES[lib]].cold_start_import_ms = median(cold[lib].map((c) => c.importMs));
  }
  // The same with a warm cache (a second visit), round-robin; not in the CI bench.
  let warmFloorMs;
  if (sections.has('cold') && !ci) {
    process.stderr.write(`bench ${engine}: warm-cache starts…\n`);
    const warm = Object.fromEntries([...LIBS, 'none'].map((l) => [l, []]));
    for (let i = 0; i < W.cold; i++) for (const lib of [...LIBS, 'none']) warm[lib].push(await warmStart(browser, lib, cpu));
    warmFloorMs = median(warm.none.map((c) => c.ms));
    for (const lib of LIBS) results[NAMES[lib]].cold_start_warm_ms = median(warm[lib].map((c) => c.ms));
  }
  await browser.close();
  const ours = results['mycelium-sync'];
  const peers = [...LIBS.slice(1).map((l) => NAMES[l]), ...(sections.has('text') ? ['diamond-types'] : []), ...(sections.has('query') ? ['tinybase'] : [])];
  const ratios = {};
  console.log(`\n== ${engine} ${browser.version} (${Math.round((performance.now() - t0) / 1000)} s)`);
  console.log(`${'key'.padEnd(26)}${['mycelium-sync', ...peers].map((p) => p.padStart(22)).join('')}  best peer / ours  target`);
  for (const k of KEYS) {
    // A reduced run (--ci, --sections) prints the rows it measured.
    if ((ci || partial) && ![ours, ...peers.map((p) => results[p])].some((r) => typeof r[k] === 'number')) continue;
    const vals = peers.map((p) => results[p][k]).filter((v) => typeof v === 'number');
    const best = vals.length === 0 ? null : HIGHER.has(k) ? Math.max(...vals) : Math.min(...vals);
    ratios[k] = best === null || typeof ours[k] !== 'number' ? null : HIGHER.has(k) ? ours[k] / best : best / ours[k];
    const target = browserOf(engine) === 'chromium' && TARGETS[k] !== undefined ? `${HIGHER.has(k) ? '≥' : '≤'} ${fmt(k, TARGETS[k])}` : '';
    console.log(`${k.padEnd(26)}${['mycelium-sync', ...peers].map((p) => fmt(k, results[p][k]).padStart(22)).join('')}  ${ratios[k] === null ? 'n/a' : `${ratios[k].toFixed(2)}x`}  ${target}`);
    if (smoke) {
      for (const p of ['mycelium-sync', ...peers]) {
        if (PERSISTENCE_KEYS.has(k) && !PERSIST_LIBS.some((l) => NAMES[l] === p)) continue;
        if (SYNC_KEYS.has(k) && !SYNC_LIBS.some((l) => NAMES[l] === p)) continue;
        // Only the text row has diamond-types; Yjs's memory needs the JS heap (Chromium).
        if (p === 'diamond-types' && !TEXT_KEYS.has(k)) continue;
        // The query rows are ours and TinyBase's only.
        if ((p === 'tinybase') !== QUERY_KEYS.has(k) && p !== 'mycelium-sync') continue;
        if (p === 'yjs' && k === 'text_memory_bytes' && results[p][k] === null) continue;
        // y-webrtc cannot send a document larger than one data-channel message (reported, not a bench fault).
        if (p === 'yjs' && k === 'sync_initial_100k_ms' && results[p].sync_error) continue;
        const v = results[p][k];
        if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
          console.log(`bench smoke: ${engine} ${p} ${k} is ${v}`);
          bad++;
        }
      }
    }
  }
  const doc = {
    date: new Date().toISOString(),
    engine,
    browser_version: browser.version,
    cpu_throttle: cpu,
    workload: W,
    wasm_total_gz: size ? size.core_total_gz : null,
    ...Object.fromEntries(KEYS.map((k) => [k, ours[k]])),
    ...(ours.sync_error ? { sync_error: ours.sync_error } : {}),
    memory_100k_wasm_bytes: ours.memory_100k_wasm_bytes,
    array_update_local_ms: ours.array_update_local_ms ?? null,
    query_remote_join_ms: ours.query_remote_join_ms ?? null,
    query_first_indexed_ms: ours.query_first_indexed_ms ?? null,
    query_update_local_indexed_ms: ours.query_update_local_indexed_ms ?? null,
    query_update_remote_indexed_ms: ours.query_update_remote_indexed_ms ?? null,
    index_build_ms: ours.index_build_ms ?? null,
    memory_100k_heap_bytes: ours.memory_100k_heap_bytes,
    cold_start_page_floor_ms: pageFloorMs,
    cold_start_warm_page_floor_ms: warmFloorMs ?? null,
    ratio_to_best_peer: ratios,
    peers: Object.fromEntries(peers.map((p) => [p, results[p]])),
  };
  if (typeof ours.array_update_local_ms === 'number') {
    console.log(`array_update_local_ms (one write, then filter, sort and slice all() again): ${fmt('x_ms', ours.array_update_local_ms)}; query_remote_join_ms (the delta joined with no query open): ${fmt('x_ms', ours.query_remote_join_ms)}`);
    console.log(`with open({ index: { todos: ['due'] } }): query_first_indexed_ms ${fmt('x_ms', ours.query_first_indexed_ms)}, query_update_local_indexed_ms ${fmt('x_ms', ours.query_update_local_indexed_ms)}, query_update_remote_indexed_ms ${fmt('x_ms', ours.query_update_remote_indexed_ms)}; index_build_ms (what the index adds to open()) ${fmt('x_ms', ours.index_build_ms)}`);
  }
  for (const k of Object.values(MEMORY_OPS)) {
    if (typeof ours[k] === 'number') console.log(`${k.padEnd(40)}${fmt(k, ours[k]).padStart(12)}  (linear-memory growth; mycelium-sync only)`);
    doc[k] = ours[k] ?? null;
  }
  writeFileSync(join(outDir, resultName(engine)), `${JSON.stringify(doc, null, 2)}\n`);
  if (ci) {
    // The gates: each ratio to the best peer of this run against its floor.
    console.log(`gates (${engine}): ratio to the best peer, this run, and its floor in bench/gates.json`);
    for (const g of checkRatios(gates, engine, ratios)) {
      // A run of some sections (--sections) gates only the rows it measured.
      if (partial && g.ratio === null) continue;
      console.log(`  ${g.row.padEnd(24)} ${g.ratio === null ? 'n/a' : `${g.ratio.toFixed(2)}x`.padStart(8)}  floor ${g.floor.toFixed(2)}x  ${g.ok ? 'ok' : 'FAILED'}`);
      if (!g.ok) bad++;
    }
  }
  if (ci || (!smoke && !partial)) {
    appendHistory(engine, { date: doc.date, commit, mode: ci ? 'ci' : 'full', browser_version: doc.browser_version, workload: ci ? 'ci' : 'full', ours: Object.fromEntries(KEYS.filter((k) => typeof ours[k] === 'number').map((k) => [k, ours[k]])), ratio_to_best_peer: Object.fromEntries(Object.entries(ratios).filter(([, v]) => typeof v === 'number')) });
  }
  if (pageFloorMs !== undefined) console.log(`cold start of the same page loading no library: ${pageFloorMs.toFixed(1)} ms (median)`);
  if (warmFloorMs !== undefined) console.log(`warm-cache start of the same page loading no library: ${warmFloorMs.toFixed(1)} ms (median)`);
  console.log(`wrote ${join(outDir, resultName(engine)).slice(root.length + 1)}`);
}
await server.close();

if (!partial) {
  writeFileSync(reportPath, renderReport({ dir: outDir, size, engines: smoke ? engines : PROFILES }));
  console.log(`wrote ${reportPath.slice(root.length + 1)} (open it in a browser)`);
}
if (ci) {
  // Size is gated absolutely: bytes do not jitter.
  const core = coreSize(root);
  for (const g of checkBytes(gates, { core_total_gz: core.wasm.gz + core.js.gz })) {
    console.log(`size gate: ${g.key} ${g.bytes} bytes, at most ${g.max}: ${g.ok ? 'ok' : 'FAILED'}`);
    if (!g.ok) bad++;
  }
  console.log(bad === 0 ? 'ci bench: every gate holds' : `ci bench: ${bad} gates failed`);
  process.exit(bad === 0 ? 0 : 1);
}
if (smoke) {
  const html = readFileSync(reportPath, 'utf8');
  if (!html.includes('merge_10k_ms') || /https?:\/\/(?!127\.0\.0\.1)/.test(html.replace(/<a [^>]*>/g, ''))) {
    console.log('bench smoke: the report is incomplete or loads something from outside');
    bad++;
  }
  console.log(bad === 0 ? 'bench smoke: passed' : `bench smoke: ${bad} problems`);
  process.exit(bad === 0 ? 0 : 1);
}
