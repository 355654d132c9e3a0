// The Node peer's transport: a WebSocket server that every browser (or
// other Node peer) connects to with webSocket(url). Each connection is one
// link; many stores travel over it. Admission (TLS, Origins, the token or the
// app's authenticate hook, connection and buffer caps, heartbeats) is
// server-guard.ts's; per-store access is the app's authorize hook.
//
// A client names itself in its greeting, but the server keys each
// connection by a name of its own (the claimed id and a counter): a client
// cannot take over, or disconnect, another client's connection by claiming
// its id.
import type { Server } from 'node:http';
import { randomPeerId } from '../sync/facade.js';
import type { Access, Hub, NetworkAdapter, NetworkEvents } from '../sync/transport.js';
import { greeting, readGreeting, socketLink } from '../sync/transport.js';
import type { Authenticate, GuardedServer, Principal } from './server-guard.js';
import { guardServer } from './server-guard.js';

export interface WebSocketServerOptions {
  /** Port to listen on (0: any free one; see `listening`). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** An http(s).Server of the app to attach to instead of listening on a port of our own. */
  readonly server?: Server;
  readonly peerId?: string;
  /** PEM certificate and key: wss://. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** A token every client must present (`?token=` or `Authorization: Bearer`); default: MYCELIUM_TOKEN, else none. */
  readonly token?: string;
  /** Decides who a connection is, before any data flows (replaces the token check). */
  readonly authenticate?: Authenticate;
  /** May this principal read (be sent) or write (have its deltas joined) this store? Default: yes. */
  readonly authorize?: (principal: Principal, store: string, access: Access) => boolean;
  /**
   * Browser Origins allowed to connect (default none: no web page can reach
   * this peer unless listed; '*' any). Clients without an Origin (Node) pass.
   */
  readonly allowOrigins?: readonly string[] | '*';
  /** Most connections at once (default 1,024). */
  readonly maxConnections?: number;
  /** Most unsent bytes queued to one client before it is closed (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** Heartbeat interval in ms (default 30,000). */
  readonly heartbeatMs?: number;
  /** JSON served at GET /status to authenticated requests (the CLI's: stores, versions, peers). */
  readonly status?: () => unknown;
  /** @internal A relay node's: sessions open on the client's hello, stores on demand (NetworkAdapter.hub). */
  readonly hub?: Hub;
}

export interface WebSocketServerAdapter extends NetworkAdapter {
  /** Resolves with the URL clients connect to, once the server listens. */
  readonly listening: Promise<string>;
}

/** A frame is at most a 64 KiB chunk and its header (connection.ts); a greeting is smaller. */
const MAX_FRAME = 64 * 1024 + 64;

export function webSocketServer(options: WebSocketServerOptions = {}): WebSocketServerAdapter {
  const peerId = options.peerId ?? randomPeerId();
  let guarded: GuardedServer | null = null;
  let resolveUrl!: (url: string) => void;
  let rejectUrl!: (e: unknown) => void;
  const listening = new Promise<string>((resolve, reject) => {
    resolveUrl = resolve;
    rejectUrl = reject;
  });
  listening.catch(() => undefined);
  let counter = 0;

  const start = (events: NetworkEvents) => {
    guarded = guardServer(
      'mycelium-sync peer',
      {
        port: options.port,
        host: options.host,
        server: options.server,
        tls: options.tls,
        token: options.token,
        authenticate: options.authenticate,
        allowOrigins: options.allowOrigins ?? [],
        maxPayload: MAX_FRAME,
        maxConnections: options.maxConnections,
        maxBufferedBytes: options.maxBufferedBytes,
        heartbeatMs: options.heartbeatMs,
        status: options.status,
      },
      (conn) => {
        let remote: string | null = null;
        conn.send(greeting(peerId));
        const authorize = options.authorize;
        const may = authorize ? (store: string, access: Access) => authorize(conn.principal, store, access) : undefined;
        return {
          message(data) {
            if (remote === null) {
              const claimed = readGreeting(data);
              if (claimed === null) return conn.close(1002, 'expected a mycelium-sync greeting');
              remote = `${claimed}~${++counter}`;
              events.peerCandidate(socketLink(remote, conn, may));
              return;
            }
            events.message(remote, typeof data === 'string' ? new Uint8Array(0) : data);
          },
          close() {
            if (remote !== null) events.peerDisconnected(remote, 'websocket closed');
          },
        };
      },
    );
    guarded.listening.then(resolveUrl, rejectUrl);
  };

  return {
    kind: 'websocket-server',
    peerId,
    hub: options.hub,
    listening,
    start,
    stop() {
      void guarded?.close();
      guarded = null;
    },
  };
}
