#!/bin/bash
# The fault library against real clients, each case with its passing and
# its failing side.
. "$(dirname "$0")/lib.sh"

run delay 0 "$SCENARIOS/delay.lua"
check "a 10 ms delay shows in curl's time_connect" '.expectations[0].ok'
run delay-fails 1 "$SCENARIOS/delay.lua" -- sh -c 'echo 0.001'
check "a client that does not wait fails the check" '.expectations[0].ok == false'

run conn-cap 0 "$SCENARIOS/conn_cap.lua"
check "one of three connections refused" '[.flows[] | select(.end == "refused")] | length == 1'
check "the cap fault fired" '.faults[0].fault == "conn_cap"'
run conn-cap-max1 1 "$SCENARIOS/conn_cap.lua" -- sh -c 'curl -4 -sS -o a "http://server.test/slow?ms=300" & curl -4 -sS -o b "http://server.test/slow?ms=300"; wait'
check "two parallel connections fail max_concurrent when 1 is allowed" '.verdict == "fail" or .verdict == "inconclusive"'

run resumed 0 "$SCENARIOS/resumed.lua"
check "wget resumed with a Range" '.expectations[0] | .name == "resumed" and .ok'
run restarted 1 "$SCENARIOS/resumed.lua" -- sh -c 'curl -sS -o out.bin http://server.test/bytes/1048576 || curl -sS -o out.bin http://server.test/bytes/1048576'
check "a client that starts over fails resumed" '.expectations[0].ok == false and (.expectations[0].detail | test("started over"))'
check "even though the file is complete" '.expectations[1].ok == true'

run truncate 0 "$SCENARIOS/truncate.lua"
check "curl reports the early end (exit 18)" '.client.exit_code == 18'
check "exactly 100000 bytes reached the client" '.flows[0].bytes_down == 100000'
run truncate-swallowed 1 "$SCENARIOS/truncate.lua" -- sh -c 'curl -sS -o out.bin http://server.test/bytes/1048576; exit 0'
check "a client that swallows the error fails reported" '.expectations[0].ok == false and (.expectations[0].detail | test("exited 0"))'

run rate-block 0 "$SCENARIOS/rate_block.lua"
check "the fourth request is answered 403" '.server.requests[3].status == 403 and .server.requests[2].status == 200'

run idle-timeout 0 "$SCENARIOS/idle_timeout.lua"
check "the forgotten connection was reset" '.flows[0].end == "reset_injected" and .faults[0].fault == "idle_timeout"'
run idle-quick 1 "$SCENARIOS/idle_timeout.lua" -- sh -c 'curl -sS -o /dev/null http://server.test/status/200'
check "a client that never idles never meets the fault" '.verdict == "inconclusive"'

run gilbert 0 "$SCENARIOS/gilbert.lua"
check "bursty loss dropped packets and curl still got the file" '.stats.dropped > 0 and .expectations[0].ok'
run rate 0 "$SCENARIOS/rate_limit.lua"
check "a 4000 kbit/s link makes 1 MB take 1.6 s or more" '.expectations[1].ok'
run rate-impatient 1 "$SCENARIOS/rate_limit.lua" -- curl -4 -sS --max-time 1 -o out.bin -w '%{time_total}' http://server.test/bytes/1000000
check "a client that allows 1 s does not get the file" '.expectations[0].ok == false'

run reorder 0 "$SCENARIOS/reorder.lua"
check "the client's kernel saw segments out of order" '.expectations[1].ok and .expectations[0].ok'
check "the reorder fault fired" '[.faults[] | select(.fault == "reorder")] | length > 0'

run block-403 0 "$SCENARIOS/block_403.lua"
check "the first request was answered 403, the one after the block 200" '.server.requests[0].status == 403 and .server.requests[1].status == 200'
run block-403-no-wait 1 "$SCENARIOS/block_403.lua" -- sh -c 'curl -sS -f -o out.bin http://server.test/bytes/100'
check "a client that does not wait gets no file" '.expectations[0].ok == false and (.expectations[0].detail | test("exited 22"))'

run backoff 0 "$SCENARIOS/backoff.lua"
check "exponential backoff held" '.expectations[0].ok'
run backoff-linear 1 "$SCENARIOS/backoff.lua" -- sh -c 'for d in 0.2 0.2 0.2 0.2; do curl -4 -sS -o out.bin http://server.test/bytes/100 && exit 0; sleep $d; done; exit 7'
check "equal waits are not exponential" '.expectations[0].ok == false and (.expectations[0].detail | test("no exponential backoff"))'
run backoff-hammer 1 "$SCENARIOS/backoff.lua" -- sh -c 'for d in 1 2 3 4; do curl -4 -sS -o out.bin http://server.test/bytes/100 && exit 0; done; exit 7'
check "retries without a pause fail min_gap_ms" '.expectations[0].ok == false and (.expectations[0].detail | test("expected >= 80 ms"))'
finish
