import * as M from 'mycelium-sync';
const schema = { people: { name: 'lww', email: 'lww', age: 'lww', visits: 'counter', tags: 'set' } };
const src = await M.open({ schema, actor: '0000000000001111', compression: process.env.NOZ ? false : true });
const p = src.collection('people');
for (let i = 0; i < 1000; i++) p.insert({ id: `p${i}` });
let r = 1;
for (let i = 0; i < 10000; i++) { const id = `p${(r = (r * 48271) % 2147483647) % 1000}`; p.update(id, (w) => w.set('age', i)); }
const delta = src.deltaSince();
const T = [];
for (let k = 0; k < 60; k++) { const s = await M.open({ schema, actor: '0000000000002222' }); const t = performance.now(); s.applyDelta(delta); T.push(performance.now() - t); s.close(); }
T.sort((a, b) => a - b); console.log(process.env.NOZ ? 'plain' : 'zstd', 'bytes', delta.length, 'merge median', T[30].toFixed(2));
