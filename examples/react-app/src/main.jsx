// The collaborative todo list in React, on mycelium-sync/react: useStore
// opens the persisted store, useQuery keeps the list (by title), useRecord
// each row, useSyncStatus the status line. The markup is the other todo
// examples' (scripts/todo-flow.mjs drives all of them).
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { broadcastChannel, webrtc } from 'mycelium-sync';
import { useQuery, useRecord, useStore, useSyncStatus } from 'mycelium-sync/react';

const schema = {
  todos: { title: 'lww', done: 'lww', votes: 'counter', tags: 'set', assignee: 'mvr' },
};
const params = new URLSearchParams(location.search);
const room = params.get('room') ?? 'mycelium-demo';
const signaling = params.get('signal') ?? `ws://${location.hostname || '127.0.0.1'}:8787`;
const name = params.get('store') ?? 'todos-react';

// Online: tabs over BroadcastChannel, windows and other browsers over WebRTC.
// The live array is what window.__demo.syncs shows (tests read it).
const syncs = [];

function App() {
  const store = useStore({ name, schema, persist: true });
  useEffect(() => {
    if (store) document.body.dataset.ready = 'true';
  }, [store]);
  if (!store) return <p>Opening…</p>;
  return <Todos store={store} />;
}

function Todos({ store }) {
  const todos = store.collection('todos');
  const [online, setOnline] = useState(true);
  const [connected, setConnected] = useState([]);
  useEffect(() => {
    window.__demo = { store, todos, syncs };
    if (!online) return undefined;
    const made = [store.connect(broadcastChannel({ channel: `todos:${name}` })), store.connect(webrtc({ signaling, room }))];
    syncs.push(...made);
    setConnected(made);
    return () => {
      for (const s of made) s.close();
      syncs.splice(0, syncs.length, ...syncs.filter((s) => !made.includes(s)));
      setConnected([]);
    };
  }, [store, todos, online]);
  const list = useQuery(todos, { orderBy: 'title' });
  // An uncontrolled input, read on submit.
  const add = (ev) => {
    ev.preventDefault();
    const input = ev.currentTarget.elements.namedItem('new-title');
    if (!input.value.trim()) return;
    todos.insert({ title: input.value.trim(), done: false, votes: 0, tags: [] });
    input.value = '';
  };
  return (
    <>
      <h1>
        Todos <button id="online" onClick={() => setOnline((x) => !x)}>{online ? 'Go offline' : 'Go online'}</button>
      </h1>
      <div className="sub">React. Open this page in a second window: edits appear in both, a reload keeps everything.</div>
      <form id="add" onSubmit={add}>
        <input id="new-title" name="new-title" placeholder="What needs doing?" autoComplete="off" />
        <button>Add</button>
      </form>
      <ul id="list">
        {list.map((t) => (
          <Row key={t.id} todos={todos} id={t.id} />
        ))}
      </ul>
      <Status store={store} todos={todos} syncs={connected} />
    </>
  );
}

/** A text input written on Enter or when it loses focus, once per edit. */
function CommitInput({ value, onCommit, ...props }) {
  const [text, setText] = useState(value);
  const [editing, setEditing] = useState(false);
  const shown = editing ? text : value;
  const commit = () => {
    setEditing(false);
    if (text !== value) onCommit(text);
  };
  return (
    <input
      {...props}
      value={shown}
      onFocus={() => {
        setText(value);
        setEditing(true);
      }}
      onChange={(e) => {
        setText(e.target.value);
        setEditing(true);
      }}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commit();
      }}
    />
  );
}

function Row({ todos, id }) {
  const t = useRecord(todos, id);
  const [tag, setTag] = useState('');
  if (!t) return null;
  const title = String(t.title ?? '');
  const values = t.assignee.map(String);
  return (
    <li data-id={id} data-title={title} className={t.done === true ? 'done' : ''}>
      <input type="checkbox" className="done" checked={t.done === true} onChange={(e) => todos.update(id, (r) => r.set('done', e.target.checked))} />
      <CommitInput className="title" value={title} onCommit={(v) => todos.update(id, (r) => r.set('title', v))} />
      <button className="delete" title="delete" onClick={() => todos.delete(id)}>✕</button>
      <div className="row2">
        <span className="votes">
          <button className="up" onClick={() => todos.update(id, (r) => r.increment('votes', 1))}>▲</button>
          <b className="count">{t.votes}</b>
          <button className="down" onClick={() => todos.update(id, (r) => r.increment('votes', -1))}>▼</button>
        </span>
        <span className="tags">
          {t.tags.map((x) => (
            <span className="tag" data-tag={String(x)} key={String(x)}>
              {String(x)}
              <button title={`remove ${String(x)}`} onClick={() => todos.update(id, (r) => r.remove('tags', x))}>×</button>
            </span>
          ))}
        </span>
        <input
          className="addtag"
          placeholder="+ tag"
          value={tag}
          onChange={(e) => setTag(e.target.value)}
          onKeyDown={(e) => {
            if (e.key !== 'Enter' || !tag.trim()) return;
            todos.update(id, (r) => r.add('tags', tag.trim()));
            setTag('');
          }}
        />
        <span className="assignee">
          {values.length > 1 ? (
            // The multi-value register: concurrent writes are all kept until someone picks one.
            <span className="conflict">
              assigned concurrently to
              {values.map((v) => (
                <button className="pick" key={v} onClick={() => todos.update(id, (r) => r.set('assignee', v))}>{v}</button>
              ))}
            </span>
          ) : (
            <>
              @<CommitInput placeholder="assignee" value={values[0] ?? ''} onCommit={(v) => todos.update(id, (r) => r.set('assignee', v))} />
            </>
          )}
        </span>
      </div>
    </li>
  );
}

function Status({ store, todos, syncs }) {
  const tabs = useSyncStatus(syncs[0]);
  const rtc = useSyncStatus(syncs[1]);
  const count = useQuery(todos).length;
  const peers = (s) => (s && s.peers.length ? s.peers.map((p) => `${p.peer.slice(0, 6)} ${p.state}`).join(', ') : 'no peers');
  return (
    <div id="status">
      me {store.actor.slice(0, 6)} · {count} todos · {syncs.length ? `tabs: ${peers(tabs)} · WebRTC: ${peers(rtc)}` : 'offline'}
    </div>
  );
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
