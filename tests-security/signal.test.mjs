// The signalling server against an attacker (issue 13, findings 1, 2, 4 and
// the authentication of 3). The server runs as `npx mycelium-sync signal`
// from the built package in its own process; each test states the memory
// bound it holds the process to (peak RSS, /proc VmHWM).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as mycelium from 'mycelium-sync';
import { client, peakGrowth, rawSocket, sleep, startCli, tempDir, until, wsFrame } from './helpers.mjs';

const MiB = 1024 * 1024;
const servers = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function signal(...args) {
  const s = await startCli(['signal', '--port', '0', ...args]);
  servers.push(s);
  return s;
}

async function joined(url, room, peer) {
  const c = client(url);
  await c.opening;
  c.send({ type: 'join', room, peer });
  await until(`${peer} in ${room}`, () => c.got.some((m) => m.type === 'peers' || m.type === 'error'));
  return c;
}

const offer = (session = 's') => ({ sdp: { type: 'offer', sdp: 'v=0' }, session });

describe('signalling server under attack', () => {
  it('a deeply nested JSON message (40 KB) is refused; the process stays up and serves others', async () => {
    const s = await signal();
    const nested = `{"type":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const evil = client(s.url);
    await evil.opening;
    evil.send(nested);
    evil.send(`{"type":"signal","to":"x","data":${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
    await until('two refusals', () => evil.got.length >= 2);
    expect(evil.got.every((m) => m.type === 'error' && m.code === 'bad_message')).toBe(true);
    // Joined, a nested signal is refused too, and nothing reaches the target.
    const a = await joined(s.url, 'r', 'a');
    const b = await joined(s.url, 'r', 'b');
    b.send({ type: 'signal', to: 'a', data: { session: 's', sdp: { type: 'offer', sdp: JSON.parse(`${'['.repeat(500)}${']'.repeat(500)}`) } } });
    b.send({ type: 'signal', to: 'a', data: offer() });
    await until('the good signal', () => a.got.some((m) => m.type === 'signal'));
    expect(a.got.filter((m) => m.type === 'signal')).toHaveLength(1);
    expect(b.got.some((m) => m.type === 'error' && m.code === 'bad_message')).toBe(true);
    expect(s.alive).toBe(true);
  });

  it('a flood of empty continuation frames is cut off (ws: 16,384 fragments a message at most): peak RSS +64 MiB at most', async () => {
    const s = await signal();
    await sleep(200);
    const base = s.memory().peak;
    const sock = await rawSocket(s.url);
    sock.on('error', () => undefined);
    sock.write(wsFrame(1, Buffer.from('{'), false));
    const empty = wsFrame(0, Buffer.alloc(0), false); // 6 bytes each
    const batch = Buffer.concat(Array.from({ length: 100_000 }, () => empty));
    let closed = false;
    sock.on('close', () => (closed = true));
    for (let i = 0; i < 50 && !closed; i++) {
      if (!sock.write(batch)) await Promise.race([new Promise((r) => sock.once('drain', r)), new Promise((r) => sock.once('close', r))]);
    }
    await until('the connection cut', () => closed);
    expect(s.alive).toBe(true);
    peakGrowth(s, base, 64, expect);
    // Still serving.
    const a = await joined(s.url, 'r', 'a');
    expect(a.got[0].type).toBe('peers');
  });

  it('a client that sends pings and never reads is cut off, not buffered for: peak RSS +96 MiB at most', async () => {
    const s = await signal();
    await sleep(200);
    const base = s.memory().peak;
    const sock = await rawSocket(s.url);
    sock.on('error', () => undefined);
    sock.pause(); // never reads
    const ping = wsFrame(9, Buffer.alloc(125, 7));
    const batch = Buffer.concat(Array.from({ length: 10_000 }, () => ping)); // 1.3 MB
    let sent = 0;
    let closed = false;
    sock.on('close', () => (closed = true));
    const deadline = Date.now() + 20_000;
    while (!closed && sent < 40 * MiB && Date.now() < deadline) {
      if (!sock.write(batch)) await Promise.race([new Promise((r) => sock.once('drain', r)), sleep(200)]);
      sent += batch.length;
    }
    await until('the server to cut the client off', async () => {
      sock.resume(); // (only now: whatever the server wrote before is read and dropped)
      return closed;
    }, 20_000);
    expect(s.alive).toBe(true);
    peakGrowth(s, base, 96, expect);
  });

  it('a peer id is bound to the connection that claimed it; a second claim changes nothing', async () => {
    const s = await signal();
    const a = await joined(s.url, 'r', 'a');
    const thief = await joined(s.url, 'r', 'a');
    expect(thief.got[0]).toMatchObject({ type: 'error', code: 'peer_taken' });
    const b = await joined(s.url, 'r', 'b');
    b.send({ type: 'signal', to: 'a', data: offer() });
    await until('a gets the signal', () => a.got.some((m) => m.type === 'signal'));
    expect(a.closed).toBe(null);
    expect(thief.got.some((m) => m.type === 'signal')).toBe(false);
  });

  it('joins and leaves do not fan out: 50 join/leave cycles next to 20 peers send them nothing', async () => {
    const s = await signal();
    const peers = [];
    for (let i = 0; i < 20; i++) peers.push(await joined(s.url, 'room', `p${i}`));
    const before = peers.map((p) => p.got.length);
    const evil = client(s.url);
    await evil.opening;
    for (let i = 0; i < 50; i++) {
      evil.send({ type: 'join', room: 'room', peer: 'evil' });
      evil.send({ type: 'leave' });
    }
    await until('the attacker is done', () => evil.got.filter((m) => m.type === 'peers').length === 50);
    await sleep(100);
    expect(peers.map((p) => p.got.length)).toEqual(before);
  });

  it('a client that floods messages is closed (1008); the others stay', async () => {
    const s = await signal();
    const a = await joined(s.url, 'r', 'a');
    const evil = client(s.url);
    await evil.opening;
    for (let i = 0; i < 3000; i++) evil.send({ type: 'leave' });
    await until('the flood closed', () => evil.closed !== null);
    expect(evil.closed).toBe(1008);
    expect(a.closed).toBe(null);
  });

  it('with --token, a client without it (or with a wrong one) is refused before any message (401)', async () => {
    const token = 'correct-horse-battery-staple';
    const s = await signal('--token', token);
    const none = client(s.url);
    await none.opening;
    expect(none.status).toBe(401);
    const wrong = client(`${s.url}/?token=nope-nope-nope-nope`);
    await wrong.opening;
    expect(wrong.status).toBe(401);
    const right = client(`${s.url}/?token=${token}`);
    await right.opening;
    expect(right.opened).toBe(true);
    const bearer = client(s.url, { headers: { Authorization: `Bearer ${token}` } });
    await bearer.opening;
    expect(bearer.opened).toBe(true);
  });

  it('connections past --max-connections are refused (503)', async () => {
    const s = await signal('--max-connections', '3');
    const open = [];
    for (let i = 0; i < 3; i++) {
      const c = client(s.url);
      await c.opening;
      expect(c.opened).toBe(true);
      open.push(c);
    }
    const extra = client(s.url);
    await extra.opening;
    expect(extra.status).toBe(503);
  });

  it('--allow-origin limits which web pages may connect', async () => {
    const s = await signal('--allow-origin', 'https://app.example');
    const evil = client(s.url, { origin: 'https://evil.example' });
    await evil.opening;
    expect(evil.status).toBe(403);
    const good = client(s.url, { origin: 'https://app.example' });
    await good.opening;
    expect(good.opened).toBe(true);
  });

  it('--cert/--key serve wss:// (TLS): a TLS client joins, a plain one does not', async () => {
    const dir = tempDir();
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-days', '1'], { stdio: 'ignore' });
    const s = await signal('--cert', cert, '--key', key);
    expect(s.url.startsWith('wss://')).toBe(true);
    const a = client(s.url, { ca: readFileSync(cert), rejectUnauthorized: false });
    await a.opening;
    expect(a.opened).toBe(true);
    a.send({ type: 'join', room: 'r', peer: 'a' });
    await until('joined over TLS', () => a.got.some((m) => m.type === 'peers'));
    const plain = client(s.url.replace('wss:', 'ws:'));
    await plain.opening;
    expect(plain.opened).toBe(false);
  });

  it('a room can require its own token (authorizeJoin)', async () => {
    const server = await mycelium.startSignalServer({ port: 0, authorizeJoin: (_who, room, token) => room !== 'secret' || token === 'let-me-in' });
    try {
      const a = client(server.url);
      await a.opening;
      a.send({ type: 'join', room: 'secret', peer: 'a' });
      await until('a refusal', () => a.got.length > 0);
      expect(a.got[0]).toMatchObject({ type: 'error', code: 'forbidden' });
      a.send({ type: 'join', room: 'secret', peer: 'a', token: 'let-me-in' });
      await until('joined', () => a.got.some((m) => m.type === 'peers'));
      expect(server.rooms()).toEqual({ secret: 1 });
    } finally {
      await server.close();
    }
  });
});
