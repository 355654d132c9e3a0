// WebSocket client transport: one link to a server peer (the Node peer of
// mycelium-sync/node, or any server speaking the same frames). Reconnects
// with backoff after the connection drops; the sync resumes from the
// peer's hello, so nothing the peer acknowledged is sent again.
import type { NetworkAdapter, NetworkEvents } from '../transport.js';
import { greeting, readGreeting, socketLink, withToken } from '../transport.js';

/** The parts of the WebSocket API this adapter uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((ev: never) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: never) => void) | null;
  onerror: ((ev: never) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export interface WebSocketOptions {
  readonly peerId?: string;
  /** A token for a server that requires one (`--token`): sent as `?token=` in the URL. */
  readonly token?: string;
  /** Reconnect after the connection drops (default true), waiting 250 ms, doubling up to 5 s. */
  readonly reconnect?: boolean;
  /** The WebSocket constructor (default globalThis.WebSocket; mycelium-sync/node passes its own on Node < 22). */
  readonly WebSocket?: new (url: string) => WebSocketLike;
}

export function webSocket(url: string, options: WebSocketOptions = {}): NetworkAdapter {
  const peerId = options.peerId ?? '';
  const Ctor = options.WebSocket ?? (globalThis as unknown as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  let stopped = false;
  let ws: WebSocketLike | null = null;
  let delay = 250;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const open = (events: NetworkEvents) => {
    if (stopped) return;
    if (!Ctor) throw new Error('no WebSocket in this environment: pass options.WebSocket');
    const socket = new Ctor(withToken(url, options.token));
    ws = socket;
    socket.binaryType = 'arraybuffer';
    let remote: string | null = null;
    socket.onopen = () => socket.send(greeting(peerId));
    socket.onmessage = (ev) => {
      if (remote === null) {
        remote = readGreeting(ev.data);
        if (remote === null) {
          socket.close(1002, 'expected a mycelium-sync greeting');
          return;
        }
        delay = 250;
        events.peerCandidate(socketLink(remote, socket));
        return;
      }
      const d = ev.data;
      if (d instanceof ArrayBuffer) events.message(remote, new Uint8Array(d));
      else if (d instanceof Uint8Array) events.message(remote, d);
      else events.message(remote, new Uint8Array(0)); // text after the greeting: refused by the protocol layer
    };
    socket.onclose = () => {
      if (ws === socket) ws = null;
      if (remote !== null) events.peerDisconnected(remote, 'websocket closed');
      remote = null;
      if (!stopped && options.reconnect !== false) {
        timer = setTimeout(() => open(events), delay);
        delay = Math.min(delay * 2, 5000);
      }
    };
    socket.onerror = () => undefined;
  };

  return {
    kind: 'websocket',
    peerId,
    start: open,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      ws?.close(1000, 'stopped');
    },
  };
}
