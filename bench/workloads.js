// The bench workloads, one adapter per library, shared by the Node bench
// (bench/node-bench.mjs) and the browser bench (bench/browser-bench.mjs).
// Each adapter gets its library's module and { reps, warmup } and offers:
//   merge()      merge_10k_ms / merge_10k_concurrent_ms: apply a delta of
//                1,000 inserts + 10,000 mixed ops (70 % lww, 20 % counter,
//                10 % set add) into an empty replica / into one that made
//                10,000 concurrent ops of its own (the native bench's workloads)
//   fill(n)      n records x 5 fields, kept alive by the caller (memory)
//   writes(n)    n single-field writes through the public API, one call each
//   writesBatched(n) the same writes in groups of BATCH, each one transaction
//                (ours: store.transact; Yjs: doc.transact; Automerge: one
//                change; Loro: one commit)
//   instantiate() the first document/store after the module is loaded
// Peers get the closest equivalent (Yjs has no counter: a number is set).
import { rng } from '../tests-browser/page/fixtures.js';

const now = () => performance.now();
/** Writes per transaction in writesBatched(). */
export const BATCH = 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export { median };

/** The op stream shared by every library: [kind, record, value]. */
function mixedOps(seed) {
  const r = rng(seed);
  const ops = [];
  for (let i = 0; i < 10_000; i++) {
    const id = `p${Math.floor(r() * 1000)}`;
    const k = Math.floor(r() * 10);
    if (k < 7) ops.push(k % 2 ? ['name', id, `name-${Math.floor(r() * 100000)}`] : ['age', id, Math.floor(r() * 100)]);
    else if (k < 9) ops.push(['visits', id, 1]);
    else ops.push(['tags', id, `tag${Math.floor(r() * 8)}`]);
  }
  return ops;
}
export const person = (i) => ({ name: `Person ${String(i).padStart(6, '0')}`, email: `user${String(i).padStart(6, '0')}@mail.test`, age: i % 90, visits: i % 7, tags: [i % 2 ? 'admin' : 'user', i % 3 ? 'active' : 'idle'] });

/** The read workload's record: 5 fields, lww, counter, set, mvr, lww (issue 17). */
export const reader = (i) => ({ name: `Person ${i}`, visits: i % 7, tags: ['a', i % 2 ? 'b' : 'c'], owner: `u${i % 10}`, email: `user${i}@mail.test` });

/**
 * The read rows, measured on a library's read workload: open() gives a new
 * replica of the n records, { get(id), all(), change(ids, value), close?() },
 * where change(ids) makes another replica set `name` of those records and
 * joins that into this one (not timed).
 *   read_get_us               get() of 100,000 random ids, records unchanged (median of 5 passes)
 *   read_get_cold_us          the first of those passes, on a replica nothing was read from yet
 *   read_get_after_change_us  get() of 1,000 records just changed by one remote delta (median of 5 rounds)
 *   read_all_100k_ms          every record, after one record changed remotely (median of 5)
 *   read_all_100k_cold_ms     every record, read first thing from a replica of its own
 * A library slower than budgetMs per row is measured on fewer reads: a get
 * pass stops after budgetMs / 5 (its figure is per read done), and all() is
 * repeated only while the row has used less than budgetMs (at least once).
 * Without it one slow library held WebKit's full profile for over 35 min.
 */
export function measureReads(open, n, budgetMs = 10_000) {
  const r = rng(17);
  const ids = Array.from({ length: n }, () => `p${Math.floor(r() * n)}`);
  let sink = 0;
  const passBudget = budgetMs / 5;
  /** Microseconds per get() over ids, or over the prefix read in passBudget. */
  const getPass = (w, list) => {
    const t = now();
    let done = 0;
    while (done < list.length) {
      const end = Math.min(list.length, done + 256);
      for (; done < end; done++) sink += w.get(list[done]) ? 1 : 0;
      if (now() - t > passBudget) break;
    }
    return ((now() - t) * 1000) / done;
  };
  // A replica of its own for the first read of everything.
  const cold = open();
  const t0 = now();
  sink += cold.all().length;
  const allCold = now() - t0;
  cold.close?.();
  const w = open();
  const passes = [];
  for (let k = 0; k < 5; k++) passes.push(getPass(w, ids));
  const after = [];
  for (let k = 0; k < 5; k++) {
    const changed = Array.from({ length: 1000 }, (_, i) => `p${(k * 7919 + i * 97) % n}`);
    w.change(changed, `round ${k}`);
    after.push(getPass(w, changed));
  }
  const alls = [];
  const allsStart = now();
  for (let k = 0; k < 5 && (k === 0 || now() - allsStart < budgetMs); k++) {
    w.change([`p${(k * 31337) % n}`], `all ${k}`);
    const t = now();
    sink += w.all().length;
    alls.push(now() - t);
  }
  if (sink === 0) throw new Error('read bench: nothing was read');
  w.close?.();
  return {
    read_get_us: median(passes),
    read_get_cold_us: passes[0],
    read_get_after_change_us: median(after),
    read_all_100k_ms: median(alls),
    read_all_100k_cold_ms: allCold,
  };
}

// --- libraries: each implements the same five workloads ------------------

export async function mycelium(M, { reps, warmup }) {
  const schema = { people: { name: 'lww', email: 'lww', age: 'lww', visits: 'counter', tags: 'set' } };
  const open = (actor) => M.open({ schema, actor });
  const apply = (s, ops) => {
    const people = s.collection('people');
    for (const [f, id, v] of ops) {
      people.update(id, (r) => (f === 'visits' ? r.increment(f, v) : f === 'tags' ? r.add(f, v) : r.set(f, v)));
    }
  };
  const inserts = async (actor) => {
    const s = await open(actor);
    for (let i = 0; i < 1000; i++) s.collection('people').insert({ id: `p${i}` });
    return s;
  };
  return {
    name: 'mycelium-sync',
    async merge() {
      const src = await inserts('0000000000001111');
      apply(src, mixedOps(1));
      const delta = src.deltaSince();
      const base = await inserts('0000000000001111');
      const other = await open('0000000000003333');
      other.applyDelta(base.save());
      apply(other, mixedOps(2));
      const baseSnap = other.save();
      const plain = [], conc = [];
      for (let i = -warmup; i < reps; i++) {
        const s = await open('0000000000002222');
        let t = now();
        s.applyDelta(delta);
        if (i >= 0) plain.push(now() - t);
        s.close();
        const c = await M.open({ schema, actor: '0000000000003333', snapshot: baseSnap });
        t = now();
        c.applyDelta(delta);
        if (i >= 0) conc.push(now() - t);
        c.close();
      }
      return { merge_10k_ms: median(plain), merge_10k_concurrent_ms: median(conc), delta_bytes: delta.length };
    },
    async fill(n) {
      const s = await open('0000000000004444');
      const people = s.collection('people');
      for (let i = 0; i < n; i++) people.insert({ id: `p${i}`, ...person(i) });
      return { keep: s, engine: () => s.memoryBytes() };
    },
    async writes(n) {
      const s = await inserts('0000000000005555');
      const people = s.collection('people');
      const t = now();
      for (let i = 0; i < n; i++) people.update(`p${i % 1000}`, (r) => r.set('age', i));
      return now() - t;
    },
    async writesBatched(n) {
      const s = await inserts('0000000000005556');
      const people = s.collection('people');
      const t = now();
      for (let start = 0; start < n; start += BATCH) {
        s.transact(() => {
          for (let i = start; i < Math.min(n, start + BATCH); i++) people.update(`p${i % 1000}`, (r) => r.set('age', i));
        });
      }
      return now() - t;
    },
    async instantiate() {
      const t = now();
      await open('0000000000006666');
      return now() - t;
    },
    async reads(n) {
      const rschema = { people: { name: 'lww', visits: 'counter', tags: 'set', owner: 'mvr', email: 'lww' } };
      const writer = await M.open({ schema: rschema, actor: '0000000000007777' });
      const wp = writer.collection('people');
      for (let i = 0; i < n; i++) wp.insert({ id: `p${i}`, ...reader(i) });
      const snapshot = writer.save();
      // Opened ahead: measureReads is synchronous, open() is not.
      const replicas = [await M.open({ schema: rschema, snapshot }), await M.open({ schema: rschema, snapshot })];
      const rows = measureReads(() => {
        const s = replicas.shift();
        const people = s.collection('people');
        return {
          get: (id) => people.get(id),
          all: () => people.all(),
          change(ids, value) {
            const v = s.version();
            for (const id of ids) wp.update(id, (r) => r.set('name', value));
            s.applyDelta(writer.deltaSince(v));
          },
          close: () => s.close(),
        };
      }, n);
      writer.close();
      return rows;
    },
    /**
     * Linear memory never shrinks: the growth one operation causes is what
     * the page keeps (every WebAssembly memory of the SDK, wasmMemoryBytes()).
     * Call once per fresh process or page. op:
     *   save        save() of 100,000 records (lww, counter, set, mvr, lww)
     *   sync        deltaSince({}) of them: what a new peer's initial sync sends
     *   apply       applyDelta() of their snapshot into an empty replica: what it receives
     *   overwrites  100,000 overwrites of one 60-byte lww field
     * Returns { grown, output (bytes of the delta or snapshot), state (bytes of the store's snapshot after) }.
     */
    async memoryOp(op) {
      const rschema = { people: { name: 'lww', visits: 'counter', tags: 'set', owner: 'mvr', email: 'lww' } };
      const s = await M.open({ schema: rschema, actor: '0000000000009999' });
      const people = s.collection('people');
      if (op === 'overwrites') {
        people.insert({ id: 'note', name: '' });
        const base = M.wasmMemoryBytes();
        for (let i = 0; i < 100_000; i++) people.update('note', (r) => r.set('name', `${String(i).padStart(8, '0')} ${'x'.repeat(51)}`));
        return { grown: M.wasmMemoryBytes() - base, output: 0, state: s.save().length, engine: s.memoryBytes() };
      }
      for (let i = 0; i < 100_000; i++) people.insert({ id: `p${i}`, ...reader(i) });
      if (op === 'apply') {
        const snapshot = s.save();
        s.close();
        const r = await M.open({ schema: rschema, actor: '0000000000008888' });
        const base = M.wasmMemoryBytes();
        r.applyDelta(snapshot);
        return { grown: M.wasmMemoryBytes() - base, output: snapshot.length, state: snapshot.length, engine: r.memoryBytes() };
      }
      const base = M.wasmMemoryBytes();
      const bytes = op === 'save' ? s.save() : s.deltaSince({});
      return { grown: M.wasmMemoryBytes() - base, output: bytes.length, state: bytes.length, engine: s.memoryBytes() };
    },
    wasm: () => M.wasmMemoryBytes(),
  };
}

/** n people(i) into doc's 'people' map, a Y.Map each, 1,000 per transaction (the memory and sync workloads). */
export function yjsFill(Y, doc, n) {
  const people = doc.getMap('people');
  for (let start = 0; start < n; start += 1000) {
    doc.transact(() => {
      for (let i = start; i < Math.min(n, start + 1000); i++) {
        const p = person(i);
        const m = new Y.Map();
        people.set(`p${i}`, m);
        m.set('name', p.name);
        m.set('email', p.email);
        m.set('age', p.age);
        m.set('visits', p.visits);
        const tags = new Y.Array();
        m.set('tags', tags);
        tags.push(p.tags);
      }
    });
  }
}

export async function yjs(Y, { reps, warmup }) {
  const build = (clientID) => {
    const doc = new Y.Doc();
    doc.clientID = clientID;
    return doc;
  };
  const inserts = (doc) => {
    const people = doc.getMap('people');
    doc.transact(() => {
      for (let i = 0; i < 1000; i++) people.set(`p${i}`, new Y.Map());
    });
    return doc;
  };
  const apply = (doc, ops) => {
    const people = doc.getMap('people');
    for (const [f, id, v] of ops) {
      const rec = people.get(id);
      if (f === 'visits') rec.set(f, (rec.get(f) ?? 0) + v);
      else if (f === 'tags') {
        let arr = rec.get('tags');
        if (!arr) rec.set('tags', (arr = new Y.Array()));
        arr.push([v]);
      } else rec.set(f, v);
    }
  };
  return {
    name: 'yjs',
    async merge() {
      const src = inserts(build(1111));
      apply(src, mixedOps(1));
      const update = Y.encodeStateAsUpdate(src);
      const other = build(3333);
      Y.applyUpdate(other, Y.encodeStateAsUpdate(inserts(build(1111))));
      apply(other, mixedOps(2));
      const base = Y.encodeStateAsUpdate(other);
      const plain = [], conc = [];
      for (let i = -warmup; i < reps; i++) {
        const d = build(2222);
        let t = now();
        Y.applyUpdate(d, update);
        if (i >= 0) plain.push(now() - t);
        const c = build(3333);
        Y.applyUpdate(c, base);
        t = now();
        Y.applyUpdate(c, update);
        if (i >= 0) conc.push(now() - t);
      }
      return { merge_10k_ms: median(plain), merge_10k_concurrent_ms: median(conc), delta_bytes: update.length };
    },
    async fill(n) {
      const doc = build(4444);
      yjsFill(Y, doc, n);
      return { keep: doc };
    },
    async writes(n) {
      const doc = inserts(build(5555));
      const people = doc.getMap('people');
      const t = now();
      for (let i = 0; i < n; i++) people.get(`p${i % 1000}`).set('age', i);
      return now() - t;
    },
    async writesBatched(n) {
      const doc = inserts(build(5556));
      const people = doc.getMap('people');
      const t = now();
      for (let start = 0; start < n; start += BATCH) {
        doc.transact(() => {
          for (let i = start; i < Math.min(n, start + BATCH); i++) people.get(`p${i % 1000}`).set('age', i);
        });
      }
      return now() - t;
    },
    async reads(n) {
      const writer = build(7777);
      const wp = writer.getMap('people');
      for (let start = 0; start < n; start += 1000) {
        writer.transact(() => {
          for (let i = start; i < Math.min(n, start + 1000); i++) {
            const p = reader(i);
            const m = new Y.Map();
            wp.set(`p${i}`, m);
            m.set('name', p.name);
            m.set('visits', p.visits);
            const tags = new Y.Array();
            m.set('tags', tags);
            tags.push(p.tags);
            m.set('owner', p.owner);
            m.set('email', p.email);
          }
        });
      }
      const state = Y.encodeStateAsUpdate(writer);
      let client = 8888;
      return measureReads(() => {
        const doc = build(client++);
        Y.applyUpdate(doc, state);
        const people = doc.getMap('people');
        return {
          get: (id) => people.get(id).toJSON(),
          all: () => people.toJSON(),
          change(ids, value) {
            const sv = Y.encodeStateVector(doc);
            writer.transact(() => {
              for (const id of ids) wp.get(id).set('name', value);
            });
            Y.applyUpdate(doc, Y.encodeStateAsUpdate(writer, sv));
          },
        };
      }, n);
    },
    async instantiate() {
      const t = now();
      build(6666);
      return now() - t;
    },
  };
}

export async function automerge(A, { reps, warmup }) {
  const actor = (n) => n.toString(16).padStart(32, '0');
  const inserts = (n) =>
    A.change(A.init({ actor: actor(n) }), (d) => {
      d.people = {};
      for (let i = 0; i < 1000; i++) d.people[`p${i}`] = { visits: new A.Counter(0), tags: [] };
    });
  const apply = (doc, ops) => {
    for (const [f, id, v] of ops) {
      doc = A.change(doc, (d) => {
        const rec = d.people[id];
        if (f === 'visits') rec.visits.increment(v);
        else if (f === 'tags') rec.tags.push(v);
        else rec[f] = v;
      });
    }
    return doc;
  };
  return {
    name: '@automerge/automerge',
    async merge() {
      const base0 = inserts(0x1111);
      const src = apply(A.clone(base0), mixedOps(1));
      const changes = A.getChanges(base0, src);
      const full = A.save(src);
      const other = apply(A.clone(base0, { actor: actor(0x3333) }), mixedOps(2));
      const plain = [], conc = [];
      for (let i = -warmup; i < reps; i++) {
        let t = now();
        A.loadIncremental(A.init({ actor: actor(0x2222) }), full);
        if (i >= 0) plain.push(now() - t);
        const c = A.clone(other);
        t = now();
        A.applyChanges(c, changes);
        if (i >= 0) conc.push(now() - t);
      }
      return { merge_10k_ms: median(plain), merge_10k_concurrent_ms: median(conc), delta_bytes: full.length };
    },
    async fill(n) {
      let doc = A.change(A.init({ actor: actor(0x4444) }), (d) => {
        d.people = {};
      });
      for (let start = 0; start < n; start += 1000) {
        doc = A.change(doc, (d) => {
          for (let i = start; i < Math.min(n, start + 1000); i++) {
            const p = person(i);
            d.people[`p${i}`] = { ...p, visits: new A.Counter(p.visits) };
          }
        });
      }
      return { keep: doc };
    },
    async writes(n) {
      let doc = inserts(0x5555);
      const t = now();
      for (let i = 0; i < n; i++) {
        doc = A.change(doc, (d) => {
          d.people[`p${i % 1000}`].age = i;
        });
      }
      return now() - t;
    },
    async writesBatched(n) {
      let doc = inserts(0x5556);
      const t = now();
      for (let start = 0; start < n; start += BATCH) {
        doc = A.change(doc, (d) => {
          for (let i = start; i < Math.min(n, start + BATCH); i++) d.people[`p${i % 1000}`].age = i;
        });
      }
      return now() - t;
    },
    async reads(n) {
      let writer = A.change(A.init({ actor: actor(0x7777) }), (d) => {
        d.people = {};
      });
      for (let start = 0; start < n; start += 1000) {
        writer = A.change(writer, (d) => {
          for (let i = start; i < Math.min(n, start + 1000); i++) {
            const p = reader(i);
            d.people[`p${i}`] = { ...p, visits: new A.Counter(p.visits) };
          }
        });
      }
      const saved = A.save(writer);
      let client = 0x8888;
      return measureReads(() => {
        let doc = A.load(saved, { actor: actor(client++) });
        return {
          get: (id) => doc.people[id],
          all: () => Object.values(doc.people),
          change(ids, value) {
            const before = writer;
            writer = A.change(writer, (d) => {
              for (const id of ids) d.people[id].name = value;
            });
            [doc] = A.applyChanges(doc, A.getChanges(before, writer));
          },
        };
      }, n);
    },
    async instantiate() {
      const t = now();
      A.init();
      return now() - t;
    },
  };
}

export async function loro(L, { reps, warmup, wasmMemory }) {
  const { LoroDoc, LoroMap, LoroCounter, LoroList } = L;
  const build = (peer) => {
    const doc = new LoroDoc();
    doc.setPeerId(BigInt(peer));
    return doc;
  };
  const inserts = (doc) => {
    const people = doc.getMap('people');
    for (let i = 0; i < 1000; i++) {
      const m = people.setContainer(`p${i}`, new LoroMap());
      m.setContainer('visits', new LoroCounter());
      m.setContainer('tags', new LoroList());
    }
    doc.commit();
    return doc;
  };
  const apply = (doc, ops) => {
    const people = doc.getMap('people');
    for (const [f, id, v] of ops) {
      const rec = people.get(id);
      if (f === 'visits') rec.get('visits').increment(v);
      else if (f === 'tags') rec.get('tags').push(v);
      else rec.set(f, v);
      doc.commit();
    }
  };
  return {
    name: 'loro-crdt',
    async merge() {
      const src = inserts(build(0x1111));
      apply(src, mixedOps(1));
      const update = src.export({ mode: 'update' });
      const other = build(0x3333);
      other.import(inserts(build(0x1111)).export({ mode: 'update' }));
      apply(other, mixedOps(2));
      const base = other.export({ mode: 'snapshot' });
      const plain = [], conc = [];
      for (let i = -warmup; i < reps; i++) {
        const d = build(0x2222);
        let t = now();
        d.import(update);
        if (i >= 0) plain.push(now() - t);
        const c = build(0x3333);
        c.import(base);
        t = now();
        c.import(update);
        if (i >= 0) conc.push(now() - t);
      }
      return { merge_10k_ms: median(plain), merge_10k_concurrent_ms: median(conc), delta_bytes: update.length };
    },
    async fill(n) {
      const doc = build(0x4444);
      const people = doc.getMap('people');
      for (let i = 0; i < n; i++) {
        const p = person(i);
        const m = people.setContainer(`p${i}`, new LoroMap());
        m.set('name', p.name);
        m.set('email', p.email);
        m.set('age', p.age);
        m.setContainer('visits', new LoroCounter()).increment(p.visits);
        const tags = m.setContainer('tags', new LoroList());
        for (const t of p.tags) tags.push(t);
        if (i % 1000 === 999) doc.commit();
      }
      doc.commit();
      return { keep: doc };
    },
    async writes(n) {
      const doc = inserts(build(0x5555));
      const people = doc.getMap('people');
      const t = now();
      for (let i = 0; i < n; i++) {
        people.get(`p${i % 1000}`).set('age', i);
        doc.commit();
      }
      return now() - t;
    },
    async writesBatched(n) {
      const doc = inserts(build(0x5556));
      const people = doc.getMap('people');
      const t = now();
      for (let start = 0; start < n; start += BATCH) {
        for (let i = start; i < Math.min(n, start + BATCH); i++) people.get(`p${i % 1000}`).set('age', i);
        doc.commit();
      }
      return now() - t;
    },
    async reads(n) {
      const writer = build(0x7777);
      const wp = writer.getMap('people');
      for (let i = 0; i < n; i++) {
        const p = reader(i);
        const m = wp.setContainer(`p${i}`, new LoroMap());
        m.set('name', p.name);
        m.setContainer('visits', new LoroCounter()).increment(p.visits);
        const tags = m.setContainer('tags', new LoroList());
        for (const t of p.tags) tags.push(t);
        m.set('owner', p.owner);
        m.set('email', p.email);
        if (i % 1000 === 999) writer.commit();
      }
      writer.commit();
      const snapshot = writer.export({ mode: 'snapshot' });
      let peer = 0x8888;
      return measureReads(() => {
        const doc = build(peer++);
        doc.import(snapshot);
        const people = doc.getMap('people');
        return {
          get: (id) => people.get(id).toJSON(),
          all: () => people.toJSON(),
          change(ids, value) {
            const from = doc.oplogVersion();
            for (const id of ids) wp.get(id).set('name', value);
            writer.commit();
            doc.import(writer.export({ mode: 'update', from }));
          },
        };
      }, n);
    },
    async instantiate() {
      const t = now();
      build(0x6666);
      return now() - t;
    },
    wasm: wasmMemory,
  };
}

export const ADAPTERS = { mycelium, yjs, automerge, loro };
