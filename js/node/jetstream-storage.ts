// jetStreamStorage(): a StorageAdapter on NATS JetStream, shared by every
// relay node (docs/relay.md). A store's log is a subject of one stream, its
// meta record and snapshot pointer are keys of a KV bucket, its snapshot an
// object; every node appends to the same log and watches what the others
// append. The adapter moves bytes only: every blob is an engine frame that
// the replica checks when it joins it.
import { ByteWriter } from '../bytes.js';
import { MyceliumError } from '../errors.js';
import { PeerReader } from '../peer-reader.js';
import type { AppendOrigin, StorageAdapter, Stored, StoredMeta, WatchedAppend } from '../storage.js';
import type { Version } from '../version.js';
import { encodeVersion, join, readActor, readVersion, writeActor } from '../version.js';
import type { NatsModules, PubSub } from './nats.js';
import { loadNats, pubSub } from './nats.js';
import { testSwitches } from '../test-switches.js';

export interface JetStreamStorageOptions {
  /** NATS server URLs (a cluster's: the client moves to another when one fails). */
  readonly servers: string | readonly string[];
  /** The stream holding every store's log. Default 'MYCELIUM'. */
  readonly stream?: string;
  /** Copies JetStream keeps of the stream, KV and object buckets (3 in a cluster of 3). Default 1. */
  readonly replicas?: number;
  /** NATS credentials. */
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** How long a publish waits for JetStream's acknowledgement (ms). Default 5000. */
  readonly publishTimeout?: number;
  /**
   * Compaction purges only messages older than this (ms), so that a node
   * whose watch lags behind never has messages purged before it read them
   * (they are in the snapshot too; a cold node starts after them). Default 60,000.
   */
  readonly purgeAfter?: number;
  /** Called with what could not be read from the stream (a message of another format, a lost object); it is skipped. */
  readonly onError?: (error: MyceliumError) => void;
}

/** A JetStream adapter, with its connection's state for a relay's /status. */
export interface JetStreamStorage extends StorageAdapter {
  /** The NATS server the client is connected to now. */
  readonly server: () => string;
  /** Resolves when the connection is closed. */
  readonly closed: Promise<void>;
  /** @internal Core NATS on the same connection: relay nodes' presence (nats-presence.ts). */
  readonly pubsub: PubSub;
}

const SUBJECT_PREFIX = 'myc.s.';
const META_BUCKET = 'mycelium-meta';
const SNAPSHOT_BUCKET = 'mycelium-snapshots';
const FORMAT_INLINE = 1;
/** The blobs are too large for one NATS message: they are an object, named here. */
const FORMAT_OBJECT = 2;
const NO_ACTOR = '0000000000000000';
/** How long one pull of a watch waits (its heartbeats come twice as often). */
const WATCH_PULL_MS = 2000;
/** How often a watch checks that it keeps up with its subject. */
const WATCH_CHECK_MS = 1500;

/** A store name as a subject token and KV key: base64url of its UTF-8. */
export function storeKey(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url') || '_';
}

interface Pointer {
  readonly seq: number;
  readonly object: string;
  readonly actor: string;
  readonly version: Version;
  /** When it was written (ms since 1970). */
  readonly at?: number;
  /**
   * Objects of oversized appends the snapshot folds whose messages were
   * not purged yet (younger than purgeAfter): deleted by the compaction
   * that purges them.
   */
  readonly objects?: readonly string[];
}

interface Tail {
  /** The last stream sequence of the subject delivered (by load, then by the watch). */
  after: number;
  loaded: boolean;
  readonly listeners: Set<(a: WatchedAppend) => void>;
  stop: (() => void) | null;
}

interface Decoded extends WatchedAppend {
  /** An object holding the blobs (FORMAT_OBJECT), deleted with the message by compaction. */
  readonly object: string | null;
}

function encodeHeader(w: ByteWriter, format: number, origin: AppendOrigin): void {
  w.u8(format);
  writeActor(origin.actor, w);
  const v = new ByteWriter();
  encodeVersion(origin.version, v);
  const bytes = v.bytes();
  w.varint(bytes.length);
  w.raw(bytes);
}

function encodeBlobs(w: ByteWriter, blobs: readonly Uint8Array[]): void {
  w.varint(blobs.length);
  for (const b of blobs) {
    w.varint(b.length);
    w.raw(b);
  }
}

function readBlobs(r: PeerReader): Uint8Array[] {
  const n = r.varint('blob count');
  if (n > r.remaining()) throw new MyceliumError('corrupt', `${r.context}: ${n} blobs in ${r.remaining()} bytes`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.raw(r.varint('blob length'), 'blob').slice());
  if (r.remaining() !== 0) throw new MyceliumError('corrupt', `${r.context}: ${r.remaining()} bytes after the blobs`);
  return out;
}

/** Connects to NATS and makes the stream and buckets when they do not exist. */
export async function jetStreamStorage(options: JetStreamStorageOptions): Promise<JetStreamStorage> {
  const nats: NatsModules = await loadNats();
  const streamName = options.stream ?? 'MYCELIUM';
  const replicas = options.replicas ?? 1;
  const publishTimeout = options.publishTimeout ?? 5000;
  const purgeAfter = options.purgeAfter ?? 60_000;
  const report = (e: MyceliumError) => options.onError?.(e);
  const failed = (what: string, e: unknown) => (e instanceof MyceliumError ? e : new MyceliumError('storage_failed', `JetStream: ${what}: ${e instanceof Error ? e.message : String(e)}`));

  let nc;
  try {
    nc = await nats.core.connect({
      servers: typeof options.servers === 'string' ? options.servers.split(',') : [...options.servers],
      user: options.user,
      pass: options.pass,
      token: options.token,
      name: 'mycelium-sync relay',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  } catch (e) {
    throw new MyceliumError('transport_unavailable', `cannot connect to NATS at ${String(options.servers)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const conn = nc;
  try {
    const jsm = await nats.js.jetstreamManager(conn);
    try {
      await jsm.streams.info(streamName);
    } catch {
      await jsm.streams.add({ name: streamName, subjects: [`${SUBJECT_PREFIX}>`], num_replicas: replicas, storage: nats.js.StorageType.File, max_msgs_per_subject: -1 });
    }
    const js = nats.js.jetstream(conn, { timeout: publishTimeout });
    const kv = await new nats.kv.Kvm(js).create(META_BUCKET, { replicas, history: 1 });
    const os = await new nats.obj.Objm(js).create(SNAPSHOT_BUCKET, { replicas });
    const maxPayload = () => conn.info?.max_payload ?? 1024 * 1024;
    const tails = new Map<string, Tail>();
    const tailOf = (name: string) => {
      let t = tails.get(name);
      if (!t) tails.set(name, (t = { after: 0, loaded: false, listeners: new Set(), stop: null }));
      return t;
    };
    const subject = (name: string) => SUBJECT_PREFIX + storeKey(name);

    const pointerOf = async (name: string): Promise<{ pointer: Pointer | null; revision: number }> => {
      const e = await kv.get(`${storeKey(name)}.snap`);
      if (!e || e.operation !== 'PUT' || e.value.length === 0) return { pointer: null, revision: e?.revision ?? 0 };
      try {
        const p = e.json<Pointer>();
        if (!Number.isSafeInteger(p.seq) || typeof p.object !== 'string') throw new Error('fields');
        if (p.objects !== undefined && !(Array.isArray(p.objects) && p.objects.every((o) => typeof o === 'string'))) throw new Error('objects');
        return { pointer: p, revision: e.revision };
      } catch {
        throw new MyceliumError('corrupt', `the snapshot pointer of '${name}' in ${META_BUCKET} is not one this version reads`);
      }
    };

    /** One stream message: its appends, or null (reported) when it is not one of ours. */
    const decode = async (name: string, seq: number, data: Uint8Array): Promise<Decoded | null> => {
      const r = new PeerReader(data, `message ${seq} of '${name}' in stream ${streamName}`);
      try {
        const format = r.u8('format');
        if (format !== FORMAT_INLINE && format !== FORMAT_OBJECT) throw new MyceliumError('corrupt', `${r.context}: format ${format}; this version reads 1 and 2`);
        const actor = readActor(r);
        const version = readVersion(new PeerReader(r.raw(r.varint('version length'), 'version'), r.context));
        if (format === FORMAT_INLINE) return { actor, version, blobs: readBlobs(r), object: null };
        const object = r.string('object name', 1024);
        const bytes = await os.getBlob(object);
        if (!bytes) throw new MyceliumError('corrupt', `${r.context}: its object ${object} is gone`);
        return { actor, version, blobs: readBlobs(new PeerReader(bytes, `object ${object}`)), object };
      } catch (e) {
        report(failed(`reading ${r.context}`, e));
        return null;
      }
    };

    /** The stream sequence of the subject's last message (0: none). */
    const lastSeq = async (name: string): Promise<number> => {
      try {
        return (await jsm.streams.getMessage(streamName, { last_by_subj: subject(name) }))?.seq ?? 0;
      } catch (e) {
        if (e instanceof nats.js.JetStreamApiError && e.code === 404) return 0;
        throw e;
      }
    };

    /** An ordered consumer of the subject from stream sequence `from`. */
    const consumerFrom = (name: string, from: number) =>
      js.consumers.get(streamName, { filter_subjects: subject(name), deliver_policy: nats.js.DeliverPolicy.StartSequence, opt_start_seq: from });

    /** The subject's messages from `from` to its last one now. */
    const readTail = async (name: string, from: number): Promise<{ appends: (Decoded & { seq: number; nanos: bigint })[]; last: number }> => {
      const last = await lastSeq(name);
      const appends: (Decoded & { seq: number; nanos: bigint })[] = [];
      if (last < from) return { appends, last: Math.max(last, from - 1) };
      const messages = await (await consumerFrom(name, from)).consume();
      try {
        for await (const m of messages) {
          const d = await decode(name, m.seq, m.data);
          if (d) appends.push({ ...d, seq: m.seq, nanos: BigInt(m.info.timestampNanos) });
          if (m.seq >= last) break;
        }
      } finally {
        await messages.close().catch(() => undefined);
      }
      return { appends, last };
    };

    /** Delivers the subject's appends after tail.after to the listeners, live, until stopped. */
    const startWatch = (name: string, tail: Tail) => {
      if (tail.stop || tail.listeners.size === 0 || !tail.loaded) return;
      let stopped = false;
      let messages: { close(): Promise<void | Error> } | null = null;
      let delivered = 0;
      const deliver = (a: WatchedAppend) => {
        for (const l of tail.listeners) l(a);
      };
      const run = async () => {
        const it = await (await consumerFrom(name, tail.after + 1)).consume({ expires: WATCH_PULL_MS });
        if (stopped) return void (await it.close());
        messages = it;
        for await (const m of it) {
          if (stopped || messages !== it) break;
          if (m.seq <= tail.after) continue;
          const d = await decode(name, m.seq, m.data);
          tail.after = Math.max(tail.after, m.seq);
          delivered++;
          if (d) deliver(d);
        }
      };
      const restart = () => {
        const old = messages;
        messages = null;
        void old?.close().catch(() => undefined);
        run().catch((e: unknown) => report(failed(`watching '${name}'`, e)));
      };
      // The client library makes a consumer lost with its server again, but
      // not always (a leader election under way): a watch that stays behind
      // the subject for a whole period with nothing delivered starts over.
      // Behind it may also be because another node's compaction purged what
      // it had not delivered yet: then the snapshot goes first.
      let behind = false;
      const check = setInterval(() => {
        void (async () => {
          const last = await lastSeq(name);
          if (stopped || last <= tail.after) return void (behind = false);
          if (!behind || delivered > 0) {
            behind = true;
            delivered = 0;
            return;
          }
          behind = false;
          const { pointer } = await pointerOf(name);
          if (pointer && pointer.seq > tail.after) {
            const bytes = await os.getBlob(pointer.object);
            if (bytes && pointer.seq > tail.after && !stopped) {
              tail.after = pointer.seq;
              deliver({ actor: pointer.actor ?? NO_ACTOR, version: pointer.version ?? {}, blobs: [bytes] });
            }
          }
          if (!stopped) restart();
        })().catch((e: unknown) => report(failed(`checking the watch of '${name}'`, e)));
      }, WATCH_CHECK_MS);
      (check as { unref?: () => void }).unref?.();
      tail.stop = () => {
        stopped = true;
        clearInterval(check);
        void messages?.close().catch(() => undefined);
      };
      restart();
    };

    const adapter: JetStreamStorage = {
      server: () => conn.getServer(),
      closed: conn.closed().then(() => undefined),
      pubsub: pubSub(conn),

      async load(name): Promise<Stored> {
        const tail = tailOf(name);
        for (let attempt = 0; ; attempt++) {
          try {
            const metaEntry = await kv.get(`${storeKey(name)}.meta`);
            const meta = metaEntry && metaEntry.operation === 'PUT' && metaEntry.value.length > 0 ? metaEntry.json<StoredMeta>() : null;
            const { pointer, revision } = await pointerOf(name);
            const snapshot = pointer ? await os.getBlob(pointer.object) : null;
            const { appends, last } = await readTail(name, (pointer?.seq ?? 0) + 1);
            // A compaction meanwhile may have purged messages we needed: read again.
            if ((pointer && !snapshot) || (await pointerOf(name)).revision !== revision) {
              if (attempt < 8) continue;
              throw new MyceliumError('storage_failed', `'${name}' was compacted at every attempt to load it`);
            }
            tail.after = last;
            tail.loaded = true;
            startWatch(name, tail);
            return { meta, snapshot, log: appends.flatMap((a) => a.blobs) };
          } catch (e) {
            throw failed(`loading '${name}'`, e);
          }
        }
      },

      async setMeta(name, meta) {
        try {
          await kv.put(`${storeKey(name)}.meta`, JSON.stringify(meta));
        } catch (e) {
          throw failed(`writing the meta record of '${name}'`, e);
        }
      },

      async append(name, blobs, origin) {
        const from = origin ?? { actor: NO_ACTOR, version: {} };
        const w = new ByteWriter(1024);
        encodeHeader(w, FORMAT_INLINE, from);
        encodeBlobs(w, blobs);
        let data = w.bytes();
        try {
          if (data.length > maxPayload() - 4096) {
            // Larger than a NATS message may be: the blobs go as an object, the message names it.
            const b = new ByteWriter(data.length);
            encodeBlobs(b, blobs);
            const object = `${storeKey(name)}.blob.${nats.core.nuid.next()}`;
            await os.putBlob({ name: object }, b.bytes());
            const ref = new ByteWriter(256);
            encodeHeader(ref, FORMAT_OBJECT, from);
            ref.string(object);
            data = ref.bytes();
          }
          const delay = testSwitches().relayPublishDelay;
          if (delay) await new Promise((r) => setTimeout(r, delay));
          await js.publish(subject(name), data, { timeout: publishTimeout, expect: { streamName } });
        } catch (e) {
          throw failed(`appending to '${name}'`, e);
        }
      },

      async compact(name, fold, meta) {
        try {
          const { pointer, revision } = await pointerOf(name);
          const snapshot = pointer ? await os.getBlob(pointer.object) : null;
          const from = (pointer?.seq ?? 0) + 1;
          const { appends, last } = await readTail(name, from);
          const log = appends.flatMap((a) => a.blobs);
          const folded = fold(log, snapshot);
          let version: Version = pointer?.version ?? {};
          for (const a of appends) version = join(version, a.version);
          // Only what every watch has surely read by now is purged: messages older than purgeAfter.
          const cutoff = Date.now() - purgeAfter;
          // (What the previous snapshot covered is that old when it was written that long ago.)
          let through = pointer && (pointer.at ?? 0) <= cutoff ? pointer.seq : 0;
          for (const a of appends) if (a.nanos <= BigInt(cutoff) * 1_000_000n) through = a.seq;
          // Objects of messages that stay: the next compaction that purges them deletes them.
          const earlier = pointer?.objects ?? [];
          const stay = [...(pointer && through >= pointer.seq ? [] : earlier), ...appends.flatMap((a) => (a.object && a.seq > through ? [a.object] : []))];
          const object = `${storeKey(name)}.snap.${last}.${nats.core.nuid.next()}`;
          await os.putBlob({ name: object }, folded);
          const next = JSON.stringify({ seq: last, object, actor: appends.at(-1)?.actor ?? pointer?.actor ?? NO_ACTOR, version, at: Date.now(), objects: stay } satisfies Pointer);
          try {
            if (revision === 0) await kv.create(`${storeKey(name)}.snap`, next);
            else await kv.update(`${storeKey(name)}.snap`, next, revision);
          } catch {
            // Another node compacted first: its snapshot stands, ours goes.
            await os.delete(object).catch(() => undefined);
            return 0;
          }
          if (meta) await kv.put(`${storeKey(name)}.meta`, JSON.stringify(meta));
          if (through > 0) await jsm.streams.purge(streamName, { filter: subject(name), seq: through + 1 });
          if (pointer) await os.delete(pointer.object).catch(() => undefined);
          if (pointer && through >= pointer.seq) for (const o of earlier) await os.delete(o).catch(() => undefined);
          for (const a of appends) if (a.object && a.seq <= through) await os.delete(a.object).catch(() => undefined);
          return log.length;
        } catch (e) {
          throw failed(`compacting '${name}'`, e);
        }
      },

      watch(name, listener) {
        const tail = tailOf(name);
        tail.listeners.add(listener);
        startWatch(name, tail);
        return () => {
          tail.listeners.delete(listener);
          if (tail.listeners.size === 0) {
            tail.stop?.();
            tails.delete(name);
          }
        };
      },

      async clear(name) {
        try {
          const { pointer } = await pointerOf(name);
          // The objects of oversized appends: those the pointer keeps, and those of the messages after it.
          const { appends } = await readTail(name, (pointer?.seq ?? 0) + 1);
          await jsm.streams.purge(streamName, { filter: subject(name) });
          const objects = [...(pointer ? [pointer.object, ...(pointer.objects ?? [])] : []), ...appends.flatMap((a) => (a.object ? [a.object] : []))];
          for (const o of objects) await os.delete(o).catch(() => undefined);
          await kv.purge(`${storeKey(name)}.snap`);
          await kv.purge(`${storeKey(name)}.meta`);
        } catch (e) {
          throw failed(`clearing '${name}'`, e);
        }
      },

      close() {
        for (const t of tails.values()) t.stop?.();
        tails.clear();
        void conn.drain().catch(() => conn.close());
      },
    };
    return adapter;
  } catch (e) {
    await conn.close().catch(() => undefined);
    throw failed('setting up the stream and buckets', e);
  }
}
