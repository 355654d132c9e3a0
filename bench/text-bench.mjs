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
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const TRACES = new URL('../../shared/data/editing-traces/', import.meta.url);
const REPS = Number(process.env.MYC_TEXT_REPS ?? 5);
const now = () => performance.now();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function trace(name) {
  return JSON.parse(gunzipSync(readFileSync(new URL(`${name}.json.gz`, TRACES))).toString('utf8'));
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

// --- adapters: one text document per replica --------------------------------
// new(agent) → replica; edit(rep, patches) one transaction; text(rep);
// mark(rep) → a version; since(rep, mark) → bytes of what came after;
// merge(rep, bytes); save(rep) → bytes; load(bytes) → replica; full(rep) → the history.

const ADAPTERS = {
  async 'mycelium-sync'() {
    const M = await import('mycelium-sync');
    const schema = { docs: { body: 'text' } };
    const actor = (n) => (n + 1).toString(16).padStart(16, '0');
    const base = await M.open({ schema, actor: actor(99) });
    base.collection('docs').insert({ id: 'd', body: '' });
    const created = base.deltaSince({});
    const make = async (agent) => {
      const store = await M.open({ schema, actor: actor(agent) });
      store.applyDelta(created);
      return { store, docs: store.collection('docs') };
    };
    return {
      make,
      edit(r, patches) {
        r.docs.update('d', (w) => {
          for (const [pos, del, ins] of patches) {
            if (del) w.delete('body', pos, del);
            if (ins) w.insert('body', pos, ins);
          }
        });
      },
      text: (r) => r.docs.get('d').body,
      mark: (r) => r.store.version(),
      since: (r, v) => r.store.deltaSince(v),
      merge(r, bytes) {
        if (r.store.applyDelta(bytes) !== 'applied') throw new Error('a delta was not applied');
      },
      save: (r) => r.store.save(),
      full: (r) => r.store.deltaSince({}),
      async load(bytes) {
        const store = await M.open({ schema, actor: actor(98) });
        store.applyDelta(bytes);
        return { store, docs: store.collection('docs') };
      },
      free: (r) => r.store.close(),
    };
  },

  async yjs() {
    const Y = await import('yjs');
    const make = (agent) => {
      const doc = new Y.Doc();
      doc.clientID = agent + 1;
      return { doc, t: doc.getText('t') };
    };
    return {
      make,
      edit(r, patches) {
        r.doc.transact(() => {
          for (const [pos, del, ins] of patches) {
            if (del) r.t.delete(pos, del);
            if (ins) r.t.insert(pos, ins);
          }
        });
      },
      text: (r) => r.t.toString(),
      mark: (r) => Y.encodeStateVector(r.doc),
      since: (r, v) => Y.encodeStateAsUpdate(r.doc, v),
      merge: (r, bytes) => Y.applyUpdate(r.doc, bytes),
      save: (r) => Y.encodeStateAsUpdate(r.doc),
      full: (r) => Y.encodeStateAsUpdate(r.doc),
      load(bytes) {
        const r = make(97);
        Y.applyUpdate(r.doc, bytes);
        return r;
      },
      free: (r) => r.doc.destroy(),
    };
  },

  async automerge() {
    const A = await import('@automerge/automerge');
    const actor = (n) => (n + 1).toString(16).padStart(32, '0');
    const base = A.change(A.init({ actor: actor(99) }), (d) => {
      d.text = '';
    });
    const make = (agent) => ({ doc: A.clone(base, { actor: actor(agent) }) });
    return {
      make,
      edit(r, patches) {
        r.doc = A.change(r.doc, (d) => {
          for (const [pos, del, ins] of patches) A.splice(d, ['text'], pos, del, ins);
        });
      },
      text: (r) => r.doc.text,
      mark: (r) => A.getHeads(r.doc),
      since: (r, heads) => A.saveSince(r.doc, heads),
      merge(r, bytes) {
        r.doc = A.loadIncremental(r.doc, bytes);
      },
      save: (r) => A.save(r.doc),
      full: (r) => A.save(r.doc),
      load: (bytes) => ({ doc: A.load(bytes) }),
      free: (r) => A.free(r.doc),
    };
  },

  async loro() {
    const L = await import('loro-crdt');
    const make = (agent) => {
      const doc = new L.LoroDoc();
      doc.setPeerId(BigInt(agent + 1));
      return { doc, t: doc.getText('t') };
    };
    return {
      make,
      edit(r, patches) {
        for (const [pos, del, ins] of patches) {
          if (del) r.t.delete(pos, del);
          if (ins) r.t.insert(pos, ins);
        }
        r.doc.commit();
      },
      text: (r) => r.t.toString(),
      mark: (r) => r.doc.oplogVersion(),
      since: (r, vv) => r.doc.export({ mode: 'update', from: vv }),
      merge: (r, bytes) => r.doc.import(bytes),
      save: (r) => r.doc.export({ mode: 'snapshot' }),
      full: (r) => r.doc.export({ mode: 'update' }),
      load(bytes) {
        const doc = L.LoroDoc.fromSnapshot(bytes);
        return { doc, t: doc.getText('t') };
      },
      free: (r) => r.doc.free(),
    };
  },

  async 'diamond-types'() {
    const { default: DT } = await import('diamond-types-node');
    const make = (agent) => ({ doc: new DT.Doc(`agent${agent}`) });
    return {
      make,
      edit(r, patches) {
        for (const [pos, del, ins] of patches) {
          if (del) r.doc.del(pos, del);
          if (ins) r.doc.ins(pos, ins);
        }
      },
      text: (r) => r.doc.get(),
      mark: (r) => r.doc.getLocalVersion(),
      since: (r, v) => r.doc.getPatchSince(v),
      merge: (r, bytes) => r.doc.mergeBytes(bytes),
      save: (r) => r.doc.toBytes(),
      full: (r) => r.doc.getPatchSince(new Uint32Array(0)),
      load(bytes) {
        const doc = new DT.Doc('loader');
        doc.mergeBytes(bytes);
        return { doc };
      },
      free: (r) => r.doc.free(),
    };
  },
};

function check(lib, what, got, want) {
  if (got !== want) {
    throw new Error(`${lib}: ${what}: the text (${got.length} chars) is not the trace's endContent (${want.length})`);
  }
}

// --- one library, in a child process -----------------------------------------

async function child(name) {
  watchWasmMemory();
  const lib = await ADAPTERS[name]();
  const paper = trace('automerge-paper');
  const out = {};

  // Warm the library (and its module) on a small prefix, unmeasured.
  {
    const r = await lib.make(0);
    for (const t of paper.txns.slice(0, 2000)) lib.edit(r, t.patches);
    lib.text(r);
    lib.free(r);
  }

  // Memory first, in a clean process state: one replay, kept alive.
  global.gc();
  const m0 = process.memoryUsage();
  const w0 = wasmBytes();
  let doc = await lib.make(0);
  for (const t of paper.txns) lib.edit(doc, t.patches);
  check(name, 'apply', lib.text(doc), paper.endContent);
  global.gc();
  const m1 = process.memoryUsage();
  // V8 counts WebAssembly memory in `external`: growth of linear memory is
  // in that delta already (text_memory_wasm_bytes says how much of it).
  out.text_memory_bytes = m1.heapUsed - m0.heapUsed + (m1.external - m0.external);
  out.text_memory_wasm_bytes = wasmBytes() - w0;

  const apply = [];
  for (let i = 0; i < REPS; i++) {
    lib.free(doc);
    const r = await lib.make(0);
    const t0 = now();
    for (const t of paper.txns) lib.edit(r, t.patches);
    apply.push(now() - t0);
    check(name, 'apply', lib.text(r), paper.endContent);
    doc = r;
  }
  out.text_apply_ms = median(apply);

  const snapshot = lib.save(doc);
  out.text_snapshot_bytes = snapshot.length;
  const load = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = now();
    const r = await lib.load(snapshot);
    const text = lib.text(r);
    load.push(now() - t0);
    check(name, 'load', text, paper.endContent);
    lib.free(r);
  }
  out.text_load_ms = median(load);

  const history = lib.full(doc);
  out.text_merge_bytes = history.length;
  const merge = [];
  for (let i = 0; i < REPS; i++) {
    const r = await lib.make(1);
    const t0 = now();
    lib.merge(r, history);
    const text = lib.text(r);
    merge.push(now() - t0);
    check(name, 'merge', text, paper.endContent);
    lib.free(r);
  }
  out.text_merge_ms = median(merge);
  lib.free(doc);

  Object.assign(out, await friendsForever(name, lib));
  console.log(JSON.stringify(out));
}

async function friendsForever(name, lib) {
  const ff = trace('friendsforever');
  const txns = ff.txns;
  const times = [];
  let bytes = 0;
  for (let rep = 0; rep < Math.max(1, Math.min(REPS, 3)); rep++) {
    const reps = [];
    for (let a = 0; a < ff.numAgents; a++) reps.push(await lib.make(a));
    const seen = reps.map(() => new Uint8Array(txns.length));
    const deltas = new Array(txns.length);
    bytes = 0;
    const t0 = now();
    for (let i = 0; i < txns.length; i++) {
      const { agent, parents, patches } = txns[i];
      const r = reps[agent];
      const has = seen[agent];
      // The ancestors this replica lacks, merged oldest first (indexes are a topological order).
      const need = [];
      const stack = [...parents];
      while (stack.length) {
        const p = stack.pop();
        if (has[p]) continue;
        has[p] = 1;
        need.push(p);
        for (const q of txns[p].parents) if (!has[q]) stack.push(q);
      }
      need.sort((x, y) => x - y);
      for (const p of need) lib.merge(r, deltas[p]);
      const before = lib.mark(r);
      lib.edit(r, patches);
      deltas[i] = lib.since(r, before);
      bytes += deltas[i].length;
      has[i] = 1;
    }
    // Every replica ends with everything.
    for (let a = 0; a < reps.length; a++) {
      for (let i = 0; i < txns.length; i++) if (!seen[a][i]) lib.merge(reps[a], deltas[i]);
    }
    times.push(now() - t0);
    for (const r of reps) check(name, 'friendsforever', lib.text(r), ff.endContent);
    for (const r of reps) lib.free(r);
    if (times[0] > 20_000) break; // one replay is enough for a library this slow
  }
  return { ff_replay_ms: median(times), ff_bytes: bytes };
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
  for (const name of Object.keys(ADAPTERS)) {
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
