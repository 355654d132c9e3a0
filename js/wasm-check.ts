// Compiling WebAssembly bytes that came from somewhere: first a look at the
// magic number, so that a server answering with another file (a dev server's
// index.html for a path it does not have) is reported as that, with the fix,
// instead of as the compiler's "expected magic word 00 61 73 6d".
import { MyceliumError } from './errors.js';

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

function view(bytes: BufferSource): Uint8Array {
  return bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Throws load_failed unless `bytes` begin as a WebAssembly module does. */
export function checkWasmBytes(bytes: BufferSource, from: string, contentType?: string | null): void {
  const b = view(bytes);
  if (b.length >= 4 && MAGIC.every((m, i) => b[i] === m)) return;
  const head = Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  const text = Array.from(b.subarray(0, 16), (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
  const served = contentType ? `, served as ${contentType}` : '';
  throw new MyceliumError(
    'load_failed',
    `${from} is not a WebAssembly module: it begins ${head || '(nothing)'} ("${text}")${served}. ` +
      'The server answered with another file (a dev server sends its index.html for a file it does not have). ' +
      "With Vite's dev server, add the plugin from 'mycelium-sync/vite' (or optimizeDeps: { exclude: ['mycelium-sync'] }); " +
      'elsewhere, serve mycelium.wasm and mycelium-zstd.wasm next to the bundle, or pass open({ wasmUrl, compressorUrl }).',
  );
}

/** WebAssembly.compile after checkWasmBytes. */
export function compileChecked(bytes: BufferSource, from: string, contentType?: string | null): Promise<WebAssembly.Module> {
  checkWasmBytes(bytes, from, contentType);
  return WebAssembly.compile(bytes);
}
