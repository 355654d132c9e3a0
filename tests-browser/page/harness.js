// The in-page half of the browser test suite. A test file registers tests
// with test(name, fn, { needs }); the runner page imports one file and the
// host (tests-browser/run.mjs) runs each test by name, in every engine.
// `needs` names browser features (see FEATURES); a test whose feature the
// engine lacks is reported "not available in <engine>", never run or passed.

export const registry = [];

export function test(name, fn, { needs = [] } = {}) {
  if (registry.some((t) => t.name === name)) throw new Error(`duplicate test name: ${name}`);
  registry.push({ name, fn, needs });
}

/** feature -> the API whose absence makes it unavailable. */
export const FEATURES = {
  webrtc: ['RTCPeerConnection', () => typeof RTCPeerConnection === 'function'],
  indexeddb: ['indexedDB', () => typeof indexedDB === 'object' && indexedDB !== null],
  streaming: ['WebAssembly.compileStreaming', () => typeof WebAssembly.compileStreaming === 'function'],
  crossOriginIsolated: ['crossOriginIsolated', () => globalThis.crossOriginIsolated === true],
  serviceWorker: ['navigator.serviceWorker', () => typeof navigator.serviceWorker === 'object' && navigator.serviceWorker !== null],
};

/** The missing APIs among `needs` ([] when all are present). */
export function missing(needs) {
  return needs.filter((f) => !FEATURES[f] || !FEATURES[f][1]()).map((f) => (FEATURES[f] ? FEATURES[f][0] : `unknown feature ${f}`));
}
