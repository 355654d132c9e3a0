// Assertions for page-level tests and the cases Node shares with them
// (api-cases.js): plain functions that throw with a message saying what
// differed. deepEqual knows Uint8Array, bigint, NaN and -0.

function show(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `Uint8Array[${Array.from(v).join(',')}]`;
  try {
    return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `Uint8Array[${Array.from(x)}]` : x));
  } catch {
    return String(v);
  }
}

function same(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k]));
}

export function ok(cond, msg = 'expected true') {
  if (!cond) throw new Error(msg);
}

export function eq(actual, expected, msg = '') {
  if (!same(actual, expected)) throw new Error(`${msg ? `${msg}: ` : ''}expected ${show(expected)}, got ${show(actual)}`);
}

export function bytesEqual(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// Recognised by name and code: a package imported under another URL (the
// loading tests) has a class of its own, and this module imports none.
function checkError(e, code, msg) {
  const typed = e instanceof Error && e.name === 'MyceliumError' && typeof e.code === 'string';
  if (!typed) throw new Error(`${msg}: expected MyceliumError ${code}, got ${String(e)}`);
  if (code && e.code !== code) throw new Error(`${msg}: expected code ${code}, got ${e.code} (${e.message})`);
  return e;
}

/** fn() throws a MyceliumError with this code (any code when code is null). */
export function throwsCode(fn, code, msg = String(fn)) {
  try {
    fn();
  } catch (e) {
    return checkError(e, code, msg);
  }
  throw new Error(`${msg}: expected MyceliumError ${code}, nothing was thrown`);
}

export async function rejectsCode(promise, code, msg = 'promise') {
  try {
    await promise;
  } catch (e) {
    return checkError(e, code, msg);
  }
  throw new Error(`${msg}: expected rejection with ${code}, it resolved`);
}
