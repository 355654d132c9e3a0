// The client side of `npm run bench:relay`, shared by the client processes
// of every system it measures (bench/relay-clients.mjs: mycelium-sync;
// bench/hocuspocus-clients.mjs: Yjs on Hocuspocus). Speaks to
// bench/relay-bench.mjs in JSON lines: {cmd:'rate', perSecond} starts (or
// changes) this process's writes, {cmd:'report'} answers with what was
// measured since the last report, {cmd:'exit'}.
import { createInterface } from 'node:readline';

const send = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);

/** What a process measured since its last report. */
export const measured = {
  written: 0,
  acked: 0,
  /** ms from a write at a client of one relay to its arrival at a client of another (sampled). */
  arrivals: [],
  /** ms from a write to the relay's acknowledgement of it. */
  acks: [],
};

/** How late this process's event loop runs (ms, sampled every 100 ms): the clients' own load. */
const lags = [];
let tick = performance.now();
setInterval(() => {
  const now = performance.now();
  lags.push(Math.max(0, now - tick - 100));
  tick = now;
}, 100).unref();

/** A client of another relay received a write made at `t` (Date.now() of the writer): sampled 1 in 8. */
export function arrived(t) {
  if (typeof t === 'number' && Math.random() < 1 / 8) measured.arrivals.push(Date.now() - t);
}

/** The relay acknowledged the writes made at these times. */
export function ackedAll(times) {
  const now = Date.now();
  for (const t of times) measured.acks.push(now - t);
  measured.acked += times.length;
}

/** The arguments relay-bench.mjs gives every client process. */
export const args = JSON.parse(process.argv[2]);

/**
 * Says the clients are connected, then writes at the rate asked:
 * `write(client, now, k)` makes the k-th write of this process at a writer.
 */
export function drive({ clients, writers, write }) {
  send({ ready: true, clients, writers: writers.length, rss: process.memoryUsage().rss });
  let timer = null;
  let next = 0;
  createInterface({ input: process.stdin }).on('line', (line) => {
    const m = JSON.parse(line);
    if (m.cmd === 'rate') {
      if (timer) clearInterval(timer);
      timer = null;
      if (m.perSecond > 0 && writers.length > 0) {
        // Writes in ticks of 10 ms; owed by the time passed, not by ticks: a busy loop runs late, not less.
        let owed = 0;
        let last = performance.now();
        timer = setInterval(() => {
          const now = performance.now();
          owed += (m.perSecond * (now - last)) / 1000;
          last = now;
          for (; owed >= 1; owed--) {
            const k = next++;
            write(writers[k % writers.length], Date.now(), k);
            measured.written++;
          }
        }, 10);
      }
    } else if (m.cmd === 'report') {
      send({ ...measured, lags: lags.splice(0), rss: process.memoryUsage().rss });
      measured.written = 0;
      measured.acked = 0;
      measured.arrivals = [];
      measured.acks = [];
    } else if (m.cmd === 'exit') {
      process.exit(0);
    }
  });
}

/** Resolves once `ok()` holds (checked every 100 ms). */
export function whenAll(ok) {
  return new Promise((resolve) => {
    const check = setInterval(() => {
      if (!ok()) return;
      clearInterval(check);
      resolve();
    }, 100);
  });
}
