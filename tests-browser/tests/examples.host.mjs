// The examples, driven through their UI in two browser contexts that meet
// only over WebRTC (through the bundled signalling server): edits on both
// sides, concurrent offline edits that converge (a conflict shown and
// resolved), a reload that keeps the data. A screenshot of each is saved
// under tests-browser/artifacts/ for a person to look at.
//   examples/todo-script-tag/  the IIFE build through a <script> tag
//   examples/vite-app/         TypeScript + Vite, installed from the packed tarball
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..', '..');
const artifacts = join(root, 'tests-browser/artifacts');
const VITE_DIR = 'build/examples/vite-app';

let viteBuild = null;
/** npm pack -> install into a copy of examples/vite-app -> tsc -> vite build, once per run. */
function buildViteApp() {
  viteBuild ??= (async () => {
    const dir = join(root, VITE_DIR);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    cpSync(join(root, 'examples/vite-app'), dir, { recursive: true, filter: (src) => !src.includes('node_modules') && !src.endsWith('/out') });
    const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    const tgz = sh('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], root).trim().split('\n').pop();
    // The app as a user has it: mycelium-sync installed from the tarball (its
    // one dependency, ws, from npm's cache when there, else the registry);
    // TypeScript and Vite are the repository's.
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    pkg.dependencies['mycelium-sync'] = `file:./${tgz}`;
    delete pkg.devDependencies;
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir);
    sh(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], dir);
    sh(join(root, 'node_modules/.bin/vite'), ['build', '--logLevel', 'error', '--outDir', 'out', '--base', `/${VITE_DIR}/out/`], dir);
    const assets = readdirSync(join(dir, 'out/assets'));
    if (!assets.some((f) => f.endsWith('.wasm'))) throw new Error(`vite emitted no .wasm: ${assets.join(', ')}`);
    return `/${VITE_DIR}/out/index.html`;
  })();
  return viteBuild;
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
    run: async (env) => flow(env, await buildViteApp(), 'vite-app'),
  },
];
