#!/usr/bin/env bash
# Idempotent set-up: installs the system packages the project needs (apt,
# only when missing) and the npm packages (npm ci, only when the lock file
# changed). Run by `npm start` and `npm test`; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian package -> a file or command that proves it is installed.
declare -A NEED=(
  [cmake]=/usr/bin/cmake
  [g++]=/usr/bin/g++
  [clang]=/usr/bin/clang
  [ninja-build]=/usr/bin/ninja
  [libgtest-dev]=/usr/include/gtest/gtest.h
  [libbenchmark-dev]=/usr/include/benchmark/benchmark.h
  [libclang-rt-14-dev]=/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
  [emscripten]=/usr/bin/emcc
  [binaryen]=/usr/bin/wasm-opt
  [wabt]=/usr/bin/wasm-objdump
  [brotli]=/usr/bin/brotli
  [chromium]=/usr/bin/chromium
  [firefox-esr]=/usr/bin/firefox-esr
  [webkit2gtk-driver]=/usr/bin/WebKitWebDriver
  [xvfb]=/usr/bin/xvfb-run
  [xauth]=/usr/bin/xauth
  [openssl]=/usr/bin/openssl
  [nats-server]=/usr/bin/nats-server
)

missing=()
for pkg in "${!NEED[@]}"; do
  [ -e "${NEED[$pkg]}" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: run as root:  sudo sh -c '$cmd'" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: node and npm are required (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi

# npm ci when node_modules is missing or older than the lock file.
stamp=node_modules/.myc-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  cilog=$(mktemp)
  if ! npm ci --no-audit --no-fund --loglevel=error 2>"$cilog"; then
    # npm 11 writes lock files without cbor-extract's platform packages (an
    # optional dependency of automerge-repo's cbor-x, a bench peer) and then
    # npm ci refuses them. npm install takes the locked versions of everything
    # else; the committed lock file is put back afterwards.
    if grep -q 'Missing: @cbor-extract/' "$cilog"; then
      echo "setup: npm ci refused the lock file (npm omits @cbor-extract/* from it); npm install with the same lock instead"
      locked=$(mktemp)
      cp package-lock.json "$locked"
      npm install --no-audit --no-fund --loglevel=error
      cp "$locked" package-lock.json
      rm -f "$locked"
    else
      cat "$cilog" >&2
      exit 1
    fi
  fi
  rm -f "$cilog"
  mkdir -p node_modules
  echo "$want" > "$stamp"
fi
