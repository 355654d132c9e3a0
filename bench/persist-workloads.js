// Persistence workloads for the browser bench, one adapter per library with
// its IndexedDB persistence: mycelium-sync (persist: true), yjs with
// y-indexeddb, automerge with automerge-repo's IndexedDB storage adapter.
//   warm()            loads what the library loads lazily (our engine), untimed
//   persist10k(name, writes)  1,000 records stored, then `writes` (10,000)
//                     single-field writes and the wait until they are
//                     durable (flush; y-indexeddb: a later transaction on its
//                     store completes; automerge-repo: repo.flush())
//   fill(name, n)     n records x 5 fields stored durably, then closed
//   reopen(name)      open the stored data until it is readable; returns its size
//   databases(name)   the IndexedDB databases that hold it (for idb_bytes)
import { person } from './workloads.js';

const now = () => performance.now();
const schema = { people: { name: 'lww', email: 'lww', age: 'lww', visits: 'counter', tags: 'set' } };

export function mycelium(M) {
  return {
    // The engine instantiated before anything is timed, as the peers' wasm is.
    warm: () => M.open({ schema }).then((s) => s.close()),
    async persist10k(name, writes) {
      const s = await M.open({ name, schema, persist: true });
      const people = s.collection('people');
      for (let i = 0; i < 1000; i++) people.insert({ id: `p${i}` });
      await s.flush();
      const t = now();
      for (let i = 0; i < writes; i++) people.update(`p${i % 1000}`, (r) => r.set('age', i));
      await s.flush();
      const ms = now() - t;
      s.close();
      return ms;
    },
    async fill(name, n) {
      const s = await M.open({ name, schema, persist: true });
      const people = s.collection('people');
      for (let i = 0; i < n; i++) people.insert({ id: `p${i}`, ...person(i) });
      await s.flush();
      s.close();
    },
    async reopen(name) {
      const s = await M.open({ name, schema, persist: true });
      const n = s.collection('people').size;
      s.close();
      return n;
    },
    databases: (name) => [`mycelium:${name}`],
  };
}

export function yjs({ Y, IndexeddbPersistence }) {
  // y-indexeddb writes each update in its own transaction as it happens; a
  // later readwrite transaction on the same store completes after them.
  const durable = (p) =>
    new Promise((resolve, reject) => {
      const tx = p.db.transaction(['updates'], 'readwrite');
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
  const build = async (name) => {
    const doc = new Y.Doc();
    const p = new IndexeddbPersistence(name, doc);
    await p.whenSynced;
    return { doc, p };
  };
  return {
    warm: async () => undefined,
    async persist10k(name, writes) {
      const { doc, p } = await build(name);
      const people = doc.getMap('people');
      doc.transact(() => {
        for (let i = 0; i < 1000; i++) people.set(`p${i}`, new Y.Map());
      });
      await durable(p);
      const t = now();
      for (let i = 0; i < writes; i++) people.get(`p${i % 1000}`).set('age', i);
      await durable(p);
      const ms = now() - t;
      await p.destroy();
      return ms;
    },
    async fill(name, n) {
      const { doc, p } = await build(name);
      const people = doc.getMap('people');
      for (let start = 0; start < n; start += 1000) {
        doc.transact(() => {
          for (let i = start; i < Math.min(n, start + 1000); i++) {
            const rec = person(i);
            const m = new Y.Map();
            people.set(`p${i}`, m);
            for (const k of ['name', 'email', 'age', 'visits']) m.set(k, rec[k]);
            const tags = new Y.Array();
            m.set('tags', tags);
            tags.push(rec.tags);
          }
        });
      }
      await durable(p);
      await p.destroy();
    },
    async reopen(name) {
      const { doc, p } = await build(name);
      const n = doc.getMap('people').size;
      await p.destroy();
      return n;
    },
    databases: (name) => [name],
  };
}

export function automerge({ Repo, IndexedDBStorageAdapter, Automerge }) {
  const urls = new Map();
  const repoFor = (name) => new Repo({ storage: new IndexedDBStorageAdapter(name), network: [] });
  return {
    warm: async () => undefined,
    async persist10k(name, writes) {
      const repo = repoFor(name);
      const h = repo.create();
      h.change((d) => {
        d.people = {};
        for (let i = 0; i < 1000; i++) d.people[`p${i}`] = {};
      });
      await repo.flush();
      const t = now();
      for (let i = 0; i < writes; i++) h.change((d) => (d.people[`p${i % 1000}`].age = i));
      await repo.flush();
      const ms = now() - t;
      await repo.shutdown();
      return ms;
    },
    async fill(name, n) {
      const repo = repoFor(name);
      const h = repo.create();
      h.change((d) => (d.people = {}));
      for (let start = 0; start < n; start += 1000) {
        h.change((d) => {
          for (let i = start; i < Math.min(n, start + 1000); i++) {
            const p = person(i);
            d.people[`p${i}`] = { ...p, visits: new Automerge.Counter(p.visits) };
          }
        });
      }
      await repo.flush();
      urls.set(name, h.url);
      localStorage.setItem(`bench-url-${name}`, h.url);
      await repo.shutdown();
    },
    async reopen(name) {
      const repo = repoFor(name);
      const h = await repo.find(urls.get(name) ?? localStorage.getItem(`bench-url-${name}`));
      const n = Object.keys(h.doc().people).length;
      await repo.shutdown();
      return n;
    },
    databases: (name) => [name],
  };
}

/** Bytes of every value stored in these IndexedDB databases (binary values by length, others as JSON). */
export async function idbBytes(names) {
  let total = 0;
  const size = (v) => {
    if (v instanceof ArrayBuffer) return v.byteLength;
    if (ArrayBuffer.isView(v)) return v.byteLength;
    if (v && typeof v === 'object') return Object.values(v).reduce((n, x) => n + size(x), 0);
    return JSON.stringify(v ?? null).length;
  };
  for (const name of names) {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    for (const store of db.objectStoreNames) {
      total += await new Promise((resolve, reject) => {
        let n = 0;
        const c = db.transaction(store).objectStore(store).openCursor();
        c.onsuccess = () => {
          const cur = c.result;
          if (!cur) return resolve(n);
          n += size(cur.value) + size(cur.key);
          cur.continue();
        };
        c.onerror = () => reject(c.error);
      });
    }
    db.close();
  }
  return total;
}
