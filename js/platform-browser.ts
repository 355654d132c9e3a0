// Browsers and workers: fetch + compileStreaming, with a fallback for servers
// that do not send application/wasm.
import type { Platform } from './loader.js';
import { compileChecked } from './wasm-check.js';

export const browserPlatform: Platform = {
  // Literal `new URL('./x.wasm', import.meta.url)`: bundlers (Vite, webpack,
  // esbuild) find the files this way and emit them next to the bundle.
  coreUrl: () => new URL('./mycelium.wasm', import.meta.url),
  compressorUrl: () => new URL('./mycelium-zstd.wasm', import.meta.url),
  async compile(url) {
    if (typeof WebAssembly.compileStreaming === 'function') {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${String(url)}: HTTP ${response.status}`);
      const streamable = (response.headers.get('content-type') ?? '').split(';')[0]!.trim() === 'application/wasm';
      if (streamable) return { module: await WebAssembly.compileStreaming(response), path: 'streaming' };
      return { module: await compileChecked(await response.arrayBuffer(), String(url), response.headers.get('content-type')), path: 'bytes' };
    }
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${String(url)}: HTTP ${response.status}`);
    return { module: await compileChecked(await response.arrayBuffer(), String(url), response.headers.get('content-type')), path: 'bytes' };
  },
};
