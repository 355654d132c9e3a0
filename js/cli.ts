// `npx mycelium-sync <command>`: the signalling server for WebRTC peers, and
// an always-on Node peer that browsers sync with over WebSocket.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Schema } from './schema.js';
import type { Store } from './store.js';
import type { Sync } from './sync/facade.js';
import type { Identity } from './access/keys.js';
import { certifyDevice, fileKeyStore, fileStorage, open, startRelay, startSignalServer, webSocketServer } from './node.js';

const USAGE = `usage:
  mycelium-sync signal [--port 8787] [--host 127.0.0.1] [--token T] [--allow-origin URL]... [--cert F --key F]
      WebRTC signalling: peers meet in rooms and exchange offers; nothing is stored.
  mycelium-sync peer --schema schema.json [--name todo[,other]] [--port 8788] [--host 127.0.0.1] [--dir .mycelium]
                     [--token T] [--allow-origin URL]... [--cert F --key F] [--owner P [--identity peer] [--encrypted]]
      An always-on replica: browsers connect with webSocket('ws://host:port');
      every store is persisted under --dir.
  mycelium-sync relay --nats nats://host:4222[,nats://…] --schema schema.json [--name todo[,other]]
                      [--port 8788] [--host 127.0.0.1] [--token T] [--allow-origin URL]... [--cert F --key F]
                      [--replicas 1] [--stream MYCELIUM] [--compact-after 1048576]
                      [--max-stores 1000] [--idle-close 60000] [--owner P [--identity peer] [--encrypted]]
      A relay node (docs/relay.md): like peer, with the stores in NATS JetStream, shared by every
      node; clients connect to any node. Without --name, a store opens when a client asks for it
      and closes after --idle-close ms with no client (at most --max-stores open at once).
      Needs npm install @nats-io/transport-node @nats-io/jetstream @nats-io/kv @nats-io/obj.
      Credentials go in the URL (nats://user:pass@host:4222). With --owner, every node uses the
      same --identity key file (copy it to each node) and an admin adds its principal to each store.
  mycelium-sync identity [--dir .mycelium] [--identity peer]
      Prints the principal of the identity kept in --dir (made on first use).
  mycelium-sync certify <device principal> [--dir .mycelium] [--identity peer] [--days 365]
      Prints a device certificate: the identity in --dir (a user key) certifies that the
      device acts for it; the device opens stores with access: { owner, certificate }.

  --owner P          the stores are protected (docs/identity.md) with owner P (a principal, or
                     'self': this peer's identity); the peer syncs as --identity (a key file in
                     --dir, made on first use), which an admin adds as a member
  --encrypted        the stores are encrypted (access: { encrypt: true }); added with the role
                     'relay', the peer keeps and forwards ciphertext it cannot read (a blind relay)
  --token T          clients must present T (?token=T in the URL, or Authorization: Bearer T);
                     default: the MYCELIUM_TOKEN environment variable, else no token
  --allow-origin O   a browser Origin allowed to connect (repeat, or comma-separate; '*': any).
                     peer default: none (no web page can connect); signal default: any
  --cert F --key F   PEM certificate and key: serve wss:// (TLS)
  --max-connections N  most connections at once (default 1024)
  --replicas N       relay: copies JetStream keeps of each store (3 in a cluster of 3)
  --compact-after B  relay: snapshot a store once its log in JetStream passes B bytes (default 1 MiB)`;

function fail(message: string): never {
  console.error(`mycelium-sync: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function port(value: string | undefined, fallback: number): number {
  const p = Number(value ?? fallback);
  if (!Number.isInteger(p) || p < 0 || p > 65535) fail(`--port must be 0-65535, got ${value}`);
  return p;
}

function count(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a whole number >= 1, got ${value}`);
  return n;
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(resolve(path));
  } catch (e) {
    fail(`cannot read the ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        port: { type: 'string' },
        host: { type: 'string' },
        token: { type: 'string' },
        'allow-origin': { type: 'string', multiple: true },
        cert: { type: 'string' },
        key: { type: 'string' },
        'max-connections': { type: 'string' },
        schema: { type: 'string' },
        name: { type: 'string' },
        dir: { type: 'string' },
        quiet: { type: 'boolean' },
        owner: { type: 'string' },
        encrypted: { type: 'boolean' },
        identity: { type: 'string' },
        days: { type: 'string' },
        nats: { type: 'string' },
        replicas: { type: 'string' },
        stream: { type: 'string' },
        'compact-after': { type: 'string' },
        'max-stores': { type: 'string' },
        'idle-close': { type: 'string' },
      },
    });
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  const { values: v, positionals } = parsed;
  const command = positionals[0];
  const most = command === 'certify' ? 2 : 1;
  if (positionals.length > most) fail(`unexpected argument '${positionals[most]}'`);
  if (v.help || command === undefined) {
    console.log(USAGE);
    return;
  }
  const host = v.host ?? '127.0.0.1';
  if ((v.cert === undefined) !== (v.key === undefined)) fail('--cert and --key go together');
  const tls = v.cert !== undefined && v.key !== undefined ? { cert: readFile(v.cert, 'certificate'), key: readFile(v.key, 'key') } : undefined;
  const originList = (v['allow-origin'] ?? []).flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean);
  const allowOrigins = originList.includes('*') ? ('*' as const) : originList.length > 0 ? originList : undefined;
  const maxConnections = count(v['max-connections'], 'max-connections');
  const token = v.token;
  if (token !== undefined && token.length < 16) fail('--token must be at least 16 characters');
  const quiet = v.quiet === true;

  if (command === 'signal') {
    const server = await startSignalServer({ port: port(v.port, 8787), host, tls, token, allowOrigins, maxConnections, log: quiet ? undefined : (l) => console.log(l) });
    const auth = token ?? process.env.MYCELIUM_TOKEN ? 'token required' : 'no token';
    console.log(`mycelium-sync signalling server on ${server.url} (${auth}; Ctrl-C to stop)`);
    const stop = () => void server.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return;
  }
  /** The identity kept in --dir under --identity (made on first use). */
  const identity = async (): Promise<Identity> => {
    try {
      return await fileKeyStore(resolve(v.dir ?? '.mycelium'))(v.identity ?? 'peer');
    } catch (e) {
      fail(`cannot load the identity '${v.identity ?? 'peer'}': ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  if (command === 'identity') {
    console.log((await identity()).principal);
    return;
  }
  if (command === 'certify') {
    const device = positionals[1] ?? fail('certify needs the device principal (mycelium-sync identity prints one)');
    const days = count(v.days, 'days') ?? 365;
    try {
      console.log(await certifyDevice(await identity(), device, { expires: Date.now() + days * 86_400_000 }));
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    }
    return;
  }
  const schemaFrom = (file: string): Schema => {
    try {
      return JSON.parse(readFile(file, 'schema').toString('utf8')) as Schema;
    } catch (e) {
      fail(`cannot read the schema from ${file}: ${String(e)}`);
    }
  };
  const names = (v.name ?? 'default').split(',').filter(Boolean);
  /** --owner, --identity, --encrypted: the stores are protected, and this process syncs as the identity. */
  const protection = async (): Promise<{ identity: Identity; owner: string; encrypt: boolean } | null> => {
    if (v.identity !== undefined && v.owner === undefined) fail('--identity goes with --owner (a protected store)');
    if (v.encrypted && v.owner === undefined) fail('--encrypted goes with --owner (an encrypted store is protected)');
    if (v.owner === undefined) return null;
    const me = await identity();
    const owner = v.owner === 'self' ? me.principal : v.owner;
    if (!/^[A-Za-z0-9_-]{43}$/.test(owner)) fail(`--owner is a principal (43 base64url characters) or 'self', got ${owner}`);
    return { identity: me, owner, encrypt: v.encrypted === true };
  };
  if (command === 'relay') {
    const servers = v.nats ?? fail('relay needs --nats <url>[,<url>…] (a NATS server with JetStream)');
    const schema = schemaFrom(v.schema ?? fail('relay needs --schema <file.json>'));
    const guard = await protection();
    let relay;
    try {
      relay = await startRelay({
        nats: { servers, replicas: count(v.replicas, 'replicas') ?? 1, stream: v.stream },
        schema,
        names: v.name === undefined ? undefined : names,
        maxStores: count(v['max-stores'], 'max-stores'),
        idleCloseMs: count(v['idle-close'], 'idle-close'),
        compactAfterBytes: count(v['compact-after'], 'compact-after'),
        port: port(v.port, 8788),
        host,
        tls,
        token,
        allowOrigins,
        maxConnections,
        log: (l) => console.error(l),
        ...(guard ? { access: guard } : {}),
      });
    } catch (e) {
      fail(`cannot start the relay: ${e instanceof Error ? e.message : String(e)}`);
    }
    const auth = token ?? process.env.MYCELIUM_TOKEN ? 'token required' : 'no token';
    const protectedBy = guard ? `; protected by owner ${guard.owner}, syncing as ${guard.identity.principal}` : '';
    console.log(`mycelium-sync relay: stores ${v.name === undefined ? 'opened on demand' : names.join(', ')} in JetStream at ${relay.natsServer()}, on ${relay.url} (${auth}${protectedBy}; Ctrl-C to stop)`);
    const stop = () => void relay.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return;
  }
  if (command === 'peer') {
    const schema = schemaFrom(v.schema ?? fail('peer needs --schema <file.json>'));
    const dir = resolve(v.dir ?? '.mycelium');
    const stores: Store[] = [];
    const syncs: Sync[] = [];
    // GET /status (same token and origins as the WebSocket): what this peer holds and who it syncs with.
    const status = () => ({
      peer: adapter.peerId,
      // A blind relay holds no data, only batches it cannot open: their version is what it holds.
      stores: stores.map((s, i) => ({ name: s.name, version: s.access?.provenance.opaque ? s.access.provenance.version() : s.version(), pending: s.pending, sync: syncs[i]!.status(), stats: syncs[i]!.stats() })),
    });
    const adapter = webSocketServer({ port: port(v.port, 8788), host, tls, token, allowOrigins, maxConnections, status });
    const guard = await protection();
    for (const name of names) {
      const access = guard ? { identity: guard.identity, access: { owner: guard.owner, ...(guard.encrypt ? { encrypt: true } : {}) } } : {};
      let store: Store;
      try {
        store = await open({ schema, name, persist: fileStorage(dir), ...access });
      } catch (e) {
        fail(`cannot open store '${name}': ${e instanceof Error ? e.message : String(e)}`);
      }
      const sync = store.connect(adapter);
      syncs.push(sync);
      sync.onError((e) => console.error(`${name}: peer ${e.peer}: ${e.error.message}`));
      if (!quiet) sync.subscribe((s) => console.log(`${name}: ${s.peers.map((p) => `${p.peer} ${p.state}`).join(', ') || 'no peers'}`));
      stores.push(store);
    }
    const url = await adapter.listening;
    const auth = token ?? process.env.MYCELIUM_TOKEN ? 'token required' : 'no token';
    const origins = allowOrigins === '*' ? 'any browser origin' : allowOrigins ? `origins ${allowOrigins.join(', ')}` : 'no browser origin';
    const protectedBy = guard ? `; protected by owner ${guard.owner}, syncing as ${guard.identity.principal} (${stores[0]!.access!.role()})` : '';
    console.log(`mycelium-sync peer: stores ${names.join(', ')} in ${dir}, on ${url} (${auth}, ${origins}${protectedBy}; Ctrl-C to stop)`);
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
