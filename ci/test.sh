#!/bin/bash
# test.sh — install what is missing, build, and run every test through
# ctest: once in the normal build, once built with AddressSanitizer and
# UndefinedBehaviorSanitizer; then a short fuzz of both fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh

bash ci/build.sh build
(cd build && ctest --output-on-failure -j2)

bash ci/build.sh build-asan -DFAULTWIRE_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j2)

# A short fuzz of the packet parser and flow tracking, and of scenario
# loading (the long one is in docs/fuzzing.md).
bash ci/fuzz.sh 20
