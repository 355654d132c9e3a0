// npm run bench:relay (issue 22): relay nodes on a three-server NATS
// JetStream cluster (R3), with many light clients (bench/relay-clients.mjs,
// thousands per process) spread over the nodes and the stores. Measures,
// at rising write rates: writes acknowledged per second (in JetStream),
// the time from a write's acknowledgement wait to its ack, the end-to-end
// latency from a write at one client to its arrival at clients of other
// nodes, and the memory a node spends per idle client connection; reports
// the first rate at which it stops keeping up, and why. Then the same
// clients, stores and rates on Hocuspocus + Redis (three Hocuspocus nodes
// with @hocuspocus/extension-redis, Yjs clients), in the same run.
//
//   MYC_RELAY_CLIENTS (10000)  MYC_RELAY_STORES (100)  MYC_RELAY_PROCS (4)
//   MYC_RELAY_RATES (25,50,100,...,1600 writes/s)  MYC_RELAY_SECONDS (10 a rate)
//   MYC_RELAY_SYSTEMS (mycelium,hocuspocus)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { natsCluster, nodeProcess, redisServer, relayNode, sleep } from '../tests-relay/cluster.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = (k, d) => Number(process.env[k] ?? d);
const CLIENTS = env('MYC_RELAY_CLIENTS', 10_000);
const STORES = env('MYC_RELAY_STORES', 100);
const PROCS = env('MYC_RELAY_PROCS', 4);
const SECONDS = env('MYC_RELAY_SECONDS', 10);
const RATES = (process.env.MYC_RELAY_RATES ?? '25,50,100,200,400,800,1600').split(',').map(Number);
const SYSTEMS = (process.env.MYC_RELAY_SYSTEMS ?? 'mycelium,hocuspocus').split(',');
/** One client in this many writes (the rest only read). */
const WRITER_EVERY = 10;

const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const MiB = 1024 * 1024;

const schema = { notes: { t: 'lww', n: 'counter' } };
const names = Array.from({ length: STORES }, (_, i) => `s${i}`);

/** The systems measured: each starts three nodes (and what they need) and names its client script. */
const systems = {
  mycelium: {
    title: 'mycelium-sync relays on NATS JetStream (3 servers, R3)',
    ack: 'in JetStream, on 2 of 3 servers',
    clients: 'bench/relay-clients.mjs',
    async start() {
      const nats = await natsCluster(3);
      // Each node takes a third of the clients and more (the default, 1,024, is for one small server).
      const nodes = [];
      for (let i = 0; i < 3; i++) nodes.push(await relayNode({ nats: nats.urls, replicas: 3, schema, names, maxConnections: CLIENTS }));
      return { nodes, stop: () => nats.stop() };
    },
  },
  hocuspocus: {
    title: 'Hocuspocus 4.7 + Redis 7 (3 nodes, @hocuspocus/extension-redis), Yjs clients',
    ack: 'applied in the memory of one node',
    clients: 'bench/hocuspocus-clients.mjs',
    async start() {
      const redis = await redisServer();
      const nodes = [];
      for (let i = 0; i < 3; i++) nodes.push(await nodeProcess(join(root, 'bench/hocuspocus-node.mjs'), { redisPort: redis.port }));
      return { nodes, stop: () => redis.stop() };
    },
  },
};

/** Why a system cannot run here, or null. */
function missing(name) {
  const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (name === 'mycelium' && !has('nats-server')) return 'nats-server is not installed (apt-get install nats-server)';
  if (name === 'hocuspocus' && !has('redis-server')) return 'redis-server is not installed (apt-get install redis-server)';
  return null;
}

/** A client process, spoken to in JSON lines (bench/relay-driver.mjs). */
function clientProcess(script, urls, first, count) {
  const prof = process.env.MYC_RELAY_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MYC_RELAY_PROFILE}`] : [];
  const proc = spawn(process.execPath, ['--max-old-space-size=8192', ...prof, join(root, script), JSON.stringify({ urls, stores: STORES, first, count, writerEvery: WRITER_EVERY })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = [];
  createInterface({ input: proc.stdout }).on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const next = () => new Promise((r) => waiting.push(r));
  return { proc, next, tell: (m) => proc.stdin.write(`${JSON.stringify(m)}\n`) };
}

async function measure(name) {
  const system = systems[name];
  console.log(`\n== ${system.title}: ${CLIENTS} clients over 3 nodes and ${STORES} stores, ${PROCS} client processes`);
  const { nodes, stop } = await system.start();
  await sleep(500);
  const idleRss = nodes.map((r) => rssOf(r.pid));
  const started = performance.now();
  const procs = [];
  const per = Math.ceil(CLIENTS / PROCS);
  for (let i = 0; i < PROCS; i++) procs.push(clientProcess(system.clients, nodes.map((r) => r.url), i * per, Math.min(per, CLIENTS - i * per)));
  const ready = await Promise.all(procs.map((p) => p.next()));
  const connectSeconds = (performance.now() - started) / 1000;
  await sleep(2000);
  const connectedRss = nodes.map((r) => rssOf(r.pid));
  const perConnection = connectedRss.reduce((a, b, i) => a + b - idleRss[i], 0) / CLIENTS;
  const writers = ready.reduce((a, r) => a + r.writers, 0);
  console.log(`connected ${CLIENTS} clients (${writers} writers) in ${connectSeconds.toFixed(1)} s; node RSS ${connectedRss.map((b) => (b / MiB).toFixed(0)).join(' / ')} MiB; ${(perConnection / 1024).toFixed(1)} KiB per idle client connection`);

  const rows = [];
  let broke = null;
  for (const rate of RATES) {
    for (const p of procs) p.tell({ cmd: 'rate', perSecond: rate / PROCS });
    await sleep(SECONDS * 1000);
    for (const p of procs) p.tell({ cmd: 'rate', perSecond: 0 });
    // What is still in flight gets 3 s to arrive before it is counted as late.
    await sleep(3000);
    for (const p of procs) p.tell({ cmd: 'report' });
    const reports = await Promise.all(procs.map((p) => p.next()));
    const written = reports.reduce((a, r) => a + r.written, 0);
    const acked = reports.reduce((a, r) => a + r.acked, 0);
    const arrivals = reports.flatMap((r) => r.arrivals);
    const acks = reports.flatMap((r) => r.acks);
    const lags = reports.flatMap((r) => r.lags);
    const row = {
      offered_per_s: rate,
      written_per_s: Math.round(written / SECONDS),
      acked_per_s: Math.round(acked / SECONDS),
      acked_share: written ? acked / written : 0,
      ack_p50_ms: pct(acks, 50),
      ack_p99_ms: pct(acks, 99),
      e2e_p50_ms: pct(arrivals, 50),
      e2e_p90_ms: pct(arrivals, 90),
      e2e_p99_ms: pct(arrivals, 99),
      e2e_max_ms: arrivals.length ? Math.max(...arrivals) : NaN,
      e2e_samples: arrivals.length,
      node_rss_mib: nodes.map((r) => Math.round(rssOf(r.pid) / MiB)),
      client_lag_p50_ms: Math.round(pct(lags, 50)),
      client_lag_p99_ms: Math.round(pct(lags, 99)),
    };
    rows.push(row);
    console.log(
      `${String(rate).padStart(6)} offered/s  written ${String(row.written_per_s).padStart(6)}/s  acked ${String(row.acked_per_s).padStart(6)}/s (${(row.acked_share * 100).toFixed(0)}%)  ` +
        `ack p50 ${row.ack_p50_ms} p99 ${row.ack_p99_ms} ms  end-to-end p50 ${row.e2e_p50_ms} p99 ${row.e2e_p99_ms} ms  node RSS ${row.node_rss_mib.join('/')} MiB  client event loop late p50 ${row.client_lag_p50_ms} p99 ${row.client_lag_p99_ms} ms`,
    );
    const reasons = [];
    if (row.written_per_s < rate * 0.9) reasons.push(`the clients could not write ${rate}/s (wrote ${row.written_per_s}/s: the client processes ran out of CPU)`);
    if (row.acked_share < 0.95) reasons.push(`acknowledgements fell behind (${(row.acked_share * 100).toFixed(0)}% within 3 s of the end)`);
    if (row.e2e_p99_ms > 2000) reasons.push(`end-to-end p99 passed 2 s (${row.e2e_p99_ms} ms)`);
    if (reasons.length > 0 && broke === null) broke = { rate, reasons };
    // Past the first break the rates go on while the system still does most of the work, to show how it degrades.
    if (row.acked_share < 0.5 || row.written_per_s < rate * 0.5) break;
  }
  console.log(broke ? `first to break, at ${broke.rate} writes/s: ${broke.reasons.join('; ')}` : `kept up at every rate up to ${RATES.at(-1)} writes/s`);
  if (broke && rows.at(-1).offered_per_s < RATES.at(-1)) console.log(`stopped after ${rows.at(-1).offered_per_s} writes/s: it acknowledged or wrote less than half of what was offered`);
  for (const p of procs) p.tell({ cmd: 'exit' });
  for (const r of nodes) await r.stop();
  await stop();
  return { title: system.title, acknowledged: system.ack, writers, connect_seconds: connectSeconds, bytes_per_idle_connection: Math.round(perConnection), rows, broke };
}

const results = {};
for (const name of SYSTEMS) {
  const why = missing(name);
  if (why) {
    console.log(`\n== ${name}: not measured: ${why}`);
    results[name] = { not_measured: why };
    continue;
  }
  results[name] = await measure(name);
}

// Side by side, rate by rate.
console.log(`\n${'system'.padEnd(12)} ${'KiB/conn'.padStart(9)} ${'connect s'.padStart(10)}  acknowledged means`);
for (const [name, r] of Object.entries(results)) {
  if (!r.rows) console.log(`${name.padEnd(12)} not measured: ${r.not_measured}`);
  else console.log(`${name.padEnd(12)} ${(r.bytes_per_idle_connection / 1024).toFixed(1).padStart(9)} ${r.connect_seconds.toFixed(1).padStart(10)}  ${r.acknowledged}`);
}
console.log(`\n${'writes/s'.padStart(8)} ${'system'.padEnd(12)} ${'acked'.padStart(6)} ${'ack p50'.padStart(8)} ${'ack p99'.padStart(8)} ${'e2e p50'.padStart(8)} ${'e2e p99'.padStart(8)}`);
for (const rate of RATES) {
  for (const [name, r] of Object.entries(results)) {
    const row = r.rows?.find((x) => x.offered_per_s === rate);
    if (!row) continue;
    console.log(
      `${String(rate).padStart(8)} ${name.padEnd(12)} ${`${Math.round(row.acked_share * 100)}%`.padStart(6)} ${String(row.ack_p50_ms).padStart(8)} ${String(row.ack_p99_ms).padStart(8)} ${String(row.e2e_p50_ms).padStart(8)} ${String(row.e2e_p99_ms).padStart(8)}`,
    );
  }
}

mkdirSync(join(root, 'bench/results'), { recursive: true });
const out = { date: new Date().toISOString(), clients: CLIENTS, stores: STORES, nodes: 3, client_processes: PROCS, seconds_per_rate: SECONDS, systems: results };
writeFileSync(join(root, 'bench/results/relay.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log('wrote bench/results/relay.json');
process.exit(0);
