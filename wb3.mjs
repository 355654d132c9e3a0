import * as W from '/work/main/bench/workloads.js';
const M = await import('mycelium-sync');
const lib = await W.mycelium(M, { reps: 7, warmup: 3 });
await lib.writes(10000); await lib.writesBatched(10000);
const r = [];
for (let k = 0; k < 3; k++) { const a = await lib.writes(100000), b = await lib.writesBatched(100000); r.push([Math.round(1e8 / a), Math.round(1e8 / b)]); }
const m = await lib.merge();
console.log(JSON.stringify(r), 'merge', m.merge_10k_ms.toFixed(2), m.merge_10k_concurrent_ms.toFixed(2));
