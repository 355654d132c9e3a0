// The compressor: a second WebAssembly module (bindings/zstd_module.cc) that
// compresses frame payloads exactly as the native engine does (same zstd
// sources, level and threshold), so WASM and native produce the same bytes.
// The core module holds only the decompressor.

interface ZstdExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  malloc(n: number): number;
  free(p: number): void;
  myc_compress(input: number, n: number, output: number, capacity: number): number;
}

const MIN_BYTES = 1024; // cpp/compression.h kCompressMinBytes
const FLAG_COMPRESSED = 1;

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

  /**
   * The frame with its payload compressed when that pays; the frame itself
   * otherwise. `crc32c` is the core's checksum of the new payload.
   */
  compressFrame(frame: Uint8Array, crc32c: (bytes: Uint8Array) => number): Uint8Array {
    let p = 5;
    if (frame.length < 10 || (frame[4]! & FLAG_COMPRESSED) !== 0) return frame;
    while (frame[p]! >= 0x80) p++;
    p += 1 + 4; // last length byte, checksum
    const n = frame.length - p;
    if (n <= MIN_BYTES) return frame;
    const z = this.z;
    const input = z.malloc(n);
    const output = z.malloc(n);
    try {
      new Uint8Array(z.memory.buffer, input, n).set(frame.subarray(p));
      const m = z.myc_compress(input, n, output, n);
      if (m === 0) return frame;
      const payload = new Uint8Array(z.memory.buffer, output, m);
      const header: number[] = [frame[0]!, frame[1]!, frame[2]!, frame[3]!, frame[4]! | FLAG_COMPRESSED];
      for (let v = m; ; v = Math.floor(v / 128)) {
        if (v < 0x80) {
          header.push(v);
          break;
        }
        header.push((v & 0x7f) | 0x80);
      }
      const crc = crc32c(payload);
      header.push(crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24);
      const out = new Uint8Array(header.length + m);
      out.set(header);
      out.set(payload, header.length);
      return out;
    } finally {
      z.free(output);
      z.free(input);
    }
  }
}
