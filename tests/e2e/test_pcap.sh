#!/bin/bash
# --pcap writes a pcapng of every packet the middlebox saw with its verdict,
# and of the packets it made up; tshark reads it, and it agrees with the
# run record.
. "$(dirname "$0")/lib.sh"

run pcap 0 --pcap "$OUT/run.pcapng" "$SCENARIOS/reset_reported.lua"
check "the record names the capture" ".pcap == \"$OUT/run.pcapng\""
frames=$(tshark -r "$OUT/run.pcapng" -T fields -e frame.number 2>/dev/null | wc -l)
expected=$(jq '.stats.packets + .stats.injected' "$LAST.json")
CHECKS=$((CHECKS + 1))
[ "$frames" = "$expected" ] || fail "the capture has $frames frames, the record counts $expected packets"
comments=$(tshark -r "$OUT/run.pcapng" -T fields -e frame.comment 2>/dev/null)
CHECKS=$((CHECKS + 1))
echo "$comments" | grep -q "^drop (reset at .*reset_reported.lua:6)$" || fail "no packet marked as dropped by the reset rule"
CHECKS=$((CHECKS + 1))
[ "$(echo "$comments" | grep -c '^injected$')" -ge 2 ] || fail "the injected RSTs are missing"
# The RST to the client carries the next sequence number the client expects:
# the end of the last data it was given.
rst=$(tshark -r "$OUT/run.pcapng" -Y 'frame.comment == "injected" && tcp.flags.reset == 1 && tcp.dstport != 80' \
	-T fields -e tcp.seq_raw 2>/dev/null | head -1)
last_end=$(tshark -r "$OUT/run.pcapng" -Y 'tcp.srcport == 80 && tcp.len > 0 && (frame.comment == "accept" || frame.comment == "injected")' \
	-T fields -e tcp.seq_raw -e tcp.len 2>/dev/null | awk '{ e = ($1 + $2) % 4294967296; if (e > m || m == "") m = e } END { printf "%.0f\n", m }')
CHECKS=$((CHECKS + 1))
[ -n "$rst" ] && [ "$rst" = "$last_end" ] || fail "the RST to the client has seq $rst, the data it was given ends at $last_end"

run no-pcap-error 3 --pcap /nonexistent-dir/x.pcapng "$SCENARIOS/reset_reported.lua"
output_has "says why" "cannot write the capture /nonexistent-dir/x.pcapng"
finish
