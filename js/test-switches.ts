// Switches only the project's test suites turn on (never an app): they read
// globalThis.__myceliumTestSwitches, so a test can reach the bundled code in
// dist/ without a second build.

/** @internal */
export interface TestSwitches {
  /** collection.ts: every read served from the read cache is checked against the engine (an uncached read). */
  checkReads?: boolean;
  /** verified-load.ts: replaces what load number `attempt` (0, 1, 2) saved back, to act out a miscomputed load. */
  loadFault?: (attempt: number, saved: Uint8Array) => Uint8Array;
  /** verified-load.ts: replaces the snapshot attempt number `attempt` made for storage, before it is loaded back. */
  saveFault?: (attempt: number, snapshot: Uint8Array) => Uint8Array;
  /** verified-load.ts: replaces the delta attempt number `attempt` made for storage (a log entry). */
  deltaFault?: (attempt: number, delta: Uint8Array) => Uint8Array;
  /** verified-load.ts: replaces what attempt number `attempt` to apply a stored log entry applies. */
  applyFault?: (attempt: number, entry: Uint8Array) => Uint8Array;
  /** compression.ts: called before each slice goes into the compressor; may throw a WebAssembly.RuntimeError to act out a trap. */
  compressFault?: () => void;
  /** node/jetstream-storage.ts: every append waits this long (ms) before it publishes, to act out a slow JetStream. */
  relayPublishDelay?: number;
}

const NONE: TestSwitches = Object.freeze({});

/** @internal The switches in force (none in an app). */
export function testSwitches(): TestSwitches {
  const s = (globalThis as { __myceliumTestSwitches?: TestSwitches }).__myceliumTestSwitches;
  return typeof s === 'object' && s !== null ? s : NONE;
}
