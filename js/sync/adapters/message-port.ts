// MessagePort transport: one link over a MessagePort (a worker, an iframe,
// a MessageChannel). Part of the lazily loaded sync engine.
import type { Link, NetworkAdapter, NetworkEvents } from '../transport.js';

/**
 * One link over a MessagePort (a worker, an iframe, a MessageChannel): the two
 * ends greet each other with their ids, then carry sync messages.
 */
export function messagePort(port: MessagePort, options: { peerId: string }): NetworkAdapter {
  const peerId = options.peerId;
  let remote: string | null = null;
  let events: NetworkEvents | null = null;
  const link = (id: string): Link => ({
    peer: id,
    maxMessageSize: 256 * 1024,
    bufferedAmount: 0,
    send(bytes) {
      port.postMessage(bytes);
    },
    onDrain(resume) {
      queueMicrotask(resume);
    },
    close() {
      port.postMessage({ bye: peerId });
      if (remote && events) events.peerDisconnected(remote, 'closed');
      remote = null;
    },
  });
  return {
    kind: 'message-port',
    peerId,
    start(e) {
      events = e;
      port.onmessage = (ev: MessageEvent<unknown>) => {
        const d = ev.data;
        if (d instanceof Uint8Array) {
          if (remote) e.message(remote, d);
        } else if (typeof d === 'object' && d !== null && 'hi' in d && typeof d.hi === 'string') {
          const first = remote === null;
          if (remote !== d.hi) {
            if (remote) e.peerDisconnected(remote, 'replaced');
            remote = d.hi;
            e.peerCandidate(link(d.hi));
          }
          if (first && !('again' in d)) port.postMessage({ hi: peerId, again: true });
        } else if (typeof d === 'object' && d !== null && 'bye' in d && remote) {
          const was = remote;
          remote = null;
          e.peerDisconnected(was, 'closed');
        }
      };
      port.start();
      port.postMessage({ hi: peerId });
    },
    stop() {
      port.postMessage({ bye: peerId });
      if (remote && events) events.peerDisconnected(remote, 'stopped');
      remote = null;
      port.onmessage = null;
    },
  };
}
