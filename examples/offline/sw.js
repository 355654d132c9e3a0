// The offline page's service worker: on install it caches the page, the
// SDK's <script> build and both of its WebAssembly modules; every later
// visit is served from that cache first, so it starts with no network at
// all (WebAssembly.instantiateStreaming compiles from the cached Response,
// whose Content-Type stays application/wasm). Each served file is fetched
// again in the background when the network is there, so the next visit has
// the new version (stale-while-revalidate); a new sw.js with a new CACHE
// name replaces the old cache on activation.
const CACHE = 'mycelium-offline-v1';
const ASSETS = ['./', './index.html', '../../dist/mycelium.global.js', '../../dist/mycelium.wasm', '../../dist/mycelium-zstd.wasm'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(ASSETS))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      // Pages open now are served by this worker from now on, not only after a reload.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      const cached = await cache.match(request, { ignoreSearch: true });
      const fresh = fetch(request).then((response) => {
        if (response.ok) void cache.put(request, response.clone());
        return response;
      });
      if (cached) {
        // Served from the cache at once; refreshed for next time when the network is there.
        event.waitUntil(fresh.catch(() => undefined));
        return cached;
      }
      return fresh;
    })(),
  );
});
