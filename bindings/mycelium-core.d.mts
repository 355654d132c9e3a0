// Hand-written types of the Emscripten module built from
// bindings/mycelium_wasm.cc (Emscripten 3.1.6 has no --emit-tsd). Checked by
// `tsc` through the TypeScript layer that uses it, and at run time by
// tests-js/raw-module.test.ts, which calls every function declared here.

/** Functions return a length or value (>= 0), or -code with the message in the output buffer. */
export interface CoreModule {
  /** The module's memory as bytes; replaced when memory grows. */
  HEAPU8: Uint8Array;
  /** Address of an input buffer of at least n bytes. */
  input(n: number): number;
  /** Address of the output buffer (valid until the next call). */
  output(): number;
  /** Bytes in the output buffer (the error message after a failed call). */
  outputSize(): number;
  open(n: number): number;
  close(handle: number): void;
  write(handle: number, n: number): number;
  get(handle: number, collection: number, n: number): number;
  all(handle: number, collection: number): number;
  sorted(handle: number, collection: number, field: number): number;
  count(handle: number, collection: number): number;
  version(handle: number): number;
  deltaSince(handle: number, n: number): number;
  /** 0 applied, 1 pending, 2 already covered. */
  /** maxNewActors < 0: bytes this replica wrote itself (trusted); else a peer's, 0 meaning no actor limit. */
  /** The input: the delta's n bytes, then the context of a detached one (contextBytes), then the author of a signed batch (authorBytes: actor fixed64, first and last seq varints). */
  apply(handle: number, n: number, contextBytes: number, authorBytes: number, captureChanges: boolean, maxNewActors: number): number;
  /** A stable position in a list or text (cpp/replica.h, cursor): the input's n bytes name it; the cursor is in the output. */
  cursor(handle: number, n: number): number;
  /** Where a cursor is now (the input's n bytes: cpp/replica.h, resolve), or -code. */
  resolve(handle: number, n: number): number;
  /** The credit rights an actor holds (the input's n bytes: cpp/replica.h, rights), or -code. */
  rights(handle: number, n: number): number;
  /** A credit field's entries (the input's n bytes: cpp/replica.h, credit_entries): output length, or -code. */
  creditEntries(handle: number, n: number): number;
  changes(handle: number): number;
  dropped(handle: number): number;
  save(handle: number): number;
  pending(handle: number): number;
  memory(handle: number): number;
  actorHi(handle: number): number;
  actorLo(handle: number): number;
  /** Frames the input's n bytes as a sync message (kind 3) or chunk (4); the frame is in the output. */
  frameSync(kind: number, n: number): number;
  /** Reads a sync frame: its kind (3 or 4) with the payload in the output, or -code. */
  unframeSync(n: number): number;
  /** The header's size of the sync frame whose first n bytes are in the input, or -code. */
  syncHeaderSize(n: number): number;
  /** write() as a plain export, without Embind's per-call invoker. */
  _myc_write(handle: number, n: number): number;
  /** get() as a plain export. */
  _myc_get(handle: number, collection: number, n: number): number;
  /** output() as a plain export. */
  _myc_output(): number;
}

/**
 * The host compressor (cpp/compression.h): compresses the payload made of
 * `count` pieces, (address, size) pairs of 32-bit words at heap[pieces],
 * `total` bytes in all, and holds the result; returns its size, or 0 to keep
 * the bytes as they are.
 */
export type CompressHook = (heap: Uint8Array, pieces: number, count: number, total: number) => number;
/** Copies the result held by the last CompressHook call to heap[output, ...) and lets it go (output 0: drops it). */
export type CompressedHook = (heap: Uint8Array, output: number) => void;

export interface CoreModuleOptions {
  mycCompress?: CompressHook;
  mycCompressed?: CompressedHook;
  instantiateWasm(
    imports: WebAssembly.Imports,
    receiveInstance: (instance: WebAssembly.Instance, module?: WebAssembly.Module) => void,
  ): WebAssembly.Exports | Record<string, never>;
}

export default function createCore(options: CoreModuleOptions): Promise<CoreModule>;
