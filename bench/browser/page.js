// The bench page: counts every WebAssembly memory the page creates (so each
// library's linear memory is measured the same way), loads one library and
// runs the workloads of bench/workloads.js on it when the host asks.
import { ADAPTERS } from '../workloads.js';
import * as P from '../persist-workloads.js';
import { loadLib, loadPersistLib } from './libs.js';

const memories = new Set();
function track(result, imports) {
  const instance = result instanceof WebAssembly.Instance ? result : result.instance;
  for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) memories.add(v);
  for (const ns of Object.values(imports ?? {})) for (const v of Object.values(ns ?? {})) if (v instanceof WebAssembly.Memory) memories.add(v);
  return result;
}
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = (source, imports) => instantiate(source, imports).then((r) => track(r, imports));
const streaming = WebAssembly.instantiateStreaming;
if (streaming) WebAssembly.instantiateStreaming = (source, imports) => streaming(source, imports).then((r) => track(r, imports));

const wasmBytes = () => [...memories].reduce((n, m) => n + m.buffer.byteLength, 0);
let adapter = null;
let persisted = null;
const kept = [];

window.__bench = {
  wasmBytes,
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
};
window.__ready = true;
