// How a bench page loads each library: mycelium-sync from the package's ESM
// build, the peers from bundles that bench/browser-bench.mjs builds into
// build/bench/ (each compiles its wasm by streaming, as ours does, except
// diamond-types: its glue compiles the fetched bytes, peer-dt.js).
export async function loadLib(name) {
  if (name === 'mycelium') return import('/dist/index.js');
  if (name === 'yjs' || name === 'automerge' || name === 'loro' || name === 'dt' || name === 'tinybase') return (await import(`/build/bench/${name}.js`)).load();
  throw new Error(`unknown library ${name}`);
}


/** A library with its IndexedDB persistence, for the persistence workloads. */
export async function loadPersistLib(name) {
  if (name === 'mycelium') return import('/dist/index.js');
  if (name === 'yjs') return (await import('/build/bench/yidb.js')).load();
  if (name === 'automerge') return (await import('/build/bench/amrepo.js')).load();
  throw new Error(`no persistence workload for ${name}`);
}
