#!/bin/bash
# A run whose evidence is broken is never a pass: the engine dying mid-run
# gives "error" (and the client is stopped at once, since traffic stopped),
# packets the kernel dropped before the engine saw them give "error", and a
# client killed by a signal is reported as killed, not as exited.
. "$(dirname "$0")/lib.sh"

# The same scenario passes when nothing goes wrong...
run healthy 0 "$SCENARIOS/reset_reported.lua"

# ...and is an error when the engine stops partway (a test hook makes it).
FAULTWIRE_TEST_ENGINE_FAIL_AFTER=20 run engine-dies 1 "$SCENARIOS/reset_reported.lua"
check "verdict error" '.verdict == "error"'
check "the record says the engine failed" '.error | test("packet engine failed")'
check "the client was stopped at once, not at the timeout" '.client.timed_out == false and .client.duration_ms < 5000'

# A kernel queue of 4 packets under a 300 ms delay overflows.
FAULTWIRE_TEST_QUEUE_MAXLEN=4 run queue-drops 1 --timeout 3 "$SCENARIOS/slow_delay.lua"
check "verdict error" '.verdict == "error"'
check "queue drops counted" '.stats.queue_drops > 0'
check "and explained" '.error | test("dropped [0-9]+ queued packet")'
run queue-fine 0 --timeout 20 "$SCENARIOS/slow_delay.lua" -- curl -sS -o out.bin http://server.test/bytes/20000
check "with the normal queue nothing is dropped" '.stats.queue_drops == 0'

run killed 1 "$SCENARIOS/reset_reported.lua" -- sh -c 'curl -sS -o out.bin http://server.test/bytes/1048576; kill -SEGV $$'
check "the signal is recorded" '.client.signal == "SIGSEGV" and .client.exit_code == null'
check "a crash is not a report" '.expectations[0].ok == false and (.expectations[0].detail | test("killed by SIGSEGV"))'
output_has "the summary says so" "killed by SIGSEGV"
# Ctrl-C (SIGINT to faultwire alone): the client is stopped at once, the
# run is an error, not a pass or an inconclusive, and the exit code is 130.
CHECKS=$((CHECKS + 1))
"$FAULTWIRE" run --json "$OUT/int.json" "$SCENARIOS/reset_reported.lua" -- sleep 30 >"$OUT/int.out" 2>&1 &
pid=$!
sleep 1
kill -INT "$pid"
code=0
wait "$pid" || code=$?
cat "$OUT/int.out"
[ "$code" = 130 ] || fail "interrupted run: expected exit 130, got $code"
LAST=$OUT/int
check "an interrupted run is an error" '.verdict == "error" and (.error | test("interrupted"))'
check "the client was stopped, not waited for" '.client.duration_ms < 5000'
finish
