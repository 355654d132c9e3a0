// Loading a snapshot where the JavaScript engine may compute it wrongly.
//
// JavaScriptCore (Safari, every iOS browser, WebKitGTK 2.50) has been seen to
// miscompute our WebAssembly when a hot loop enters code it compiled on a
// background thread (loop OSR from its in-place interpreter into BBQ code):
// about 5 % of fresh instances loading a 100,000-record snapshot read it
// wrong — out-of-bounds traps, typed errors on valid bytes, or silently a
// different state (tests-browser/webkit-osr/README.md). The same load a second
// time in the same instance runs code that is already compiled and has never
// been seen to fail. So where the engine is JavaScriptCore a snapshot load is
// checked: save the loaded state again and compare. A snapshot this engine
// wrote (what persistence stores) saves back to the same bytes; any other
// snapshot is accepted when two loads in a row agree. Two loads that agree
// on an error mean the error is the snapshot's, and it is thrown. The log
// beside the snapshot is held to the same rule: an entry is written only when
// two computations of it agree, and read back by an apply that is tried
// again when it fails (a failed apply has joined nothing). A flush can wait:
// when three computations of its entry disagree it computes again after
// pauses (agreedBytesLater), which lets the background compilation finish.
import { sameBytes } from './bytes.js';
import { MyceliumError } from './errors.js';
import { testSwitches } from './test-switches.js';

/** True where WebAssembly runs on JavaScriptCore (Safari, iOS browsers, WebKitGTK, Bun). */
export function onJavaScriptCore(): boolean {
  if (typeof navigator === 'undefined') return false;
  const ua = typeof navigator.userAgent === 'string' ? navigator.userAgent : '';
  if (/\bBun\//.test(ua)) return true;
  return /AppleWebKit\//.test(ua) && !/\b(Chrome|Chromium|HeadlessChrome|Edg)\//.test(ua);
}

/** One load: a handle, the state saved again, and how to give the handle back. */
export interface LoadAttempt {
  open(): number;
  save(handle: number): Uint8Array;
  close(handle: number): void;
}

const MAX_ATTEMPTS = 3;

type Outcome = { handle: number; saved: Uint8Array } | { error: unknown };

function describe(e: unknown): string {
  return e instanceof MyceliumError ? `${e.code}: ${e.reason}` : String(e);
}

/**
 * Opens `snapshot` through `attempt`, checked as described above; returns the
 * handle of a load that is trusted. Throws the snapshot's own error when two
 * loads agree on it, and `corrupt` when three loads give three answers.
 */
export function verifiedLoad(snapshot: Uint8Array, attempt: LoadAttempt): number {
  const fault = testSwitches().loadFault;
  let previous: Outcome | null = null;
  const seen: string[] = [];
  for (let n = 0; n < MAX_ATTEMPTS; n++) {
    let outcome: Outcome;
    let handle = -1;
    try {
      handle = attempt.open();
      let saved: Uint8Array = attempt.save(handle).slice();
      if (fault) saved = fault(n, saved);
      outcome = { handle, saved };
    } catch (e) {
      if (handle >= 0) attempt.close(handle);
      outcome = { error: e };
    }
    if ('saved' in outcome) {
      if (sameBytes(outcome.saved, snapshot)) {
        if (previous && 'handle' in previous) attempt.close(previous.handle);
        return outcome.handle;
      }
      if (previous && 'saved' in previous && sameBytes(previous.saved, outcome.saved)) {
        attempt.close(previous.handle);
        return outcome.handle;
      }
      seen.push(`a state of ${outcome.saved.length} bytes`);
    } else {
      if (previous && 'error' in previous && describe(previous.error) === describe(outcome.error)) throw outcome.error;
      seen.push(describe(outcome.error));
    }
    if (previous && 'handle' in previous) attempt.close(previous.handle);
    previous = outcome;
  }
  if (previous && 'handle' in previous) attempt.close(previous.handle);
  throw new MyceliumError(
    'corrupt',
    `${MAX_ATTEMPTS} loads of one snapshot gave ${MAX_ATTEMPTS} different results (${seen.join('; ')}): this JavaScript engine computed it wrongly, nothing was opened`,
  );
}

/**
 * A snapshot for storage, checked where loads are: `save()` it, load it back
 * through `loadBack(bytes)` and save that again; the bytes are kept only when
 * both agree. Tries three times, then throws `corrupt` (nothing is written).
 */
export function verifiedSave(save: () => Uint8Array, loadBack: (bytes: Uint8Array) => LoadAttempt): Uint8Array {
  const fault = testSwitches().saveFault;
  const seen: string[] = [];
  for (let n = 0; n < MAX_ATTEMPTS; n++) {
    let bytes = save();
    if (fault) bytes = fault(n, bytes);
    const back = loadBack(bytes);
    let handle = -1;
    try {
      handle = back.open();
      if (sameBytes(back.save(handle), bytes)) return bytes;
      seen.push('it saved back to other bytes');
    } catch (e) {
      seen.push(describe(e));
    } finally {
      if (handle >= 0) back.close(handle);
    }
  }
  throw new MyceliumError(
    'corrupt',
    `${MAX_ATTEMPTS} snapshots of the state did not load back to themselves (${seen.join('; ')}): this JavaScript engine computed them wrongly, nothing was written`,
  );
}

/** Computations of one delta for storage, until two agree (agreedBytes, agreedBytesLater). */
class Agreement {
  readonly #fault = testSwitches().deltaFault;
  readonly #made: Uint8Array[] = [];
  readonly #seen: string[] = [];
  #n: number;
  readonly #first: number;
  readonly #make: () => Uint8Array;

  /** `first`: the number the test switch sees for this agreement's first computation. */
  constructor(make: () => Uint8Array, first = 0) {
    this.#make = make;
    this.#n = this.#first = first;
  }

  /** One more computation: the bytes when they agree with an earlier one, else null. */
  next(): Uint8Array | null {
    const n = this.#n++;
    let bytes: Uint8Array;
    try {
      bytes = this.#make();
    } catch (e) {
      // A trap while making it, or the engine's own check refusing what it
      // computed (`corrupt`, e.g. "records out of order: this runtime
      // computed it wrongly"): the computation only reads the state, so
      // either is one more wrong computation. Any other error is the call's own.
      const wrong = e instanceof WebAssembly.RuntimeError || (e instanceof MyceliumError && e.code === 'corrupt');
      if (!wrong) throw e;
      this.#seen.push(describe(e));
      return null;
    }
    if (this.#fault) bytes = this.#fault(n, bytes);
    if (this.#made.some((m) => sameBytes(m, bytes))) return bytes;
    this.#made.push(bytes);
    this.#seen.push(`${bytes.length} bytes`);
    return null;
  }

  /** What the computations so far gave. */
  said(): string {
    return this.#seen.join(', ');
  }

  failed(): MyceliumError {
    const n = this.#n - this.#first;
    return new MyceliumError(
      'corrupt',
      `${n} computations of one delta gave ${n} different results (${this.said()}): this JavaScript engine computed them wrongly, nothing was written`,
    );
  }
}

/**
 * Bytes for storage that the engine computes deterministically (a log
 * entry: deltaSince of a version), checked where loads are: made until two
 * computations agree, at most three times, then `corrupt` (nothing is written).
 */
export function agreedBytes(make: () => Uint8Array): Uint8Array {
  const agreement = new Agreement(make);
  for (let n = 0; n < MAX_ATTEMPTS; n++) {
    const bytes = agreement.next();
    if (bytes) return bytes;
  }
  throw agreement.failed();
}

/**
 * Pauses before each round of computations after the first, where a flush
 * can wait: the fault strikes while a hot loop enters code still being
 * compiled on a background thread, and a pause lets that compilation finish,
 * so the next computation runs compiled code from its start.
 */
export const LATER_PAUSES_MS: readonly number[] = [50, 250, 1000];

/**
 * agreedBytes() where the caller can wait: when three computations disagree,
 * three more are made after each of LATER_PAUSES_MS (a round; only a round's
 * own computations are compared, as the state may change during a pause).
 * `corrupt` after the last round.
 */
export async function agreedBytesLater(make: () => Uint8Array): Promise<Uint8Array> {
  const seen: string[] = [];
  for (let r = 0; r <= LATER_PAUSES_MS.length; r++) {
    if (r > 0) await new Promise((done) => setTimeout(done, LATER_PAUSES_MS[r - 1]));
    const agreement = new Agreement(make, r * MAX_ATTEMPTS);
    for (let n = 0; n < MAX_ATTEMPTS; n++) {
      const bytes = agreement.next();
      if (bytes) return bytes;
    }
    seen.push(agreement.said());
  }
  throw new MyceliumError(
    'corrupt',
    `${LATER_PAUSES_MS.length + 1} rounds of ${MAX_ATTEMPTS} computations of one delta, with pauses of ${LATER_PAUSES_MS.join(', ')} ms, agreed on nothing (${seen.join('; ')}): this JavaScript engine computed them wrongly, nothing was written`,
  );
}

/**
 * Applies a stored log entry where the engine may compute wrongly. The
 * engine checks a whole delta before it joins any of it, so an apply that
 * throws a typed error changed nothing and is tried again; the entry's own
 * error is the one two tries in a row agree on (or the third). Anything else
 * thrown (a WebAssembly trap: the join may have begun) is rethrown for the
 * caller to rebuild the state from the start.
 */
export function agreedApply<T>(entry: Uint8Array, apply: (bytes: Uint8Array) => T): T {
  const fault = testSwitches().applyFault;
  let previous: string | null = null;
  for (let n = 0; ; n++) {
    try {
      return apply(fault ? fault(n, entry) : entry);
    } catch (e) {
      if (!(e instanceof MyceliumError) || e.code === 'schema_mismatch') throw e;
      const said = describe(e);
      if (said === previous || n === MAX_ATTEMPTS - 1) throw e;
      previous = said;
    }
  }
}
