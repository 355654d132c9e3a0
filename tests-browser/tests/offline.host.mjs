// examples/offline/: a service worker caches the page, the <script> build
// and both WebAssembly modules on the first visit; the second visit starts
// with the server gone (no network at all) and shows what IndexedDB kept.
// The page is served by a static server of this test's own, stopped before
// the second visit.
import { join } from 'node:path';
import { serve } from '../../scripts/static-server.mjs';

const root = join(import.meta.dirname, '..', '..');

/** Waits in the page for the example's state (window.__offline). */
const STATE = async () => {
  for (let i = 0; i < 2000 && !window.__offline; i++) await new Promise((r) => setTimeout(r, 10));
  const o = window.__offline;
  if (!o) throw new Error('the page did not start');
  if (o.error) throw new Error(`the page failed: ${o.error}`);
  return { fromCache: o.fromCache, cached: await o.cached(), texts: o.texts() };
};

export const tests = [
  {
    name: 'the offline example: a second visit starts from the service worker cache with the server stopped, and shows what IndexedDB kept',
    needs: ['serviceWorker', 'indexeddb'],
    async run(env) {
      const server = await serve(root);
      let stopped = false;
      try {
        const pageUrl = `${server.url}/examples/offline/`;
        const page = await env.newContextPage(pageUrl);
        const first = await page.evaluate(STATE);
        if (first.fromCache) throw new Error('the first visit was served by a service worker already');
        if (!first.cached) throw new Error('the service worker did not install (its cache is not ready)');
        const note = `written online ${Date.now()}`;
        await page.evaluate((text) => window.__offline.add(text), note);
        // The server is gone: nothing of the second visit can come from the network.
        await server.close();
        stopped = true;
        const offline = await fetchFails(pageUrl);
        if (!offline) throw new Error('the server still answers');
        await page.goto(pageUrl);
        const second = await page.evaluate(STATE);
        if (!second.fromCache) throw new Error('the second visit was not served by the service worker');
        if (!second.texts.includes(note)) throw new Error(`the note written online is not there offline: ${JSON.stringify(second.texts)}`);
        // And it keeps working offline: a write is kept.
        await page.evaluate((text) => window.__offline.add(text), 'written offline');
        const after = await page.evaluate(() => window.__offline.texts());
        if (!after.includes('written offline')) throw new Error('a write made offline is not shown');
      } finally {
        if (!stopped) await server.close();
      }
    },
  },
];

/** Does a request to `url` fail (nothing listening)? */
async function fetchFails(url) {
  try {
    await fetch(url);
    return false;
  } catch {
    return true;
  }
}
