// Bundled by bench/browser-bench.mjs into build/bench/ywebrtc.js: Yjs with
// its WebRTC provider, for the sync rows.
import * as Y from 'yjs';
import { WebrtcProvider } from 'y-webrtc';

export async function load() {
  return { Y, WebrtcProvider };
}
