#!/bin/bash
# One whole run (namespaces, engine, server, client, record) under
# valgrind's memcheck: no invalid access, no uninitialised byte passed to
# the kernel, no definite leak. Skipped (77) for the sanitizer build, which
# valgrind cannot run.
. "$(dirname "$0")/lib.sh"

if nm -D "$FAULTWIRE" 2>/dev/null | grep -q __asan_init || nm "$FAULTWIRE" 2>/dev/null | grep -q __asan_init; then
	echo "skipped: $FAULTWIRE is built with AddressSanitizer"
	exit 77
fi
CHECKS=$((CHECKS + 1))
code=0
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	"$FAULTWIRE" run --json "$OUT/vg.json" "$SCENARIOS/reset_reported.lua" >"$OUT/vg.out" 2>&1 || code=$?
cat "$OUT/vg.out"
[ "$code" = 0 ] || fail "valgrind reported errors or the run failed (exit $code)"
LAST=$OUT/vg
check "the run under valgrind still passes" '.verdict == "pass" and .flows[0].bytes_down == 262144'
finish
