#!/bin/bash
# wget -c retries after the reset and continues with a Range request: the
# file is intact and fw.recovered holds. curl, which does not retry, fails
# the same scenario.
. "$(dirname "$0")/lib.sh"

run wget 0 "$FW_SOURCE/scenarios/resume_after_reset.lua"
check "wget exits 0" '.client.exit_code == 0'
check "recovered holds" '.expectations[0] | .name == "recovered" and .ok'
check "a second connection" '(.flows | length) >= 2 and .flows[0].end == "reset_injected"'
check "the retry asked for a Range" '.server.requests[1].range | test("^bytes=[0-9]+-$")'
check "the server answered 206" '.server.requests[1].status == 206'

run curl 1 "$FW_SOURCE/scenarios/resume_after_reset.lua" -- curl -sS -o out.bin http://server.test/bytes/1048576
check "curl exits 56" '.client.exit_code == 56'
check "recovered fails" '.expectations[0].ok == false'
check "retried fails: no new connection" '.expectations[1].ok == false and (.expectations[1].detail | test("opened 0"))'
finish
