// What every WebSocket server of the package (the signalling server, the Node
// peer) does before and around a connection, on the `ws` library: TLS,
// allowed browser Origins, authentication (a shared token by default, or the
// app's hook, run before any data flows, as Hocuspocus's onAuthenticate), a
// cap on connections, a size limit on messages (ws's maxPayload), ping/pong
// heartbeats that terminate dead sockets, a deadline for the first message,
// and a cap on each connection's unsent bytes: a client that does not read
// is closed, never buffered for.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

/** Who a connection is, as authentication decided: the app's name for it. */
export type Principal = string;

/** Returns the principal, or null (or undefined) to refuse the connection with 401. */
export type Authenticate = (request: IncomingMessage) => Principal | null | undefined | Promise<Principal | null | undefined>;

export interface ServerGuardOptions {
  /** Port to listen on (0: any free one). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** An http(s).Server of the app to attach to instead of listening on a port of our own. */
  readonly server?: HttpServer;
  /** PEM certificate and key: serve wss:// (TLS) instead of ws://. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /**
   * A shared secret every client must present, as `?token=…` in the URL or
   * `Authorization: Bearer …` (default: the MYCELIUM_TOKEN environment
   * variable; none: no token needed). Ignored when `authenticate` is given.
   */
  readonly token?: string;
  /** Decides who a connection is before any data flows; replaces the token check. */
  readonly authenticate?: Authenticate;
  /**
   * Browser Origins allowed to connect ('*': any). A request without an
   * Origin header (Node, native clients) is not a browser's and is let through
   * to authentication.
   */
  readonly allowOrigins?: readonly string[] | '*';
  /** Largest message in bytes; a larger one closes the connection with 1009. */
  readonly maxPayload?: number;
  /** Most open connections at once (default 1,024); more are refused with 503. */
  readonly maxConnections?: number;
  /** Most bytes queued to one connection and not yet sent (default 4 MiB); a client that lets more pile up is closed. */
  readonly maxBufferedBytes?: number;
  /** Ping every connection this often (ms, default 30,000); one that has not answered the previous ping is terminated. */
  readonly heartbeatMs?: number;
  /** A connection must send its first message within this many ms (default 10,000). */
  readonly firstMessageMs?: number;
  /** Close a connection that has sent nothing for this long (ms; default 0: never). */
  readonly idleTimeoutMs?: number;
  /**
   * Served as JSON at GET /status to a request that passes the same Origin
   * and authentication checks as a WebSocket (else 403 / 401).
   */
  readonly status?: () => unknown;
}

export interface GuardedConnection {
  readonly ws: WebSocket;
  readonly principal: Principal;
  readonly request: IncomingMessage;
  /** Sends unless the connection is closed; closes it (1008) when its unsent bytes would pass the cap. */
  send(data: string | Uint8Array): void;
  /** Bytes queued and not yet sent. */
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
}

export interface GuardedServer {
  /** Resolves with ws:// or wss:// and the address, once listening. */
  readonly listening: Promise<string>;
  /** Open connections. */
  readonly size: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_CONNECTIONS = 1024;
const DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024;
const DEFAULT_HEARTBEAT = 30_000;
const DEFAULT_FIRST_MESSAGE = 10_000;

function sameSecret(a: string, b: string): boolean {
  // Compare digests: equal lengths, constant time whatever the input.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** The token a request carries: `?token=` or `Authorization: Bearer`. */
function requestToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  try {
    return new URL(req.url ?? '/', 'http://x').searchParams.get('token');
  } catch {
    return null;
  }
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function refuse(socket: Duplex, status: number): void {
  const text = STATUS_TEXT[status] ?? 'Error';
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
}

/**
 * Starts (or attaches to) an HTTP(S) server that upgrades admitted requests
 * to WebSockets and hands each one, with its principal, to `onConnection`.
 */
export function guardServer(
  name: string,
  options: ServerGuardOptions,
  onConnection: (c: GuardedConnection) => { message(data: string | Uint8Array): void; close(): void },
): GuardedServer {
  const token = options.token ?? process.env.MYCELIUM_TOKEN ?? '';
  const authenticate: Authenticate =
    options.authenticate ?? ((req) => (token === '' ? 'anonymous' : sameSecret(requestToken(req) ?? '', token) ? 'token' : null));
  const origins = options.allowOrigins ?? [];
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  const heartbeat = options.heartbeatMs ?? DEFAULT_HEARTBEAT;
  const firstMessage = options.firstMessageMs ?? DEFAULT_FIRST_MESSAGE;
  const idle = options.idleTimeoutMs ?? 0;
  const own = !options.server;
  const admitted = async (req: IncomingMessage): Promise<number | Principal> => {
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origins !== '*' && !origins.includes(origin)) return 403;
    try {
      const principal = await authenticate(req);
      return typeof principal === 'string' && principal !== '' ? principal : 401;
    } catch {
      return 500;
    }
  };
  const plain = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/status' || !options.status || req.method !== 'GET') {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end(`${name}: connect with a WebSocket\n`);
      return;
    }
    void admitted(req).then((who) => {
      if (typeof who === 'number') {
        res.writeHead(who, { 'content-type': 'text/plain' });
        res.end(`${STATUS_TEXT[who] ?? 'Error'}\n`);
        return;
      }
      let body: string;
      try {
        body = JSON.stringify(options.status!());
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`status failed: ${e instanceof Error ? e.message : String(e)}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(body);
    });
  };
  const server: HttpServer = options.server ?? (options.tls ? (createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, plain) as unknown as HttpServer) : createHttpServer(plain));
  // Pongs are answered here, not by ws, so they count against the unsent-byte cap too.
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 64 * 1024, perMessageDeflate: false, clientTracking: false, autoPong: false });
  const live = new Map<WebSocket, { alive: boolean; last: number }>();
  let pending = 0; // upgrades being authenticated
  let closed = false;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (closed || live.size + pending >= maxConnections) return refuse(socket, 503);
    pending++;
    void admitted(req).then((who) => {
      pending--;
      if (closed || socket.destroyed) return socket.destroy();
      if (typeof who === 'number') return refuse(socket, who);
      wss.handleUpgrade(req, socket, head, (ws) => admit(ws, req, who));
    });
  };

  const admit = (ws: WebSocket, req: IncomingMessage, principal: Principal) => {
    ws.binaryType = 'nodebuffer';
    const state = { alive: true, last: Date.now() };
    live.set(ws, state);
    let greeted = false;
    const firstTimer = setTimeout(() => {
      if (!greeted) ws.close(1008, 'no message in time');
    }, firstMessage);
    const conn: GuardedConnection = {
      ws,
      principal,
      request: req,
      send(data) {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (ws.bufferedAmount + data.length > maxBuffered) {
          // Closed, not buffered for: a client that does not read will not read a close frame either.
          ws.terminate();
          return;
        }
        ws.send(data);
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      close: (code, reason) => ws.close(code, reason),
    };
    let handler: ReturnType<typeof onConnection>;
    try {
      handler = onConnection(conn);
    } catch {
      ws.terminate();
      return;
    }
    ws.on('pong', () => (state.alive = true));
    ws.on('ping', (data: Buffer) => {
      state.alive = true;
      if (ws.readyState !== WebSocket.OPEN) return;
      if (ws.bufferedAmount + data.length > maxBuffered) {
        // Pings from a client that reads nothing: its pongs would pile up here.
        ws.terminate();
        return;
      }
      ws.pong(data);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      greeted = true;
      state.last = Date.now();
      state.alive = true;
      try {
        handler.message(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString('utf8'));
      } catch {
        // One bad message closes one connection, never the process.
        ws.close(1011, 'internal error');
      }
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clearTimeout(firstTimer);
      live.delete(ws);
      try {
        handler.close();
      } catch {
        // nothing more to do for a connection that is gone
      }
    });
  };

  const beat = setInterval(() => {
    const now = Date.now();
    for (const [ws, s] of live) {
      if (!s.alive || (idle > 0 && now - s.last > idle)) {
        ws.terminate();
        continue;
      }
      s.alive = false;
      ws.ping();
    }
  }, heartbeat);
  beat.unref();

  server.on('upgrade', onUpgrade);
  server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  const scheme = options.tls ? 'wss' : 'ws';
  const host = options.host ?? '127.0.0.1';
  const urlOf = () => `${scheme}://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;
  const listening = new Promise<string>((resolve, reject) => {
    if (own) {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve(urlOf()));
    } else if (server.address()) resolve(urlOf());
    else server.once('listening', () => resolve(urlOf()));
  });
  listening.catch(() => undefined);

  return {
    listening,
    get size() {
      return live.size;
    },
    close() {
      closed = true;
      clearInterval(beat);
      server.off('upgrade', onUpgrade);
      // Stop listening at once (the port is free for a new server), then end the connections.
      const stopped = own ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
      for (const ws of live.keys()) ws.close(1001, 'server closing');
      const ended = new Promise<void>((resolve) => {
        const check = () => {
          if (live.size === 0) return resolve();
          setTimeout(check, 10);
        };
        check();
        // Clients that never answer the close frame: cut them off.
        setTimeout(() => {
          for (const ws of live.keys()) ws.terminate();
        }, 2000).unref();
      });
      return Promise.all([stopped, ended]).then(() => undefined);
    },
  };
}
