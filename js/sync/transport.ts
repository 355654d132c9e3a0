// Network adapters: how sync reaches other replicas. A transport offers
// links to peers — ordered, reliable, message-based duplex channels — and
// reports three events: a peer became reachable (peer-candidate), a message
// arrived (message), a peer went away (peer-disconnected). Everything the
// protocol does sits above this interface (connection.ts, session.ts).

/** One open channel to one peer. */
export interface Link {
  /** The peer's id on this network (unique per open adapter). */
  readonly peer: string;
  /** Sends one message. Messages arrive whole, in order, at most once. */
  send(bytes: Uint8Array): void;
  /** Bytes queued for sending and not yet on the wire (0 when the transport cannot tell). */
  readonly bufferedAmount: number;
  /** Calls `resume` once bufferedAmount has fallen well below its mark (bufferedamountlow). */
  onDrain(resume: () => void): void;
  /** The largest message this link carries. */
  readonly maxMessageSize: number;
  /** Closes the channel (the adapter reports peer-disconnected). */
  close(reason?: string): void;
  /**
   * May the peer read (be sent) or write (have its deltas joined) this store?
   * Server-side links answer from the app's authorize hook; absent: yes.
   */
  may?(store: string, access: Access): boolean;
}

/** What a peer may do with a store. */
export type Access = 'read' | 'write';

export interface NetworkEvents {
  peerCandidate(link: Link): void;
  message(peer: string, bytes: Uint8Array): void;
  peerDisconnected(peer: string, reason: string): void;
}

/** A transport: WebRTC, BroadcastChannel, WebSocket, MessagePort, in-memory. */
export interface NetworkAdapter {
  /** 'webrtc', 'broadcast-channel', 'websocket', 'websocket-server', 'message-port', 'memory'. */
  readonly kind: string;
  /** This replica's id on the network. */
  readonly peerId: string;
  /** Starts finding peers; events arrive from now on. Called once. */
  start(events: NetworkEvents): void;
  /** Closes every link and stops finding peers. */
  stop(): void;
  /**
   * A hub of many stores (a relay node): a store's session with a peer opens
   * when the peer says hello for it (each client syncs one or a few of the
   * hub's stores), not for every store and every peer. Without it, a
   * replica says hello for each of its stores to each peer as it connects.
   */
  readonly hub?: Hub;
}

export interface Hub {
  /**
   * Called with the name of a store a peer says hello for that no store
   * connected through this adapter has. True: a store of that name connects
   * soon, and the hello is kept for it; false: the hello is dropped (the
   * peer asks again later).
   */
  storeWanted(name: string): boolean;
}

/** For transports without a bufferedamountlow event: checks every few ms until the buffer is low. */
export function pollDrain(buffered: () => number, resume: () => void, low = 256 * 1024): void {
  const check = () => {
    if (buffered() <= low) resume();
    else setTimeout(check, 5);
  };
  setTimeout(check, 1);
}

/** A link over a WebSocket (the browser's, or mycelium-sync/node's on either side). */
export function socketLink(
  peer: string,
  socket: { readonly bufferedAmount: number; send(bytes: Uint8Array): void; close(code: number, reason: string): void },
  may?: (store: string, access: Access) => boolean,
): Link {
  return {
    peer,
    may,
    maxMessageSize: 1024 * 1024,
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    send: (bytes) => socket.send(bytes),
    onDrain: (resume) => pollDrain(() => socket.bufferedAmount, resume),
    close: () => socket.close(1000, 'closed'),
  };
}

/** The first message each way on a WebSocket link: who is speaking. */
export function greeting(peerId: string): string {
  return JSON.stringify({ mycelium: 'peer', peer: peerId });
}

/** The peer id from a greeting, or null. */
export function readGreeting(data: unknown): string | null {
  if (typeof data !== 'string' || data.length > 256) return null;
  try {
    const m = JSON.parse(data) as { mycelium?: unknown; peer?: unknown };
    return m.mycelium === 'peer' && typeof m.peer === 'string' && /^[A-Za-z0-9_.:@-]{1,128}$/.test(m.peer) ? m.peer : null;
  } catch {
    return null;
  }
}

/** `url` with `?token=` set (how a browser WebSocket presents a token: it cannot set headers). */
export function withToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}
