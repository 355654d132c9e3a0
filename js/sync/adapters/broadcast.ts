// BroadcastChannel transport: replicas in tabs, windows and workers of one
// origin find each other with no configuration. The channel is shared, so
// every message names its sender and receiver; a peer that stops
// answering (a tab killed without a goodbye) is dropped after `timeout`.
import type { Link, NetworkAdapter, NetworkEvents } from '../transport.js';


export interface BroadcastChannelOptions {
  /** The channel's name (default 'mycelium-sync'): only adapters on the same channel meet. */
  readonly channel?: string;
  readonly peerId?: string;
  /** A peer silent this long (ms) is gone; every peer says it is alive every third of it. Default 6000. */
  readonly timeout?: number;
}

type Note =
  | { t: 'hi'; from: string }
  | { t: 'welcome'; from: string; to: string }
  | { t: 'data'; from: string; to: string; bytes: Uint8Array }
  | { t: 'alive'; from: string }
  | { t: 'bye'; from: string };

export function broadcastChannel(options: BroadcastChannelOptions = {}): NetworkAdapter {
  const peerId = options.peerId ?? '';
  const timeout = options.timeout ?? 6000;
  let channel: BroadcastChannel | null = null;
  let heartbeat: ReturnType<typeof setInterval> | null = null;
  const peers = new Map<string, number>(); // peer -> last heard (ms)
  let onPageHide: (() => void) | null = null;

  return {
    kind: 'broadcast-channel',
    peerId,
    start(events: NetworkEvents) {
      const ch = new BroadcastChannel(options.channel ?? 'mycelium-sync');
      channel = ch;
      const post = (n: Note) => ch.postMessage(n);
      const add = (peer: string) => {
        peers.set(peer, Date.now());
        const link: Link = {
          peer,
          maxMessageSize: 1024 * 1024,
          bufferedAmount: 0,
          send: (bytes) => post({ t: 'data', from: peerId, to: peer, bytes }),
          onDrain: (resume) => queueMicrotask(resume),
          close: () => {
            if (peers.delete(peer)) events.peerDisconnected(peer, 'closed');
          },
        };
        events.peerCandidate(link);
      };
      const gone = (peer: string, why: string) => {
        if (peers.delete(peer)) events.peerDisconnected(peer, why);
      };
      ch.onmessage = (ev: MessageEvent<Note>) => {
        const n = ev.data;
        if (typeof n !== 'object' || n === null || typeof n.from !== 'string' || n.from === peerId) return;
        if (peers.has(n.from)) peers.set(n.from, Date.now());
        switch (n.t) {
          case 'hi':
            if (peers.has(n.from)) gone(n.from, 'restarted');
            post({ t: 'welcome', from: peerId, to: n.from });
            add(n.from);
            break;
          case 'welcome':
            if (n.to === peerId && !peers.has(n.from)) add(n.from);
            break;
          case 'data':
            if (n.to === peerId && peers.has(n.from) && n.bytes instanceof Uint8Array) events.message(n.from, n.bytes);
            break;
          case 'bye':
            gone(n.from, 'left');
            break;
          case 'alive':
            // A peer we do not know (it started while we were suspended): greet it.
            if (!peers.has(n.from)) post({ t: 'hi', from: peerId });
            break;
        }
      };
      heartbeat = setInterval(() => {
        post({ t: 'alive', from: peerId });
        const now = Date.now();
        for (const [peer, at] of peers) if (now - at > timeout) gone(peer, 'timed out');
      }, timeout / 3);
      (heartbeat as { unref?: () => void }).unref?.();
      if (typeof addEventListener === 'function') {
        onPageHide = () => post({ t: 'bye', from: peerId });
        addEventListener('pagehide', onPageHide);
      }
      post({ t: 'hi', from: peerId });
    },
    stop() {
      if (heartbeat) clearInterval(heartbeat);
      if (onPageHide) removeEventListener('pagehide', onPageHide);
      channel?.postMessage({ t: 'bye', from: peerId } satisfies Note);
      channel?.close();
      channel = null;
      peers.clear();
    },
  };
}
