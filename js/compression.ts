// The compressor: a second WebAssembly module (bindings/zstd_module.cc)
// running the native engine's StreamCompressor from the same zstd sources
// at the same level, so WASM and native write the same bytes. The core
// holds only the decompressor; it writes every frame itself and hands
// payloads worth compressing to this module through its host hooks
// (cpp/compression.h), as pieces of its memory that are copied in a slice
// at a time: a large snapshot is never copied whole into this module.

interface ZstdExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  myc_begin(total: number): number;
  myc_input(): number;
  myc_feed(n: number): number;
  myc_end(): number;
  myc_output(): number;
  myc_release(): void;
}

/** The module's input slice (cpp/stream_compressor.h, kSliceBytes). */
const SLICE_BYTES = 128 * 1024;

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
  /** Whether a result waits in the module's memory for take(). */
  private held = 0;

  constructor(instance: WebAssembly.Instance) {
    this.z = instance.exports as unknown as ZstdExports;
    this.z._initialize();
  }

  /** The module's linear memory (it grows with the largest payload's output, never shrinks). */
  get memory(): WebAssembly.Memory {
    return this.z.memory;
  }

  /**
   * Compresses the payload made of `count` pieces of the core's memory
   * ((address, size) pairs of 32-bit words at heap[pieces]), `total` bytes,
   * and holds the result; returns its size, or 0 when the bytes stay as they
   * are (too small, or compression does not pay).
   */
  compress(heap: Uint8Array, pieces: number, count: number, total: number): number {
    const z = this.z;
    this.take(heap, 0);
    if (!z.myc_begin(total)) return 0;
    const refs = new Uint32Array(heap.buffer, heap.byteOffset + pieces, 2 * count);
    const input = z.myc_input();
    for (let i = 0; i < count; i++) {
      const at = refs[2 * i]!;
      const size = refs[2 * i + 1]!;
      for (let done = 0; done < size; done += SLICE_BYTES) {
        const n = Math.min(SLICE_BYTES, size - done);
        // The module's memory may have grown in the last call: a fresh view.
        new Uint8Array(z.memory.buffer, input, n).set(heap.subarray(at + done, at + done + n));
        if (!z.myc_feed(n)) {
          z.myc_release();
          return 0;
        }
      }
    }
    this.held = z.myc_end();
    if (this.held === 0) z.myc_release();
    return this.held;
  }

  /** Copies the held result to heap[output, ...) and frees it; output 0 only frees it. */
  take(heap: Uint8Array, output: number): void {
    if (this.held === 0) return;
    const z = this.z;
    if (output !== 0) heap.set(new Uint8Array(z.memory.buffer, z.myc_output(), this.held), output);
    this.held = 0;
    z.myc_release();
  }
}
