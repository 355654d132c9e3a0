// The live-query rows (docs/queries.md, issue 19), one module for Node and the
// browsers: 100,000 todos; the query "not done, at least 2 votes, by due date,
// the first 50"; the same answer three ways in the same run:
//   mycelium-sync   collection.query(...).results(), maintained incrementally
//   tinybase        a TinyBase store with its queries module (setQueryDefinition,
//                   getResultSortedRowIds with a limit), maintained by TinyBase
//   array           what an app does without either: filter, sort and slice
//                   all() again after every change
// Rows (medians):
//   query_first_ms         the query made on the loaded records until its first results
//   query_update_local_ms  one local write to a record in the window, until the results show it
//   query_update_remote_ms a delta of 1,000 changed records (mycelium-sync: joined from a
//                          peer; tinybase: 1,000 setCell calls in one transaction), until the
//                          results show them; the join (or the writes) included
//   query_remote_join_ms   mycelium-sync: the same delta joined with no query open (so the
//                          query's own share is the difference)
//   *_indexed_ms           mycelium-sync with open({ index: { todos: ['due'] } }) (docs/queries.md,
//                          Indexes): the same rows; index_build_ms what the index adds to open()
// Every answer is checked against the array's.
import { median } from './workloads.js';

/** Records (the smoke runs pass fewer). */
let N = 100_000;
const LIMIT = 50;

const todo = (i) => ({ title: `todo ${i}`, done: i % 3 === 0, due: `2027-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`, votes: i % 7 });
const match = (r) => r.done === false && r.votes >= 2;
const byDue = (a, b) => (a.due < b.due ? -1 : a.due > b.due ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function check(what, got, want) {
  if (got.length !== want.length || got.some((id, i) => id !== want[i])) {
    throw new Error(`query bench: ${what} differs from the plain filter and sort (${got.slice(0, 3)} vs ${want.slice(0, 3)})`);
  }
}

function plain(records) {
  return records.filter(match).sort(byDue).slice(0, LIMIT);
}

/** The rows for mycelium-sync and the array baseline (M: the package's module). */
export async function measureMycelium(M, reps, now = () => performance.now(), records = 100_000) {
  N = records;
  const schema = { todos: { title: 'lww', done: 'lww', due: 'lww', votes: 'counter' } };
  const a = await M.open({ schema, actor: '00000000000000a1' });
  const b = await M.open({ schema, actor: '00000000000000b2' });
  const ta = a.collection('todos');
  const tb = b.collection('todos');
  const ids = [];
  for (let i = 0; i < N; i++) ids.push(ta.insert({ id: `t${String(i).padStart(6, '0')}`, ...todo(i) }));
  const snapshot = a.save();
  b.applyDelta(snapshot);
  const spec = { where: { done: false, votes: { gte: 2 } }, orderBy: 'due', limit: LIMIT };
  const out = {};

  // First results: a fresh replica from the snapshot, its records not yet read.
  const first = [];
  for (let i = 0; i < Math.max(3, Math.min(reps, 7)); i++) {
    const s = await M.open({ schema, actor: '00000000000000c3', snapshot });
    const c = s.collection('todos');
    const t0 = now();
    const q = c.query(spec);
    const res = q.results();
    first.push(now() - t0);
    if (i === 0) check('first results', res.map((r) => r.id), plain([...c.all()]).map((r) => r.id));
    s.close();
  }
  out.query_first_ms = median(first);

  // The same with the index on due: open() builds it (timed apart), the query reads it.
  const opens = [];
  const opensIndexed = [];
  const firstIndexed = [];
  for (let i = 0; i < Math.max(3, Math.min(reps, 7)); i++) {
    let t0 = now();
    const bare = await M.open({ schema, actor: '00000000000000c3', snapshot });
    opens.push(now() - t0);
    bare.close();
    t0 = now();
    const s = await M.open({ schema, actor: '00000000000000c3', snapshot, index: { todos: ['due'] } });
    opensIndexed.push(now() - t0);
    const c = s.collection('todos');
    t0 = now();
    const res = c.query(spec).results();
    firstIndexed.push(now() - t0);
    if (i === 0) check('first results (indexed)', res.map((r) => r.id), plain([...c.all()]).map((r) => r.id));
    s.close();
  }
  out.query_first_indexed_ms = median(firstIndexed);
  out.index_build_ms = Math.max(0, median(opensIndexed) - median(opens));
  const ai = await M.open({ schema, actor: '00000000000000e5', snapshot, index: { todos: ['due'] } });
  const tai = ai.collection('todos');
  const qi = tai.query(spec);
  qi.results();

  const q = ta.query(spec);
  q.results();
  // One local write to a record in the window: it moves out (done).
  const local = [];
  const arrayLocal = [];
  for (let i = 0; i < reps * 20; i++) {
    const id = q.results()[i % LIMIT].id;
    const t0 = now();
    ta.update(id, (r) => r.set('done', true));
    const res = q.results();
    local.push(now() - t0);
    // The array baseline: the same write, then filter, sort and slice all() again.
    const t1 = now();
    ta.update(id, (r) => r.set('done', false));
    const again = plain([...ta.all()]);
    arrayLocal.push(now() - t1);
    if (i === 0) check('after a local write', res.map((r) => r.id), plain([...ta.all()].filter((r) => r.id !== id)).map((r) => r.id));
    q.results();
    if (i === 0) check('after the write undone', q.results().map((r) => r.id), again.map((r) => r.id));
  }
  out.query_update_local_ms = median(local);
  out.array_update_local_ms = median(arrayLocal);
  const localIndexed = [];
  for (let i = 0; i < reps * 20; i++) {
    const id = qi.results()[i % LIMIT].id;
    const t0 = now();
    tai.update(id, (r) => r.set('done', true));
    const res = qi.results();
    localIndexed.push(now() - t0);
    if (i === 0) check('after a local write (indexed)', res.map((r) => r.id), plain([...tai.all()]).map((r) => r.id));
    tai.update(id, (r) => r.set('done', false));
    qi.results();
  }
  out.query_update_local_indexed_ms = median(localIndexed);

  // A delta of 1,000 changed records from a peer.
  const remote = [];
  const remoteIndexed = [];
  const joinOnly = [];
  for (let i = 0; i < reps; i++) {
    const base = b.version();
    for (let k = 0; k < 1000; k++) tb.update(ids[(i * 7919 + k * 97) % N], (r) => r.increment('votes', 1));
    const delta = b.deltaSince(base);
    // The join alone, into a copy without a query.
    const bare = await M.open({ schema, actor: '00000000000000d4', snapshot: a.save() });
    const t0 = now();
    bare.applyDelta(delta);
    joinOnly.push(now() - t0);
    bare.close();
    const t1 = now();
    a.applyDelta(delta);
    const res = q.results();
    remote.push(now() - t1);
    if (i === 0) check('after a remote delta', res.map((r) => r.id), plain([...ta.all()]).map((r) => r.id));
    const t2 = now();
    ai.applyDelta(delta);
    const resIndexed = qi.results();
    remoteIndexed.push(now() - t2);
    if (i === 0) check('after a remote delta (indexed)', resIndexed.map((r) => r.id), res.map((r) => r.id));
  }
  out.query_update_remote_ms = median(remote);
  out.query_update_remote_indexed_ms = median(remoteIndexed);
  out.query_remote_join_ms = median(joinOnly);
  a.close();
  b.close();
  ai.close();
  return out;
}

/** The rows for TinyBase's queries (T: the tinybase module). */
export async function measureTinybase(T, reps, now = () => performance.now(), records = 100_000) {
  N = records;
  const make = () => {
    const store = T.createStore();
    store.transaction(() => {
      for (let i = 0; i < N; i++) store.setRow('todos', `t${String(i).padStart(6, '0')}`, todo(i));
    });
    return store;
  };
  const define = (store) => {
    const queries = T.createQueries(store);
    queries.setQueryDefinition('open', 'todos', ({ select, where }) => {
      select('due');
      select('title');
      where('done', false);
      where((getCell) => getCell('votes') >= 2);
    });
    return queries;
  };
  // Ties by row id, as ours: sort by due, and the row ids are in id order already.
  const results = (queries) => queries.getResultSortedRowIds('open', 'due', false, 0, LIMIT);
  const out = {};
  const first = [];
  for (let i = 0; i < Math.max(3, Math.min(reps, 7)); i++) {
    const store = make();
    const t0 = now();
    const queries = define(store);
    const res = results(queries);
    first.push(now() - t0);
    if (i === 0) {
      const rows = Object.entries(store.getTable('todos')).map(([id, r]) => ({ id, ...r }));
      // TinyBase's sorter never says "equal", so the order of ties depends on
      // the engine's sort (Firefox's differs): the due dates must match, and
      // every row must match the where.
      const table = store.getTable('todos');
      check('tinybase first results (due dates)', res.map((id) => table[id].due), plain(rows).map((r) => r.due));
      if (!res.every((id) => match(table[id]))) throw new Error('query bench: tinybase returned a row that does not match');
    }
    queries.destroy();
  }
  out.query_first_ms = median(first);
  const store = make();
  const queries = define(store);
  results(queries);
  const local = [];
  for (let i = 0; i < reps * 20; i++) {
    const id = results(queries)[i % LIMIT];
    const t0 = now();
    store.setCell('todos', id, 'done', true);
    results(queries);
    local.push(now() - t0);
    store.setCell('todos', id, 'done', false);
    results(queries);
  }
  out.query_update_local_ms = median(local);
  const remote = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    store.transaction(() => {
      for (let k = 0; k < 1000; k++) {
        const id = `t${String((i * 7919 + k * 97) % N).padStart(6, '0')}`;
        store.setCell('todos', id, 'votes', store.getCell('todos', id, 'votes') + 1);
      }
    });
    results(queries);
    remote.push(now() - t0);
  }
  out.query_update_remote_ms = median(remote);
  return out;
}
