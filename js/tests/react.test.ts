// @vitest-environment happy-dom
// 'mycelium-sync/react' (docs/react.md) with React 19 and Testing Library,
// every tree in StrictMode (mount, unmount, mount again): one store opened
// and closed with the component, no render loops, local writes and joined
// deltas reach exactly the components that show them.
import { act, cleanup, render } from '@testing-library/react';
import { createElement as h, StrictMode, type ReactNode } from 'react';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { usePresence, useQuery, useRecord, useStore, useSyncStatus } from 'mycelium-sync/react';
import type { Types } from './helpers.js';
import { mycelium } from './helpers.js';

const { open, messagePort } = mycelium;
const schema = { todos: { title: 'lww', done: 'lww', votes: 'counter' } } as const;
type Todos = Types.Collection<(typeof schema)['todos']>;

const strict = (node: ReactNode) => h(StrictMode, null, node);
const settle = () => act(() => new Promise<void>((r) => setTimeout(r, 20)));

// happy-dom makes this a browser: the package's browser build, which would
// fetch its .wasm files over HTTP. They come from dist/ instead.
beforeAll(() =>
  mycelium.preload({
    wasmBinary: readFileSync(resolve('dist/mycelium.wasm')), // vitest runs from the project's root
    compressorBinary: readFileSync(resolve('dist/mycelium-zstd.wasm')),
  }),
);
afterEach(() => cleanup());

describe('useStore', () => {
  it('opens one store on mount (StrictMode included) and closes it on unmount', async () => {
    const seen: (Types.Store<typeof schema> | null)[] = [];
    function App() {
      const store = useStore({ schema, actor: '00000000000000a1' });
      seen.push(store);
      return h('p', null, store ? `open ${store.collection('todos').size}` : 'loading');
    }
    const view = render(strict(h(App)));
    expect(view.container.textContent).toBe('loading');
    await settle();
    expect(view.container.textContent).toBe('open 0');
    const stores = [...new Set(seen.filter((s) => s !== null))];
    expect(stores).toHaveLength(1);
    expect(stores[0]!.closed).toBe(false);
    view.unmount();
    await settle();
    expect(stores[0]!.closed).toBe(true);
  });

  it('throws an open error to the error boundary', async () => {
    function App() {
      useStore({ schema: { bad: { x: 'nope' } } as never });
      return h('p', null, 'never');
    }
    const errors: unknown[] = [];
    const onError = (e: ErrorEvent) => {
      errors.push(e.error);
      e.preventDefault();
    };
    window.addEventListener('error', onError);
    try {
      render(h(App));
      await settle();
    } catch (e) {
      errors.push(e);
    } finally {
      window.removeEventListener('error', onError);
    }
    expect(errors.some((e) => e instanceof mycelium.MyceliumError && e.code === 'invalid_argument')).toBe(true);
  });
});

describe('useRecord and useQuery', () => {
  it('re-render only on changes they show, from local writes and joined deltas', async () => {
    const a = await open({ schema, actor: '00000000000000a1' });
    const b = await open({ schema, actor: '00000000000000b2' });
    const todos = a.collection('todos') as Todos;
    todos.insert({ id: 'x', title: 'milk', done: false });
    todos.insert({ id: 'y', title: 'eggs', done: false });
    b.applyDelta(a.deltaSince());
    const renders = { x: 0, y: 0, list: 0 };
    function Row({ id }: { id: 'x' | 'y' }) {
      const t = useRecord(todos, id);
      renders[id]++;
      return h('li', null, t ? `${t.title}${t.done ? ' ✓' : ''}` : '(gone)');
    }
    function Open() {
      const rows = useQuery(todos, { where: { done: false }, orderBy: 'title' });
      renders.list++;
      return h('ol', null, rows.map((r) => h('li', { key: r.id }, r.title as string)));
    }
    const view = render(strict(h('div', null, h(Row, { id: 'x' }), h(Row, { id: 'y' }), h(Open))));
    const text = () => view.container.textContent;
    expect(text()).toBe('milkeggseggsmilk');
    const base = { ...renders };
    // A local write to x: x and the list re-render, y does not.
    await act(async () => {
      todos.update('x', (r) => r.set('title', 'oat milk'));
    });
    expect(text()).toBe('oat milkeggseggsoat milk');
    expect(renders.y).toBe(base.y);
    expect(renders.x).toBeGreaterThan(base.x);
    expect(renders.x - base.x).toBeLessThanOrEqual(4); // StrictMode renders twice; no loop
    // A joined delta: b marks y done; the list drops it.
    b.collection('todos').update('y', (r) => r.set('done', true));
    await act(async () => {
      a.applyDelta(b.deltaSince(a.version()));
    });
    expect(text()).toBe('oat milkeggs ✓oat milk');
    // Nothing changes: nothing re-renders.
    const still = { ...renders };
    await act(async () => {
      todos.insert({ id: 'z', title: 'bread', done: true });
    });
    expect(renders.x).toBe(still.x);
    expect(renders.y).toBe(still.y);
    expect(renders.list).toBe(still.list);
    // Deleted: the row says so.
    await act(async () => {
      todos.delete('x');
    });
    expect(text()).toBe('(gone)eggs ✓');
    view.unmount();
    a.close();
    b.close();
  });

  it('a new spec makes a new query; a spec literal written in the component does not', async () => {
    const a = await open({ schema, actor: '00000000000000a1' });
    const todos = a.collection('todos') as Todos;
    for (let i = 0; i < 5; i++) todos.insert({ id: `t${i}`, title: `t${i}`, votes: i });
    let renders = 0;
    function Top({ n }: { n: number }) {
      const rows = useQuery(todos, { orderBy: [['votes', 'desc']], limit: n });
      renders++;
      return h('p', null, rows.map((r) => r.id).join(','));
    }
    const view = render(strict(h(Top, { n: 2 })));
    expect(view.container.textContent).toBe('t4,t3');
    const before = renders;
    view.rerender(strict(h(Top, { n: 2 })));
    view.rerender(strict(h(Top, { n: 2 })));
    expect(renders - before).toBeLessThanOrEqual(4);
    view.rerender(strict(h(Top, { n: 3 })));
    expect(view.container.textContent).toBe('t4,t3,t2');
    await act(async () => {
      todos.update('t0', (r) => r.increment('votes', 10));
    });
    expect(view.container.textContent).toBe('t0,t4,t3');
    view.unmount();
    a.close();
  });
});

describe('useSyncStatus', () => {
  it('is null without a sync, and the status (one object until it changes) with one', async () => {
    const a = await open({ schema, actor: '00000000000000a1' });
    const b = await open({ schema, actor: '00000000000000b2' });
    const seen: (Types.SyncStatus | null)[] = [];
    function Status({ sync }: { sync: Types.Sync | null }) {
      const s = useSyncStatus(sync);
      seen.push(s);
      return h('p', null, s === null ? 'offline' : s.synced ? 'synced' : `peers ${s.peers.length}`);
    }
    const view = render(strict(h(Status, { sync: null })));
    expect(view.container.textContent).toBe('offline');
    const { port1, port2 } = new MessageChannel();
    const sa = a.connect(messagePort(port1));
    const sb = b.connect(messagePort(port2));
    view.rerender(strict(h(Status, { sync: sa })));
    await act(async () => {
      await sa.whenSynced({ timeout: 5000 });
      await new Promise((r) => setTimeout(r, 50));
    });
    expect(view.container.textContent).toBe('synced');
    const last = seen.at(-1);
    view.rerender(strict(h(Status, { sync: sa })));
    expect(seen.at(-1)).toBe(last);
    view.unmount();
    sa.close();
    sb.close();
    port1.close();
    port2.close();
    a.close();
    b.close();
  });
});

describe('usePresence', () => {
  it('shows the others, re-renders when one joins, changes or leaves, and sets this replica’s state from its argument', async () => {
    const a = await open({ schema, actor: '00000000000000a1' });
    const b = await open({ schema, actor: '00000000000000b2' });
    const { port1, port2 } = new MessageChannel();
    const sa = a.connect(messagePort(port1));
    const sb = b.connect(messagePort(port2));
    let renders = 0;
    function Others({ sync, me }: { sync: Types.Sync | null; me?: Types.JsonValue }) {
      const others = usePresence(sync, me);
      renders++;
      return h('p', null, others.map((p) => `${p.id === sb.presence.id ? 'bob' : p.id}:${JSON.stringify(p.state)}`).join(' ') || 'alone');
    }
    const view = render(strict(h(Others, { sync: null })));
    expect(view.container.textContent).toBe('alone');
    view.rerender(strict(h(Others, { sync: sa, me: { name: 'Ann' } })));
    await act(async () => {
      sb.presence.set({ name: 'Bob' });
      await new Promise((r) => setTimeout(r, 100));
    });
    expect(view.container.textContent).toBe('bob:{"name":"Bob"}');
    // The hook set Ann's state: Bob sees it.
    expect(sb.presence.peers()).toEqual([{ id: sa.presence.id, state: { name: 'Ann' } }]);
    const before = renders;
    view.rerender(strict(h(Others, { sync: sa, me: { name: 'Ann' } }))); // an equal state: nothing sent
    await settle();
    expect(renders - before).toBeLessThanOrEqual(2); // the rerender itself (twice in StrictMode), no loop
    await act(async () => {
      sb.presence.update({ cursor: 4 });
      await new Promise((r) => setTimeout(r, 100));
    });
    expect(view.container.textContent).toBe('bob:{"name":"Bob","cursor":4}');
    view.rerender(strict(h(Others, { sync: sa, me: { name: 'Ann', typing: true } })));
    await act(() => new Promise((r) => setTimeout(r, 100)));
    expect(sb.presence.peers()[0]!.state).toEqual({ name: 'Ann', typing: true });
    await act(async () => {
      sb.close();
      await new Promise((r) => setTimeout(r, 100));
    });
    expect(view.container.textContent).toBe('alone');
    view.unmount();
    sa.close();
    port1.close();
    port2.close();
    a.close();
    b.close();
  });
});
