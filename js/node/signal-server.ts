// The signalling server that ships with the package
// (`npx mycelium-sync signal --port 8787`): WebRTC peers find each other in
// rooms and exchange offers, answers and ICE candidates through it. It stores
// nothing, forwards a signal only to a peer of the sender's room, and refuses
// bad or oversized messages.
//
// Protocol (JSON text messages):
//   → {type:'join', room, peer}          ← {type:'peers', peers:[...]}  (the others in the room)
//                                          ← {type:'joined', peer} / {type:'left', peer} (to the others)
//   → {type:'signal', to, data}          ← {type:'signal', from, data}  (to `to` only, same room)
//   ← {type:'error', code, message}      bad message: refused, the connection stays;
//                                          over maxMessageBytes: the connection is closed (1009)
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WsConnection } from './websocket.js';
import { acceptUpgrade } from './websocket.js';

export interface SignalServerOptions {
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Largest message accepted (default 64 KiB). */
  readonly maxMessageBytes?: number;
  /** Most peers in one room (default 64). */
  readonly maxRoomSize?: number;
  readonly log?: (line: string) => void;
}

export interface SignalServer {
  readonly port: number;
  readonly url: string;
  /** Rooms and how many peers are in each. */
  rooms(): Record<string, number>;
  close(): Promise<void>;
}

const NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;

interface Client {
  readonly ws: WsConnection;
  room: string | null;
  peer: string | null;
}

export function startSignalServer(options: SignalServerOptions = {}): Promise<SignalServer> {
  const rooms = new Map<string, Map<string, Client>>();
  const max = options.maxMessageBytes ?? 64 * 1024;
  const maxRoom = options.maxRoomSize ?? 64;
  const log = options.log ?? (() => undefined);
  const clients = new Set<Client>();

  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('mycelium-sync signalling server: connect with a WebSocket\n');
  });

  const send = (c: Client, m: unknown) => c.ws.send(JSON.stringify(m));
  const refuse = (c: Client, code: string, message: string) => send(c, { type: 'error', code, message });

  const leave = (c: Client) => {
    if (!c.room || !c.peer) return;
    const room = rooms.get(c.room);
    if (room?.get(c.peer) === c) {
      room.delete(c.peer);
      for (const other of room.values()) send(other, { type: 'left', peer: c.peer });
      if (room.size === 0) rooms.delete(c.room);
    }
    c.room = c.peer = null;
  };

  const handle = (c: Client, text: string) => {
    let m: unknown;
    try {
      m = JSON.parse(text);
    } catch {
      return refuse(c, 'bad_message', 'not JSON');
    }
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return refuse(c, 'bad_message', 'a message is a JSON object');
    const msg = m as Record<string, unknown>;
    if (msg.type === 'join') {
      const { room, peer } = msg;
      if (typeof room !== 'string' || !NAME.test(room) || typeof peer !== 'string' || !NAME.test(peer)) {
        return refuse(c, 'bad_message', 'join needs room and peer: 1-128 of A-Z a-z 0-9 _ . : @ -');
      }
      if (c.room) return refuse(c, 'bad_message', `already in room '${c.room}'`);
      let members = rooms.get(room);
      if (members?.has(peer)) return refuse(c, 'peer_taken', `peer '${peer}' is already in room '${room}'`);
      if (members && members.size >= maxRoom) return refuse(c, 'room_full', `room '${room}' has ${maxRoom} peers`);
      if (!members) rooms.set(room, (members = new Map()));
      send(c, { type: 'peers', peers: [...members.keys()] });
      for (const other of members.values()) send(other, { type: 'joined', peer });
      members.set(peer, c);
      c.room = room;
      c.peer = peer;
      log(`join ${room} ${peer} (${members.size} in room)`);
      return;
    }
    if (msg.type === 'signal') {
      if (!c.room || !c.peer) return refuse(c, 'bad_message', 'join a room first');
      if (typeof msg.to !== 'string' || msg.data === undefined) return refuse(c, 'bad_message', 'signal needs to and data');
      // Only within the sender's room: one room cannot reach another.
      const target = rooms.get(c.room)?.get(msg.to);
      if (!target) return refuse(c, 'unknown_peer', `no peer '${msg.to}' in this room`);
      send(target, { type: 'signal', from: c.peer, data: msg.data });
      return;
    }
    if (msg.type === 'leave') return leave(c);
    return refuse(c, 'bad_message', `unknown message type ${JSON.stringify(msg.type)}`);
  };

  server.on('upgrade', (req, socket, head) => {
    const ws = acceptUpgrade(req, socket, head, { maxMessageBytes: max });
    if (!ws) return;
    const c: Client = { ws, room: null, peer: null };
    clients.add(c);
    ws.onmessage = (data) => {
      if (typeof data !== 'string') return refuse(c, 'bad_message', 'binary messages are not signalling');
      handle(c, data);
    };
    ws.onclose = () => {
      leave(c);
      clients.delete(c);
    };
  });

  // Connections that died without a close frame are found by pings at the socket level (keep-alive).
  server.on('connection', (socket) => socket.setKeepAlive(true, 15_000));

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, options.host ?? '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const host = options.host ?? '127.0.0.1';
      resolve({
        port,
        url: `ws://${host}:${port}`,
        rooms: () => Object.fromEntries([...rooms].map(([k, v]) => [k, v.size])),
        close: () =>
          new Promise<void>((done) => {
            for (const c of clients) c.ws.close(1001, 'server closing');
            server.close(() => done());
          }),
      });
    });
  });
}
