#!/bin/bash
# build.sh [DIR [CMAKE ARGS...]] — configure and build faultwire in DIR
# (default: build/).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
