// node bench/readme-table.mjs [--write]: README's cross-browser benchmark
// table, in Markdown, from the last full run (bench/results/<profile>.json,
// written by npm run bench), so the README shows what a run measured and
// nothing copied by hand. --write puts it into README.md between the
// <!-- bench-table --> and <!-- /bench-table --> lines. Each row: ours, each peer of that run, the ratio to the
// best peer (above 1: ahead), and the row's targets — DESIGN.md's budget
// (Chromium) and issue 23's round-two target for the profile — met or missed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, HIGHER, PEER_FACTOR, PROFILES, TARGETS } from './report.mjs';

const root = join(new URL('.', import.meta.url).pathname, '..');
const PEERS = ['yjs', '@automerge/automerge', 'loro-crdt'];
const ROWS = ['merge_10k_ms', 'merge_10k_concurrent_ms', 'memory_100k_bytes', 'cold_start_ms', 'cold_start_warm_ms', 'local_writes_per_sec', 'reopen_100k_ms', 'persist_10k_ms', 'idb_bytes_100k', 'sync_ops_per_sec', 'sync_initial_100k_ms', 'sync_bytes_per_op'];
// Issue 23's targets per profile. cold_start_ms's is above the page's own
// floor (the same page loading no library), measured in the same run.
const ROUND_TWO = {
  chromium: { merge_10k_ms: 1.5, cold_start_above_floor_ms: 25, reopen_100k_ms: 150, sync_ops_per_sec: 1e6, memory_100k_bytes: 16e6 },
  'chromium-cpu4x': { merge_10k_ms: 6, reopen_100k_ms: 600, sync_ops_per_sec: 250e3 },
};
// Every engine: at least this many times the best peer on these rows, and never behind it on cold start.
const PEER_FACTOR_ROWS = { merge_10k_ms: PEER_FACTOR, local_writes_per_sec: PEER_FACTOR, cold_start_ms: 1, cold_start_warm_ms: 1 };

const met = (row, v, target) => (HIGHER.has(row) ? v >= target : v <= target);
const mark = (ok) => (ok ? '✓' : '**missed**');

function targetCell(profile, row, r) {
  const parts = [];
  const v = r[row];
  if (typeof v !== 'number') return '';
  if (profile === 'chromium' && TARGETS[row] !== undefined) parts.push(`${HIGHER.has(row) ? '≥' : '≤'} ${fmt(row, TARGETS[row])} ${mark(met(row, v, TARGETS[row]))}`);
  const two = ROUND_TWO[profile] ?? {};
  if (row === 'cold_start_ms' && two.cold_start_above_floor_ms !== undefined && typeof r.cold_start_page_floor_ms === 'number') {
    const above = v - r.cold_start_page_floor_ms;
    parts.push(`floor + ≤ ${two.cold_start_above_floor_ms} ms: +${above.toFixed(1)} ${mark(above <= two.cold_start_above_floor_ms)}`);
  } else if (two[row] !== undefined) {
    parts.push(`round two ${HIGHER.has(row) ? '≥' : '≤'} ${fmt(row, two[row])} ${mark(met(row, v, two[row]))}`);
  }
  const factor = PEER_FACTOR_ROWS[row];
  const ratio = r.ratio_to_best_peer?.[row];
  if (factor !== undefined && typeof ratio === 'number') parts.push(`≥ ${factor}× best peer ${mark(ratio >= factor)}`);
  return parts.join('; ');
}

const readme = join(root, 'README.md');
const BEGIN = '<!-- bench-table -->\n';
const END = '<!-- /bench-table -->';
// README as it is: the table it holds now keeps a profile's rows when its
// results file is not here, and --write replaces that table.
const readmeText = readFileSync(readme, 'utf8');
const tableStart = readmeText.indexOf(BEGIN);
const tableEnd = readmeText.indexOf(END);
const hasTable = tableStart >= 0 && tableEnd > tableStart;
const current = hasTable ? readmeText.slice(tableStart + BEGIN.length, tableEnd).split('\n') : [];

const lines = ['| engine | row | mycelium-sync | yjs | automerge | loro | best peer ÷ ours | targets |', '|---|---|---|---|---|---|---|---|'];
const notes = [];
for (const profile of PROFILES) {
  const file = join(root, 'bench/results', `${profile}.json`);
  if (!existsSync(file)) {
    // A run whose results file was not kept: README's rows for it stay as they are.
    const kept = current.filter((l) => l.startsWith(`| ${profile} |`));
    const note = current.find((l) => l.startsWith(`- ${profile}: `) && !l.includes('no full run'));
    console.error(`bench/readme-table: ${file.slice(root.length + 1)} is missing (npm run bench writes it); ${kept.length ? `README's ${kept.length} rows for ${profile} kept` : `no rows for ${profile}`}`);
    if (kept.length && note) {
      lines.push(...kept);
      notes.push(note.slice(2));
    } else notes.push(`${profile}: no full run in bench/results/`);
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  notes.push(`${profile}: ${r.browser_version}, ${r.date.slice(0, 10)}; the page alone (cold start floor) ${fmt('cold_start_ms', r.cold_start_page_floor_ms)}, with a warm cache ${fmt('cold_start_ms', r.cold_start_warm_page_floor_ms)}`);
  for (const row of ROWS) {
    const peers = PEERS.map((p) => r.peers?.[p]?.[row]);
    if (typeof r[row] !== 'number' && peers.every((v) => typeof v !== 'number')) continue;
    const ratio = r.ratio_to_best_peer?.[row];
    lines.push(`| ${profile} | \`${row}\` | ${fmt(row, r[row])} | ${peers.map((v) => fmt(row, v)).join(' | ')} | ${typeof ratio === 'number' ? `${ratio.toFixed(2)}×` : 'n/a'} | ${targetCell(profile, row, r)} |`);
  }
}
const table = `${lines.join('\n')}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
if (process.argv.includes('--write')) {
  if (!hasTable) {
    console.error('bench/readme-table: README.md has no <!-- bench-table --> ... <!-- /bench-table --> lines');
    process.exit(1);
  }
  writeFileSync(readme, readmeText.slice(0, tableStart + BEGIN.length) + table + readmeText.slice(tableEnd));
  console.log('wrote the table into README.md');
} else {
  process.stdout.write(table);
}
