// What the relay suite runs on: real nats-server processes (a JetStream
// cluster on loopback ports), relay nodes in their own processes (so a test
// can kill one with SIGKILL), and a TCP load balancer in front of them, as
// production runs relays behind one.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(what, ok, ms = 20_000) {
  const start = Date.now();
  while (!(await ok())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A free loopback port (listen on 0, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function child(command, args, env = {}) {
  const proc = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { proc, out: '', err: '', exit: null };
  proc.stdout.on('data', (d) => (p.out += d));
  proc.stderr.on('data', (d) => (p.err += d));
  proc.on('exit', (code, signal) => (p.exit = { code, signal }));
  return p;
}

async function stopChild(p, signal = 'SIGTERM') {
  if (p.exit !== null) return;
  p.proc.kill(signal);
  await until('a process to stop', () => p.exit !== null, 10_000).catch(() => p.proc.kill('SIGKILL'));
}

/** n nats-server processes with JetStream, clustered when n > 1. */
export async function natsCluster(n) {
  const dir = mkdtempSync(join(tmpdir(), 'myc-nats-'));
  const ports = [];
  for (let i = 0; i < n; i++) ports.push({ client: await freePort(), route: await freePort() });
  const servers = ports.map((p, i) => {
    const conf = join(dir, `n${i}.conf`);
    mkdirSync(join(dir, `n${i}`));
    const routes = ports.filter((_, j) => j !== i).map((q) => `nats-route://127.0.0.1:${q.route}`);
    writeFileSync(
      conf,
      [
        `server_name: n${i}`,
        `listen: 127.0.0.1:${p.client}`,
        `jetstream { store_dir: "${join(dir, `n${i}`)}" }`,
        ...(n > 1 ? [`cluster { name: myc, listen: 127.0.0.1:${p.route}, routes: [${routes.join(', ')}] }`] : []),
      ].join('\n'),
    );
    return { url: `nats://127.0.0.1:${p.client}`, conf, proc: null };
  });
  const start = (s) => (s.proc = child('nats-server', ['-c', s.conf]));
  for (const s of servers) start(s);
  const urls = servers.map((s) => s.url);
  const cluster = {
    urls,
    servers,
    /** Kills server i (SIGKILL: no goodbye to its routes). */
    kill: (i) => stopChild(servers[i].proc, 'SIGKILL'),
    restart: (i) => start(servers[i]),
    async stop() {
      for (const s of servers) if (s.proc) await stopChild(s.proc);
    },
    /** A client of server i alone (to ask that server what it holds). */
    client: (i) => connect({ servers: servers[i].url, maxReconnectAttempts: 0 }),
  };
  // JetStream is ready once the cluster elected its meta leader: account info answers.
  await until('JetStream to elect a leader', async () => {
    let nc;
    try {
      nc = await connect({ servers: urls, maxReconnectAttempts: 0 });
      await (await jetstreamManager(nc)).getAccountInfo();
      return true;
    } catch {
      return false;
    } finally {
      await nc?.close();
    }
  }, 30_000);
  return cluster;
}

/**
 * A server in its own Node process that prints its ws:// URL when it
 * listens (a relay node, or for the bench a peer of another library).
 */
export async function nodeProcess(script, args) {
  // MYC_NODE_PROFILE=<dir>: each such process writes a CPU profile there when it stops (bench:relay).
  const prof = process.env.MYC_NODE_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MYC_NODE_PROFILE}`] : [];
  const p = child(process.execPath, [...prof, script, JSON.stringify(args)]);
  await until(`${script} to print its URL`, () => /ws:\/\/\S+/.test(p.out) || p.exit !== null, 30_000);
  if (p.exit !== null) throw new Error(`${script} exited: ${JSON.stringify(p.exit)}\n${p.out}\n${p.err}`);
  return {
    url: /(ws:\/\/\S+)/.exec(p.out)[1],
    pid: p.proc.pid,
    get alive() {
      return p.exit === null;
    },
    get log() {
      return p.err;
    },
    kill: () => stopChild(p, 'SIGKILL'),
    stop: () => stopChild(p),
  };
}

/** A relay node in its own process (tests-relay/relay-node.mjs); `switches` are test switches in that process. */
export function relayNode({ nats, replicas = 1, purgeAfter, ...options }) {
  return nodeProcess(join(root, 'tests-relay/relay-node.mjs'), { nats: { servers: nats, replicas, purgeAfter }, port: 0, ...options });
}

/** A redis-server on a loopback port, keeping nothing on disk (the bench's Hocuspocus nodes meet through it). */
export async function redisServer() {
  const port = await freePort();
  const p = child('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await until('redis-server to listen', () => /Ready to accept connections/.test(p.out) || p.exit !== null, 10_000);
  if (p.exit !== null) throw new Error(`redis-server exited: ${JSON.stringify(p.exit)}\n${p.out}\n${p.err}`);
  return { port, pid: p.proc.pid, stop: () => stopChild(p) };
}

/**
 * A TCP load balancer on a loopback port: each connection goes to the next
 * backend (round robin) that accepts it, as a load balancer in front of
 * relay nodes does when one dies.
 */
export async function loadBalancer(backends) {
  let next = 0;
  const sockets = new Set();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause();
    const tryBackend = (left) => {
      if (left === 0) return client.destroy();
      const b = backends[next++ % backends.length];
      const { port } = new URL(b.url);
      const upstream = tcpConnect(Number(port), '127.0.0.1');
      upstream.once('error', () => tryBackend(left - 1));
      upstream.once('connect', () => {
        sockets.add(upstream);
        upstream.removeAllListeners('error');
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    tryBackend(backends.length);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `ws://127.0.0.1:${server.address().port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}
