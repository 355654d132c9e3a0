// bench/report.html: one self-contained page (inline CSS, no scripts, no
// CDN) showing, per engine, each budget against its target and the peers
// side by side as bars, from bench/results/<engine>.json and size.json, and
// the history of each gated ratio (bench/history/, bench/gates.json) as a
// small inline chart per row, so that a regression shows at a glance.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGates, readHistory } from './gates.mjs';

/** Targets in Chromium on this machine (issue: cross-browser suite and budgets). */
export const TARGETS = { query_first_ms: 20, query_update_local_ms: 0.2, query_update_remote_ms: 5, read_get_us: 0.3, read_get_after_change_us: 3, read_all_100k_ms: 50, merge_10k_ms: 3, memory_100k_bytes: 32e6, cold_start_ms: 150, wasm_total_gz: 60e3, reopen_100k_ms: 250, persist_10k_ms: 100, sync_ops_per_sec: 500e3, sync_initial_100k_ms: 1500 };
/** Every engine: these rows at least this many times better than the best peer. */
export const PEER_FACTOR = 2;
/** The browser profiles of a full run, in the order tables show them. */
export const PROFILES = ['chromium', 'chromium-cpu4x', 'firefox', 'webkit'];

const ROWS = [
  ['merge_10k_ms', 'merge 10k ops into an empty replica', 'lower'],
  ['merge_10k_concurrent_ms', 'merge 10k ops into a replica with 10k concurrent ops', 'lower'],
  ['memory_100k_bytes', 'memory for 100,000 records × 5 fields', 'lower'],
  ['cold_start_ms', 'navigation start → empty store ready (fresh context, no cache)', 'lower'],
  ['cold_start_warm_ms', 'the same on a second visit, page and library cached (max-age a year): a warm HTTP cache', 'lower'],
  ['local_writes_per_sec', 'single-field writes per second, one API call each', 'higher'],
  ['read_get_us', 'get() of a random record, unchanged since the last read (records × 5 fields)', 'lower'],
  ['read_get_after_change_us', 'get() of a record a remote delta just changed', 'lower'],
  ['read_all_100k_ms', 'every record (all() / toJSON()), after one record changed remotely', 'lower'],
  ['read_all_100k_cold_ms', 'every record, the first read after loading', 'lower'],
  ['reopen_100k_ms', 'a new page opens 100,000 stored records until readable (IndexedDB)', 'lower'],
  ['persist_10k_ms', '10,000 writes until durable in IndexedDB (flush)', 'lower'],
  ['idb_bytes_100k', 'bytes IndexedDB holds for 100,000 records × 5 fields', 'lower'],
  ['sync_ops_per_sec', '100,000 writes in batches of 1,000, over a real RTCDataChannel between two contexts, until the receiver has the last', 'higher'],
  ['sync_initial_100k_ms', 'a fresh peer joins a 100,000-record store over WebRTC (signalling included) until it has every record', 'lower'],
  ['sync_bytes_per_op', 'bytes the writer sent on the data channel per write (sync_ops_per_sec workload)', 'lower'],
  ['text_apply_ms', 'automerge-paper: 259,778 edits as local edits, one transaction per trace transaction (bench/text-workloads.js)', 'lower'],
  ['text_snapshot_bytes', 'automerge-paper: the final document as each library saves it', 'lower'],
  ['text_load_ms', 'automerge-paper: a fresh replica from that snapshot, then read the text', 'lower'],
  ['text_merge_ms', 'automerge-paper: the whole history as one update into an empty replica, then read', 'lower'],
  ['text_memory_bytes', 'automerge-paper: memory of the replayed document (as memory_100k_bytes)', 'lower'],
  ['query_first_ms', 'live query over 100,000 records (not done, votes ≥ 2, by due, first 50): made on a freshly loaded replica until its first results (bench/query-workloads.js; tinybase: its queries module)', 'lower'],
  ['query_update_local_ms', 'the same query, one local write to a record in its window until the results show it (array: filter, sort and slice all() again)', 'lower'],
  ['query_update_remote_ms', 'the same query, a 1,000-record delta joined from a peer until the results show it (tinybase: 1,000 setCells in one transaction)', 'lower'],
  ['memory_100k_after_save_bytes', 'WebAssembly memory a save() of 100,000 records leaves behind (memory never shrinks; mycelium-sync only)', 'lower'],
  ['memory_100k_after_initial_sync_bytes', 'the same for deltaSince({}), what a new peer’s initial sync sends', 'lower'],
  ['memory_100k_after_apply_snapshot_bytes', 'the same for applyDelta() of that snapshot into an empty replica, the receiving side', 'lower'],
  ['memory_after_100k_overwrites_bytes', 'the same for 100,000 overwrites of one 60-byte field (the state stays ~150 bytes)', 'lower'],
];
/** Rows where a larger figure is better. */
export const HIGHER = new Set(ROWS.filter(([, , d]) => d === 'higher').map(([k]) => k));
const PEER_ROWS = new Set(['merge_10k_ms', 'merge_10k_concurrent_ms', 'memory_100k_bytes', 'cold_start_ms', 'cold_start_warm_ms', 'local_writes_per_sec', 'read_get_us', 'read_get_after_change_us', 'read_all_100k_ms', 'read_all_100k_cold_ms']);

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
export function fmt(key, v) {
  if (v === null || v === undefined) return 'n/a';
  if (key.endsWith('_bytes') || key.endsWith('_gz') || key.startsWith('idb_bytes')) return v >= 1e6 ? `${(v / 1e6).toFixed(2)} MB` : `${(v / 1e3).toFixed(1)} KB`;
  if (key.endsWith('_ms')) return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
  if (key.endsWith('_us')) return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} µs`;
  if (key === 'sync_bytes_per_op') return `${v.toFixed(2)} B`;
  return Math.round(v).toLocaleString('en-US');
}

function bars(key, entries, direction) {
  const nums = entries.map(([, v]) => v).filter((v) => typeof v === 'number');
  const max = Math.max(...nums, 1e-9);
  const best = direction === 'higher' ? Math.max(...nums) : Math.min(...nums);
  return entries
    .map(([name, v]) => {
      const w = typeof v === 'number' ? Math.max(0.5, (v / max) * 100) : 0;
      const cls = name === 'mycelium-sync' ? 'ours' : 'peer';
      return `<div class="bar"><span class="lib">${esc(name)}</span><span class="track"><span class="fill ${cls}${v === best ? ' best' : ''}" style="width:${w.toFixed(1)}%"></span></span><span class="val">${esc(fmt(key, v))}</span></div>`;
    })
    .join('');
}

function engineSection(r) {
  const ours = r;
  const peers = Object.keys(r.peers);
  const title = r.cpu_throttle > 1 ? `${r.engine.replace(/-cpu\d+x$/, '')}, CPU throttled ${r.cpu_throttle}× (low-end profile)` : r.engine;
  let html = `<section><h2>${esc(title)} <small>${esc(r.browser_version)} · ${esc(r.date)}</small></h2><table><tr><th>budget</th><th>target</th><th>mycelium-sync and peers</th><th>best peer ÷ ours</th></tr>`;
  for (const [key, what, direction] of ROWS) {
    const v = ours[key];
    if (v === undefined) continue; // a row this run did not measure
    const entries = [['mycelium-sync', v], ...peers.filter((p) => r.peers[p][key] !== undefined).map((p) => [p, r.peers[p][key]])];
    const target = r.engine.startsWith('chromium') ? TARGETS[key] : undefined;
    let verdict = '';
    if (target !== undefined && typeof v === 'number') {
      const okT = direction === 'higher' ? v >= target : v <= target;
      verdict = `<span class="${okT ? 'pass' : 'miss'}">${direction === 'higher' ? '≥' : '≤'} ${esc(fmt(key, target))} ${okT ? 'met' : 'missed'}</span>`;
    }
    const ratio = r.ratio_to_best_peer ? r.ratio_to_best_peer[key] : null;
    let ratioCell = 'n/a';
    if (typeof ratio === 'number') {
      const good = !PEER_ROWS.has(key) || ratio >= PEER_FACTOR;
      ratioCell = PEER_ROWS.has(key)
        ? `<span class="${good ? 'pass' : 'miss'}">${ratio.toFixed(2)}×</span><br><small>goal ≥ ${PEER_FACTOR}×</small>`
        : `${ratio.toFixed(2)}×`;
    }
    html += `<tr><td><code>${esc(key)}</code><br><small>${esc(what)}</small></td><td>${verdict || '—'}</td><td>${bars(key, entries, direction)}</td><td>${ratioCell}</td></tr>`;
  }
  const memNote = ours.memory_100k_heap_bytes === null
    ? `<p class="note">${esc(r.engine)} has no JS heap measurement a page or driver can read: memory is WebAssembly linear memory only, and not reported for yjs (all its data is JS heap).</p>`
    : '<p class="note">memory = growth of every WebAssembly memory in the page + JS heap growth after GC (CDP).</p>';
  const floor = typeof r.cold_start_page_floor_ms === 'number'
    ? `<p class="note">cold start of the same page loading no library (the floor under every cold-start bar): ${esc(fmt('cold_start_ms', r.cold_start_page_floor_ms))}${typeof r.cold_start_warm_page_floor_ms === 'number' ? `; with a warm cache ${esc(fmt('cold_start_ms', r.cold_start_warm_page_floor_ms))}` : ''}.</p>`
    : '';
  const syncErrors = [['mycelium-sync', ours], ...peers.map((p) => [p, r.peers[p]])].filter(([, x]) => x.sync_error);
  const syncNote = syncErrors.map(([name, x]) => `<p class="note">${esc(name)} sync: ${esc(x.sync_error)}${name === 'yjs' && /initial|timed out/.test(x.sync_error) ? ' — y-webrtc sends the whole document as one message (16.5 MB for this store), over the data channel’s message limit (yjs/y-webrtc#20)' : ''}</p>`).join('');
  const webrtcNote = r.engine === 'webkit' ? '<p class="note">sync rows: not available in webkit (WebKitGTK is built without WebRTC).</p>' : '';
  return `${html}</table>${memNote}${floor}${syncNote}${webrtcNote}<p class="note">workload: ${esc(JSON.stringify(r.workload))}</p></section>`;
}

/** An inline SVG chart of `points` (ratios, oldest first) with the floor as a dashed line. */
function sparkline(points, floor) {
  const W = 260;
  const H = 48;
  const values = points.map((p) => p.ratio);
  const top = Math.max(...values, floor ?? 0, 1) * 1.1;
  const x = (i) => (points.length === 1 ? W / 2 : (i / (points.length - 1)) * (W - 8) + 4);
  const y = (v) => H - 4 - (v / top) * (H - 8);
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.ratio).toFixed(1)}`).join(' ');
  const dots = points.map((p, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(p.ratio).toFixed(1)}" r="${p.mode === 'full' ? 3.5 : 2.5}" class="${floor !== undefined && p.ratio < floor ? 'dotmiss' : p.mode === 'full' ? 'dotfull' : 'dotci'}"><title>${esc(`${p.date} ${p.commit ?? ''} ${p.mode}: ${p.ratio.toFixed(2)}×`)}</title></circle>`).join('');
  const floorLine = floor !== undefined ? `<line x1="0" x2="${W}" y1="${y(floor).toFixed(1)}" y2="${y(floor).toFixed(1)}" class="floor"><title>gate: ${floor}×</title></line>` : '';
  const one = `<line x1="0" x2="${W}" y1="${y(1).toFixed(1)}" y2="${y(1).toFixed(1)}" class="parity"><title>1× (even with the best peer)</title></line>`;
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">${one}${floorLine}<polyline points="${line}" class="spark"/>${dots}</svg>`;
}

/** Per engine, each gated row's ratio to the best peer over the runs in bench/history/. */
function historySection(engines) {
  let gates = null;
  try {
    gates = readGates();
  } catch {
    gates = null;
  }
  const parts = [];
  for (const engine of engines) {
    const runs = readHistory(engine);
    if (runs.length === 0) continue;
    const rows = Object.keys(gates?.ratio_min[engine] ?? runs.at(-1).ratio_to_best_peer ?? {});
    let html = `<h3>${esc(engine)} <small>${runs.length} runs, ${esc(runs[0].date)} → ${esc(runs.at(-1).date)}</small></h3><table><tr><th>row</th><th>best peer ÷ ours, run by run (dashed: the gate; dotted: 1×)</th><th>last</th></tr>`;
    for (const row of rows) {
      const points = runs.filter((r) => typeof r.ratio_to_best_peer?.[row] === 'number').map((r) => ({ ratio: r.ratio_to_best_peer[row], date: r.date, commit: r.commit, mode: r.mode }));
      if (points.length === 0) continue;
      html += `<tr><td><code>${esc(row)}</code></td><td>${sparkline(points, gates?.ratio_min[engine]?.[row])}</td><td>${points.at(-1).ratio.toFixed(2)}×</td></tr>`;
    }
    parts.push(`${html}</table>`);
  }
  if (parts.length === 0) return '';
  return `<h2>History <small>bench/history/ (npm test's CI bench: small dots; full runs: large)</small></h2>${parts.join('')}`;
}

/**
 * A results file's shape from a full run's history line, for a run from
 * before full-run results were committed: the line keeps ours and the
 * ratios to the best peer, not the peers' own figures.
 */
function resultsFromHistory(engine, line) {
  return {
    engine,
    cpu_throttle: engine.endsWith('-cpu4x') ? 4 : 1,
    browser_version: line.browser_version,
    date: line.date,
    workload: line.workload,
    ...line.ours,
    ratio_to_best_peer: line.ratio_to_best_peer,
    peers: {},
    memory_100k_heap_bytes: engine.startsWith('chromium') ? undefined : null,
  };
}

export function renderReport({ dir, size, engines }) {
  const sections = [];
  for (const e of engines) {
    const f = join(dir, `${e}.json`);
    const full = readHistory(e).filter((l) => l.mode === 'full').at(-1);
    if (existsSync(f)) sections.push(engineSection(JSON.parse(readFileSync(f, 'utf8'))));
    else if (full) {
      sections.push(engineSection(resultsFromHistory(e, full)).replace('</section>', `<p class="note">from bench/history/${esc(e)}.jsonl (run ${esc(full.commit ?? '')}): the peers' figures of that run were not kept, only the ratio to the best of them; README's table has them.</p></section>`));
    } else sections.push(`<section><h2>${esc(e)}</h2><p class="note">not run (no ${esc(f.split('/').slice(-2).join('/'))})</p></section>`);
  }
  let sizeHtml = '<p class="note">no size.json: run npm run size</p>';
  if (size) {
    const entries = [['mycelium-sync (core: wasm + glue + TS)', size.core_total_gz], ['mycelium-sync + compressor', size.with_compressor_total_gz],
      ...Object.entries(size.peers).map(([k, v]) => [k, v.gz])];
    const okT = size.core_total_gz <= TARGETS.wasm_total_gz;
    sizeHtml = `<table><tr><th>budget</th><th>target</th><th>gzip bytes</th></tr><tr><td><code>wasm_total_gz</code><br><small>download, gzip (measured in Node, ${esc(size.date)})</small></td><td><span class="${okT ? 'pass' : 'miss'}">≤ ${fmt('wasm_total_gz', TARGETS.wasm_total_gz)} ${okT ? 'met' : 'missed'}</span></td><td>${bars('wasm_total_gz', entries, 'lower')}</td></tr></table>`;
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mycelium-sync bench report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{margin-top:2em;border-bottom:1px solid #ddd}h2 small{font-weight:normal;color:#777;font-size:.6em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.5em;border-bottom:1px solid #eee}
td:nth-child(3){width:55%}.bar{display:flex;align-items:center;gap:.5em;margin:2px 0}
.lib{width:13em;font-size:.85em;color:#555;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.track{flex:1;background:#f3f3f3;height:12px;border-radius:2px}.fill{display:block;height:12px;border-radius:2px}
.ours{background:#2e7d32}.peer{background:#90a4ae}.best.peer{background:#546e7a}.val{width:7em;text-align:right;font-variant-numeric:tabular-nums}
.spark{fill:none;stroke:#2e7d32;stroke-width:1.5}.floor{stroke:#c62828;stroke-dasharray:4 3}.parity{stroke:#999;stroke-dasharray:1 3}
.dotci{fill:#2e7d32}.dotfull{fill:#1b5e20}.dotmiss{fill:#c62828}
.pass{color:#2e7d32;font-weight:600}.miss{color:#c62828;font-weight:600}.note{color:#666;font-size:.85em}code{font-size:.95em}
</style></head><body>
<h1>mycelium-sync — budgets in the browsers</h1>
<p class="note">Produced by <code>npm run bench</code> (bench/browser-bench.mjs). Every library ran the same workloads (bench/workloads.js) in the same browser in the same run. Targets apply in Chromium, and must also hold with its CPU throttled 4× (DESIGN.md's low-end profile); in every engine the goal is ≥ ${PEER_FACTOR}× better than the best peer on each row. Shorter bars are better except for writes per second.</p>
<h2>Download size</h2>${sizeHtml}
${sections.join('\n')}
${historySection(engines)}
</body></html>
`;
}
