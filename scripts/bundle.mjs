// Bundles js/ into dist/: ESM for browsers (index.js) and Node (node.js),
// and a minified IIFE (mycelium.global.js, global `Mycelium`) for a <script> tag.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

// Chunks of an earlier build have other hashes: remove them, or a pack would ship them.
if (existsSync('dist')) for (const f of readdirSync('dist')) if (/^[a-z-]+-[A-Z0-9]{8}\.js$/.test(f)) rmSync(`dist/${f}`);

const common = { bundle: true, target: 'es2022', legalComments: 'none', logLevel: 'warning' };

// Code splitting: persistence (loaded by a dynamic import when a store is
// opened with `persist`), the IndexedDB adapter and the sync engine (on the
// first connect()) become their own files; code they share with index.js
// goes into shared chunks. build/bundle-meta.json (esbuild's metafile) says
// which file holds which module: scripts/size.mjs reads it to size what a
// page loads first and each lazily loaded chunk (tests-browser/tests/
// loading.test.js checks in the browsers what the first open() fetches).
const browser = await build({
  metafile: true,
  ...common,
  entryPoints: { index: 'js/index.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: '[name]-[hash]',
  format: 'esm',
  platform: 'browser',
  minify: true,
});
mkdirSync('build', { recursive: true });
writeFileSync('build/bundle-meta.json', JSON.stringify(browser.metafile));
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
