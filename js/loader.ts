// Loading: compile the core (and the compressor) once per page, as early as
// the app likes (preload), instantiate on first open(). Browsers compile
// while downloading (compileStreaming) and fall back to compiling the bytes
// when a server sends the wrong MIME type; Node reads the files from disk.
import createCore from './generated/mycelium-core.mjs';
import type { CompressHook, CompressedHook, CoreModule } from './generated/mycelium-core.mjs';
import { Compressor } from './compression.js';
import { MyceliumError } from './errors.js';
import { compileChecked } from './wasm-check.js';

/** Where the WebAssembly comes from, for apps that host the files themselves. */
export interface LoadOptions {
  /** URL of mycelium.wasm (default: next to the script, via import.meta.url). */
  wasmUrl?: string | URL;
  /** The core's bytes or compiled module, instead of fetching wasmUrl. */
  wasmBinary?: BufferSource | WebAssembly.Module;
  /** URL of mycelium-zstd.wasm, the compressor. */
  compressorUrl?: string | URL;
  compressorBinary?: BufferSource | WebAssembly.Module;
  /** false: never load the compressor; deltas and snapshots stay uncompressed. Default true. */
  compression?: boolean;
}

/** How the module was loaded, for diagnostics and tests. */
export interface LoadInfo {
  /** 'streaming': compileStreaming; 'bytes': fetched, then compiled (wrong MIME type or no streaming); 'binary': given by the app or read from disk. */
  readonly path: 'streaming' | 'bytes' | 'binary';
  readonly compression: boolean;
  readonly compileMs: number;
  readonly instantiateMs: number;
}

/** What a platform (browser, Node) provides. */
export interface Platform {
  coreUrl(): URL;
  compressorUrl(): URL;
  compile(url: string | URL): Promise<{ module: WebAssembly.Module; path: LoadInfo['path'] }>;
}

export interface Engine {
  readonly core: CoreModule;
  readonly info: LoadInfo;
  /** The compressor, when it is loaded. */
  readonly compressor: Compressor | null;
}

let platform: Platform | null = null;
let compiling: Promise<{ core: WebAssembly.Module; zstd: WebAssembly.Module | null; path: LoadInfo['path']; compileMs: number }> | null = null;
let engine: Promise<Engine> | null = null;
let loaded: Engine | null = null;

export function setPlatform(p: Platform): void {
  platform = p;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

async function compileGiven(
  binary: BufferSource | WebAssembly.Module | undefined,
  url: string | URL | undefined,
  fallback: () => URL,
): Promise<{ module: WebAssembly.Module; path: LoadInfo['path'] }> {
  if (binary instanceof WebAssembly.Module) return { module: binary, path: 'binary' };
  if (binary) return { module: await compileChecked(binary, 'the WebAssembly bytes given to open()'), path: 'binary' };
  if (!platform) throw new MyceliumError('load_failed', 'no platform loader is set');
  return platform.compile(url ?? fallback());
}

/**
 * Starts downloading and compiling the WebAssembly now, so open() only
 * instantiates. Safe to call many times; the first call's options win.
 */
export function preload(options: LoadOptions = {}): Promise<void> {
  if (!compiling) {
    const start = now();
    const p = platform;
    const core = compileGiven(options.wasmBinary, options.wasmUrl, () => p!.coreUrl());
    const zstd =
      options.compression === false
        ? Promise.resolve(null)
        : compileGiven(options.compressorBinary, options.compressorUrl, () => p!.compressorUrl());
    compiling = Promise.all([core, zstd]).then(
      ([c, z]) => ({ core: c.module, zstd: z ? z.module : null, path: c.path, compileMs: now() - start }),
      (e: unknown) => {
        compiling = null;
        throw e instanceof MyceliumError
          ? e
          : new MyceliumError('load_failed', `could not load the WebAssembly module: ${String(e)}`);
      },
    );
    compiling.catch(() => undefined); // the caller of open() sees the error
  }
  return compiling.then(() => undefined);
}

/** The engine, instantiated once per page. */
export function loadEngine(options: LoadOptions = {}): Promise<Engine> {
  if (!engine) {
    engine = (async () => {
      await preload(options);
      const compiled = await compiling!;
      const start = now();
      // The engine writes every frame (cpp/codec.h) and asks this hook to
      // compress payloads; the compressor module is instantiated below.
      let compressor: Compressor | null = null;
      const mycCompress: CompressHook = (heap, pieces, count, total) =>
        compressor ? compressor.compress(heap, pieces, count, total) : 0;
      const mycCompressed: CompressedHook = (heap, output) => compressor?.take(heap, output);
      // createCore never settles when instantiation fails: reject ourselves.
      const core = await new Promise<CoreModule>((resolve, reject) => {
        createCore({
          mycCompress,
          mycCompressed,
          instantiateWasm(imports, receive) {
            WebAssembly.instantiate(compiled.core, imports).then(
              (instance) => receive(instance, compiled.core),
              (e: unknown) => reject(new MyceliumError('load_failed', `could not instantiate the WebAssembly module: ${String(e)}`)),
            );
            return {};
          },
        }).then(resolve, reject);
      });
      compressor = compiled.zstd ? new Compressor(compiled.zstd, await WebAssembly.instantiate(compiled.zstd, Compressor.imports)) : null;
      loaded = {
        core,
        compressor,
        info: { path: compiled.path, compression: compressor !== null, compileMs: compiled.compileMs, instantiateMs: now() - start },
      };
      return loaded;
    })();
    engine.catch(() => {
      engine = null;
    });
  }
  return engine;
}

/**
 * Bytes of WebAssembly linear memory the SDK holds: the engine's and the
 * compressor's (memory grows, never shrinks); null before the first open().
 */
export function wasmMemoryBytes(): number | null {
  if (!loaded) return null;
  return loaded.core.HEAPU8.buffer.byteLength + (loaded.compressor?.memory.buffer.byteLength ?? 0);
}
