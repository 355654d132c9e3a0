// mycelium-sync/codemirror: a CodeMirror 6 editor bound to one text field of
// one record (docs/sequences.md, "Editor binding"). A separate entry: the
// core bundle does not include it, and CodeMirror stays the app's own
// dependency (a peer dependency of the package).
//
// Local edits: every transaction that changes the document becomes one
// update() of the record, its changes as deletes and inserts at UTF-16
// offsets (what CodeMirror counts, and what the text field counts). Remote
// edits: the collection's subscription hands over splices, which become one
// transaction annotated as remote and kept out of the undo history; the
// editor maps the local selection through them. If the view and the field
// ever disagree after a batch of changes (another writer on this replica),
// the difference is applied as one replacement, so they cannot drift.
import { Annotation, ChangeSet, Transaction } from '@codemirror/state';
import type { Extension } from '@codemirror/state';
import type { EditorView, PluginValue, ViewUpdate } from '@codemirror/view';
import { ViewPlugin } from '@codemirror/view';
import type { Change, Splice } from './changes.js';
import type { Collection } from './collection.js';
import { MyceliumError } from './errors.js';
import type { Fields } from './schema.js';

/** What the binding needs of a collection (a mycelium-sync Collection is one). */
export interface TextSource {
  readonly name: string;
  get(id: string): Readonly<Record<string, unknown>> | undefined;
  update(id: string, fn: (record: { insert(field: string, index: number, text: string): unknown; delete(field: string, index: number, count: number): unknown }) => void): void;
  subscribe(listener: (changes: Change[]) => void): () => void;
  cursor(id: string, field: string, index: number): unknown;
}

/** Marks the transactions the binding dispatches (the store's edits). */
const fromStore = Annotation.define<boolean>();

/** The text field's value, or a typed error when the record or field is not a text. */
function textOf(source: TextSource, id: string, field: string): string | null {
  const record = source.get(id);
  if (record === undefined) return null;
  const value = record[field];
  if (typeof value !== 'string') {
    throw new MyceliumError('wrong_kind', `'${source.name}.${field}' is not a text field (a list binds to no editor)`);
  }
  return value;
}

/** The splices as one change set against a document of `length` code units (each against the one before). */
export function splicesToChanges(splices: readonly Splice[], length: number): ChangeSet {
  let set = ChangeSet.empty(length);
  for (const s of splices) {
    const inserted = typeof s.inserted === 'string' ? s.inserted : '';
    const step = ChangeSet.of({ from: s.index, to: s.index + s.deleted, insert: inserted }, set.newLength);
    set = set.compose(step);
  }
  return set;
}

/** The smallest single replacement turning `from` into `to` (common prefix and suffix kept). */
function difference(from: string, to: string): { from: number; to: number; insert: string } {
  let start = 0;
  const max = Math.min(from.length, to.length);
  while (start < max && from.charCodeAt(start) === to.charCodeAt(start)) start++;
  // Never split a surrogate pair.
  if (start > 0 && (from.charCodeAt(start - 1) & 0xfc00) === 0xd800) start--;
  let end = 0;
  while (end < max - start && from.charCodeAt(from.length - 1 - end) === to.charCodeAt(to.length - 1 - end)) end++;
  if (end > 0 && (from.charCodeAt(from.length - end) & 0xfc00) === 0xdc00) end--;
  return { from: start, to: from.length - end, insert: to.slice(start, to.length - end) };
}

class TextBinding implements PluginValue {
  readonly #unsubscribe: () => void;
  #gone = false;

  constructor(
    private readonly view: EditorView,
    private readonly source: TextSource,
    private readonly id: string,
    private readonly field: string,
  ) {
    this.#unsubscribe = source.subscribe((changes) => this.#received(changes));
    // Start from the field, whatever the editor was created with.
    const text = textOf(source, id, field);
    if (text !== null) this.#reconcile(text);
  }

  update(u: ViewUpdate): void {
    if (this.#gone || !u.docChanged) return;
    for (const tr of u.transactions) {
      if (!tr.docChanged || tr.annotation(fromStore)) continue;
      this.#write(tr.changes);
    }
  }

  destroy(): void {
    this.#unsubscribe();
  }

  /** One local transaction as one update() of the record. */
  #write(changes: ChangeSet): void {
    const edits: { at: number; deleted: number; inserted: string }[] = [];
    let shift = 0;
    changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
      const text = inserted.toString();
      edits.push({ at: fromA + shift, deleted: toA - fromA, inserted: text });
      shift += text.length - (toA - fromA);
    });
    if (edits.length === 0) return;
    try {
      this.source.update(this.id, (r) => {
        for (const e of edits) {
          if (e.deleted > 0) r.delete(this.field, e.at, e.deleted);
          if (e.inserted.length > 0) r.insert(this.field, e.at, e.inserted);
        }
      });
    } catch (e) {
      if (e instanceof MyceliumError && e.code === 'not_found') {
        // The record was deleted (here or by a peer): the editor stops writing.
        this.#gone = true;
        return;
      }
      // Anything else means the view and the field disagree: the editor
      // takes the field's text, and the error surfaces asynchronously.
      queueMicrotask(() => {
        const text = textOf(this.source, this.id, this.field);
        if (text !== null) this.#reconcile(text);
        throw e;
      });
    }
  }

  #received(changes: Change[]): void {
    let remote: Splice[] = [];
    let touched = false;
    for (const c of changes) {
      if (c.id !== this.id) continue;
      touched = true;
      if (c.deleted) {
        this.#gone = true;
        return;
      }
      // Local changes are the editor's own (or another writer's, caught below).
      if (c.origin === 'remote' && c.splices?.[this.field]) remote = remote.concat(c.splices[this.field]!);
    }
    if (!touched) return;
    const doc = this.view.state.doc;
    if (remote.length > 0) {
      const set = splicesToChanges(remote, doc.length);
      this.view.dispatch({
        changes: set,
        annotations: [fromStore.of(true), Transaction.remote.of(true), Transaction.addToHistory.of(false)],
      });
    }
    const text = textOf(this.source, this.id, this.field);
    if (text === null) {
      this.#gone = true;
      return;
    }
    this.#gone = false;
    this.#reconcile(text);
  }

  /** Makes the editor show `text` with one replacement, if it does not already. */
  #reconcile(text: string): void {
    const doc = this.view.state.doc.toString();
    if (doc === text) return;
    this.view.dispatch({
      changes: difference(doc, text),
      annotations: [fromStore.of(true), Transaction.remote.of(true), Transaction.addToHistory.of(false)],
    });
  }
}

/**
 * A CodeMirror extension binding the editor to the text field `field` of
 * record `id` in `collection`: local edits are written to the store as they
 * are typed, remote edits appear in the editor as they are joined, and the
 * local selection follows them. Create the editor with the field's text as
 * its document (the binding makes it so either way).
 */
export function textBinding<F extends Fields>(collection: Collection<F>, id: string, field: string): Extension {
  const source = collection as unknown as TextSource;
  // The collection's own checks: a record id, a known field of a list or
  // text kind, a visible record (typed errors from the core).
  source.cursor(id, field, 0);
  const text = textOf(source, id, field);
  if (text === null) throw new MyceliumError('not_found', `no record '${id}' in '${collection.name}'`);
  return ViewPlugin.define((view) => new TextBinding(view, source, id, field));
}

