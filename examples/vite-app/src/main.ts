// The collaborative todo list in TypeScript: the schema types every record,
// so `t.votes` is a number, `t.assignee` the values of a multi-value register,
// and `r.increment('title', 1)` would not compile.
import { broadcastChannel, open, webrtc } from 'mycelium-sync';
import type { RecordOf, Sync } from 'mycelium-sync';

const schema = {
  todos: { title: 'lww', done: 'lww', votes: 'counter', tags: 'set', assignee: 'mvr' },
} as const;
type Todo = RecordOf<(typeof schema)['todos']>;

const params = new URLSearchParams(location.search);
const room = params.get('room') ?? 'mycelium-demo';
const signaling = params.get('signal') ?? `ws://${location.hostname || '127.0.0.1'}:8787`;
const name = params.get('store') ?? 'todos-vite';

function $<T extends Element>(sel: string, root: ParentNode = document): T {
  const e = root.querySelector<T>(sel);
  if (!e) throw new Error(`missing ${sel}`);
  return e;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
}

const store = await open({ name, schema, persist: true });
const todos = store.collection('todos');
// The list as shown: by title (ties by id), kept up to date as edits arrive.
const byTitle = todos.query({ orderBy: 'title' });
// Online: tabs over BroadcastChannel, windows and other browsers over WebRTC.
// "Go offline" closes both; edits made meanwhile merge when it comes back.
const syncs: Sync[] = [];
let note = '';
const errors: string[] = [];
function goOnline(): void {
  syncs.push(store.connect(broadcastChannel({ channel: `todos:${name}` })));
  try {
    syncs.push(store.connect(webrtc({ signaling, room })));
  } catch (e) {
    note = ` · WebRTC: ${e instanceof Error ? e.message : String(e)}`;
  }
  for (const s of syncs) {
    s.onError((e) => errors.push(`${e.peer}: ${e.error.code}`));
    s.subscribe(renderStatus);
  }
}
const online = $<HTMLButtonElement>('#online');
online.onclick = () => {
  if (syncs.length > 0) for (const s of syncs.splice(0)) s.close();
  else goOnline();
  online.textContent = syncs.length > 0 ? 'Go offline' : 'Go online';
  renderStatus();
};
Object.assign(window, { __demo: { store, todos, syncs } });

const rows = new Map<string, HTMLLIElement>();
const list = $<HTMLUListElement>('#list');

/** A text field's edit is written on Enter or when the field loses focus, once. */
function onCommit(input: HTMLInputElement, commit: () => void): void {
  input.onchange = commit;
  input.onkeydown = (ev) => {
    if (ev.key === 'Enter') commit();
  };
}

function row(id: string): HTMLLIElement {
  const done = el('input', { type: 'checkbox', className: 'done' });
  done.onchange = () => todos.update(id, (r) => r.set('done', done.checked));
  const title = el('input', { className: 'title' });
  onCommit(title, () => {
    if (todos.get(id)?.title !== title.value) todos.update(id, (r) => r.set('title', title.value));
  });
  const del = el('button', { className: 'delete', title: 'delete', textContent: '✕' });
  del.onclick = () => todos.delete(id);
  const up = el('button', { className: 'up', textContent: '▲' });
  up.onclick = () => todos.update(id, (r) => r.increment('votes', 1));
  const down = el('button', { className: 'down', textContent: '▼' });
  down.onclick = () => todos.update(id, (r) => r.increment('votes', -1));
  const addTag = el('input', { className: 'addtag', placeholder: '+ tag' });
  addTag.onkeydown = (ev) => {
    if (ev.key !== 'Enter' || !addTag.value.trim()) return;
    todos.update(id, (r) => r.add('tags', addTag.value.trim()));
    addTag.value = '';
  };
  const li = el('li');
  li.dataset.id = id;
  li.append(done, title, del, el('div', { className: 'row2' }, el('span', { className: 'votes' }, up, el('b', { className: 'count' }), down), el('span', { className: 'tags' }), addTag, el('span', { className: 'assignee' })));
  return li;
}

function fill(li: HTMLLIElement, t: Todo): void {
  li.dataset.title = String(t.title ?? '');
  li.classList.toggle('done', t.done === true);
  $<HTMLInputElement>('.done', li).checked = t.done === true;
  const title = $<HTMLInputElement>('.title', li);
  if (document.activeElement !== title) title.value = String(t.title ?? '');
  $('.count', li).textContent = String(t.votes);
  $('.tags', li).replaceChildren(
    ...t.tags.map((tag) => {
      const x = el('button', { title: `remove ${String(tag)}`, textContent: '×' });
      x.onclick = () => todos.update(t.id, (r) => r.remove('tags', tag));
      const chip = el('span', { className: 'tag' }, String(tag), x);
      chip.dataset.tag = String(tag);
      return chip;
    }),
  );
  // The multi-value register: concurrent writes are all kept until someone picks one.
  const a = $<HTMLSpanElement>('.assignee', li);
  const values = t.assignee.map(String);
  if (values.length > 1) {
    const mode = `conflict:${values.join('|')}`;
    if (a.dataset.mode === mode) return;
    a.dataset.mode = mode;
    const picks = values.map((v) => {
      const b = el('button', { className: 'pick', textContent: v });
      b.onclick = () => todos.update(t.id, (r) => r.set('assignee', v));
      return b;
    });
    a.replaceChildren(el('span', { className: 'conflict' }, 'assigned concurrently to', ...picks));
    return;
  }
  let input = a.querySelector('input');
  if (!input) {
    const i = el('input', { placeholder: 'assignee' });
    onCommit(i, () => {
      const now = todos.get(t.id)?.assignee ?? [];
      if (now.length !== 1 || now[0] !== i.value) todos.update(t.id, (r) => r.set('assignee', i.value));
    });
    a.replaceChildren('@', i);
    a.dataset.mode = 'one';
    input = i;
  }
  if (document.activeElement !== input) input.value = values[0] ?? '';
}

function render(): void {
  const all = byTitle.results();
  const seen = new Set<string>();
  all.forEach((t, i) => {
    seen.add(t.id);
    let li = rows.get(t.id);
    if (!li) rows.set(t.id, (li = row(t.id)));
    fill(li, t);
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
  });
  for (const [id, li] of rows) {
    if (seen.has(id)) continue;
    li.remove();
    rows.delete(id);
  }
}

function renderStatus(): void {
  let got = 0;
  let total = 0;
  const parts = syncs.map((s, i) => {
    const peers = s.peers().map((p) => {
      got += p.receivingBytes;
      total += p.receivingTotal;
      const what = p.state === 'syncing' && p.sendingBytes > 0 ? `syncing ${Math.ceil(p.sendingBytes / 1024)} KB` : p.state;
      return `<span class="${p.state}">${p.peer.slice(0, 6)} ${what}</span>`;
    });
    return `${i === 0 ? 'tabs' : 'WebRTC'}: ${peers.length ? peers.join(', ') : 'no peers'}`;
  });
  const bar = $<HTMLDivElement>('#progress');
  bar.hidden = total === 0;
  if (total > 0) {
    $<HTMLProgressElement>('progress', bar).value = got / total;
    $('div', bar).textContent = `receiving ${(got / 1e6).toFixed(1)} of about ${(total / 1e6).toFixed(1)} MB…`;
  }
  if (syncs.length === 0) parts.push('offline');
  $('#status').innerHTML = `me ${store.actor.slice(0, 6)} · ${todos.size} todos · ${parts.join(' · ')}${note}${errors.length ? ` · <span class="failed">${errors[errors.length - 1]}</span>` : ''}`;
}

$<HTMLFormElement>('#add').onsubmit = (ev) => {
  ev.preventDefault();
  const input = $<HTMLInputElement>('#new-title');
  if (!input.value.trim()) return;
  todos.insert({ title: input.value.trim(), done: false, votes: 0, tags: [] });
  input.value = '';
};

todos.subscribe(() => {
  render();
  renderStatus();
});
goOnline();
render();
renderStatus();
document.body.dataset.ready = 'true';
