#!/bin/bash
# No false pass: for every scenario of the catalog, a client with a typical
# flaw (swallows the error, never retries, restarts instead of resuming,
# ignores the limit, hangs, gives up too early) must fail, and the
# expectation that fails must be the one that names the flaw.
. "$(dirname "$0")/lib.sh"

S=$FW_SOURCE/scenarios
URL=http://server.test

# mutant NAME SCENARIO EXPECTATION DETAIL_REGEX [faultwire options] -- CLIENT...
mutant() {
	local name=$1 scenario=$2 expectation=$3 detail=$4
	shift 4
	run "$name" 1 "$@"
	check "$name: the verdict is fail" '.verdict == "fail"'
	check "$name: $expectation fails" "[.expectations[] | select(.name == \"$expectation\")] | length > 0 and all(.ok == false)"
	check "$name: and says why" "[.expectations[] | select(.name == \"$expectation\") | .detail | test(\"$detail\"; \"i\")] | all"
}

mutant swallow-refused connection_refused reported "exited 0" \
	"$S/connection_refused.lua" -- sh -c "curl -sS -o out.bin $URL/bytes/1024; exit 0"
mutant swallow-unreachable host_unreachable exit "expected exit 7" \
	"$S/host_unreachable.lua" -- sh -c "curl -sS -o out.bin $URL/bytes/1024; exit 0"
mutant swallow-reset midstream_reset reported "exited 0" \
	"$S/midstream_reset.lua" -- sh -c "curl -sS -o out.bin $URL/bytes/1048576; exit 0"
mutant no-connect-timeout network_timeout finished_within "hung" \
	--timeout 4 "$S/network_timeout.lua" -- curl -sS -o out.bin $URL/bytes/1024
mutant never-retries resume_after_reset retried "opened 0" \
	"$S/resume_after_reset.lua" -- wget -q --tries=1 -O out.bin $URL/bytes/1048576
mutant ignores-the-cap provider_conn_limit retried "opened 0" \
	"$S/provider_conn_limit.lua" -- bash -c "for i in 1 2 3; do curl -4 -sS -o out\$i.bin '$URL/slow?ms=600' & done; s=0; for i in 1 2 3; do wait -n || s=\$?; done; exit \$s"
mutant restarts provider_kills_long_request resumed "started over" \
	"$S/provider_kills_long_request.lua" -- curl -sS --retry 2 --retry-all-errors --retry-delay 0 -o out.bin "$URL/stream?kbit=4000&bytes=1000000"
mutant no-retry-overload overloaded_server retried "opened 0" \
	"$S/overloaded_server.lua" -- curl -4 -sS -o out.bin $URL/bytes/200000
mutant ignores-403 anti_abuse_403 reported "exited 0" \
	"$S/anti_abuse_403.lua" -- sh -c "for i in 1 2 3 4 5; do curl -sS -o out\$i.bin $URL/bytes/1000; done"
mutant gives-up-on-ban temporary_ip_ban recovered "exited 28" \
	"$S/temporary_ip_ban.lua" -- curl -4 -sS --connect-timeout 1 -o out.bin $URL/bytes/10000
mutant damaged-file wifi_bursty_loss recovered "differ|bytes" \
	"$S/wifi_bursty_loss.lua" -- sh -c "curl -sS -o out.bin $URL/bytes/300000 && printf x >> out.bin"
mutant too-impatient isp_congestion recovered "exited 28" \
	"$S/isp_congestion.lua" -- curl -sS --max-time 0.8 -o out.bin $URL/bytes/300000
mutant swallow-waf waf_reset reported "exited 0" \
	"$S/waf_reset.lua" -- sh -c "curl -sS -o out.bin '$URL/bytes/1000?q=DROP%20TABLE'; exit 0"
mutant no-reconnect nat_idle_timeout exit "expected exit 0" \
	"$S/nat_idle_timeout.lua" -- wget -q --tries=1 --wait=3 $URL/bytes/1000 $URL/bytes/2000
mutant hangs-after-restart router_restart recovered "timeout|killed" \
	--timeout 5 "$S/router_restart.lua" -- curl -4 -sS -o out.bin "$URL/stream?kbit=2000&bytes=500000"
mutant gives-up-in-outage vpn_flapping recovered "exited 28" \
	"$S/vpn_flapping.lua" -- curl -4 -sS --max-time 2.5 -o out.bin "$URL/stream?kbit=2000&bytes=600000"
mutant hangs-on-mtu mtu_black_hole finished_within "hung" \
	--timeout 4 "$S/mtu_black_hole.lua" -- curl -4 -sS -o out.bin $URL/bytes/100000
mutant no-dns-retry dns_failure recovered "exited 6" \
	"$S/dns_failure.lua" -- curl -sS -o out.bin $URL/bytes/10000

# Every scenario of the catalog has a mutant above.
for f in "$S"/*.lua; do
	CHECKS=$((CHECKS + 1))
	grep -q "\"\$S/$(basename "$f")\"" "$0" || fail "no mutant for $(basename "$f")"
done
finish
