// cold_start_ms: loaded by cold.html in a fresh browser context; records the
// time from navigation start (performance.now()'s origin) to the library
// loaded and its first empty document/store ready.
import { firstDocument, loadLib } from './libs.js';

const name = new URLSearchParams(location.search).get('lib');
let importMs = 0;
window.__cold = loadLib(name)
  .then((lib) => {
    importMs = performance.now();
    return firstDocument(name, lib);
  })
  .then(() => ({ ms: performance.now(), importMs, start: performance.getEntriesByType('navigation')[0]?.responseEnd ?? null }), (e) => ({ error: String(e) }));
