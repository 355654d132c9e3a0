// Record ids: 16 characters from a 64-letter URL-safe alphabet (96 random
// bits), drawn from crypto.getRandomValues in blocks.
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_';
const POOL = 4096;
const pool = new Uint8Array(POOL);
let next = POOL;

export function newId(): string {
  if (next + 16 > POOL) {
    crypto.getRandomValues(pool);
    next = 0;
  }
  let id = '';
  for (let i = 0; i < 16; i++) id += ALPHABET[pool[next++]! & 63];
  return id;
}
