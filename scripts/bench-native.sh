#!/usr/bin/env bash
# Native benchmarks: Release build, Google Benchmark table, budget summary,
# bench/results/native.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset native-release >/dev/null
cmake --build --preset native-release -j "$(nproc 2>/dev/null || echo 2)" --target native_bench
mkdir -p bench/results
MYC_BENCH_OUT=bench/results/native.json ./build/native-release/native_bench --benchmark_color=false "$@"
echo "wrote bench/results/native.json"
