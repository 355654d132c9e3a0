/** Every error code, at run time. Stable. */
export const ERROR_CODES = [
  'invalid_argument',
  'unknown_field',
  'wrong_kind',
  'not_found',
  'already_exists',
  'corrupt',
  'unsupported_version',
  'schema_mismatch',
  'limit_exceeded',
  'closed',
  'load_failed',
  'quota_exceeded',
  'storage_unavailable',
  'storage_failed',
  'transport_unavailable',
  'forbidden',
  'timeout',
  'unauthorized',
  'insufficient_credit',
] as const;

/** Stable error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The engine's codes by number (cpp/status.h, enum Code; the bindings return
 * them negated), each with the name code_name() gives it.
 * js/tests/errors.test.ts reads status.h and status.cc and checks that this
 * table says the same.
 */
export const ENGINE_CODES: { readonly [code: number]: string } = {
  1: 'invalid_argument',
  2: 'unknown_field',
  3: 'wrong_kind',
  4: 'not_found',
  5: 'already_exists',
  6: 'corrupt',
  7: 'unsupported_version',
  8: 'schema_mismatch',
  9: 'limit_exceeded',
  10: 'pending_full',
  11: 'insufficient_credit',
};

/** Engine codes the TypeScript layer acts on. */
export const enum EngineCode {
  NotFound = 4,
  PendingFull = 10,
}

/** The public code of an engine code: a full queue of held deltas is a limit, to the app. */
function publicCode(code: number): ErrorCode {
  const name = ENGINE_CODES[code];
  if (name === 'pending_full') return 'limit_exceeded';
  return name !== undefined && (ERROR_CODES as readonly string[]).includes(name) ? (name as ErrorCode) : 'corrupt';
}

/** Every error mycelium-sync throws. `code` is stable; `message` says what was wrong. */
export class MyceliumError extends Error {
  readonly code: ErrorCode;
  /** The message without the code in front: what to put in another error's message, so the code is said once. */
  readonly reason: string;

  constructor(code: ErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'MyceliumError';
    this.code = code;
    this.reason = message;
  }
}

/** The error for an engine code (as the bindings return it negated). */
export function engineError(code: number, message: string): MyceliumError {
  return new MyceliumError(publicCode(code), message);
}

/** A code a peer sent: kept when it is one of ours, else 'corrupt' (what arrived is not an error we know). */
export function knownCode(code: string): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'corrupt';
}
