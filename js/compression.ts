// The compressor: a second WebAssembly module (bindings/zstd_module.cc)
// built from the same zstd sources at the same level as the native engine,
// so WASM and native write the same bytes. The core holds only the
// decompressor; it writes every frame itself and hands payloads worth
// compressing to this module through its host hook (cpp/compression.h).

interface ZstdExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  malloc(n: number): number;
  free(p: number): void;
  myc_compress(input: number, n: number, output: number, capacity: number): number;
}

export class Compressor {
  /** A standalone Emscripten module asks for these two; neither is ever needed to act. */
  static readonly imports: WebAssembly.Imports = {
    env: { emscripten_notify_memory_growth: () => undefined },
    wasi_snapshot_preview1: {
      proc_exit: (code: number) => {
        throw new Error(`compressor exited with ${code}`);
      },
    },
  };

  private readonly z: ZstdExports;

  constructor(instance: WebAssembly.Instance) {
    this.z = instance.exports as unknown as ZstdExports;
    this.z._initialize();
  }

  /** The last result, held in this module's memory until take(). */
  private held: { at: number; size: number } | null = null;

  /**
   * Compresses heap[input, input + n) (the core's memory) and holds the
   * result; returns its size, or 0 when the bytes stay as they are (too
   * small, or compression does not pay).
   */
  compress(heap: Uint8Array, input: number, n: number): number {
    const z = this.z;
    this.drop();
    const src = z.malloc(n);
    const dst = z.malloc(n);
    try {
      new Uint8Array(z.memory.buffer, src, n).set(heap.subarray(input, input + n));
      const m = z.myc_compress(src, n, dst, n);
      if (m > 0) this.held = { at: dst, size: m };
      return m;
    } finally {
      z.free(src);
      if (!this.held) z.free(dst);
    }
  }

  /** Copies the held result to heap[output, ...) and frees it; output 0 only frees it. */
  take(heap: Uint8Array, output: number): void {
    const held = this.held;
    if (held && output !== 0) heap.set(new Uint8Array(this.z.memory.buffer, held.at, held.size), output);
    this.drop();
  }

  private drop(): void {
    if (this.held) this.z.free(this.held.at);
    this.held = null;
  }
}
