#!/usr/bin/env bash
# Every test: the engine's GoogleTest suite, built twice (debug, and ASan +
# UBSan), each run through ctest; the libFuzzer target for apply/load
# (ASan + UBSan) for MYC_FUZZ_SECONDS (default 60) from a corpus of real
# deltas, and the one for the sequences section (tests-cpp/fuzz/
# sequence_fuzzer.cc) for MYC_SEQUENCE_FUZZ_SECONDS (default 20), and the one
# for multi-op write batches (tests-cpp/fuzz/write_fuzzer.cc) for
# MYC_WRITE_FUZZ_SECONDS (default 20); then the WebAssembly package: build, type checks (tsc), the Vitest
# suites on the real module (js/tests) and the security suite against the
# built package (tests-security: attacks on the servers, the protocol and
# the files, each with the memory bound it holds), the sync-message fuzzer
# (tests-security/fuzz-sync.mjs) for MYC_FUZZ_SECONDS, the pack smoke test (Node, Chromium, Vite), the
# page-level browser suite in Chromium, Firefox ESR and WebKitGTK
# (tests-browser/run.mjs), and the gated CI bench (bench/browser-bench.mjs
# --ci: ratios to the best peer in Chromium, Firefox and WebKit against
# bench/gates.json).
# Prints one summary line at the end; tests an engine cannot run are listed
# as not available, never counted as passed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
# Each failure's name, a line each, printed again at the end of the run.
mkdir -p build
export MYC_FAILED_LIST="$PWD/build/failed-tests.txt"
: > "$MYC_FAILED_LIST"
export MYC_FLAKY_LIST="$PWD/build/flaky-tests.txt"
: > "$MYC_FLAKY_LIST"
passed=0
failed=0
unavailable=0
for preset in native-debug native-asan; do
  echo "== $preset: build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: ctest"
  # Counted from the reports: each GoogleTest case (GTEST_OUTPUT) and each
  # executable that failed outside its cases (ctest's JUnit), never from logs.
  reports="$PWD/build/$preset/reports"
  rm -rf "$reports" && mkdir -p "$reports/gtest"
  set +e
  GTEST_OUTPUT="xml:$reports/gtest/" \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset "$preset" -j "$jobs" --output-junit "$reports/ctest.xml"
  rc=$?
  set -e
  read -r cp cf < <(node scripts/count-tests.mjs gtest "$reports/ctest.xml" "$reports/gtest")
  passed=$((passed + cp))
  failed=$((failed + cf))
  [ "$rc" -eq 0 ] || echo "== $preset: FAILED"
done

echo "== native-fuzz: build"
cmake --preset native-fuzz >/dev/null
cmake --build --preset native-fuzz -j "$jobs"
corpus=build/native-fuzz/corpus
rm -rf "$corpus" && mkdir -p "$corpus"
./build/native-fuzz/make_seeds "$corpus"
# Inputs the fuzzer once broke the engine with run first, every time.
cp tests-cpp/data/fuzz-crashes/*.bin "$corpus"/
# fuzz <target> <seconds> <log> <dirs...>: one libFuzzer target run from its
# corpus dirs for the given time, counted as one test. A single allocation
# over 64 MiB from an input of at most 64 KiB counts as a blow-up; the
# fuzzer reports it like a crash.
fuzz() {
  local target=$1 seconds=$2 log=build/native-fuzz/$3
  shift 3
  echo "== native-fuzz: $target for $seconds s"
  set +e
  ASAN_OPTIONS=detect_leaks=1 "./build/native-fuzz/$target" "$@" -max_total_time="$seconds" \
    -max_len=65536 -malloc_limit_mb=64 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=build/native-fuzz/ 2>"$log"
  local rc=$?
  set -e
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^Done|ERROR|invariant' "$log" || true
  if [ "$rc" -eq 0 ]; then
    echo "$target: passed"
    passed=$((passed + 1))
  else
    echo "$target: FAILED (exit $rc); log: $log"
    tail -40 "$log"
    echo "$target (exit $rc)" >> "$MYC_FAILED_LIST"
    failed=$((failed + 1))
  fi
}
# tests-cpp/fuzz/regressions: inputs that once broke an invariant, read with the corpus every run.
fuzz apply_fuzzer "${MYC_FUZZ_SECONDS:-60}" fuzz.log "$corpus" tests-cpp/fuzz/regressions
seq_corpus=build/native-fuzz/sequence-corpus
rm -rf "$seq_corpus" && mkdir -p "$seq_corpus"
./build/native-fuzz/make_seeds "$corpus" "$seq_corpus" >/dev/null
fuzz sequence_fuzzer "${MYC_SEQUENCE_FUZZ_SECONDS:-20}" sequence-fuzz.log "$seq_corpus"
# Multi-op write batches (tests-cpp/fuzz/write_fuzzer.cc), from the inputs
# that once broke it (tests-cpp/fuzz/write-regressions).
write_corpus=build/native-fuzz/write-corpus
rm -rf "$write_corpus" && mkdir -p "$write_corpus"
fuzz write_fuzzer "${MYC_WRITE_FUZZ_SECONDS:-20}" write-fuzz.log "$write_corpus" tests-cpp/fuzz/write-regressions

count() {  # count <name> <command...>: one test that passes or fails
  local name=$1
  shift
  if "$@"; then
    echo "$name: passed"
    passed=$((passed + 1))
  else
    echo "$name: FAILED"
    echo "$name" >> "$MYC_FAILED_LIST"
    failed=$((failed + 1))
  fi
}

echo "== wasm: build (emcmake, wasm-opt, tsc, esbuild)"
if bash scripts/build.sh; then
  count "tsc: public types and tests (js/tests/types)" npx tsc -p js/tests
  count "no import cycles in js/ (scripts/check-cycles.mjs)" node scripts/check-cycles.mjs js
  echo "== vitest: js/tests, tests-security and tests-relay"
  set +e
  rm -f build/vitest.json
  npx vitest run js/tests tests-security tests-relay --testTimeout=60000 --reporter=default --reporter=json --outputFile=build/vitest.json
  set -e
  read -r vp vf < <(node scripts/count-tests.mjs vitest build/vitest.json)
  passed=$((passed + vp))
  failed=$((failed + vf))
  echo "== fuzz-sync: the sync protocol's messages for ${MYC_FUZZ_SECONDS:-60} s"
  set +e
  node --expose-gc tests-security/fuzz-sync.mjs > build/fuzz-sync.log 2>&1
  rc=$?
  set -e
  grep -E '^(stat::|fuzz-sync|invariant)' build/fuzz-sync.log || true
  if [ "$rc" -eq 0 ]; then
    echo "fuzz-sync: passed"
    passed=$((passed + 1))
  else
    echo "fuzz-sync: FAILED (exit $rc); log: build/fuzz-sync.log"
    tail -20 build/fuzz-sync.log
    echo "fuzz-sync (exit $rc)" >> "$MYC_FAILED_LIST"
    failed=$((failed + 1))
  fi
  echo "== pack smoke test"
  set +e
  rm -f build/pack-smoke.json
  node scripts/pack-smoke.mjs
  set -e
  read -r pp pf < <(node scripts/count-tests.mjs json build/pack-smoke.json)
  passed=$((passed + pp))
  failed=$((failed + pf))
  echo "== browsers: the page-level suite in Chromium, Firefox ESR and WebKitGTK"
  rm -f build/browser-tests.json
  set +e
  node tests-browser/run.mjs
  set -e
  read -r bp bf < <(node scripts/count-tests.mjs json build/browser-tests.json)
  passed=$((passed + bp))
  failed=$((failed + bf))
  [ -f build/browser-tests.json ] && unavailable=$((unavailable + $(node -p 'require("./build/browser-tests.json").unavailable')))
  echo "== npm start -- --headless: the demo driven through two Chromium contexts"
  count "demo (headless)" node scripts/demo.mjs --headless
  echo "== CI bench: Chromium, Firefox and WebKit, ratios to the best peer against bench/gates.json"
  count "CI bench (ratios to the best peer within bench/gates.json, core download within its size)" node bench/browser-bench.mjs --ci
else
  echo "wasm build: FAILED"
  echo "wasm build" >> "$MYC_FAILED_LIST"
  failed=$((failed + 1))
fi

echo
if [ -s "$MYC_FAILED_LIST" ]; then
  echo "failed:"
  sed 's/^/  /' "$MYC_FAILED_LIST"
fi
if [ -s "$MYC_FLAKY_LIST" ]; then
  echo "flaky (failed once, passed when run again; counted as passed):"
  sed 's/^/  /' "$MYC_FLAKY_LIST"
fi
if [ "$unavailable" -gt 0 ]; then
  echo "${passed} passed, ${failed} failed, ${unavailable} not available in an engine (listed above, not counted as passed)"
else
  echo "${passed} passed, ${failed} failed"
fi
[ "$failed" -eq 0 ]
