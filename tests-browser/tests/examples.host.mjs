// The examples, driven through their UI in two browser contexts that meet
// only over WebRTC (through the bundled signalling server): edits on both
// sides, concurrent offline edits that converge (a conflict shown and
// resolved), a reload that keeps the data. A screenshot of each is saved
// under tests-browser/artifacts/ for a person to look at.
//   examples/todo-script-tag/  the IIFE build through a <script> tag
//   examples/vite-app/         TypeScript + Vite, installed from the packed tarball
//   examples/react-app/        React on mycelium-sync/react, the same way, then presence
//   both again on Vite's dev server (npm run dev), as installed from the tarball
//   examples/notes/            lists and texts: CodeMirror through mycelium-sync/codemirror
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..', '..');
const artifacts = join(root, 'tests-browser/artifacts');
const builds = new Map();
/**
 * npm pack -> install into a copy of examples/<name> -> (tsc) -> vite build,
 * once per run: the app as a user has it, mycelium-sync installed from the
 * tarball (its other dependencies from npm's cache when there, else the
 * registry); TypeScript and Vite are the repository's.
 */
function buildExample(name, { typecheck = false } = {}) {
  if (!builds.has(name)) {
    builds.set(name, (async () => {
      const rel = `build/examples/${name}`;
      const dir = join(root, rel);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      cpSync(join(root, 'examples', name), dir, { recursive: true, filter: (src) => !src.includes('node_modules') && !src.endsWith('/out') });
      const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      const tgz = sh('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], root).trim().split('\n').pop();
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      pkg.dependencies['mycelium-sync'] = `file:./${tgz}`;
      delete pkg.devDependencies;
      writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
      sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir);
      if (typecheck) sh(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], dir);
      sh(join(root, 'node_modules/.bin/vite'), ['build', '--logLevel', 'error', '--outDir', 'out', '--base', `/${rel}/out/`], dir);
      const assets = readdirSync(join(dir, 'out/assets'));
      if (!assets.some((f) => f.endsWith('.wasm'))) throw new Error(`vite emitted no .wasm: ${assets.join(', ')}`);
      return `/${rel}/out/index.html`;
    })());
  }
  return builds.get(name);
}

/**
 * The example as `npm run dev` serves it (Vite's dev server, its own
 * vite.config.js with the plugin from 'mycelium-sync/vite', the package
 * installed from the tarball): resolves with the page's URL and a stop().
 * One page is loaded first and closed, so Vite has pre-bundled the
 * dependencies (and reloaded for them) before the story's pages open.
 */
async function devServer(env, name) {
  await buildExample(name);
  const dir = join(root, 'build/examples', name);
  const { createServer } = await import(pathToFileURL(join(root, 'node_modules/vite/dist/node/index.js')).href);
  // React's entries are pre-bundled when the server starts, not discovered by
  // the first page (a discovery reloads that page mid-load; on a fresh
  // install it was seen to leave it blank).
  const include = name.startsWith('react') ? ['react', 'react-dom/client', 'react/jsx-runtime'] : [];
  const dev = await createServer({ root: dir, configFile: join(dir, 'vite.config.js'), logLevel: 'error', optimizeDeps: { include }, server: { port: 0, host: '127.0.0.1', strictPort: false } });
  await dev.listen();
  const url = dev.resolvedUrls.local[0];
  try {
    const warm = await env.newContextPage(`${url}?store=${name}-warmup`);
    await warm.pw.waitForSelector('body[data-ready="true"]', { timeout: 30_000 }).catch(async () => {
      // Still optimizing dependencies when the page loaded: once more.
      await warm.pw.reload();
      await warm.pw.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    });
    await new Promise((r) => setTimeout(r, 1000));
    const failed = await warm.pw.evaluate(() => document.body.textContent.includes('load_failed'));
    await warm.close();
    if (failed) throw new Error('the dev server page failed to load the package');
  } catch (e) {
    await dev.close();
    throw e;
  }
  return { url, stop: () => dev.close() };
}

async function devFlow(env, name) {
  const dev = await devServer(env, name);
  try {
    await flow(env, dev.url, `${name}-dev`);
  } finally {
    await dev.stop();
  }
}

/** A large sync shows the progress indicator on the receiving side. */
async function progress(a, b) {
  await b.pw.click('#online'); // b offline while a writes a lot
  await a.pw.evaluate(() => {
    const { todos } = window.__demo;
    let x = 1;
    const noise = () => Array.from({ length: 48 }, () => String.fromCharCode(97 + ((x = (x * 48271) % 2147483647) % 26))).join('');
    for (let i = 0; i < 5000; i++) todos.insert({ title: `bulk ${i} ${noise()}`, done: false, votes: 0, tags: [] });
  });
  await b.pw.evaluate(() => {
    window.__sawProgress = false;
    const bar = document.getElementById('progress');
    new MutationObserver(() => {
      if (!bar.hidden) window.__sawProgress = true;
    }).observe(bar, { attributes: true, subtree: true });
  });
  await b.pw.click('#online');
  await b.pw.waitForFunction(() => window.__demo.todos.size >= 5002, null, { timeout: 60_000 });
  if (!(await b.pw.evaluate(() => window.__sawProgress))) throw new Error('no progress indicator during the large sync');
  await b.pw.waitForSelector('#progress', { state: 'hidden' });
}

async function flow(env, path, name) {
  const { startSignalServer } = await import(pathToFileURL(join(root, 'dist/node.js')).href);
  const { todoFlow } = await import(pathToFileURL(join(root, 'scripts/todo-flow.mjs')).href);
  const signal = await startSignalServer({ port: 0 });
  try {
    const url = `${path}?room=${name}-${env.engine}-${Date.now()}&signal=${encodeURIComponent(signal.url)}&store=${name}`;
    const a = await env.newContextPage(url);
    const b = await env.newContextPage(url);
    for (const p of [a, b]) await p.pw.waitForSelector('body[data-ready="true"]');
    const lines = [];
    await todoFlow(a, b, (who, what) => lines.push(`${who}: ${what}`));
    mkdirSync(artifacts, { recursive: true });
    await a.pw.screenshot({ path: join(artifacts, `${name}-${env.engine}-a.png`), fullPage: true });
    await b.pw.screenshot({ path: join(artifacts, `${name}-${env.engine}-b.png`), fullPage: true });
    if (!existsSync(join(artifacts, `${name}-${env.engine}-a.png`))) throw new Error('no screenshot written');
    if (name === 'todo-script-tag') await progress(a, b);
    if (name.startsWith('react-app')) await presenceStory(a, b);
  } finally {
    await signal.close();
  }
}

/**
 * examples/react-app shows who else is here (usePresence) and which todo each
 * of them is editing: a focuses a title, b sees a's name on that row; a
 * leaves the field, the badge goes; a closes its page, b says nobody is here.
 */
async function presenceStory(a, b) {
  const nameOf = (p) => p.pw.evaluate(() => window.__demo.store && document.querySelector('#here') && window.__demo.syncs[0]?.presence.get()?.name);
  const [na, nb] = [await nameOf(a), await nameOf(b)];
  if (!na || !nb || na === nb) throw new Error(`presence names: ${na}, ${nb}`);
  await b.pw.locator(`#here .peer[data-name="${na}"]`).waitFor({ timeout: 30_000 });
  await a.pw.locator(`#here .peer[data-name="${nb}"]`).waitFor({ timeout: 30_000 });
  const first = a.pw.locator('li .title').first();
  const title = await first.inputValue();
  // Focus events need the window to have focus (Firefox's headless windows do not, by themselves).
  await a.pw.bringToFront();
  await first.click();
  const badge = b.pw.locator(`li[data-title="${title}"] .editing[data-name="${na}"]`);
  await badge.waitFor({ timeout: 30_000 }).catch(async (e) => {
    const mine = await a.pw.evaluate(() => JSON.stringify({ own: window.__demo.syncs.map((x) => x.presence.get()), active: document.activeElement?.className }));
    const seen = await b.pw.evaluate(() => JSON.stringify(window.__demo.syncs.map((x) => x.presence.peers())));
    throw new Error(`${e.message}: a has ${mine}; b sees ${seen}`);
  });
  await a.pw.locator('#new-title').click();
  await badge.waitFor({ state: 'detached', timeout: 30_000 });
  await a.pw.close();
  // The WebRTC channel closes with the page: b sees a leave (the timeout is 30 s; this is the disconnect).
  await b.pw.waitForFunction(() => document.getElementById('here').textContent.startsWith('Nobody else here'), null, { timeout: 20_000 });
}

/** The open note's text in a page, and the text of its editor. */
const texts = (p) => p.pw.evaluate(() => ({ field: window.__notes.notes.get(window.__notes.openId)?.body ?? null, editor: window.__notes.view?.state.doc.toString() ?? null }));
/** Puts the caret of a page's editor at `where` ('start', 'end') and focuses it; typing is real keystrokes. */
const caret = (p, where) =>
  p.pw.evaluate((w) => {
    const v = window.__notes.view;
    v.focus();
    v.dispatch({ selection: { anchor: w === 'start' ? 0 : v.state.doc.length } });
  }, where);

async function notesFlow(env) {
  const { startSignalServer } = await import(pathToFileURL(join(root, 'dist/node.js')).href);
  const signal = await startSignalServer({ port: 0 });
  try {
    const url = `/examples/notes/?room=notes-${env.engine}-${Date.now()}&signal=${encodeURIComponent(signal.url)}&store=notes-${Date.now()}`;
    const a = await env.newContextPage(url);
    const b = await env.newContextPage(url);
    for (const p of [a, b]) await p.pw.waitForSelector('body[data-ready="true"]');
    await b.pw.waitForFunction(() => document.getElementById('status').textContent.includes('1 peer(s) in sync'), null, { timeout: 30_000 });
    // a makes a note and names it; b opens it when it arrives.
    await a.pw.click('#new');
    await a.pw.keyboard.type('Plans');
    await b.pw.waitForSelector('#notes li .name >> text=Plans', { timeout: 30_000 });
    await b.pw.click('#notes li .name >> text=Plans');
    await b.pw.waitForSelector('#editor .cm-content');
    // Both type at once, online, a at the start and b at the end.
    await caret(a, 'start');
    await a.pw.keyboard.type('first line ');
    await b.pw.waitForFunction(() => window.__notes.view.state.doc.toString() === 'first line ', null, { timeout: 30_000 });
    await caret(a, 'start');
    await caret(b, 'end');
    await Promise.all([a.pw.keyboard.type('alpha beta 🌍 gamma ', { delay: 15 }), b.pw.keyboard.type('one two three', { delay: 15 })]);
    const converged = async (want) => {
      for (const p of [a, b]) {
        await p.pw.waitForFunction((w) => {
          const n = window.__notes;
          const field = n.notes.get(n.openId)?.body;
          return field === n.view.state.doc.toString() && w.every((s) => field.includes(s));
        }, want, { timeout: 30_000 });
      }
      const [ta, tb] = [await texts(a), await texts(b)];
      if (ta.field !== tb.field || ta.editor !== ta.field || tb.editor !== tb.field) {
        throw new Error(`not converged: a ${JSON.stringify(ta)}, b ${JSON.stringify(tb)}`);
      }
      return ta.field;
    };
    let text = await converged(['alpha beta 🌍 gamma ', 'first line ', 'one two three']);
    // Both go offline and type at the same place (the end); back online, the
    // two runs are whole, one after the other, and nothing typed is lost.
    for (const p of [a, b]) await p.pw.click('#online');
    await caret(a, 'end');
    await caret(b, 'end');
    await a.pw.keyboard.type(' [written by a offline]');
    await b.pw.keyboard.type(' [written by b offline]');
    for (const p of [a, b]) await p.pw.click('#online');
    text = await converged([' [written by a offline]', ' [written by b offline]', 'one two three']);
    if (!text.startsWith('alpha beta 🌍 gamma first line ')) throw new Error(`the start is not what a typed: ${JSON.stringify(text)}`);
    // b reloads: the note and its text come back from IndexedDB.
    await b.pw.reload();
    await b.pw.waitForSelector('body[data-ready="true"]');
    await b.pw.click('#notes li .name >> text=Plans');
    const back = await texts(b);
    if (back.field !== text || back.editor !== text) throw new Error(`after a reload b has ${JSON.stringify(back)}, not ${JSON.stringify(text)}`);
    mkdirSync(artifacts, { recursive: true });
    await a.pw.screenshot({ path: join(artifacts, `notes-${env.engine}-a.png`), fullPage: true });
  } finally {
    await signal.close();
  }
}

/** Sets a number input (Firefox's fill() on one keeps what it held). */
const setNumber = (p, selector, n) => p.pw.evaluate(([sel, v]) => { document.querySelector(sel).value = String(v); }, [selector, n]);
/** Fills the pay form of a ledger page and submits it; resolves with the error line it shows then ('' for none). */
async function payIn(p, from, to, amount) {
  await setNumber(p, '#amount', amount);
  await p.pw.selectOption('#from', { label: from });
  await p.pw.selectOption('#to', { label: to });
  await p.pw.click('#pay button');
  await p.pw.waitForSelector('body[data-paying="false"]', { timeout: 30_000 });
  return p.pw.evaluate(() => document.getElementById('error').textContent);
}
/** The balances a ledger page shows, by account name. */
const shown = (p) => p.pw.evaluate(() => Object.fromEntries([...document.querySelectorAll('#accounts tr')].map((tr) => [tr.dataset.name, Number(tr.querySelector('.balance').textContent)])));
const rightsShown = (p, name) => p.pw.evaluate((n) => Number(document.querySelector(`#accounts tr[data-name="${n}"] .rights`).textContent), name);

/**
 * examples/ledger: two devices pay from one account, online (the one
 * without rights asks the other) and then both offline at once, each
 * within the rights it kept; they never show a negative balance, converge
 * when back online, and a reload keeps it.
 */
async function ledgerFlow(env) {
  const { startSignalServer } = await import(pathToFileURL(join(root, 'dist/node.js')).href);
  const signal = await startSignalServer({ port: 0 });
  try {
    const url = `/examples/ledger/?room=ledger-${env.engine}-${Date.now()}&signal=${encodeURIComponent(signal.url)}&store=ledger-${Date.now()}`;
    const a = await env.newContextPage(url);
    const b = await env.newContextPage(url);
    for (const p of [a, b]) await p.pw.waitForSelector('body[data-ready="true"]');
    await b.pw.waitForFunction(() => document.getElementById('status').textContent.includes('1 peer(s) in sync'), null, { timeout: 30_000 });
    for (const [name, opening] of [['Shop', 100], ['Ann', 0], ['Bob', 0]]) {
      await a.pw.fill('#account-name', name);
      await setNumber(a, '#opening', opening);
      await a.pw.click('#open-account button');
    }
    await b.pw.waitForSelector('#accounts tr[data-name="Bob"]', { timeout: 30_000 });
    // b holds no rights on Shop: online, it asks a for them, then pays.
    if ((await rightsShown(b, 'Shop')) !== 0) throw new Error('b should start with no rights on Shop');
    const online = await payIn(b, 'Shop', 'Ann', 30);
    if (online !== '') throw new Error(`b's online payment failed: ${online}`);
    await a.pw.waitForFunction(() => document.querySelector('#accounts tr[data-name="Ann"] .balance')?.textContent === '30', null, { timeout: 30_000 });
    // b keeps 35 of Shop's rights on this device, then both go offline.
    await setNumber(b, '#amount', 35);
    await b.pw.click('#accounts tr[data-name="Shop"] .keep');
    await b.pw.waitForFunction(() => document.querySelector('#accounts tr[data-name="Shop"] .rights').textContent === '35', null, { timeout: 30_000 });
    await a.pw.waitForFunction(() => document.querySelector('#accounts tr[data-name="Shop"] .rights').textContent === '35', null, { timeout: 30_000 });
    await a.pw.click('#online');
    await b.pw.click('#online');
    // Offline, each spends what it holds; one more is refused on each.
    for (const [p, to] of [[a, 'Ann'], [b, 'Bob']]) {
      const ok = await payIn(p, 'Shop', to, 35);
      if (ok !== '') throw new Error(`an offline payment within the rights held failed: ${ok}`);
      const refused = await payIn(p, 'Shop', to, 1);
      if (!refused.startsWith('not enough here')) throw new Error(`an offline payment beyond the rights held was not refused: '${refused}'`);
      const s = await shown(p);
      if (s.Shop !== 35) throw new Error(`offline, Shop should show 35 here: ${JSON.stringify(s)}`);
    }
    // Back online: both converge, and Shop is spent exactly, not overdrawn.
    await a.pw.click('#online');
    await b.pw.click('#online');
    const want = JSON.stringify({ Ann: 65, Bob: 35, Shop: 0 });
    for (const p of [a, b]) {
      await p.pw
        .waitForFunction((w) => {
          const o = {};
          for (const tr of document.querySelectorAll('#accounts tr')) o[tr.dataset.name] = Number(tr.querySelector('.balance').textContent);
          return JSON.stringify(Object.fromEntries(Object.entries(o).sort())) === w;
        }, want, { timeout: 30_000 })
        .catch(async (e) => { throw new Error(`${e.message}: shows ${JSON.stringify(await shown(p))}`); });
      const lowest = await p.pw.evaluate(() => window.__ledger.lowest);
      if (!(lowest >= 0)) throw new Error(`a page showed a negative balance: ${lowest}`);
    }
    const paid = await a.pw.evaluate(() => document.querySelectorAll('#payments li').length);
    if (paid !== 3) throw new Error(`expected 3 payments in the log, found ${paid}`);
    mkdirSync(artifacts, { recursive: true });
    await a.pw.screenshot({ path: join(artifacts, `ledger-${env.engine}-a.png`), fullPage: true });
    // A reload keeps it (IndexedDB).
    await b.pw.reload();
    await b.pw.waitForSelector('body[data-ready="true"]');
    const after = await shown(b);
    if (JSON.stringify(Object.fromEntries(Object.entries(after).sort())) !== want) throw new Error(`after a reload: ${JSON.stringify(after)}`);
  } finally {
    await signal.close();
  }
}

export const tests = [
  {
    name: 'examples/todo-script-tag: two contexts edit, converge over WebRTC, resolve a conflict, reload keeps the data; a large sync shows progress',
    needs: ['webrtc'],
    run: (env) => flow(env, '/examples/todo-script-tag/', 'todo-script-tag'),
  },
  {
    name: 'examples/vite-app (TypeScript, Vite, the packed tarball): the same story',
    needs: ['webrtc'],
    run: async (env) => flow(env, await buildExample('vite-app', { typecheck: true }), 'vite-app'),
  },
  {
    name: 'examples/react-app (React 19 on mycelium-sync/react, Vite, the packed tarball): the same story, then presence (who is here, who edits which todo, a closed page leaves)',
    needs: ['webrtc'],
    run: async (env) => flow(env, await buildExample('react-app'), 'react-app'),
  },
  {
    name: 'examples/vite-app on Vite\'s dev server (npm run dev: its vite.config.js with mycelium-sync/vite, the packed tarball): the same story',
    needs: ['webrtc'],
    run: (env) => devFlow(env, 'vite-app'),
  },
  {
    name: 'examples/react-app on Vite\'s dev server (npm run dev): the same story, presence included',
    needs: ['webrtc'],
    run: (env) => devFlow(env, 'react-app'),
  },
  {
    name: 'examples/notes (CodeMirror, mycelium-sync/codemirror): two contexts type into one note at once, then offline at one place; the texts converge with every keystroke, runs unmixed; a reload keeps it',
    needs: ['webrtc'],
    run: notesFlow,
  },
  {
    name: 'examples/ledger (the credit kind): two contexts pay from one account online (rights asked for) and offline at once (each within the rights it kept); no balance ever shows below zero, they converge, a reload keeps it',
    needs: ['webrtc'],
    run: ledgerFlow,
  },
];
