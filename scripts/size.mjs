// npm run size: raw, gzip and brotli bytes of every artifact of the package
// (dist/, built by scripts/build.sh; core js is what the first open() loads,
// each lazily loaded chunk has its row), and of each kind variant (CMake
// MYC_KIND_* options; built here into build/wasm-variant-*). Prints a table
// and writes bench/results/size.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { bundleMeta, bytesSizes, sizes, staticClosure, totalSizes } from './core-size.mjs';

const root = new URL('..', import.meta.url).pathname;
process.chdir(root);
const run = (cmd, args, env = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });

if (!existsSync('dist/mycelium.wasm') || !existsSync('build/bundle-meta.json') || process.argv.includes('--build')) run('bash', ['scripts/build.sh']);

// What a page loads for its first open() is the entry and every chunk it
// imports statically, each served as its own file; the lazily loaded chunks
// (dynamic imports) are sized on their own. From build/bundle-meta.json
// (esbuild's metafile shape, written by scripts/bundle.mjs from Rollup's output).
const meta = bundleMeta(root);
/** The output file holding `module` (a source path). */
const chunkOf = (module) => Object.keys(meta).find((f) => !f.endsWith('.map') && module in meta[f].inputs);

const rows = [];
const row = (name, file) => {
  const s = sizes(file);
  rows.push({ name, file, ...s });
  return s;
};
const total = (name, files) => {
  const s = totalSizes(files);
  rows.push({ name, file: files.join(' '), ...s });
  return s;
};
const wasm = row('core wasm (engine + zstd decompressor)', 'dist/mycelium.wasm');
const coreFiles = staticClosure(meta, 'dist/index.js');
const js = total(`core js (Embind glue + TypeScript, ESM: ${coreFiles.length} file${coreFiles.length === 1 ? "" : "s"})`, coreFiles);
const lazy = (what, module) => {
  const file = chunkOf(module);
  if (!file || coreFiles.includes(file)) throw new Error(`${module} is not in a lazily loaded chunk of its own (build/bundle-meta.json)`);
  return row(what, file);
};
const syncChunk = lazy('sync chunk (first connect(): protocol, sessions, transports)', 'js/sync/engine.ts');
const persistenceChunk = lazy('persistence chunk (first open() with persist)', 'js/persistence.ts');
const idbChunk = lazy('IndexedDB chunk (first open() with persist in a browser)', 'js/storage-idb-impl.ts');
row('core js (IIFE for <script>)', 'dist/mycelium.global.js');
row('core js (Node entry)', 'dist/node.js');
const zstd = row('compressor wasm (zstd levels 1-3, a second module)', 'dist/mycelium-zstd.wasm');

const result = {
  core_wasm_gz: wasm.gz,
  core_js_gz: js.gz,
  core_total_gz: wasm.gz + js.gz,
  sync_chunk_gz: syncChunk.gz,
  persistence_chunk_gz: persistenceChunk.gz,
  idb_chunk_gz: idbChunk.gz,
  compressor_wasm_gz: zstd.gz,
  with_compressor_total_gz: wasm.gz + js.gz + zstd.gz,
  core_wasm_br: wasm.br,
  core_total_br: wasm.br + js.br,
};

// Kind variants: the same core with optional kinds left out.
const variants = {
  'no-counter': { MYC_KIND_COUNTER: 'OFF' },
  'no-mvr': { MYC_KIND_MVR: 'OFF' },
  'no-set': { MYC_KIND_SET: 'OFF' },
  'no-list': { MYC_KIND_LIST: 'OFF' },
  'no-text': { MYC_KIND_TEXT: 'OFF' },
  // Without both, the sequence code (cpp/sequence*.cc) is left out whole.
  'no-sequences': { MYC_KIND_LIST: 'OFF', MYC_KIND_TEXT: 'OFF' },
  'lww-only': { MYC_KIND_COUNTER: 'OFF', MYC_KIND_MVR: 'OFF', MYC_KIND_SET: 'OFF', MYC_KIND_LIST: 'OFF', MYC_KIND_TEXT: 'OFF' },
};
for (const [name, opts] of Object.entries(variants)) {
  const dir = `build/wasm-variant-${name}`;
  const defs = Object.entries(opts).map(([k, v]) => `-D${k}=${v}`);
  run('bash', ['scripts/build-wasm.sh', 'wasm-release', dir, `${dir}/opt`, ...defs]);
  const s = row(`variant ${name} wasm`, `${dir}/opt/mycelium-core.wasm`);
  result[`variant_${name.replace(/-/g, '_')}_wasm_gz`] = s.gz;
  result[`variant_${name.replace(/-/g, '_')}_total_gz`] = s.gz + js.gz;
}

// Peers, measured the same way in the same run: yjs as a minified bundle of
// its ESM build (lib0 included), automerge and loro as their web .wasm.
const peerRows = [];
{
  const { buildSync } = await import('esbuild');
  const out = buildSync({ entryPoints: ['node_modules/yjs/dist/yjs.mjs'], bundle: true, minify: true, write: false, format: 'esm', logLevel: 'silent' });
  const b = out.outputFiles[0].contents;
  peerRows.push({ name: 'yjs (minified JS bundle)', ...bytesSizes(b) });
  peerRows.push({ name: '@automerge/automerge (wasm)', ...sizes('node_modules/@automerge/automerge/dist/mjs/wasm_bindgen_output/web/automerge_wasm_bg.wasm') });
  peerRows.push({ name: 'loro-crdt (wasm)', ...sizes('node_modules/loro-crdt/web/loro_wasm_bg.wasm') });
  result.peers = Object.fromEntries(peerRows.map((r) => [r.name, { raw: r.raw, gz: r.gz, br: r.br }]));
}

const kb = (n) => (n / 1024).toFixed(1).padStart(7);
console.log(`${'artifact'.padEnd(58)} ${'raw KB'.padStart(7)} ${'gz KB'.padStart(7)} ${'br KB'.padStart(7)}`);
for (const r of rows) console.log(`${r.name.padEnd(58)} ${kb(r.raw)} ${kb(r.gz)} ${kb(r.br)}`);
console.log('peers, same run:');
for (const r of peerRows) console.log(`  ${r.name.padEnd(56)} ${kb(r.raw)} ${kb(r.gz)} ${kb(r.br)}`);
console.log();
console.log(`core_total_gz   ${result.core_total_gz} bytes (${kb(result.core_total_gz).trim()} KiB; target <= 60 KB: wasm + glue + TypeScript, decompressor included)`);
console.log(`sync chunk      ${result.sync_chunk_gz} bytes gz, loaded on the first connect(); persistence ${result.persistence_chunk_gz}, IndexedDB ${result.idb_chunk_gz}`);
console.log(`with compressor ${result.with_compressor_total_gz} bytes (${kb(result.with_compressor_total_gz).trim()} KiB; target <= 100 KB)`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/size.json', `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
console.log('wrote bench/results/size.json');
