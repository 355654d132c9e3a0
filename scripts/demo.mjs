// `npm start` (after set-up and build): the signalling server and a static
// server on 127.0.0.1, serving the collaborative todo list
// (examples/todo-script-tag/). Prints the URL and keeps running until Ctrl-C.
//
// --headless: instead drives two Chromium contexts (two separate browsers as
// far as storage goes: they meet only over WebRTC) through the demo, prints a
// transcript — edits on each side, concurrent edits converging, a conflict
// resolved, a reload that keeps everything — and exits 0 (1 if anything did
// not happen). Used by the tests.
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serve } from './static-server.mjs';
import { todoFlow } from './todo-flow.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const headless = process.argv.includes('--headless');
const opt = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};

const { startSignalServer } = await import(pathToFileURL(join(root, 'dist/node.js')).href);
const signal = await startSignalServer({ port: Number(opt('--signal-port', headless ? 0 : 8787)) });
const web = await serve(root, { port: Number(opt('--port', headless ? 0 : 8080)) });
const page = (room, store) => `${web.url}/examples/todo-script-tag/?room=${room}&signal=${encodeURIComponent(signal.url)}&store=${store}`;

if (!headless) {
  const url = page('mycelium-demo', 'todos');
  console.log(`
  mycelium-sync demo — a collaborative todo list

    ${url}

  Open it in two windows (or two browsers) side by side, then:
    · add todos, tick them, vote, tag them — both windows follow live (WebRTC,
      through the signalling server at ${signal.url});
    · set the assignee of one todo in both windows at the same moment (or
      while one is offline: DevTools → Network → Offline): both values are kept
      and shown as a conflict; pick one to resolve it;
    · reload: everything is still there (IndexedDB).

  Ctrl-C to stop.`);
  const stop = async () => {
    await signal.close();
    await web.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  const code = await runHeadless().catch((e) => {
    console.log(`demo: FAILED — ${e && e.message ? e.message : e}`);
    return 1;
  });
  await signal.close();
  await web.close();
  process.exit(code);
}

async function runHeadless() {
  const { launch } = await import('./browsers.mjs');
  const browser = await launch('chromium');
  const say = (who, what) => console.log(`${who.padEnd(6)} ${what}`);
  try {
    const room = `demo-${Date.now()}`;
    const url = page(room, 'todos');
    say('demo', `two Chromium contexts open ${url}`);
    const [a, b] = [await openSide(browser, url), await openSide(browser, url)];
    await todoFlow(a, b, say);
    say('demo', 'done: edits on each side, concurrent edits merged, a conflict resolved, a reload survived');
    return 0;
  } finally {
    await browser.close();
  }
}

async function openSide(browser, url) {
  const context = await browser.newContext();
  const p = await context.newPage(url);
  await p.pw.waitForSelector('body[data-ready="true"]');
  return p;
}

