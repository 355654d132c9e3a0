// Bundles js/ into dist/: ESM for browsers (index.js) and Node (node.js),
// and a minified IIFE (mycelium.global.js, global `Mycelium`) for a <script> tag.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { relative } from 'node:path';
import { rollup } from 'rollup';

// Chunks of an earlier build have other hashes: remove them, or a pack would ship them.
if (existsSync('dist')) for (const f of readdirSync('dist')) if (/^[a-z-]+-[A-Za-z0-9]{8}\.js$/.test(f)) rmSync(`dist/${f}`);

const common = { bundle: true, target: 'es2022', legalComments: 'none', logLevel: 'warning' };

// Code splitting: persistence (loaded by a dynamic import when a store is
// opened with `persist`), the IndexedDB adapter and the sync engine (on the
// first connect()) become their own files. Everything the first open()
// needs is one file, dist/index.js, and the lazy chunks import what they
// share with it from it: esbuild's splitting puts shared code in chunks of
// its own, which index.js would import statically — a second round trip
// before anything runs (Chromium's cold start in the CI bench: ~520 ms with
// six shared chunks, ~335 ms with one file). So esbuild compiles and splits
// into build/esm-stage/, and Rollup, whose chunking keeps statically
// reachable code in the entry, joins that into dist/.
// build/bundle-meta.json (esbuild's metafile shape: outputs, their imports
// and input modules) says which file holds which module: scripts/size.mjs
// reads it to size what a page loads first and each lazily loaded chunk
// (tests-browser/tests/loading.test.js checks in the browsers what the
// first open() fetches).
rmSync('build/esm-stage', { recursive: true, force: true });
const stage = await build({
  metafile: true,
  ...common,
  entryPoints: { index: 'js/index.ts' },
  outdir: 'build/esm-stage',
  splitting: true,
  chunkNames: '[name]-[hash]',
  format: 'esm',
  platform: 'browser',
  minify: true,
});
const joined = await rollup({ input: 'build/esm-stage/index.js', preserveEntrySignatures: 'allow-extension', onwarn: (w) => { throw new Error(`rollup: ${w.message}`); } });
const { output } = await joined.write({
  dir: 'dist',
  format: 'es',
  entryFileNames: '[name].js',
  // engine-[hash].js, persistence-[hash].js…: the stage's name without its hash.
  chunkFileNames: (chunk) => `${chunk.name.replace(/-[A-Z0-9]{8}$/, '')}-[hash].js`,
  hashCharacters: 'hex',
});
await joined.close();
const stageInputs = (file) => stage.metafile.outputs[relative('.', file).replaceAll('\\', '/')]?.inputs ?? {};
const outputs = {};
for (const chunk of output) {
  if (chunk.type !== 'chunk') continue;
  outputs[`dist/${chunk.fileName}`] = {
    bytes: Buffer.byteLength(chunk.code),
    imports: [
      ...chunk.imports.map((f) => ({ path: `dist/${f}`, kind: 'import-statement' })),
      ...chunk.dynamicImports.map((f) => ({ path: `dist/${f}`, kind: 'dynamic-import' })),
    ],
    inputs: Object.assign({}, ...Object.keys(chunk.modules).map(stageInputs)),
  };
}
mkdirSync('build', { recursive: true });
writeFileSync('build/bundle-meta.json', JSON.stringify({ outputs }));
// `ws` is the Node entry's one dependency (package.json), imported, not bundled.
await build({ ...common, entryPoints: ['js/node.ts'], outfile: 'dist/node.js', format: 'esm', platform: 'node', minify: true, external: ['ws', '@nats-io/*'] });
// The CodeMirror 6 binding ('mycelium-sync/codemirror'): CodeMirror is the
// app's (a peer dependency), and the binding imports nothing of the core at
// run time, so the core bundle and this file share no code.
// Its errors are the package's own class (imported, not copied), so
// `instanceof MyceliumError` holds for them too.
await build({
  ...common,
  entryPoints: ['js/codemirror.ts'],
  outfile: 'dist/codemirror.js',
  format: 'esm',
  platform: 'neutral',
  minify: true,
  external: ['@codemirror/state', '@codemirror/view'],
  plugins: [{ name: 'core-errors', setup: (b) => b.onResolve({ filter: /^\.\/errors\.js$/ }, () => ({ path: 'mycelium-sync', external: true })) }],
});
// The React hooks ('mycelium-sync/react'): React is the app's (a peer
// dependency); open() comes from 'mycelium-sync' itself, so the hooks and
// the app share one engine and the core bundle does not grow.
await build({
  ...common,
  entryPoints: ['js/react.ts'],
  outfile: 'dist/react.js',
  format: 'esm',
  platform: 'neutral',
  minify: true,
  external: ['react'],
  plugins: [{ name: 'core-api', setup: (b) => b.onResolve({ filter: /^\.\/api\.js$/ }, () => ({ path: 'mycelium-sync', external: true })) }],
});
// The Vite plugin ('mycelium-sync/vite'): runs in Vite's Node process.
await build({ ...common, entryPoints: ['js/vite.ts'], outfile: 'dist/vite.js', format: 'esm', platform: 'neutral', minify: true });
// The in-memory transport with fault injection, for tests in browsers ('mycelium-sync/memory').
await build({ ...common, entryPoints: ['js/sync/adapters/memory.ts'], outfile: 'dist/memory.js', format: 'esm', platform: 'neutral', minify: true });
// `npx mycelium-sync signal|peer`: imports the Node entry point, not a copy of it.
await build({
  ...common,
  entryPoints: ['js/cli.ts'],
  outfile: 'dist/cli.js',
  format: 'esm',
  platform: 'node',
  minify: true,
  external: ['./node.js'],
  plugins: [{ name: 'node-entry', setup: (b) => b.onResolve({ filter: /^\.\/node\.js$/ }, () => ({ path: './node.js', external: true })) }],
  banner: { js: '#!/usr/bin/env node' },
});
// A classic script has no import.meta: the .wasm files are found next to the
// script itself (document.currentScript, read while the script first runs).
await build({
  ...common,
  entryPoints: ['js/index.ts'],
  outfile: 'dist/mycelium.global.js',
  format: 'iife',
  globalName: 'Mycelium',
  platform: 'browser',
  minify: true,
  define: { 'import.meta.url': '__mycScriptUrl' },
  banner: {
    js: 'var __mycScriptUrl=typeof document<"u"&&document.currentScript?document.currentScript.src:typeof location<"u"?location.href:"";',
  },
});
