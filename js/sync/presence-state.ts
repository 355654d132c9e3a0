// What a presence state is (docs/presence.md): JSON, at most MAX_PRESENCE_STATE
// characters of it, frozen all the way down because every reader shares it.
// Shared by the public facade (which checks a state when it is set) and the
// sync engine (which checks what peers send).
import { MyceliumError } from '../errors.js';

/** JSON: what a presence state may hold. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Nobody: the peers() of a presence with no one else in it, one array for all (a stable snapshot). */
export const NO_PEERS: readonly never[] = Object.freeze([]);

/** Largest presence state, as JSON text (UTF-16 code units, as JSON.stringify counts them). */
export const MAX_PRESENCE_STATE = 8192;

/** Freezes a JSON value all the way down. */
export function deepFreeze<T extends JsonValue>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, JsonValue>)[k]!);
    Object.freeze(v);
  }
  return v;
}

/**
 * A state as this replica shows it and sends it: its JSON text, and a frozen
 * copy read back from that text (what peers will see; the caller's object
 * stays the caller's). Throws invalid_argument for what JSON cannot carry,
 * limit_exceeded past the limit.
 */
export function presenceState(value: unknown): { state: JsonValue; text: string } {
  let text: string | undefined;
  try {
    text = JSON.stringify(value) as string | undefined;
  } catch (e) {
    throw new MyceliumError('invalid_argument', `a presence state is JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (text === undefined || value === null) throw new MyceliumError('invalid_argument', 'a presence state is a JSON value other than null (set(null) clears it)');
  if (text.length > MAX_PRESENCE_STATE) throw new MyceliumError('limit_exceeded', `a presence state of ${text.length} characters of JSON; at most ${MAX_PRESENCE_STATE}`);
  return { state: deepFreeze(JSON.parse(text) as JsonValue), text };
}
