// Compile-time checks of the public types (tsc -p js/tests, run by npm test).
// Each @ts-expect-error must be an error: if the types accept the line, tsc fails.
import { open } from 'mycelium-sync';
import type { Change, MyceliumError, Value } from 'mycelium-sync';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const is = <T extends true>(): T | undefined => undefined;

export async function typedSchema(): Promise<void> {
  const store = await open({
    schema: { todos: { title: 'lww', done: 'lww', votes: 'counter', tags: 'set', owner: 'mvr' } },
  });
  const todos = store.collection('todos');
  const id: string = todos.insert({ title: 'Milk', votes: 1, tags: ['home'] });
  const r = todos.get(id)!;
  is<Equals<typeof r.votes, number>>();
  is<Equals<typeof r.title, Value>>();
  is<Equals<typeof r.tags, readonly Value[]>>();
  is<Equals<typeof r.owner, readonly Value[]>>();
  // Records are shared and frozen (the read cache): the types say so.
  // @ts-expect-error a record's set is read-only
  r.tags.push('x');
  // @ts-expect-error a record's fields are read-only
  r.title = 'y';
  is<Equals<typeof r.id, string>>();
  const votes: number = r.votes;
  void votes;

  todos.update(id, (w) => {
    w.set('title', 'x');
    w.set('owner', 'ann');
    w.increment('votes', 2);
    w.add('tags', 'a').remove('tags', 'b');
    // @ts-expect-error title is lww, not a counter
    w.increment('title', 1);
    // @ts-expect-error votes is a counter, not settable
    w.set('votes', 3);
    // @ts-expect-error tags is a set
    w.set('tags', 'x');
    // @ts-expect-error no such field
    w.set('nope', 1);
  });
  // @ts-expect-error unknown field in insert
  todos.insert({ nope: 1 });
  // @ts-expect-error a set is inserted as an array
  todos.insert({ tags: 'home' });
  // @ts-expect-error unknown collection
  store.collection('notes');
  // @ts-expect-error values are null | boolean | number | bigint | string | Uint8Array
  todos.insert({ title: { nested: true } });

  const off: () => void = todos.subscribe((changes: Change[]) => {
    for (const c of changes) {
      const fields: readonly string[] = c.fields;
      void fields;
    }
  });
  off();
  try {
    store.applyDelta(new Uint8Array(1));
  } catch (e) {
    const code: MyceliumError['code'] = (e as MyceliumError).code;
    void code;
  }
}

// An untyped schema still type-checks every call by name.
export async function untypedSchema(schema: Record<string, Record<string, 'lww' | 'counter'>>): Promise<void> {
  const store = await open({ schema });
  store.collection('anything').update('id', (w) => w.increment('n', 1));
}
