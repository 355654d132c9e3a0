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
//   count-tests.mjs vitest <report.json>
//     Vitest's JSON reporter: each test is one; a test file that failed
//     outside its tests (an import error, a crash) is one more failure.
// A missing or unreadable report is a failure, never zero tests.
// With MYC_FAILED_LIST set, the name of each failure is appended to that
// file, a line each, so the end of the run can say what failed; with
// MYC_FLAKY_LIST set, each test a report calls flaky (failed once, passed
// when run again: tests-browser/run.mjs) is appended to that file.
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

function failed(name) {
  if (process.env.MYC_FAILED_LIST) appendFileSync(process.env.MYC_FAILED_LIST, `${name}\n`);
}

function fail(why) {
  console.error(`count-tests: ${why}`);
  failed(`count-tests: ${why}`);
  console.log('0 1');
  process.exit(0);
}

const attrs = (tag) => Object.fromEntries([...tag.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));

function gtest(junitPath, dir) {
  if (!existsSync(junitPath)) fail(`no ctest report at ${junitPath}`);
  let passed = 0;
  let failures = 0;
  const failingExecutables = new Set();
  for (const file of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.xml')) : []) {
    const xml = readFileSync(join(dir, file), 'utf8');
    // <testcase .../> or <testcase ...> ... </testcase>; a <failure> inside fails it.
    for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const a = attrs(m[1]);
      if (a.status === 'notrun' || a.result === 'skipped') continue;
      if (m[3] && /<failure\b/.test(m[3])) {
        failures++;
        failed(`gtest ${file.replace(/\.xml$/, '')}: ${a.classname}.${a.name}`);
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
      const why = `${a.name} ${a.status === 'notrun' ? 'did not run' : 'failed outside its test cases (a crash or a sanitizer)'}`;
      console.error(`count-tests: ${why}`);
      failed(`ctest ${why}`);
      failures++;
    }
  }
  if (executables === 0) fail(`${junitPath} lists no test executable`);
  if (passed + failures === 0) fail(`no GoogleTest report in ${dir}`);
  console.log(`${passed} ${failures}`);
}

/** A JSON report; a missing or unreadable one fails (fail() exits). */
function readReport(path) {
  if (!existsSync(path)) fail(`no report at ${path}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(`${path}: ${e.message}`);
  }
}

function json(path) {
  const r = readReport(path);
  if (!Number.isInteger(r.passed) || !Number.isInteger(r.failed)) fail(`${path} has no passed/failed counts`);
  const what = basename(path, '.json');
  for (const t of r.tests ?? []) if (!t.passed) failed(`${what}: ${t.name}`);
  for (const [engine, e] of Object.entries(r.engines ?? {})) {
    for (const name of e.failures ?? []) failed(`${what} ${engine}: ${name}`);
    if (process.env.MYC_FLAKY_LIST) for (const name of e.flaky ?? []) appendFileSync(process.env.MYC_FLAKY_LIST, `${what} ${engine}: ${name}\n`);
  }
  console.log(`${r.passed} ${r.failed}`);
}

function vitest(path) {
  const r = readReport(path);
  let passed = 0;
  let failures = 0;
  for (const file of r.testResults ?? []) {
    const name = file.name.slice(process.cwd().length + 1);
    let failedHere = 0;
    for (const t of file.assertionResults ?? []) {
      if (t.status === 'passed') passed++;
      else {
        failedHere++;
        failed(`vitest ${name}: ${t.fullName ?? t.title} (${t.status})`);
      }
    }
    if (file.status !== 'passed' && failedHere === 0) {
      failedHere++;
      failed(`vitest ${name}: ${String(file.message ?? file.status).split('\n')[0]}`);
    }
    failures += failedHere;
  }
  if (passed + failures === 0) fail(`${path} lists no test`);
  console.log(`${passed} ${failures}`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'gtest' && args.length === 2) gtest(args[0], args[1]);
else if (mode === 'json' && args.length === 1) json(args[0]);
else if (mode === 'vitest' && args.length === 1) vitest(args[0]);
else fail('usage: count-tests.mjs gtest <ctest-junit.xml> <gtest-xml-dir> | json <report.json> | vitest <report.json>');
