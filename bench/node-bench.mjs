// npm run bench:node — the native bench's workloads through the TypeScript
// API on the WebAssembly engine, and the same workloads on yjs,
// @automerge/automerge and loro-crdt in the same run. Prints a table and
// writes bench/results/node.json.
//
//   merge_10k_ms             apply a delta of 1,000 inserts + 10,000 mixed ops (70 % lww, 20 % counter, 10 % set add) into an empty replica
//   merge_10k_concurrent_ms  the same into a replica that made 10,000 concurrent ops of its own
//   memory_100k_bytes        100,000 records x 5 fields: WASM linear memory growth + JS heap growth (fresh process, after GC)
//   rss_100k_bytes           the same workload's resident-set growth: one method for every library
//   instantiate_ms           first open() in a fresh process: read, compile and instantiate the module(s)
//   local_writes_per_sec     100,000 single-field writes through the public API, one call each
//   local_writes_tx_per_sec  the same writes in transactions of 1,000 (store.transact; Yjs transact;
//                            one Automerge change; one Loro commit)
//   read_*                   reads of 100,000 records x 5 fields (lww, counter, set, mvr, lww): workloads.js, measureReads
//   query_*                  a live query over 100,000 records (query-workloads.js): ours, TinyBase's queries,
//                            and re-filtering an array, in this process
// Peers get the closest equivalent (Yjs has no counter: a number is set).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as W from './workloads.js';
import { measureMycelium as queryMycelium, measureTinybase as queryTinybase } from './query-workloads.js';

const REPS = Number(process.env.MYC_BENCH_REPS ?? 15);
const WARMUP = 3; // unmeasured rounds first: V8 compiles WebAssembly in tiers
const OPTS = { reps: REPS, warmup: WARMUP };
const now = () => performance.now();

// Each library's module for Node, and its adapter from workloads.js.
const LIBS = {
  mycelium: async () => W.mycelium(await import('mycelium-sync'), OPTS),
  yjs: async () => W.yjs(await import('yjs'), OPTS),
  automerge: async () => W.automerge(await import('@automerge/automerge'), OPTS),
  loro: async () => {
    const L = await import('loro-crdt');
    return W.loro(L, { ...OPTS, wasmMemory: () => L.__wasm.memory.buffer.byteLength });
  },
};

// --- child-process modes: memory and cold instantiation -------------------


async function childMemory(libName) {
  const lib = await LIBS[libName]();
  await lib.instantiate(); // load before measuring: the module's own memory is not data
  global.gc();
  const before = process.memoryUsage();
  const wasmBefore = lib.wasm ? lib.wasm() : 0;
  const kept = await lib.fill(100_000);
  global.gc();
  const after = process.memoryUsage();
  const heap = after.heapUsed - before.heapUsed;
  const buffers = after.arrayBuffers - before.arrayBuffers;
  // WebAssembly linear memory is not in heapUsed or arrayBuffers: read it where
  // the library exposes its memory (automerge does not: its row also shows rss).
  const wasm = lib.wasm ? lib.wasm() - wasmBefore : null;
  console.log(JSON.stringify({ heap, buffers, wasm, rss: after.rss - before.rss, total: heap + buffers + (wasm ?? 0),
    engine: kept.engine ? kept.engine() : null, keep: typeof kept.keep }));
}

async function childInstantiate(libName) {
  const t0 = now();
  const lib = await LIBS[libName]();
  const importMs = now() - t0;
  const ms = await lib.instantiate();
  console.log(JSON.stringify({ import_ms: importMs, first_open_ms: ms, total_ms: importMs + ms }));
}

// One fresh process per operation (mycelium-sync only): workloads.js, memoryOp.
async function childMemoryOp(op) {
  const lib = await LIBS.mycelium();
  console.log(JSON.stringify(await lib.memoryOp(op)));
}

function child(mode, lib) {
  const out = execFileSync(process.execPath, ['--expose-gc', new URL(import.meta.url).pathname, `--${mode}`, lib], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

if (process.argv[2] === '--memory') await childMemory(process.argv[3]);
else if (process.argv[2] === '--memory-op') await childMemoryOp(process.argv[3]);
else if (process.argv[2] === '--instantiate') await childInstantiate(process.argv[3]);
else {
  const results = {};
  for (const key of Object.keys(LIBS)) {
    const lib = await LIBS[key]();
    process.stderr.write(`bench: ${lib.name}…\n`);
    const merge = await lib.merge();
    const reads = await lib.reads(100_000);
    await lib.writes(10_000); // warm up
    const writesMs = await lib.writes(100_000);
    await lib.writesBatched(10_000); // warm up
    const batchedMs = await lib.writesBatched(100_000);
    const memory = child('memory', key);
    const inst = child('instantiate', key);
    results[lib.name] = {
      merge_10k_ms: merge.merge_10k_ms,
      merge_10k_concurrent_ms: merge.merge_10k_concurrent_ms,
      merge_delta_bytes: merge.delta_bytes,
      memory_100k_bytes: memory.total,
      memory_100k_heap_bytes: memory.heap,
      memory_100k_buffer_bytes: memory.buffers,
      memory_100k_wasm_bytes: memory.wasm,
      rss_100k_bytes: memory.rss,
      instantiate_ms: inst.total_ms,
      local_writes_per_sec: Math.round(100_000 / (writesMs / 1000)),
      local_writes_tx_per_sec: Math.round(100_000 / (batchedMs / 1000)),
      ...reads,
    };
    if (key === 'mycelium') {
      results[lib.name].memory_100k_engine_bytes = memory.engine;
      const save = child('memory-op', 'save');
      const sync = child('memory-op', 'sync');
      const apply = child('memory-op', 'apply');
      const over = child('memory-op', 'overwrites');
      Object.assign(results[lib.name], {
        memory_100k_after_save_bytes: save.grown,
        memory_100k_snapshot_bytes: save.output,
        memory_100k_after_initial_sync_bytes: sync.grown,
        memory_100k_initial_sync_delta_bytes: sync.output,
        memory_100k_after_apply_snapshot_bytes: apply.grown,
        memory_after_100k_overwrites_bytes: over.grown,
        memory_after_100k_overwrites_state_bytes: over.state,
      });
    }
  }
  process.stderr.write('bench: live queries (mycelium-sync, tinybase, an array)…\n');
  const queries = { 'mycelium-sync': await queryMycelium(await import('mycelium-sync'), REPS), tinybase: await queryTinybase(await import('tinybase'), REPS) };
  const ours = results['mycelium-sync'];
  const peers = Object.keys(results).filter((k) => k !== 'mycelium-sync');
  const keys = ['merge_10k_ms', 'merge_10k_concurrent_ms', 'memory_100k_bytes', 'rss_100k_bytes', 'instantiate_ms', 'local_writes_per_sec', 'local_writes_tx_per_sec',
    'read_get_us', 'read_get_cold_us', 'read_get_after_change_us', 'read_all_100k_ms', 'read_all_100k_cold_ms'];
  const higherIsBetter = new Set(['local_writes_per_sec', 'local_writes_tx_per_sec']);
  const fmt = (k, v) => (k.endsWith('_bytes') ? `${(v / 1e6).toFixed(2)} MB` : k.endsWith('_ms') ? `${v.toFixed(2)} ms` : k.endsWith('_us') ? `${v.toFixed(2)} µs` : v.toLocaleString('en-US'));
  console.log(`${'key'.padEnd(26)}${['mycelium-sync', ...peers].map((p) => p.padStart(22)).join('')}  best peer / ours`);
  for (const k of keys) {
    const best = higherIsBetter.has(k) ? Math.max(...peers.map((p) => results[p][k])) : Math.min(...peers.map((p) => results[p][k]));
    const ratio = higherIsBetter.has(k) ? ours[k] / best : best / ours[k];
    console.log(`${k.padEnd(26)}${['mycelium-sync', ...peers].map((p) => fmt(k, results[p][k]).padStart(22)).join('')}  ${ratio.toFixed(2)}x`);
  }
  for (const k of ['memory_100k_after_save_bytes', 'memory_100k_after_initial_sync_bytes', 'memory_100k_after_apply_snapshot_bytes', 'memory_after_100k_overwrites_bytes']) {
    console.log(`${k.padEnd(26)}${fmt(k, ours[k]).padStart(22)}  (linear-memory growth; mycelium-sync only)`);
  }
  const q = queries['mycelium-sync'];
  const tb = queries.tinybase;
  console.log(`\nlive query over 100,000 records (not done, votes >= 2, by due, first 50)${''.padEnd(4)}mycelium-sync    tinybase    array`);
  for (const k of ['query_first_ms', 'query_update_local_ms', 'query_update_remote_ms']) {
    const arr = k === 'query_update_local_ms' ? q.array_update_local_ms : null;
    console.log(`${k.padEnd(26)}${fmt(k, q[k]).padStart(45)}${fmt(k, tb[k]).padStart(12)}${(arr === null ? 'n/a' : fmt(k, arr)).padStart(9)}`);
  }
  console.log(`query_remote_join_ms (the 1,000-record delta joined with no query open): ${fmt('x_ms', q.query_remote_join_ms)}`);
  console.log(`with open({ index: { todos: ['due'] } }): first ${fmt('x_ms', q.query_first_indexed_ms)}, local ${fmt('x_ms', q.query_update_local_indexed_ms)}, remote ${fmt('x_ms', q.query_update_remote_indexed_ms)}; the index adds ${fmt('x_ms', q.index_build_ms)} to open()`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    ...Object.fromEntries(keys.map((k) => [k, ours[k]])),
    memory_100k_engine_bytes: ours.memory_100k_engine_bytes,
    ...Object.fromEntries(Object.entries(ours).filter(([k]) => k.startsWith('memory_100k_after') || k.startsWith('memory_after') || k.endsWith('_snapshot_bytes') || k.endsWith('_delta_bytes'))),
    peers: Object.fromEntries(peers.map((p) => [p, results[p]])),
    queries,
  };
  writeFileSync(new URL('./results/node.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log('wrote bench/results/node.json (ratios: how many times better than the best peer)');
}
