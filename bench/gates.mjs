// The CI bench's gates (bench/gates.json) and the bench history
// (bench/history/<engine>.jsonl). A gate is a floor under a ratio to the
// best peer measured in the same run (best peer ÷ ours for times and
// bytes, ours ÷ best peer for rates: above 1 is ahead), never an absolute
// time: the machine is shared and noisy, and a ratio cancels what slows
// every library alike. Size is gated absolutely (bytes do not jitter).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(new URL('.', import.meta.url).pathname, '..');
const GATES_FILE = join(root, 'bench/gates.json');
const HISTORY_DIR = join(root, 'bench/history');

/** bench/gates.json: { ratio_min: { <engine>: { <row>: floor } }, bytes_max: { core_total_gz } }. */
export function readGates() {
  const g = JSON.parse(readFileSync(GATES_FILE, 'utf8'));
  if (typeof g.ratio_min !== 'object' || typeof g.bytes_max !== 'object') throw new Error('bench/gates.json: ratio_min and bytes_max are objects');
  return g;
}

/** The rows gated for `engine`, each with its ratio this run and its floor; `ok` false when a ratio is missing or under its floor. */
export function checkRatios(gates, engine, ratios) {
  const floors = gates.ratio_min[engine] ?? {};
  return Object.entries(floors).map(([row, floor]) => {
    const ratio = ratios[row];
    return { row, ratio: typeof ratio === 'number' && Number.isFinite(ratio) ? ratio : null, floor, ok: typeof ratio === 'number' && Number.isFinite(ratio) && ratio >= floor };
  });
}

/** The size gates: each of bytes_max against `sizes` (a missing figure fails). */
export function checkBytes(gates, sizes) {
  return Object.entries(gates.bytes_max).map(([key, max]) => ({ key, bytes: sizes[key] ?? null, max, ok: typeof sizes[key] === 'number' && sizes[key] <= max }));
}

/** Appends one line to bench/history/<engine>.jsonl: what this run measured of ours, and its ratios. */
export function appendHistory(engine, line) {
  mkdirSync(HISTORY_DIR, { recursive: true });
  appendFileSync(join(HISTORY_DIR, `${engine}.jsonl`), `${JSON.stringify(line)}\n`);
}

/** Every line of bench/history/<engine>.jsonl, oldest first (lines that do not parse are left out). */
export function readHistory(engine) {
  const file = join(HISTORY_DIR, `${engine}.jsonl`);
  if (!existsSync(file)) return [];
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A line cut short (a run killed while writing) is skipped.
    }
  }
  return out;
}
