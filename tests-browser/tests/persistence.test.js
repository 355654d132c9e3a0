// Persistence in the page: the adapter contract against IndexedDB, reopening
// a 100,000-record store, damaged IndexedDB contents (open fails with a code
// and changes nothing; recover opens what is readable), data from a future
// format, and IndexedDB being unavailable (private modes) as a typed error.
import { indexedDBStorage, open } from '/dist/index.js';
import { adapterContract } from '../shared/adapter-contract.js';
import { bytesEqual, eq, ok, rejectsCode, throwsCode } from '../page/assert.js';
import { todoSchema } from '../page/fixtures.js';
import { test } from '../page/harness.js';

const run = `${Date.now().toString(36)}-`;

for (const [name, body] of adapterContract) {
  test(`indexedDBStorage: ${name}`, () => body(() => indexedDBStorage(), `${run}${name.length}-`), { needs: ['indexeddb'] });
}

/** Raw IndexedDB access to a store's database, to damage it on purpose. */
function rawDb(name) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(`mycelium:${name}`);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function rawPut(name, store, value, key) {
  const db = await rawDb(name);
  await new Promise((resolve, reject) => {
    const tx = db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value, key);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}
async function rawLog(name) {
  const db = await rawDb(name);
  const out = await new Promise((resolve, reject) => {
    const r = db.transaction('log').objectStore('log').getAll();
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  db.close();
  return out;
}

test('100,000 records: write, flush, close, reopen from IndexedDB', async () => {
  const name = `${run}big`;
  const a = await open({ name, schema: todoSchema, persist: true });
  const todos = a.collection('todos');
  for (let i = 0; i < 100_000; i++) todos.insert({ id: `t${i}`, title: `todo ${i}`, votes: i % 5, tags: ['x'] });
  await a.flush();
  const snap = a.save();
  const versionBefore = a.version();
  a.close();
  const b = await open({ name, schema: todoSchema, persist: true });
  eq(b.collection('todos').size, 100_000);
  eq(b.collection('todos').get('t4242'), { id: 't4242', title: 'todo 4242', done: null, votes: 2, tags: ['x'], owner: [] });
  const again = b.save();
  if (!bytesEqual(again, snap)) {
    const va = JSON.stringify(versionBefore);
    const vb = JSON.stringify(b.version());
    let firstDiff = -1;
    for (let i = 0; i < Math.min(again.length, snap.length); i++) if (again[i] !== snap[i]) { firstDiff = i; break; }
    throw new Error(`snapshot bytes differ after reopening: ${snap.length} vs ${again.length} bytes, first difference at ${firstDiff}; versions ${va} / ${vb}; pending ${b.pending}; recovered ${JSON.stringify(b.recovered)}`);
  }
  b.close();
}, { needs: ['indexeddb'] });

test('damaged IndexedDB contents: corrupt, nothing changed; recover opens the readable part', async () => {
  const name = `${run}damaged`;
  const a = await open({ name, schema: todoSchema, persist: true });
  a.collection('todos').insert({ id: 'one', title: 'kept' });
  await a.flush();
  a.collection('todos').insert({ id: 'two', title: 'in the blob we damage' });
  await a.flush();
  a.close();
  await new Promise((r) => setTimeout(r, 50));
  const log = await rawLog(name);
  eq(log.length, 2, 'one blob per flushed batch');
  const flipped = new Uint8Array(log[1]);
  flipped[flipped.length - 2] ^= 0x20;
  await rawPut(name, 'log', flipped, 2);
  const e = await rejectsCode(open({ name, schema: todoSchema, persist: true }), 'corrupt');
  ok(/entry 2 of 2/.test(e.message), e.message);
  ok(bytesEqual((await rawLog(name))[1], flipped), 'the failed open left the data alone');
  const r = await open({ name, schema: todoSchema, persist: true, recover: true });
  eq(r.collection('todos').get('one').title, 'kept');
  eq(r.collection('todos').has('two'), false);
  eq(r.recovered.map((i) => i.what), ['log entry 2']);
  eq(r.recovered[0].error.code, 'corrupt');
  r.close();
  // A truncated blob and a value that is not bytes at all.
  await rawPut(name, 'log', log[1].slice(0, 9), 2);
  await rejectsCode(open({ name, schema: todoSchema, persist: true }), 'corrupt', 'truncated blob');
  await rawPut(name, 'snapshot', 'not bytes', 'snapshot');
  await rejectsCode(open({ name, schema: todoSchema, persist: true }), 'corrupt', 'a string where the snapshot goes');
}, { needs: ['indexeddb'] });

test('data from a newer storage format or engine format is refused with unsupported_version', async () => {
  const name = `${run}future`;
  const a = await open({ name, schema: todoSchema, persist: true });
  a.collection('todos').insert({ id: 'x', title: 'x' });
  await a.flush();
  a.close();
  await new Promise((r) => setTimeout(r, 50));
  const blob = new Uint8Array((await rawLog(name))[0]);
  blob[3] = 9;
  await rawPut(name, 'log', blob, 1);
  await rejectsCode(open({ name, schema: todoSchema, persist: true }), 'unsupported_version', 'blob format');
  await rawPut(name, 'meta', { format: 2, schema: todoSchema, schemaHash: '0000000000000000' }, 'meta');
  await rejectsCode(open({ name, schema: todoSchema, persist: true }), 'unsupported_version', 'storage format');
}, { needs: ['indexeddb'] });

test('IndexedDB unavailable (private mode, disabled storage) is a typed error', async () => {
  const refusing = {
    open() {
      throw new DOMException('The operation is insecure.', 'SecurityError');
    },
  };
  await rejectsCode(open({ schema: todoSchema, persist: indexedDBStorage(refusing) }), 'storage_unavailable', 'open throws');
  const failing = {
    open() {
      const req = { error: new DOMException('no IndexedDB in private mode', 'InvalidStateError') };
      setTimeout(() => req.onerror && req.onerror(), 0);
      return req;
    },
  };
  await rejectsCode(open({ schema: todoSchema, persist: indexedDBStorage(failing) }), 'storage_unavailable', 'open fails');
  await rejectsCode(open({ schema: todoSchema, persist: indexedDBStorage(null) }), 'storage_unavailable', 'no indexedDB');
});

test('transact: one batch reaches IndexedDB whole; a batch the engine refuses writes nothing, in the page or there', async () => {
  const name = `${run}transact`;
  const a = await open({ name, schema: todoSchema, persist: true });
  const todos = a.collection('todos');
  const notes = a.collection('notes');
  todos.insert({ id: 'keep', title: 'keep', votes: 1 });
  const ids = a.transact(() => {
    const out = [];
    for (let i = 0; i < 500; i++) out.push(todos.insert({ id: `t${i}`, title: `todo ${i}`, tags: ['tx'] }));
    todos.update('keep', (r) => r.set('title', 'kept').increment('votes', 2));
    notes.insert({ id: 'n', body: 'written in the same batch' });
    return out;
  });
  eq(ids.length, 500);
  // Refused at commit (the batch inserts one id twice): a typed error, nothing written.
  const before = a.save();
  throwsCode(
    () =>
      a.transact(() => {
        todos.update('keep', (r) => r.set('title', 'lost'));
        todos.insert({ id: 'dup' });
        todos.insert({ id: 'dup' });
      }),
    'already_exists',
    'a batch inserting one id twice',
  );
  ok(bytesEqual(a.save(), before), 'the refused batch changed the store');
  eq(todos.get('keep').title, 'kept');
  ok(!todos.has('dup'), 'the refused batch left a record');
  await a.flush();
  const snap = a.save();
  a.close();
  const b = await open({ name, schema: todoSchema, persist: true });
  eq(b.collection('todos').size, 501);
  eq(b.collection('todos').get('keep'), { id: 'keep', title: 'kept', done: null, votes: 3, tags: [], owner: [] });
  eq(b.collection('notes').get('n').body, 'written in the same batch');
  ok(!b.collection('todos').has('dup'), 'the refused batch reached IndexedDB');
  ok(bytesEqual(b.save(), snap), 'the reopened store saves to other bytes');
  b.close();
}, { needs: ['indexeddb'] });
