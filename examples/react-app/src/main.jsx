// The collaborative todo list in React, on mycelium-sync/react: useStore
// opens the persisted store, useQuery keeps the list (by title), useRecord
// each row, useSyncStatus the status line, usePresence who else is here and
// which todo each of them is editing. The markup is the other todo
// examples' (scripts/todo-flow.mjs drives all of them).
import { createContext, StrictMode, useContext, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { broadcastChannel, webrtc } from 'mycelium-sync';
import { usePresence, useQuery, useRecord, useStore, useSyncStatus } from 'mycelium-sync/react';

const schema = {
  todos: { title: 'lww', done: 'lww', votes: 'counter', tags: 'set', assignee: 'mvr' },
};
const params = new URLSearchParams(location.search);
const room = params.get('room') ?? 'mycelium-demo';
const signaling = params.get('signal') ?? `ws://${location.hostname || '127.0.0.1'}:8787`;
const name = params.get('store') ?? 'todos-react';

// Who this tab is, for presence: a guest name and a colour of its own.
const guest = Math.floor(Math.random() * 900 + 100);
const me = { name: params.get('name') ?? `Guest ${guest}`, color: `hsl(${(guest * 47) % 360} 70% 45%)` };
// The store's presence (one for all its syncs), for rows to say what they edit.
const Presence = createContext(null);

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
  // Everyone else here (across both networks: presence is the store's), and
  // this tab's own state: its name and colour; rows add what it edits.
  const here = usePresence(connected[0], me);
  const presence = connected[0]?.presence ?? null;
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
      <Here peers={here} />
      <Presence.Provider value={{ presence, here }}>
        <ul id="list">
          {list.map((t) => (
            <Row key={t.id} todos={todos} id={t.id} />
          ))}
        </ul>
      </Presence.Provider>
      <Status store={store} todos={todos} syncs={connected} />
    </>
  );
}

/** A text input written on Enter or when it loses focus, once per edit. */
function CommitInput({ value, onCommit, onFocus, onBlur, ...props }) {
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
        onFocus?.();
      }}
      onChange={(e) => {
        setText(e.target.value);
        setEditing(true);
      }}
      onBlur={() => {
        commit();
        onBlur?.();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commit();
      }}
    />
  );
}

/** Who else has this page open. */
function Here({ peers }) {
  return (
    <div id="here">
      {peers.length === 0 ? 'Nobody else here' : 'Also here: '}
      {peers.map((p) => (
        <span className="peer" key={p.id} data-name={p.state.name} style={{ borderColor: p.state.color }}>
          {p.state.name}
        </span>
      ))}
    </div>
  );
}

function Row({ todos, id }) {
  const t = useRecord(todos, id);
  const [tag, setTag] = useState('');
  const { presence, here } = useContext(Presence) ?? { presence: null, here: [] };
  const editors = here.filter((p) => p.state.editing === id);
  if (!t) return null;
  const title = String(t.title ?? '');
  const values = t.assignee.map(String);
  return (
    <li data-id={id} data-title={title} className={t.done === true ? 'done' : ''}>
      <input type="checkbox" className="done" checked={t.done === true} onChange={(e) => todos.update(id, (r) => r.set('done', e.target.checked))} />
      <span className="titlebox">
        <CommitInput
          className="title"
          value={title}
          onCommit={(v) => todos.update(id, (r) => r.set('title', v))}
          onFocus={() => presence?.update({ editing: id })}
          onBlur={() => presence?.update({ editing: null })}
        />
        {editors.map((p) => (
          <span className="editing" key={p.id} data-name={p.state.name} style={{ background: p.state.color }}>
            {p.state.name}
          </span>
        ))}
      </span>
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
