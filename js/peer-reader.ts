// Bytes from outside (a peer, a file): ByteReader with every read checked.
// Its own module so that only the code reading such bytes (js/sync/wire.ts)
// downloads it: the first open() reads only the engine's own output.
import { ByteReader, utf8Decoder } from './bytes.js';
import { MyceliumError } from './errors.js';

const corruptInput = (context: string, what: string) => new MyceliumError('corrupt', `${context}: ${what}`);

/**
 * Reads bytes from outside (a peer, a file): every read is bounds-checked,
 * and what is wrong is thrown as MyceliumError('corrupt') naming the field
 * and the input (`context`).
 */
export class PeerReader extends ByteReader {
  constructor(
    buf: Uint8Array,
    readonly context: string,
  ) {
    super(buf);
  }

  remaining(): number {
    return this.buf.length - this.pos;
  }

  override u8(what = 'byte'): number {
    if (this.pos >= this.buf.length) throw corruptInput(this.context, `truncated ${what}`);
    return this.buf[this.pos++]!;
  }

  /** An unsigned integer of at most 8 LEB128 bytes that fits a double exactly. */
  override varint(what = 'varint'): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8(what);
      v += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) break;
        return v;
      }
      scale *= 128;
    }
    throw corruptInput(this.context, `${what} is not a valid varint`);
  }

  override fixed64(what = 'fixed64'): { lo: number; hi: number } {
    if (this.remaining() < 8) throw corruptInput(this.context, `truncated ${what}`);
    return super.fixed64();
  }

  override raw(n: number, what = 'bytes'): Uint8Array {
    if (n > this.remaining()) throw corruptInput(this.context, `${what} overruns the input`);
    return super.raw(n);
  }

  /** Length-prefixed UTF-8 of at most `max` bytes. */
  override string(what = 'string', max = 1 << 20): string {
    const n = this.varint(what);
    if (n > max) throw corruptInput(this.context, `${what} is longer than ${max} bytes`);
    const b = this.raw(n, what);
    try {
      return utf8Decoder.decode(b);
    } catch {
      throw corruptInput(this.context, `${what} is not UTF-8`);
    }
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.pos !== this.buf.length) throw corruptInput(this.context, 'trailing bytes');
  }
}
