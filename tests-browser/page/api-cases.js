// The public API's cases shared by the page-level suite (tests/api.test.js)
// and the Node suite (js/tests/api.test.ts; types in api-cases.d.ts): records
// of every kind, value types, ids, typed errors, sync between stores, pending
// deltas, snapshots, subscriptions and lifetime. Each case takes the
// package's module (the browser build in a page, the Node entry in Node).
import { bytesEqual, eq, ok, rejectsCode, throwsCode } from './assert.js';
import { actor, clock, todoSchema } from './fixtures.js';

async function pair(M) {
  const a = await M.open({ schema: todoSchema, actor: actor(1), now: clock() });
  const b = await M.open({ schema: todoSchema, actor: actor(2), now: clock(1_700_000_000_500) });
  return { a, b };
}
const sync = (from, to) => to.applyDelta(from.deltaSince(to.version()));
/** Waits until `cond()` holds (`ms`, 5 s unless given, at most). */
const until = async (what, cond, ms = 5000) => {
  for (const start = Date.now(); !cond(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() - start > ms) throw new Error(`timed out waiting until ${what}`);
};
/** Sync options for a quick session over a local channel. */
const fast = { relayDelay: 10, ackTimeout: 40, helloInterval: 50 };

/** [name, run(module)] */
export const apiCases = [
  [
    'zero-length input is corrupt: open({ snapshot }), load() and applyDelta() of empty bytes (DESIGN.md)',
    async (M) => {
      await rejectsCode(M.open({ schema: todoSchema, snapshot: new Uint8Array(0) }), 'corrupt', 'open');
      await rejectsCode(M.load(new Uint8Array(0), { schema: todoSchema }), 'corrupt', 'load');
      const { a } = await pair(M);
      a.collection('todos').insert({ id: 'kept' });
      const before = a.save();
      throwsCode(() => a.applyDelta(new Uint8Array(0)), 'corrupt', 'applyDelta');
      ok(bytesEqual(a.save(), before), 'unchanged');
    },
  ],
  [
    'insert, update, get, delete with every kind',
    async (M) => {
    const { a } = await pair(M);
    const todos = a.collection('todos');
    const id = todos.insert({ title: 'Milk', done: false, tags: ['home'] });
    ok(/^[0-9A-Za-z_-]{16}$/.test(id), `generated id ${id}`);
    eq(todos.get(id), { id, title: 'Milk', done: false, votes: 0, tags: ['home'], owner: [] });
    todos.update(id, (r) => {
      r.set('done', true);
      r.increment('votes', 1);
      r.add('tags', 'urgent');
      r.remove('tags', 'home');
      r.set('owner', 'ann');
    });
    eq(todos.get(id), { id, title: 'Milk', done: true, votes: 1, tags: ['urgent'], owner: ['ann'] });
    todos.update(id, (r) => r.increment('votes', -3));
    eq(todos.get(id).votes, -2);
    eq([todos.size, todos.has(id)], [1, true]);
    todos.delete(id);
    eq([todos.get(id), todos.has(id), todos.size], [undefined, false, 0]);
    },
  ],
  [
    'keeps every value type: null, booleans, int64, float64, strings, bytes',
    async (M) => {
    const { a } = await pair(M);
    const todos = a.collection('todos');
    const values = [null, true, false, 0, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 2n ** 63n - 1n, -(2n ** 63n), 1.5, -0.25,
      Number.NaN, Infinity, -Infinity, '', 'héllo ✓ 🍄', 'x'.repeat(5000), new Uint8Array([0, 255, 7])];
    for (const v of values) {
      const got = todos.get(todos.insert({ title: v })).title;
      if (typeof v === 'number' && Number.isNaN(v)) ok(Number.isNaN(got), 'NaN');
      else eq(got, v, `value ${String(v).slice(0, 20)}`);
    }
    const id = todos.insert({ tags: [3, 'a', null, 1.5, true, new Uint8Array([1])] });
    eq(todos.get(id).tags, [null, true, 3, 1.5, 'a', new Uint8Array([1])], 'sets in value order');
    throwsCode(() => todos.insert({ title: 2n ** 64n }), 'invalid_argument');
    },
  ],
  [
    'app-chosen ids; all() and ids() in id order; a deleted id can be inserted again',
    async (M) => {
    const { a } = await pair(M);
    const todos = a.collection('todos');
    for (const id of ['b', 'a', 'c']) todos.insert({ id, title: id.toUpperCase() });
    eq(todos.ids(), ['a', 'b', 'c']);
    eq(todos.all().map((r) => r.title), ['A', 'B', 'C']);
    throwsCode(() => todos.insert({ id: 'a' }), 'already_exists');
    todos.delete('a');
    todos.insert({ id: 'a', title: 'again' });
    eq(todos.get('a').title, 'again');
    eq(a.collection('notes').all(), []);
    eq(Object.keys(a.collections).sort(), ['notes', 'todos']);
    eq(a.collections.todos.size, 3);
    },
  ],
  [
    'typed errors are synchronous and leave the store byte-identical',
    async (M) => {
    const { a } = await pair(M);
    const todos = a.collection('todos');
    const id = todos.insert({ title: 'Milk' });
    const before = a.save();
    throwsCode(() => todos.update(id, (r) => r.increment('title', 1)), 'wrong_kind');
    throwsCode(() => todos.update(id, (r) => r.add('votes', 1)), 'wrong_kind');
    throwsCode(() => todos.update(id, (r) => r.set('tags', 1)), 'wrong_kind');
    throwsCode(() => todos.update(id, (r) => r.set('nope', 1)), 'unknown_field');
    throwsCode(() => todos.insert({ nope: 1 }), 'unknown_field');
    throwsCode(() => todos.update(id, (r) => r.set('title', undefined)), 'invalid_argument');
    throwsCode(() => todos.update(id, (r) => r.set('title', {})), 'invalid_argument');
    throwsCode(() => todos.update(id, (r) => r.increment('votes', 1.5)), 'invalid_argument');
    throwsCode(() => todos.insert({ tags: 'home' }), 'invalid_argument');
    throwsCode(() => todos.update('ghost', (r) => r.set('title', 'x')), 'not_found');
    eq(todos.delete('ghost'), false, 'deleting an absent record says so, and throws nothing');
    throwsCode(() => todos.get(''), 'invalid_argument');
    throwsCode(() => todos.insert({ id: 'x'.repeat(257) }), 'invalid_argument');
    throwsCode(() => a.collection('nope'), 'unknown_field');
    throwsCode(() => todos.update(id, (r) => {
      r.set('title', 'changed');
      r.increment('done', 1);
    }), 'wrong_kind', 'a bad op after a good one: nothing applies');
    ok(bytesEqual(a.save(), before), 'store unchanged');
    eq(todos.get(id).title, 'Milk');
    const e = throwsCode(() => todos.update('ghost', (r) => r.set('title', 'x')), 'not_found');
    ok(e instanceof M.MyceliumError && e instanceof Error && e.message.length > 10, 'a MyceliumError with a message');
    },
  ],
  [
    'nested updates are separate batches; a writer kept past its update is refused',
    async (M) => {
    const { a } = await pair(M);
    const todos = a.collection('todos');
    const x = todos.insert({ id: 'x', title: 'x' });
    const y = todos.insert({ id: 'y', title: 'y' });
    let kept;
    todos.update(x, (r) => {
      r.set('title', 'outer');
      todos.update(y, (inner) => inner.set('title', 'inner').increment('votes', 2));
      r.increment('votes', 1);
      kept = r;
    });
    eq([todos.get(x).title, todos.get(x).votes, todos.get(y).title, todos.get(y).votes], ['outer', 1, 'inner', 2]);
    throwsCode(() => kept.set('title', 'late'), 'invalid_argument');
    // A failing inner update leaves the outer one intact.
    todos.update(x, (r) => {
      r.set('done', true);
      throwsCode(() => todos.update('ghost', (g) => g.set('title', 'no')), 'not_found');
    });
    eq(todos.get(x).done, true);
    },
  ],
  [
    'bad options: schema, actor, version',
    async (M) => {
    await rejectsCode(M.open({ schema: { t: { f: 'nope' } } }), 'invalid_argument', 'unknown kind');
    await rejectsCode(M.open({ schema: { t: { id: 'lww' } } }), 'invalid_argument', 'field named id');
    await rejectsCode(M.open({ schema: todoSchema, actor: 'XYZ' }), 'invalid_argument', 'bad actor');
    await rejectsCode(M.open({ schema: todoSchema, persist: 'yes' }), 'invalid_argument', 'persist');
    await rejectsCode(M.open(), 'invalid_argument', 'no options');
    const { a } = await pair(M);
    throwsCode(() => a.deltaSince({ zz: 1 }), 'invalid_argument');
    throwsCode(() => a.deltaSince({ [actor(1)]: -1 }), 'invalid_argument');
    },
  ],
  [
    'two stores converge: deltas both ways, version vectors, snapshots, covered',
    async (M) => {
    const { a, b } = await pair(M);
    const id = a.collection('todos').insert({ title: 'Milk', votes: 2 });
    b.collection('notes').insert({ id: 'n1', body: 'hi' });
    eq(sync(a, b), 'applied');
    eq(sync(b, a), 'applied');
    eq(a.version(), { [actor(1)]: 3, [actor(2)]: 2 });
    eq(b.version(), a.version());
    ok(bytesEqual(a.save(), b.save()), 'same snapshot bytes');
    eq(b.collection('todos').get(id), a.collection('todos').get(id));
    eq(sync(a, b), 'covered');
    },
  ],
  [
    'concurrent writes: lww picks one, counters add, mvr keeps both, add wins, update wins over delete',
    async (M) => {
    const { a, b } = await pair(M);
    const id = a.collection('todos').insert({ title: 'x', tags: ['t'] });
    sync(a, b);
    a.collection('todos').update(id, (r) => r.set('title', 'from a').increment('votes', 2).set('owner', 'ann').remove('tags', 't'));
    b.collection('todos').update(id, (r) => r.set('title', 'from b').increment('votes', 3).set('owner', 'bob').add('tags', 't'));
    sync(a, b);
    sync(b, a);
    const ra = a.collection('todos').get(id);
    eq(b.collection('todos').get(id), ra);
    ok(['from a', 'from b'].includes(ra.title), 'lww picked one');
    eq([ra.votes, ra.owner, ra.tags], [5, ['ann', 'bob'], ['t']]);
    a.collection('todos').update(id, (r) => r.set('owner', 'cy'));
    sync(a, b);
    eq(b.collection('todos').get(id).owner, ['cy'], 'a later write covers both values');
    a.collection('todos').delete(id);
    b.collection('todos').update(id, (r) => r.increment('votes', 3));
    sync(a, b);
    sync(b, a);
    eq(a.collection('todos').get(id), { id, title: null, done: null, votes: 3, tags: [], owner: [] });
    eq(b.collection('todos').get(id), a.collection('todos').get(id));
    },
  ],
  [
    'a delta from the future waits as pending until the gap fills',
    async (M) => {
    const { a, b } = await pair(M);
    a.collection('todos').insert({ id: 't1', title: 'one' });
    const first = a.deltaSince({});
    const v1 = a.version();
    a.collection('todos').insert({ id: 't2', title: 'two' });
    eq(b.applyDelta(a.deltaSince(v1)), 'pending');
    eq([b.pending, b.collection('todos').size], [1, 0]);
    eq(b.applyDelta(first), 'applied');
    eq([b.pending, b.collection('todos').ids()], [0, ['t1', 't2']]);
    },
  ],
  [
    'save() compresses large snapshots; load() and open({ snapshot }) restore them exactly',
    async (M) => {
    const { a } = await pair(M);
    const todos = a.collection('todos');
    for (let i = 0; i < 2000; i++) todos.insert({ id: `t${i}`, title: `todo number ${i}`, votes: i, tags: ['a', 'b'] });
    const snap = a.save();
    eq(snap[4] & 1, 1, 'compressed flag');
    const b = await M.load(snap, { schema: todoSchema, actor: actor(9) });
    ok(bytesEqual(b.save(), snap), 'same bytes after load');
    eq(b.version(), a.version());
    eq(b.collection('todos').get('t1999'), todos.get('t1999'));
    const c = await M.open({ schema: todoSchema, snapshot: snap });
    eq(c.collection('todos').size, 2000);
    const small = await M.open({ schema: todoSchema });
    small.collection('notes').insert({ body: 'x' });
    eq(small.save()[4] & 1, 0, 'small snapshots stay plain');
    },
  ],
  [
    'a peer with another schema is refused with schema_mismatch',
    async (M) => {
    const { a } = await pair(M);
    a.collection('todos').insert({ title: 'x' });
    const other = await M.open({ schema: { todos: { title: 'counter' } } });
    const before = other.save();
    throwsCode(() => other.applyDelta(a.deltaSince()), 'schema_mismatch');
    ok(bytesEqual(other.save(), before), 'unchanged');
    },
  ],
  [
    'subscribe: one batch per microtask, changed fields, deleted, origin local and remote',
    async (M) => {
    const { a, b } = await pair(M);
    const todos = a.collection('todos');
    const seen = [];
    const off = todos.subscribe((changes) => seen.push(changes));
    const id = todos.insert({ title: 'Milk' });
    todos.update(id, (r) => r.increment('votes', 1).add('tags', 'x'));
    eq(seen, [], 'not synchronous');
    await Promise.resolve();
    eq(seen, [[
      { id, fields: ['title'], deleted: false, origin: 'local' },
      { id, fields: ['votes', 'tags'], deleted: false, origin: 'local' },
    ]]);
    todos.delete(id);
    await a.flush();
    eq(seen[1], [{ id, fields: ['title', 'done', 'votes', 'tags', 'owner'], deleted: true, origin: 'local' }]);
    off();
    todos.insert({ title: 'unseen' });
    await a.flush();
    eq(seen.length, 2, 'unsubscribed');
    const remote = [];
    b.collection('todos').subscribe((c) => remote.push(...c));
    b.collection('notes').subscribe(() => remote.push('notes should not fire'));
    const v = b.version();
    const bid = a.collection('todos').insert({ title: 'Eggs', votes: 2 });
    b.applyDelta(a.deltaSince(v));
    await b.flush();
    ok(remote.some((c) => c.id === bid && c.origin === 'remote' && c.fields.join() === 'title,votes'), JSON.stringify(remote));
    ok(!remote.includes('notes should not fire'), 'only the changed collection fires');
    remote.length = 0;
    const v2 = b.version();
    a.collection('todos').update(bid, (r) => r.set('done', true));
    b.applyDelta(a.deltaSince(v2));
    await b.flush();
    eq(remote, [{ id: bid, fields: ['done'], deleted: false, origin: 'remote' }], 'a remote update names only its field');
    },
  ],
  [
    'close() frees the store; later calls throw closed; close is idempotent; dispose()',
    async (M) => {
    const { a } = await pair(M);
    a.collection('todos').insert({ title: 'x' });
    ok(a.memoryBytes() > 0, 'memoryBytes');
    a.close();
    eq(a.closed, true);
    throwsCode(() => a.version(), 'closed');
    throwsCode(() => a.collection('todos').insert({ title: 'y' }), 'closed');
    a.close();
    const b = await M.open({ schema: todoSchema });
    b.dispose();
    eq(b.closed, true);
    ok(M.MyceliumError.prototype instanceof Error, 'MyceliumError extends Error');
    },
  ],
  [
    'applyDelta takes a snapshot too',
    async (M) => {
    const { a, b } = await pair(M);
    a.collection('todos').insert({ id: 's', title: 'from a snapshot', tags: [1, 2] });
    eq(b.applyDelta(a.save()), 'applied');
    eq(b.collection('todos').get('s'), a.collection('todos').get('s'));
    ok(bytesEqual(a.save(), b.save()), 'same bytes');
    },
  ],
  [
    'lists and texts: UTF-16 indexes, typed errors, two stores typing at one place, a snapshot (docs/sequences.md)',
    async (M) => {
    const schema = { notes: { title: 'lww', body: 'text', items: 'list' } };
    const a = await M.open({ schema, actor: actor(1), now: clock() });
    const b = await M.open({ schema, actor: actor(2), now: clock(1_700_000_000_500) });
    const na = a.collection('notes');
    const nb = b.collection('notes');
    na.insert({ id: 'n', title: 'Shopping', body: 'ab', items: ['milk'] });
    na.update('n', (r) => r.insert('body', 1, '🌍').insert('items', 1, [2, true, null]));
    eq(na.get('n').body, 'a🌍b');
    eq(na.get('n').items, ['milk', 2, true, null]);
    throwsCode(() => na.update('n', (r) => r.insert('body', 2, 'x')), 'invalid_argument', 'inside a surrogate pair');
    throwsCode(() => na.update('n', (r) => r.delete('items', 3, 2)), 'invalid_argument', 'past the end');
    throwsCode(() => na.update('n', (r) => r.insert('title', 0, 'x')), 'wrong_kind', 'insert into an lww');
    eq(na.get('n').body, 'a🌍b', 'unchanged');
    eq(b.applyDelta(a.deltaSince()), 'applied');
    const base = a.version();
    na.update('n', (r) => r.insert('body', 4, 'cd'));
    nb.update('n', (r) => r.insert('body', 4, 'xy').delete('items', 0, 1));
    sync(a, b);
    sync(b, a);
    const body = na.get('n').body;
    eq(nb.get('n').body, body);
    ok(body === 'a🌍bcdxy' || body === 'a🌍bxycd', `no interleaving: ${body}`);
    eq(na.get('n').items, [2, true, null]);
    ok(a.deltaSince(base).length > 0, 'a delta since the base');
    const c = await M.open({ schema, actor: actor(3) });
    eq(c.applyDelta(b.save()), 'applied');
    eq(c.collection('notes').get('n'), nb.get('n'));
    ok(bytesEqual(a.save(), b.save()), 'same bytes');
    },
  ],
  [
    'lists and texts: cursors that travel as strings, sets of list values, and changes as splices that rebuild the field (docs/sequences.md)',
    async (M) => {
    const schema = { notes: { body: 'text', items: 'list' } };
    const a = await M.open({ schema, actor: actor(1), now: clock() });
    const b = await M.open({ schema, actor: actor(2), now: clock(1_700_000_000_500) });
    const na = a.collection('notes');
    const nb = b.collection('notes');
    na.insert({ id: 'n', body: 'hello 🌍 world', items: [1, 2, 3] });
    eq(b.applyDelta(a.deltaSince()), 'applied');
    // A cursor before 'world', made on a, resolved on b after edits on both.
    const atWorld = JSON.parse(JSON.stringify(na.cursor('n', 'body', 9)));
    const atEnd = na.cursor('n', 'items', 3);
    let mirror = nb.get('n').body;
    let items = [...nb.get('n').items];
    const origins = [];
    nb.subscribe((changes) => {
      for (const ch of changes) {
        origins.push(ch.origin);
        for (const s of ch.splices?.body ?? []) mirror = mirror.slice(0, s.index) + s.inserted + mirror.slice(s.index + s.deleted);
        for (const s of ch.splices?.items ?? []) items.splice(s.index, s.deleted, ...s.inserted);
      }
    });
    const base = b.version();
    na.update('n', (r) => r.insert('body', 0, '>> ').delete('body', 6, 3).insert('items', 0, ['x']).set('items', 3, 'three'));
    nb.update('n', (r) => r.insert('body', 14, '!').delete('items', 1, 1).set('items', 0, 'one'));
    b.applyDelta(a.deltaSince(base));
    await new Promise((r) => setTimeout(r, 0));
    const body = nb.get('n').body;
    eq(mirror, body, 'splices rebuild the text');
    eq(items, nb.get('n').items, 'splices rebuild the list');
    // Sets of list elements: each side's set of its own element stands.
    eq(nb.get('n').items, ['x', 'one', 'three'], 'list after concurrent inserts, a delete and sets');
    ok(origins.includes('local') && origins.includes('remote'), `origins: ${origins}`);
    eq(nb.resolve(atWorld), body.indexOf('world'));
    eq(nb.resolve(atEnd), nb.get('n').items.length);
    throwsCode(() => nb.resolve('not a cursor'), 'invalid_argument', 'not a cursor');
    throwsCode(() => nb.cursor('n', 'body', 99), 'invalid_argument', 'past the end');
    },
  ],
  [
    'protected stores: members sync over a MessageChannel after an Ed25519 handshake; a stranger gets unauthorized and nothing; a non-member cannot write (docs/identity.md)',
    async (M) => {
      const [o, w, x] = await Promise.all([M.createIdentity(), M.createIdentity(), M.createIdentity()]);
      ok(/^[A-Za-z0-9_-]{43}$/.test(o.principal), `principal ${o.principal}`);
      const open = (identity) => M.open({ schema: todoSchema, name: 'protected', identity, access: { owner: o.principal } });
      const owner = await open(o);
      await owner.access.add(w.principal, 'writer');
      owner.collection('todos').insert({ id: 'a', title: 'from the owner' });
      const writer = await open(w);
      const one = new MessageChannel();
      owner.connect(M.messagePort(one.port1), fast);
      writer.connect(M.messagePort(one.port2), fast);
      await until('the writer has the record', () => writer.collection('todos').get('a') !== undefined);
      eq(writer.access.role(), 'writer');
      writer.collection('todos').insert({ id: 'b', title: 'from the writer' });
      await until('the owner has the writer’s record', () => owner.collection('todos').get('b') !== undefined);

      const stranger = await open(x);
      throwsCode(() => stranger.collection('todos').insert({ id: 'c', title: 'no' }), 'forbidden', 'a non-member writes');
      const two = new MessageChannel();
      const errors = [];
      owner.connect(M.messagePort(two.port1), fast).onError((e) => errors.push(e.error.code));
      const strangerErrors = [];
      stranger.connect(M.messagePort(two.port2), fast).onError((e) => strangerErrors.push(e.error.code));
      await until('both ended the session', () => errors.length > 0 && strangerErrors.length > 0);
      eq(errors[0], 'unauthorized');
      await new Promise((r) => setTimeout(r, 100));
      eq(stranger.collection('todos').all(), [], 'the stranger got no records');
      eq(stranger.access.members(), [{ principal: o.principal, role: 'admin' }], 'nor the membership');
      for (const s of [owner, writer, stranger]) s.close();
      for (const ch of [one, two]) {
        ch.port1.close();
        ch.port2.close();
      }
    },
  ],
  [
    'invites: a device with only a token joins a protected store over a MessageChannel and writes, each write a signed batch; the token works once (docs/identity.md, Invites)',
    async (M) => {
      const [o, d, e] = await Promise.all([M.createIdentity(), M.createIdentity(), M.createIdentity()]);
      const owner = await M.open({ schema: todoSchema, name: 'invited', identity: o, access: { owner: o.principal } });
      owner.collection('todos').insert({ id: 'a', title: 'from the owner' });
      const token = await owner.access.invite('writer', { expires: Date.now() + 60000 });
      ok(token.startsWith('myc-invite-1.'), 'a token');
      const device = await M.open({ schema: todoSchema, name: 'invited', identity: d, access: { invite: token } });
      const one = new MessageChannel();
      owner.connect(M.messagePort(one.port1), fast);
      device.connect(M.messagePort(one.port2), fast);
      await until('the device is a writer with the record', () => device.access.role() === 'writer' && device.collection('todos').get('a') !== undefined);
      device.collection('todos').insert({ id: 'd', title: 'from the device' });
      await until('the owner has the device’s record', () => owner.collection('todos').get('d') !== undefined);
      const again = await M.open({ schema: todoSchema, name: 'invited', identity: e, access: { invite: token } });
      const two = new MessageChannel();
      const errors = [];
      owner.connect(M.messagePort(two.port1), fast).onError((x) => errors.push(x.error.code));
      again.connect(M.messagePort(two.port2), fast);
      await until('the second use is refused', () => errors.includes('unauthorized'));
      eq(again.collection('todos').all(), [], 'the second device got nothing');
      for (const s of [owner, device, again]) s.close();
      for (const ch of [one, two]) {
        ch.port1.close();
        ch.port2.close();
      }
    },
  ],
  [
    'a device certified by its user joins a protected store as that user over a MessageChannel, and is cut off with the user (docs/identity.md, Identities and keys)',
    async (M) => {
      const [o, user, phone] = await Promise.all([M.createIdentity(), M.createIdentity(), M.createIdentity()]);
      const owner = await M.open({ schema: todoSchema, name: 'certified', identity: o, access: { owner: o.principal } });
      await owner.access.add(user.principal, 'writer');
      owner.collection('todos').insert({ id: 'a', title: 'from the owner' });
      const certificate = await M.certifyDevice(user, phone.principal, { expires: Date.now() + 60000 });
      ok(certificate.startsWith('myc-device-1.'), 'a certificate');
      const device = await M.open({ schema: todoSchema, name: 'certified', identity: phone, access: { owner: o.principal, certificate } });
      const one = new MessageChannel();
      const errors = [];
      owner.connect(M.messagePort(one.port1), fast);
      device.connect(M.messagePort(one.port2), fast).onError((x) => errors.push(x.error.code));
      await until('the device is a writer with the record', () => device.access.role() === 'writer' && device.collection('todos').get('a') !== undefined);
      device.collection('todos').insert({ id: 'd', title: 'from the device' });
      await until('the owner has the device’s record', () => owner.collection('todos').get('d') !== undefined);
      eq(owner.access.role(phone.principal), 'writer', 'the device acts as its user');
      await owner.access.remove(user.principal);
      await until('the device was cut off with its user', () => errors.includes('unauthorized'));
      eq(owner.access.role(phone.principal), 'none');
      await rejectsCode(M.open({ schema: todoSchema, name: 'certified', identity: o, access: { owner: o.principal, certificate } }), 'invalid_argument', 'a certificate of another key');
      for (const s of [owner, device]) s.close();
      one.port1.close();
      one.port2.close();
    },
  ],
  [
    'an encrypted store: members sync over a MessageChannel under an epoch key wrapped for each (X25519, HKDF, AES-GCM), a key kept in IndexedDB derives its box key, and a removal rotates the key (docs/identity.md, Encryption)',
    async (M) => {
      const o = await M.loadIdentity('api-case-encrypted');
      const [w, r] = await Promise.all([M.createIdentity(), M.createIdentity()]);
      const owner = await M.open({ schema: todoSchema, name: 'encrypted', identity: o, access: { owner: o.principal, encrypt: true } });
      await owner.access.add(w.principal, 'writer');
      await owner.access.add(r.principal, 'reader');
      const writer = await M.open({ schema: todoSchema, name: 'encrypted', identity: w, access: { owner: o.principal, encrypt: true } });
      const reader = await M.open({ schema: todoSchema, name: 'encrypted', identity: r, access: { owner: o.principal, encrypt: true } });
      const first = owner.access.keyring.currentEpoch();
      ok(first !== null, 'the owner started an epoch at open()');
      const one = new MessageChannel();
      const two = new MessageChannel();
      owner.connect(M.messagePort(one.port1), fast);
      writer.connect(M.messagePort(one.port2), fast);
      owner.connect(M.messagePort(two.port1), fast);
      reader.connect(M.messagePort(two.port2), fast);
      owner.collection('todos').insert({ id: 'a', title: 'sealed by the owner' });
      await until('the writer and the reader read the owner’s record', () => writer.collection('todos').get('a') !== undefined && reader.collection('todos').get('a') !== undefined, 15000);
      writer.collection('todos').insert({ id: 'w', title: 'sealed by the writer' });
      await until('the owner reads the writer’s record', () => owner.collection('todos').get('w') !== undefined, 15000);
      ok(owner.access.provenance.batches().every((b) => b.epoch === first), 'every batch is sealed under the epoch');
      await owner.access.remove(r.principal);
      await until('a new epoch', () => owner.access.keyring.currentEpoch() !== first);
      const second = owner.access.keyring.currentEpoch();
      eq(reader.access.keyring.readKey(second), null, 'the removed reader has no key for it');
      owner.collection('todos').insert({ id: 'b', title: 'after the removal' });
      await until('the writer reads what was sealed under the new epoch', () => writer.collection('todos').get('b') !== undefined, 15000);
      ok(writer.access.keyring.readKey(second) !== null, 'the writer holds the new key');
      eq(reader.collection('todos').get('b'), undefined, 'the removed reader did not get it');
      for (const s of [owner, writer, reader]) s.close();
      for (const ch of [one, two]) {
        ch.port1.close();
        ch.port2.close();
      }
    },
  ],
  [
    'loadIdentity(name) keeps a device identity: the same name gives the same principal, and its signatures open a protected store it owns',
    async (M) => {
      const a = await M.loadIdentity('api-case');
      const b = await M.loadIdentity('api-case');
      eq(a.principal, b.principal, 'same name, same key');
      const c = await M.loadIdentity('api-case-other');
      ok(c.principal !== a.principal, 'another name, another key');
      await rejectsCode(M.loadIdentity(''), 'invalid_argument', 'empty name');
      const store = await M.open({ schema: todoSchema, name: 'loaded', identity: b, access: { owner: a.principal } });
      eq(store.access.role(), 'admin');
      store.close();
    },
  ],
];
