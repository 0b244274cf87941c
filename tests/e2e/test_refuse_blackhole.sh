#!/bin/bash
# refuse: the SYN is answered with an RST, curl exits 7 at once.
# blackhole: nothing answers, curl gives up at --connect-timeout 2 (exit 28),
# and a client without its own timeout is stopped by faultwire's and fails
# fw.finished_within.
. "$(dirname "$0")/lib.sh"

run refuse 0 "$SCENARIOS/refuse.lua"
check "curl exits 7" '.client.exit_code == 7'
check "flows refused" '[.flows[].end] | all(. == "refused")'
check "RSTs were injected" '.stats.injected >= 1'

run refuse-recovered 1 "$SCENARIOS/refuse_recovered.lua"
check "recovered fails on a refused connection" '.expectations[0].ok == false and (.expectations[0].detail | test("exited 7"))'

run blackhole 0 "$SCENARIOS/blackhole.lua"
check "curl exits 28" '.client.exit_code == 28'
check "flows timed out" '[.flows[].end] | all(. == "timeout")'
check "packets were dropped" '.stats.dropped >= 1'

run blackhole-hang 1 --timeout 2 "$SCENARIOS/blackhole.lua" -- curl -sS -o out.bin http://server.test/bytes/1024
check "the client was stopped at the timeout" '.client.timed_out == true and .client.signal == "SIGTERM"'
check "finished_within fails: the client hung" '.expectations[1].ok == false and (.expectations[1].detail | test("hung"))'
finish
