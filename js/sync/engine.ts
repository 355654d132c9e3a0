// The sync engine, loaded on the first store.connect() (facade.ts imports it
// dynamically), so pages that never sync never download it: the protocol,
// connections, sessions and the transports' implementations. What it shares
// with the core bundle it imports; the bundler puts that in a shared chunk.
export { connectStore, disconnectStore } from './network.js';
export { webrtc } from './adapters/webrtc.js';
export { broadcastChannel } from './adapters/broadcast.js';
export { webSocket } from './adapters/websocket.js';
export { messagePort } from './adapters/message-port.js';
