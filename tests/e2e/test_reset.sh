#!/bin/bash
# A mid-stream RST after 256 KiB of a 1 MiB download: curl reports it
# (exit 56, "Connection reset by peer"), so fw.reported holds, and the file
# is incomplete, so fw.recovered fails and says why.
. "$(dirname "$0")/lib.sh"

run reported 0 "$SCENARIOS/reset_reported.lua"
check "curl exits 56" '.client.exit_code == 56'
check "stderr says reset" '.client.stderr_tail | test("reset"; "i")'
check "reported holds" '.expectations[0] | .name == "reported" and .ok'
check "the flow ended by our RST" '.flows[0].end == "reset_injected"'
check "exactly 256 KiB reached the client" '.flows[0].bytes_down == 262144'
check "the fault is in the record" '.faults[0].fault == "reset" and .faults[0].flow == 1'
check "the request is in the record" '.server.requests[0].path == "/bytes/1048576" and .server.requests[0].flow == 1'
check "verdict pass" '.verdict == "pass"'

run recovered 1 "$SCENARIOS/reset_recovered.lua"
check "verdict fail" '.verdict == "fail"'
check "reported still holds" '.expectations[0].ok == true'
check "recovered fails" '.expectations[1] | .name == "recovered" and .ok == false'
check "recovered says the client exited 56" '.expectations[1].detail | test("exited 56")'
output_has "summary marks the failed expectation" "✗ recovered"
finish
