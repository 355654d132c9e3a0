// The cross-browser test suite: every test file under tests-browser/tests
// runs in Chromium, Firefox ESR and WebKitGTK, each browser launched once.
//   *.test.js   page-level tests, loaded by page/runner.html in one page
//               per file (a fresh context per file where the driver can);
//   *.host.mjs  tests that drive several pages or contexts from here.
// Prints one line per test per engine, a summary per engine and overall, and
// writes build/browser-tests.json. A test needing a feature the engine lacks
// is "not available in <engine>": listed, never counted as passed.
//
//   node tests-browser/run.mjs [--engines chromium,firefox,webkit] [--grep text]
// Needs dist/ (npm run build). WebKit needs an X display; without DISPLAY the
// script re-runs itself under xvfb-run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ENGINES, launch, missingFor } from '../scripts/browsers.mjs';
import { serve } from '../scripts/static-server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const engines = opt('--engines', process.env.MYC_BROWSERS ?? ENGINES.join(',')).split(',').filter(Boolean);
const grep = opt('--grep', '');
const TEST_TIMEOUT_MS = Number(process.env.MYC_BROWSER_TEST_TIMEOUT_MS ?? 180_000);

if (engines.includes('webkit') && !process.env.DISPLAY) {
  const xvfb = '/usr/bin/xvfb-run';
  if (!existsSync(xvfb)) {
    console.error('browser tests: WebKitGTK needs an X display and xvfb-run is missing (apt-get install -y xvfb xauth)');
    process.exit(1);
  }
  const r = spawnSync(xvfb, ['-a', '-s', '-screen 0 1280x1024x24', process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...args], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}
if (!existsSync(join(root, 'dist/index.js'))) {
  console.error('browser tests: dist/ is missing; run npm run build first');
  process.exit(1);
}

const testDir = join(root, 'tests-browser/tests');
const files = readdirSync(testDir).sort();
const pageFiles = files.filter((f) => f.endsWith('.test.js'));
const hostFiles = files.filter((f) => f.endsWith('.host.mjs'));

const server = await serve(root, {
  headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' },
});
const runnerUrl = (file) => `${server.url}/tests-browser/page/runner.html${file ? `?file=${encodeURIComponent(file)}` : ''}`;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const pad = (s, n) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const results = {};
const firstLine = (error) => String(error).split('\n')[0];

// WebKitGTK 2.50 miscomputes WebAssembly at times (below, and README's
// Testing section): a WebKit test that fails runs once more (a host test in
// fresh contexts, a page test in its page). One that passes then is counted as passed and reported as flaky,
// with its first failure, in its line and in the summary; one that fails
// twice fails. Chromium and Firefox run every test once.
const runsAgain = (engine) => engine === 'webkit';

/** One test's outcome; `firstFailure`: the error of a first run when the test was run again (runsAgain). */
function report(engine, file, name, r, firstFailure = null) {
  const label = `${pad(engine, 8)} ${file.replace(/\.(test\.js|host\.mjs)$/, '')} › ${name}`;
  const rec = results[engine];
  if (r.status === 'failed' && firstFailure) r = { ...r, error: `${r.error}\n(the first run failed too: ${firstLine(firstFailure)})` };
  if (r.status === 'passed' && firstFailure) {
    rec.passed++;
    rec.flaky.push(`${name} (the first run: ${firstLine(firstFailure)})`);
    console.log(`${label} … passed when run again (${Math.round(r.ms)} ms); FLAKY, the first run failed:\n    ${String(firstFailure).split('\n').slice(0, 12).join('\n    ')}`);
  } else if (r.status === 'passed') {
    rec.passed++;
    console.log(`${label} … passed (${Math.round(r.ms)} ms)`);
  } else if (r.status === 'unavailable') {
    rec.unavailable.push(`${name} (${r.missing.join(', ')})`);
    console.log(`${label} … not available in ${engine} (${r.missing.join(', ')})`);
  } else {
    rec.failed++;
    rec.failures.push(`${name}: ${firstLine(r.error)}`);
    console.log(`${label} … FAILED${r.ms ? ` (${Math.round(r.ms)} ms)` : ''}\n    ${String(r.error).split('\n').slice(0, 12).join('\n    ')}`);
  }
}

/** Waits for the runner page's module to load, returns its test list. */
const READY = async () => {
  for (let i = 0; i < 2000 && !window.__myc; i++) await new Promise((r) => setTimeout(r, 10));
  if (!window.__myc) throw new Error('runner.js did not load');
  return window.__myc.ready;
};

async function runPageFile(state, file) {
  const engine = state.browser.engine;
  const context = state.browser.mainContext ? state.browser.mainContext() : await state.browser.newContext();
  let page = null;
  try {
    page = await context.newPage(runnerUrl(file));
    let tests;
    try {
      tests = await withTimeout(page.evaluate(READY), 60_000, `${file}: loading`);
    } catch (e) {
      report(engine, file, '(loading the file)', { status: 'failed', ms: 0, error: e });
      return;
    }
    for (const t of tests) {
      if (grep && !`${file} ${t.name}`.includes(grep)) continue;
      let r;
      let firstFailure = null;
      for (let attempt = 1; ; attempt++) {
        try {
          r = await withTimeout(page.evaluate((name) => window.__myc.run(name), t.name), TEST_TIMEOUT_MS, t.name);
        } catch (e) {
          report(engine, file, t.name, { status: 'failed', ms: 0, error: e }, firstFailure);
          // The page may be stuck: start the engine again for what follows.
          await state.restart();
          return;
        }
        const errors = page.errors();
        if (r.status === 'passed' && errors.length > 0) r = { status: 'failed', ms: r.ms, error: `uncaught in the page: ${errors.join('; ')}` };
        if (r.status !== 'failed' || attempt === 2 || !runsAgain(engine)) break;
        firstFailure = r.error;
        console.log(`${pad(engine, 8)} ${t.name}: failed (${firstLine(r.error)}); running it once more`);
      }
      report(engine, file, t.name, r, firstFailure);
    }
  } finally {
    if (page) await page.close().catch(() => undefined);
    if (!state.browser.mainContext) await context.close().catch(() => undefined);
  }
}

async function runHostFile(state, file) {
  const engine = state.browser.engine;
  const mod = await import(pathToFileURL(join(testDir, file)).href);
  // Which features this engine has, asked of a real page.
  const probeContext = state.browser.mainContext ? state.browser.mainContext() : await state.browser.newContext();
  const probe = await probeContext.newPage(runnerUrl(''));
  await probe.evaluate(READY);
  for (const t of mod.tests) {
    if (grep && !`${file} ${t.name}`.includes(grep)) continue;
    // A test can need a driver feature an engine's driver lacks (CDP).
    const lacks = t.unavailableIn && t.unavailableIn[engine] ? [t.unavailableIn[engine]] : await probe.evaluate((needs) => window.__myc.missing(needs), t.needs ?? []);
    if (lacks.length > 0) {
      report(engine, file, t.name, { status: 'unavailable', missing: lacks });
      continue;
    }
    const opened = [];
    const env = {
      engine,
      url: (path) => `${server.url}${path}`,
      /** A page in a new, separate browser context (own storage, own process where the engine has one). */
      /** A page in a new context: `path` on the test server, or a whole URL (another server's, e.g. Vite's dev server). */
      async newContextPage(path) {
        const context = await state.browser.newContext();
        opened.push(context);
        const page = await context.newPage(/^https?:/.test(path) ? path : `${server.url}${path}`);
        return page;
      },
      /** A new browser context whose pages (tabs) share storage: newPage(path). */
      async newContext() {
        const context = await state.browser.newContext();
        opened.push(context);
        return { newPage: (path) => context.newPage(`${server.url}${path}`) };
      },
    };
    let r;
    let firstFailure = null;
    // A WebKitWebDriver page-load timeout is the driver's, not the SDK's (and
    // see runsAgain): the test runs once more in fresh contexts, and the report says so.
    for (let attempt = 1; ; attempt++) {
      const start = performance.now();
      let driverGaveUp = false;
      try {
        await withTimeout(t.run(env), TEST_TIMEOUT_MS, t.name);
        r = { status: 'passed', ms: performance.now() - start };
      } catch (e) {
        r = { status: 'failed', ms: performance.now() - start, error: (e && e.stack) || e };
        driverGaveUp = Boolean(e && e.driverTimeout);
      }
      for (const c of opened.splice(0)) await c.close().catch(() => undefined);
      if (r.status !== 'failed' || attempt === 2 || !(driverGaveUp || runsAgain(engine))) break;
      firstFailure = r.error;
      console.log(`${pad(engine, 8)} ${t.name}: failed (${firstLine(r.error)}); running it once more`);
    }
    report(engine, file, t.name, r, firstFailure);
  }
  await probe.close().catch(() => undefined);
  if (!state.browser.mainContext) await probeContext.close().catch(() => undefined);
}

const started = performance.now();
// WebKitGTK 2.50 miscomputes WebAssembly after loop OSR into code it compiled
// on a background thread: ~5 % of fresh instances loading a 100,000-record
// snapshot read it wrong (tests-browser/webkit-osr/). The SDK verifies every
// snapshot load on JavaScriptCore and loads again when it is wrong
// (js/verified-load.ts: 0 of 300 fresh instances wrong as shipped), so the
// suite runs WebKit as shipped. MYC_WEBKIT_NO_CONCURRENT_JIT=1 runs it with
// useConcurrentJIT=false, where the fault never shows, to tell it apart.
const webkitJitOff = process.env.MYC_WEBKIT_NO_CONCURRENT_JIT === '1';
const launchOptions = (engine) => (engine === 'webkit' && webkitJitOff ? { jsc: { useConcurrentJIT: false } } : {});

for (const engine of engines) {
  results[engine] = { passed: 0, failed: 0, unavailable: [], failures: [], flaky: [], version: '' };
  const missing = missingFor(engine);
  if (missing) {
    results[engine].failed++;
    results[engine].failures.push(`launch: missing ${missing}`);
    console.log(`${engine}: FAILED to start, missing ${missing}`);
    continue;
  }
  const t0 = performance.now();
  const state = {
    browser: null,
    async restart() {
      await this.browser.close().catch(() => undefined);
      this.browser = await launch(engine, launchOptions(engine));
    },
  };
  try {
    state.browser = await launch(engine, launchOptions(engine));
  } catch (e) {
    results[engine].failed++;
    results[engine].failures.push(`launch: ${String(e)}`);
    console.log(`${engine}: FAILED to launch: ${String(e)}`);
    continue;
  }
  results[engine].version = state.browser.version;
  console.log(`== ${engine} ${state.browser.version} (launched in ${Math.round(performance.now() - t0)} ms)`);
  if (launchOptions(engine).jsc) {
    console.log(`${engine}: JavaScriptCore's concurrent JIT is off (MYC_WEBKIT_NO_CONCURRENT_JIT=1)`);
  } else if (engine === 'webkit') {
    console.log(`${engine}: as shipped; the SDK verifies snapshot loads on JavaScriptCore (js/verified-load.ts, tests-browser/webkit-osr/README.md)`);
  }
  for (const file of pageFiles) await runPageFile(state, file);
  for (const file of hostFiles) await runHostFile(state, file);
  await state.browser.close().catch(() => undefined);
  results[engine].seconds = Math.round((performance.now() - t0) / 100) / 10;
}
await server.close();

console.log('');
let passed = 0;
let failed = 0;
let unavailable = 0;
for (const [engine, r] of Object.entries(results)) {
  passed += r.passed;
  failed += r.failed;
  unavailable += r.unavailable.length;
  const na = r.unavailable.length > 0 ? `, ${r.unavailable.length} not available in ${engine}: ${r.unavailable.join('; ')}` : '';
  const retried = r.flaky.length > 0 ? `; ${r.flaky.length} FLAKY (failed once, passed when run again): ${r.flaky.join('; ')}` : '';
  console.log(`${pad(engine, 8)} ${r.passed} passed, ${r.failed} failed${na}${retried}${r.seconds ? ` (${r.seconds} s)` : ''}`);
}
console.log(`browsers ${passed} passed, ${failed} failed, ${unavailable} not available (${Math.round((performance.now() - started) / 1000)} s)`);
mkdirSync(join(root, 'build'), { recursive: true });
writeFileSync(join(root, 'build/browser-tests.json'), JSON.stringify({ passed, failed, unavailable, engines: results }, null, 2));
process.exit(failed > 0 ? 1 : 0);
