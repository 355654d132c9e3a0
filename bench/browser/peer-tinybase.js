// Bundled by bench/browser-bench.mjs into build/bench/tinybase.js: TinyBase's
// store and queries, for the live-query row (bench/query-workloads.js).
import * as T from 'tinybase';

export async function load() {
  return T;
}
