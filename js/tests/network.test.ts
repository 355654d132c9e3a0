// The Node side of the network: the signalling server, the WebSocket
// transport between a Node peer and its clients (reconnect and resume), and
// the `mycelium-sync peer` command persisting what it syncs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { actor, equalBytes, mycelium, todoSchema } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = mkdtempSync(join(tmpdir(), 'myc-net-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A signalling client: JSON in, JSON out. */
async function client(url: string) {
  const ws = new mycelium.NodeWebSocket(url);
  const got: Record<string, unknown>[] = [];
  let closed: number | null = null;
  ws.onmessage = (ev) => got.push(JSON.parse(String(ev.data)) as Record<string, unknown>);
  ws.onclose = (ev) => (closed = ev.code);
  await new Promise<void>((res, rej) => {
    ws.onopen = () => res();
    ws.onerror = () => rej(new Error('could not connect'));
  });
  return {
    ws,
    got,
    get closed() {
      return closed;
    },
    send: (m: unknown) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
    wait: (type: string) => until(`a '${type}' message`, () => got.some((m) => m.type === type)).then(() => got.find((m) => m.type === type)!),
  };
}

describe('signalling server', () => {
  it('rooms: peers meet, signals reach only their room, leaving is announced to the peers it signalled with', async () => {
    const server = await mycelium.startSignalServer({ port: 0 });
    const a = await client(server.url);
    const b = await client(server.url);
    const c = await client(server.url);
    a.send({ type: 'join', room: 'r1', peer: 'a' });
    expect((await a.wait('peers')).peers).toEqual([]);
    b.send({ type: 'join', room: 'r1', peer: 'b' });
    expect((await b.wait('peers')).peers).toEqual(['a']);
    c.send({ type: 'join', room: 'r2', peer: 'c' });
    await c.wait('peers');
    // A join is announced to nobody: the newcomer calls.
    expect(a.got.map((m) => m.type)).toEqual(['peers']);
    const offer = { sdp: { type: 'offer', sdp: 'v=0' }, session: 's1' };
    b.send({ type: 'signal', to: 'a', data: { ...offer, extra: 'dropped' } });
    // Only the checked fields are forwarded.
    expect(await a.wait('signal')).toEqual({ type: 'signal', from: 'b', data: offer });
    // Another room's peer cannot be reached, even by name.
    c.send({ type: 'signal', to: 'a', data: offer });
    expect((await c.wait('error')).code).toBe('unknown_peer');
    expect(a.got.filter((m) => m.type === 'signal')).toHaveLength(1);
    expect(server.rooms()).toEqual({ r1: 2, r2: 1 });
    b.ws.close();
    expect((await a.wait('left')).peer).toBe('b');
    // c never signalled with b: it hears nothing.
    expect(c.got.some((m) => m.type === 'left')).toBe(false);
    for (const x of [a, c]) x.ws.close();
    await server.close();
  });

  it('refuses bad messages, and closes on an oversized one', async () => {
    const server = await mycelium.startSignalServer({ port: 0, maxMessageBytes: 4096 });
    const a = await client(server.url);
    const bad = ['not json', '[1,2]', JSON.stringify({ type: 'nope' }), JSON.stringify({ type: 'join', room: 'bad room!', peer: 'x' }), JSON.stringify({ type: 'signal', to: 'x', data: 1 })];
    for (const m of bad) a.send(m);
    a.ws.send(new Uint8Array([1, 2, 3]));
    await until('six refusals', () => a.got.length === 6);
    expect(a.got.every((m) => m.type === 'error' && m.code === 'bad_message')).toBe(true);
    a.send({ type: 'join', room: 'r', peer: 'a' });
    await a.wait('peers');
    const b = await client(server.url);
    b.send({ type: 'join', room: 'r', peer: 'a' });
    expect((await b.wait('error')).code).toBe('peer_taken');
    a.send({ type: 'signal', to: 'a', data: 'x'.repeat(10_000) });
    await until('the connection closed', () => a.closed !== null);
    expect(a.closed).toBe(1009);
    expect(server.rooms()).toEqual({});
    b.ws.close();
    await server.close();
  });
});

describe('WebSocket transport with a Node peer', () => {
  it('a client syncs with the server peer, reconnects after a drop and resumes without resending', async () => {
    const schema = todoSchema;
    const server = await mycelium.open({ schema, name: 'todo', actor: actor(0x5e), persist: mycelium.fileStorage(join(tmp, 'srv')) });
    const adapter = mycelium.webSocketServer({ port: 0 });
    const ss = server.connect(adapter);
    const url = await adapter.listening;
    const a = await mycelium.open({ schema, name: 'todo', actor: actor(0xa1) });
    const b = await mycelium.open({ schema, name: 'todo', actor: actor(0xb1) });
    for (let i = 0; i < 2000; i++) a.collection('notes').insert({ id: `n${i}`, body: `note ${i}` });
    const sa = a.connect(mycelium.webSocket(url));
    b.connect(mycelium.webSocket(url));
    await until('b has a’s notes through the server', () => b.collection('notes').size === 2000);
    await sa.whenSynced();
    b.collection('todos').insert({ id: 't', title: 'from b' });
    await until('a has b’s todo', () => a.collection('todos').get('t')?.title === 'from b');
    await until('the server is synced', () => ss.status().synced);
    const sent = sa.stats().deltaBytesSent;
    // Drop every connection from the server side: clients reconnect by themselves.
    adapter.stop();
    const adapter2 = mycelium.webSocketServer({ port: Number(new URL(url).port) });
    ss.close();
    const ss2 = server.connect(adapter2);
    await adapter2.listening;
    a.collection('todos').insert({ id: 'after', title: 'written after the drop' });
    await until('b has the write after reconnecting', () => b.collection('todos').get('after') !== undefined, 15_000);
    const resent = sa.stats().deltaBytesSent - sent;
    expect(resent).toBeLessThan(1000); // the new write, not the 2000 notes the server acknowledged
    await until('all synced', () => ss2.status().synced && sa.status().synced);
    expect(equalBytes(a.save(), server.save())).toBe(true);
    expect(equalBytes(b.save(), server.save())).toBe(true);
    a.close();
    b.close();
    await server.flush();
    server.close();
  }, 30_000);

  it('`mycelium-sync peer` keeps what it synced across a restart', async () => {
    const schemaFile = join(tmp, 'schema.json');
    writeFileSync(schemaFile, JSON.stringify(todoSchema));
    const dir = join(tmp, 'peer-data');
    const start = async () => {
      const p = spawn(process.execPath, ['dist/cli.js', 'peer', '--schema', schemaFile, '--name', 'todo', '--port', '0', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await until('the peer to listen', () => /on (ws:\/\/\S+)/.test(out));
      return { p, url: /on (ws:\/\/\S+)/.exec(out)![1]! };
    };
    const first = await start();
    const a = await mycelium.open({ schema: todoSchema, name: 'todo', actor: actor(0xc1) });
    a.collection('todos').insert({ id: 'kept', title: 'survives the peer restarting', tags: ['x'] });
    const sa = a.connect(mycelium.webSocket(first.url, { reconnect: false }));
    await sa.whenSynced();
    first.p.kill('SIGTERM');
    await new Promise((r) => first.p.once('exit', r));
    a.close();
    const second = await start();
    const b = await mycelium.open({ schema: todoSchema, name: 'todo', actor: actor(0xc2) });
    const sb = b.connect(mycelium.webSocket(second.url, { reconnect: false }));
    await until('b has the record from the restarted peer', () => b.collection('todos').get('kept') !== undefined);
    expect(b.collection('todos').get('kept')?.tags).toEqual(['x']);
    sb.close();
    b.close();
    second.p.kill('SIGTERM');
    await new Promise((r) => second.p.once('exit', r));
  }, 30_000);
});
