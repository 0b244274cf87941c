#!/bin/bash
# fuzz.sh [SECONDS] — build the libFuzzer targets with clang in build-fuzz/
# and run each for SECONDS (default 30) over its seed corpus. Fails on any
# finding: a crash, a sanitizer report, a leak, a timeout or running out of
# memory. The reproducer is left in build-fuzz/findings/. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
root=$(pwd)
dir=build-fuzz

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DFAULTWIRE_FUZZ=ON \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
  >/dev/null
cmake --build "$dir" -j"$(nproc)" --target fuzz_packet fuzz_scenario

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$dir/findings"
status=0
findings=0
for target in packet scenario; do
  # New inputs go to a scratch copy: the seed corpus in the tree stays as
  # it was written. Runs in a scratch working directory, so a scenario's
  # io.open cannot litter the tree.
  work=$(mktemp -d)
  mkdir "$work/corpus"
  cp tests/fuzz/corpus/$target/* "$work/corpus/"
  dict=()
  [ -f "tests/fuzz/$target.dict" ] && dict=(-dict="$root/tests/fuzz/$target.dict")
  echo "fuzz_$target: $seconds s"
  if ! (cd "$work" && "$root/$dir/fuzz_$target" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
          -artifact_prefix="$root/$dir/findings/${target}-" -print_final_stats=1 corpus </dev/null); then
    echo "fuzz_$target: FINDING (see $dir/findings/)" >&2
    status=1
    findings=$((findings + 1))
  fi
  rm -rf "$work"
done
echo "fuzz: $((2 - findings)) passed, $findings failed"
exit $status
