// Pack smoke test: the package as a user gets it. `npm pack`, install the
// tarball into an empty folder, then
//   (a) import it from Node ESM and sync two stores; load the CodeMirror
//       binding's entry beside CodeMirror;
//   (b) load the IIFE build with a <script> tag in Chromium under a strict
//       Content-Security-Policy (no 'unsafe-eval', only 'wasm-unsafe-eval')
//       and sync two stores in the page; the ESM build too, once with the
//       right MIME type (streaming) and once with the wrong one (fallback);
//   (c) bundle a tiny app with Vite, check the .wasm files are emitted, and
//       run the bundle in Chromium;
//   (d) run the same app on Vite's dev server: without configuration the
//       load error names the fix; with 'mycelium-sync/vite' it works.
// Prints one line per check and "N passed, N failed"; writes the same to
// build/pack-smoke.json for scripts/test.sh.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from './chromium.mjs';
import { serve } from './static-server.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const work = mkdtempSync(join(tmpdir(), 'myc-pack-'));
let passed = 0;
let failed = 0;
const results = [];

async function check(name, fn) {
  try {
    const detail = await fn();
    console.log(`ok   ${name}${detail ? ` (${detail})` : ''}`);
    passed++;
    results.push({ name, passed: true });
  } catch (e) {
    console.log(`FAIL ${name}: ${e instanceof Error ? e.stack ?? e.message : e}`);
    failed++;
    results.push({ name, passed: false });
  }
}
const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// The same little program everywhere: two stores, writes on both, deltas
// both ways, equal snapshots and records.
const PROGRAM = `
  const schema = { todos: { title: 'lww', votes: 'counter', tags: 'set', owner: 'mvr' } };
  const a = await M.open({ schema }), b = await M.open({ schema });
  const id = a.collection('todos').insert({ title: 'Milk', votes: 1, tags: ['home'] });
  b.collection('todos').insert({ id: 'b1', title: 'Eggs' });
  b.applyDelta(a.deltaSince(b.version()));
  a.applyDelta(b.deltaSince(a.version()));
  b.collection('todos').update(id, (r) => r.increment('votes', 2).set('owner', 'bob'));
  a.applyDelta(b.deltaSince(a.version()));
  const sa = a.save(), sb = b.save();
  const same = sa.length === sb.length && sa.every((x, i) => x === sb[i]);
  const info = await M.loadInfo();
  // Live sync through store.connect() (the lazily loaded sync engine), over a MessageChannel.
  const { port1, port2 } = new MessageChannel();
  const c = await M.open({ schema });
  const syncC = c.connect(M.messagePort(port1)), syncA = a.connect(M.messagePort(port2));
  await syncC.whenSynced();
  const live = c.collection('todos').get(id);
  syncC.close(); syncA.close(); port1.close(); port2.close();
  result = { same, record: a.collection('todos').get(id), size: b.collection('todos').size, path: info.path, live };
`;
function expectSynced(r) {
  if (!r || !r.same) throw new Error(`stores differ: ${JSON.stringify(r)}`);
  if (r.record.votes !== 3 || r.record.owner[0] !== 'bob' || r.size !== 2) throw new Error(`wrong records: ${JSON.stringify(r)}`);
  if (!r.live || r.live.votes !== 3) throw new Error(`connect() did not sync: ${JSON.stringify(r.live)}`);
}

try {
  await check('npm pack + install into an empty folder', () => {
    const out = sh('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], root).trim().split('\n').pop();
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', join(work, out)], app);
    const files = readdirSync(join(app, 'node_modules/mycelium-sync/dist'));
    for (const f of ['index.js', 'node.js', 'mycelium.global.js', 'mycelium.wasm', 'mycelium-zstd.wasm', 'types']) {
      if (!files.includes(f)) throw new Error(`${f} missing from the package: ${files.join(', ')}`);
    }
    return out;
  });
  const app = join(work, 'app');

  await check('(a) Node ESM: import and sync two stores (deltas, then connect() over a MessageChannel)', () => {
    writeFileSync(join(app, 'node-test.mjs'), `import * as M from 'mycelium-sync'; let result; ${PROGRAM} console.log(JSON.stringify(result));`);
    const r = JSON.parse(sh('node', ['node-test.mjs'], app));
    expectSynced(r);
    return `loaded from ${r.path}`;
  });

  await check('(a) mycelium-sync/codemirror beside the CodeMirror the app installs: it loads, its errors are the package\'s MyceliumError, splices become changes', () => {
    sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '@codemirror/state@6', '@codemirror/view@6'], app);
    writeFileSync(
      join(app, 'cm-test.mjs'),
      `import * as M from 'mycelium-sync';
import { textBinding, splicesToChanges } from 'mycelium-sync/codemirror';
import { Text } from '@codemirror/state';
const store = await M.open({ schema: { notes: { body: 'text', title: 'lww' } } });
const notes = store.collection('notes');
const id = notes.insert({ body: 'hello', title: 't' });
let error = null;
try { textBinding(notes, id, 'title'); } catch (e) { error = e instanceof M.MyceliumError ? e.code : String(e); }
const doc = splicesToChanges([{ index: 5, deleted: 0, inserted: ' world' }, { index: 0, deleted: 1, inserted: 'H' }], 5).apply(Text.of(['hello'])).toString();
console.log(JSON.stringify({ error, doc, extension: typeof textBinding(notes, id, 'body') }));`,
    );
    const r = JSON.parse(sh('node', ['cm-test.mjs'], app));
    if (r.error !== 'wrong_kind' || r.doc !== 'Hello world' || r.extension !== 'object') throw new Error(JSON.stringify(r));
  });

  await check('(a) npx mycelium-sync signal starts the bundled signalling server; mycelium-sync/node syncs over WebSocket', async () => {
    writeFileSync(
      join(app, 'ws-test.mjs'),
      `import * as M from 'mycelium-sync/node';
       const schema = { t: { v: 'lww' } };
       const server = await M.open({ schema, name: 'x' });
       const adapter = M.webSocketServer({ port: 0 });
       server.connect(adapter);
       const client = await M.open({ schema, name: 'x' });
       client.collection('t').insert({ id: 'a', v: 'over a socket' });
       const sync = client.connect(M.webSocket(await adapter.listening));
       await sync.whenSynced();
       console.log(JSON.stringify(server.collection('t').get('a')));
       client.close(); server.close();`,
    );
    const got = sh('node', ['ws-test.mjs'], app).trim();
    if (!got.includes('over a socket')) throw new Error(`the Node peer got ${got}`);
    // Its own process group: npx starts node as a child, and both must go at the end.
    const child = spawn('npx', ['--no-install', 'mycelium-sync', 'signal', '--port', '0'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      for (let i = 0; i < 200 && !/ws:\/\/\S+/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      const url = /ws:\/\/\S+/.exec(out)?.[0];
      if (!url) throw new Error(`no URL from npx mycelium-sync signal: ${out}`);
      const res = await fetch(url.replace('ws:', 'http:'));
      if (res.status !== 426) throw new Error(`the signalling server answered plain HTTP with ${res.status}`);
      return url;
    } finally {
      process.kill(-child.pid, 'SIGTERM');
    }
  });

  await check('(a) a protected store from the package: key files, an invite redeemed over a MessageChannel, a stranger refused, a reader\'s write forbidden', () => {
    writeFileSync(
      join(app, 'access-test.mjs'),
      `import * as M from 'mycelium-sync/node';
       const schema = { notes: { body: 'lww' } };
       const until = async (what, ok) => { for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 25)); if (!ok()) throw new Error('timed out: ' + what); };
       const link = (x, y) => { const { port1, port2 } = new MessageChannel(); return [x.connect(M.messagePort(port1)), y.connect(M.messagePort(port2))]; };
       const me = await M.loadIdentity('owner');
       const sameKey = (await M.loadIdentity('owner')).principal === me.principal;
       const owner = await M.open({ schema, name: 'notes', identity: me, access: { owner: me.principal } });
       owner.collection('notes').insert({ id: 'a', body: 'signed by the owner' });
       const token = await owner.access.invite('writer', { expires: Date.now() + 60000 });
       const device = await M.open({ schema, name: 'notes', identity: await M.createIdentity(), access: { invite: token } });
       const links = link(owner, device);
       await until('the device joined', () => device.access.role() === 'writer' && device.collection('notes').get('a'));
       device.collection('notes').insert({ id: 'd', body: 'signed by the device' });
       await until('the owner has the device\\'s note', () => owner.collection('notes').get('d'));
       const stranger = await M.open({ schema, name: 'notes', identity: await M.createIdentity(), access: { owner: me.principal } });
       const codes = [];
       const [, theirs] = link(owner, stranger);
       theirs.onError((e) => codes.push(e.error.code));
       await until('the stranger was refused', () => codes.includes('unauthorized'));
       const friend = await M.createIdentity();
       await owner.access.add(friend.principal, 'reader');
       const reader = await M.open({ schema, name: 'notes', identity: friend, access: { owner: me.principal } });
       link(owner, reader);
       await until('the reader has the notes', () => reader.access.role() === 'reader' && reader.collection('notes').size === 2);
       let readerWrite = null;
       try { reader.collection('notes').insert({ body: 'no' }); } catch (e) { readerWrite = e instanceof M.MyceliumError ? e.code : String(e); }
       console.log(JSON.stringify({ sameKey, strangerSees: stranger.collection('notes').size, readerWrite, members: owner.access.members().map((m) => m.role).sort() }));
       for (const s of [owner, device, stranger, reader]) s.close();
       for (const l of links) l.close();`,
    );
    const r = JSON.parse(sh('node', ['access-test.mjs'], app));
    if (!r.sameKey) throw new Error('loadIdentity() twice gave two keys');
    if (r.strangerSees !== 0 || r.readerWrite !== 'forbidden') throw new Error(JSON.stringify(r));
    if (r.members.join() !== 'admin,reader,writer') throw new Error(`members: ${JSON.stringify(r.members)}`);
    if (!readdirSync(join(app, '.mycelium')).length) throw new Error('no key file in ./.mycelium');
  });

  await check('(a) an encrypted store from the package: members meet only through a blind relay, which forwards what it cannot read', () => {
    writeFileSync(
      join(app, 'encrypt-test.mjs'),
      `import * as M from 'mycelium-sync/node';
       const schema = { notes: { body: 'lww' } };
       const until = async (what, ok) => { for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 25)); if (!ok()) throw new Error('timed out: ' + what); };
       const link = (x, y) => { const { port1, port2 } = new MessageChannel(); x.connect(M.messagePort(port1)); y.connect(M.messagePort(port2)); return [port1, port2]; };
       const me = await M.loadIdentity('owner');
       const [w, n] = await Promise.all([M.createIdentity(), M.createIdentity()]);
       const open = (identity) => M.open({ schema, name: 'diary', identity, access: { owner: me.principal, encrypt: true } });
       const owner = await open(me);
       await owner.access.add(w.principal, 'writer');
       await owner.access.add(n.principal, 'relay');
       const [writer, relay] = [await open(w), await open(n)];
       const ports = [...link(owner, relay), ...link(relay, writer)];
       owner.collection('notes').insert({ id: 'a', body: 'dear diary' });
       await until('the writer reads the note through the relay', () => writer.collection('notes').get('a'));
       writer.collection('notes').insert({ id: 'b', body: 'a reply' });
       await until('the owner reads the reply through the relay', () => owner.collection('notes').get('b'));
       console.log(JSON.stringify({ relayRole: relay.access.role(), relaySees: relay.collection('notes').size, writerSees: writer.collection('notes').size }));
       for (const s of [owner, writer, relay]) s.close();
       for (const p of ports) p.close();`,
    );
    const r = JSON.parse(sh('node', ['encrypt-test.mjs'], app));
    if (r.relayRole !== 'relay' || r.relaySees !== 0 || r.writerSees !== 2) throw new Error(JSON.stringify(r));
  });

  const browser = await launchChromium();
  try {
    const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'";
    const pkg = join(app, 'node_modules/mycelium-sync');
    writeFileSync(join(pkg, 'dist/iife.html'), '<!doctype html><script src="mycelium.global.js"></script><script src="iife-app.js"></script>');
    writeFileSync(join(pkg, 'dist/iife-app.js'), `(async () => { const M = window.Mycelium; let result; ${PROGRAM} window.__result = result; })().catch((e) => { window.__result = { error: String(e) }; });`);
    writeFileSync(join(pkg, 'dist/esm.html'), '<!doctype html><script type="module" src="esm-app.js"></script>');
    writeFileSync(join(pkg, 'dist/esm-app.js'), `import * as M from './index.js'; let result; try { ${PROGRAM} } catch (e) { result = { error: String(e) }; } window.__result = result;`);

    const inPage = async (server, path) => {
      const page = await browser.newPage();
      const violations = [];
      page.on('console', (m) => { if (/Content.Security.Policy|unsafe-eval/i.test(m.text())) violations.push(m.text()); });
      await page.goto(`${server.url}/dist/${path}`);
      const r = await page.waitForFunction(() => window.__result, null, { timeout: 20000 }).then((h) => h.jsonValue());
      await page.close();
      if (violations.length) throw new Error(`CSP violations: ${violations.join(' | ')}`);
      if (r.error) throw new Error(r.error);
      return r;
    };

    const strict = await serve(pkg, { headers: { 'content-security-policy': csp } });
    await check("(b) <script> tag (IIFE) in Chromium under CSP script-src 'self' 'wasm-unsafe-eval'", async () => {
      const r = await inPage(strict, 'iife.html');
      expectSynced(r);
      if (r.path !== 'streaming') throw new Error(`expected streaming compilation, got ${r.path}`);
      return 'compileStreaming';
    });
    await check('(b) ESM build in Chromium under the same CSP', async () => {
      const r = await inPage(strict, 'esm.html');
      expectSynced(r);
      return r.path;
    });
    writeFileSync(join(pkg, 'dist/persist.html'), '<!doctype html><script type="module" src="persist-app.js"></script>');
    writeFileSync(join(pkg, 'dist/persist-app.js'), `import * as M from './index.js';
      const schema = { todos: { title: 'lww' } };
      try {
        const a = await M.open({ name: 'smoke', schema, persist: true });
        a.collection('todos').insert({ id: 'x', title: 'stored' });
        await a.flush();
        a.close();
        const b = await M.open({ name: 'smoke', schema, persist: true });
        window.__result = { title: b.collection('todos').get('x')?.title, chunks: performance.getEntriesByType('resource').map((e) => e.name.split('/').pop()).filter((n) => /^(persistence|storage-idb-impl)-/.test(n)) };
      } catch (e) { window.__result = { error: String(e) }; }`);
    await check('(b) persist: true from the package under the same CSP: the persistence chunks load on first use', async () => {
      const r = await inPage(strict, 'persist.html');
      if (r.title !== 'stored') throw new Error(`reopened store has ${JSON.stringify(r)}`);
      if (r.chunks.length !== 2) throw new Error(`expected the two lazy chunks, saw ${JSON.stringify(r.chunks)}`);
      return r.chunks.join(', ');
    });
    await strict.close();
    const wrongType = await serve(pkg, { headers: { 'content-security-policy': csp }, wrongWasmType: true });
    await check('(b) server sends .wasm as application/octet-stream: the loader falls back', async () => {
      const r = await inPage(wrongType, 'esm.html');
      expectSynced(r);
      if (r.path !== 'bytes') throw new Error(`expected the fallback path, got ${r.path}`);
      return 'fetched bytes, then compiled';
    });
    await wrongType.close();

    await check('(c) Vite bundles the package, emits the .wasm files, and the bundle runs', async () => {
      const site = join(app, 'site');
      mkdirSync(site);
      writeFileSync(join(site, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
      writeFileSync(join(site, 'main.js'), `import * as M from 'mycelium-sync'; let result; try { ${PROGRAM} } catch (e) { result = { error: String(e) }; } window.__result = result;`);
      sh(join(root, 'node_modules/.bin/vite'), ['build', '--logLevel', 'error', '--outDir', 'out'], site);
      const assets = readdirSync(join(site, 'out/assets'));
      const wasm = assets.filter((f) => f.endsWith('.wasm'));
      // Vite names them mycelium-<hash>.wasm and mycelium-zstd-<hash>.wasm; a hash may begin with z.
      if (!wasm.some((f) => f.startsWith('mycelium-zstd-')) || !wasm.some((f) => f.startsWith('mycelium') && !f.startsWith('mycelium-zstd-'))) {
        throw new Error(`expected both .wasm files in the bundle, got ${assets.join(', ')}`);
      }
      const server = await serve(join(site, 'out'), { headers: { 'content-security-policy': csp } });
      try {
        const page = await browser.newPage();
        await page.goto(`${server.url}/index.html`);
        const r = await page.waitForFunction(() => window.__result, null, { timeout: 20000 }).then((h) => h.jsonValue());
        await page.close();
        if (r.error) throw new Error(r.error);
        expectSynced(r);
      } finally {
        await server.close();
      }
      return wasm.join(', ');
    });

    // Vite's dev server pre-bundles dependencies into node_modules/.vite/deps/,
    // away from the .wasm files (vitejs/vite#8427).
    const { createServer } = await import(join(root, 'node_modules/vite/dist/node/index.js'));
    const devRun = async (plugins) => {
      const dev = await createServer({ root: join(app, 'site'), configFile: false, plugins, logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
      await dev.listen();
      try {
        const page = await browser.newPage();
        await page.goto(dev.resolvedUrls.local[0]);
        const r = await page.waitForFunction(() => window.__result, null, { timeout: 30000 }).then((h) => h.jsonValue());
        await page.close();
        return r;
      } finally {
        await dev.close();
      }
    };
    await check('(d) Vite dev server without configuration: the load error says what happened and how to fix it', async () => {
      const r = await devRun([]);
      if (!r.error) throw new Error('the pre-bundled package loaded its .wasm after all: the advice would be stale');
      if (!/is not a WebAssembly module/.test(r.error) || !r.error.includes("'mycelium-sync/vite'")) throw new Error(`unhelpful error: ${r.error}`);
      return r.error.split('. ')[0];
    });
    await check("(d) Vite dev server with the plugin from 'mycelium-sync/vite': the package loads and syncs", async () => {
      const { default: mycelium } = await import(join(app, 'node_modules/mycelium-sync/dist/vite.js'));
      const r = await devRun([mycelium()]);
      if (r.error) throw new Error(r.error);
      expectSynced(r);
      return `wasm ${r.path}`;
    });
  } finally {
    await browser.close();
  }
} finally {
  if (!process.env.MYC_KEEP_PACK) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}

console.log(`pack smoke: ${passed} passed, ${failed} failed`);
mkdirSync(join(root, 'build'), { recursive: true });
writeFileSync(join(root, 'build/pack-smoke.json'), JSON.stringify({ passed, failed, tests: results }, null, 2));
process.exit(failed === 0 ? 0 : 1);
