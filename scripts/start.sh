#!/usr/bin/env bash
# npm start: set-up, the package build, then the demo — the signalling server
# and a static server on 127.0.0.1 serving the collaborative todo list
# (examples/todo-script-tag/). It prints the URL to open in two windows and
# runs until Ctrl-C.
#   npm start -- --headless   drive two Chromium contexts through the demo,
#                             print a transcript, exit (used by npm test)
#   npm start -- --port 8080 --signal-port 8787   (the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec node scripts/demo.mjs "$@"
