// `npx mycelium-sync <command>`: the signalling server for WebRTC peers, and
// an always-on Node peer that browsers sync with over WebSocket.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Schema } from './schema.js';
import type { Store } from './store.js';
import { fileStorage, open, startSignalServer, webSocketServer } from './node.js';

const USAGE = `usage:
  mycelium-sync signal [--port 8787] [--host 127.0.0.1]
      WebRTC signalling: peers meet in rooms and exchange offers; nothing is stored.
  mycelium-sync peer --schema schema.json [--name todo[,other]] [--port 8788] [--host 127.0.0.1] [--dir .mycelium]
      An always-on replica: browsers connect with webSocket('ws://host:port');
      every store is persisted under --dir.`;

function args(argv: string[]): { command: string | undefined; flags: Map<string, string> } {
  const flags = new Map<string, string>();
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') flags.set('help', '1');
    else if (a.startsWith('--')) {
      const [k, v] = a.includes('=') ? [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a.slice(2), argv[++i]];
      if (v === undefined) fail(`--${k} needs a value`);
      flags.set(k, v);
    } else if (command === undefined) command = a;
    else fail(`unexpected argument '${a}'`);
  }
  return { command, flags };
}

function fail(message: string): never {
  console.error(`mycelium-sync: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function port(flags: Map<string, string>, fallback: number): number {
  const p = Number(flags.get('port') ?? fallback);
  if (!Number.isInteger(p) || p < 0 || p > 65535) fail(`--port must be 0-65535, got ${flags.get('port')}`);
  return p;
}

async function main(): Promise<void> {
  const { command, flags } = args(process.argv.slice(2));
  if (flags.has('help') || command === undefined) {
    console.log(USAGE);
    return;
  }
  const host = flags.get('host') ?? '127.0.0.1';
  if (command === 'signal') {
    const server = await startSignalServer({ port: port(flags, 8787), host, log: flags.has('quiet') ? undefined : (l) => console.log(l) });
    console.log(`mycelium-sync signalling server on ${server.url} (Ctrl-C to stop)`);
    process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
    process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
    return;
  }
  if (command === 'peer') {
    const file = flags.get('schema') ?? fail('peer needs --schema <file.json>');
    let schema: Schema;
    try {
      schema = JSON.parse(readFileSync(resolve(file), 'utf8')) as Schema;
    } catch (e) {
      fail(`cannot read the schema from ${file}: ${String(e)}`);
    }
    const dir = resolve(flags.get('dir') ?? '.mycelium');
    const names = (flags.get('name') ?? 'default').split(',').filter(Boolean);
    const adapter = webSocketServer({ port: port(flags, 8788), host });
    const stores: Store[] = [];
    for (const name of names) {
      const store = await open({ schema, name, persist: fileStorage(dir) });
      const sync = store.connect(adapter);
      sync.onError((e) => console.error(`${name}: peer ${e.peer}: ${e.error.message}`));
      sync.subscribe((s) => console.log(`${name}: ${s.peers.map((p) => `${p.peer} ${p.state}`).join(', ') || 'no peers'}`));
      stores.push(store);
    }
    console.log(`mycelium-sync peer: stores ${names.join(', ')} in ${dir}, on ${await adapter.listening} (Ctrl-C to stop)`);
    const stop = async () => {
      for (const s of stores) {
        await s.flush().catch(() => undefined);
        s.close();
      }
      process.exit(0);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
    return;
  }
  fail(`unknown command '${command}'`);
}

main().catch((e: unknown) => {
  console.error(`mycelium-sync: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
