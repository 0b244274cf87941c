#!/bin/bash
# Runs killed with SIGKILL at random moments leave nothing behind: no
# namespace, link, route, firewall rule, mount, process or temp file, and
# the host's network state reads as before. (tests/kill_runs.sh 50 is the
# long version.)
. "$(dirname "$0")/lib.sh"

CHECKS=$((CHECKS + 1))
if ! bash "$FW_SOURCE/tests/kill_runs.sh" 12; then
	fail "killed runs left something behind"
fi
finish
