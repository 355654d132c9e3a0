// The Node peer's transport: a WebSocket server that every browser (or
// other Node peer) connects to with webSocket(url). Each connection is one
// link; many stores travel over it.
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NetworkAdapter, NetworkEvents } from '../sync/transport.js';
import { randomPeerId } from '../sync/facade.js';
import { greeting, readGreeting, socketLink } from '../sync/transport.js';
import type { WsConnection } from './websocket.js';
import { acceptUpgrade } from './websocket.js';

export interface WebSocketServerOptions {
  /** Port to listen on (0: any free one; see `listening`). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** An http.Server of the app to attach to instead of listening on a port of our own. */
  readonly server?: Server;
  readonly peerId?: string;
}

export interface WebSocketServerAdapter extends NetworkAdapter {
  /** Resolves with the URL clients connect to, once the server listens. */
  readonly listening: Promise<string>;
}

export function webSocketServer(options: WebSocketServerOptions = {}): WebSocketServerAdapter {
  const peerId = options.peerId ?? randomPeerId();
  const own = !options.server;
  const server = options.server ?? createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('mycelium-sync peer: connect with a WebSocket\n');
  });
  const conns = new Set<WsConnection>();
  let events: NetworkEvents | null = null;
  let resolveUrl!: (url: string) => void;
  const listening = new Promise<string>((r) => (resolveUrl = r));

  const onUpgrade = (req: Parameters<typeof acceptUpgrade>[0], socket: Parameters<typeof acceptUpgrade>[1], head: Buffer) => {
    if (!events) {
      socket.destroy();
      return;
    }
    const ev = events;
    const ws = acceptUpgrade(req, socket, head, { maxMessageBytes: 1024 * 1024 });
    if (!ws) return;
    conns.add(ws);
    let remote: string | null = null;
    ws.send(greeting(peerId));
    ws.onmessage = (data) => {
      if (remote === null) {
        remote = readGreeting(data);
        if (remote === null) return ws.close(1002, 'expected a mycelium-sync greeting');
        ev.peerCandidate(socketLink(remote, ws));
        return;
      }
      ev.message(remote, typeof data === 'string' ? new Uint8Array(0) : data);
    };
    ws.onclose = () => {
      conns.delete(ws);
      if (remote !== null) ev.peerDisconnected(remote, 'websocket closed');
    };
  };

  return {
    kind: 'websocket-server',
    peerId,
    listening,
    start(e) {
      events = e;
      server.on('upgrade', onUpgrade);
      if (own) {
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
          const { port } = server.address() as AddressInfo;
          resolveUrl(`ws://${options.host ?? '127.0.0.1'}:${port}`);
        });
      } else {
        const a = server.address() as AddressInfo | null;
        if (a) resolveUrl(`ws://${options.host ?? '127.0.0.1'}:${a.port}`);
        else server.once('listening', () => resolveUrl(`ws://${options.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`));
      }
    },
    stop() {
      server.off('upgrade', onUpgrade);
      for (const ws of conns) ws.close(1001, 'stopped');
      conns.clear();
      if (own) server.close();
      events = null;
    },
  };
}
