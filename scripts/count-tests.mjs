#!/usr/bin/env node
// Counts tests from the runners' machine-readable reports, for
// scripts/test.sh: prints "<passed> <failed>".
//   count-tests.mjs gtest <ctest-junit.xml> <gtest-xml-dir>
//     Each GoogleTest case in the XML files GTEST_OUTPUT wrote is one test; a
//     test executable that ctest ran and that failed without a failing case
//     in its report (it crashed, a sanitizer stopped it, it wrote no report)
//     is one more failure.
//   count-tests.mjs json <report.json>
//     A report with numeric `passed` and `failed` (build/pack-smoke.json,
//     build/browser-tests.json).
// A missing or unreadable report is a failure, never zero tests.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function fail(why) {
  console.error(`count-tests: ${why}`);
  console.log('0 1');
  process.exit(0);
}

const attrs = (tag) => Object.fromEntries([...tag.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));

function gtest(junitPath, dir) {
  if (!existsSync(junitPath)) fail(`no ctest report at ${junitPath}`);
  let passed = 0;
  let failed = 0;
  const failingExecutables = new Set();
  for (const file of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.xml')) : []) {
    const xml = readFileSync(join(dir, file), 'utf8');
    // <testcase .../> or <testcase ...> ... </testcase>; a <failure> inside fails it.
    for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const a = attrs(m[1]);
      if (a.status === 'notrun' || a.result === 'skipped') continue;
      if (m[3] && /<failure\b/.test(m[3])) {
        failed++;
        failingExecutables.add(file.replace(/\.xml$/, ''));
      } else passed++;
    }
  }
  const junit = readFileSync(junitPath, 'utf8');
  let executables = 0;
  for (const m of junit.matchAll(/<testcase\b([^>]*)>/g)) {
    const a = attrs(m[1]);
    executables++;
    if (a.status !== 'run' && !failingExecutables.has(a.name)) {
      console.error(`count-tests: ${a.name} ${a.status === 'notrun' ? 'did not run' : 'failed outside its test cases (a crash or a sanitizer)'}`);
      failed++;
    }
  }
  if (executables === 0) fail(`${junitPath} lists no test executable`);
  if (passed + failed === 0) fail(`no GoogleTest report in ${dir}`);
  console.log(`${passed} ${failed}`);
}

function json(path) {
  if (!existsSync(path)) fail(`no report at ${path}`);
  let r;
  try {
    r = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(`${path}: ${e.message}`);
  }
  if (!Number.isInteger(r.passed) || !Number.isInteger(r.failed)) fail(`${path} has no passed/failed counts`);
  console.log(`${r.passed} ${r.failed}`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'gtest' && args.length === 2) gtest(args[0], args[1]);
else if (mode === 'json' && args.length === 1) json(args[0]);
else fail('usage: count-tests.mjs gtest <ctest-junit.xml> <gtest-xml-dir> | json <report.json>');
