// npm run bench:text — collaborative text on real editing traces
// (../shared/data/editing-traces, CC BY 4.0, Joseph Gentle's editing-traces
// collection; automerge-paper by Martin Kleppmann), every library in the same
// run: mycelium-sync, yjs, @automerge/automerge, loro-crdt, diamond-types-node.
// Each library runs in its own child process (same script, same inputs) so one
// library's heap does not weigh on another's timings or memory. Prints a table
// and writes bench/results/text.json.
//
//   text_apply_ms        automerge-paper's 259,778 edits replayed as local edits, one
//                        transaction per trace transaction (each one patch): for us one
//                        update(), for Yjs one transact, Automerge one change, Loro one
//                        commit, diamond-types one ins/del call
//   text_snapshot_bytes  the final document encoded as each library saves it
//   text_load_ms         a fresh replica from that encoding, then read the text
//   text_merge_ms        the whole history as one delta/update into an empty replica, then read
//   text_memory_bytes    growth after applying, the document alive, after GC: JS heap +
//                        external + every WebAssembly memory the library instantiated
//   ff_replay_ms         friendsforever: one replica per agent; before each transaction the
//                        agent's replica merges the transactions among its parents' ancestors
//                        it lacks (each as the delta that transaction produced); median of up
//                        to 3 replays (1 when a replay takes over 20 s)
//   ff_bytes             the sum of those per-transaction deltas
// Every row asserts the final text equals the trace's endContent.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { checkText, friendsForever, measureTrace, TEXT_LIBS, textAdapter } from './text-workloads.js';

const TRACES = new URL('../../shared/data/editing-traces/', import.meta.url);
const REPS = Number(process.env.MYC_TEXT_REPS ?? 5);
const now = () => performance.now();

function trace(name) {
  const file = new URL(`${name}.json.gz`, TRACES);
  if (!existsSync(file)) {
    console.error(`bench:text needs ${file.pathname} (the editing traces beside the project)`);
    process.exit(1);
  }
  return JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'));
}

// Every WebAssembly memory a library creates, so its growth can be counted.
const memories = [];
function watchWasmMemory() {
  const keep = (instance) => {
    for (const e of Object.values(instance.exports)) if (e instanceof WebAssembly.Memory) memories.push(e);
  };
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imports) {
    const i = new Instance(module, imports);
    keep(i);
    return i;
  };
  WebAssembly.Instance.prototype = Instance.prototype;
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = async (...args) => {
    const r = await instantiate(...args);
    keep(r.instance ?? r);
    return r;
  };
  const streaming = WebAssembly.instantiateStreaming;
  if (streaming) {
    WebAssembly.instantiateStreaming = async (...args) => {
      const r = await streaming(...args);
      keep(r.instance);
      return r;
    };
  }
}
const wasmBytes = () => memories.reduce((n, m) => n + m.buffer.byteLength, 0);

// --- one library, in a child process -----------------------------------------

const MODULES = {
  'mycelium-sync': () => import('mycelium-sync'),
  yjs: () => import('yjs'),
  automerge: () => import('@automerge/automerge'),
  loro: () => import('loro-crdt'),
  'diamond-types': async () => (await import('diamond-types-node')).default,
};

async function child(name) {
  watchWasmMemory();
  const lib = await textAdapter(name, await MODULES[name]());
  const paper = trace('automerge-paper');
  const out = {};

  // Memory first, in a clean process state: one replay, kept alive.
  {
    const r = await lib.make(0);
    for (const t of paper.txns.slice(0, 2000)) lib.edit(r, t.patches);
    lib.free(r);
  }
  global.gc();
  const m0 = process.memoryUsage();
  const w0 = wasmBytes();
  const doc = await lib.make(0);
  for (const t of paper.txns) lib.edit(doc, t.patches);
  checkText(name, 'apply', lib.text(doc), paper.endContent);
  global.gc();
  const m1 = process.memoryUsage();
  // V8 counts WebAssembly memory in `external`: growth of linear memory is
  // in that delta already (text_memory_wasm_bytes says how much of it).
  out.text_memory_bytes = m1.heapUsed - m0.heapUsed + (m1.external - m0.external);
  out.text_memory_wasm_bytes = wasmBytes() - w0;
  lib.free(doc);

  const measured = await measureTrace(name, lib, paper, REPS, now);
  Object.assign(out, measured.rows);
  lib.free(measured.doc);
  Object.assign(out, await friendsForever(name, lib, trace('friendsforever'), Math.min(REPS, 3), now));
  console.log(JSON.stringify(out));
}

// --- the parent: run every library, print, write ----------------------------

const ROWS = [
  ['text_apply_ms', 'ms'],
  ['text_snapshot_bytes', 'B'],
  ['text_load_ms', 'ms'],
  ['text_merge_ms', 'ms'],
  ['text_merge_bytes', 'B'],
  ['text_memory_bytes', 'B'],
  ['ff_replay_ms', 'ms'],
  ['ff_bytes', 'B'],
];

function fmt(v, unit) {
  if (v == null) return 'n/a';
  if (unit === 'ms') return v < 10 ? v.toFixed(2) : v.toFixed(1);
  return Math.round(v).toLocaleString('en-US');
}

function parent() {
  const results = {};
  for (const name of TEXT_LIBS) {
    process.stderr.write(`${name}… `);
    const stdout = execFileSync(process.execPath, ['--expose-gc', new URL(import.meta.url).pathname, '--child', name], {
      encoding: 'utf8',
      env: { ...process.env },
      maxBuffer: 1 << 24,
    });
    results[name] = JSON.parse(stdout.trim().split('\n').pop());
  }
  process.stderr.write('\n');
  const names = Object.keys(results);
  const peers = names.filter((n) => n !== 'mycelium-sync');
  console.log(`automerge-paper (${REPS} reps, medians) and friendsforever; every final text checked against endContent`);
  console.log(`${'row'.padEnd(22)}${names.map((n) => n.padStart(16)).join('')}   ours vs best peer`);
  const ratios = {};
  for (const [row, unit] of ROWS) {
    const best = Math.min(...peers.map((p) => results[p][row]));
    ratios[row] = best / results['mycelium-sync'][row];
    console.log(
      `${row.padEnd(22)}${names.map((n) => fmt(results[n][row], unit).padStart(16)).join('')}   ${ratios[row].toFixed(2)}x`,
    );
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const out = {
    when: new Date().toISOString(),
    node: process.version,
    reps: REPS,
    ours: results['mycelium-sync'],
    peers: Object.fromEntries(peers.map((p) => [p, results[p]])),
    ratios,
  };
  writeFileSync(new URL('./results/text.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log('wrote bench/results/text.json (ratios: best peer / ours; above 1 means ahead)');
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else parent();
