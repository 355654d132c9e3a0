// The bench page: counts every WebAssembly memory the page creates (so each
// library's linear memory is measured the same way), loads one library and
// runs the workloads of bench/workloads.js on it when the host asks.
import { ADAPTERS } from '../workloads.js';
import * as P from '../persist-workloads.js';
import { checkText, measureTrace, textAdapter } from '../text-workloads.js';
import { measureMycelium as queryMycelium, measureTinybase as queryTinybase } from '../query-workloads.js';
import { loadLib, loadPersistLib } from './libs.js';

const memories = new Set();
function track(result, imports) {
  const instance = result instanceof WebAssembly.Instance ? result : result.instance;
  for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) memories.add(v);
  for (const ns of Object.values(imports ?? {})) for (const v of Object.values(ns ?? {})) if (v instanceof WebAssembly.Memory) memories.add(v);
  return result;
}
// Synchronous instantiation too (diamond-types' glue compiles and instantiates
// its module with the constructors).
const Instance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  return track(new Instance(module, imports), imports);
};
WebAssembly.Instance.prototype = Instance.prototype;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = (source, imports) => instantiate(source, imports).then((r) => track(r, imports));
const streaming = WebAssembly.instantiateStreaming;
if (streaming) WebAssembly.instantiateStreaming = (source, imports) => streaming(source, imports).then((r) => track(r, imports));

const wasmBytes = () => [...memories].reduce((n, m) => n + m.buffer.byteLength, 0);
let adapter = null;
let persisted = null;
const kept = [];
// The text row (bench/text-workloads.js): the library's adapter and the trace.
const TEXT_MODULES = { 'mycelium-sync': 'mycelium', yjs: 'yjs', automerge: 'automerge', loro: 'loro', 'diamond-types': 'dt' };
let text = null;

window.__bench = {
  wasmBytes,
  /** The live-query rows (bench/query-workloads.js): load(name) is not needed first. */
  async queryRows([name, reps, records]) {
    const lib = await loadLib(name);
    const now = () => performance.now();
    return name === 'mycelium' ? queryMycelium(lib, reps, now, records) : queryTinybase(lib, reps, now, records);
  },
  async load(name, opts) {
    const lib = await loadLib(name);
    adapter = await ADAPTERS[name](lib, opts);
    await adapter.instantiate();
    return true;
  },
  merge: () => adapter.merge(),
  /** The read rows (workloads.js, measureReads) for n records. */
  reads: (n) => adapter.reads(n),
  /** Linear-memory growth of one operation (mycelium-sync: workloads.js, memoryOp). */
  memoryOp: (op) => adapter.memoryOp(op),
  /** ms for n writes */
  writes: (n) => adapter.writes(n),
  async fill(n) {
    kept.push(await adapter.fill(n));
    return true;
  },
  // Persistence: load(name) is not needed first.
  async persistLoad(name) {
    persisted = P[name](await loadPersistLib(name));
    await persisted.warm();
    return true;
  },
  persist10k: ([store, writes]) => persisted.persist10k(store, writes),
  persistFill: ([store, n]) => persisted.fill(store, n).then(() => true),
  async persistReopen(store) {
    const t = performance.now();
    const size = await persisted.reopen(store);
    return { ms: performance.now() - t, size };
  },
  persistBytes: (store) => P.idbBytes(persisted.databases(store)),
  // Text: load(name) is not needed first.
  async textLoad([name, traceUrl]) {
    const lib = await textAdapter(name, await loadLib(TEXT_MODULES[name]));
    const trace = await (await fetch(traceUrl)).json();
    text = { name, lib, trace, kept: null };
    return true;
  },
  /** One replay kept alive (after a warm-up), for the host to measure memory around. */
  async textReplay() {
    const { name, lib, trace } = text;
    const warm = await lib.make(0);
    for (const t of trace.txns.slice(0, 2000)) lib.edit(warm, t.patches);
    lib.free(warm);
    text.kept = await lib.make(0);
    for (const t of trace.txns) lib.edit(text.kept, t.patches);
    checkText(name, 'apply', lib.text(text.kept), trace.endContent);
    return true;
  },
  async textRows(reps) {
    const { name, lib, trace } = text;
    if (text.kept) lib.free(text.kept);
    text.kept = null;
    const { rows, doc } = await measureTrace(name, lib, trace, reps);
    lib.free(doc);
    return rows;
  },
};
window.__ready = true;
