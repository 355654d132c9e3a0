// Durable files against hostile names, two processes, and torn tails
// (issue 13, findings 11 and 12), on the built package's fileStorage.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as mycelium from 'mycelium-sync';
import { root, tempDir, until } from './helpers.mjs';

const schema = { notes: { body: 'lww' } };

describe('store names reach the disk as one folder name', () => {
  it("'..', '.', '' and control characters are invalid_argument, and nothing outside the folder is touched", async () => {
    const parent = tempDir();
    writeFileSync(join(parent, 'keep.txt'), 'precious');
    const dir = join(parent, 'stores');
    mkdirSync(dir);
    const storage = mycelium.fileStorage(dir);
    for (const name of ['..', '.', '', 'a\u0000b', 'x'.repeat(201)]) {
      await expect(storage.clear(name)).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(storage.load(name)).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(mycelium.open({ schema, name, persist: storage })).rejects.toMatchObject({ code: 'invalid_argument' });
    }
    expect(existsSync(join(parent, 'keep.txt'))).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    // Separators are part of the one name, not a path.
    const s = await mycelium.open({ schema, name: '../escape/me', persist: storage });
    s.collection('notes').insert({ body: 'inside' });
    await s.flush();
    s.close();
    storage.close();
    expect(readdirSync(parent).sort()).toEqual(['keep.txt', 'stores']);
    expect(readdirSync(dir)).toEqual([encodeURIComponent('../escape/me')]);
  });
});

describe('one process at a time per store folder', () => {
  it('a second process is refused with storage_failed naming the holder; a dead holder\'s lock is taken over', async () => {
    const dir = tempDir();
    const script = `
      const m = await import(${JSON.stringify(join(root, 'dist/node.js'))});
      const s = await m.open({ schema: ${JSON.stringify(schema)}, name: 'notes', persist: m.fileStorage(${JSON.stringify(dir)}) });
      s.collection('notes').insert({ id: 'held', body: 'by the child' });
      await s.flush();
      console.log('ready');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    let exited = false;
    child.on('exit', () => (exited = true));
    await until('the child holds the store', () => out.includes('ready'), 15_000);
    const storage = mycelium.fileStorage(dir);
    const err = await mycelium.open({ schema, name: 'notes', persist: storage }).catch((e) => e);
    expect(err).toMatchObject({ code: 'storage_failed' });
    expect(err.message).toContain(`process ${child.pid}`);
    child.kill('SIGKILL'); // no exit hook runs: the lock stays, stale
    await until('the child gone', () => exited);
    const s = await mycelium.open({ schema, name: 'notes', persist: storage });
    expect(s.collection('notes').get('held')?.body).toBe('by the child');
    s.close();
    storage.close();
  });
});

describe('torn tails', () => {
  it('a log ending in zeros (a file extended, never written) opens without recover, losing nothing flushed', async () => {
    const dir = tempDir();
    const storage = mycelium.fileStorage(dir);
    const s = await mycelium.open({ schema, name: 'notes', persist: storage });
    for (let i = 0; i < 5; i++) {
      s.collection('notes').insert({ id: `n${i}`, body: `note ${i}` });
      await s.flush();
    }
    const before = s.save();
    s.close();
    storage.close();
    appendFileSync(join(dir, 'notes', 'log.bin'), new Uint8Array(4096));
    const again = mycelium.fileStorage(dir);
    const t = await mycelium.open({ schema, name: 'notes', persist: again });
    expect(t.recovered ?? []).toEqual([]);
    expect(Buffer.from(t.save()).equals(Buffer.from(before))).toBe(true);
    // And it appends after the good records: a reopen sees the new one.
    t.collection('notes').insert({ id: 'after', body: 'appended' });
    await t.flush();
    t.close();
    again.close();
    const third = mycelium.fileStorage(dir);
    const u = await mycelium.open({ schema, name: 'notes', persist: third });
    expect(u.collection('notes').get('after')?.body).toBe('appended');
    u.close();
    third.close();
  });
});
