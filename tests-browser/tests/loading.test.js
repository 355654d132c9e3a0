// Loading: streaming compilation when the server sends application/wasm, the
// fallback when it does not, the <script>-tag build, preload(), and a clear
// error when the module cannot be fetched. Each path imports the package
// under its own URL, so each gets a loader that has not loaded yet.
import { eq, ok, rejectsCode } from '../page/assert.js';
import { todoSchema } from '../page/fixtures.js';
import { test } from '../page/harness.js';

async function fresh(tag) {
  return import(`/dist/index.js?fresh=${tag}`);
}

test('compiles while downloading (compileStreaming) from an application/wasm response', async () => {
  const m = await fresh('streaming');
  const store = await m.open({ schema: todoSchema });
  const info = await m.loadInfo();
  eq(info.path, 'streaming');
  eq(info.compression, true);
  ok(info.compileMs >= 0 && info.instantiateMs >= 0, 'timings reported');
  const wasm = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/dist/mycelium.wasm'));
  ok(wasm, 'mycelium.wasm was fetched from next to the script');
  store.collection('notes').insert({ body: 'streamed' });
  eq(store.collection('notes').all().length, 1);
}, { needs: ['streaming'] });

test('falls back to compiling the bytes when the server sends the wrong MIME type', async () => {
  const m = await import('/__wrong-mime/dist/index.js');
  const head = await fetch('/__wrong-mime/dist/mycelium.wasm');
  eq(head.headers.get('content-type'), 'application/octet-stream', 'the server really sends the wrong type');
  const store = await m.open({ schema: todoSchema });
  eq((await m.loadInfo()).path, 'bytes');
  store.collection('todos').insert({ id: 'x', title: 'fallback', votes: 2 });
  eq(store.collection('todos').get('x').votes, 2);
});

test('preload() starts compiling early; open() then only instantiates', async () => {
  const m = await fresh('preload');
  const p = m.preload();
  eq(m.wasmMemoryBytes(), null, 'nothing instantiated before open()');
  await p;
  await m.preload(); // idempotent
  const store = await m.open({ schema: todoSchema });
  ok(m.wasmMemoryBytes() >= 1 << 20, 'linear memory of at least the 1 MB initial size');
  eq(store.version(), {});
});

test('wasmBinary given by the app, and compression: false', async () => {
  const m = await fresh('binary');
  const bytes = new Uint8Array(await (await fetch('/dist/mycelium.wasm')).arrayBuffer());
  const store = await m.open({ schema: todoSchema, wasmBinary: bytes, compression: false });
  const info = await m.loadInfo();
  eq(info.path, 'binary');
  eq(info.compression, false);
  const todos = store.collection('todos');
  for (let i = 0; i < 500; i++) todos.insert({ title: `todo number ${i} `.repeat(4) });
  eq(store.save()[4] & 1, 0, 'without the compressor, snapshots stay uncompressed');
});

test('a module that cannot be fetched rejects open() with load_failed, and a later open() can retry', async () => {
  const m = await fresh('missing');
  await rejectsCode(m.open({ schema: todoSchema, wasmUrl: '/dist/no-such-file.wasm' }), 'load_failed');
  const store = await m.open({ schema: todoSchema, wasmUrl: '/dist/mycelium.wasm' });
  eq(store.collection('todos').size, 0);
});

test('the <script> tag build (dist/mycelium.global.js) defines Mycelium and finds its wasm', async () => {
  await new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/dist/mycelium.global.js';
    s.onload = resolve;
    s.onerror = () => reject(new Error('mycelium.global.js failed to load'));
    document.head.append(s);
  });
  const M = globalThis.Mycelium;
  ok(M && typeof M.open === 'function', 'window.Mycelium.open');
  const a = await M.open({ schema: todoSchema });
  const b = await M.open({ schema: todoSchema });
  const id = a.collection('todos').insert({ title: 'from a script tag', tags: ['x'] });
  eq(b.applyDelta(a.deltaSince(b.version())), 'applied');
  eq(b.collection('todos').get(id).tags, ['x']);
  ok((await M.loadInfo()).path === 'streaming' || typeof WebAssembly.compileStreaming !== 'function', 'streamed');
});

// In a frame of its own (page/lazy-chunks.html: its own module map and
// resource timeline): what the first open() downloads, then what persist and
// connect() add.
test('a first open() without persist or sync downloads neither persistence, IndexedDB code nor the sync engine', async () => {
  const frame = document.createElement('iframe');
  const report = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the frame did not report')), 20_000);
    addEventListener('message', function heard(e) {
      if (e.source !== frame.contentWindow) return;
      removeEventListener('message', heard);
      clearTimeout(timer);
      if (e.data.error) reject(new Error(e.data.error));
      else resolve(e.data);
    });
  });
  frame.src = '/tests-browser/page/lazy-chunks.html';
  document.body.append(frame);
  try {
    const { plain, persisted, synced } = await report;
    const lazy = (names, prefix) => names.filter((n) => n.startsWith(`/dist/${prefix}-`));
    ok(plain.includes('/dist/index.js') && plain.includes('/dist/mycelium.wasm'), `the entry and the engine were fetched: ${plain.join(', ')}`);
    for (const prefix of ['persistence', 'storage-idb-impl', 'engine']) eq(lazy(plain, prefix), [], `nothing of ${prefix} before it is used`);
    ok(lazy(persisted, 'persistence').length === 1 && lazy(persisted, 'storage-idb-impl').length === 1, `persist: true fetched persistence and IndexedDB: ${persisted.join(', ')}`);
    eq(lazy(persisted, 'engine'), [], 'persisting loads no sync engine');
    eq(lazy(synced, 'engine').length, 1, 'connect() fetched the sync engine');
  } finally {
    frame.remove();
  }
});

test('snapshot loads are verified on JavaScriptCore only (verifyLoads defaults by engine); a wrong load is loaded again', async () => {
  const m = await import('/dist/index.js');
  const src = await m.open({ schema: todoSchema });
  for (let i = 0; i < 50; i++) src.collection('todos').insert({ id: `t${i}`, title: `t ${i}`, votes: i });
  const snapshot = src.save();
  src.close();
  // Which JavaScript engine, told apart without the user agent the SDK reads:
  // V8's stack lines start with "at", only Firefox has navigator.oscpu.
  const v8 = /^\s+at /m.test(new Error('probe').stack ?? '');
  const jsc = !v8 && !('oscpu' in navigator);
  const loads = [];
  // Acts out JavaScriptCore's fault: the first load saves back other bytes.
  globalThis.__myceliumTestSwitches = {
    loadFault: (attempt, saved) => {
      loads.push(attempt);
      if (attempt > 0) return saved;
      const wrong = saved.slice();
      wrong[wrong.length - 1] ^= 0xff;
      return wrong;
    },
  };
  try {
    const s = await m.open({ schema: todoSchema, snapshot });
    eq(JSON.stringify(loads), jsc ? '[0,1]' : '[]', `loads on ${navigator.userAgent}`);
    eq(s.collection('todos').get('t49').votes, 49);
    s.close();
    loads.length = 0;
    const forced = await m.open({ schema: todoSchema, snapshot, verifyLoads: true });
    eq(JSON.stringify(loads), '[0,1]', 'verifyLoads: true checks everywhere');
    forced.close();
  } finally {
    delete globalThis.__myceliumTestSwitches;
  }
});
