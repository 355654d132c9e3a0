// Attacker tools for the security suite (issue 13): servers started from the
// packed CLI in their own process (so their memory is theirs alone, read from
// /proc), raw WebSocket clients that say what an attacker says, and a
// hand-written encoder for the sync frames: an attacker does not use our
// encoder, so neither does this suite.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { FEATURES_STORE, mycFrame, str, varint } from './wire.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cli = join(root, 'dist/cli.js');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function tempDir(prefix = 'myc-sec-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function until(what, ok, ms = 10_000) {
  const start = Date.now();
  while (!(await ok())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * The growth of a process's peak RSS since `base`, printed beside its bound
 * (the figures the closing notes quote), and held to the bound.
 */
export function peakGrowth(proc, base, boundMiB, expect) {
  const grew = proc.memory().peak - base;
  console.log(`${expect.getState().currentTestName}: peak RSS +${(grew / 1048576).toFixed(1)} MiB (bound ${boundMiB} MiB)`);
  expect(grew).toBeLessThan(boundMiB * 1048576);
}

/** RSS and its peak (VmHWM) of a process, in bytes. */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(/\d+/.exec(status.split('\n').find((l) => l.startsWith(k)) ?? '0')?.[0] ?? 0) * 1024;
  return { rss: kb('VmRSS:'), peak: kb('VmHWM:') };
}

/**
 * `npx mycelium-sync <args>` from the built package, in its own process;
 * resolves once it prints its URL.
 */
export async function startCli(args, env = {}) {
  const child = spawn(process.execPath, [cli, ...args, '--quiet'], { env: { ...process.env, MYCELIUM_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let exit = null;
  child.on('exit', (code, signal) => (exit = { code, signal }));
  await until('the server to print its URL', () => /wss?:\/\/[^\s]+:\d+/.test(out) || exit !== null, 15_000);
  if (exit !== null) throw new Error(`the server exited: ${JSON.stringify(exit)}\n${out}\n${err}`);
  const url = /(wss?:\/\/[^\s]+:\d+)/.exec(out)[1];
  return {
    url,
    pid: child.pid,
    get alive() {
      return exit === null;
    },
    get exit() {
      return exit;
    },
    get stderr() {
      return err;
    },
    memory: () => memoryOf(child.pid),
    stop: async () => {
      if (exit !== null) return;
      child.kill('SIGTERM');
      await until('the server to stop', () => exit !== null, 10_000).catch(() => child.kill('SIGKILL'));
    },
  };
}

export function schemaFile(schema) {
  const path = join(tempDir(), 'schema.json');
  writeFileSync(path, JSON.stringify(schema));
  return path;
}

/** A WebSocket client that records what it gets. */
export function client(url, options = {}) {
  const ws = new WebSocket(url, options);
  const got = [];
  const state = { ws, got, closed: null, opened: false, error: null, status: null };
  ws.binaryType = 'arraybuffer';
  ws.on('open', () => (state.opened = true));
  ws.on('message', (d, binary) => got.push(binary ? new Uint8Array(d) : JSON.parse(String(d))));
  ws.on('close', (code) => (state.closed = code));
  ws.on('error', (e) => (state.error = e));
  ws.on('unexpected-response', (_req, res) => {
    state.status = res.statusCode;
    state.closed = -1;
  });
  state.opening = new Promise((resolve) => {
    ws.once('open', resolve);
    ws.once('close', resolve);
    ws.once('unexpected-response', resolve);
    ws.once('error', resolve);
  });
  state.send = (m) => ws.send(typeof m === 'string' || m instanceof Uint8Array ? m : JSON.stringify(m));
  return state;
}

/**
 * A raw TCP connection that has done the WebSocket handshake and then writes
 * whatever frames it is given (masked, as a client must).
 */
export function rawSocket(url, headers = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    let head = '';
    let upgraded = false;
    socket.on('error', reject);
    socket.on('connect', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
    });
    socket.on('data', (d) => {
      if (upgraded) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      upgraded = true;
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
      else resolve(socket);
    });
  });
}

/** One client frame (masked with a zero key: the bytes stay readable). */
export function wsFrame(opcode, payload, fin = true) {
  const n = payload.length;
  const len = n < 126 ? [0x80 | n] : n < 65536 ? [0x80 | 126, n >> 8, n & 255] : [0x80 | 127, 0, 0, 0, 0, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, ...len, 0, 0, 0, 0]), Buffer.from(payload)]);
}

// The sync protocol's frames, written by hand: tests-security/wire.mjs.
export * from './wire.mjs';

export function greeting(peer) {
  return JSON.stringify({ mycelium: 'peer', peer });
}

/**
 * An engine delta by hand: one lww-less record in collection `coll` touched
 * by one run of `count` events of `actor` (a presence cell at the last seq).
 * With actor = the victim's own and count = 2^32-1: the 57-byte delta of
 * issue 13.
 */
export function presenceDelta({ collection, fields, actor, count, id = 'x' }) {
  const strings = [collection, ...fields.map((f) => f[0]), id];
  const p = [...varint(strings.length)];
  for (const s of strings) p.push(...str(s));
  p.push(...varint(1), ...varint(0), ...varint(fields.length)); // one collection: name, fields
  fields.forEach(([, kind], i) => p.push(...varint(1 + i), kind));
  p.push(...varint(1)); // actors
  let a = BigInt(actor);
  for (let i = 0; i < 8; i++) {
    p.push(Number(a & 255n));
    a >>= 8n;
  }
  p.push(0); // base: empty
  p.push(...varint(1), 0, ...varint(count)); // context: actor 0 at count
  p.push(...varint(1), 0, ...varint(strings.length - 1)); // one record: collection 0, id
  p.push(0, ...varint(count - 1)); // events: record +0, one run of `count`
  p.push(1); // one cell
  // columns: field 255 (presence), tag null, actor 0, seq (zigzag), no aux, no value
  const seq = varint(count * 2);
  p.push(1, 255, 1, 0, 1, 0, seq.length, ...seq, 0, 0);
  return mycFrame(1, new Uint8Array(p));
}

/**
 * A zstd frame holding `n` zero bytes after `prefix`, laid out so it
 * compresses about `ratio` times (RLE blocks of 128 KiB, raw blocks between
 * them): a decompression bomb within zstd's and the engine's ratio limits.
 */
export function zstdBomb(prefix, n, ratio) {
  const total = prefix.length + n;
  const parts = [];
  const header = [0x28, 0xb5, 0x2f, 0xfd, 0xe0]; // magic, single segment, 8-byte content size
  let size = BigInt(total);
  for (let i = 0; i < 8; i++) {
    header.push(Number(size & 255n));
    size >>= 8n;
  }
  parts.push(Buffer.from(header));
  const block = (type, regenerated, body, last) => {
    const h = (last ? 1 : 0) | (type << 1) | (regenerated << 3);
    parts.push(Buffer.from([h & 255, (h >> 8) & 255, (h >> 16) & 255]), Buffer.from(body));
  };
  const RLE = 128 * 1024;
  const raw = Math.max(1, Math.floor(RLE / ratio) - 8);
  block(0, prefix.length, prefix, n === 0);
  let left = n;
  while (left > 0) {
    const r = Math.min(RLE, left);
    left -= r;
    block(1, r, [0], left === 0);
    if (left === 0) break;
    const w = Math.min(raw, left);
    left -= w;
    block(0, w, new Uint8Array(w), left === 0);
  }
  return new Uint8Array(Buffer.concat(parts));
}

function readVarint(b, at) {
  let v = 0;
  let scale = 1;
  for (;;) {
    const x = b[at.i++];
    v += (x & 0x7f) * scale;
    if (x < 0x80) return v;
    scale *= 128;
  }
}

function readString(b, at) {
  const n = readVarint(b, at);
  const s = new TextDecoder().decode(b.subarray(at.i, at.i + n));
  at.i += n;
  return s;
}

/** What a frame from the victim says: { kind, type, store, code, message } (message frames only). */
export function readFrame(bytes) {
  const at = { i: 5 };
  readVarint(bytes, at);
  at.i += 4;
  const kind = bytes[4] >> 4;
  if (kind !== 3) return { kind };
  const type = bytes[at.i++];
  const store = readString(bytes, at);
  if (type !== 4) return { kind, type, store };
  const code = readString(bytes, at);
  return { kind, type, store, code, message: readString(bytes, at) };
}

/** A raw sync client: greets, then sends whatever frames it is told; collects what comes back. */
export async function syncClient(url, { peer = 'attacker', headers = {} } = {}) {
  const c = client(url, { headers });
  await c.opening;
  if (!c.opened) return c;
  c.send(greeting(peer));
  await until('the server greeting', () => c.got.length > 0 || c.closed !== null);
  c.frames = () => c.got.filter((m) => m instanceof Uint8Array).map(readFrame);
  // Error messages, without the features announcement (an error message for the store '\0features': docs/presence.md).
  c.errors = () => c.frames().filter((f) => f.type === 4 && f.store !== FEATURES_STORE);
  c.presence = () => c.frames().filter((f) => f.type === 5);
  return c;
}
