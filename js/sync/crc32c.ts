// CRC32C (Castagnoli), the checksum of every frame (cpp/crc32c.h), for the
// sync frames that the TypeScript layer reads and writes itself.
// Slicing-by-4 over 1 KiB of tables.

const POLY = 0x82f63b78;
const T = new Uint32Array(1024);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[i] = c >>> 0;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 4; t++) {
    const prev = T[(t - 1) * 256 + i]!;
    T[t * 256 + i] = (T[prev & 0xff]! ^ (prev >>> 8)) >>> 0;
  }
}

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  let i = 0;
  const n = bytes.length;
  for (; i + 4 <= n; i += 4) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c = T[768 + (c & 0xff)]! ^ T[512 + ((c >>> 8) & 0xff)]! ^ T[256 + ((c >>> 16) & 0xff)]! ^ T[c >>> 24]!;
  }
  for (; i < n; i++) c = T[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
