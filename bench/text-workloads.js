// The text workloads of npm run bench:text (Node) and of the text row of
// npm run bench (browsers), one module for both: an adapter per library over
// the library's module as the host loaded it, and the measurements on an
// editing trace (../shared/data/editing-traces: { txns: [{ agent, parents,
// patches: [[pos, del, ins], ...] }], endContent, numAgents }).
//
// Adapter: make(agent) → replica; edit(rep, patches) one transaction;
// text(rep); mark(rep) → a version; since(rep, mark) → bytes of what came
// after; merge(rep, bytes); save(rep) → bytes; load(bytes) → replica;
// full(rep) → the whole history as one update; free(rep).

import { median } from './workloads.js';

const TEXT_ADAPTERS = {
  async 'mycelium-sync'(M) {
    const schema = { docs: { body: 'text' } };
    const actor = (n) => (n + 1).toString(16).padStart(16, '0');
    const base = await M.open({ schema, actor: actor(99) });
    base.collection('docs').insert({ id: 'd', body: '' });
    const created = base.deltaSince({});
    base.close();
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

  async yjs(Y) {
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

  async automerge(A) {
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

  async loro(L) {
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

  async 'diamond-types'(DT) {
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

export const TEXT_LIBS = Object.keys(TEXT_ADAPTERS);

/** The adapter of library `name` over its loaded module. */
export function textAdapter(name, module) {
  return TEXT_ADAPTERS[name](module);
}

/**
 * The first `n` transactions of a trace, with the text they leave as its
 * endContent, found by splicing a plain string (the reference every library
 * is checked against).
 */
export function tracePrefix(trace, n) {
  const txns = trace.txns.slice(0, n);
  let text = '';
  for (const t of txns) {
    for (const [pos, del, ins] of t.patches) text = text.slice(0, pos) + ins + text.slice(pos + del);
  }
  return { ...trace, txns, endContent: text };
}

/**
 * A trace of `n` single-patch transactions made up the way people type
 * (runs forward at a caret, backspaces, jumps elsewhere), deterministic in
 * `seed`, with its final text found by splicing a plain string: what the
 * smoke run of npm test uses, so it needs nothing outside the project.
 */
export function syntheticTrace(n, seed = 1) {
  let x = seed >>> 0 || 1;
  const random = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const txns = [];
  let length = 0;
  let caret = 0;
  for (let i = 0; i < n; i++) {
    const roll = random();
    if (roll < 0.05) caret = Math.floor(random() * (length + 1));
    if (roll > 0.85 && caret > 0) {
      txns.push({ agent: 0, parents: i ? [i - 1] : [], patches: [[caret - 1, 1, '']] });
      caret--;
      length--;
      continue;
    }
    const ch = 'etaoin shrdlu\n'[Math.floor(random() * 14)];
    txns.push({ agent: 0, parents: i ? [i - 1] : [], patches: [[caret, 0, ch]] });
    caret++;
    length++;
  }
  return tracePrefix({ txns, numAgents: 1 }, n);
}

/** Throws unless a replica's text is the trace's final text. */
export function checkText(lib, what, got, want) {
  if (got !== want) {
    throw new Error(`${lib}: ${what}: the text (${got.length} chars) is not the trace's endContent (${want.length})`);
  }
}

/**
 * The rows of one trace replayed sequentially (automerge-paper): apply every
 * transaction as a local edit, save, load, and merge the whole history into
 * an empty replica; medians of `reps` (1 for a library whose replay takes
 * over 10 s), after an unmeasured warm-up on the first 2,000 transactions. Returns the rows and the replayed document
 * (alive, for a memory figure; free it with lib.free).
 */
export async function measureTrace(name, lib, trace, reps, now = () => performance.now()) {
  const out = {};
  {
    const r = await lib.make(0);
    for (const t of trace.txns.slice(0, 2000)) lib.edit(r, t.patches);
    lib.text(r);
    lib.free(r);
  }
  let doc = null;
  const apply = [];
  for (let i = 0; i < reps; i++) {
    // One replay is enough of a library that takes over 10 s per replay.
    if (i === 1 && apply[0] > 10_000) reps = 1;
    if (i >= reps) break;
    if (doc) lib.free(doc);
    const r = await lib.make(0);
    const t0 = now();
    for (const t of trace.txns) lib.edit(r, t.patches);
    apply.push(now() - t0);
    checkText(name, 'apply', lib.text(r), trace.endContent);
    doc = r;
  }
  out.text_apply_ms = median(apply);

  const snapshot = lib.save(doc);
  out.text_snapshot_bytes = snapshot.length;
  const load = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    const r = await lib.load(snapshot);
    const text = lib.text(r);
    load.push(now() - t0);
    checkText(name, 'load', text, trace.endContent);
    lib.free(r);
  }
  out.text_load_ms = median(load);

  const history = lib.full(doc);
  out.text_merge_bytes = history.length;
  const merge = [];
  for (let i = 0; i < reps; i++) {
    const r = await lib.make(1);
    const t0 = now();
    lib.merge(r, history);
    const text = lib.text(r);
    merge.push(now() - t0);
    checkText(name, 'merge', text, trace.endContent);
    lib.free(r);
  }
  out.text_merge_ms = median(merge);
  return { rows: out, doc };
}

/**
 * A concurrent trace (friendsforever) with one replica per agent: before each
 * transaction the agent's replica merges the transactions among its parents'
 * ancestors it lacks (each as the delta that transaction produced); every
 * replica ends with every transaction. Median of up to `reps` replays (one
 * when a replay takes over 20 s).
 */
export async function friendsForever(name, lib, ff, reps, now = () => performance.now()) {
  const txns = ff.txns;
  const times = [];
  let bytes = 0;
  for (let rep = 0; rep < Math.max(1, reps); rep++) {
    const replicas = [];
    for (let a = 0; a < ff.numAgents; a++) replicas.push(await lib.make(a));
    const seen = replicas.map(() => new Uint8Array(txns.length));
    const deltas = new Array(txns.length);
    bytes = 0;
    const t0 = now();
    for (let i = 0; i < txns.length; i++) {
      const { agent, parents, patches } = txns[i];
      const r = replicas[agent];
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
    for (let a = 0; a < replicas.length; a++) {
      for (let i = 0; i < txns.length; i++) if (!seen[a][i]) lib.merge(replicas[a], deltas[i]);
    }
    times.push(now() - t0);
    for (const r of replicas) checkText(name, 'friendsforever', lib.text(r), ff.endContent);
    for (const r of replicas) lib.free(r);
    if (times[0] > 20_000) break;
  }
  return { ff_replay_ms: median(times), ff_bytes: bytes };
}
