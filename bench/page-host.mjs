// What the engine benches share: an HTTP server for one page that loads
// dist/mycelium.global.js (and its wasm), and a loop over browser engines
// that reports one missing or failing as not available, never skipped.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, missingFor } from '../scripts/browsers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Serves a page titled `title` with the IIFE build; resolves with its url and close(). */
export async function servePage(title) {
  const server = createServer((req, res) => {
    if (req.url === '/mycelium.global.js' || req.url === '/mycelium.wasm' || req.url === '/mycelium-zstd.wasm') {
      res.setHeader('content-type', req.url.endsWith('.js') ? 'text/javascript' : 'application/wasm');
      res.end(readFileSync(join(root, 'dist', req.url.slice(1))));
      return;
    }
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><title>${title}</title><script src="/mycelium.global.js"></script>`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

/**
 * For each engine: results[engine] = { version, ...(await measure(browser)) },
 * or { unavailable } when it is missing or its run throws.
 */
export async function eachEngine(engines, results, measure) {
  for (const engine of engines) {
    const missing = missingFor(engine);
    if (missing) {
      console.log(`${engine}: not available (missing ${missing})`);
      results[engine] = { unavailable: missing };
      continue;
    }
    const browser = await launch(engine);
    try {
      results[engine] = { version: browser.version, ...(await measure(browser, engine)) };
    } catch (e) {
      results[engine] = { unavailable: String(e instanceof Error ? e.message : e) };
      console.log(`${engine}: not available in ${engine}: ${results[engine].unavailable}`);
    } finally {
      await browser.close();
    }
  }
}
