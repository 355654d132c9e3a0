// What a page downloads for its first open(): the core wasm and every
// JavaScript file dist/index.js imports statically (build/bundle-meta.json,
// in esbuild's metafile shape; scripts/bundle.mjs writes it). Used by npm run size and by the CI bench's size
// gate (bench/gates.json), so both count the same bytes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Raw, gzip (level 9) and brotli (quality 11) bytes of a file. */
export function sizes(file) {
  return bytesSizes(readFileSync(file));
}

/** sizes() of bytes in memory. */
export function bytesSizes(b) {
  return {
    raw: b.length,
    gz: gzipSync(b, { level: 9 }).length,
    br: brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

/** The bundle's outputs (build/bundle-meta.json), paths relative to `root`. */
export function bundleMeta(root) {
  return JSON.parse(readFileSync(join(root, 'build/bundle-meta.json'), 'utf8')).outputs;
}

/** `entry` and every output it imports statically (what loads with it). */
export function staticClosure(meta, entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of meta[file].imports) if (i.kind === 'import-statement') visit(i.path);
  };
  visit(entry);
  return [...seen];
}

/** Sums sizes() over files. */
export function totalSizes(files) {
  return files.map(sizes).reduce((a, b) => ({ raw: a.raw + b.raw, gz: a.gz + b.gz, br: a.br + b.br }));
}

/** The core download: { wasm, js, files } (sizes of dist/mycelium.wasm, and of dist/index.js with its static imports). */
export function coreSize(root) {
  const files = staticClosure(bundleMeta(root), 'dist/index.js');
  return { wasm: sizes(join(root, 'dist/mycelium.wasm')), js: totalSizes(files.map((f) => join(root, f))), files };
}
