#!/bin/bash
# demo.sh — the main job: install what is missing, build, and play the
# bundled mid-stream reset scenario against curl.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
bash ci/build.sh build >/dev/null
echo
./build/faultwire run -v scenarios/midstream_reset.lua
