// A small static file server for browser tests: correct MIME types
// (application/wasm), optional extra headers (CSP, COOP/COEP), and a switch
// that serves .wasm with the wrong type to exercise the loader's fallback.
// Paths under /__wrong-mime/ serve the same files with .wasm sent as
// application/octet-stream, so one server covers both loader paths. Every
// response is no-store (each visit fetches afresh) except under /__cached/,
// which serves the same files as an app's immutable, hashed assets would be
// (max-age a year): the warm-cache cold start of bench/browser-bench.mjs.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

const WRONG_MIME = '/__wrong-mime/';
const CACHED = '/__cached/';

/**
 * serve(root, { headers, wrongWasmType }) -> Promise<{ url, close() }>
 * Listens on 127.0.0.1 on `port` (default: a free one).
 */
export function serve(root, { headers = {}, wrongWasmType = false, port = 0 } = {}) {
  const server = createServer(async (req, res) => {
    try {
      let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      let wrong = wrongWasmType;
      if (path.startsWith(WRONG_MIME)) {
        path = path.slice(WRONG_MIME.length - 1);
        wrong = true;
      }
      const cached = path.startsWith(CACHED);
      if (cached) path = path.slice(CACHED.length - 1);
      let file = normalize(join(root, path));
      if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
        res.writeHead(403).end();
        return;
      }
      if ((await stat(file).catch(() => null))?.isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      let type = TYPES[extname(file)] ?? 'application/octet-stream';
      if (wrong && extname(file) === '.wasm') type = 'application/octet-stream';
      res.writeHead(200, { 'content-type': type, 'cache-control': cached ? 'public, max-age=31536000, immutable' : 'no-store', ...headers });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => {
        server.close(r);
        // Keep-alive connections a browser holds open would keep close() waiting.
        server.closeAllConnections();
      }) });
    });
  });
}
