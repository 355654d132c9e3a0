// A protected store on a log shared with other processes (relay nodes on
// NATS JetStream: docs/relay.md, Protected stores). Its signed batches and
// its membership are appended by whichever process learns them, and each
// process watches what the others append: batches are checked and added to
// its log (Provenance.adopt), operations read like a peer's. Membership is a
// grow-only log of its own ('$members:<name>'), not the meta record, which
// each process would rewrite whole from its own view.
import type { StoreAccess } from './access/access.js';
import { MyceliumError } from './errors.js';
import type { StorageAdapter, Stored, WatchedAppend } from './storage.js';

/** Where a protected store's membership operations are kept on a shared log: names starting with '$members:' are reserved. */
export function memberStoreName(name: string): string {
  return `$members:${name}`;
}

/** A blob of the '$members:' log: a JSON array of operation texts. */
function encodeOps(texts: readonly string[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(texts));
}

/** Reads a '$members:' blob; `corrupt` for one that is not a JSON array of strings. */
function decodeOps(blob: Uint8Array, context: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(blob));
  } catch {
    throw new MyceliumError('corrupt', `${context}: a blob that is not JSON`);
  }
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string')) throw new MyceliumError('corrupt', `${context}: a blob that is not an array of operation texts`);
  return value as string[];
}

/** Blobs of the log past this many are folded into one. */
const FOLD_AFTER = 256;

interface Attached {
  readonly access: StoreAccess;
  readonly actor: string;
  readonly report: (e: MyceliumError) => void;
}

export class SharedAccessLog {
  readonly #adapter: StorageAdapter;
  readonly #name: string;
  readonly #stops: (() => void)[] = [];
  /** What the watches delivered before attach(), in order. */
  readonly #early: { kind: 'batches' | 'ops'; append: WatchedAppend }[] = [];
  #attached: Attached | null = null;
  /** Operation texts the shared log holds (read, or appended by this process). */
  readonly #stored = new Set<string>();
  #blobs = 0;
  /** Appends of operations, one at a time. */
  #writing: Promise<void> = Promise.resolve();
  /** Watched appends are read one after another (checks take tasks). */
  #reading: Promise<void> = Promise.resolve();
  #closed = false;

  /** Starts both watches: call before loading the logs, so nothing appended meanwhile is missed. */
  constructor(adapter: StorageAdapter, name: string, batchLog: string) {
    this.#adapter = adapter;
    this.#name = name;
    const watch = adapter.watch!.bind(adapter);
    this.#stops.push(watch(batchLog, (append) => this.#arrived('batches', append)));
    this.#stops.push(watch(memberStoreName(name), (append) => this.#arrived('ops', append)));
  }

  /** The '$members:' log's operations (its folded blob, then the rest). */
  async loadOps(): Promise<string[]> {
    const stored: Stored = await this.#adapter.load(memberStoreName(this.#name));
    this.#blobs = stored.log.length;
    const out: string[] = [];
    for (const blob of [stored.snapshot, ...stored.log]) {
      if (!blob) continue;
      try {
        for (const t of decodeOps(blob, `the stored membership of '${this.#name}'`)) out.push(t);
      } catch (e) {
        // Someone with the deployment's credentials wrote it: skipped, as a bad stored blob is.
        if (!(e instanceof MyceliumError)) throw e;
      }
    }
    for (const t of out) this.#stored.add(t);
    return out;
  }

  /**
   * The store is open and its batches restored: from now on membership
   * changes are appended to the shared log, and what other processes
   * append is read (what came meanwhile first).
   */
  attach(access: StoreAccess, actor: string, report: (e: MyceliumError) => void): void {
    this.#attached = { access, actor, report };
    access.provenance.shared = true;
    access.persistWith(() => this.#persistOps());
    // Batches that waited for an operation may count now.
    access.subscribe(() => {
      this.#reading = this.#reading.then(async () => this.#reportAll(await access.provenance.adoptWaiting(this.#from())));
    });
    for (const { kind, append } of this.#early.splice(0)) this.#arrived(kind, append);
    // Operations this process held that the log lacks (its meta record's, or its own) are appended.
    void this.#persistOps().catch((e: unknown) => report(e instanceof MyceliumError ? e : new MyceliumError('storage_failed', String(e))));
  }

  /** Stops the watches. */
  close(): void {
    this.#closed = true;
    for (const stop of this.#stops.splice(0)) stop();
  }

  #from(): string {
    return `the shared log of '${this.#name}'`;
  }

  #reportAll(errors: readonly MyceliumError[]): void {
    for (const e of errors) this.#attached?.report(e);
  }

  #arrived(kind: 'batches' | 'ops', append: WatchedAppend): void {
    const a = this.#attached;
    if (this.#closed) return;
    if (!a) {
      this.#early.push({ kind, append });
      return;
    }
    // Our own appends come back too: they hold nothing new.
    if (append.actor === a.actor) return;
    this.#reading = this.#reading.then(async () => {
      if (this.#closed) return;
      for (const blob of append.blobs) {
        try {
          if (kind === 'ops') {
            const texts = decodeOps(blob, `${this.#from()} (membership)`);
            for (const t of texts) this.#stored.add(t);
            const refused = await a.access.receive(texts);
            if (refused > 0) a.report(new MyceliumError('corrupt', `${this.#from()} held ${refused} membership operation${refused === 1 ? '' : 's'} that did not verify: skipped`));
          } else {
            const batches = a.access.provenance.read(blob, `${this.#from()} (batches)`);
            this.#reportAll(await a.access.provenance.adopt(batches, this.#from()));
          }
        } catch (e) {
          a.report(e instanceof MyceliumError ? e : new MyceliumError('corrupt', String(e)));
        }
      }
    });
  }

  /** Appends the operations the shared log lacks, as one blob (one append at a time); resolves once they are durable. */
  #persistOps(): Promise<void> {
    const next = this.#writing.then(() => this.#appendOps());
    this.#writing = next.catch(() => undefined);
    return next;
  }

  /** Past FOLD_AFTER blobs, the log is folded into one. */
  async #appendOps(): Promise<void> {
    const a = this.#attached;
    if (!a || this.#closed) return;
    const fresh = a.access.texts().filter((t) => !this.#stored.has(t));
    if (fresh.length === 0) return;
    const name = memberStoreName(this.#name);
    await this.#adapter.append(name, [encodeOps(fresh)], { actor: a.actor, version: {} });
    for (const t of fresh) this.#stored.add(t);
    if (++this.#blobs > FOLD_AFTER) {
      // Every operation the log held, once each, whoever appended it.
      await this.#adapter.compact(name, (log, snapshot) => {
        const all = new Set<string>();
        for (const blob of [snapshot, ...log]) {
          if (!blob) continue;
          try {
            for (const t of decodeOps(blob, `the stored membership of '${this.#name}'`)) all.add(t);
          } catch {
            // A blob that is not one is dropped with the fold.
          }
        }
        return encodeOps([...all]);
      });
      this.#blobs = 0;
    }
  }
}
