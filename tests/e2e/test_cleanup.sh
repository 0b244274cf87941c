#!/bin/bash
# Twenty runs, every third one killed with SIGKILL partway: afterwards the
# host's namespaces, links, routes and firewall rules read exactly as before,
# and no process of any run is left.
. "$(dirname "$0")/lib.sh"

snapshot() {
	{
		ip netns list
		ip -d link show
		ip route show
		ip -6 route show
		iptables -S
		ip6tables -S
	} 2>&1 | sed -E 's/ (rx|tx)_?[a-z_]*[0-9]+//g'
}

# A client that would outlive its run if nothing stopped it.
CLIENT_MARK=41.2718
before=$(snapshot)
for i in $(seq 1 20); do
	if [ $((i % 3)) = 0 ]; then
		"$FAULTWIRE" run -q --timeout 20 "$SCENARIOS/reset_reported.lua" -- sh -c "sleep $CLIENT_MARK & curl -sS -o out.bin http://server.test/bytes/1048576; sleep $CLIENT_MARK" >/dev/null 2>&1 &
		pid=$!
		sleep "0.$((RANDOM % 4 + 1))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	else
		"$FAULTWIRE" run -q "$SCENARIOS/reset_reported.lua" >/dev/null 2>&1 || fail "run $i did not pass"
	fi
done
# Live (not zombie) faultwire processes: a killed run's init is reaped by
# whoever adopts it, which may take a moment.
live_faultwire() {
	ps -eo stat=,pid=,comm= | awk '$3 == "faultwire" && $1 !~ /^Z/ { print $2 }'
}
# The kernel tears namespaces down asynchronously; give it a moment.
for _ in $(seq 1 50); do
	after=$(snapshot)
	[ "$before" = "$after" ] && ! pgrep -f "sleep $CLIENT_MARK" >/dev/null && [ -z "$(live_faultwire)" ] && break
	sleep 0.1
done
CHECKS=$((CHECKS + 1))
if [ "$before" != "$after" ]; then
	fail "the host's network state changed"
	diff <(echo "$before") <(echo "$after") >&2
fi
CHECKS=$((CHECKS + 1))
if pgrep -f "sleep $CLIENT_MARK" >/dev/null; then
	fail "client processes outlived their runs: $(pgrep -af "sleep $CLIENT_MARK")"
fi
CHECKS=$((CHECKS + 1))
if [ -n "$(live_faultwire)" ]; then
	fail "faultwire processes remain: $(live_faultwire)"
fi
finish
