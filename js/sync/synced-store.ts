// What the sync layer needs of a store, owned here so that js/sync/ depends
// on no store module (store.ts implements it; nothing here imports store.ts).
import type { SyncFrames } from '../core-io.js';
import type { Schema } from '../schema.js';
import type { Version } from '../version.js';
import type { Provenance } from '../access/provenance.js';
import type { Role } from '../access/membership.js';
import type { CreditRequest } from './wire.js';

/** How a store took a delta a peer sent: 'full' when its queue of held deltas had no room (nothing was kept). */
export type SyncApplyResult = 'applied' | 'pending' | 'covered' | 'full';

export interface SyncedStore {
  readonly name: string;
  readonly actor: string;
  readonly schema: Schema;
  readonly closed: boolean;
  /** The engine's codec of sync frames, for the connections this store's sync opens. */
  readonly frames: SyncFrames;
  /** A protected store's access (open({ access })), else null: its sessions authenticate first. */
  readonly access: SyncAccess | null;
  /** Deltas held until the ones they depend on arrive. */
  readonly pending: number;
  version(): Version;
  /** What sync may send of this replica's own writes (persisted stores: only what is durable); null when not persisted. */
  durableVersion(): Version | null;
  /** A delta without its context, for a message that carries the version beside it (cpp/delta.h, detached). */
  detachedDeltaSince(since: Version): Uint8Array;
  applyDetached(bytes: Uint8Array, context: Version, options: { readonly maxNewActors?: number }): SyncApplyResult;
  /** Calls `listener` after every change of state and every commit to storage. */
  watch(listener: () => void): () => void;
  /** Gives credit rights a peer asked for, by this replica's policy (docs/credit.md); `peer` is a protected store's authenticated principal. Returns how many it gave. */
  grantCredit(request: CreditRequest, peer: string | null): number;
  /** Calls `listener` with each request this replica makes for credit rights; the listener returns how many peers it asked. */
  onCreditNeeded(listener: (request: CreditRequest) => number): () => void;
}

/** A protected store's access (js/access/access.ts; docs/identity.md): what sync needs of it. */
export interface SyncAccess {
  /** This replica's principal. */
  readonly principal: string;
  role(principal: string): Role;
  /** Our proof for a session: a signature over the store id, the peer's nonce, ours and our principal. */
  prove(peerNonce: Uint8Array, ourNonce: Uint8Array): Promise<Uint8Array>;
  /** Does a peer's proof verify (it signed our nonce and its own)? */
  checkProof(principal: string, signature: Uint8Array, ourNonce: Uint8Array, peerNonce: Uint8Array): Promise<boolean>;
  /** Every membership operation held, deps first. */
  texts(): string[];
  /** Operations from a peer: checked, and the new valid-looking ones added; resolves with how many were refused. */
  receive(texts: readonly string[]): Promise<number>;
  /** Calls `listener` with the texts of operations new to the log (made here or received). */
  watch(listener: (fresh: readonly string[]) => void): () => void;
  /** What makes this replica a member for a peer that does not know it yet (an invite and its redemption, a device operation); null once a member here. */
  introduction(): string[] | null;
  /** Is an operation about `principal` held, also one that does not count yet (a device's, before its user's grant arrived)? */
  mentions(principal: string): boolean;
  /** An encrypted store's key operations for `principal` that the whole log it sent lacks. */
  wrapsFor(principal: string, texts: readonly string[]): string[];
  /** The store's signed batches: what sync sends and checks instead of plain deltas. */
  readonly provenance: Provenance;
}
