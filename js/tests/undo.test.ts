// Undo and redo (docs/undo.md) through the built package: every kind, record
// inserts and deletes, steps, redo, and the rules against peers' changes made
// between a change and its undo.
import { describe, expect, it } from 'vitest';
import { mycelium } from './helpers.js';

const { open } = mycelium;
const schema = {
  todos: { title: 'lww', owner: 'mvr', votes: 'counter', tags: 'set', notes: 'text', steps: 'list' },
  other: { x: 'lww' },
} as const;

async function replica(actor: string) {
  const store = await open({ schema, actor });
  return { store, todos: store.collection('todos'), other: store.collection('other') };
}

describe('undo and redo', () => {
  it('revert and replay every kind of change, step by step', async () => {
    const { store, todos } = await replica('00000000000000a1');
    const undo = store.undoManager({ captureTimeout: 0 });
    expect(undo.canUndo).toBe(false);
    expect(undo.undo()).toBe(false);
    const id = todos.insert({ title: 'a', owner: 'me', votes: 1, tags: ['x'], notes: 'hello world', steps: [1, 2, 3] });
    const inserted = todos.get(id);
    todos.update(id, (r) =>
      r.set('title', 'b').set('owner', 'you').increment('votes', 4).add('tags', 'y').remove('tags', 'x')
        .delete('notes', 0, 5).insert('notes', 0, 'goodbye').set('steps', 1, 20).insert('steps', 3, [4]),
    );
    const updated = todos.get(id);
    expect(updated).toMatchObject({ title: 'b', owner: ['you'], votes: 5, tags: ['y'], notes: 'goodbye world', steps: [1, 20, 3, 4] });
    todos.delete(id);
    expect(undo.canUndo).toBe(true);
    // Undo the delete: the record as it was.
    expect(undo.undo()).toBe(true);
    expect(todos.get(id)).toEqual(updated);
    // Undo the update: every field as before it.
    undo.undo();
    expect(todos.get(id)).toEqual(inserted);
    // Undo the insert: gone.
    undo.undo();
    expect(todos.get(id)).toBeUndefined();
    expect(undo.canUndo).toBe(false);
    // Redo all three, in order.
    expect(undo.canRedo).toBe(true);
    undo.redo();
    expect(todos.get(id)).toEqual(inserted);
    undo.redo();
    expect(todos.get(id)).toEqual(updated);
    undo.redo();
    expect(todos.get(id)).toBeUndefined();
    expect(undo.canRedo).toBe(false);
    // A new change after an undo drops the redo stack.
    undo.undo();
    expect(undo.canRedo).toBe(true);
    todos.update(id, (r) => r.set('title', 'c'));
    expect(undo.canRedo).toBe(false);
    store.close();
  });

  it('groups changes within captureTimeout; stopCapturing splits; collections filter; subscribers hear', async () => {
    const { store, todos, other } = await replica('00000000000000a1');
    const undo = store.undoManager({ collections: ['todos'], captureTimeout: 60_000 });
    let heard = 0;
    undo.subscribe(() => heard++);
    const id = todos.insert({ id: 't', notes: '' });
    for (const ch of 'abc') todos.update(id, (r) => r.insert('notes', todos.get(id)!.notes.length, ch));
    undo.stopCapturing();
    for (const ch of 'def') todos.update(id, (r) => r.insert('notes', todos.get(id)!.notes.length, ch));
    other.insert({ id: 'o', x: 1 }); // not captured
    expect(heard).toBe(7);
    undo.undo();
    expect(todos.get(id)!.notes).toBe('abc');
    expect(other.get('o')).toBeDefined();
    undo.undo();
    expect(todos.get(id)).toBeUndefined();
    expect(undo.canUndo).toBe(false);
    undo.close();
    expect(() => undo.undo()).toThrow(mycelium.MyceliumError);
    store.close();
  });

  it('never reverts peers: their edits elsewhere survive, an lww they overwrote is left, text lands where it belongs', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    const undo = a.store.undoManager({ captureTimeout: 0 });
    a.todos.insert({ id: 't', title: 'start', votes: 0, notes: 'one two three', tags: [] });
    b.store.applyDelta(a.store.deltaSince());
    undo.stopCapturing();
    a.todos.update('t', (r) => r.set('title', 'mine').increment('votes', 5).delete('notes', 4, 3).insert('notes', 4, 'TWO'));
    // b, concurrently: another title, more votes, text before and after a's edit, a tag.
    b.todos.update('t', (r) => r.set('title', 'theirs').increment('votes', 2).insert('notes', 0, '> ').insert('notes', 15, '!').add('tags', 'b'));
    const base = a.store.version();
    a.store.applyDelta(b.store.deltaSince(base));
    b.store.applyDelta(a.store.deltaSince(b.store.version()));
    const title = a.todos.get('t')!.title;
    expect(a.todos.get('t')!.notes).toBe('> one TWO three!');
    // Remote changes are not captured: one undo reverts a's update only.
    undo.undo();
    const t = a.todos.get('t')!;
    expect(t.votes).toBe(2); // b's increment survives
    expect(t.tags).toEqual(['b']);
    expect(t.notes).toBe('> one two three!');
    // The lww: put back only if it still reads as a's change left it.
    expect(t.title).toBe(title === 'mine' ? 'start' : 'theirs');
    // The undo travels like any write.
    b.store.applyDelta(a.store.deltaSince(b.store.version()));
    expect(b.todos.get('t')).toEqual(a.todos.get('t'));
    a.store.close();
    b.store.close();
  });

  it('an lww a peer overwrote after the change is not clobbered', async () => {
    const a = await replica('00000000000000a1');
    const b = await replica('00000000000000b2');
    const undo = a.store.undoManager({ captureTimeout: 0 });
    a.todos.insert({ id: 't', title: 'start' });
    undo.stopCapturing();
    a.todos.update('t', (r) => r.set('title', 'mine'));
    b.store.applyDelta(a.store.deltaSince());
    b.todos.update('t', (r) => r.set('title', 'theirs')); // after seeing 'mine'
    a.store.applyDelta(b.store.deltaSince(a.store.version()));
    expect(a.todos.get('t')!.title).toBe('theirs');
    undo.undo();
    expect(a.todos.get('t')!.title).toBe('theirs');
    a.store.close();
    b.store.close();
  });
});
