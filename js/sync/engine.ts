// The sync engine, loaded on the first store.connect() (facade.ts imports it
// dynamically), so pages that never sync never download it: the protocol,
// connections, sessions and the transports' implementations.
export { setDeps } from './deps.js';
export { connectStore, disconnectStore } from './network.js';
export { webrtc } from './adapters/webrtc.js';
export { broadcastChannel } from './adapters/broadcast.js';
export { webSocket } from './adapters/websocket.js';
export { messagePort } from './adapters/message-port.js';
