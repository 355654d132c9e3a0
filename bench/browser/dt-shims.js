// What diamond-types-node's glue needs of Node's fs, path and util, in a
// browser: the wasm bytes peer-dt.js fetched, and the platform's text codecs.
export const readFileSync = () => globalThis.__dtWasmBytes;
export const join = () => 'dt_bg.wasm';
export const TextDecoder = globalThis.TextDecoder;
export const TextEncoder = globalThis.TextEncoder;
