// sync.presence as the core bundle holds it (docs/presence.md): this
// replica's state, kept and checked here from the first call, handed to the
// sync engine's room (presence.ts) once the engine has loaded.
import { MyceliumError } from '../errors.js';
import type { PresenceChange, PresencePeer, PresenceRoom } from './presence.js';
import type { JsonValue } from './presence-state.js';
import { NO_PEERS, presenceState } from './presence-state.js';

/** Who else is here, and this replica's own small JSON state (Yjs calls it awareness). */
export class Presence {
  #own: JsonValue | null = null;
  #room: PresenceRoom | null = null;
  #closed = false;
  readonly #listeners = new Set<(c: PresenceChange) => void>();
  readonly #offs = new Map<(c: PresenceChange) => void, () => void>();

  /** @internal Made by a store's first connect(). */
  constructor(
    /** This replica's id in presence: random for each open store, the same across its syncs. */
    readonly id: string,
  ) {
    this.set = this.set.bind(this);
    this.update = this.update.bind(this);
    this.get = this.get.bind(this);
    this.peers = this.peers.bind(this);
    this.subscribe = this.subscribe.bind(this);
  }

  /**
   * Sets this replica's state (any JSON value, at most 8,192 characters of
   * JSON): peers see it at once, and keep seeing it while this replica is
   * connected and renews it. null clears it: peers see this replica leave.
   */
  set(state: JsonValue | null): void {
    if (this.#closed) throw new MyceliumError('closed', 'every sync of this store is closed: presence went with the last');
    this.#own = state === null ? null : presenceState(state).state;
    this.#room?.set(this.#own);
  }

  /** Merges `fields` into this replica's state (an object): `update({ cursor })` keeps the name and colour. */
  update(fields: { readonly [key: string]: JsonValue }): void {
    const own = this.#own;
    const base = own !== null && typeof own === 'object' && !Array.isArray(own) ? own : {};
    this.set({ ...base, ...fields });
  }

  /** This replica's state, frozen, as peers see it (null: none). */
  get(): JsonValue | null {
    return this.#own;
  }

  /** Everyone else here, sorted by id: the same frozen array until someone joins, changes or leaves. */
  peers(): readonly PresencePeer[] {
    return this.#room ? this.#room.peers() : NO_PEERS;
  }

  /** Calls `listener` with who joined, changed and left; returns the unsubscribe. */
  subscribe(listener: (change: PresenceChange) => void): () => void {
    this.#listeners.add(listener);
    if (this.#room) this.#offs.set(listener, this.#room.subscribe(listener));
    return () => {
      this.#listeners.delete(listener);
      this.#offs.get(listener)?.();
      this.#offs.delete(listener);
    };
  }

  /** @internal The engine loaded (each sync of the store attaches the same room): the room takes over. */
  attach(room: PresenceRoom): void {
    if (this.#closed || this.#room === room) return;
    for (const off of this.#offs.values()) off();
    this.#offs.clear();
    this.#room = room;
    for (const l of this.#listeners) this.#offs.set(l, room.subscribe(l));
    if (this.#own !== null) room.set(this.#own);
  }

  /** @internal The store's last sync closed. */
  close(): void {
    this.#closed = true;
    this.#room = null;
    this.#offs.clear();
  }
}
