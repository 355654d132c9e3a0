// One store synced with every peer of one network (DESIGN.md, Sync protocol).
//
// Per peer (a Session) it keeps three versions:
//   acked     what the peer has told us it has (hello, acks, the versions on its deltas);
//   sent      what the peer will have once what we sent arrives (each delta's base was
//             covered by acked + sent, so the peer can join it at once);
//   sentHeld  what it will have once it also gets other replicas' changes we did not
//             relay (see below).
// A live delta is deltaSince(acked ⊔ sent ⊔ sentHeld): nothing the peer has, or will
// have from us, is sent again. The peer joins it at once, or holds it as pending
// while a gap fills (causal delivery), and acks with its version.
//
// Mesh: what to do with changes that came from another peer? Every replica sends its
// own changes to every peer at once, and changes it learned from others only after
// `relayDelay` (jittered), and only what the peer still has not acknowledged by then.
// Acks go to every peer, so in a full mesh a peer has acked the author's changes
// long before the relay timer fires and nothing travels twice; in a star (a server
// peer between browsers) the relay fires, and the session relays at once from then
// on. Deltas already covered by the receiver's version are dropped without being
// joined: the causal context (the version on every delta) decides, exactly — a Bloom
// filter would be smaller on the wire but probabilistic, and versions stay as small as
// the number of actors.
//
// Lost messages (the fault-injection tests drop, duplicate and reorder them): a peer
// whose acks stop short of what we sent for `ackTimeout` (or longer, for a peer whose
// acks are measured to take longer) is sent everything since its last ack again, waiting twice as long before each further resend; one that has not
// acknowledged anything after `maxResends` resends is dropped (its connection closed,
// status 'failed', error 'timeout'). Hellos are repeated the same way, from
// `helloInterval` doubling up to a minute, until the peer answers. Duplicates are
// dropped as covered.
//
// Hostile peers: a session holds the peer's version capped at MAX_VERSION_ENTRIES
// actors; the peer's deltas may add at most `maxNewActorsPerDelta` actors each and
// `maxNewActorsPerPeer` in all (limit_exceeded: the session ends, the store is
// unchanged); a link that carries an authorization (the Node peer's authorize hook)
// is asked before the peer is sent anything ('read') and before its deltas are
// joined ('write'); a refusal ends the session with 'forbidden'.
import { MyceliumError } from '../errors.js';
import { SchemaInfo, schemaConflict } from '../schema.js';
import type { Version } from '../version.js';
import { covers, isEmpty, join, MAX_VERSION_ENTRIES, newer, size, without } from '../version.js';
import type { Connection } from './connection.js';
import { InChain, OutChain } from './chain.js';
import type { VersionDiff } from './chain.js';
import type { CreditRequest, Message, PresenceEntry } from './wire.js';
import { PROTOCOL_VERSION } from './protocol-version.js';
import type { SyncedStore } from './synced-store.js';
import { MessageType, NONCE_BYTES } from './wire.js';
import type { PresenceLinks, PresenceOptions, PresenceRoom } from './presence.js';

export interface SyncOptions {
  /** Wait this long (ms, jittered up to 2×) before relaying other replicas' changes to a peer that has not acknowledged them. Default 40. */
  readonly relayDelay?: number;
  /** Resend everything since a peer's last ack when its acks stop short of what was sent for this long (ms), or for the measured round trip (srtt + 4 rttvar) when that is longer. Default 10000. */
  readonly ackTimeout?: number;
  /** While changes keep coming, send at most one delta per peer this often (ms). Default 10; 0 sends at the end of every task. */
  readonly batchInterval?: number;
  /** Resend hello this often (ms) until the peer answers. Default 2000. */
  readonly helloInterval?: number;
  /** Largest message accepted from a peer, in bytes after reassembly. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /** Resends to a peer that acknowledges nothing before it is dropped. Default 5. */
  readonly maxResends?: number;
  /** Actors one delta from a peer may add to the store. Default 1,024. */
  readonly maxNewActorsPerDelta?: number;
  /** Actors one peer's deltas may add to the store while connected. Default 4,096. */
  readonly maxNewActorsPerPeer?: number;
  /** Presence (sync.presence, docs/presence.md): its timeout, and whether this replica relays it. */
  readonly presence?: PresenceOptions;
  /**
   * A relay node's (docs/relay.md, Durability): tell peers only versions
   * storage holds, and hold what peers send while a write to storage is in
   * flight (then join it all at once: a group commit). Default false.
   */
  readonly durableFirst?: boolean;
}

/** What a durable-first sync holds while a write is in flight, at most (more is dropped: its sender resends it). */
const MAX_WAITING_BYTES = 64 * 1024 * 1024;

/** A version as a map key: its entries in actor order. */
function versionKey(v: Version): string {
  return Object.keys(v)
    .sort()
    .map((a) => `${a}:${v[a]}`)
    .join(',');
}

/** How many hello intervals a verified peer we do not know of gets to turn out a member (1 + 2 + 4 + 8: four repeats). */
const UNKNOWN_PEER_HELLOS = 15;
/** The longest wait between two hellos to a peer that does not answer. */
const MAX_HELLO_INTERVAL = 60_000;
/** How long a session relays at once after its relay timer found the peer lacking others' changes. */
const EAGER_RELAY_MS = 10_000;
/** The longest a measured round trip stretches the wait before a resend (a minute, as for hellos). */
const MAX_RTO_MS = 60_000;

/** connecting: hello sent, no answer yet. syncing: bytes on their way. synced: both sides have the same version. paused: sync.pause(). failed: see error. */
export type PeerState = 'connecting' | 'syncing' | 'synced' | 'paused' | 'failed';

export interface PeerStatus {
  /** The peer's id on the network. */
  readonly peer: string;
  readonly state: PeerState;
  /** Bytes of this store's messages still waiting to go to the peer. */
  readonly sendingBytes: number;
  /** A large message from the peer on its way: bytes received so far, and about how many it has. */
  readonly receivingBytes: number;
  readonly receivingTotal: number;
  /** The peer has changes this replica lacks (as far as its acknowledgements tell): it holds what is missing. */
  readonly ahead: boolean;
  /** The peer lacks changes this replica has. */
  readonly behind: boolean;
  /** The peer said (in its last ack) that it holds deltas it cannot join yet. */
  readonly holding: boolean;
  /** Why the session failed. */
  readonly error?: MyceliumError;
}

export interface SyncStatus {
  readonly store: string;
  readonly peers: readonly PeerStatus[];
  /** At least one peer is connected and not failed, and every such peer is synced. */
  readonly synced: boolean;
  /** Deltas this replica holds because what they depend on has not arrived (store.pending). */
  readonly pending: number;
  /** Deltas have been held for longer than 2 s while a peer is connected: see `peers[].ahead` for who has what is missing. */
  readonly stalled: boolean;
  /** sync.pause() is in force. */
  readonly paused: boolean;
}

type VersionedMessage = Extract<Message, { type: MessageType.Hello | MessageType.Delta }>;
/** Messages (and bytes) held after a gap in a peer's numbering before asking it to start again. */
const MAX_EARLY_MESSAGES = 64;
const MAX_EARLY_BYTES = 16 << 20;
/** What a peer that has not proved who it is may have held here (a stranger's flood costs no more). */
const MAX_UNAUTHENTICATED_BYTES = 4 << 20;
/** How long at least a message after a gap waits for the one before it (then the peer restarts the chain, which is cheaper than waiting out its ack timer). */
const GAP_WAIT_MS = 10;

/** Credit requests from one peer answered per second (docs/credit.md): more are ignored. */
const MAX_CREDIT_ASKS = 32;

/** How long held deltas may wait, with a peer connected, before the status says `stalled`. */
const STALL_MS = 2000;

/** An error in the sync with one peer: that peer's session for this store has ended; the store is unchanged. */
export interface SyncErrorEvent {
  readonly peer: string;
  readonly store: string;
  readonly error: MyceliumError;
  /** True when the peer reported the error (it could not accept what we sent). */
  readonly remote: boolean;
}

/** Counters since connect(). */
export interface SyncStats {
  bytesSent: number;
  bytesReceived: number;
  deltasSent: number;
  deltaBytesSent: number;
  deltasJoined: number;
  deltaBytesJoined: number;
  /** Deltas dropped without joining because this replica already had them. */
  deltasDropped: number;
  acksSent: number;
}

/** Did `after` come closer than `before` to covering `target`, on some actor of `target`? */
function progressed(before: Version, after: Version, target: Version): boolean {
  for (const actor in target) {
    const was = before[actor] ?? 0;
    if (was < target[actor]! && (after[actor] ?? 0) > was) return true;
  }
  return false;
}

function sameNonce(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Runs `fn` at the end of this task, or at time `at` (performance.now()) if that is later. */
function later(at: number, fn: () => void): void {
  const wait = at - performance.now();
  if (wait <= 0) queueMicrotask(fn);
  else setTimeout(fn, wait);
}

/** A protected store's session before and after it is authenticated (docs/identity.md). */
class Auth {
  /** Our nonce for this session. */
  readonly nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  /** The peer's nonce (its auth-hello), and whether our proof over it went out. */
  peerNonce: Uint8Array | null = null;
  /** The peer's nonces of earlier sessions on this connection (at most 8): a late copy of their auth-hello starts nothing over. */
  pastNonces: Uint8Array[] = [];
  /** The peer's principal, once its proof verified. */
  principal: string | null = null;
  /** Authenticated, and a member: the usual hello follows. */
  done = false;
  /** Messages waiting for the ones before them (checking a signature takes a task). */
  readonly queue: { m: Message; bytes: number }[] = [];
  /** Messages that came before what they need (a proof before the peer's nonce, anything before authentication: a link that reorders), read again once it is there. */
  readonly held: { m: Message; bytes: number }[] = [];
  heldBytes = 0;
  /** Our proof for the peer's nonce, sent again when its auth-hello comes again (ours was lost). */
  proof: Uint8Array | null = null;
  busy = false;
  /** The membership changed while the queue was being worked through: ask again whether the peer is a member when it is done. */
  recheck = false;
  /** Our invite and redemption went to the peer (an invitee's first session). */
  introduced = false;
  /** Ends the session if the peer is still not a member when it fires. */
  timer: ReturnType<typeof setTimeout> | null = null;
}

class Session {
  ready = false;
  /** Set for a protected store's sessions. */
  auth: Auth | null = null;
  acked: Version = {};
  sent: Version = {};
  sentHeld: Version = {};
  /** Our versions on hellos and deltas as the peer rebuilds them, and the peer's as we do (chain.ts). */
  readonly out = new OutChain();
  readonly in = new InChain();
  /** What we have told the peer we have (any message): an ack carries only what grew since. */
  told: Version = {};
  /** An ack is due even if it says nothing new: the peer must learn that we dropped its delta. */
  fullAckDue = false;
  /** A hello held back until storage holds our version (durableFirst): whether it is a reply. */
  helloDue: boolean | null = null;
  /** We lost track of the peer's versions: our next ack asks it to send one whole. */
  restartDue = false;
  /** When we last asked (at most once per relay delay). */
  lastRestartAsk = -Infinity;
  /** Messages that came after a gap, by number, until it fills. */
  readonly inbox = new Map<number, { m: VersionedMessage; bytes: number }>();
  inboxBytes = 0;
  gapTimer: ReturnType<typeof setTimeout> | null = null;
  /** Relays to this peer go at once until this time (performance.now()): it lacked others' changes when the relay timer fired. */
  eagerUntil = 0;
  /** When a holding ack last made us relay (at most once per relay delay). */
  lastGapFill = -Infinity;
  /** The peer's last ack said it holds deltas it cannot join (a gap: something was lost or held back). */
  peerHolding = false;
  error: MyceliumError | null = null;
  /** Others' changes held back from this peer when the relay timer was armed, and since. */
  holdMark: Version | null = null;
  holdNext: Version | null = null;
  relayTimer: ReturnType<typeof setTimeout> | null = null;
  ackTimer: ReturnType<typeof setTimeout> | null = null;
  ackMark: Version = {};
  /** Resends since the peer last acknowledged something new; the next wait doubles with each. */
  resends = 0;
  /**
   * Round trips, measured from a delta to the ack that covers it (RFC 6298's
   * estimator; never from a resent delta, whose ack is ambiguous: Karn). A
   * peer slower than `ackTimeout` to answer is waited for, not resent to.
   */
  rttFor: Version | null = null;
  rttSince = 0;
  srtt = 0;
  rttvar = 0;
  helloTimer: ReturnType<typeof setTimeout> | null = null;
  helloWait = 0;
  /** Actors this peer's deltas may still add to the store. */
  actorAllowance: number;
  /** A protected store's: the peer's batches, checked and joined one message after another. */
  batches: Promise<void> = Promise.resolve();
  /** Credit requests from the peer taken in the current second, and when that second began. */
  creditAsks = 0;
  creditSince = 0;
  /** Our seq after the last grant of rights to the peer: until its acks cover it, the grant is on its way and the peer is given nothing more. */
  lastGrant = 0;

  constructor(
    readonly conn: Connection,
    actorAllowance: number,
  ) {
    this.actorAllowance = actorAllowance;
  }

  stop(): void {
    if (this.relayTimer) clearTimeout(this.relayTimer);
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.helloTimer) clearTimeout(this.helloTimer);
    if (this.gapTimer) clearTimeout(this.gapTimer);
    if (this.auth?.timer) clearTimeout(this.auth.timer);
    if (this.auth) {
      this.auth.timer = null;
      this.auth.queue.length = 0;
      this.auth.held.length = 0;
      this.auth.heldBytes = 0;
    }
    this.relayTimer = this.ackTimer = this.helloTimer = this.gapTimer = null;
    this.inbox.clear();
    this.inboxBytes = 0;
  }
}

export class StoreSync {
  private paused = false;
  /** Since when this replica has held deltas (performance.now()), or null. */
  private pendingSince: number | null = null;
  private stallTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly sessions = new Map<Connection, Session>();
  private readonly schema: SchemaInfo;
  private readonly relayDelay: number;
  private readonly ackTimeout: number;
  private readonly helloInterval: number;
  private readonly maxResends: number;
  private readonly maxNewActorsPerDelta: number;
  private readonly maxNewActorsPerPeer: number;
  private pumpScheduled = false;
  private lastPump = -Infinity;
  private readonly batchInterval: number;
  private acksScheduled = false;
  private lastAck = -Infinity;
  private readonly ackInterval: number;
  private statusScheduled = false;
  private lastStatus = '';
  private readonly statusListeners = new Set<(s: SyncStatus) => void>();
  private readonly errorListeners = new Set<(e: SyncErrorEvent) => void>();
  private readonly unwatch: () => void;
  private closed = false;
  private readonly durableFirst: boolean;
  /** Messages held while a write to storage is in flight (durableFirst), in the order they came. */
  private readonly waiting: { conn: Connection; m: Message; bytes: number }[] = [];
  private waitingBytes = 0;
  private draining = false;
  /**
   * Deltas made in this round of pumps, by base: a hub's clients mostly wait
   * at the same version, and the delta from one base is the same bytes for
   * every session (the state does not change within a round).
   */
  private round: Map<string, Uint8Array> | null = null;
  /** Who else is here (docs/presence.md): the store's room, shared by its syncs. */
  readonly presence: PresenceRoom;
  /** This sync's connections, as the room sees them. */
  private readonly presenceLinks: PresenceLinks;

  /** `stats` are the store's, counted across every connect() (the facade keeps them); `presence` is the store's room. */
  constructor(
    readonly store: SyncedStore,
    options: SyncOptions,
    readonly stats: SyncStats,
    presence: PresenceRoom,
  ) {
    this.schema = new SchemaInfo(store.schema);
    this.relayDelay = options.relayDelay ?? 40;
    this.ackTimeout = options.ackTimeout ?? 10_000;
    this.helloInterval = options.helloInterval ?? 2000;
    this.batchInterval = options.batchInterval ?? 10;
    this.maxResends = options.maxResends ?? 5;
    this.maxNewActorsPerDelta = options.maxNewActorsPerDelta ?? 1024;
    this.maxNewActorsPerPeer = options.maxNewActorsPerPeer ?? 4096;
    // Acks must reach the other peers well within their relay delay.
    this.ackInterval = Math.min(this.batchInterval, this.relayDelay / 4);
    this.durableFirst = options.durableFirst === true;
    const unwatchStore = store.watch(() => {
      this.changed();
      if (this.durableFirst) this.durableMoment();
    });
    const unwatchAccess = store.access?.watch((fresh) => this.membershipChanged(fresh));
    // Own writes travel once they are signed.
    const unwatchSealed = store.access?.provenance.onSealed(() => this.changed());
    const unwatchCredit = store.onCreditNeeded((request) => this.askCredit(request));
    this.unwatch = () => {
      unwatchStore();
      unwatchCredit();
      unwatchAccess?.();
      unwatchSealed?.();
    };
    this.presence = presence;
    this.presenceLinks = {
      ready: () => this.presenceReady(),
      send: (conn: Connection, entries: readonly PresenceEntry[]) => {
        const s = this.sessions.get(conn);
        if (s) this.send(s, { type: MessageType.Presence, store: this.name, entries });
      },
    };
    presence.addSync(this.presenceLinks);
  }

  /** The connections presence goes to: ready sessions whose peers announced it (none while paused). */
  private *presenceReady(): Iterable<Connection> {
    if (this.paused || this.closed) return;
    for (const [conn, s] of this.sessions) if (s.ready && !s.error && !conn.isClosed && conn.features.has('presence')) yield conn;
  }

  get name(): string {
    return this.store.name;
  }

  // --- connections ---------------------------------------------------------

  addPeer(conn: Connection): void {
    if (this.closed || this.sessions.has(conn)) return;
    const s = new Session(conn, this.maxNewActorsPerPeer);
    if (this.store.access) s.auth = new Auth();
    this.sessions.set(conn, s);
    this.sendHello(s, false);
    // Until the peer answers (a hello can be lost, the peer may not have the
    // store yet), ask again, each time waiting twice as long, up to a minute.
    s.helloWait = this.helloInterval;
    const again = () => {
      s.helloTimer = null;
      if (s.ready || s.error || conn.isClosed || this.closed) return;
      this.sendHello(s, false);
      s.helloWait = Math.min(s.helloWait * 2, Math.max(MAX_HELLO_INTERVAL, this.helloInterval));
      s.helloTimer = setTimeout(again, s.helloWait);
    };
    s.helloTimer = setTimeout(again, s.helloWait);
    this.scheduleStatus();
  }

  /** The peer's features arrived (after its hello, when messages were reordered): it hears our presence now. */
  featuresArrived(conn: Connection): void {
    const s = this.sessions.get(conn);
    if (s?.auth && !s.auth.done && !s.error && conn.features.has('auth')) this.sendHello(s, false);
    if (s && s.ready && !s.error && !this.paused && conn.features.has('presence')) this.presence.peerReady(conn, this.presenceLinks);
  }

  removePeer(conn: Connection): void {
    const s = this.sessions.get(conn);
    if (!s) return;
    s.stop();
    this.sessions.delete(conn);
    this.presence.peerGone(conn);
    this.scheduleStatus();
  }

  /** Sends; returns false when the link failed instead (nothing went out). */
  private send(s: Session, m: Message): boolean {
    const bytes = s.conn.send(this.name, m);
    this.stats.bytesSent += bytes;
    return bytes > 0;
  }

  /** Sends a message carrying our version `mine` (whole when `whole`); returns false when the link refused it. */
  private sendVersioned(s: Session, mine: Version, make: (v: VersionDiff) => Message, whole = false): boolean {
    const v = s.out.diff(mine, whole);
    if (!this.send(s, make(v))) return false;
    s.out.sent(mine, v);
    s.told = join(s.told, mine);
    return true;
  }

  private sendHello(s: Session, reply: boolean): void {
    if (this.store.closed || this.paused) return;
    if (this.dirty()) {
      // Sent when storage holds our version (durableMoment).
      s.helloDue = (s.helloDue ?? false) || reply;
      return;
    }
    // The features go before every hello, so a lost one is sent again with the hello that is.
    s.conn.sendFeatures();
    // A protected store says nothing of itself before the peer is authenticated:
    // its auth-hello instead (once the peer said it understands it).
    if (s.auth && !s.auth.done) {
      if (s.conn.features.has('auth')) this.send(s, { type: MessageType.AuthHello, store: this.name, nonce: s.auth.nonce });
      return;
    }
    // A peer that has not answered may not have our log (it was lost), and
    // may not know us without it (nor without our introduction: a certified
    // device that has not seen its user's grant holds its device operation aside).
    if (s.auth && !s.ready) this.sendMembers(s, this.store.access!.texts());
    const mine = this.have();
    this.sendVersioned(s, mine, (version) => ({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, reply, store: this.name, schema: this.schema.collections, version }), true);
  }

  // --- messages ------------------------------------------------------------

  message(conn: Connection, m: Message, bytes: number): void {
    const s = this.sessions.get(conn);
    if (!s || s.error || this.store.closed || this.paused) return;
    if (this.durableFirst && !this.draining && (this.waiting.length > 0 || this.dirty())) {
      // A write to storage is in flight: this waits for it, unread, then
      // joins with everything else that came meanwhile.
      if (this.waitingBytes + bytes > MAX_WAITING_BYTES) return; // its sender resends what we never acknowledge
      this.waiting.push({ conn, m, bytes });
      this.waitingBytes += bytes;
      return;
    }
    this.stats.bytesReceived += bytes;
    if (m.type === MessageType.Error) {
      this.fail(s, new MyceliumError(m.code, `peer ${conn.peer} ended the sync of '${this.name}': ${m.message}`), true);
      return;
    }
    if (s.auth && m.type === MessageType.AuthHello && s.auth.pastNonces.some((n) => sameNonce(n, m.nonce))) return; // a late copy from an earlier session
    if (s.auth && m.type === MessageType.AuthHello && s.auth.principal !== null && s.auth.peerNonce && !sameNonce(s.auth.peerNonce, m.nonce)) {
      // A peer we had verified starts over with a fresh nonce (it resumed
      // after pause(), or its side of the session ended): so does this side,
      // with a fresh nonce of its own, or the peer would wait for our
      // auth-hello forever. The old session's pending work stops here.
      s.stop();
      s.error = new MyceliumError('unauthorized', `the session with peer ${conn.peer} for '${this.name}' started over`);
      this.sessions.delete(conn);
      this.presence.peerGone(conn);
      this.addPeer(conn);
      const fresh = this.sessions.get(conn);
      if (fresh?.auth) fresh.auth.pastNonces = [...s.auth.pastNonces, s.auth.peerNonce].slice(-8);
      this.stats.bytesReceived -= bytes; // counted once, by the new session
      this.message(conn, m, bytes);
      return;
    }
    if (s.auth && (!s.auth.done || s.auth.busy || m.type === MessageType.AuthHello || m.type === MessageType.AuthProof || m.type === MessageType.Members)) {
      if (s.auth.queue.length + s.auth.held.length >= MAX_EARLY_MESSAGES) {
        this.refuse(s, new MyceliumError('limit_exceeded', `peer ${conn.peer} sent more than ${MAX_EARLY_MESSAGES} messages for '${this.name}' before they could be checked`));
        return;
      }
      s.auth.queue.push({ m, bytes });
      if (!s.auth.busy) void this.authenticate(s);
      return;
    }
    this.handle(s, m, bytes);
  }

  // --- credit (docs/credit.md) ---------------------------------------------

  /** Sends a request for credit rights to every ready peer that takes them; how many were asked. */
  private askCredit(request: CreditRequest): number {
    let asked = 0;
    for (const [conn, s] of this.sessions) {
      if (!s.ready || s.error || conn.isClosed || this.paused || !conn.features.has('credit')) continue;
      this.send(s, { type: MessageType.CreditRequest, store: this.name, request });
      asked++;
    }
    return asked;
  }

  /** A peer asks for rights: at most MAX_CREDIT_ASKS a second per peer are answered; a grant is an ordinary write that syncs. */
  private grantCredit(s: Session, request: CreditRequest): void {
    const now = performance.now();
    if (now - s.creditSince >= 1000) {
      s.creditSince = now;
      s.creditAsks = 0;
    }
    if (++s.creditAsks > MAX_CREDIT_ASKS) return;
    // One grant on its way per peer: a peer that asks again before our last
    // grant reached it would be given twice what it lacks.
    const self = this.store.actor;
    if ((s.acked[self] ?? 0) < s.lastGrant) return;
    if (this.store.grantCredit(request, s.auth?.principal ?? null) > 0) s.lastGrant = this.store.version()[self] ?? 0;
  }

  // --- protected stores (docs/identity.md, Authenticated sessions) ---------

  /** Works through the session's queue in order: auth messages (which wait on WebCrypto), then, once authenticated, the rest. */
  private async authenticate(s: Session): Promise<void> {
    const auth = s.auth!;
    const access = this.store.access!;
    auth.busy = true;
    try {
      for (let next = auth.queue.shift(); next && !s.error && !this.closed && !this.store.closed; next = auth.queue.shift()) {
        const { m, bytes } = next;
        switch (m.type) {
          case MessageType.AuthHello: {
            if (auth.peerNonce && sameNonce(auth.peerNonce, m.nonce)) {
              // A repeat: our proof may have been lost.
              if (auth.proof) this.send(s, { type: MessageType.AuthProof, store: this.name, principal: access.principal, signature: auth.proof });
              break;
            }
            auth.peerNonce = m.nonce;
            auth.proof = null;
            const signature = await access.prove(m.nonce, auth.nonce);
            if (s.error) break;
            auth.proof = signature;
            this.send(s, { type: MessageType.AuthProof, store: this.name, principal: access.principal, signature });
            this.readHeld(s); // a proof that came before this nonce
            break;
          }
          case MessageType.AuthProof: {
            if (auth.principal !== null) break; // verified already
            if (!auth.peerNonce) {
              if (this.hold(s, m, bytes)) break;
              return;
            }
            if (!(await access.checkProof(m.principal, m.signature, auth.nonce, auth.peerNonce))) {
              this.refuse(s, new MyceliumError('unauthorized', `peer ${s.conn.peer} did not prove who it is for '${this.name}'`));
              return;
            }
            auth.principal = m.principal;
            this.readHeld(s);
            this.admit(s, false);
            break;
          }
          case MessageType.Members: {
            // Only a member that verified us sends its log, after its proof: a
            // peer we do not know of yet may be one we learn of here. A log is
            // not read (its signatures not checked) before the peer proved who it is.
            if (auth.principal === null) {
              if (this.hold(s, m, bytes)) break;
              return;
            }
            if (m.ops.length > 0) await access.receive(m.ops);
            // An encrypted store's: wraps for the peer that its whole log lacks (a lost message) go back to it.
            const lacked = auth.done ? access.wrapsFor(auth.principal, m.ops) : [];
            if (lacked.length > 0) this.send(s, { type: MessageType.Members, store: this.name, ops: lacked });
            // A peer its log does not make a member is refused at once,
            // unless we hold an operation about it that may count once our
            // own log grows (a device's, whose user's grant has not reached
            // us yet): that one gets the time admit() gives.
            if (!auth.done && auth.principal !== null) this.admit(s, !access.mentions(auth.principal));
            break;
          }
          default:
            if (auth.done) this.handle(s, m, bytes);
            else if (!this.hold(s, m, bytes)) return;
        }
      }
    } catch (e) {
      this.refuse(s, e instanceof MyceliumError ? e : new MyceliumError('unauthorized', `authenticating peer ${s.conn.peer} failed: ${String(e)}`));
    } finally {
      auth.busy = false;
    }
    if (auth.recheck) {
      auth.recheck = false;
      if (!auth.done && auth.principal !== null && !s.error && !this.closed && !this.store.closed) this.admit(s, false);
    }
  }

  /** Keeps a message that came before what it needs (bounded); false when the session ended instead. */
  private hold(s: Session, m: Message, bytes: number): boolean {
    const auth = s.auth!;
    if (auth.held.length + auth.queue.length >= MAX_EARLY_MESSAGES || auth.heldBytes + bytes > MAX_UNAUTHENTICATED_BYTES) {
      this.refuse(s, new MyceliumError('limit_exceeded', `peer ${s.conn.peer} sent more than ${MAX_EARLY_MESSAGES} messages or ${MAX_UNAUTHENTICATED_BYTES} bytes for '${this.name}' before it was authenticated`));
      return false;
    }
    auth.held.push({ m, bytes });
    auth.heldBytes += bytes;
    return true;
  }

  /** What was held goes back to the front of the queue, in the order it came. */
  private readHeld(s: Session): void {
    const auth = s.auth!;
    if (auth.held.length === 0) return;
    auth.queue.unshift(...auth.held.splice(0));
    auth.heldBytes = 0;
    if (!auth.busy) void this.authenticate(s);
  }

  /**
   * The peer proved its principal: a member goes on (our log, then our hello);
   * one we do not know of gets until its log arrives (`final`), or fifteen
   * hello intervals (its first four repeats of hello and log, each waiting
   * twice as long: a lost log is sent again), to turn out a member; then
   * `unauthorized`.
   */
  private admit(s: Session, final: boolean): void {
    const auth = s.auth!;
    const access = this.store.access!;
    if (access.role(auth.principal!) !== 'none') {
      auth.done = true;
      if (auth.timer) clearTimeout(auth.timer);
      auth.timer = null;
      // Our log goes with the hello (sendHello), until the peer answers.
      this.sendHello(s, false);
      this.readHeld(s); // its hello (or more) may have come first
      return;
    }
    const refuse = () => this.refuse(s, new MyceliumError('unauthorized', `peer ${s.conn.peer} (${auth.principal}) is not a member of '${this.name}'`));
    // An invitee that does not know the peer yet: its redemption is what the peer needs to know it.
    const intro = access.introduction();
    if (intro && !auth.introduced) {
      auth.introduced = true;
      this.send(s, { type: MessageType.Members, store: this.name, ops: intro });
    }
    if (final) refuse();
    else if (!auth.timer) {
      // Time for its log to come, also when a first copy was lost (members
      // send it again with each hello they repeat).
      auth.timer = setTimeout(() => {
        auth.timer = null;
        if (!auth.done && !s.error && !this.closed) refuse();
      }, this.helloInterval * UNKNOWN_PEER_HELLOS);
    }
  }

  /** The membership log grew: members hear of it, removed peers' sessions end. */
  private membershipChanged(fresh: readonly string[]): void {
    const access = this.store.access!;
    for (const s of this.sessions.values()) {
      const auth = s.auth;
      if (!auth || s.error || s.conn.isClosed || auth.principal === null) continue;
      if (!auth.done) {
        if (auth.busy) auth.recheck = true;
        else this.admit(s, false);
        continue;
      }
      if (access.role(auth.principal) === 'none') {
        this.refuse(s, new MyceliumError('unauthorized', `peer ${s.conn.peer} (${auth.principal}) is no longer a member of '${this.name}'`));
        continue;
      }
      // A peer that has not answered our hello may not have verified us yet:
      // what it reads from us then decides whether we are a member, so it
      // gets the whole log (a part of it would read as "not a member").
      this.sendMembers(s, s.ready ? fresh : access.texts());
    }
  }

  /**
   * Membership operations for a peer, with our introduction while we are
   * not a member by our own log (a peer that reads a log from us that does
   * not make us a member refuses us: a device must say whose it is in every one).
   */
  private sendMembers(s: Session, ops: readonly string[]): void {
    const intro = this.store.access!.introduction();
    this.send(s, { type: MessageType.Members, store: this.name, ops: intro ? [...new Set([...ops, ...intro])] : [...ops] });
  }

  /** A message of a session that is authenticated (or needs not be). */
  private handle(s: Session, m: Message, bytes: number): void {
    const conn = s.conn;
    if (m.type === MessageType.Error) return; // message() took it
    if (m.type === MessageType.AuthHello || m.type === MessageType.AuthProof || m.type === MessageType.Members) {
      this.refuse(s, new MyceliumError('unauthorized', `peer ${conn.peer} authenticates for '${this.name}', which is not a protected store here`));
      return;
    }
    if (m.type === MessageType.Ack) {
      if (s.ready) this.ack(s, m);
      return;
    }
    if (m.type === MessageType.Presence) {
      if (!s.ready) return;
      // A peer sends presence only to a replica that takes it, so it takes it
      // too (its features message may have been lost): answer in kind.
      if (!conn.features.has('presence')) {
        conn.features = new Set([...conn.features, 'presence']);
        this.presence.peerReady(conn, this.presenceLinks);
      }
      this.presence.receive(conn, m.entries, conn.features.has('presence-relay'));
      return;
    }
    if (m.type === MessageType.CreditRequest) {
      if (s.ready) this.grantCredit(s, m.request);
      return;
    }
    if (m.type === MessageType.Features) return; // the network's (network.ts)
    // The peer's messages are read in the order it numbered them (chain.ts).
    const place = s.in.place(m.version, m.type === MessageType.Hello);
    if (place === 'late') {
      if (m.type === MessageType.Delta) this.stats.deltasDropped++;
      return;
    }
    if (place === 'early') {
      this.holdEarly(s, m, bytes);
      return;
    }
    // A hello starts the peer's chain again; a whole version passes what came before it.
    if (m.type === MessageType.Hello) this.dropEarly(s, Infinity);
    else if (m.version.absolute) this.dropEarly(s, m.version.chain);
    this.read(s, m);
    for (let next = s.inbox.get(s.in.next); next && !s.error; next = s.inbox.get(s.in.next)) {
      s.inbox.delete(next.m.version.chain);
      s.inboxBytes -= next.bytes;
      this.read(s, next.m);
    }
    if (s.inbox.size === 0 && s.gapTimer) {
      clearTimeout(s.gapTimer);
      s.gapTimer = null;
    }
  }

  /** A message after a gap: held for a moment (the one before it may be on its way), within bounds. */
  private holdEarly(s: Session, m: VersionedMessage, bytes: number): void {
    if (s.inbox.size >= MAX_EARLY_MESSAGES || s.inboxBytes + bytes > MAX_EARLY_BYTES) {
      this.dropEarly(s, Infinity);
      this.askRestart(s);
      return;
    }
    if (!s.inbox.has(m.version.chain)) {
      s.inbox.set(m.version.chain, { m, bytes });
      s.inboxBytes += bytes;
    }
    if (s.gapTimer) return;
    s.gapTimer = setTimeout(() => {
      s.gapTimer = null;
      if (s.inbox.size === 0 || s.error || this.store.closed) return;
      // The gap did not fill: a message was lost. Start the chain again.
      this.dropEarly(s, Infinity);
      this.askRestart(s);
    }, Math.max(this.relayDelay, GAP_WAIT_MS));
  }

  /** Forgets held messages numbered below `chain`. */
  private dropEarly(s: Session, chain: number): void {
    for (const [n, e] of s.inbox) {
      if (n >= chain) continue;
      s.inbox.delete(n);
      s.inboxBytes -= e.bytes;
      if (e.m.type === MessageType.Delta) this.stats.deltasDropped++;
    }
  }

  /** Our next ack asks the peer to send its whole version (at most once per relay delay). */
  private askRestart(s: Session): void {
    const now = performance.now();
    if (now - s.lastRestartAsk < this.relayDelay) return;
    s.lastRestartAsk = now;
    s.restartDue = true;
    // With our whole version: the peer resends only what we lack.
    s.fullAckDue = true;
    this.scheduleAcks();
  }

  /** One message in the peer's order. */
  private read(s: Session, m: VersionedMessage): void {
    const version = s.in.accept(m.version);
    if (!version) {
      this.refuse(s, new MyceliumError('corrupt', `peer ${s.conn.peer} named an actor of '${this.name}' by a position it never sent`));
      return;
    }
    switch (m.type) {
      case MessageType.Hello:
        this.hello(s, m, version);
        break;
      case MessageType.Delta:
        if (s.ready) this.delta(s, m, version);
        break;
    }
  }

  /** Acks stand alone (their entries are facts about the peer), in whatever order they come. */
  private ack(s: Session, m: Message & { type: MessageType.Ack }): void {
    if (!this.acknowledged(s, m.version)) return;
    if (m.restart) {
      // It lost track of our versions, and dropped what it could not place:
      // start again from what it has acknowledged.
      s.out.restart();
      s.sent = s.acked;
      s.sentHeld = {};
      this.pump(s, true);
      s.rttFor = null;
    }
    // The peer holds deltas it cannot join yet. If what it lacks is what
    // we held back from it (others' changes), it is not hearing them from
    // their authors: relay now rather than when the timer says.
    s.peerHolding = m.holding;
    if (m.holding) this.fillGap(s);
    this.scheduleStatus();
  }

  /** The peer has (at least) `version`: raise what we know of it, within the cap. */
  private acknowledged(s: Session, version: Version): boolean {
    const next = join(s.acked, version);
    if (next !== s.acked && size(next) > MAX_VERSION_ENTRIES) {
      this.refuse(s, new MyceliumError('limit_exceeded', `peer ${s.conn.peer} claims more than ${MAX_VERSION_ENTRIES} actors for '${this.name}'`));
      return false;
    }
    if (next !== s.acked) s.resends = 0;
    s.acked = next;
    if (s.rttFor && covers(next, s.rttFor)) {
      const r = performance.now() - s.rttSince;
      if (s.srtt === 0) {
        s.srtt = r;
        s.rttvar = r / 2;
      } else {
        s.rttvar = 0.75 * s.rttvar + 0.25 * Math.abs(s.srtt - r);
        s.srtt = 0.875 * s.srtt + 0.125 * r;
      }
      s.rttFor = null;
    }
    return true;
  }

  /** Tells the peer why its session for this store ends here, and ends it. */
  private refuse(s: Session, error: MyceliumError): void {
    this.send(s, { type: MessageType.Error, store: this.name, code: error.code, message: error.reason });
    this.fail(s, error, false);
  }

  /** May the peer read or write this store? (The link's authorization; none: yes.) */
  /**
   * What this replica has, as it tells peers: its store's version, or what
   * its batches cover — for a relay of an encrypted store (it keeps batches
   * it cannot open: docs/identity.md, blind relays), and for a store on a
   * shared log, whose data may come before its batches (docs/relay.md):
   * what it can forward.
   */
  private have(): Version {
    const provenance = this.store.access?.provenance;
    return provenance?.opaque || provenance?.shared ? provenance.version() : this.store.version();
  }

  private allowed(s: Session, access: 'read' | 'write'): boolean {
    const may = s.conn.link.may;
    if (!may) return true;
    try {
      return may.call(s.conn.link, this.name, access) === true;
    } catch {
      return false;
    }
  }

  private hello(s: Session, m: Message & { type: MessageType.Hello }, version: Version): void {
    if (!this.allowed(s, 'read')) {
      this.refuse(s, new MyceliumError('forbidden', `peer ${s.conn.peer} may not read '${this.name}'`));
      return;
    }
    // Another version of the app syncs unless a field both declare changed
    // its kind; fields and collections only one side declares travel anyway.
    const conflict = schemaConflict(this.schema, m.schema);
    if (conflict !== null) {
      const { field, ours, theirs } = conflict;
      const err = new MyceliumError('schema_mismatch', `peer ${s.conn.peer} has store '${this.name}' with an incompatible schema: field '${field}' is a ${theirs} there and a ${ours} here`);
      this.send(s, { type: MessageType.Error, store: this.name, code: 'schema_mismatch', message: `store '${this.name}' has an incompatible schema: field '${field}' is a ${ours} there and a ${theirs} here` });
      this.fail(s, err, false);
      return;
    }
    // The peer has not heard our hello yet (or it was lost): answer it.
    if (!m.reply) this.sendHello(s, true);
    if (!this.acknowledged(s, version)) return;
    // A new session, or the peer started over (it resumed after pause(), or
    // repeats a hello we answered): whatever we sent before may not have been
    // joined, so what it has is what its hello says. (Keeping `sent` made every
    // later delta wait at the peer for what it had ignored, until resent.)
    if (!s.ready || !m.reply) {
      s.ready = true;
      s.sent = s.acked;
      s.sentHeld = {};
      s.resends = 0;
      this.pump(s, false);
      if (s.conn.features.has('presence')) this.presence.peerReady(s.conn, this.presenceLinks);
    }
    this.scheduleStatus();
  }

  private delta(s: Session, m: Message & { type: MessageType.Delta }, version: Version): void {
    // A protected store's deltas are signed batches, each checked against its
    // author's key and role whoever forwards it (a reader may relay them).
    if (!this.allowed(s, 'write')) {
      this.refuse(s, new MyceliumError('forbidden', `peer ${s.conn.peer} may not write '${this.name}'`));
      return;
    }
    if (!this.acknowledged(s, version)) return;
    const mine = this.have();
    if (covers(mine, version)) {
      // Everything in it is here already: drop it unread, and tell the peer exactly what we have.
      this.stats.deltasDropped++;
      s.fullAckDue = true;
      this.scheduleAcks();
      return;
    }
    if (this.store.access) {
      this.batches(s, m.delta);
      return;
    }
    let result;
    const before = size(mine);
    try {
      result = this.store.applyDetached(m.delta, version, { maxNewActors: Math.max(1, Math.min(this.maxNewActorsPerDelta, s.actorAllowance)) });
    } catch (e) {
      const err = e instanceof MyceliumError ? e : new MyceliumError('corrupt', String(e));
      this.send(s, { type: MessageType.Error, store: this.name, code: err.code, message: `could not join a delta for '${this.name}': ${err.reason}` });
      this.fail(s, new MyceliumError(err.code, `peer ${s.conn.peer} sent a delta for '${this.name}' that was refused: ${err.reason}`), false);
      return;
    }
    if (result === 'full') {
      // Our queue of held deltas is full: not the peer's fault. Drop it; the
      // peer resends from our ack once the gap is filled.
      s.fullAckDue = true;
      this.scheduleAcks();
      return;
    }
    if (result === 'covered') {
      this.stats.deltasDropped++;
      s.fullAckDue = true;
    } else {
      this.stats.deltasJoined++;
      this.stats.deltaBytesJoined += m.delta.length;
      if (result === 'applied') s.actorAllowance -= Math.max(0, size(this.store.version()) - before);
      if (s.actorAllowance <= 0) {
        this.refuse(s, new MyceliumError('limit_exceeded', `peer ${s.conn.peer} has added ${this.maxNewActorsPerPeer} actors to '${this.name}', the most one peer may add while connected`));
        return;
      }
    }
    this.scheduleAcks();
  }

  /** A protected store's delta message: signed batches, checked and joined in the order they came. */
  private batches(s: Session, payload: Uint8Array): void {
    const provenance = this.store.access!.provenance;
    let batches: ReturnType<typeof provenance.read>;
    try {
      batches = provenance.read(payload, `a delta of peer ${s.conn.peer} for '${this.name}'`);
    } catch (e) {
      const err = e instanceof MyceliumError ? e : new MyceliumError('corrupt', String(e));
      this.refuse(s, err);
      return;
    }
    s.batches = s.batches.then(async () => {
      if (s.error || this.closed || this.store.closed) return;
      const before = size(this.have());
      const allowance = Math.max(1, Math.min(this.maxNewActorsPerDelta, s.actorAllowance));
      const { joined, error } = await provenance.receive(batches, s.conn.peer, allowance);
      if (s.error || this.closed || this.store.closed) return;
      if (joined > 0) {
        this.stats.deltasJoined++;
        this.stats.deltaBytesJoined += payload.length;
        s.actorAllowance -= Math.max(0, size(this.have()) - before);
      } else this.stats.deltasDropped++;
      if (error) {
        this.refuse(s, error);
        return;
      }
      if (s.actorAllowance <= 0) {
        this.refuse(s, new MyceliumError('limit_exceeded', `peer ${s.conn.peer} has added ${this.maxNewActorsPerPeer} actors to '${this.name}', the most one peer may add while connected`));
        return;
      }
      // Something was not joined (held here already, or waiting for a
      // membership operation): the peer learns exactly what we have.
      if (joined < batches.length) s.fullAckDue = true;
      this.scheduleAcks();
    });
  }

  private fail(s: Session, error: MyceliumError, remote: boolean): void {
    if (s.error) return;
    s.error = error;
    s.stop();
    this.presence.peerGone(s.conn);
    this.scheduleStatus();
    const event: SyncErrorEvent = { peer: s.conn.peer, store: this.name, error, remote };
    for (const l of this.errorListeners) l(event);
  }

  /** The whole connection failed (unreadable bytes, another protocol version, a peer's connection-level error). */
  connectionFailed(conn: Connection, error: MyceliumError, remote: boolean): void {
    const s = this.sessions.get(conn);
    if (s) this.fail(s, error, remote);
  }

  // --- sending -------------------------------------------------------------

  /**
   * The store changed (a local write, a joined delta): tell every peer — at the
   * end of this task, or, while changes keep coming, at most once per
   * `batchInterval` (a stream of writes travels as a few large deltas rather
   * than one per task).
   */
  private changed(): void {
    if (this.pumpScheduled || this.closed || this.paused) return;
    this.pumpScheduled = true;
    later(this.lastPump + this.batchInterval, () => {
      this.pumpScheduled = false;
      this.lastPump = performance.now();
      if (this.store.closed) return;
      // One version for the round: every session compares against the same state.
      const mine = this.have();
      this.pumpAll(mine);
      this.scheduleStatus();
    });
  }

  /**
   * Sends the peer what it lacks. Eager: this replica's own changes, with other
   * replicas' changes held back (they are in the delta's base) unless this peer
   * needs relays. Relay: everything the peer has not acknowledged.
   */
  private pump(s: Session, relay: boolean, version?: Version): void {
    if (!s.ready || s.error || s.conn.isClosed || this.store.closed || this.paused) return;
    // durableMoment pumps every session (pumpAll checked once for its round: the state does not change within it).
    if (this.round === null && this.dirty()) return;
    const access = this.store.access;
    let mine = version ?? this.have();
    // A persisted store sends its own writes only once they are durable (the
    // store calls back after each commit): a replica that crashed must never
    // have handed out a seq it can no longer remember.
    const durable = this.store.durableVersion();
    const me = this.store.actor;
    if (durable && (durable[me] ?? 0) < (mine[me] ?? 0)) return;
    if (access) {
      // A protected store sends signed batches: its own writes once signed
      // (onSealed pumps again), and what it joined as it was signed.
      access.provenance.seal();
      mine = access.provenance.version();
    }
    let base = join(s.acked, s.sent);
    let held: Version = {};
    if (relay) {
      // Held-back changes that the peer has since received let it join what we sent with them.
      if (covers(s.acked, without(s.sentHeld, this.store.actor))) base = join(base, s.sentHeld);
    } else {
      base = join(base, s.sentHeld);
      if (performance.now() >= s.eagerUntil && this.relayDelay > 0) {
        held = without(newer(mine, base), this.store.actor);
        base = join(base, held);
      }
    }
    if (!covers(base, mine)) {
      // Detached: its context is `mine`, which the message carries as what changed.
      const key = this.round ? versionKey(base) : null;
      let delta = key !== null ? this.round!.get(key) : undefined;
      if (delta === undefined) {
        delta = access ? access.provenance.payloadSince(base) : this.store.detachedDeltaSince(base);
        if (key !== null) this.round!.set(key, delta);
      }
      // A delta the link refused (its channel closing) is neither sent nor counted.
      if (!this.sendVersioned(s, mine, (version) => ({ type: MessageType.Delta, store: this.name, version, delta }))) return;
      this.stats.deltasSent++;
      this.stats.deltaBytesSent += delta.length;
      // What the peer can join at once: everything up to `mine` only when the
      // delta's base holds nothing the peer lacks. An eager send's base holds
      // what this and earlier sends held back; until the peer has that, the
      // send only counts as held (advancing `sent` here made later relays skip
      // the held-back changes: the peer waited for them until the ack timeout).
      const clean = relay || (isEmpty(held) && covers(join(s.acked, s.sent), without(s.sentHeld, this.store.actor)));
      if (clean) {
        s.sent = join(s.sent, mine);
        if (relay) s.sentHeld = {};
      } else s.sentHeld = join(s.sentHeld, mine);
      if (s.rttFor === null && s.resends === 0) {
        s.rttFor = mine;
        s.rttSince = performance.now();
      }
      this.armAckTimer(s);
    }
    if (!isEmpty(held)) {
      if (s.relayTimer) s.holdNext = join(s.holdNext ?? {}, held);
      else {
        s.holdMark = held;
        this.armRelayTimer(s);
      }
    }
  }

  /** Pumps every session at version `mine`, sharing the deltas of equal bases. */
  private pumpAll(mine: Version): void {
    if (this.dirty()) return;
    this.round = new Map();
    try {
      for (const s of this.sessions.values()) this.pump(s, false, mine);
    } finally {
      this.round = null;
    }
  }

  /** The peer says it holds deltas it cannot join: relay what we held back from it, now. */
  private fillGap(s: Session): void {
    const now = performance.now();
    if (now - s.lastGapFill < this.relayDelay) return;
    const heldBack = without(s.sentHeld, this.store.actor);
    if (covers(join(s.acked, s.sent), heldBack)) return; // nothing of ours it could lack
    s.lastGapFill = now;
    this.pump(s, true);
  }

  private armRelayTimer(s: Session): void {
    if (s.relayTimer) return;
    s.relayTimer = setTimeout(() => {
      s.relayTimer = null;
      const mark = s.holdMark;
      // Changes held since the timer was armed get their own full delay.
      s.holdMark = s.holdNext;
      s.holdNext = null;
      if (s.holdMark) this.armRelayTimer(s);
      // The peer got them from their authors (or another relay): nothing to do.
      if (!mark || covers(s.acked, mark)) return;
      // It did not: it is not hearing them directly. Relay now, and at once for
      // a while (a star around a server stays so; a mesh after a rejoin goes
      // back to holding back, so nothing travels twice).
      s.eagerUntil = performance.now() + EAGER_RELAY_MS;
      this.pump(s, true);
      this.scheduleStatus();
    }, this.relayDelay * (1 + Math.random()));
  }

  private armAckTimer(s: Session): void {
    if (s.ackTimer) return;
    s.ackMark = s.acked;
    // Each resend that brought no acknowledgement doubles the wait.
    s.ackTimer = setTimeout(() => {
      s.ackTimer = null;
      if (!s.ready || s.error || s.conn.isClosed || this.store.closed) return;
      if (covers(s.acked, join(s.sent, s.sentHeld))) return;
      // Still sending, or acks still coming for what we sent: wait another
      // round. Only those entries count: a peer that writes itself raises its
      // own entry in every message, and must not keep a loss from being
      // resent. Bytes still in the link's buffer count only while the peer
      // has no gap: one that says it holds deltas it cannot join is waiting
      // for something lost, however busy the link is.
      // (The entries it lacks: not those it has at least as far as we sent
      // them, such as its own, which it raises with every write.)
      const lacking = newer(join(s.sent, s.sentHeld), s.acked);
      const busy = s.conn.queued(this.name) > 0 || (s.conn.link.bufferedAmount > 0 && !s.peerHolding);
      if (busy || progressed(s.ackMark, s.acked, lacking)) {
        this.armAckTimer(s);
        return;
      }
      if (s.resends >= this.maxResends) {
        // It acknowledges nothing: stop spending bandwidth on it.
        this.fail(s, new MyceliumError('timeout', `peer ${s.conn.peer} acknowledged nothing of '${this.name}' after ${s.resends} resends; dropped`), false);
        s.conn.close('unresponsive');
        return;
      }
      // Acks stopped short: something was lost. Start again from the last ack.
      s.resends++;
      s.rttFor = null;
      s.sent = s.acked;
      s.sentHeld = {};
      this.pump(s, true);
    }, this.resendWait(s));
  }

  /** `ackTimeout`, or longer for a peer whose acks take longer (srtt + 4 rttvar), doubling with each resend. */
  private resendWait(s: Session): number {
    const rto = s.srtt > 0 ? Math.max(this.ackTimeout, s.srtt + 4 * s.rttvar) : this.ackTimeout;
    return Math.min(rto, MAX_RTO_MS) * 2 ** s.resends;
  }

  /** Acks, like deltas, go at the end of the task, or at most once per ackInterval while deltas keep coming. */
  private scheduleAcks(): void {
    if (this.acksScheduled) return;
    this.acksScheduled = true;
    later(this.lastAck + this.ackInterval, () => {
      this.acksScheduled = false;
      this.sendAcks();
    });
  }

  /** Acks to every ready peer that has not heard our version (only what grew since it last did). */
  private sendAcks(): void {
    this.lastAck = performance.now();
    if (this.store.closed || this.dirty()) return; // durableMoment acks once storage holds it all
    const mine = this.have();
    const holding = this.store.pending > 0;
    for (const s of this.sessions.values()) {
      if (!s.ready || s.error || s.conn.isClosed) continue;
      // The entries the peer has not heard from us; all of them when it must
      // learn exactly what we have (we dropped its delta as one we had).
      const version = s.fullAckDue ? mine : newer(mine, s.told);
      if (isEmpty(version) && !s.fullAckDue && !holding && !s.restartDue) continue;
      const restart = s.restartDue;
      if (!this.send(s, { type: MessageType.Ack, store: this.name, version, holding, restart })) continue;
      this.stats.acksSent++;
      s.told = join(s.told, mine);
      s.fullAckDue = false;
      s.restartDue = false;
    }
    this.scheduleStatus();
  }

  /** Durable-first: has this replica joined anything storage does not hold yet? */
  private dirty(): boolean {
    if (!this.durableFirst) return false;
    const durable = this.store.durableVersion();
    return durable !== null && !covers(durable, this.have());
  }

  /**
   * Durable-first: storage may have caught up. Once it holds everything,
   * tell every peer (held hellos, acks, deltas), then read every message
   * that waited, at once; what they join goes to storage as one write.
   */
  private durableMoment(): void {
    if (this.draining || this.closed || this.store.closed || this.paused || this.dirty()) return;
    for (const s of this.sessions.values()) {
      if (s.helloDue === null || s.error) continue;
      const reply = s.helloDue;
      s.helloDue = null;
      this.sendHello(s, reply);
    }
    this.sendAcks();
    this.pumpAll(this.have());
    if (this.waiting.length === 0) return;
    const batch = this.waiting.splice(0);
    this.waitingBytes = 0;
    this.draining = true;
    try {
      for (const { conn, m, bytes } of batch) this.message(conn, m, bytes);
    } finally {
      this.draining = false;
    }
    // Nothing joined (acks, presence): storage calls back for nothing, so tell now.
    if (!this.dirty()) this.durableMoment();
  }

  // --- status --------------------------------------------------------------

  status(): SyncStatus {
    const peers: PeerStatus[] = [];
    const mine = this.store.closed ? {} : this.have();
    const pending = this.store.closed ? 0 : this.store.pending;
    // Synced: at least one live peer, and every live peer has what we have and we what it has.
    let live = 0;
    let synced = !this.paused;
    for (const s of this.sessions.values()) {
      const sendingBytes = s.conn.queued(this.name);
      const [receivingBytes, receivingTotal] = s.conn.incoming(this.name);
      const ahead = s.ready && !covers(mine, s.acked);
      const behind = s.ready && !covers(s.acked, mine);
      let state: PeerState;
      if (s.error) state = 'failed';
      else if (this.paused) state = 'paused';
      else if (!s.ready) state = 'connecting';
      else if (sendingBytes > 0 || receivingTotal > 0 || ahead || behind) state = 'syncing';
      else state = 'synced';
      if (state !== 'failed') live++;
      if (state !== 'synced' && state !== 'failed') synced = false;
      const base = { peer: s.conn.peer, state, sendingBytes, receivingBytes, receivingTotal, ahead, behind, holding: s.peerHolding };
      peers.push(s.error ? { ...base, error: s.error } : base);
    }
    const stalled = pending > 0 && live > 0 && !this.paused && this.pendingSince !== null && performance.now() - this.pendingSince >= STALL_MS;
    return { store: this.name, peers, synced: synced && live > 0 && pending === 0, pending, stalled, paused: this.paused };
  }

  /** Keeps `pendingSince` and wakes the status up when held deltas have waited STALL_MS. */
  private watchPending(): void {
    const pending = this.store.closed ? 0 : this.store.pending;
    if (pending === 0) {
      this.pendingSince = null;
      if (this.stallTimer) clearTimeout(this.stallTimer);
      this.stallTimer = null;
      return;
    }
    if (this.pendingSince !== null) return;
    this.pendingSince = performance.now();
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      this.scheduleStatus();
    }, STALL_MS + 1);
  }

  /** Stops exchanging with peers (offline, without closing the adapter): nothing is sent, what arrives is ignored. */
  pause(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    for (const s of this.sessions.values()) {
      s.stop();
      this.presence.peerGone(s.conn);
    }
    this.scheduleStatus();
  }

  /** Starts again from each peer's hello: what it has is not sent again. */
  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    const conns = [...this.sessions.keys()];
    this.sessions.clear();
    for (const conn of conns) if (!conn.isClosed) this.addPeer(conn);
    this.scheduleStatus();
  }

  scheduleStatus(): void {
    this.watchPending();
    if (this.statusScheduled || this.statusListeners.size === 0) return;
    this.statusScheduled = true;
    queueMicrotask(() => {
      this.statusScheduled = false;
      const s = this.status();
      const key = JSON.stringify(s, (k, v: unknown) => (k === 'error' ? String(v) : v));
      if (key === this.lastStatus) return;
      this.lastStatus = key;
      for (const l of this.statusListeners) l(s);
    });
  }

  onStatus(listener: (s: SyncStatus) => void): () => void {
    this.statusListeners.add(listener);
    this.scheduleStatus();
    return () => this.statusListeners.delete(listener);
  }

  onError(listener: (e: SyncErrorEvent) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.presence.removeSync(this.presenceLinks);
    this.closed = true;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.unwatch();
    for (const s of this.sessions.values()) s.stop();
    this.sessions.clear();
  }
}
