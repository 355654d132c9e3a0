// A reproducer of the WebKitGTK fault tests-browser/webkit-concurrent-jit.mjs
// measures, without the SDK: roundtrip.wasm (roundtrip.cc: the engine's C++
// and nothing else) builds 100,000 records, saves them, loads the snapshot in
// a new store and saves again; it returns 0 when the two snapshots are
// byte-identical, which on a correct runtime is always. Each round compiles a
// fresh WebAssembly.Module, so every function starts in JSC's interpreter.
//
//   xvfb-run -a node tests-browser/webkit-osr/run.mjs [--engine webkit]
//     [--rounds 40] [--jsc useWasmIPIntLoopOSR=false,...]
//
// The module's imports are WASI and host stubs that answer 0 (no clock, no
// entropy, no compression), so the page is the whole environment. To rebuild
// the module: see README.md next to this file.
import { launch } from '../../scripts/browsers.mjs';
import { serve } from '../../scripts/static-server.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const engine = opt('--engine', 'webkit');
const rounds = Number(opt('--rounds', '40'));
const jsc = Object.fromEntries(
  opt('--jsc', '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=')),
);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const server = await serve(root, {});
const browser = await launch(engine, { jsc });
const ctx = browser.mainContext ? browser.mainContext() : await browser.newContext();
const page = await ctx.newPage(`${server.url}/tests-browser/webkit-osr/index.html`);

const ROUNDS = async (rounds) => {
  const bytes = new Uint8Array(await (await fetch('/tests-browser/webkit-osr/roundtrip.wasm')).arrayBuffer());
  const stub = new Proxy({}, { get: () => () => 0 });
  const out = [];
  for (let i = 0; i < rounds; i++) {
    try {
      const module = await WebAssembly.compile(bytes);
      const { exports } = await WebAssembly.instantiate(module, { env: stub, wasi_snapshot_preview1: stub });
      out.push(exports.roundtrip(100_000));
    } catch (e) {
      out.push(String(e).split('\n')[0]);
    }
    // Let the page breathe between rounds (the driver polls it).
    await new Promise((r) => setTimeout(r, 0));
  }
  return out;
};
const results = await page.evaluate(ROUNDS, rounds);
const failed = results.filter((r) => r !== 0);
for (const f of failed.slice(0, 10)) console.log(`  ${f === 1 ? '1: the snapshot did not load' : f === 2 ? '2: the snapshot loaded back differs' : f}`);
const flags = Object.entries(jsc).map(([k, v]) => `${k}=${v}`).join(', ') || 'as shipped';
console.log(`${engine} ${browser.version} (${flags}): ${failed.length} of ${results.length} fresh modules computed a wrong result`);
await browser.close();
await server.close();
