// Stable positions in lists and texts (docs/sequences.md, "Cursors"). A
// cursor names the element after a position (or, with assoc -1, the one
// before it) by the element's id, which is the same on every replica; it
// resolves to where that element is now, and a deleted element's cursor to
// where the element was. As a string it is opaque, JSON-safe and durable:
// store it, send it to a peer, resolve it there.
import { MyceliumError } from './errors.js';
import { actorHex, parseActor } from './version.js';

/** A stable position in a list or text field (opaque; a string, so it can be stored and sent). */
export type Cursor = string & { readonly __myceliumCursor: true };

/**
 * Which side a cursor sticks to (as in CodeMirror and Yjs): 1 (the default)
 * to the element after the position, so text typed at the position lands
 * before the cursor; -1 to the element before it.
 */
export type Assoc = 1 | -1;

/** An element's id: its insert dot. */
export interface ElementId {
  readonly actor: string;
  readonly seq: number;
}

/** @internal What a cursor holds. */
export interface CursorParts {
  readonly collection: string;
  readonly id: string;
  readonly field: string;
  readonly assoc: Assoc;
  /** null: the end (the start with assoc -1). */
  readonly element: ElementId | null;
}

const TAG = 'myc-cursor-1';

/** @internal */
export function makeCursor(p: CursorParts): Cursor {
  const element = p.element ? [p.element.actor, p.element.seq] : [];
  return JSON.stringify([TAG, p.collection, p.id, p.field, p.assoc, ...element]) as Cursor;
}

function notACursor(why: string): MyceliumError {
  return new MyceliumError('invalid_argument', `not a cursor: ${why}`);
}

/** @internal Reads a cursor; invalid_argument for anything makeCursor() did not make. */
export function parseCursor(cursor: unknown): CursorParts {
  if (typeof cursor !== 'string') throw notACursor(`a ${typeof cursor}`);
  let parts: unknown;
  try {
    parts = JSON.parse(cursor);
  } catch {
    throw notACursor('not one this SDK made');
  }
  if (!Array.isArray(parts) || parts[0] !== TAG || (parts.length !== 5 && parts.length !== 7)) {
    throw notACursor('not one this SDK made');
  }
  const [, collection, id, field, assoc, actor, seq] = parts as unknown[];
  if (typeof collection !== 'string' || typeof id !== 'string' || id === '' || typeof field !== 'string') {
    throw notACursor('no record or field');
  }
  if (assoc !== 1 && assoc !== -1) throw notACursor('assoc is 1 or -1');
  if (parts.length === 5) return { collection, id, field, assoc, element: null };
  if (typeof actor !== 'string' || typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1 || seq > 0xffffffff) {
    throw notACursor('no element');
  }
  const { hi, lo } = parseActor(actor);
  return { collection, id, field, assoc, element: { actor: actorHex(hi, lo), seq } };
}
