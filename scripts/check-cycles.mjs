#!/usr/bin/env node
// Import cycles in js/: every relative import of every .ts module (type-only
// imports and re-exports too, since a type loop is still a loop between
// concerns), strongly connected components by Tarjan's algorithm. Prints
// each cycle found and exits 1; prints the module count and exits 0 when
// there is none. Tests (js/tests/) are left out: they import everything.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(process.argv[2] ?? 'js');
const skip = new Set(['tests', 'generated']);

function modules(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!skip.has(e.name)) out.push(...modules(join(dir, e.name)));
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(join(dir, e.name));
  }
  return out;
}

/** The module a relative specifier names ('./x.js' is ./x.ts on disk), or null outside js/. */
function target(from, spec) {
  if (!spec.startsWith('.')) return null;
  const p = resolve(dirname(from), spec).replace(/\.js$/, '.ts');
  return existsSync(p) && !relative(root, p).startsWith('..') ? p : null;
}

const files = modules(root);
const edges = new Map();
for (const f of files) {
  const { importedFiles } = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
  edges.set(f, [...new Set(importedFiles.map((i) => target(f, i.fileName)).filter((t) => t !== null))]);
}

// Tarjan's strongly connected components.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function visit(v) {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const scc = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(scc);
  }
}
for (const f of files) if (!index.has(f)) visit(f);

const name = (f) => relative(process.cwd(), f);
if (cycles.length > 0) {
  for (const scc of cycles) {
    const members = new Set(scc);
    console.error(`import cycle among ${scc.length} modules:`);
    for (const f of scc.sort()) {
      const inside = edges.get(f).filter((t) => members.has(t));
      console.error(`  ${name(f)} -> ${inside.map(name).join(', ')}`);
    }
  }
  process.exit(1);
}
console.log(`no import cycles among ${files.length} modules in ${name(root) || '.'}/`);
