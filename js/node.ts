// Node entry point (mycelium-sync/node, and `mycelium-sync` under Node): the
// same API, loading the .wasm files from disk, plus what only a server has —
// file storage, a WebSocket server peer and the signalling server.
import { join } from 'node:path';
import { setDefaultStorage } from './api.js';
import { setKeyStore } from './access/identity-store.js';
import { fileKeyStore } from './access/keystore-fs.js';
import { setPlatform } from './loader.js';
import { WebSocket as NodeWebSocket } from 'ws';
import { nodePlatform } from './platform-node.js';
import { fileStorage } from './storage-fs.js';
import type { WebSocketLike, WebSocketOptions } from './sync/adapters/websocket.js';
import { webSocket as webSocketAdapter } from './sync/facade.js';
import type { NetworkAdapter } from './sync/transport.js';

setPlatform(nodePlatform);
setDefaultStorage(() => fileStorage(join(process.cwd(), '.mycelium')));
// Key files next to the stores persist: true keeps (./.mycelium).
setKeyStore((name) => fileKeyStore(join(process.cwd(), '.mycelium'))(name));

export * from './public.js';
export { fileStorage } from './storage-fs.js';
/** Identities kept as key files in another folder than ./.mycelium: fileKeyStore(dir)(name). */
export { fileKeyStore } from './access/keystore-fs.js';
export { webSocketServer } from './node/websocket-server.js';
export type { WebSocketServerAdapter, WebSocketServerOptions } from './node/websocket-server.js';
export { startSignalServer } from './node/signal-server.js';
/** Relay nodes on NATS JetStream (docs/relay.md); they need the optional @nats-io/* packages. */
export { startRelay } from './node/relay.js';
export type { Relay, RelayOptions, RelayStoreStatus } from './node/relay.js';
export { jetStreamStorage } from './node/jetstream-storage.js';
export type { JetStreamStorage, JetStreamStorageOptions } from './node/jetstream-storage.js';
export type { SignalServer, SignalServerOptions } from './node/signal-server.js';
/** The `ws` library's client, with the browser WebSocket's shape: webSocket() uses it where Node has no WebSocket of its own. */
export { WebSocket as NodeWebSocket } from 'ws';
export type { Authenticate, Principal } from './node/server-guard.js';
export { MemoryHub } from './sync/adapters/memory.js';

/** webSocket() for Node: uses the built-in WebSocket where Node has one (22+), this package's client otherwise. */
export function webSocket(url: string, options: WebSocketOptions = {}): NetworkAdapter {
  const builtIn = (globalThis as unknown as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  return webSocketAdapter(url, { WebSocket: builtIn ?? (NodeWebSocket as unknown as new (url: string) => WebSocketLike), ...options });
}
