#!/usr/bin/env bash
# The main job: builds the engine (Release) and runs the native demo, which
# shows two replicas diverging offline and converging after one delta each way.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset native-release >/dev/null
cmake --build --preset native-release -j "$(nproc 2>/dev/null || echo 2)" --target mycelium_demo
./build/native-release/mycelium_demo
