// The WebAssembly core's byte-level interface (cpp/replica.h, through
// bindings/mycelium_wasm.cc), mirrored and nothing more: one module-wide
// input buffer, one output buffer, errors as negative engine codes. Stores
// call the engine through here; the sync layer gets its frames here, written
// and read by the engine's codec (cpp/codec.h), never by TypeScript.
import type { ByteWriter } from './bytes.js';
import { engineError } from './errors.js';
import type { CoreModule } from './generated/mycelium-core.mjs';

/** The module-wide input buffer of one engine, its address cached. */
export class CoreIo {
  private ptr = 0;
  private cap = 0;
  constructor(readonly core: CoreModule) {}

  /** Copies bytes (and `then` right after them) into the engine's input buffer; returns the first's length. */
  send(bytes: Uint8Array, then?: Uint8Array): number {
    const n = bytes.length;
    const total = n + (then?.length ?? 0);
    if (total > this.cap) this.grow(total);
    this.core.HEAPU8.set(bytes, this.ptr);
    if (then) this.core.HEAPU8.set(then, this.ptr + n);
    return n;
  }

  /**
   * Copies a string's UTF-8 into the input buffer; returns its length. A
   * short ASCII string (a record id, mostly) is written byte by byte, with no
   * encoder and no intermediate buffer.
   */
  sendString(s: string, scratch: ByteWriter): number {
    const n = s.length;
    if (n <= 64) {
      if (n > this.cap) this.grow(n);
      const heap = this.core.HEAPU8;
      const at = this.ptr;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        heap[at + i] = c;
      }
      if (i === n) return n;
    }
    const w = scratch.reset();
    w.utf8(s);
    return this.send(w.bytes());
  }

  private grow(total: number): void {
    this.cap = Math.max(total, 2 * this.cap, 4096);
    this.ptr = this.core.input(this.cap);
  }

  /** Throws the engine's error for a negative result; otherwise returns it. */
  check(r: number): number {
    if (r >= 0) return r;
    throw engineError(-r, this.message());
  }

  /** The message of the last failed call. */
  message(): string {
    const p = this.core.output();
    return new TextDecoder().decode(this.core.HEAPU8.subarray(p, p + this.core.outputSize()));
  }

  /** A view of the output buffer (valid until the next engine call). */
  out(n: number): Uint8Array {
    const p = this.core._myc_output();
    return this.core.HEAPU8.subarray(p, p + n);
  }
}

const ios = new WeakMap<CoreModule, CoreIo>();
export function ioOf(core: CoreModule): CoreIo {
  let io = ios.get(core);
  if (!io) ios.set(core, (io = new CoreIo(core)));
  return io;
}

/** Frame kinds of the sync layer (cpp/codec.h PayloadKind). */
export const enum FrameKind {
  Message = 3,
  Chunk = 4,
}

/**
 * The engine's codec of sync frames (cpp/codec.h, kinds 3 and 4): the sync
 * layer writes and reads its frames here and nowhere else. A store hands its
 * engine's to the sync layer (SyncedStore.frames), so the lazily loaded sync
 * chunk needs no loader of its own.
 */
export class SyncFrames {
  constructor(private readonly io: CoreIo) {}

  /** A sync payload in its frame. */
  frame(kind: FrameKind, payload: Uint8Array): Uint8Array {
    const io = this.io;
    return io.out(io.check(io.core.frameSync(kind, io.send(payload)))).slice();
  }

  /** A sync frame's kind and payload; throws MyceliumError (corrupt, unsupported_version) for anything else. */
  unframe(bytes: Uint8Array): { kind: FrameKind; payload: Uint8Array } {
    const io = this.io;
    const kind = io.check(io.core.unframeSync(io.send(bytes))) as FrameKind;
    return { kind, payload: io.out(io.core.outputSize()).slice() };
  }

  /** The size of a sync frame's header, read from the frame's first bytes (the rest may still be on its way). */
  headerSize(prefix: Uint8Array): number {
    return this.io.check(this.io.core.syncHeaderSize(this.io.send(prefix)));
  }
}
