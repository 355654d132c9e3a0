// The signalling server that ships with the package
// (`npx mycelium-sync signal --port 8787`): WebRTC peers find each other in
// rooms and exchange offers, answers and ICE candidates through it. It stores
// nothing, forwards a signal only to a peer of the sender's room, and
// forwards only the fields it has checked.
//
// Protocol (JSON text messages):
//   → {type:'join', room, peer, token?}  ← {type:'peers', peers:[...]}  (the others in the room)
//   → {type:'signal', to, data}          ← {type:'signal', from, data}  (to `to` only, same room)
//   → {type:'leave'}                     ← {type:'left', peer}          (to the peers it signalled with)
//   ← {type:'error', code, message, peer?}  a refused message; the connection stays
// Newcomers call the peers already in the room, so a join is announced to
// nobody, and a leave only to the peers that exchanged signals with the
// leaver: one message from a client never fans out to a whole room. Peer
// ids are bound to the connection that claimed them. A client that sends
// more than `messagesPerSecond` (with a burst) is closed (1008), as is one
// that sends a message over `maxMessageBytes` (1009) or stops reading.
import type { Server } from 'node:http';
import type { Authenticate, GuardedConnection, Principal } from './server-guard.js';
import { guardServer } from './server-guard.js';

export interface SignalServerOptions {
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** An http(s).Server of the app to attach to. */
  readonly server?: Server;
  /** PEM certificate and key: wss://. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** A token every client must present (`?token=` or `Authorization: Bearer`); default: MYCELIUM_TOKEN, else none. */
  readonly token?: string;
  /** Decides who a connection is (replaces the token check). */
  readonly authenticate?: Authenticate;
  /** May this principal join this room? `token` is the join message's own token, if any (rooms may require one). Default: yes. */
  readonly authorizeJoin?: (principal: Principal, room: string, token: string | undefined) => boolean | Promise<boolean>;
  /** Browser Origins allowed (default '*': signalling serves browsers of any site; rooms are the secret). */
  readonly allowOrigins?: readonly string[] | '*';
  /** Largest message accepted (default 64 KiB). */
  readonly maxMessageBytes?: number;
  /** Most peers in one room (default 64). */
  readonly maxRoomSize?: number;
  /** Most connections at once (default 1,024). */
  readonly maxConnections?: number;
  /** Messages one connection may send per second on average (default 100), in bursts of up to 16 per peer a room may hold (a newcomer's offers and ICE candidates to a full room). */
  readonly messagesPerSecond?: number;
  readonly log?: (line: string) => void;
}

export interface SignalServer {
  readonly port: number;
  readonly url: string;
  /** Rooms and how many peers are in each. */
  rooms(): Record<string, number>;
  /** Open connections. */
  connections(): number;
  close(): Promise<void>;
}

const NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;
const SESSION = /^[A-Za-z0-9_.:-]{0,64}$/;
const MAX_SDP = 32 * 1024;
const MAX_CANDIDATE = 1024;

interface Client {
  readonly conn: GuardedConnection;
  room: string | null;
  peer: string | null;
  /** Peers this one exchanged signals with: they hear when it leaves. */
  readonly contacts: Set<Client>;
  tokens: number;
  refilled: number;
  /** An asynchronous authorizeJoin is deciding: further joins are refused until it has. */
  joining: boolean;
  closed: boolean;
}

type Checked = Record<string, unknown>;

const str = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

/** The signal's data rebuilt from the fields WebRTC needs, each checked; null when it is not one. */
function checkSignal(data: unknown): Checked | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const d = data as Record<string, unknown>;
  if (!str(d.session, 64) || !SESSION.test(d.session)) return null;
  const session = d.session;
  if (d.restart === true) return { restart: true, session };
  if ('sdp' in d) {
    const s = d.sdp;
    if (typeof s !== 'object' || s === null) return null;
    const { type, sdp } = s as Record<string, unknown>;
    if ((type !== 'offer' && type !== 'answer') || !str(sdp, MAX_SDP)) return null;
    return { sdp: { type, sdp }, session };
  }
  if ('candidate' in d) {
    const c = d.candidate;
    if (c === null) return { candidate: null, session };
    if (typeof c !== 'object') return null;
    const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = c as Record<string, unknown>;
    if (!str(candidate, MAX_CANDIDATE)) return null;
    if (sdpMid !== undefined && sdpMid !== null && !str(sdpMid, 64)) return null;
    if (sdpMLineIndex !== undefined && sdpMLineIndex !== null && !(Number.isInteger(sdpMLineIndex) && (sdpMLineIndex as number) >= 0 && (sdpMLineIndex as number) < 1024)) return null;
    if (usernameFragment !== undefined && usernameFragment !== null && !str(usernameFragment, 256)) return null;
    const out: Checked = { candidate };
    if (sdpMid !== undefined) out.sdpMid = sdpMid;
    if (sdpMLineIndex !== undefined) out.sdpMLineIndex = sdpMLineIndex;
    if (usernameFragment !== undefined) out.usernameFragment = usernameFragment;
    return { candidate: out, session };
  }
  return null;
}

export async function startSignalServer(options: SignalServerOptions = {}): Promise<SignalServer> {
  const rooms = new Map<string, Map<string, Client>>();
  const maxRoom = options.maxRoomSize ?? 64;
  const rate = options.messagesPerSecond ?? 100;
  const burst = Math.max(rate * 4, maxRoom * 16);
  const log = options.log ?? (() => undefined);
  const authorizeJoin = options.authorizeJoin ?? (() => true);

  // Every outgoing message is built here from checked strings: stringify cannot throw.
  const send = (c: Client, m: Record<string, unknown>) => c.conn.send(JSON.stringify(m));
  const refuse = (c: Client, code: string, message: string, peer?: string) =>
    send(c, peer === undefined ? { type: 'error', code, message } : { type: 'error', code, message, peer });

  const leave = (c: Client) => {
    if (!c.room || !c.peer) return;
    const room = rooms.get(c.room);
    if (room?.get(c.peer) === c) {
      room.delete(c.peer);
      for (const other of c.contacts) {
        if (other.room === c.room && room.get(other.peer ?? '') === other) send(other, { type: 'left', peer: c.peer });
        other.contacts.delete(c);
      }
      if (room.size === 0) rooms.delete(c.room);
    }
    c.contacts.clear();
    c.room = c.peer = null;
  };

  const join = (c: Client, msg: Record<string, unknown>) => {
    const { room, peer, token } = msg;
    if (!str(room, 128) || !NAME.test(room) || !str(peer, 128) || !NAME.test(peer)) {
      return refuse(c, 'bad_message', 'join needs room and peer: 1-128 of A-Z a-z 0-9 _ . : @ -');
    }
    if (token !== undefined && !str(token, 1024)) return refuse(c, 'bad_message', 'a join token is a string of at most 1024 characters');
    if (c.room || c.joining) return refuse(c, 'bad_message', `already in room '${c.room ?? room}'`);
    const finish = (allowed: boolean) => {
      c.joining = false;
      if (c.closed) return;
      if (!allowed) return refuse(c, 'forbidden', `not allowed into room '${room}'`);
      let members = rooms.get(room);
      if (members?.has(peer)) return refuse(c, 'peer_taken', `peer '${peer}' is already in room '${room}'`);
      if (members && members.size >= maxRoom) return refuse(c, 'room_full', `room '${room}' has ${maxRoom} peers`);
      if (!members) rooms.set(room, (members = new Map()));
      send(c, { type: 'peers', peers: [...members.keys()] });
      members.set(peer, c);
      c.room = room;
      c.peer = peer;
      log(`join ${room} ${peer} (${members.size} in room)`);
    };
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = authorizeJoin(c.conn.principal, room, token);
    } catch {
      verdict = false;
    }
    // A hook that answers at once joins at once: messages after the join see it.
    if (typeof verdict === 'boolean') return finish(verdict);
    c.joining = true;
    verdict.then(
      (v) => finish(v === true),
      () => finish(false),
    );
  };

  const handle = (c: Client, data: string | Uint8Array) => {
    // Token bucket: `rate` messages a second, bursts up to `burst`.
    const now = Date.now();
    c.tokens = Math.min(burst, c.tokens + ((now - c.refilled) / 1000) * rate);
    c.refilled = now;
    if (c.tokens < 1) return c.conn.close(1008, 'too many messages');
    c.tokens -= 1;
    if (typeof data !== 'string') return refuse(c, 'bad_message', 'binary messages are not signalling');
    let m: unknown;
    try {
      m = JSON.parse(data);
    } catch {
      return refuse(c, 'bad_message', 'not JSON');
    }
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return refuse(c, 'bad_message', 'a message is a JSON object');
    const msg = m as Record<string, unknown>;
    switch (msg.type) {
      case 'join':
        return join(c, msg);
      case 'signal': {
        if (!c.room || !c.peer) return refuse(c, 'bad_message', 'join a room first');
        if (!str(msg.to, 128)) return refuse(c, 'bad_message', 'signal needs to and data');
        const data = checkSignal(msg.data);
        if (!data) return refuse(c, 'bad_message', 'signal data must be an sdp, a candidate or a restart, with a session');
        // Only within the sender's room: one room cannot reach another.
        const target = rooms.get(c.room)?.get(msg.to);
        if (!target || target === c) return refuse(c, 'unknown_peer', 'no such peer in this room', NAME.test(msg.to) ? msg.to : undefined);
        c.contacts.add(target);
        target.contacts.add(c);
        send(target, { type: 'signal', from: c.peer, data });
        return;
      }
      case 'leave':
        return leave(c);
      default:
        return refuse(c, 'bad_message', `unknown message type${typeof msg.type === 'string' && msg.type.length <= 32 ? ` '${msg.type}'` : ''}`);
    }
  };

  const guarded = guardServer(
    'mycelium-sync signalling server',
    {
      port: options.port ?? 8787,
      host: options.host,
      server: options.server,
      tls: options.tls,
      token: options.token,
      authenticate: options.authenticate,
      allowOrigins: options.allowOrigins ?? '*',
      maxPayload: options.maxMessageBytes ?? 64 * 1024,
      maxConnections: options.maxConnections,
      maxBufferedBytes: 1024 * 1024,
      firstMessageMs: 30_000,
    },
    (conn) => {
      const c: Client = { conn, room: null, peer: null, contacts: new Set(), tokens: burst, refilled: Date.now(), joining: false, closed: false };
      return {
        message: (data) => handle(c, data),
        close: () => {
          c.closed = true;
          leave(c);
        },
      };
    },
  );
  const url = await guarded.listening;
  return {
    port: Number(new URL(url).port),
    url,
    rooms: () => Object.fromEntries([...rooms].map(([k, v]) => [k, v.size])),
    connections: () => guarded.size,
    close: () => guarded.close(),
  };
}
