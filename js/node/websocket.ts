// WebSocket (RFC 6455) for Node without dependencies: the server side of
// the signalling server and of the Node peer, and a client with the
// browser's WebSocket shape for Node versions that have none (Node < 22).
// Text and binary messages, fragmentation, ping/pong, the close handshake,
// and a size limit on incoming messages.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const enum Op {
  Continuation = 0,
  Text = 1,
  Binary = 2,
  Close = 8,
  Ping = 9,
  Pong = 10,
}

export type WsData = string | Uint8Array;

export interface WsOptions {
  /** Largest incoming message in bytes; a larger one closes the connection with 1009. */
  readonly maxMessageBytes?: number;
}

/** One WebSocket connection over a socket that has done its handshake. */
export class WsConnection {
  onmessage: ((data: WsData) => void) | null = null;
  onclose: ((code: number, reason: string) => void) | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOp: Op = Op.Continuation;
  private fragmentBytes = 0;
  private closed = false;
  private readonly max: number;

  constructor(
    readonly socket: Duplex,
    private readonly masking: boolean,
    options: WsOptions = {},
    head?: Buffer,
  ) {
    this.max = options.maxMessageBytes ?? 16 * 1024 * 1024;
    (socket as Duplex & { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.ended(1006, 'connection lost'));
    socket.on('error', () => this.ended(1006, 'connection error'));
    if (head && head.length > 0) queueMicrotask(() => this.receive(head));
  }

  /** Bytes written to the socket and not yet sent. */
  get bufferedAmount(): number {
    return (this.socket as Duplex & { writableLength: number }).writableLength;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send(data: WsData): void {
    if (this.closed) return;
    if (typeof data === 'string') this.frame(Op.Text, Buffer.from(data, 'utf8'));
    else this.frame(Op.Binary, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    const r = Buffer.from(reason.slice(0, 100), 'utf8');
    const payload = Buffer.alloc(2 + r.length);
    payload.writeUInt16BE(code, 0);
    r.copy(payload, 2);
    this.frame(Op.Close, payload);
    this.socket.end();
    this.ended(code, reason);
  }

  private ended(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.(code, reason);
  }

  private frame(op: Op, payload: Buffer): void {
    const n = payload.length;
    const head = Buffer.alloc(2 + (n < 126 ? 0 : n < 65536 ? 2 : 8) + (this.masking ? 4 : 0));
    head[0] = 0x80 | op;
    let at = 2;
    if (n < 126) head[1] = n;
    else if (n < 65536) {
      head[1] = 126;
      head.writeUInt16BE(n, 2);
      at = 4;
    } else {
      head[1] = 127;
      head.writeBigUInt64BE(BigInt(n), 2);
      at = 10;
    }
    let body = payload;
    if (this.masking) {
      head[1]! |= 0x80;
      const mask = randomBytes(4);
      mask.copy(head, at);
      body = Buffer.alloc(n);
      for (let i = 0; i < n; i++) body[i] = payload[i]! ^ mask[i & 3]!;
    }
    this.socket.write(Buffer.concat([head, body]));
  }

  private fail(code: number, reason: string): void {
    this.close(code, reason);
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const op = (b[0]! & 0x0f) as Op;
      if ((b[0]! & 0x70) !== 0) return this.fail(1002, 'reserved bits set');
      const masked = (b[1]! & 0x80) !== 0;
      if (masked === this.masking) return this.fail(1002, masked ? 'a server must not mask' : 'a client must mask');
      let n = b[1]! & 0x7f;
      let at = 2;
      if (n === 126) {
        if (b.length < 4) return;
        n = b.readUInt16BE(2);
        at = 4;
      } else if (n === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(this.max)) return this.fail(1009, 'message too big');
        n = Number(big);
        at = 10;
      }
      if (n > this.max || this.fragmentBytes + n > this.max) return this.fail(1009, 'message too big');
      const maskAt = at;
      if (masked) at += 4;
      if (b.length < at + n) return;
      let payload = b.subarray(at, at + n);
      if (masked) {
        const out = Buffer.alloc(n);
        for (let i = 0; i < n; i++) out[i] = payload[i]! ^ b[maskAt + (i & 3)]!;
        payload = out;
      } else payload = Buffer.from(payload);
      this.buf = b.subarray(at + n);
      if (op >= 8) {
        if (!fin || n > 125) return this.fail(1002, 'bad control frame');
        if (op === Op.Ping) this.frame(Op.Pong, payload);
        else if (op === Op.Close) {
          const code = n >= 2 ? payload.readUInt16BE(0) : 1005;
          if (!this.closed) {
            this.frame(Op.Close, payload.subarray(0, 2));
            this.socket.end();
          }
          return this.ended(code, payload.subarray(2).toString('utf8'));
        }
        continue;
      }
      if (op === Op.Continuation) {
        if (this.fragmentOp === Op.Continuation) return this.fail(1002, 'continuation without a start');
      } else if (op === Op.Text || op === Op.Binary) {
        if (this.fragmentOp !== Op.Continuation) return this.fail(1002, 'new message inside a fragmented one');
        this.fragmentOp = op;
      } else return this.fail(1002, `unknown opcode ${op}`);
      this.fragments.push(payload);
      this.fragmentBytes += n;
      if (!fin) continue;
      const whole = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
      const kind = this.fragmentOp;
      this.fragments = [];
      this.fragmentOp = Op.Continuation;
      this.fragmentBytes = 0;
      if (kind === Op.Text) {
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(whole);
        } catch {
          return this.fail(1007, 'text is not UTF-8');
        }
        this.onmessage?.(text);
      } else this.onmessage?.(new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength));
      if (this.closed) return;
    }
  }
}

/**
 * Completes a server-side handshake for an HTTP upgrade request (the
 * `upgrade` event of a node:http server). Returns null, having answered
 * 400, when the request is not a WebSocket handshake.
 */
export function acceptUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, options: WsOptions = {}): WsConnection | null {
  const key = req.headers['sec-websocket-key'];
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string' || req.headers['sec-websocket-version'] !== '13') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return null;
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  return new WsConnection(socket, false, options, head);
}

type Listener = ((ev: { data: unknown }) => void) | null;

/**
 * A client with the browser WebSocket's shape (the parts the adapters use):
 * binary messages arrive as ArrayBuffer.
 */
export class NodeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  binaryType = 'arraybuffer';
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: Listener = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  private conn: WsConnection | null = null;

  constructor(url: string | URL) {
    const u = new URL(url);
    if (u.protocol !== 'ws:') throw new Error(`NodeWebSocket speaks ws:// only, not ${u.protocol}`);
    const key = randomBytes(16).toString('base64');
    const req = request({
      host: u.hostname,
      port: u.port || 80,
      path: u.pathname + u.search,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' },
    });
    req.on('upgrade', (res, socket, head) => {
      const want = createHash('sha1').update(key + GUID).digest('base64');
      if (res.headers['sec-websocket-accept'] !== want) {
        socket.destroy();
        this.failed();
        return;
      }
      const conn = new WsConnection(socket, true, {}, head);
      this.conn = conn;
      conn.onmessage = (d) => this.onmessage?.({ data: typeof d === 'string' ? d : d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength) });
      conn.onclose = (code, reason) => {
        this.readyState = 3;
        this.onclose?.({ code, reason });
      };
      this.readyState = 1;
      this.onopen?.({});
    });
    req.on('response', () => this.failed());
    req.on('error', () => this.failed());
    req.end();
  }

  private failed(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006, reason: 'connection failed' });
  }

  get bufferedAmount(): number {
    return this.conn?.bufferedAmount ?? 0;
  }

  send(data: string | Uint8Array | ArrayBuffer): void {
    if (!this.conn) throw new Error('WebSocket is not open');
    this.conn.send(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
  }

  close(code?: number, reason?: string): void {
    if (this.conn) this.conn.close(code, reason);
    else this.readyState = 3;
  }
}
