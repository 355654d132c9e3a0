// Node: the .wasm files sit next to this module; read them from disk.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Platform } from './loader.js';
import { compileChecked } from './wasm-check.js';

export const nodePlatform: Platform = {
  coreUrl: () => new URL('./mycelium.wasm', import.meta.url),
  compressorUrl: () => new URL('./mycelium-zstd.wasm', import.meta.url),
  async compile(url) {
    const u = url instanceof URL ? url : new URL(url, import.meta.url);
    const bytes = u.protocol === 'file:' ? await readFile(fileURLToPath(u)) : new Uint8Array(await (await fetch(u)).arrayBuffer());
    return { module: await compileChecked(bytes, String(u)), path: 'binary' };
  },
};
