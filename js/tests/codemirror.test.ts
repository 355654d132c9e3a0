// mycelium-sync/codemirror in Node: the package entry loads beside the core
// without a DOM, and remote splices become CodeMirror changes that rebuild
// the text exactly (the binding as a whole runs in the browsers:
// tests-browser/tests/examples.host.mjs, examples/notes).
import { Text } from '@codemirror/state';
import { describe, expect, it } from 'vitest';
import { splicesToChanges, textBinding } from 'mycelium-sync/codemirror';
import { mycelium, rng } from './helpers.js';

describe('mycelium-sync/codemirror', () => {
  it('turns splices into one change set that rebuilds the text', async () => {
    const a = await mycelium.open({ schema: { notes: { body: 'text' } }, actor: '00000000000000a1' });
    const b = await mycelium.open({ schema: { notes: { body: 'text' } }, actor: '00000000000000b2' });
    const an = a.collection('notes');
    const id = an.insert({ body: 'The quick brown fox 🦊 jumps.' });
    b.applyDelta(a.deltaSince());
    let doc = Text.of([b.collection('notes').get(id)!.body]);
    b.collection('notes').subscribe((changes) => {
      for (const c of changes) if (c.splices?.body) doc = splicesToChanges(c.splices.body, doc.length).apply(doc);
    });
    const random = rng(3);
    for (let round = 0; round < 40; round++) {
      const base = b.version();
      an.update(id, (r) => {
        // Three edits in one batch, each against the text the ones before it leave.
        let body = [...an.get(id)!.body];
        for (let k = 0; k < 3; k++) {
          const at = Math.floor(random() * (body.length + 1));
          const unit = body.slice(0, at).join('').length;
          if (random() < 0.5 && at < body.length) {
            r.delete('body', unit, body[at]!.length);
            body = [...body.slice(0, at), ...body.slice(at + 1)];
          } else {
            const text = random() < 0.2 ? '🙂' : 'xyz'.slice(0, 1 + Math.floor(random() * 3));
            r.insert('body', unit, text);
            body = [...body.slice(0, at), ...text, ...body.slice(at)];
          }
        }
      });
      b.applyDelta(a.deltaSince(base));
      await Promise.resolve();
      expect(doc.toString()).toBe(b.collection('notes').get(id)!.body);
    }
    expect(doc.toString()).toBe(an.get(id)!.body);
    a.close();
    b.close();
  });

  it('refuses a record that is not there and a field that is not a text, with typed errors', async () => {
    const s = await mycelium.open({ schema: { notes: { body: 'text', title: 'lww', tags: 'list' } } });
    const notes = s.collection('notes');
    const id = notes.insert({ body: 'x', title: 't' });
    expect(() => textBinding(notes, 'missing', 'body')).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => textBinding(notes, id, 'title')).toThrow(expect.objectContaining({ code: 'wrong_kind' }));
    expect(() => textBinding(notes, id, 'title')).toThrow(mycelium.MyceliumError);
    expect(() => textBinding(notes, id, 'tags')).toThrow(expect.objectContaining({ code: 'wrong_kind' }));
    expect(() => textBinding(notes, id, 'nope')).toThrow(expect.objectContaining({ code: 'unknown_field' }));
    expect(() => textBinding(notes, '', 'body')).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    s.close();
  });
});
