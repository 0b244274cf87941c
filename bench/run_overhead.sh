#!/bin/bash
# run_overhead.sh [N] — how long a whole faultwire run takes when the client
# does nothing (`true`): namespaces, firewall rule, engine, server, client,
# record and teardown. Also the accuracy of delay and rate, as ratios of
# measured to asked, from the same run. Needs a built ./build/faultwire.
set -euo pipefail
cd "$(dirname "$0")/.."
FW=${FAULTWIRE:-./build/faultwire}
N=${1:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start=$(date +%s%N)
for _ in $(seq 1 "$N"); do
	"$FW" run -q tests/e2e/scenarios/trivial.lua >/dev/null
done
end=$(date +%s%N)
echo "trivial run: $(( (end - start) / N / 1000000 )) ms per run (mean of $N)"

cat > "$tmp/delay.lua" <<'LUA'
local fw = require "faultwire"
return fw.scenario { name = "delay-accuracy",
  client = "curl -4 -sS -o /dev/null -w '%{time_connect}' http://server.test/bytes/1",
  faults = { fw.delay { ms = 25 } } }
LUA
"$FW" run -q --json "$tmp/d.json" "$tmp/delay.lua" >/dev/null || true
jq -r '"delay: handshake " + (.client.stdout_tail) + " s for an asked round trip of 0.050 s, ratio " + ((.client.stdout_tail | tonumber) / 0.050 | tostring)' "$tmp/d.json"

cat > "$tmp/rate.lua" <<'LUA'
local fw = require "faultwire"
return fw.scenario { name = "rate-accuracy",
  client = "curl -4 -sS -o /dev/null -w '%{speed_download}' http://server.test/bytes/2097152",
  faults = { fw.rate { kbit = 16000, dir = "down" } } }
LUA
"$FW" run -q --json "$tmp/r.json" "$tmp/rate.lua" >/dev/null || true
jq -r '"rate: " + (.client.stdout_tail) + " B/s for an asked 2000000 B/s, ratio " + ((.client.stdout_tail | tonumber) / 2000000 | tostring)' "$tmp/r.json"
