// What the lazily loaded sync engine (engine.ts) uses from the core bundle,
// handed over by facade.ts when it loads the engine. The engine imports no
// core module at run time, so the bundler emits it as one self-contained
// chunk and index.js stays one request (as persistence.ts does).
import type { ErrorCode, MyceliumError as MyceliumErrorClass } from '../errors.js';
import type { Schema } from '../schema.js';

export interface SyncDeps {
  readonly MyceliumError: typeof MyceliumErrorClass;
  readonly schemaHash: (schema: Schema) => string;
  readonly protocolVersion: number;
  readonly errorCodes: readonly string[];
}

export let MyceliumError: typeof MyceliumErrorClass;
export let schemaHash: (schema: Schema) => string;
export let PROTOCOL_VERSION = 0;
let errorCodes: ReadonlySet<string> = new Set();

/** A code a peer sent: kept when it is one of ours, else 'corrupt' (what arrived is not an error we know). */
export function knownCode(code: string): ErrorCode {
  return errorCodes.has(code) ? (code as ErrorCode) : 'corrupt';
}

export function setDeps(d: SyncDeps): void {
  MyceliumError = d.MyceliumError;
  schemaHash = d.schemaHash;
  PROTOCOL_VERSION = d.protocolVersion;
  errorCodes = new Set(d.errorCodes);
}
