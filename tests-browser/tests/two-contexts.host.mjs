// Two stores in two separate browser contexts (separate storage and
// processes) exchange deltas through the page bridge: bytes leave one page as
// base64, cross this process, and enter the other page.

const SETUP = async (n) => {
  const m = await import('/dist/index.js');
  const f = await import('/tests-browser/page/fixtures.js');
  const store = await m.open({ schema: f.todoSchema, actor: f.actor(n), now: f.clock(1_700_000_000_000 + n * 100) });
  window.__s = { m, f, store };
  return store.version();
};

const edit = async ({ seed, ops }) => {
  const { f, store } = window.__s;
  const r = f.rng(seed);
  const todos = store.collection('todos');
  const ids = ['a', 'b', 'c', 'd'];
  for (let k = 0; k < ops; k++) {
    const id = ids[Math.floor(r() * ids.length)];
    if (!todos.has(id)) todos.insert({ id, title: `${seed}:${k}` });
    else if (r() < 0.1) todos.delete(id);
    else todos.update(id, (w) => (r() < 0.5 ? w.increment('votes', 1).set('owner', seed) : w.add('tags', k % 3).set('title', `${seed}:${k}`)));
  }
  return store.version();
};
const deltaFor = (version) => window.__s.f.toBase64(window.__s.store.deltaSince(version));
const apply = (b64) => window.__s.store.applyDelta(window.__s.f.fromBase64(b64));
const state = () => ({ snap: window.__s.f.toBase64(window.__s.store.save()), version: window.__s.store.version(), todos: window.__s.store.collection('todos').all() });

function same(x, y, what) {
  const a = JSON.stringify(x);
  const b = JSON.stringify(y);
  if (a !== b) throw new Error(`${what} differ:\n  ${a.slice(0, 300)}\n  ${b.slice(0, 300)}`);
}

export const tests = [
  {
    name: 'two contexts edit concurrently and converge through the page bridge',
    async run(env) {
      const a = await env.newContextPage('/tests-browser/page/runner.html');
      const b = await env.newContextPage('/tests-browser/page/runner.html');
      let va = await a.evaluate(SETUP, 1);
      let vb = await b.evaluate(SETUP, 2);
      for (let round = 0; round < 6; round++) {
        va = await a.evaluate(edit, { seed: 100 + round, ops: 40 });
        vb = await b.evaluate(edit, { seed: 200 + round, ops: 40 });
        // Both deltas are computed before either side applies anything.
        const toB = await a.evaluate(deltaFor, vb);
        const toA = await b.evaluate(deltaFor, va);
        const ra = await a.evaluate(apply, toA);
        const rb = await b.evaluate(apply, toB);
        if (ra !== 'applied' || rb !== 'applied') throw new Error(`round ${round}: ${ra}, ${rb}`);
      }
      const sa = await a.evaluate(state);
      const sb = await b.evaluate(state);
      same(sa.version, sb.version, 'versions');
      same(sa.todos, sb.todos, 'records');
      if (sa.snap !== sb.snap) throw new Error('snapshots differ');
      // A repeated delta is recognised as covered, in the other context.
      if ((await b.evaluate(apply, await a.evaluate(deltaFor, {}))) !== 'covered') throw new Error('duplicate not covered');
    },
  },
  {
    name: 'a delta garbled in transit is refused and the receiving context is unchanged',
    async run(env) {
      const a = await env.newContextPage('/tests-browser/page/runner.html');
      const b = await env.newContextPage('/tests-browser/page/runner.html');
      await a.evaluate(SETUP, 3);
      await b.evaluate(SETUP, 4);
      await a.evaluate(edit, { seed: 7, ops: 60 });
      await b.evaluate(edit, { seed: 8, ops: 10 });
      const good = Buffer.from(await a.evaluate(deltaFor, {}), 'base64');
      const before = await b.evaluate(state);
      const bad = Buffer.from(good);
      bad[bad.length >> 1] ^= 0x10;
      const code = await b.evaluate(async (b64) => {
        try {
          window.__s.store.applyDelta(window.__s.f.fromBase64(b64));
          return 'accepted';
        } catch (e) {
          return e.code;
        }
      }, bad.toString('base64'));
      if (code !== 'corrupt') throw new Error(`expected corrupt, got ${code}`);
      same(await b.evaluate(state), before, 'state after a refused delta');
      if ((await b.evaluate(apply, good.toString('base64'))) !== 'applied') throw new Error('the good delta did not apply');
    },
  },
];
