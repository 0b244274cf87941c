#!/bin/bash
# kill_runs.sh [N] — N runs of faultwire (default 50), most killed with
# SIGKILL at a random moment: during setup, while the client runs, or
# during teardown. Afterwards nothing of faultwire may remain: no process,
# no mount, no temp file (after the next run's sweep), and the host's
# network state (links, routes, firewall rules, namespaces) must read
# byte for byte as before. Exit 0 when clean; prints what remained if not.
#
# Environment: FAULTWIRE (the binary), FW_SOURCE (the source tree).
set -u
N=${1:-50}
FW_SOURCE=${FW_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)}
FAULTWIRE=${FAULTWIRE:-$FW_SOURCE/build/faultwire}
SCENARIO=$FW_SOURCE/tests/e2e/scenarios/reset_reported.lua
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fw-kill.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export TMPDIR=$WORK/tmp
mkdir -p "$TMPDIR"
# A client that would outlive its run if nothing stopped it.
MARK=41.2718

snapshot() {
	{
		ip netns list
		ip -d link show
		ip route show
		ip -6 route show
		iptables-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'
		ip6tables-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'
		findmnt -rn -o TARGET,SOURCE,FSTYPE
	} 2>&1 | sed -E 's/ (rx|tx)_?[a-z_]*[0-9]+//g'
}

live_faultwire() {
	ps -eo stat=,pid=,args= | awk -v w="$WORK" '$1 !~ /^Z/ && index($0, w) == 0 && $3 ~ /faultwire$/ && index($0, "reset_reported.lua") { print $2 }'
}

before=$(snapshot)
killed=0
for i in $(seq 1 "$N"); do
	"$FAULTWIRE" run -q --timeout 20 "$SCENARIO" -- sh -c "sleep $MARK & curl -sS -o out.bin http://server.test/bytes/1048576; sleep $MARK" >/dev/null 2>&1 &
	pid=$!
	# From 0 to 0.6 s: inside setup (the first few ms), the client's run,
	# or (rarely) the teardown of a run that ended early.
	sleep "0.$(printf '%03d' $((RANDOM % 600)))"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
done
# One more run, which sweeps the folders of the killed ones and must pass.
"$FAULTWIRE" run -q "$SCENARIO" >/dev/null 2>&1 || echo "the run after the kills did not pass"

status=0
for _ in $(seq 1 50); do
	after=$(snapshot)
	[ "$before" = "$after" ] && ! pgrep -f "sleep $MARK" >/dev/null && [ -z "$(live_faultwire)" ] && break
	sleep 0.1
done
if [ "$before" != "$after" ]; then
	echo "the host's network or mount state changed:"
	diff <(echo "$before") <(echo "$after")
	status=1
fi
if pgrep -f "sleep $MARK" >/dev/null; then
	echo "client processes outlived their runs: $(pgrep -af "sleep $MARK")"
	status=1
fi
if [ -n "$(live_faultwire)" ]; then
	echo "faultwire processes remain: $(live_faultwire)"
	status=1
fi
left=$(ls -A "$TMPDIR")
if [ -n "$left" ]; then
	echo "temp files remain: $left"
	status=1
fi
echo "$N runs, $killed killed with SIGKILL: $([ $status = 0 ] && echo clean || echo NOT clean)"
exit $status
