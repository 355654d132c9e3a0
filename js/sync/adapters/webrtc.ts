// WebRTC transport: one RTCPeerConnection and one ordered, reliable
// RTCDataChannel per peer, found through the signalling server
// (`npx mycelium-sync signal`). The peer that joins a room calls the ones
// already there; offers, answers and ICE candidates travel through the
// server, which only forwards them within the room. A connection that fails
// is called again (by the peer with the smaller id) while both are in the
// room; the signalling socket reconnects with backoff.
import type { Link, NetworkAdapter, NetworkEvents } from '../transport.js';
import { withToken } from '../transport.js';


export interface WebRTCOptions {
  /** The signalling server, e.g. 'ws://127.0.0.1:8787'. */
  readonly signaling: string;
  /** Peers in the same room find each other. */
  readonly room: string;
  readonly peerId?: string;
  /** STUN/TURN servers (default none: host candidates only, enough on one network). */
  readonly iceServers?: RTCIceServer[];
  /** A token for a signalling server that requires one (`--token`): sent as `?token=` in the URL. */
  readonly token?: string;
  /** A token for a room that requires one (the server's authorizeJoin hook decides). */
  readonly roomToken?: string;
  /** The WebSocket constructor for the signalling connection (default globalThis.WebSocket). */
  readonly WebSocket?: new (url: string) => WebSocket;
}

type Signal =
  | { sdp: RTCSessionDescriptionInit; session: string }
  | { candidate: RTCIceCandidateInit | null; session: string }
  | { restart: true; session: string };

interface PeerConn {
  readonly pc: RTCPeerConnection;
  readonly dc: RTCDataChannel;
  readonly session: string;
  readonly early: RTCIceCandidateInit[];
  remoteSet: boolean;
  open: boolean;
}

/** Names one negotiation, so late signals of an abandoned one are ignored. */
function sessionId(): string {
  return crypto.getRandomValues(new Uint32Array(2)).join('-');
}

export function webrtc(options: WebRTCOptions): NetworkAdapter {
  const peerId = options.peerId ?? '';
  const WS = options.WebSocket ?? globalThis.WebSocket;
  const conns = new Map<string, PeerConn>();
  const present = new Set<string>(); // peers in the room, as the server last said
  let ws: WebSocket | null = null;
  let stopped = false;
  let delay = 250;
  let events: NetworkEvents | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const signal = (to: string, data: Signal) => {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: 'signal', to, data }));
  };

  const drop = (peer: string, why: string) => {
    const c = conns.get(peer);
    if (!c) return;
    conns.delete(peer);
    c.dc.onclose = c.dc.onmessage = c.dc.onopen = null;
    c.pc.onconnectionstatechange = c.pc.onicecandidate = null;
    c.dc.close();
    c.pc.close();
    if (c.open) events?.peerDisconnected(peer, why);
  };

  const create = (peer: string, session: string): PeerConn => {
    drop(peer, 'replaced');
    const pc = new RTCPeerConnection({ iceServers: options.iceServers ?? [] });
    // Negotiated on both sides with the same id: no ondatachannel round trip.
    const dc = pc.createDataChannel('mycelium-sync', { ordered: true, negotiated: true, id: 0 });
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = 256 * 1024;
    const c: PeerConn = { pc, dc, session, early: [], remoteSet: false, open: false };
    conns.set(peer, c);
    pc.onicecandidate = (ev) => signal(peer, { candidate: ev.candidate ? ev.candidate.toJSON() : null, session });
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        drop(peer, `connection ${pc.connectionState}`);
        retry(peer);
      }
    };
    dc.onopen = () => {
      c.open = true;
      const link: Link = {
        peer,
        get maxMessageSize() {
          return pc.sctp?.maxMessageSize || 256 * 1024;
        },
        get bufferedAmount() {
          return dc.readyState === 'open' ? dc.bufferedAmount : 0;
        },
        send: (bytes) => dc.send(bytes as Uint8Array<ArrayBuffer>),
        onDrain: (resume) => {
          if (dc.bufferedAmount <= dc.bufferedAmountLowThreshold) queueMicrotask(resume);
          else dc.addEventListener('bufferedamountlow', () => resume(), { once: true });
        },
        close: () => drop(peer, 'closed'),
      };
      events?.peerCandidate(link);
    };
    dc.onmessage = (ev: MessageEvent<unknown>) => {
      const d = ev.data;
      events?.message(peer, d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(0));
    };
    dc.onclose = () => {
      if (conns.get(peer) === c) {
        drop(peer, 'data channel closed');
        retry(peer);
      }
    };
    return c;
  };

  const call = async (peer: string) => {
    const c = create(peer, sessionId());
    try {
      await c.pc.setLocalDescription(await c.pc.createOffer());
      signal(peer, { sdp: c.pc.localDescription!.toJSON(), session: c.session });
    } catch {
      drop(peer, 'offer failed');
    }
  };

  // A connection to `peer` was lost. One side calls again, so the two never
  // cross offers: the one with the smaller id; the other asks it to (it may
  // not have noticed yet).
  const retry = (peer: string) => {
    if (stopped || !present.has(peer)) return;
    if (peerId < peer) setTimeout(() => present.has(peer) && !conns.get(peer)?.open && void call(peer), 500);
    else signal(peer, { restart: true, session: '' });
  };

  const onSignal = async (from: string, data: Signal) => {
    if (typeof data !== 'object' || data === null || typeof data.session !== 'string') return;
    // Joins are announced to nobody: a newcomer is known by its first signal.
    present.add(from);
    try {
      if ('restart' in data) {
        if (peerId < from) {
          drop(from, 'the peer lost the connection');
          void call(from);
        }
      } else if ('sdp' in data) {
        if (data.sdp.type === 'offer') {
          const c = create(from, data.session);
          await c.pc.setRemoteDescription(data.sdp);
          c.remoteSet = true;
          for (const cand of c.early.splice(0)) await c.pc.addIceCandidate(cand);
          await c.pc.setLocalDescription(await c.pc.createAnswer());
          signal(from, { sdp: c.pc.localDescription!.toJSON(), session: c.session });
        } else if (data.sdp.type === 'answer') {
          const c = conns.get(from);
          if (!c || c.session !== data.session) return;
          await c.pc.setRemoteDescription(data.sdp);
          c.remoteSet = true;
          for (const cand of c.early.splice(0)) await c.pc.addIceCandidate(cand);
        }
      } else if ('candidate' in data) {
        const c = conns.get(from);
        if (!c || c.session !== data.session || !data.candidate) return;
        if (c.remoteSet) await c.pc.addIceCandidate(data.candidate);
        else c.early.push(data.candidate);
      }
    } catch {
      drop(from, 'negotiation failed');
      retry(from);
    }
  };

  const connectSignaling = () => {
    if (stopped) return;
    const socket = new WS(withToken(options.signaling, options.token));
    ws = socket;
    socket.onopen = () => {
      delay = 250;
      socket.send(JSON.stringify(options.roomToken === undefined ? { type: 'join', room: options.room, peer: peerId } : { type: 'join', room: options.room, peer: peerId, token: options.roomToken }));
    };
    socket.onmessage = (ev: MessageEvent<unknown>) => {
      if (typeof ev.data !== 'string') return;
      let m: { type?: string; peers?: unknown; peer?: unknown; from?: unknown; data?: unknown; message?: unknown; code?: unknown };
      try {
        m = JSON.parse(ev.data) as typeof m;
      } catch {
        return;
      }
      if (m.type === 'peers' && Array.isArray(m.peers)) {
        for (const p of m.peers) {
          if (typeof p !== 'string') continue;
          present.add(p);
          // The newcomer calls: the others wait for its offer.
          if (!conns.has(p)) void call(p);
        }
      } else if (m.type === 'joined' && typeof m.peer === 'string') present.add(m.peer);
      else if (m.type === 'left' && typeof m.peer === 'string') {
        present.delete(m.peer);
        drop(m.peer, 'left the room');
      } else if (m.type === 'signal' && typeof m.from === 'string') void onSignal(m.from, m.data as Signal);
      else if (m.type === 'error' && m.code === 'unknown_peer' && typeof m.peer === 'string') {
        // It left while we were calling it.
        present.delete(m.peer);
        drop(m.peer, 'left the room');
      } else if (m.type === 'error') console.warn(`mycelium-sync signalling: ${String(m.message)}`);
    };
    socket.onclose = () => {
      if (ws === socket) ws = null;
      present.clear();
      if (stopped) return;
      // Open data channels live on without the server; only new calls need it.
      timer = setTimeout(connectSignaling, delay);
      delay = Math.min(delay * 2, 5000);
    };
  };

  return {
    kind: 'webrtc',
    peerId,
    start(e) {
      events = e;
      if (typeof RTCPeerConnection !== 'function') throw new Error('RTCPeerConnection is not available in this environment');
      connectSignaling();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const peer of [...conns.keys()]) drop(peer, 'stopped');
      ws?.close(1000, 'stopped');
      ws = null;
      events = null;
    },
  };
}
