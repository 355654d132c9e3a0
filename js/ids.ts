// Record ids (docs/queries.md): 16 characters of a 64-letter URL-safe
// alphabet in byte order, 8 for the millisecond clock (48 bits) and 8 random
// (48 bits). Within one millisecond, and when the clock steps back, a
// replica's next id is its last plus one: generated ids sort (bytewise, the
// engine's order) by when they were made, as ULIDs and UUIDv7 do.
const ALPHABET = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
const POOL = 4096;
const pool = new Uint8Array(POOL);
let next = POOL;
let lastMs = -1;
const tail = new Uint8Array(8); // the random part, one 6-bit digit each

function randomTail(): void {
  if (next + 8 > POOL) {
    crypto.getRandomValues(pool);
    next = 0;
  }
  for (let i = 0; i < 8; i++) tail[i] = pool[next++]! & 63;
}

/** A new id, after every id this module made before (clock = Date.now). */
export function newId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    randomTail();
  } else {
    // The same millisecond (or the clock went back): count up.
    let i = 7;
    while (i >= 0 && tail[i] === 63) tail[i--] = 0;
    if (i >= 0) tail[i]!++;
    else {
      lastMs++;
      randomTail();
    }
  }
  let id = '';
  let ms = lastMs;
  const head: string[] = new Array(8);
  for (let i = 7; i >= 0; i--) {
    head[i] = ALPHABET[ms % 64]!;
    ms = Math.floor(ms / 64);
  }
  id = head.join('');
  for (let i = 0; i < 8; i++) id += ALPHABET[tail[i]!];
  return id;
}

/** UTF-8 byte order (the engine's id order), computed on UTF-16: code point order. */
export function compareIds(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (code points from U+10000) sort above U+E000..U+FFFF.
    if (x >= 0xd800) x = x < 0xe000 ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    return x - y;
  }
  return a.length - b.length;
}
