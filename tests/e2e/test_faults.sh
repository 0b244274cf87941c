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
finish
