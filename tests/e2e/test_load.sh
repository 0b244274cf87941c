#!/bin/bash
# Load: a bounded SYN storm (100k connections in 5 s) through conn_cap and
# idle_timeout keeps every count exact, loses no packet, never holds the
# engine's loop for long, and keeps memory bounded because finished flows
# give back their working state. A slow reader next to a fast one makes the
# engine drop nothing.
. "$(dirname "$0")/lib.sh"
SYNSTORM=${SYNSTORM:-$(dirname "$FAULTWIRE")/tests/synstorm}
export SYNSTORM

run storm 0 "$SCENARIOS/syn_storm.lua"
check "the storm was sent whole" '.client.stdout_tail | test("sent 100000 SYNs .* \\(0 failed\\)")'
check "every SYN became a flow" '(.flows | length) == 100000'
check "no packet escaped the engine" '.stats.queue_drops == 0 and .stats.unparsed == 0'
check "per-flow counts (passed + dropped) add up to the engine's" '([.flows[] | .packets + .dropped] | add) == .stats.packets'
check "each refused flow is one conn_cap event" '([.flows[] | select(.end == "refused")] | length) == ([.faults[] | select(.fault == "conn_cap")] | length)'
check "the cap refused most of the storm" '([.flows[] | select(.end == "refused")] | length) >= 90000'
check "the NAT forgot idle admitted connections" '[.faults[] | select(.fault == "idle_timeout")] | length > 0'
check "finished flows were retired" '.stats.flows_retired > 50000'
check "memory stayed bounded (< 200 MB for 100k flows)" '.stats.peak_rss_kb < 200000'
check "the loop was never held for long (< 1 s)" '.stats.longest_busy_ms < 1000'

run slow-reader 0 "$SCENARIOS/slow_reader.lua"
check "both files arrived whole" '[.expectations[].ok] | all'
check "nothing dropped" '.stats.dropped == 0 and .stats.queue_drops == 0'
check "packets were held by the delay" '.stats.delayed > 0'
finish
