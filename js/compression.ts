// The compressor: a second WebAssembly module (bindings/zstd_module.cc)
// running the native engine's StreamCompressor from the same zstd sources
// at the same level, so WASM and native write the same bytes. The core
// holds only the decompressor; it writes every frame itself and hands
// payloads worth compressing to this module through its host hooks
// (cpp/compression.h), as pieces of its memory that are copied in a slice
// at a time: a large snapshot is never copied whole into this module.
import { testSwitches } from './test-switches.js';

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

  /** The compressor: its exports, or null while a trapped instance is being replaced. */
  private z: ZstdExports | null;
  /** Whether a result waits in the module's memory for take(). */
  private held = 0;
  /** The last instance's memory (what wasmMemoryBytes() counts). */
  private lastMemory: WebAssembly.Memory;
  /** @internal How many instances that trapped were replaced. */
  replacements = 0;

  /** `module` is kept to replace an instance that trapped. */
  constructor(
    private readonly module: WebAssembly.Module,
    instance: WebAssembly.Instance,
  ) {
    this.z = Compressor.start(instance);
    this.lastMemory = this.z.memory;
  }

  private static start(instance: WebAssembly.Instance): ZstdExports {
    const z = instance.exports as unknown as ZstdExports;
    z._initialize();
    return z;
  }

  /** The module's linear memory (it grows with the largest payload's output, never shrinks). */
  get memory(): WebAssembly.Memory {
    return this.lastMemory;
  }

  /** False while an instance that trapped is being replaced (payloads then stay uncompressed). */
  get ready(): boolean {
    return this.z !== null;
  }

  /**
   * Compresses the payload made of `count` pieces of the core's memory
   * ((address, size) pairs of 32-bit words at heap[pieces]), `total` bytes,
   * and holds the result; returns its size, or 0 when the bytes stay as they
   * are (too small, compression does not pay, or no compressor is ready).
   *
   * A WebAssembly trap in the compressor is not the payload's fault (its
   * code cannot trap on any input; JavaScriptCore has been seen to
   * miscompute it, tests-browser/webkit-osr/README.md): the payload stays
   * uncompressed, which every reader accepts, and the instance, whose memory
   * may be half-written, is replaced by a fresh one.
   */
  compress(heap: Uint8Array, pieces: number, count: number, total: number): number {
    const z = this.z;
    if (!z) return 0;
    try {
      this.take(heap, 0);
      if (!z.myc_begin(total)) return 0;
      const refs = new Uint32Array(heap.buffer, heap.byteOffset + pieces, 2 * count);
      const input = z.myc_input();
      const fault = testSwitches().compressFault;
      for (let i = 0; i < count; i++) {
        const at = refs[2 * i]!;
        const size = refs[2 * i + 1]!;
        for (let done = 0; done < size; done += SLICE_BYTES) {
          const n = Math.min(SLICE_BYTES, size - done);
          // The module's memory may have grown in the last call: a fresh view.
          new Uint8Array(z.memory.buffer, input, n).set(heap.subarray(at + done, at + done + n));
          fault?.();
          if (!z.myc_feed(n)) {
            z.myc_release();
            return 0;
          }
        }
      }
      this.held = z.myc_end();
      if (this.held === 0) z.myc_release();
      return this.held;
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      this.replace();
      return 0;
    }
  }

  /** Drops the instance that trapped and instantiates the module again (asynchronously). */
  private replace(): void {
    this.z = null;
    this.held = 0;
    this.replacements++;
    WebAssembly.instantiate(this.module, Compressor.imports).then(
      (instance) => {
        this.z = Compressor.start(instance);
        this.lastMemory = this.z.memory;
      },
      // No instance: payloads stay uncompressed, which every reader accepts.
      () => undefined,
    );
  }

  /** Copies the held result to heap[output, ...) and frees it; output 0 only frees it. */
  take(heap: Uint8Array, output: number): void {
    const z = this.z;
    if (this.held === 0 || !z) return;
    if (output !== 0) heap.set(new Uint8Array(z.memory.buffer, z.myc_output(), this.held), output);
    this.held = 0;
    try {
      z.myc_release();
    } catch (e) {
      // The result is copied; only the instance is in doubt.
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      this.replace();
    }
  }
}
