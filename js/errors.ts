/** Every error code, at run time. Stable; the first nine are the engine's (cpp/status.h), in its order. */
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
] as const;

/** Stable error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

const ENGINE_CODES = ERROR_CODES.slice(0, 9);

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

/** The error for an engine code (1-based, as the bindings return it negated). */
export function engineError(code: number, message: string): MyceliumError {
  return new MyceliumError(ENGINE_CODES[code - 1] ?? 'corrupt', message);
}
